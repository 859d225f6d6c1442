// Which policies apply to one endpoint, in the order they are evaluated: per processing stage and direction,
// the tiers in order and in each its policies in order (§3.2), then the profiles (normal stage, §3.3). Workload
// endpoints have only the normal stage; host endpoints also untracked (doNotTrack), preDNAT (ingress only) and
// forward (applyOnForward) (§3.8).

import type { Result } from '../api/index.js';
import { STAGES, type AppliedTier, type EndpointInfo, type NamedPort, type PolicyEngine, type PolicyKind, type Stage } from '../engine/index.js';
import { resolveEndpoint } from './endpoint-ref.js';

export interface PolicyEntry {
  kind: PolicyKind;
  /** `name` or `namespace/name`, as traces write it. */
  policy: string;
  /** Null: no order (sorts last, §3.2). */
  order: number | null;
  /** Staged policies are listed where they sort but never enforced (§3.6). */
  staged: boolean;
}

export interface TierEntry {
  tier: string;
  /** What happens when no policy of the tier decides (Pass in the untracked and preDNAT stages). */
  defaultAction: 'Deny' | 'Pass';
  policies: PolicyEntry[];
}

export interface StageEntry {
  stage: Stage;
  ingress: TierEntry[];
  egress: TierEntry[];
}

export interface EndpointSummary {
  ref: string;
  kind: EndpointInfo['kind'];
  source: EndpointInfo['source'];
  namespace: string | null;
  name: string;
  node: string | null;
  interfaceName: string | null;
  ips: string[];
  labels: Record<string, string>;
  namedPorts: NamedPort[];
}

export interface PoliciesForReport {
  endpoint: EndpointSummary;
  /** `normal` first; host endpoints have all four stages. */
  stages: StageEntry[];
  /** Evaluated after the normal stage's tiers, in this order; `defined: false` denies everything (§3.3). */
  profiles: Array<{ name: string; defined: boolean }>;
}

export function endpointSummary(e: EndpointInfo): EndpointSummary {
  return {
    ref: e.ref, kind: e.kind, source: e.source, namespace: e.namespace ?? null, name: e.name, node: e.node ?? null,
    interfaceName: e.interfaceName ?? null, ips: e.ips, labels: sortedLabels(e.labels), namedPorts: e.namedPorts,
  };
}

export function sortedLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function policiesFor(engine: PolicyEngine, endpoint: string): Result<PoliciesForReport> {
  const resolved = resolveEndpoint(engine, endpoint);
  if (!resolved.ok) return resolved;
  const info = resolved.value;
  const all = engine.stagesFor(info.ref) ?? {};
  const tiers = (list: readonly AppliedTier[]): TierEntry[] => list.map((t) => ({
    tier: t.tier,
    defaultAction: t.defaultAction,
    policies: t.policies.map((p) => ({
      kind: p.id.kind, policy: p.id.ref, order: engine.policy(p.id)?.order ?? null, staged: p.staged,
    })),
  }));
  const stages: StageEntry[] = [];
  for (const stage of STAGES) {
    const s = all[stage];
    if (!s && !(stage === 'normal')) continue;
    stages.push({ stage, ingress: tiers(s?.ingress ?? []), egress: tiers(s?.egress ?? []) });
  }
  return {
    ok: true,
    value: {
      endpoint: endpointSummary(info),
      stages,
      profiles: info.profiles.map((name) => ({ name, defined: engine.profile(name).defined })),
    },
  };
}
