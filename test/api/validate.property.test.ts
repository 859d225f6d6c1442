// Property tests: random mutations of valid resources (every valid resource of the conformance corpus, plus a few
// rich ones) never make validateResource throw; an invalid result always carries issues with a code, a path and a
// message; a type change at a field is reported at (or around) that field; and the defaulted result of a valid
// resource validates again to itself.

import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateResource } from '../../src/api/validate/index.js';
import { corpusFile } from '../conformance-corpus.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = (string | number)[];

const corpus = JSON.parse(readFileSync(corpusFile('calico-validation.json'), 'utf8')) as {
  cases: { valid: boolean; resource: Json }[];
};

const RICH: Json[] = [
  {
    apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy',
    metadata: { name: 'sec.allow', namespace: 'prod', labels: { app: 'web' }, annotations: { note: 'x' } },
    spec: {
      tier: 'sec', order: 10, selector: 'app == "web"', types: ['Ingress', 'Egress'], serviceAccountSelector: 'role == "x"',
      performanceHints: ['AssumeNeededOnEveryNode'],
      ingress: [{
        action: 'Allow', protocol: 'TCP', ipVersion: 4,
        source: { nets: ['10.0.0.0/8'], notNets: ['10.1.0.0/16'], selector: 'a == "b"', notSelector: 'c == "d"',
          namespaceSelector: 'global()', ports: [80, '1000:2000', 'http'], notPorts: [81] },
        destination: { serviceAccounts: { names: ['sa'], selector: 'x == "y"' } },
        http: { methods: ['GET'], paths: [{ exact: '/a' }, { prefix: '/b' }] },
        metadata: { annotations: { why: 'because' } },
      }],
      egress: [{ action: 'Deny', protocol: 'ICMP', icmp: { type: 8, code: 0 }, notICMP: { type: 3 },
        destination: { services: { name: 'svc', namespace: 'default' } } }],
    },
  },
  {
    apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'pre' },
    spec: { preDNAT: true, applyOnForward: true, namespaceSelector: 'env == "x"', ingress: [{ action: 'Pass', notProtocol: 'UDP' }] },
  },
  {
    apiVersion: 'projectcalico.org/v3', kind: 'WorkloadEndpoint', metadata: { name: 'w', namespace: 'n' },
    spec: { interfaceName: 'cali1', node: 'n1', pod: 'p', containerID: 'abc', ipNetworks: ['10.0.0.1/32'],
      ipNATs: [{ internalIP: '10.0.0.1', externalIP: '1.2.3.4' }], profiles: ['kns.n'], mac: 'aa:bb:cc:dd:ee:ff',
      ports: [{ name: 'http', protocol: 'TCP', port: 80, hostPort: 8080, hostIP: '1.2.3.4' }], allowSpoofedSourcePrefixes: ['10.1.0.0/16'],
      qosControls: { ingressBandwidth: 1000 } },
  },
  {
    apiVersion: 'projectcalico.org/v3', kind: 'StagedKubernetesNetworkPolicy', metadata: { name: 's', namespace: 'n' },
    spec: { stagedAction: 'Set', podSelector: { matchLabels: { a: 'b' } }, policyTypes: ['Ingress'],
      ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ protocol: 'TCP', port: 80 }] }] },
  },
  { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.0.0.0/16', natOutgoing: true } },
  {
    apiVersion: 'projectcalico.org/v3', kind: 'Profile', metadata: { name: 'kns.n' },
    spec: { labelsToApply: { 'pcns.a': 'b' }, ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] },
  },
];

const SEEDS: Json[] = [...corpus.cases.filter((c) => c.valid).map((c) => c.resource), ...RICH];

function allPaths(v: Json, prefix: Path = []): Path[] {
  const out: Path[] = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...allPaths(x, [...prefix, i])));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...allPaths(x, [...prefix, k]));
  return out;
}

function getAt(v: Json, p: Path): Json {
  let cur: Json = v;
  for (const seg of p) cur = (cur as Record<string | number, Json>)[seg] as Json;
  return cur;
}

function setAt(v: Json, p: Path, value: Json | undefined): Json {
  if (p.length === 0) return value === undefined ? null : value;
  const copy = structuredClone(v);
  const parent = getAt(copy, p.slice(0, -1)) as Record<string | number, Json>;
  const last = p[p.length - 1]!;
  if (value === undefined) {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else {
    parent[last] = value;
  }
  return copy;
}

const jsonType = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

function related(a: Path, b: Path): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Fields whose JSON type is legitimately open: int-or-string, free-form objects, Kubernetes-checked specs. */
function typeIsOpen(seed: Json, p: Path): boolean {
  const kind = (seed as { kind?: string }).kind;
  if (kind === 'StagedKubernetesNetworkPolicy' && p[0] === 'spec') return true;
  return p.some((s) => typeof s === 'string' && ['ports', 'notPorts', 'protocol', 'notProtocol', 'qosControls',
    'status', 'ownerReferences', 'managedFields', 'port'].includes(s));
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object') {
    Object.values(v).forEach(deepFreeze);
    Object.freeze(v);
  }
  return v;
}

function checkShape(result: ReturnType<typeof validateResource>): void {
  if (result.ok) return;
  expect(result.issues.length).toBeGreaterThan(0);
  for (const issue of result.issues) {
    expect(typeof issue.code).toBe('string');
    expect(issue.message.length).toBeGreaterThan(0);
    expect(Array.isArray(issue.path)).toBe(true);
    for (const seg of issue.path) expect(['string', 'number']).toContain(typeof seg);
  }
}

const seedArb = fc.constantFrom(...SEEDS);
const jsonArb = fc.jsonValue() as fc.Arbitrary<Json>;

describe('validateResource under random mutation', () => {
  it('all seeds are valid to begin with', () => {
    for (const s of SEEDS) expect(validateResource(s).ok ? [] : validateResource(s)).toEqual([]);
  });

  it('replacing any node by any JSON value never throws, never writes to its input, and always yields well-formed issues', () => {
    fc.assert(fc.property(seedArb, fc.nat(), jsonArb, (seed, pick, value) => {
      const paths = allPaths(seed);
      const p = paths[pick % paths.length]!;
      // Frozen: any write to the input would throw (ESM is strict mode).
      checkShape(validateResource(deepFreeze(setAt(seed, p, value))));
    }), { numRuns: 3000 });
  });

  it('deleting any node or adding an unknown field never throws', () => {
    fc.assert(fc.property(seedArb, fc.nat(), fc.string(), jsonArb, (seed, pick, key, value) => {
      const paths = allPaths(seed);
      const p = paths[pick % paths.length]!;
      checkShape(validateResource(setAt(seed, p, undefined)));
      const target = getAt(seed, p);
      if (target !== null && typeof target === 'object' && !Array.isArray(target) && !(key in target)) {
        const r = validateResource(setAt(seed, [...p, key], value));
        checkShape(r);
      }
    }), { numRuns: 2000 });
  });

  it('a value of another JSON type at a typed field is reported at or around that field', () => {
    fc.assert(fc.property(seedArb, fc.nat(), jsonArb, (seed, pick, value) => {
      const paths = allPaths(seed).filter((p) => p.length > 0);
      const p = paths[pick % paths.length]!;
      const before = getAt(seed, p);
      fc.pre(value !== null && jsonType(value) !== jsonType(before) && !typeIsOpen(seed, p));
      const r = validateResource(setAt(seed, p, value));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.issues.some((i) => related(i.path, p)), JSON.stringify({ p, issues: r.issues })).toBe(true);
    }), { numRuns: 3000 });
  });

  it('an unknown field is reported at its path, naming the allowed fields', () => {
    fc.assert(fc.property(seedArb, fc.nat(), (seed, pick) => {
      const objects = allPaths(seed).filter((p) => {
        const v = getAt(seed, p);
        return v !== null && typeof v === 'object' && !Array.isArray(v) && !typeIsOpen(seed, p) &&
          !p.some((s) => ['labels', 'annotations', 'labelsToApply', 'matchLabels'].includes(String(s)));
      });
      const p = objects[pick % objects.length]!;
      const r = validateResource(setAt(seed, [...p, 'zzUnknown'], 1));
      expect(r.ok).toBe(false);
      if (!r.ok) {
        const hit = r.issues.find((i) => JSON.stringify(i.path) === JSON.stringify([...p, 'zzUnknown']));
        expect(hit?.message).toMatch(/unknown field "zzUnknown".*allowed fields: /);
      }
    }), { numRuns: 1000 });
  });

  it('the defaulted result validates again to itself (defaults are stable)', () => {
    for (const s of SEEDS) {
      const first = validateResource(s);
      expect(first.ok).toBe(true);
      if (!first.ok) continue;
      const second = validateResource(first.value);
      expect(second.ok ? second.value : second.issues).toEqual(first.value);
    }
  });
});
