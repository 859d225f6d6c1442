// calico #3801: a policy whose rules (in a direction) are all Log. Log never decides (§3.3: processing continues
// with the next rule), so the policy matches nothing that ends it — yet it makes its endpoints subject to its
// tier, and when no other policy of the tier decides their traffic, all of it reaches the end of the tier and is
// dropped. Proven on the engine's per-endpoint lists: reported for the endpoints whose tier (defaultAction Deny)
// holds no other enforced policy in that direction.

import { appliedTo, DIRECTIONS, enforced, someEndpoints } from '../facts.js';
import type { FindingDraft, LintRule } from '../types.js';

export const rule: LintRule = {
  id: 'log-only-policy',
  severity: 'error',
  title: "A Log-only policy sends its endpoints' traffic to the end-of-tier drop",
  explanation:
    'A Log rule records the packet and processing continues with the next rule; it never allows or denies. A ' +
    'policy whose rules are all Log therefore decides nothing, but selecting an endpoint still puts the endpoint ' +
    'in the policy\'s tier, and traffic that no policy of the tier decides is dropped at the end of the tier ' +
    '(calico #3801: "I added a log policy and all traffic stopped"). Tabby reports it for the endpoints whose ' +
    'tier holds no other enforced policy in that direction, when the tier\'s defaultAction is Deny.',
  bad: `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: log-everything
spec:
  selector: all()
  types: [Ingress]
  ingress:
    - action: Log`,
  good: `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: log-everything
spec:
  selector: all()
  types: [Ingress]
  ingress:
    - action: Log
    - action: Pass`,
  fix: 'End the policy with a rule that decides (Pass to hand the traffic on to the next tier, or Allow), or ' +
    'put it in a tier with defaultAction Pass.',
  check(ctx) {
    const out: FindingDraft[] = [];
    for (const lp of ctx.policies) {
      if (!enforced(lp)) continue;
      for (const direction of DIRECTIONS) {
        const rules = lp.compiled.rules[direction];
        if (rules.length === 0 || rules.some((r) => r.action !== 'Log')) continue;
        const dropped = appliedTo(ctx, lp, direction)
          .filter((a) => a.tier.defaultAction === 'Deny' && a.tier.policies.every((p) => p.staged || (p.id.kind === lp.compiled.id.kind && p.id.ref === lp.compiled.id.ref)))
          .map((a) => a.endpoint);
        if (dropped.length === 0) continue;
        out.push({
          at: lp.at,
          path: ['spec', direction],
          message: `its ${direction} rules are all Log, and it is the only policy of tier '${lp.compiled.tier}' for ` +
            `${someEndpoints(dropped)}: all their ${direction} traffic reaches the end of the tier and is dropped`,
        });
      }
    }
    return out;
  },
};
