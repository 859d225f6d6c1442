// Builders for engine change-feed objects, so renderer tests read as the policies they describe.

import type {
  AppliedTier,
  CompiledPolicy,
  CompiledProfile,
  CompiledRule,
  EndpointInfo,
  EngineChange,
  EntityMatch,
  PolicyKind,
} from '../../src/engine/types.js';

export function entity(partial: Partial<EntityMatch> = {}): EntityMatch {
  return {
    nets: [], notNets: [], ipSets: [], notIpSets: [], ports: [], notPorts: [], namedPortIpSets: [], notNamedPortIpSets: [],
    ...partial,
  };
}

export function rule(index: number, action: CompiledRule['action'], partial: Partial<Omit<CompiledRule, 'src' | 'dst'>> & {
  src?: Partial<EntityMatch>; dst?: Partial<EntityMatch>;
} = {}): CompiledRule {
  const { src, dst, ...rest } = partial;
  return { index, action, src: entity(src), dst: entity(dst), ...rest };
}

export function policy(
  name: string,
  rules: { ingress?: CompiledRule[]; egress?: CompiledRule[] },
  opts: { kind?: PolicyKind; namespace?: string; tier?: string; staged?: boolean } = {},
): CompiledPolicy {
  const kind = opts.kind ?? (opts.namespace ? 'NetworkPolicy' : 'GlobalNetworkPolicy');
  return {
    id: { kind, name, ...(opts.namespace ? { namespace: opts.namespace } : {}), ref: opts.namespace ? `${opts.namespace}/${name}` : name },
    tier: opts.tier ?? 'default',
    types: [...(rules.ingress ? ['ingress' as const] : []), ...(rules.egress ? ['egress' as const] : [])],
    staged: opts.staged ?? false,
    doNotTrack: false, preDNAT: false, applyOnForward: false,
    selector: 'all()',
    rules: { ingress: rules.ingress ?? [], egress: rules.egress ?? [] },
  };
}

export function profile(name: string, rules: { ingress?: CompiledRule[]; egress?: CompiledRule[] }): CompiledProfile {
  return { name, defined: true, rules: { ingress: rules.ingress ?? [], egress: rules.egress ?? [] } };
}

export const allowAll = (name: string): CompiledProfile => profile(name, { ingress: [rule(0, 'Allow')], egress: [rule(0, 'Allow')] });

export function endpoint(ns: string, name: string, iface: string, ips: string[], opts: { node?: string; profiles?: string[] } = {}): EndpointInfo {
  return {
    ref: `${ns}/${name}`, kind: 'WorkloadEndpoint', source: 'WorkloadEndpoint', name, namespace: ns,
    node: opts.node ?? 'node1', interfaceName: iface, ips, labels: {}, profiles: opts.profiles ?? [`kns.${ns}`], namedPorts: [],
  };
}

export function tier(name: string, policies: CompiledPolicy[], defaultAction: 'Deny' | 'Pass' = 'Deny'): AppliedTier {
  return { tier: name, defaultAction, policies: policies.map((p) => ({ id: p.id, staged: p.staged })) };
}

export function endpointUpdate(ep: EndpointInfo, ingress: AppliedTier[], egress: AppliedTier[]): EngineChange {
  return { type: 'endpoint-updated', endpoint: ep, stages: { normal: { ingress, egress } } };
}
