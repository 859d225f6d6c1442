// Rules in a direction the policy's types leave out: Calico ignores them (the policy is not even in that
// direction's list, §3.2), so they never apply. Read from the manifest after defaulting: types are filled in
// from the rules present only when absent, so a mismatch here is always an explicit `types` (or policyTypes).

import type { PathSegment } from '../../../api/index.js';
import { DIRECTIONS, isK8sPolicy, typeName } from '../facts.js';
import type { FindingDraft, LintRule } from '../types.js';

export const rule: LintRule = {
  id: 'rule-direction-not-in-types',
  severity: 'warning',
  title: "Ingress or egress rules in a policy whose types leave that direction out",
  explanation:
    'A policy applies only in the directions its types (Kubernetes: policyTypes) list. Rules written for another ' +
    'direction are ignored: they never allow or deny anything, and the policy does not even make the endpoint ' +
    'subject to that direction\'s tier. Usually Egress was forgotten in types when egress rules were added. ' +
    '(Calico\'s domains in non-Allow or ingress rules belong to this rule too, but Tabby\'s API has no domains ' +
    'field yet, so that case is not checked.)',
  bad: `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: backend
  namespace: shop
spec:
  selector: app == 'backend'
  types: [Ingress]
  egress:
    - action: Allow
      protocol: TCP
      destination:
        ports: [5432]`,
  good: `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: backend
  namespace: shop
spec:
  selector: app == 'backend'
  types: [Ingress, Egress]
  egress:
    - action: Allow
      protocol: TCP
      destination:
        ports: [5432]`,
  fix: 'Add the direction to types (policyTypes), or delete the rules that can never apply.',
  check(ctx) {
    const out: FindingDraft[] = [];
    for (const lp of ctx.policies) {
      const spec = (lp.at.resource as { spec?: Record<string, unknown> }).spec ?? {};
      const typesKey = isK8sPolicy(lp) ? 'policyTypes' : 'types';
      const types = Array.isArray(spec[typesKey]) ? (spec[typesKey] as string[]) : undefined;
      if (!types) continue;
      for (const direction of DIRECTIONS) {
        const rules = spec[direction];
        if (!Array.isArray(rules) || rules.length === 0 || types.includes(typeName(direction))) continue;
        const path: PathSegment[] = ['spec', direction];
        out.push({
          at: lp.at,
          path,
          message: `${rules.length} ${direction} rule${rules.length === 1 ? '' : 's'} never apply: ${typesKey} is [${types.join(', ')}], without ${typeName(direction)}`,
          fix: `Add ${typeName(direction)} to ${typesKey}, or delete spec.${direction}.`,
        });
      }
    }
    return out;
  },
};
