// The Kubernetes API server's defaults (src/api/kubernetes/defaults.ts), through the public API: every way a
// Kubernetes object enters Tabby — validation, loading files, stdin and `kind: List` dumps, unvalidated loads,
// applyDefaults, the conversion and the engine — sees the object as the API server stores it.
//   SetDefaults_NetworkPolicy       no policyTypes → [Ingress], plus Egress when len(spec.egress) != 0
//   SetDefaults_NetworkPolicyPort   nil protocol → TCP
//   ContainerPort (+default="TCP")  "" protocol → TCP
//   SetDefaults_Namespace           kubernetes.io/metadata.name: <name>

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

import {
  applyDefaults,
  applyKubernetesDefaults,
  convertKubernetesPolicy,
  decodeManifests,
  loadResources,
  namespaceProfile,
  podToWorkloadEndpoint,
  validateResource,
  type K8sNetworkPolicy,
  type Namespace,
  type Pod,
  type Resource,
  type StagedKubernetesNetworkPolicy,
} from '../../src/index.js';
import { PolicyEngine, type Flow } from '../../src/engine/index.js';

type Spec = Record<string, unknown>;

function knp(spec: Spec | undefined, name = 'p'): K8sNetworkPolicy {
  const np: Record<string, unknown> = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'shop' } };
  if (spec !== undefined) np.spec = spec;
  return np as unknown as K8sNetworkPolicy;
}

const TO_DB = { to: [{ podSelector: { matchLabels: { app: 'db' } } }], ports: [{ port: 5432 }] };
const FROM_WEB = { from: [{ podSelector: { matchLabels: { app: 'web' } } }] };

/** The truth table: spec as written → policyTypes the API server stores → Calico `types` after conversion. */
const TABLE: Array<{ name: string; spec: Spec; policyTypes: string[] }> = [
  { name: 'no rules at all', spec: { podSelector: {} }, policyTypes: ['Ingress'] },
  { name: 'ingress rules only', spec: { podSelector: {}, ingress: [FROM_WEB] }, policyTypes: ['Ingress'] },
  { name: 'egress rules, no policyTypes', spec: { podSelector: {}, egress: [TO_DB] }, policyTypes: ['Ingress', 'Egress'] },
  { name: 'ingress and egress rules', spec: { podSelector: {}, ingress: [FROM_WEB], egress: [TO_DB] }, policyTypes: ['Ingress', 'Egress'] },
  { name: 'egress: [] (empty: ingress-only)', spec: { podSelector: {}, egress: [] }, policyTypes: ['Ingress'] },
  { name: 'egress: [{}] (allow all egress)', spec: { podSelector: {}, egress: [{}] }, policyTypes: ['Ingress', 'Egress'] },
  { name: 'egress: [~] (a null rule is a rule)', spec: { podSelector: {}, egress: [null] }, policyTypes: ['Ingress', 'Egress'] },
  { name: 'policyTypes: [] is no policyTypes', spec: { podSelector: {}, policyTypes: [], egress: [TO_DB] }, policyTypes: ['Ingress', 'Egress'] },
  { name: 'policyTypes: ~ is no policyTypes', spec: { podSelector: {}, policyTypes: null, egress: [TO_DB] }, policyTypes: ['Ingress', 'Egress'] },
  { name: 'egress: ~ is no egress', spec: { podSelector: {}, egress: null }, policyTypes: ['Ingress'] },
  { name: 'explicit [Egress] is kept', spec: { podSelector: {}, policyTypes: ['Egress'], ingress: [FROM_WEB] }, policyTypes: ['Egress'] },
  { name: 'explicit [Ingress] is kept, egress rules or not', spec: { podSelector: {}, policyTypes: ['Ingress'], egress: [TO_DB] }, policyTypes: ['Ingress'] },
];

describe('NetworkPolicy policyTypes (SetDefaults_NetworkPolicy): the truth table', () => {
  describe.each(TABLE)('$name', ({ spec, policyTypes }) => {
    it('validateResource stores the defaulted policyTypes', () => {
      const r = validateResource(knp(spec));
      if (!r.ok) throw new Error(JSON.stringify(r.issues));
      expect((r.value as K8sNetworkPolicy).spec.policyTypes).toEqual(policyTypes);
    });

    it('applyDefaults and applyKubernetesDefaults agree, without touching the input', () => {
      const input = knp(structuredClone(spec));
      const before = structuredClone(input);
      expect((applyDefaults(input) as K8sNetworkPolicy).spec.policyTypes).toEqual(policyTypes);
      expect(applyKubernetesDefaults(input).spec.policyTypes).toEqual(policyTypes);
      expect(input).toEqual(before);
    });

    it('convertKubernetesPolicy of the object as written gives the Calico types of the defaulted one', () => {
      const { policy, warnings } = convertKubernetesPolicy(knp(spec));
      expect(policy.spec.types).toEqual(policyTypes);
      // Calico warns only when declared types leave out Egress while there are egress rules.
      const declaredIngressOnly = Array.isArray(spec.policyTypes) && spec.policyTypes.length > 0 && !spec.policyTypes.includes('Egress');
      const hasEgressRules = Array.isArray(spec.egress) && spec.egress.length > 0;
      expect(warnings.some((w) => w.includes("K8s PolicyTypes don't include 'egress'"))).toBe(declaredIngressOnly && hasEgressRules);
    });
  });

  it('a NetworkPolicy without spec is an ingress default-deny', () => {
    const r = validateResource(knp(undefined));
    expect(r.ok && (r.value as K8sNetworkPolicy).spec).toEqual({ policyTypes: ['Ingress'] });
    expect(convertKubernetesPolicy(knp(undefined)).policy.spec.types).toEqual(['Ingress']);
  });

  it('leaves a StagedKubernetesNetworkPolicy as written: it is a Calico CRD the API server does not default', () => {
    const staged = {
      apiVersion: 'projectcalico.org/v3', kind: 'StagedKubernetesNetworkPolicy', metadata: { name: 's', namespace: 'shop' },
      spec: { podSelector: {}, egress: [TO_DB] },
    } as unknown as StagedKubernetesNetworkPolicy;
    expect(applyKubernetesDefaults(staged)).toBe(staged);
    const { policy, warnings } = convertKubernetesPolicy(staged);
    expect(policy.spec.types).toEqual(['Ingress']);
    expect(warnings).toEqual(["spec.policyTypes: K8s PolicyTypes don't include 'egress', but NetworkPolicy has egress rules."]);
  });
});

describe('NetworkPolicyPort protocol (SetDefaults_NetworkPolicyPort)', () => {
  it('defaults an absent or null protocol (and a null port entry) to TCP, keeps an explicit one', () => {
    const r = validateResource(knp({
      podSelector: {},
      ingress: [{ ports: [{ port: 80 }, { port: 53, protocol: 'UDP' }, { port: 81, protocol: null }] }],
      egress: [{ ports: [null, { port: 'dns' }] }],
    }));
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    const spec = (r.value as K8sNetworkPolicy).spec;
    expect(spec.ingress![0]!.ports).toEqual([{ port: 80, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }, { port: 81, protocol: 'TCP' }]);
    expect(spec.egress![0]!.ports).toEqual([{ protocol: 'TCP' }, { port: 'dns', protocol: 'TCP' }]);
  });

  it('rejects an explicit empty protocol, as the API server does (a non-nil pointer is not defaulted)', () => {
    const r = validateResource(knp({ podSelector: {}, ingress: [{ ports: [{ port: 80, protocol: '' }] }] }));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.issues.map((i) => i.message)).toEqual(['Unsupported value: "": supported values: "TCP", "UDP", "SCTP"']);
  });

  it('a null port entry converts to "all TCP ports" instead of dropping the rule', () => {
    const { policy, warnings } = convertKubernetesPolicy(knp({ podSelector: {}, ingress: [{ ports: [null] }] }));
    expect(warnings).toEqual([]);
    expect(policy.spec.ingress).toEqual([{ action: 'Allow', protocol: 'TCP', source: {}, destination: {} }]);
  });
});

function pod(containers: unknown, extra: Record<string, unknown> = {}): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'db', namespace: 'shop', labels: { app: 'db' } },
    spec: { nodeName: 'n1', containers, ...extra }, status: { podIP: '10.1.0.2' },
  } as unknown as Pod;
}

describe('Pod defaults', () => {
  it('container ports without a protocol, or with "", are TCP; validation accepts "" as the API server does', () => {
    const r = validateResource(pod([{ name: 'c', ports: [{ name: 'pg', containerPort: 5432, protocol: '' }, { name: 'm', containerPort: 9090 }] }],
      { initContainers: [{ name: 'i', ports: [{ name: 'init', containerPort: 81 }] }] }));
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    const spec = (r.value as Pod).spec!;
    expect(spec.containers![0]!.ports!.map((p) => p.protocol)).toEqual(['TCP', 'TCP']);
    expect(spec.initContainers![0]!.ports!.map((p) => p.protocol)).toEqual(['TCP']);
  });

  it('the endpoint of an unvalidated pod gets the same named ports', () => {
    const wep = podToWorkloadEndpoint(pod([{ name: 'c', ports: [{ name: 'pg', containerPort: 5432, protocol: '' }, { name: 'dns', containerPort: 53, protocol: 'UDP' }] }]));
    expect(wep?.spec.ports).toEqual([{ protocol: 'TCP', port: 5432, name: 'pg' }, { protocol: 'UDP', port: 53, name: 'dns' }]);
  });

  it('the deprecated serviceAccount fills an empty serviceAccountName', () => {
    const r = validateResource(pod([{ name: 'c' }], { serviceAccount: 'backup' }));
    expect(r.ok && (r.value as Pod).spec!.serviceAccountName).toBe('backup');
    const wep = podToWorkloadEndpoint(pod([{ name: 'c' }], { serviceAccount: 'backup', serviceAccountName: 'api' }));
    expect(wep?.spec.serviceAccountName).toBe('api');
  });

  it('returns a pod that needs no default as the same object', () => {
    const p = pod([{ name: 'c', ports: [{ name: 'pg', containerPort: 5432, protocol: 'TCP' }] }], { serviceAccountName: 'api' });
    expect(applyKubernetesDefaults(p)).toBe(p);
  });
});

describe('Namespace defaults (SetDefaults_Namespace)', () => {
  const ns = (labels?: Record<string, string>): Namespace =>
    ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', ...(labels && { labels }) } });

  it('adds kubernetes.io/metadata.name, overwriting a different value', () => {
    const cases: Array<Record<string, string> | undefined> = [undefined, { team: 'a' }, { 'kubernetes.io/metadata.name': 'other', team: 'a' }];
    for (const labels of cases) {
      const r = validateResource(ns(labels));
      expect(r.ok && r.value.metadata.labels).toEqual({ ...(labels ?? {}), 'kubernetes.io/metadata.name': 'shop' });
    }
    const already = ns({ 'kubernetes.io/metadata.name': 'shop' });
    expect(applyKubernetesDefaults(already)).toBe(already);
  });

  it('the namespace profile carries it, so namespace selectors on it match', () => {
    expect(namespaceProfile(ns()).spec.labelsToApply).toMatchObject({ 'pcns.kubernetes.io/metadata.name': 'shop' });
  });
});

describe('purity', () => {
  const deepFreeze = <T>(v: T): T => {
    if (v && typeof v === 'object') {
      for (const x of Object.values(v)) deepFreeze(x);
      Object.freeze(v);
    }
    return v;
  };

  it('defaults deep-frozen inputs without touching them, and is idempotent', () => {
    const inputs: Resource[] = [
      knp({ podSelector: {}, egress: [{ ports: [{ port: 1 }] }], ingress: [{ ports: [null] }] }),
      pod([{ name: 'c', ports: [{ name: 'pg', containerPort: 5432 }] }], { serviceAccount: 'x' }),
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { a: 'b' } } },
    ];
    for (const input of inputs) {
      const frozen = deepFreeze(structuredClone(input));
      const once = applyKubernetesDefaults(frozen);
      expect(once).not.toBe(frozen);
      expect(applyKubernetesDefaults(once)).toBe(once);
      expect(frozen).toEqual(input);
    }
  });

  it('leaves malformed fields for validation to report instead of throwing', () => {
    for (const spec of [5, 'x', [], { policyTypes: 'Ingress' }, { egress: 'x' }, { egress: [5, { ports: 'x' }, { ports: [7] }] }]) {
      const input = { ...knp(undefined), spec } as unknown as K8sNetworkPolicy;
      expect(() => applyKubernetesDefaults(input)).not.toThrow();
      expect(validateResource(input).ok).toBe(false);
    }
    for (const spec of [5, { containers: 'x' }, { containers: [5, { ports: 'x' }, { ports: [null, 3] }] }]) {
      expect(() => applyKubernetesDefaults({ ...pod([]), spec } as unknown as Pod)).not.toThrow();
    }
    expect(() => applyKubernetesDefaults({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x', labels: 'no' } })).not.toThrow();
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Where objects enter: files, stdin, kubectl dumps, unvalidated loads, decoded text, the engine.

const CLUSTER: Resource[] = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ops' } },
  pod([{ name: 'c' }]),
  { ...pod([{ name: 'c' }]), metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } }, status: { podIP: '10.1.0.1' } } as Pod,
  { ...pod([{ name: 'c' }]), metadata: { name: 'tool', namespace: 'ops', labels: { app: 'tool' } }, status: { podIP: '10.2.0.1' } } as Pod,
];
const EGRESS_TO_DB = knp({ podSelector: { matchLabels: { app: 'web' } }, egress: [TO_DB] }, 'web-egress');
const EGRESS_EMPTY = knp({ podSelector: { matchLabels: { app: 'web' } }, egress: [] }, 'web-egress');

function engineWith(resources: Resource[]): PolicyEngine {
  const engine = new PolicyEngine();
  engine.load(resources);
  return engine;
}

function egressVerdict(engine: PolicyEngine, flow: Flow): string | undefined {
  const r = engine.evaluate(flow);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value.egress?.verdict;
}

describe('every way in', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tabby-k8s-defaults-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const policyTypesOf = (resources: Array<{ resource: Resource }>): unknown[] =>
    resources.filter((r) => r.resource.kind === 'NetworkPolicy').map((r) => (r.resource as K8sNetworkPolicy).spec.policyTypes);

  it('a file, a kubectl `kind: List` dump on stdin, and an unvalidated load', async () => {
    const file = path.join(dir, 'np.yaml');
    await writeFile(file, stringify(EGRESS_TO_DB));
    expect(policyTypesOf((await loadResources([file])).resources)).toEqual([['Ingress', 'Egress']]);
    const dump = stringify({ apiVersion: 'v1', kind: 'List', items: [EGRESS_TO_DB, { ...EGRESS_EMPTY, metadata: { name: 'b', namespace: 'shop' } }] });
    const fromStdin = await loadResources(['-'], { stdin: Readable.from([Buffer.from(dump)]) });
    expect(fromStdin.issues).toEqual([]);
    expect(policyTypesOf(fromStdin.resources)).toEqual([['Ingress', 'Egress'], ['Ingress']]);
    expect(policyTypesOf((await loadResources([file], { validate: false })).resources)).toEqual([['Ingress', 'Egress']]);
  });

  it('decoded text, as the datastore and the server decode it, validates to the defaulted object', () => {
    const decoded = decodeManifests(stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicyList', items: [EGRESS_TO_DB] }), 'body');
    const r = validateResource(decoded.documents[0]!.value);
    expect(r.ok && (r.value as K8sNetworkPolicy).spec.policyTypes).toEqual(['Ingress', 'Egress']);
  });

  it('the engine enforces the egress rules of a policy written without policyTypes', () => {
    const engine = engineWith([...CLUSTER, EGRESS_TO_DB]);
    expect(egressVerdict(engine, { from: 'shop/web', to: 'shop/db', protocol: 'TCP', port: 5432 })).toBe('Allow');
    expect(egressVerdict(engine, { from: 'shop/web', to: { ip: '203.0.113.7' }, protocol: 'TCP', port: 443 })).toBe('Deny');
    expect(egressVerdict(engine, { from: 'shop/web', to: 'shop/db', protocol: 'UDP', port: 5432 })).toBe('Deny');
    // `egress: []` stays ingress-only: the web pod's egress is not isolated.
    const open = engineWith([...CLUSTER, EGRESS_EMPTY]);
    expect(egressVerdict(open, { from: 'shop/web', to: { ip: '203.0.113.7' }, protocol: 'TCP', port: 443 })).toBe('Allow');
  });

  it('the engine matches a namespace selector on kubernetes.io/metadata.name of a Namespace written without it', () => {
    const fromOps = knp({
      podSelector: { matchLabels: { app: 'db' } },
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ops' } } }] }],
    }, 'db-from-ops');
    const engine = engineWith([...CLUSTER, fromOps]);
    const ingress = (from: string): string | undefined => {
      const r = engine.evaluate({ from, to: 'shop/db', protocol: 'TCP', port: 5432 });
      if (!r.ok) throw new Error(JSON.stringify(r.issues));
      return r.value.ingress?.verdict;
    };
    expect(ingress('ops/tool')).toBe('Allow');
    expect(ingress('shop/web')).toBe('Deny');
  });
});
