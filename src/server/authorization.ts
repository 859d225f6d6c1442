// The authorization hook every request passes through once it is authenticated: the pipeline (access.ts) builds
// the Kubernetes request attributes and asks `authorize` — or, for a list or watch, `listFilter`, which refuses
// the whole request or gives the predicate each listed object and watch event must pass. Nothing else in the
// server decides access. The implementation is the RBAC authorizer of ./rbac/ (Kubernetes RBAC over the
// datastore's Role/ClusterRole/RoleBinding/ClusterRoleBinding, with Calico's tier check), kept current by
// rbac-live.ts; tests may plug in another.

import type { Decision, ListDecision, ListRequest, PolicyRef, RbacObject, RbacWriteDecision, RequestAttributes } from './rbac/index.js';

export type { Decision, ListDecision, ListRequest, PolicyRef, RequestAttributes } from './rbac/index.js';
export { SUPERUSER_GROUP as ADMIN_GROUP } from './rbac/index.js';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';

export interface Authorizer {
  authorize(attributes: RequestAttributes): Decision | Promise<Decision>;
  /** A list or watch; `existingTiers` are the tiers that exist now (stored and built in). */
  listFilter(request: ListRequest, existingTiers: readonly string[]): ListDecision | Promise<ListDecision>;
  /** Whether the caller may `get` this policy: what decides whether explain may show its name and rules. */
  canReadPolicy(user: string, groups: readonly string[], policy: PolicyRef): boolean;
  /**
   * Kubernetes' escalation check on a write of a Role, ClusterRole or binding that authorize() allowed: the object
   * may grant only what its author holds (or may `escalate` / `bind`).
   */
  authorizeRbacWrite(user: string, groups: readonly string[], object: RbacObject): RbacWriteDecision;
}
