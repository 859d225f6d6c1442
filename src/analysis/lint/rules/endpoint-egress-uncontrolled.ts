// Endpoints whose egress nothing controls: no enforced egress policy (so also no default deny) applies.

import { coverageCheck } from '../coverage.js';
import type { LintRule } from '../types.js';

export const rule: LintRule = {
  id: 'endpoint-egress-uncontrolled',
  severity: 'info',
  title: 'Nothing controls an endpoint\'s egress',
  explanation:
    'The seed\'s "forgotten egress": an endpoint that no enforced policy selects for egress (no egress policy and ' +
    'no default deny with Egress in its types) may connect anywhere — its outgoing traffic is decided by its ' +
    'profiles alone, and kns.<namespace> allows everything. A compromised workload can then reach the internet ' +
    'and every other service. Reported per endpoint, as info; raise it in .tabby-lint.yaml where egress must be ' +
    'controlled.',
  bad: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-all-ingress
  namespace: shop
spec:
  podSelector: {}
  policyTypes: [Ingress]`,
  good: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-all
  namespace: shop
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]`,
  fix: 'Add Egress to the default deny\'s types and allow DNS and the destinations the workload needs.',
  check: coverageCheck('egress'),
};
