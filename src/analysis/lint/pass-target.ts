// Where a Pass leads for one endpoint: the next tier of its list (in that direction) that holds an enforced
// policy, or — when there is none — the endpoint's profiles (§3.3, §3.5: kns.<ns> allows everything).

import type { AppliedTier, EndpointInfo } from '../../engine/index.js';

/** The next tier after `tier` with an enforced policy, or undefined when a Pass from it reaches the profiles. */
export function nextTierAfter(tiers: readonly AppliedTier[], tier: string): AppliedTier | undefined {
  const i = tiers.findIndex((t) => t.tier === tier);
  return tiers.slice(i + 1).find((t) => t.policies.some((p) => !p.staged));
}

export function profilesText(endpoint: EndpointInfo): string {
  return endpoint.profiles.length === 0 ? 'no profile (so the traffic is denied)' : `the profile${endpoint.profiles.length === 1 ? '' : 's'} ${endpoint.profiles.join(', ')}`;
}
