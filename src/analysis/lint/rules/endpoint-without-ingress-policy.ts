// Endpoints that no enforced policy covers for ingress. Info: a report of coverage, often intended for system
// pods; raise it with `severity:` in .tabby-lint.yaml where every workload must be isolated.

import { coverageCheck } from '../coverage.js';
import type { LintRule } from '../types.js';

export const rule: LintRule = {
  id: 'endpoint-without-ingress-policy',
  severity: 'info',
  title: 'An endpoint has no ingress policy',
  explanation:
    'An endpoint that no enforced policy selects for ingress is not isolated: its incoming traffic is decided by ' +
    'its profiles alone, and for a Kubernetes pod the namespace profile kns.<namespace> allows everything. A ' +
    'default deny (a policy selecting the workloads with Ingress in its types) plus explicit allows is the ' +
    'recommended setup. Reported per endpoint, as info.',
  bad: `apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  nodeName: node-1
  containers: [{name: web}]
status:
  podIP: 10.244.1.10`,
  good: `# the same pod, plus a policy that selects it for ingress
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-all-ingress
  namespace: shop
spec:
  podSelector: {}
  policyTypes: [Ingress]`,
  fix: 'Select the endpoint with a default-deny ingress policy and allow what it must accept.',
  check: coverageCheck('ingress'),
};
