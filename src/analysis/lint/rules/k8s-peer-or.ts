// The Kubernetes NetworkPolicy peer trap: `- namespaceSelector: …` and `- podSelector: …` as two list items
// are two peers, OR-ed (any pod of those namespaces, or those pods of the policy's own namespace); one item with
// both keys is one peer, AND-ed (those pods in those namespaces), which is what is almost always meant.

import type { K8sNetworkPolicyPeer } from '../../../api/index.js';
import type { FindingDraft, LintRule } from '../types.js';

export const rule: LintRule = {
  id: 'k8s-peer-or',
  severity: 'warning',
  title: 'namespaceSelector and podSelector as two peers (OR) where one peer (AND) is meant',
  explanation:
    'In a Kubernetes NetworkPolicy, each item of from/to is a peer, and the peers are OR-ed. A namespaceSelector ' +
    'item followed by a separate podSelector item admits every pod of the selected namespaces plus the selected ' +
    'pods of the policy\'s own namespace. Writing both keys in one item admits only the selected pods in the ' +
    'selected namespaces — one dash of difference in YAML, a much wider policy.',
  bad: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-monitoring
  namespace: shop
spec:
  podSelector: {}
  ingress:
    - from:
        - namespaceSelector:
            matchLabels: {team: ops}
        - podSelector:
            matchLabels: {app: prometheus}`,
  good: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-monitoring
  namespace: shop
spec:
  podSelector: {}
  ingress:
    - from:
        - namespaceSelector:
            matchLabels: {team: ops}
          podSelector:
            matchLabels: {app: prometheus}`,
  fix: 'Merge the two items into one peer with both namespaceSelector and podSelector (delete the dash before ' +
    'podSelector); keep them apart only if either set alone is really meant.',
  check(ctx) {
    const out: FindingDraft[] = [];
    for (const at of ctx.resources) {
      if (at.ref.kind !== 'KubernetesNetworkPolicy' && at.ref.kind !== 'StagedKubernetesNetworkPolicy') continue;
      const spec = (at.resource as { spec?: { ingress?: Array<{ from?: K8sNetworkPolicyPeer[] }>; egress?: Array<{ to?: K8sNetworkPolicyPeer[] }> } }).spec;
      const lists: Array<{ dir: 'ingress' | 'egress'; field: 'from' | 'to'; rules: Array<K8sNetworkPolicyPeer[] | undefined> }> = [
        { dir: 'ingress', field: 'from', rules: (spec?.ingress ?? []).map((r) => r.from) },
        { dir: 'egress', field: 'to', rules: (spec?.egress ?? []).map((r) => r.to) },
      ];
      for (const { dir, field, rules } of lists) {
        rules.forEach((peers, i) => {
          if (!peers) return;
          const nsOnly = peers.findIndex((p) => p.namespaceSelector !== undefined && p.podSelector === undefined && p.ipBlock === undefined);
          const podOnly = peers.findIndex((p) => p.podSelector !== undefined && p.namespaceSelector === undefined && p.ipBlock === undefined);
          if (nsOnly < 0 || podOnly < 0) return;
          out.push({
            at,
            path: ['spec', dir, i, field, Math.max(nsOnly, podOnly)],
            message: `${dir}[${i}].${field} has a namespaceSelector peer ([${nsOnly}]) and a separate podSelector peer ` +
              `([${podOnly}]): they are OR-ed, admitting every pod of those namespaces`,
          });
        });
      }
    }
    return out;
  },
};
