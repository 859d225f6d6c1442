// The words of a 403, as the API servers print them, so that kubectl shows what it shows against a real cluster:
//   Kubernetes  k8s.io/apiserver endpoints/handlers/responsewriters/errors.go forbiddenMessage, then
//               apimachinery errors.NewForbidden (`pods "x" is forbidden: User "u" cannot get resource …`);
//   Calico      apiserver/pkg/registry/projectcalico/authorizer forbiddenMessage (`User "u" cannot get
//               networkpolicies.projectcalico.org in tier "security" and namespace "shop" (user cannot get tier)`).

import type { RequestAttributes } from './attributes.js';

/** apimachinery's GroupResource.String(): `pods`, `networkpolicies.networking.k8s.io`. */
export function qualifiedResource(apiGroup: string, resource: string): string {
  return apiGroup === '' ? resource : `${resource}.${apiGroup}`;
}

/** errors.NewForbidden's message for this request and reason. */
export function forbiddenStatusMessage(req: RequestAttributes, reason: string): string {
  if (req.resource === '') return `forbidden: ${reason}`;
  const what = qualifiedResource(req.apiGroup, req.resource);
  return req.name ? `${what} ${JSON.stringify(req.name)} is forbidden: ${reason}` : `${what} is forbidden: ${reason}`;
}

/** Kubernetes' reason for a request RBAC does not allow, with RBAC's own errors (a binding to a missing role). */
export function kubernetesForbiddenReason(req: RequestAttributes, rbacErrors: readonly string[]): string {
  const user = JSON.stringify(req.user);
  let msg: string;
  if (req.resource === '') msg = `User ${user} cannot ${req.verb} path ${JSON.stringify(req.path ?? '')}`;
  else {
    const resource = req.subresource ? `${req.resource}/${req.subresource}` : req.resource;
    const what = `User ${user} cannot ${req.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(req.apiGroup)}`;
    msg = req.namespace ? `${what} in the namespace ${JSON.stringify(req.namespace)}` : `${what} at the cluster scope`;
  }
  if (rbacErrors.length === 0) return msg;
  // utilerrors.NewAggregate prints one error alone and several as [a, b].
  const errors = rbacErrors.length === 1 ? rbacErrors[0]! : `[${rbacErrors.join(', ')}]`;
  return `${msg}: RBAC: ${errors}`;
}

/** Calico's reason for a tiered-policy request its tier check refuses. */
export function tierForbiddenReason(req: RequestAttributes, tier: string, canGetTier: boolean): string {
  let resource = qualifiedResource(req.apiGroup, req.resource);
  if (req.subresource) resource = `${resource}/${req.subresource}`;
  const where = req.namespace ? `in tier ${JSON.stringify(tier)} and namespace ${JSON.stringify(req.namespace)}` : `in tier ${JSON.stringify(tier)}`;
  return `User ${JSON.stringify(req.user)} cannot ${req.verb} ${resource} ${where}${canGetTier ? '' : ' (user cannot get tier)'}`;
}

/** Calico's refusal of a list or watch with no tier selector when the caller may read no tier at all. */
export const NO_READABLE_TIER_REASON = 'operation on Calico tiered policy is forbidden';
