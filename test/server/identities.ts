// The three identities of issue 16 §3, as RBAC objects and tokens any server test can load: a cluster admin, a
// security engineer who owns the `security` tier, and a developer who may manage Kubernetes NetworkPolicies in
// namespace `shop` only. `IDENTITY_RBAC_YAML` is what `kubectl apply -f` (or `tabby apply -f`) stores,
// `TOKEN_AUTH_FILE` is kube-apiserver's --token-auth-file format (`token,user,uid,"group1,group2"`), and
// `IDENTITY_CASES` is the table of what each may and may not do, with the message the API server gives (so an
// end-to-end test through kubectl and the pure authorizer test read one table).
import { parseAllDocuments } from 'yaml';

import { validateResource, type Resource } from '../../src/api/index.js';
import type { RequestAttributes } from '../../src/server/rbac/index.js';

export type IdentityName = 'admin' | 'security' | 'developer';

export interface Identity {
  token: string;
  user: string;
  uid: string;
  groups: string[];
}

export const IDENTITIES: Record<IdentityName, Identity> = {
  admin: { token: 'tabby-admin-token-3f1c9a', user: 'admin', uid: 'uid-admin', groups: ['system:masters'] },
  security: { token: 'tabby-security-token-8b2d4e', user: 'sec-engineer', uid: 'uid-sec', groups: ['security-team'] },
  developer: { token: 'tabby-developer-token-5e7a1f', user: 'shop-dev', uid: 'uid-dev', groups: ['shop-devs'] },
};

export const TOKEN_AUTH_FILE = Object.values(IDENTITIES)
  .map((i) => `${i.token},${i.user},${i.uid},"${i.groups.join(',')}"`).join('\n') + '\n';

/** The tier the security engineer owns; the server tests create it (`kubectl apply -f` of a Tier). */
export const SECURITY_TIER_YAML = `apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 100}
`;

export const IDENTITY_RBAC_YAML = `# Security team: the security tier and every Calico policy in it (Calico's tiered RBAC: get on the tier, and
# the verbs on tier.<kind> with resourceName security.*), cluster-wide.
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: tier-security-owner}
rules:
- apiGroups: [projectcalico.org]
  resources: [tiers]
  resourceNames: [security]
  verbs: [get, update, patch]
- apiGroups: [projectcalico.org]
  resources: [tiers]
  verbs: [list, watch]
- apiGroups: [projectcalico.org]
  resources: [tier.networkpolicies, tier.globalnetworkpolicies, tier.stagednetworkpolicies, tier.stagedglobalnetworkpolicies]
  resourceNames: [security.*]
  verbs: ["*"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: security-team-owns-security-tier}
subjects:
- {kind: Group, name: security-team, apiGroup: rbac.authorization.k8s.io}
roleRef: {kind: ClusterRole, name: tier-security-owner, apiGroup: rbac.authorization.k8s.io}
---
# Developers: Kubernetes NetworkPolicies in namespace shop, nothing else.
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: netpol-editor, namespace: shop}
rules:
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [get, list, watch, create, update, patch, delete]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: shop-devs-edit-netpol, namespace: shop}
subjects:
- {kind: User, name: shop-dev, apiGroup: rbac.authorization.k8s.io}
roleRef: {kind: Role, name: netpol-editor, apiGroup: rbac.authorization.k8s.io}
`;

/** Manifests as validated resources (what the datastore stores); a fixture that does not validate is a bug. */
export function parseResources(yaml: string): Resource[] {
  return parseAllDocuments(yaml).map((doc) => {
    const r = validateResource(doc.toJS());
    if (!r.ok) throw new Error(`fixture is invalid: ${JSON.stringify(r.issues)}`);
    return r.value;
  });
}

/** IDENTITY_RBAC_YAML as validated resources. */
export function identityResources(): Resource[] {
  return parseResources(IDENTITY_RBAC_YAML);
}

/** Attributes of a request by one identity. */
export function requestBy(who: IdentityName, req: Omit<RequestAttributes, 'user' | 'groups'>): RequestAttributes {
  return { user: IDENTITIES[who].user, groups: IDENTITIES[who].groups, ...req };
}

export interface IdentityCase {
  who: IdentityName;
  /** What kubectl would be asked, for test names and for the end-to-end suite. */
  kubectl: string;
  request: Omit<RequestAttributes, 'user' | 'groups'>;
  allowed: boolean;
  /** The 403 Status message when refused (kubectl prints `Error from server (Forbidden): <message>`). */
  message?: string;
}

const GNP = { apiGroup: 'projectcalico.org', resource: 'globalnetworkpolicies' } as const;
const CNP = { apiGroup: 'projectcalico.org', resource: 'networkpolicies' } as const;
const KNP = { apiGroup: 'networking.k8s.io', resource: 'networkpolicies' } as const;

export const IDENTITY_CASES: IdentityCase[] = [
  // Cluster admin: everything.
  { who: 'admin', kubectl: 'get gnp security.block-bad', request: { ...GNP, verb: 'get', name: 'security.block-bad', tier: 'security' }, allowed: true },
  { who: 'admin', kubectl: 'delete clusterrolebinding x', request: { verb: 'delete', apiGroup: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings', name: 'x' }, allowed: true },
  { who: 'admin', kubectl: 'get --raw /healthz', request: { verb: 'get', apiGroup: '', resource: '', path: '/healthz' }, allowed: true },

  // Security engineer: the security tier and its policies, nothing else.
  { who: 'security', kubectl: 'get tier security', request: { verb: 'get', apiGroup: 'projectcalico.org', resource: 'tiers', name: 'security' }, allowed: true },
  { who: 'security', kubectl: 'create gnp (tier security)', request: { ...GNP, verb: 'create', tier: 'security' }, allowed: true },
  { who: 'security', kubectl: 'delete gnp security.block-bad', request: { ...GNP, verb: 'delete', name: 'security.block-bad', tier: 'security' }, allowed: true },
  { who: 'security', kubectl: 'apply -n shop networkpolicy.p (tier security)', request: { ...CNP, verb: 'create', namespace: 'shop', tier: 'security' }, allowed: true },
  { who: 'security', kubectl: 'get gnp allow-dns (tier default)', request: { ...GNP, verb: 'get', name: 'allow-dns', tier: 'default' }, allowed: false,
    message: 'globalnetworkpolicies.projectcalico.org "allow-dns" is forbidden: User "sec-engineer" cannot get globalnetworkpolicies.projectcalico.org in tier "default" (user cannot get tier)' },
  { who: 'security', kubectl: 'create gnp (tier default)', request: { ...GNP, verb: 'create', tier: 'default' }, allowed: false,
    message: 'globalnetworkpolicies.projectcalico.org is forbidden: User "sec-engineer" cannot create globalnetworkpolicies.projectcalico.org in tier "default" (user cannot get tier)' },
  { who: 'security', kubectl: 'delete tier security', request: { verb: 'delete', apiGroup: 'projectcalico.org', resource: 'tiers', name: 'security' }, allowed: false,
    message: 'tiers.projectcalico.org "security" is forbidden: User "sec-engineer" cannot delete resource "tiers" in API group "projectcalico.org" at the cluster scope' },
  { who: 'security', kubectl: 'get -n shop networkpolicy.networking.k8s.io web', request: { ...KNP, verb: 'get', namespace: 'shop', name: 'web' }, allowed: false,
    message: 'networkpolicies.networking.k8s.io "web" is forbidden: User "sec-engineer" cannot get resource "networkpolicies" in API group "networking.k8s.io" in the namespace "shop"' },

  // Developer: Kubernetes NetworkPolicies in shop only.
  { who: 'developer', kubectl: 'get -n shop netpol', request: { ...KNP, verb: 'list', namespace: 'shop' }, allowed: true },
  { who: 'developer', kubectl: 'apply -n shop netpol web', request: { ...KNP, verb: 'patch', namespace: 'shop', name: 'web' }, allowed: true },
  { who: 'developer', kubectl: 'delete -n shop netpol web', request: { ...KNP, verb: 'delete', namespace: 'shop', name: 'web' }, allowed: true },
  { who: 'developer', kubectl: 'get -n default netpol', request: { ...KNP, verb: 'list', namespace: 'default' }, allowed: false,
    message: 'networkpolicies.networking.k8s.io is forbidden: User "shop-dev" cannot list resource "networkpolicies" in API group "networking.k8s.io" in the namespace "default"' },
  { who: 'developer', kubectl: 'get netpol -A', request: { ...KNP, verb: 'list' }, allowed: false,
    message: 'networkpolicies.networking.k8s.io is forbidden: User "shop-dev" cannot list resource "networkpolicies" in API group "networking.k8s.io" at the cluster scope' },
  { who: 'developer', kubectl: 'get -n shop networkpolicy.p x', request: { ...CNP, verb: 'get', namespace: 'shop', name: 'x', tier: 'default' }, allowed: false,
    message: 'networkpolicies.projectcalico.org "x" is forbidden: User "shop-dev" cannot get networkpolicies.projectcalico.org in tier "default" and namespace "shop" (user cannot get tier)' },
  { who: 'developer', kubectl: 'get -n shop pods', request: { verb: 'list', apiGroup: '', resource: 'pods', namespace: 'shop' }, allowed: false,
    message: 'pods is forbidden: User "shop-dev" cannot list resource "pods" in API group "" in the namespace "shop"' },
  { who: 'developer', kubectl: 'create rolebinding -n shop', request: { verb: 'create', apiGroup: 'rbac.authorization.k8s.io', resource: 'rolebindings', namespace: 'shop' }, allowed: false,
    message: 'rolebindings.rbac.authorization.k8s.io is forbidden: User "shop-dev" cannot create resource "rolebindings" in API group "rbac.authorization.k8s.io" in the namespace "shop"' },
];
