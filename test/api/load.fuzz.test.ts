// Property tests: whatever the input, loading returns issues (each placed inside the input) and never throws,
// hangs or overflows the stack.
import { Readable } from 'node:stream';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

import type { Issue, PathSegment } from '../../src/api/issues.js';
import { admit, decodeManifests, LOAD_LIMITS, loadResources } from '../../src/api/load/index.js';

/** Every issue that has a position must point inside `text`. */
function expectPositionsInside(issues: readonly Issue[], text: string, file: string): void {
  const lineCount = text.split('\n').length;
  for (const issue of issues) {
    expect(typeof issue.message).toBe('string');
    expect(issue.message.length).toBeGreaterThan(0);
    expect(issue.message).not.toMatch(/\n\s+at /);
    if (!issue.position) continue;
    expect(issue.position.file).toBe(file);
    expect(issue.position.line).toBeGreaterThanOrEqual(1);
    expect(issue.position.line).toBeLessThanOrEqual(lineCount);
    expect(issue.position.col).toBeGreaterThanOrEqual(1);
  }
}

function decodeAndAdmit(text: string, file: string): Issue[] {
  const decoded = decodeManifests(text, file);
  const issues = [...decoded.issues];
  for (const doc of decoded.documents) admit(doc, true, issues);
  expectPositionsInside(issues, text, file);
  return issues;
}

const YAML_FRAGMENTS = [
  '[', ']', '{', '}', ',', '- ', ': ', ':', '? ', '&a ', '*a', '&b ', '*b', '<<: ', '---\n', '...\n', '"', "'",
  '|\n', '>-\n', '#', '!!str ', '!tag ', '%YAML 1.2\n', '\n', '  ', '\t', 'apiVersion', 'kind', 'metadata', 'name',
  'spec', 'items', 'List', 'v1', 'projectcalico.org/v3', 'NetworkPolicy', 'x', '0', '1e9', '-1', 'null', 'true',
  '\\', '\u00e9', '\ufeff', '\u0000',
];

describe('load fuzz: never throws, issues stay inside the input', () => {
  it('random bytes through the whole loader (stdin)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), async (bytes) => {
        const r = await loadResources(['-'], { stdin: Readable.from([Buffer.from(bytes)]) });
        expect(Array.isArray(r.resources)).toBe(true);
        for (const i of r.issues) expect(i.position?.file ?? '<stdin>').toBe('<stdin>');
      }),
      { numRuns: 300 },
    );
  });

  it('random strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 2000 }), (text) => {
        decodeAndAdmit(text, 'random.yaml');
      }),
      { numRuns: 500 },
    );
  });

  it('random sequences of YAML syntax', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...YAML_FRAGMENTS), { maxLength: 300 }), (parts) => {
        decodeAndAdmit(parts.join(''), 'soup.yaml');
      }),
      { numRuns: 1000 },
    );
  });

  const hasMergeKey = (v: unknown): boolean =>
    typeof v === 'object' && v !== null &&
    (Array.isArray(v) ? v.some(hasMergeKey) : Object.entries(v).some(([k, x]) => k === '<<' || hasMergeKey(x)));

  it('random YAML values round-trip or give issues', () => {
    const value = fc.oneof(
      fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 6 }), { maxKeys: 8 }),
      fc.jsonValue({ maxDepth: 6 }),
    );
    fc.assert(
      fc.property(value, fc.constantFrom('block', 'flow', 'json'), (v, style) => {
        // A plain `<<` key is a merge key here, as in kubectl's go-yaml (parse.ts), so such a value does not
        // round-trip through block or flow style; JSON style quotes the key.
        fc.pre(style === 'json' || !hasMergeKey(v));
        const text = style === 'json' ? JSON.stringify(v) ?? 'null'
          : stringify(v, { collectionStyle: style === 'flow' ? 'flow' : 'block', lineWidth: 0 });
        const decoded = decodeManifests(text, 'v.yaml');
        expectPositionsInside(decoded.issues, text, 'v.yaml');
        const isMapping = typeof v === 'object' && v !== null && !Array.isArray(v);
        const isList = isMapping && typeof (v as { kind?: unknown }).kind === 'string' &&
          Array.isArray((v as { items?: unknown }).items);
        if (isMapping && !isList) {
          expect(decoded.issues).toEqual([]);
          // Compared as JSON: -0 stays -0 through YAML, which toEqual tells apart from the 0 JSON writes.
          expect(JSON.stringify(decoded.documents.map((d) => d.value))).toBe(JSON.stringify([v]));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('deep nesting of every kind, closed or not', () => {
    const opener = fc.constantFrom('[', '{a: ', '- ', 'k:\n', '? ');
    fc.assert(
      fc.property(opener, fc.integer({ min: 1, max: 20_000 }), fc.boolean(), (open, depth, close) => {
        let text: string;
        if (open === 'k:\n') {
          const d = Math.min(depth, 3000); // block indentation grows quadratically in size
          text = Array.from({ length: d }, (_, i) => `${' '.repeat(i)}k:`).join('\n');
        } else {
          const closer = open === '[' ? ']' : open === '{a: ' ? '}' : '';
          text = open.repeat(depth) + 'x' + (close ? closer.repeat(depth) : '');
        }
        const issues = decodeAndAdmit(text, 'deep.yaml');
        if (depth > LOAD_LIMITS.maxDepth + 2 && open !== 'k:\n') {
          expect(issues.some((i) => i.code === 'load.too-deep')).toBe(true);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('alias fan-out of any shape', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), (levels, fanout) => {
        let text = 'l0: &l0 [x, y]\n';
        for (let i = 1; i <= levels; i++) text += `l${i}: &l${i} [${Array(fanout).fill(`*l${i - 1}`).join(', ')}]\n`;
        const issues = decodeAndAdmit(text, 'alias.yaml');
        if (fanout ** levels > 10_000) {
          expect(issues.some((i) => i.code === 'load.alias-limit' || i.code === 'load.too-large')).toBe(true);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('large documents', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1000, max: 8000 }), fc.constantFrom('seq', 'map', 'string'), (n, shape) => {
        const text = shape === 'seq' ? `items:\n${'  - {a: 1}\n'.repeat(n)}`
          : shape === 'map' ? Array.from({ length: n }, (_, i) => `k${i}: ${i}`).join('\n')
          : `s: "${'x'.repeat(n * 64)}"`;
        decodeAndAdmit(text, 'large.yaml');
      }),
      { numRuns: 6 },
    );
  });
});

// A policy touching most fields, so that every path gets its turn at a wrong value.
const RICH_POLICY = {
  apiVersion: 'projectcalico.org/v3',
  kind: 'GlobalNetworkPolicy',
  metadata: { name: 'rich', labels: { team: 'net' }, annotations: { owner: 'me' } },
  spec: {
    tier: 'default',
    order: 10,
    selector: "app == 'web'",
    namespaceSelector: 'has(team)',
    serviceAccountSelector: 'all()',
    types: ['Ingress', 'Egress'],
    applyOnForward: false,
    ingress: [{
      action: 'Allow',
      ipVersion: 4,
      protocol: 'TCP',
      source: { nets: ['10.0.0.0/8'], notNets: ['10.1.0.0/16'], selector: 'has(a)', notSelector: 'has(b)', ports: [80, '90:99', 'http'] },
      destination: { namespaceSelector: 'global()', notPorts: [443], serviceAccounts: { names: ['sa'], selector: 'has(c)' } },
      http: { methods: ['GET'], paths: [{ prefix: '/api' }] },
      metadata: { annotations: { why: 'because' } },
    }],
    egress: [{
      action: 'Deny',
      protocol: 'ICMP',
      ipVersion: 4,
      icmp: { type: 8, code: 0 },
      destination: { services: { name: 'dns', namespace: 'kube-system' } },
    }, { action: 'Log' }, { action: 'Pass' }],
  },
};

function allPaths(value: unknown, prefix: PathSegment[] = []): PathSegment[][] {
  const out: PathSegment[][] = prefix.length > 0 ? [prefix] : [];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...allPaths(v, [...prefix, i])));
  else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) out.push(...allPaths(v, [...prefix, k]));
  }
  return out;
}

function withValueAt(root: unknown, path: readonly PathSegment[], replacement: unknown): unknown {
  const copy = JSON.parse(JSON.stringify(root)) as Record<string | number, unknown>;
  let node: Record<string | number, unknown> = copy;
  for (const seg of path.slice(0, -1)) node = node[seg] as Record<string | number, unknown>;
  node[path[path.length - 1]!] = replacement;
  return copy;
}

describe('load fuzz: wrong types in every field of a valid policy', () => {
  it('the rich policy itself is valid', () => {
    expect(decodeAndAdmit(stringify(RICH_POLICY), 'rich.yaml')).toEqual([]);
  });

  const paths = allPaths(RICH_POLICY);
  const wrong = fc.oneof(
    fc.integer(), fc.double(), fc.string({ maxLength: 20 }), fc.boolean(), fc.constant(null),
    fc.array(fc.integer(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
    fc.constant(''), fc.constant(-1), fc.constant(1e308), fc.constant('tcp'), fc.constant('0.0.0.0/0'),
  );

  it(`every one of the ${paths.length} paths, any wrong value: issues located at or above the field, never a throw`, () => {
    fc.assert(
      fc.property(fc.constantFrom(...paths), wrong, (path, replacement) => {
        const text = stringify(withValueAt(RICH_POLICY, path, replacement), { lineWidth: 0 });
        const issues = decodeAndAdmit(text, 'wrong.yaml');
        for (const issue of issues) {
          if (path[0] !== 'kind') expect(issue.resource).toMatch(/^GlobalNetworkPolicy( |$)/);
          expect(issue.position).toBeDefined();
        }
      }),
      { numRuns: 1000 },
    );
  });
});
