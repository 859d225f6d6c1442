// Authorization for `tabby server`: Kubernetes RBAC over the datastore's Role, ClusterRole, RoleBinding and
// ClusterRoleBinding objects, Calico's tier check for tiered policy, list/watch filtering, and the redaction of
// explain results. Pure; the server part calls it (see ../README.md, "Authorization").

export { ALLOWED, AUTHENTICATED_GROUP, SUPERUSER_GROUP, type Decision, type RequestAttributes } from './attributes.js';
export { isRbacResource, RbacIndex, serviceAccountUser, type GrantedRule, type RuleVisit } from './binding-index.js';
export {
  Authorizer, type ListDecision, type ListRequest, type PolicyRef,
} from './authorizer.js';
export { forbiddenStatusMessage, qualifiedResource } from './messages.js';
export {
  hiddenNote, policyRefOf, redactFlowVerdict, type HiddenDecision, type HiddenStep, type VisibleEndVerdict,
  type VisibleFlowVerdict,
} from './redact.js';
export { ruleAllows } from './rules.js';
export {
  CALICO_GROUP, isTieredRequest, TIERED_PLURALS, tierFromPolicyName, tierOfPolicy, tiersFromSelectors, type TierSelection,
} from './tiered.js';
export { filterWatchEvent, type FilteredEvent, type WatchEventType } from './watch-filter.js';
export { breakdownRule, compactAtoms, compactRuleText, ruleCovers, uncovered, type RbacObject, type RbacWriteDecision } from './escalation.js';
