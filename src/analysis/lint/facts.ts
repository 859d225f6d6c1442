// What several rules ask of the engine, asked one way: the endpoints a policy applies to in a direction, the tier
// it sits in for them (with its end-of-tier action), the probes (a flow decided by engine.evaluate), where a
// compiled rule is written in its resource, and the cluster's DNS and system endpoints.

import type { PathSegment } from '../../api/index.js';
import type {
  AppliedTier,
  CompiledRule,
  Direction,
  EndpointInfo,
  EndVerdict,
  Flow,
  FlowPeer,
} from '../../engine/index.js';
import type { LintContext, LintPolicy } from './types.js';

/** Namespaces whose workloads keep the cluster running (Calico's own default deny example leaves them out). */
export const SYSTEM_NAMESPACES: ReadonlySet<string> = new Set(['kube-system', 'calico-system', 'calico-apiserver', 'tigera-operator']);

export const DIRECTIONS: readonly Direction[] = ['ingress', 'egress'];

const TYPE_OF: Record<Direction, 'Ingress' | 'Egress'> = { ingress: 'Ingress', egress: 'Egress' };

export function isK8sPolicy(lp: LintPolicy): boolean {
  return lp.at.ref.kind === 'KubernetesNetworkPolicy' || lp.at.ref.kind === 'StagedKubernetesNetworkPolicy';
}

/** An enforced (non-staged) compiled policy. */
export function enforced(lp: LintPolicy): lp is LintPolicy & { compiled: NonNullable<LintPolicy['compiled']> } {
  return lp.compiled !== undefined && !lp.compiled.staged;
}

/** The endpoints whose `direction` list holds the policy (normal stage), each with the tier entry it is in. */
export function appliedTo(ctx: LintContext, lp: LintPolicy, direction: Direction): Array<{ endpoint: EndpointInfo; tier: AppliedTier; tiers: AppliedTier[] }> {
  const c = lp.compiled;
  if (!c || !c.types.includes(direction)) return [];
  // Several rules ask it of every policy: one walk per (policy, direction) and run (callers only read it).
  let memo = appliedMemo.get(ctx);
  if (!memo) appliedMemo.set(ctx, (memo = new Map()));
  const key = `${direction}\u0000${c.id.kind}\u0000${c.id.ref}`;
  const known = memo.get(key);
  if (known) return known;
  const out: Array<{ endpoint: EndpointInfo; tier: AppliedTier; tiers: AppliedTier[] }> = [];
  memo.set(key, out);
  for (const endpoint of ctx.engine.endpointsSelectedBy(c.id)) {
    const tiers = ctx.engine.policiesFor(endpoint.ref)?.[direction] ?? [];
    const tier = tiers.find((t) => t.policies.some((p) => p.id.kind === c.id.kind && p.id.ref === c.id.ref));
    if (tier) out.push({ endpoint, tier, tiers });
  }
  return out;
}

/**
 * Whether an enforced policy in `tiers` up to and including `tier` holds a `direction` Allow rule with a `services`
 * clause. Tabby has no Service objects, so such a rule never matches in the engine (engine types.ts neverMatches),
 * but in a cluster it may allow exactly the probed flow (DNS through `services: {name: kube-dns}`): a finding
 * built on that probe would not be proven, so the rules that probe leave such endpoints out.
 */
export function servicesRuleMayAllow(ctx: LintContext, tiers: readonly AppliedTier[], tier: string, direction: Direction): boolean {
  // Asked for each policy of a tier about the same endpoints: one answer per (tiers list, tier, direction).
  let memo = servicesMemo.get(tiers);
  if (!memo) servicesMemo.set(tiers, (memo = new Map()));
  const key = `${direction}\u0000${tier}`;
  let answer = memo.get(key);
  if (answer === undefined) memo.set(key, (answer = servicesRuleFirst(ctx, tiers, tier, direction)));
  return answer;
}

const servicesMemo = new WeakMap<readonly AppliedTier[], Map<string, boolean>>();

function servicesRuleFirst(ctx: LintContext, tiers: readonly AppliedTier[], tier: string, direction: Direction): boolean {
  for (const t of tiers) {
    for (const p of t.policies) {
      if (p.staged) continue;
      const c = ctx.engine.policy(p.id);
      if (c?.rules[direction].some((r) => r.action === 'Allow' && r.neverMatches === 'services')) return true;
    }
    if (t.tier === tier) break;
  }
  return false;
}

const appliedMemo = new WeakMap<LintContext, Map<string, Array<{ endpoint: EndpointInfo; tier: AppliedTier; tiers: AppliedTier[] }>>>();

/** The end of a flow that `direction` names: the source's egress or the destination's ingress. */
export function probe(ctx: LintContext, from: FlowPeer, to: FlowPeer, protocol: string, port: number, direction: Direction): EndVerdict | undefined {
  // One evaluation per flow and run: several policies of a tier select the same endpoints and ask the same probe.
  let cache = probes.get(ctx);
  if (!cache) probes.set(ctx, (cache = new Map()));
  const key = JSON.stringify([from, to, protocol, port, direction]);
  if (cache.has(key)) return cache.get(key);
  const flow: Flow = { from, to, protocol, port };
  const result = ctx.engine.evaluate(flow);
  const end = result.ok ? ((direction === 'egress' ? result.value.egress : result.value.ingress) ?? undefined) : undefined;
  cache.set(key, end);
  return end;
}

const probes = new WeakMap<LintContext, Map<string, EndVerdict | undefined>>();

/** Whether an end was denied in `tier` (by a rule of it or its end-of-tier action), not elsewhere. */
export function deniedInTier(end: EndVerdict | undefined, tier: string): boolean {
  return end !== undefined && end.verdict === 'Deny' && 'tier' in end.decision && end.decision.tier === tier;
}

/** The cluster DNS pods: k8s-app=kube-dns, the label kube-dns and CoreDNS deployments carry. */
export function dnsEndpoints(ctx: LintContext): EndpointInfo[] {
  return ctx.endpoints.filter((e) => e.kind === 'WorkloadEndpoint' && e.labels['k8s-app'] === 'kube-dns');
}

export function isSystemEndpoint(e: EndpointInfo): boolean {
  return e.namespace !== undefined && SYSTEM_NAMESPACES.has(e.namespace);
}

/**
 * Where a compiled rule is written. Calico rules compile one to one (the index is the manifest's); a Kubernetes
 * rule may become several Calico rules (one per peer and port protocol), so those point at the direction's list.
 */
export function rulePath(lp: LintPolicy, direction: Direction, rule: CompiledRule, ...rest: PathSegment[]): PathSegment[] {
  return isK8sPolicy(lp) ? ['spec', direction] : ['spec', direction, rule.index, ...rest];
}

/** `egress[2]`, as traces name a rule (Kubernetes rules: the compiled index). */
export function ruleName(direction: Direction, rule: CompiledRule): string {
  return `${direction}[${rule.index}]`;
}

export function typeName(direction: Direction): 'Ingress' | 'Egress' {
  return TYPE_OF[direction];
}

/** "3 endpoints (shop/a, shop/b, …)": a count with the first few refs. */
export function someEndpoints(endpoints: readonly EndpointInfo[], shown = 3): string {
  const refs = endpoints.slice(0, shown).map((e) => e.ref);
  const more = endpoints.length > shown ? ', …' : '';
  return `${endpoints.length} endpoint${endpoints.length === 1 ? '' : 's'} (${refs.join(', ')}${more})`;
}

export function policyText(lp: LintPolicy): string {
  const r = lp.at.ref;
  return `${r.kind} ${r.namespace === undefined ? r.name : `${r.namespace}/${r.name}`}`;
}

/** Where a policy's endpoint selector is written (podSelector for Kubernetes policies). */
export function selectorPath(lp: LintPolicy): PathSegment[] {
  return isK8sPolicy(lp) ? ['spec', 'podSelector'] : ['spec', 'selector'];
}
