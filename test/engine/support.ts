// Builders for engine tests (small resources with only the fields a test cares about), a snapshot of everything
// an engine computes, and a mirror that rebuilds the dataplane's view from the change feed alone.

import type { Resource, ResourceKey, ResourceUpdate, Rule } from '../../src/api/index.js';
import { kindKeyOf } from '../../src/api/index.js';
import type { DirectionalPolicies, EngineChange, PolicyEngine, Stage } from '../../src/engine/index.js';

const V3 = 'projectcalico.org/v3' as const;

export function namespace(name: string, labels: Record<string, string> = {}): Resource {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } } };
}

export function pod(ns: string, name: string, ip: string, labels: Record<string, string> = {}, extra: { node?: string; sa?: string } = {}): Resource {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: ns, labels },
    spec: { ...(extra.node && { nodeName: extra.node }), ...(extra.sa && { serviceAccountName: extra.sa }), containers: [{ name: 'main' }] },
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
  };
}

export function serviceAccount(ns: string, name: string, labels: Record<string, string> = {}): Resource {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns, labels } };
}

export function tier(name: string, order?: number, defaultAction?: 'Deny' | 'Pass'): Resource {
  return { apiVersion: V3, kind: 'Tier', metadata: { name }, spec: { ...(order !== undefined && { order }), ...(defaultAction && { defaultAction }) } };
}

interface PolicyOpts {
  tier?: string;
  order?: number;
  selector?: string;
  ingress?: Rule[];
  egress?: Rule[];
  types?: Array<'Ingress' | 'Egress'>;
  namespaceSelector?: string;
  doNotTrack?: boolean;
  preDNAT?: boolean;
  applyOnForward?: boolean;
}

function policySpec(o: PolicyOpts): Record<string, unknown> {
  const spec: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) spec[k] = v;
  return spec;
}

export function gnp(name: string, o: PolicyOpts = {}): Resource {
  return { apiVersion: V3, kind: 'GlobalNetworkPolicy', metadata: { name }, spec: policySpec(o) } as Resource;
}

export function sgnp(name: string, o: PolicyOpts = {}): Resource {
  return { apiVersion: V3, kind: 'StagedGlobalNetworkPolicy', metadata: { name }, spec: policySpec(o) } as Resource;
}

export function np(ns: string, name: string, o: PolicyOpts = {}): Resource {
  return { apiVersion: V3, kind: 'NetworkPolicy', metadata: { name, namespace: ns }, spec: policySpec(o) } as Resource;
}

export function knp(ns: string, name: string, spec: Record<string, unknown>): Resource {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: ns }, spec } as Resource;
}

export function globalNetworkSet(name: string, nets: string[], labels: Record<string, string> = {}): Resource {
  return { apiVersion: V3, kind: 'GlobalNetworkSet', metadata: { name, labels }, spec: { nets } };
}

export function networkSet(ns: string, name: string, nets: string[], labels: Record<string, string> = {}): Resource {
  return { apiVersion: V3, kind: 'NetworkSet', metadata: { name, namespace: ns, labels }, spec: { nets } };
}

export function hostEndpoint(name: string, node: string, ips: string[], labels: Record<string, string> = {}, iface = 'eth0', profiles?: string[]): Resource {
  return {
    apiVersion: V3, kind: 'HostEndpoint', metadata: { name, labels },
    spec: { node, interfaceName: iface, expectedIPs: ips, ...(profiles && { profiles }) },
  };
}

export function profile(name: string, labelsToApply: Record<string, string>, rules: { ingress?: Rule[]; egress?: Rule[] } = {}): Resource {
  return { apiVersion: V3, kind: 'Profile', metadata: { name }, spec: { labelsToApply, ...rules } };
}

export function keyOf(r: Resource): ResourceKey {
  const key: ResourceKey = { kind: kindKeyOf(r), name: r.metadata.name };
  if (r.metadata.namespace !== undefined) key.namespace = r.metadata.namespace;
  return key;
}

export function identity(r: Resource): string {
  const k = keyOf(r);
  return `${k.kind}/${k.namespace ?? ''}/${k.name}`;
}

/** The updates that take a datastore from state `from` to state `to`. */
export function transition(from: readonly Resource[], to: readonly Resource[]): ResourceUpdate[] {
  const before = new Map(from.map((r) => [identity(r), r]));
  const after = new Map(to.map((r) => [identity(r), r]));
  const updates: ResourceUpdate[] = [];
  for (const [id, r] of before) if (!after.has(id)) updates.push({ type: 'delete', key: keyOf(r) });
  for (const [id, r] of after) {
    if (JSON.stringify(before.get(id)) !== JSON.stringify(r)) updates.push({ type: 'upsert', resource: r });
  }
  return updates;
}

// ---------------------------------------------------------------------------------------------------------------
// Snapshots

export type TierSummary = [tier: string, defaultAction: string, policies: string[]];

export function summariseLists(d: DirectionalPolicies | undefined): { ingress: TierSummary[]; egress: TierSummary[] } {
  const one = (tiers: DirectionalPolicies['ingress']): TierSummary[] =>
    tiers.map((t) => [t.tier, t.defaultAction, t.policies.map((p) => `${p.id.kind}:${p.id.ref}${p.staged ? '(staged)' : ''}`)]);
  return { ingress: one(d?.ingress ?? []), egress: one(d?.egress ?? []) };
}

/** Everything an engine computes that a dataplane or a verdict depends on. */
export function snapshot(engine: PolicyEngine): Record<string, unknown> {
  const endpoints: Record<string, unknown> = {};
  for (const ep of engine.endpoints()) {
    const stages = engine.stagesFor(ep.ref) ?? {};
    const summary: Record<string, unknown> = {};
    for (const [stage, lists] of Object.entries(stages)) summary[stage] = summariseLists(lists);
    endpoints[ep.ref] = { labels: sortKeys(ep.labels), ips: ep.ips, stages: summary };
  }
  const ipSets: Record<string, string[]> = {};
  for (const set of engine.ipSets()) ipSets[set.id] = engine.ipSetMembers(set.id)!;
  const policies = engine.policies().map((p) => `${p.id.kind}:${p.id.ref}`).sort();
  return { endpoints, ipSets, policies };
}

function sortKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
}

// ---------------------------------------------------------------------------------------------------------------
// Feed mirror

/** The dataplane's view, built only from EngineChanges (replace semantics for endpoint, policy, profile). */
export class FeedMirror {
  readonly endpoints = new Map<string, Record<string, unknown>>();
  readonly ipSets = new Map<string, Set<string>>();
  readonly policies = new Set<string>();
  readonly profiles = new Set<string>();

  apply(changes: readonly EngineChange[]): void {
    for (const c of changes) {
      switch (c.type) {
        case 'ipset-added':
          this.ipSets.set(c.ipSet.id, new Set(c.members));
          break;
        case 'ipset-members': {
          const set = this.ipSets.get(c.id);
          if (!set) throw new Error(`members of unknown set ${c.id}`);
          for (const m of c.removed) {
            if (!set.delete(m)) throw new Error(`removing absent member ${m} of ${c.id}`);
          }
          for (const m of c.added) {
            if (set.has(m)) throw new Error(`adding present member ${m} to ${c.id}`);
            set.add(m);
          }
          break;
        }
        case 'ipset-removed':
          if (!this.ipSets.delete(c.id)) throw new Error(`removing unknown set ${c.id}`);
          break;
        case 'policy-updated':
          this.policies.add(`${c.policy.id.kind}:${c.policy.id.ref}`);
          break;
        case 'policy-removed':
          if (!this.policies.delete(`${c.id.kind}:${c.id.ref}`)) throw new Error(`removing unknown policy ${c.id.ref}`);
          break;
        case 'profile-updated':
          this.profiles.add(c.profile.name);
          break;
        case 'profile-removed':
          this.profiles.delete(c.name);
          break;
        case 'endpoint-updated': {
          const stages: Record<string, unknown> = {};
          for (const [stage, lists] of Object.entries(c.stages)) stages[stage] = summariseLists(lists);
          this.endpoints.set(c.endpoint.ref, { labels: sortKeys(c.endpoint.labels), ips: c.endpoint.ips, stages });
          break;
        }
        case 'endpoint-removed':
          if (!this.endpoints.delete(c.ref)) throw new Error(`removing unknown endpoint ${c.ref}`);
          break;
      }
    }
  }

  /** In the same shape as snapshot(). */
  view(): Record<string, unknown> {
    const endpoints = Object.fromEntries([...this.endpoints].sort(([a], [b]) => (a < b ? -1 : 1)));
    const ipSets = Object.fromEntries([...this.ipSets].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, m]) => [id, [...m].sort()]));
    return { endpoints, ipSets, policies: [...this.policies].sort() };
  }
}

export function stageLists(engine: PolicyEngine, ref: string, stage: Stage = 'normal'): { ingress: TierSummary[]; egress: TierSummary[] } {
  return summariseLists(engine.policiesFor(ref, { stage }));
}

/** A deterministic shuffle (mulberry32), so failures reproduce. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  let s = seed >>> 0;
  const rand = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
