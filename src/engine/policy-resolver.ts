// PolicyResolver: for each endpoint, per stage and direction, the ordered tiers and in each the ordered
// policies that apply (felix/calc/policy_resolver.go + event_sequencer.go tierInfoToProtoTierInfo, §3.2, §3.8).
//
// It keeps a cache per endpoint and a dirty set: the graph marks an endpoint dirty when a policy starts or
// stops matching it, when a policy that matches it changes order, tier, types or flags, or when a tier it uses
// changes. Lists are recomputed lazily, on the next query or flush.
//
// What it does not do: it does not match selectors (the graph's label index tells it which policies match) and
// it does not evaluate rules (verdict.ts does).

import { compareTiers, comparePolicies, type TierMeta } from './policy-sorter.js';
import type { EndpointKey, PolicyKey } from './model.js';
import type { AppliedTier, CompiledPolicy, Direction, DirectionalPolicies, Stage } from './types.js';

export type EndpointStages = Partial<Record<Stage, DirectionalPolicies>>;

export interface ResolverInputs {
  endpointKind(ep: EndpointKey): 'WorkloadEndpoint' | 'HostEndpoint' | undefined;
  policiesMatching(ep: EndpointKey): Iterable<PolicyKey>;
  policy(key: PolicyKey): CompiledPolicy | undefined;
  tier(name: string): TierMeta;
}

const WORKLOAD_STAGES: readonly Stage[] = ['normal'];
const HOST_STAGES: readonly Stage[] = ['normal', 'untracked', 'preDNAT', 'forward'];

/** Which stage a policy's flags put it in for a host endpoint (§3.8 table). */
function inStage(p: CompiledPolicy, stage: Stage): boolean {
  switch (stage) {
    case 'normal':
      return !p.doNotTrack && !p.preDNAT;
    case 'untracked':
      return p.doNotTrack;
    case 'preDNAT':
      return p.preDNAT && !p.doNotTrack;
    case 'forward':
      return !p.doNotTrack && !p.preDNAT && p.applyOnForward;
  }
}

function tiersFor(policies: CompiledPolicy[], direction: Direction, stage: Stage, tierOf: (name: string) => TierMeta): AppliedTier[] {
  // preDNAT policy is ingress only: its egress rules are ignored (§3.8).
  if (stage === 'preDNAT' && direction === 'egress') return [];
  const byTier = new Map<string, CompiledPolicy[]>();
  for (const p of policies) {
    if (!p.types.includes(direction)) continue;
    let list = byTier.get(p.tier);
    if (!list) byTier.set(p.tier, (list = []));
    list.push(p);
  }
  const tiers = [...byTier.keys()].map(tierOf).sort(compareTiers);
  return tiers.map((t) => ({
    tier: t.name,
    // Untracked and pre-DNAT chains never drop at the end of a tier; later stages still apply (§3.8).
    defaultAction: stage === 'untracked' || stage === 'preDNAT' ? 'Pass' : t.defaultAction,
    policies: byTier
      .get(t.name)!
      .sort(comparePolicies)
      .map((p) => ({ id: p.id, staged: p.staged })),
  }));
}

/** The full calculation for one endpoint, from the policies that apply to it. Pure. */
export function resolveEndpointStages(
  kind: 'WorkloadEndpoint' | 'HostEndpoint',
  policies: CompiledPolicy[],
  tierOf: (name: string) => TierMeta,
): EndpointStages {
  const out: EndpointStages = {};
  // Workload endpoints receive only the normal tiers: doNotTrack and preDNAT policies never apply to them.
  for (const stage of kind === 'WorkloadEndpoint' ? WORKLOAD_STAGES : HOST_STAGES) {
    const members = policies.filter((p) => inStage(p, stage));
    out[stage] = {
      ingress: tiersFor(members, 'ingress', stage, tierOf),
      egress: tiersFor(members, 'egress', stage, tierOf),
    };
  }
  return out;
}

export class PolicyResolver {
  private readonly cache = new Map<EndpointKey, EndpointStages>();
  private readonly dirty = new Set<EndpointKey>();

  constructor(private readonly inputs: ResolverInputs) {}

  markDirty(ep: EndpointKey): void {
    this.dirty.add(ep);
  }

  forget(ep: EndpointKey): void {
    this.cache.delete(ep);
    this.dirty.delete(ep);
  }

  stagesOf(ep: EndpointKey): EndpointStages | undefined {
    if (!this.dirty.has(ep)) {
      const cached = this.cache.get(ep);
      if (cached) return cached;
    }
    const kind = this.inputs.endpointKind(ep);
    if (!kind) return undefined;
    const policies: CompiledPolicy[] = [];
    for (const key of this.inputs.policiesMatching(ep)) {
      const p = this.inputs.policy(key);
      if (p) policies.push(p);
    }
    const stages = resolveEndpointStages(kind, policies, (name) => this.inputs.tier(name));
    this.cache.set(ep, stages);
    this.dirty.delete(ep);
    return stages;
  }
}
