// The Kubernetes-order trap (calico #9292, #7896): Calico gives every Kubernetes NetworkPolicy order 1000 in the
// default tier, so a GlobalNetworkPolicy (or Calico NetworkPolicy) block list ordered after 1000 — or with no
// order, which sorts last — comes after the Kubernetes allows: the flows they allow are never denied. Built on the
// exact shadow analysis (../../shadow.ts): a Deny rule whose flows a Kubernetes NetworkPolicy Allow takes first at
// some endpoint.

import type { FindingDraft, LintRule } from '../types.js';
import { listText, policyText, relatedOf, ruleName, rulePath, shadowReportOf } from './shadowed-rule.js';

const K8S_ORDER = 1000;
const POD = `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default, labels: {app: web}}
spec: {nodeName: node-1, containers: [{name: web}]}
status: {podIP: 10.0.0.1}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-web, namespace: default}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - ports: [{port: 80}]
---
`;

export const rule: LintRule = {
  id: 'kubernetes-order',
  severity: 'warning',
  title: 'A Calico deny is ordered after Kubernetes NetworkPolicies (order 1000) that already allow its flows',
  explanation:
    'Calico puts every Kubernetes NetworkPolicy in the default tier at order 1000. A GlobalNetworkPolicy or Calico ' +
    'NetworkPolicy in the same tier with a higher order — or no order at all, which sorts after every ordered ' +
    'policy — is evaluated after them, so a flow a Kubernetes policy allows is decided before the Calico deny ' +
    'is reached: the block list blocks nothing the application policies allow (calico #9292, #7896).',
  bad: `${POD}apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: block-feed
spec:
  selector: all()
  ingress:
  - action: Deny
    source: {nets: [203.0.113.0/24]}`,
  good: `${POD}apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: block-feed
spec:
  order: 100
  selector: all()
  ingress:
  - action: Deny
    source: {nets: [203.0.113.0/24]}`,
  fix: `Give the deny policy an order below ${K8S_ORDER} (or put it in a tier before default).`,
  check(context) {
    const out: FindingDraft[] = [];
    for (const o of shadowReportOf(context).overridden) {
      if (o.policy.kind !== 'GlobalNetworkPolicy' && o.policy.kind !== 'NetworkPolicy') continue;
      const order = context.engine.policy(o.policy)?.order;
      if (order !== undefined && order <= K8S_ORDER) continue;
      const k8s = o.allowedBy.filter((d) => d.policy.kind === 'KubernetesNetworkPolicy');
      if (k8s.length === 0) continue;
      const at = context.policyResource(o.policy)?.at;
      if (!at) continue;
      out.push({
        at,
        path: order === undefined ? ['spec'] : ['spec', 'order'],
        message: `${ruleName(o.direction, o.rule)} (Deny) has ${order === undefined ? 'no order (sorts last)' : `order ${order}`}, after the Kubernetes ` +
          `NetworkPolicies at order ${K8S_ORDER}: at ${o.endpoints} endpoint${o.endpoints === 1 ? '' : 's'} ${listText(k8s.map((d) => `${d.policy.ref} ${ruleName(d.direction, d.rule)}`))} ` +
          `allow${k8s.length === 1 ? 's' : ''} flows it would deny`,
        fix: `Set spec.order below ${K8S_ORDER} on ${policyText(o.policy)} so that it is evaluated before the Kubernetes policies.`,
        related: [{ at, path: rulePath(o.policy, o.direction, o.rule), rule: ruleName(o.direction, o.rule), message: 'the Deny' },
          ...k8s.flatMap((d) => relatedOf(context, d) ?? [])],
      });
    }
    return out;
  },
};
