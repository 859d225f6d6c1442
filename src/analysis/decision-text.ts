// A decision (engine types.ts) in Calico's words, for people: the rule or end of tier, the profile, or the fixed
// host rule that decided, and where when it was another stage or endpoint than the end's own. The dry-run impact
// and the lockout check print the same words.

import type { Decision } from '../engine/index.js';

function where(d: Decision): string {
  const at = [d.endpoint, d.stage && d.stage !== 'normal' ? `${d.stage} stage` : undefined].filter(Boolean);
  return at.length > 0 ? ` [at ${at.join(', ')}]` : '';
}

/** What decided, in Calico's terms. */
export function decisionText(d: Decision): string {
  if ('hostRule' in d) return `${d.hostRule} (${d.detail})${where(d)}`;
  if ('profile' in d) {
    return (d.profile === '__PROFILE__' ? 'no policy or profile allowing it (end of profiles)' : `profile ${d.profile} rule ${d.rule}`) + where(d);
  }
  // Rule −1 names the tier's first applicable policy; every applicable policy of the tier failed to match.
  if (d.rule === -1) return `the end of tier ${d.tier}: no rule of its policies matched (first: ${d.kind} ${d.policy})${where(d)}`;
  return `${d.kind} ${d.policy} rule ${d.rule} (tier ${d.tier})${where(d)}`;
}
