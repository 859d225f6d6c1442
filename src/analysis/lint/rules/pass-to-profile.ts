// A Pass rule with no later tier to pass to: for every endpoint the policy applies to, no later tier holds an
// enforced policy, so what the rule passes goes straight to the endpoint's profile — for Kubernetes pods the
// namespace profile, which allows everything.

import { appliedTo, DIRECTIONS, enforced, rulePath, someEndpoints } from '../facts.js';
import { nextTierAfter, profilesText } from '../pass-target.js';
import type { FindingDraft, LintRule } from '../types.js';

export const rule: LintRule = {
  id: 'pass-to-profile',
  severity: 'warning',
  title: 'A Pass rule leads to no later policy: the traffic falls to the profile',
  explanation:
    'Pass skips the rest of the tier and continues with the next tier that has a policy for the endpoint (§3.3). ' +
    'When no later tier has one, the passed traffic is decided by the endpoint\'s profiles — for Kubernetes pods ' +
    'the namespace profile kns.<namespace>, which allows everything. A Pass meant as "let the platform tier ' +
    'decide" then allows all of it. Tabby reports a Pass rule when, for every endpoint the policy applies to, no ' +
    'later tier holds an enforced policy.',
  bad: `apiVersion: projectcalico.org/v3
kind: Tier
metadata:
  name: security
spec:
  order: 100
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: security.pass-web
spec:
  tier: security
  selector: app == 'web'
  types: [Ingress]
  ingress:
    - action: Pass`,
  good: `# the same, plus a policy in a later tier that decides what security passes on
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: web-ingress
spec:
  selector: app == 'web'
  types: [Ingress]
  ingress:
    - action: Allow
      protocol: TCP
      destination:
        ports: [80]`,
  fix: 'Add the policy in a later tier that should decide the passed traffic, or replace the Pass with the ' +
    'Allow or Deny that was meant.',
  check(ctx) {
    const out: FindingDraft[] = [];
    for (const lp of ctx.policies) {
      if (!enforced(lp)) continue;
      for (const direction of DIRECTIONS) {
        const passes = lp.compiled.rules[direction].filter((r) => r.action === 'Pass');
        if (passes.length === 0) continue;
        const applied = appliedTo(ctx, lp, direction);
        if (applied.length === 0 || applied.some((a) => nextTierAfter(a.tiers, a.tier.tier) !== undefined)) continue;
        const first = applied[0]!.endpoint;
        for (const r of passes) {
          out.push({
            at: lp.at,
            path: rulePath(lp, direction, r),
            message: `${direction}[${r.index}] Pass leads to no later tier for any of the ${someEndpoints(applied.map((a) => a.endpoint))} ` +
              `it applies to: the traffic it passes is decided by their profiles (${first.ref}: ${profilesText(first)})`,
          });
        }
      }
    }
    return out;
  },
};
