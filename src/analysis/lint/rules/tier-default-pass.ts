// A Tier whose defaultAction is Pass, where nothing follows: for every endpoint its policies apply to, no later
// tier holds an enforced policy, so what the tier leaves undecided goes to the profiles (usually: allowed).

import type { AppliedTier, EndpointInfo } from '../../../engine/index.js';
import { DIRECTIONS, someEndpoints } from '../facts.js';
import { nextTierAfter, profilesText } from '../pass-target.js';
import type { FindingDraft, LintRule } from '../types.js';

export const rule: LintRule = {
  id: 'tier-default-pass',
  severity: 'warning',
  title: "A tier's defaultAction Pass leads into nothing",
  explanation:
    'A tier with defaultAction: Pass hands the traffic its policies do not decide to the next tier instead of ' +
    'dropping it at the end of the tier (§3.3). When no later tier has a policy for the endpoint, that traffic is ' +
    'decided by the endpoint\'s profiles — for Kubernetes pods kns.<namespace>, which allows everything — so the ' +
    'tier denies nothing it does not name explicitly. Tabby reports the tier when this holds for every endpoint ' +
    'its policies apply to, in a direction.',
  bad: `apiVersion: projectcalico.org/v3
kind: Tier
metadata:
  name: platform
spec:
  order: 100
  defaultAction: Pass
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: platform.deny-metadata
spec:
  tier: platform
  selector: all()
  types: [Egress]
  egress:
    - action: Deny
      destination:
        nets: [169.254.169.254/32]`,
  good: `apiVersion: projectcalico.org/v3
kind: Tier
metadata:
  name: platform
spec:
  order: 100
  defaultAction: Deny`,
  fix: 'Give the tier defaultAction: Deny, or add the later-tier policies that should decide what it passes.',
  check(ctx) {
    const out: FindingDraft[] = [];
    for (const at of ctx.resources) {
      if (at.ref.kind !== 'Tier') continue;
      const spec = (at.resource as { spec?: { defaultAction?: string } }).spec;
      if (spec?.defaultAction !== 'Pass') continue;
      for (const direction of DIRECTIONS) {
        const ends = endpointsInTier(ctx.endpoints, (e) => ctx.engine.policiesFor(e.ref)?.[direction] ?? [], at.ref.name);
        if (ends.length === 0 || ends.some((x) => x.next)) continue;
        out.push({
          at,
          path: ['spec', 'defaultAction'],
          message: `defaultAction Pass in ${direction}: no later tier has a policy for any of the ` +
            `${someEndpoints(ends.map((x) => x.endpoint))} its policies apply to, so what it leaves undecided is ` +
            `decided by their profiles (${ends[0]!.endpoint.ref}: ${profilesText(ends[0]!.endpoint)})`,
        });
      }
    }
    return out;
  },
};

function endpointsInTier(
  endpoints: readonly EndpointInfo[],
  tiersOf: (e: EndpointInfo) => AppliedTier[],
  tier: string,
): Array<{ endpoint: EndpointInfo; next: boolean }> {
  const out: Array<{ endpoint: EndpointInfo; next: boolean }> = [];
  for (const endpoint of endpoints) {
    const tiers = tiersOf(endpoint);
    const own = tiers.find((t) => t.tier === tier && t.policies.some((p) => !p.staged));
    if (own) out.push({ endpoint, next: nextTierAfter(tiers, tier) !== undefined });
  }
  return out;
}
