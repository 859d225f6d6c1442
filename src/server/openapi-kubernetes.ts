// OpenAPI schemas of the Kubernetes kinds Tabby stores, for `kubectl explain` (openapi.ts). Their validation is the
// api part's own code (src/api/kubernetes/), not a schema table, so their shape is written out here from the
// Kubernetes API reference (networking.k8s.io/v1, rbac.authorization.k8s.io/v1); Pods, Namespaces and
// ServiceAccounts keep any field (Tabby reads only labels, a Pod's IPs, node and ports).

import type { KindKey } from '../api/index.js';

type Json = Record<string, unknown>;

const s = (description: string, extra: Json = {}): Json => ({ type: 'string', description, ...extra });
const list = (items: Json, description: string): Json => ({ type: 'array', items, description });
const object = (description: string, properties: Json, required?: string[]): Json =>
  ({ type: 'object', description, properties, ...(required && { required }) });
const stringMap = (description: string): Json => ({ type: 'object', additionalProperties: { type: 'string' }, description });
const open = (description: string): Json => ({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true, description });

const LABEL_SELECTOR = object('A label query over a set of resources; an empty selector matches every object.', {
  matchLabels: stringMap('{key,value} pairs, each equivalent to a matchExpressions element with operator In and that one value.'),
  matchExpressions: list(object('A selector requirement: a key, an operator and values.', {
    key: s('The label key the selector applies to.'),
    operator: s("The key's relationship to the values.", { enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] }),
    values: list({ type: 'string' }, 'Non-empty for In and NotIn, empty for Exists and DoesNotExist.'),
  }, ['key', 'operator']), 'A list of label selector requirements, ANDed.'),
});

const PEER = object('A peer: pods (in this or the selected namespaces), or an IP block.', {
  podSelector: { ...LABEL_SELECTOR, description: 'Pods selected by labels (in the policy\'s namespace, or in the namespaces namespaceSelector selects).' },
  namespaceSelector: { ...LABEL_SELECTOR, description: 'Namespaces selected by labels; {} selects every namespace.' },
  ipBlock: object('A CIDR, optionally with exceptions (which must lie inside it).', {
    cidr: s('The block, e.g. "192.168.1.0/24" or "2001:db8::/64".'),
    except: list({ type: 'string' }, 'CIDRs inside cidr that are not part of the block.'),
  }, ['cidr']),
});

const PORT = object('A port, a port range or a named port, and a protocol.', {
  protocol: s('TCP (default), UDP or SCTP.', { enum: ['TCP', 'UDP', 'SCTP'] }),
  port: { 'x-kubernetes-int-or-string': true, description: 'A port number or a named port on the pods; all ports when absent.' },
  endPort: { type: 'integer', format: 'int32', description: 'With a numeric port: the last port of a range.' },
});

const NETWORK_POLICY_SPEC = object('The desired behaviour of a NetworkPolicy.', {
  podSelector: { ...LABEL_SELECTOR, description: 'The pods the policy applies to, in its namespace; {} selects all of them.' },
  policyTypes: list({ type: 'string', enum: ['Ingress', 'Egress'] }, 'Which directions the policy isolates; defaulted from the rules present.'),
  ingress: list(object('Traffic allowed to the selected pods: from every peer listed, on every port listed.', {
    from: list(PEER, 'Sources; empty or absent means every source.'),
    ports: list(PORT, 'Destination ports; empty or absent means every port.'),
  }), 'Ingress rules; none means the selected pods take no traffic (once isolated for ingress).'),
  egress: list(object('Traffic allowed from the selected pods: to every peer listed, on every port listed.', {
    to: list(PEER, 'Destinations; empty or absent means every destination.'),
    ports: list(PORT, 'Destination ports; empty or absent means every port.'),
  }), 'Egress rules; none means the selected pods send no traffic (once isolated for egress).'),
}, ['podSelector']);

const POLICY_RULE = object('What a role allows: verbs on resources (or non-resource URLs).', {
  apiGroups: list({ type: 'string' }, 'API groups of the resources ("" is the core group, "*" every group).'),
  resources: list({ type: 'string' }, 'Resources ("*" all; Calico\'s tier.networkpolicies etc. for tiered policies).'),
  resourceNames: list({ type: 'string' }, 'Names the rule is limited to (for tiered policies: TIER.* or a policy name).'),
  verbs: list({ type: 'string' }, 'get, list, watch, create, update, patch, delete, or "*".'),
  nonResourceURLs: list({ type: 'string' }, 'Non-resource paths (ClusterRoles only).'),
}, ['verbs']);

const ROLE_REF = object('The role a binding grants (it cannot change once stored).', {
  apiGroup: s('rbac.authorization.k8s.io'),
  kind: s('Role or ClusterRole.', { enum: ['Role', 'ClusterRole'] }),
  name: s('The role\'s name.'),
}, ['kind', 'name']);

const SUBJECT = object('Who is bound: a user, a group or a service account.', {
  kind: s('User, Group or ServiceAccount.', { enum: ['User', 'Group', 'ServiceAccount'] }),
  apiGroup: s('rbac.authorization.k8s.io for User and Group, "" for ServiceAccount.'),
  name: s('The user, group or service account name.'),
  namespace: s('The service account\'s namespace.'),
}, ['kind', 'name']);

/** The top-level properties besides apiVersion, kind and metadata. */
export const KUBERNETES_PROPERTIES: Partial<Record<KindKey, Json>> = {
  KubernetesNetworkPolicy: { spec: NETWORK_POLICY_SPEC },
  Role: { rules: list(POLICY_RULE, 'What the role allows.') },
  ClusterRole: {
    rules: list(POLICY_RULE, 'What the role allows.'),
    aggregationRule: open('Stored, not aggregated by Tabby: the role grants its own rules only.'),
  },
  RoleBinding: { roleRef: ROLE_REF, subjects: list(SUBJECT, 'Who the role is granted to.') },
  ClusterRoleBinding: { roleRef: ROLE_REF, subjects: list(SUBJECT, 'Who the role is granted to.') },
  Namespace: { spec: open('The namespace\'s spec (finalizers).'), status: open('The namespace\'s phase.') },
  Pod: { spec: open('The pod\'s spec (Tabby reads nodeName, serviceAccountName and containers\' ports).'), status: open('Observed status (Tabby reads podIP and podIPs).') },
  ServiceAccount: {},
};
