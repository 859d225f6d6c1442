import { describe, expect, it } from 'vitest';
import { applyAdmissionDefaults, applyDefaults, inferPolicyTypes, TIER_LABEL } from '../../src/api/defaults.js';
import type {
  GlobalNetworkPolicy, IPPool, NetworkPolicy, Resource, StagedNetworkPolicy, Tier,
} from '../../src/api/types.js';

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object') {
    Object.values(v).forEach(deepFreeze);
    Object.freeze(v);
  }
  return v;
}

const np = (spec: NetworkPolicy['spec'], labels?: Record<string, string>): NetworkPolicy => ({
  apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy',
  metadata: { name: 'p', namespace: 'ns', ...(labels ? { labels } : {}) }, spec,
});

describe('policy types inference (§2.10)', () => {
  it.each([
    [{}, ['Ingress']],
    [{ ingress: [{ action: 'Allow' as const }] }, ['Ingress']],
    [{ egress: [{ action: 'Allow' as const }] }, ['Egress']],
    [{ ingress: [{ action: 'Allow' as const }], egress: [{ action: 'Deny' as const }] }, ['Ingress', 'Egress']],
    [{ ingress: [], egress: [] }, ['Ingress']],
  ])('%j → %j', (spec, types) => {
    expect(inferPolicyTypes(spec)).toEqual(types);
    expect((applyDefaults(np(spec)) as NetworkPolicy).spec.types).toEqual(types);
  });

  it('keeps explicit types, even when they do not match the rules', () => {
    const out = applyDefaults(np({ ingress: [{ action: 'Allow' }], types: ['Egress'] })) as NetworkPolicy;
    expect(out.spec.types).toEqual(['Egress']);
  });

  it('infers for an empty types list, as Calico does on create', () => {
    expect((applyDefaults(np({ types: [], egress: [{ action: 'Allow' }] })) as NetworkPolicy).spec.types).toEqual(['Egress']);
  });
});

describe('tier, tier label, stagedAction', () => {
  it('tier defaults to default and the tier label follows it', () => {
    const out = applyDefaults(np({}, { app: 'x' })) as NetworkPolicy;
    expect(out.spec.tier).toBe('default');
    expect(out.metadata.labels).toEqual({ app: 'x', [TIER_LABEL]: 'default' });
  });

  it('the tier label is overwritten with the real tier', () => {
    const gnp: GlobalNetworkPolicy = {
      apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy',
      metadata: { name: 'sec.p', labels: { [TIER_LABEL]: 'wrong' } }, spec: { tier: 'sec' },
    };
    expect((applyDefaults(gnp) as GlobalNetworkPolicy).metadata.labels).toEqual({ [TIER_LABEL]: 'sec' });
  });

  it('staged policies default stagedAction to Set and infer types, but a Delete keeps its spec empty', () => {
    const snp = (spec: StagedNetworkPolicy['spec']): StagedNetworkPolicy => ({
      apiVersion: 'projectcalico.org/v3', kind: 'StagedNetworkPolicy', metadata: { name: 'p', namespace: 'ns' }, spec,
    });
    const set = applyDefaults(snp({})) as StagedNetworkPolicy;
    expect(set.spec).toEqual({ tier: 'default', stagedAction: 'Set', types: ['Ingress'] });
    const del = applyDefaults(snp({ stagedAction: 'Delete' })) as StagedNetworkPolicy;
    expect(del.spec).toEqual({ tier: 'default', stagedAction: 'Delete' });
  });
});

describe('Tier defaults (§2.5)', () => {
  const tier = (name: string, spec: Tier['spec'] = {}): Tier =>
    ({ apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name }, spec });

  it('an ordinary tier gets order 1e6 and Deny', () => {
    expect((applyDefaults(tier('platform')) as Tier).spec).toEqual({ order: 1_000_000, defaultAction: 'Deny' });
  });
  it('built-in tiers get their fixed values when unset', () => {
    expect((applyDefaults(tier('kube-admin')) as Tier).spec).toEqual({ order: 1000, defaultAction: 'Pass' });
    expect((applyDefaults(tier('kube-baseline')) as Tier).spec).toEqual({ order: 10_000_000, defaultAction: 'Pass' });
    expect((applyDefaults(tier('default')) as Tier).spec).toEqual({ order: 1_000_000, defaultAction: 'Deny' });
  });
  it('explicit values are kept', () => {
    expect((applyDefaults(tier('x', { order: 5, defaultAction: 'Pass' })) as Tier).spec).toEqual({ order: 5, defaultAction: 'Pass' });
  });
  it('admission defaults are the client ones, built-in or not (validation then insists on the fixed values)', () => {
    expect((applyAdmissionDefaults(tier('kube-admin')) as Tier).spec).toEqual({ order: 1_000_000, defaultAction: 'Deny' });
  });
  it('a missing spec is treated as empty', () => {
    const t = { apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name: 'a' } } as unknown as Tier;
    expect((applyDefaults(t) as Tier).spec).toEqual({ order: 1_000_000, defaultAction: 'Deny' });
  });
});

describe('other kinds', () => {
  it('IPPool fields the client fills on create', () => {
    const pool: IPPool = { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: 'fd00::/48' } };
    expect((applyDefaults(pool) as IPPool).spec).toEqual({
      cidr: 'fd00::/48', blockSize: 122, ipipMode: 'Never', vxlanMode: 'Never', nodeSelector: 'all()',
      allowedUses: ['Workload', 'Tunnel'], assignmentMode: 'Automatic',
    });
  });
  it('Kubernetes kinds get the API server defaults (kubernetes-defaults.test.ts has the details)', () => {
    const ns: Resource = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a', labels: { x: 'y' } } };
    expect(applyDefaults(ns)).toEqual({ ...ns, metadata: { name: 'a', labels: { x: 'y', 'kubernetes.io/metadata.name': 'a' } } });
    const sa: Resource = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'a', namespace: 'x' } };
    expect(applyDefaults(sa)).toBe(sa);
  });
});

describe('purity', () => {
  it('never mutates its input and returns a new object', () => {
    const input = deepFreeze(np({ egress: [{ action: 'Allow' }] }, { a: 'b' }));
    const out = applyDefaults(input);
    expect(out).not.toBe(input);
    expect(input.spec.types).toBeUndefined();
    expect(input.metadata.labels).toEqual({ a: 'b' });
  });
  it.each<[string, Resource]>([
    ['GlobalNetworkPolicy without tier, types or labels', { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy',
      metadata: { name: 'g' }, spec: { selector: 'all()', ingress: [{ action: 'Allow', source: { nets: ['10.0.0.0/8'] } }] } }],
    ['StagedGlobalNetworkPolicy', { apiVersion: 'projectcalico.org/v3', kind: 'StagedGlobalNetworkPolicy',
      metadata: { name: 's', labels: { a: 'b' } }, spec: { egress: [{ action: 'Deny' }] } }],
    ['Tier without spec', { apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name: 'kube-admin' } } as unknown as Resource],
    ['IPPool', { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.1.0.0/16' } }],
  ])('%s: a deep-frozen input is defaulted without being touched', (_name, resource) => {
    const before = structuredClone(resource);
    const out = applyDefaults(deepFreeze(resource));
    expect(resource).toEqual(before);
    expect(out).not.toEqual(before);
  });
  it('is idempotent', () => {
    const once = applyDefaults(np({ ingress: [{ action: 'Allow' }] }));
    expect(applyDefaults(once)).toEqual(once);
  });
});
