// The authorization hook every request passes through once it is authenticated: the pipeline (resource-handlers.ts)
// builds the Kubernetes request attributes and asks `authorize`; nothing else in the server decides access.
// The RBAC authorizer (src/server/rbac/, Role/ClusterRole/RoleBinding/ClusterRoleBinding and Calico's tier
// rules) plugs in here. Until it is wired in, `adminOnly` is used: members of system:masters may do anything, as
// kube-apiserver lets them whatever RBAC says, and everyone else is refused with 403 — never allowed by default.

import type { UserInfo } from './token-file.js';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';

/** kube-apiserver's authorizer.Attributes for a resource request. */
export interface RequestAttributes {
  user: string;
  groups: readonly string[];
  verb: Verb;
  /** '' for the core group. */
  apiGroup: string;
  /** The plural: `globalnetworkpolicies`, `networkpolicies`, `namespaces`. */
  resource: string;
  subresource: string;
  /** '' for cluster-scoped resources and for requests across all namespaces. */
  namespace: string;
  /** '' for collection requests (list, watch, create without a name). */
  name: string;
  /**
   * Calico's tiered-policy model: the tier of the policy the request is about, for the kinds that live in tiers
   * (known from the object for get/create/update/patch/delete; per item for list and watch). Absent otherwise.
   */
  tier?: string;
}

export type Decision = { allowed: true } | { allowed: false; reason: string };

export interface Authorizer {
  authorize(attributes: RequestAttributes): Decision | Promise<Decision>;
}

/** The group whose members may do anything (kube-apiserver's superuser group). The admin token carries it. */
export const ADMIN_GROUP = 'system:masters';

/** Allows system:masters, refuses everyone else: the safe authorizer until RBAC is wired in. */
export const adminOnlyAuthorizer: Authorizer = {
  authorize: (a) => (a.groups.includes(ADMIN_GROUP)
    ? { allowed: true }
    : { allowed: false, reason: 'only members of system:masters are authorized (no RBAC authorizer is configured)' }),
};

export function attributesFor(user: UserInfo, rest: Omit<RequestAttributes, 'user' | 'groups'>): RequestAttributes {
  return { user: user.name, groups: user.groups, ...rest };
}

/** The API server's Forbidden message: `User "dev" cannot list resource "globalnetworkpolicies" in API group ...`. */
export function forbiddenMessage(a: RequestAttributes, reason: string): string {
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const name = a.name ? ` ${JSON.stringify(a.name)}` : '';
  const scope = a.namespace ? ` in the namespace ${JSON.stringify(a.namespace)}` : ' at the cluster scope';
  const tier = a.tier !== undefined ? ` (tier ${JSON.stringify(a.tier)})` : '';
  return `${res}${a.apiGroup ? `.${a.apiGroup}` : ''}${name} is forbidden: User ${JSON.stringify(a.user)} cannot ` +
    `${a.verb} resource ${JSON.stringify(a.resource)} in API group ${JSON.stringify(a.apiGroup)}${scope}${tier}: ${reason}`;
}
