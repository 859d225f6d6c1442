// Validation of rbac.authorization.k8s.io/v1 Role, ClusterRole, RoleBinding and ClusterRoleBinding as the
// Kubernetes API server does it (pkg/apis/rbac/validation/validation.go, after pkg/apis/rbac/v1/defaults.go):
//
//   * names are path segments (ValidateRBACName = IsValidPathSegmentName): not `.` or `..`, no `/` or `%` —
//     `system:controller:x` is a valid role name, unlike a DNS-subdomain kind;
//   * a rule needs verbs; a resource rule needs apiGroups and resources; a rule with nonResourceURLs may carry
//     nothing else and is refused in a (namespaced) Role. Verb, group and resource strings are not checked
//     against any list, as in Kubernetes (a rule may name a resource that does not exist yet);
//   * roleRef.apiGroup must be rbac.authorization.k8s.io (defaulted when empty), roleRef.kind Role or ClusterRole
//     (ClusterRole only in a ClusterRoleBinding), roleRef.name a valid role name;
//   * subjects are User or Group (apiGroup rbac.authorization.k8s.io, defaulted in ./defaults.ts) or ServiceAccount (apiGroup "",
//     a DNS-subdomain name, a namespace required in a ClusterRoleBinding).
//
// roleRef cannot change once a binding exists: that needs the stored object, so it is checked at write time
// (rbacUpdateIssues, which the datastore's admission calls), worded as ValidateRoleBindingUpdate words it.

import type { Issue, PathSegment } from '../issues.js';
import {
  K8S_RBAC_API_VERSION, RBAC_GROUP, type ClusterRoleBinding, type Resource, type RoleBinding, type RoleRef,
} from '../types.js';
import {
  checkKnownFields, invalid, notSupported, readArray, readObject, readString, required,
  validateLabelSelector, validateObjectMeta, type JsonObject,
} from './fields.js';
import { isDns1123Subdomain } from './names.js';

const RULE_FIELDS = ['verbs', 'apiGroups', 'resources', 'resourceNames', 'nonResourceURLs'] as const;
const SUBJECT_FIELDS = ['kind', 'apiGroup', 'name', 'namespace'] as const;
const ROLE_REF_FIELDS = ['apiGroup', 'kind', 'name'] as const;

/** apimachinery's path.IsValidPathSegmentName: what every RBAC object and roleRef name must be. */
export function rbacNameProblems(name: string): string[] {
  if (name === '.' || name === '..') return [`may not be '${name}'`];
  const problems: string[] = [];
  for (const bad of ['/', '%']) if (name.includes(bad)) problems.push(`may not contain '${bad}'`);
  return problems;
}

/** Go's %#v of a []string, which the API server prints as the value of a list field it refuses. */
function goStrings(values: readonly string[]): string {
  return `[]string{${values.map((v) => JSON.stringify(v)).join(', ')}}`;
}

function stringList(value: unknown, path: PathSegment[], issues: Issue[]): string[] {
  const list = readArray(value, path, issues) ?? [];
  const out: string[] = [];
  list.forEach((v, i) => {
    const s = readString(v, [...path, i], issues);
    if (s !== undefined) out.push(s);
  });
  return out;
}

function validatePolicyRule(value: unknown, path: PathSegment[], namespaced: boolean, issues: Issue[]): void {
  const rule = readObject(value, path, issues);
  if (!rule) return;
  checkKnownFields(rule, RULE_FIELDS, path, issues);
  const verbs = stringList(rule.verbs, [...path, 'verbs'], issues);
  const apiGroups = stringList(rule.apiGroups, [...path, 'apiGroups'], issues);
  const resources = stringList(rule.resources, [...path, 'resources'], issues);
  const resourceNames = stringList(rule.resourceNames, [...path, 'resourceNames'], issues);
  const urls = stringList(rule.nonResourceURLs, [...path, 'nonResourceURLs'], issues);
  if (verbs.length === 0) issues.push(required('rbac.verbs', [...path, 'verbs'], 'verbs must contain at least one value'));
  if (urls.length > 0) {
    const urlPath = [...path, 'nonResourceURLs'];
    if (namespaced) {
      issues.push({ ...invalid('rbac.nonResourceURLs', urlPath, urls, 'namespaced rules cannot apply to non-resource URLs'),
        message: `Invalid value: ${goStrings(urls)}: namespaced rules cannot apply to non-resource URLs` });
    }
    if (apiGroups.length > 0 || resources.length > 0 || resourceNames.length > 0) {
      issues.push({ ...invalid('rbac.nonResourceURLs', urlPath, urls, ''),
        message: `Invalid value: ${goStrings(urls)}: rules cannot apply to both regular resources and non-resource URLs` });
    }
    return;
  }
  if (apiGroups.length === 0) {
    issues.push(required('rbac.apiGroups', [...path, 'apiGroups'], 'resource rules must supply at least one api group'));
  }
  if (resources.length === 0) {
    issues.push(required('rbac.resources', [...path, 'resources'], 'resource rules must supply at least one resource'));
  }
}

function validateRules(value: unknown, namespaced: boolean, issues: Issue[]): void {
  const rules = readArray(value, ['rules'], issues) ?? [];
  rules.forEach((r, i) => validatePolicyRule(r, ['rules', i], namespaced, issues));
}

function validateRole(obj: JsonObject, issues: Issue[]): void {
  checkKnownFields(obj, ['apiVersion', 'kind', 'metadata', 'rules'], [], issues);
  validateObjectMeta(obj.metadata, ['metadata'], { namespaced: true, nameCheck: rbacNameProblems }, issues);
  validateRules(obj.rules, true, issues);
}

function validateClusterRole(obj: JsonObject, issues: Issue[]): void {
  checkKnownFields(obj, ['apiVersion', 'kind', 'metadata', 'rules', 'aggregationRule'], [], issues);
  validateObjectMeta(obj.metadata, ['metadata'], { namespaced: false, nameCheck: rbacNameProblems }, issues);
  validateRules(obj.rules, false, issues);
  const aggregation = readObject(obj.aggregationRule, ['aggregationRule'], issues);
  if (!aggregation) return;
  const path: PathSegment[] = ['aggregationRule', 'clusterRoleSelectors'];
  checkKnownFields(aggregation, ['clusterRoleSelectors'], ['aggregationRule'], issues);
  const selectors = readArray(aggregation.clusterRoleSelectors, path, issues) ?? [];
  if (selectors.length === 0) {
    issues.push(required('rbac.aggregationRule', path, 'at least one clusterRoleSelector required if aggregationRule is non-nil'));
  }
  selectors.forEach((s, i) => issues.push(...validateLabelSelector(s, [...path, i])));
}

function validateRoleRef(value: unknown, clusterBinding: boolean, issues: Issue[]): void {
  const ref = readObject(value, ['roleRef'], issues) ?? {};
  checkKnownFields(ref, ROLE_REF_FIELDS, ['roleRef'], issues);
  const apiGroup = readString(ref.apiGroup, ['roleRef', 'apiGroup'], issues) ?? '';
  if (apiGroup !== RBAC_GROUP) issues.push(notSupported('rbac.roleRef.apiGroup', ['roleRef', 'apiGroup'], apiGroup, [RBAC_GROUP]));
  const kind = readString(ref.kind, ['roleRef', 'kind'], issues) ?? '';
  const kinds = clusterBinding ? ['ClusterRole'] : ['Role', 'ClusterRole'];
  if (!kinds.includes(kind)) issues.push(notSupported('rbac.roleRef.kind', ['roleRef', 'kind'], kind, kinds));
  const name = readString(ref.name, ['roleRef', 'name'], issues) ?? '';
  if (name === '') issues.push(required('rbac.roleRef.name', ['roleRef', 'name']));
  else for (const m of rbacNameProblems(name)) issues.push(invalid('name.invalid', ['roleRef', 'name'], name, m));
}

function validateSubject(value: unknown, path: PathSegment[], namespacedBinding: boolean, issues: Issue[]): void {
  const subject = readObject(value, path, issues);
  if (!subject) return;
  checkKnownFields(subject, SUBJECT_FIELDS, path, issues);
  const name = readString(subject.name, [...path, 'name'], issues) ?? '';
  const kind = readString(subject.kind, [...path, 'kind'], issues) ?? '';
  const apiGroup = readString(subject.apiGroup, [...path, 'apiGroup'], issues) ?? '';
  const namespace = readString(subject.namespace, [...path, 'namespace'], issues) ?? '';
  if (name === '') issues.push(required('rbac.subject.name', [...path, 'name']));
  switch (kind) {
    case 'ServiceAccount':
      if (name !== '') for (const m of isDns1123Subdomain(name)) issues.push(invalid('name.invalid', [...path, 'name'], name, m));
      if (apiGroup !== '') issues.push(notSupported('rbac.subject.apiGroup', [...path, 'apiGroup'], apiGroup, ['']));
      if (!namespacedBinding && namespace === '') issues.push(required('rbac.subject.namespace', [...path, 'namespace']));
      break;
    case 'User':
    case 'Group':
      if (apiGroup !== RBAC_GROUP) issues.push(notSupported('rbac.subject.apiGroup', [...path, 'apiGroup'], apiGroup, [RBAC_GROUP]));
      break;
    default:
      issues.push(notSupported('rbac.subject.kind', [...path, 'kind'], kind, ['ServiceAccount', 'User', 'Group']));
  }
}

function validateBinding(obj: JsonObject, clusterBinding: boolean, issues: Issue[]): void {
  checkKnownFields(obj, ['apiVersion', 'kind', 'metadata', 'subjects', 'roleRef'], [], issues);
  validateObjectMeta(obj.metadata, ['metadata'], { namespaced: !clusterBinding, nameCheck: rbacNameProblems }, issues);
  validateRoleRef(obj.roleRef, clusterBinding, issues);
  const subjects = readArray(obj.subjects, ['subjects'], issues) ?? [];
  subjects.forEach((s, i) => validateSubject(s, ['subjects', i], !clusterBinding, issues));
}

/** The RBAC kinds' checks, by kind, for validate.ts's table. */
export const RBAC_VALIDATORS: Record<string, (obj: JsonObject, issues: Issue[]) => void> = {
  Role: validateRole,
  ClusterRole: validateClusterRole,
  RoleBinding: (obj, issues) => validateBinding(obj, false, issues),
  ClusterRoleBinding: (obj, issues) => validateBinding(obj, true, issues),
};

function isBinding(r: Resource): r is RoleBinding | ClusterRoleBinding {
  return r.apiVersion === K8S_RBAC_API_VERSION && (r.kind === 'RoleBinding' || r.kind === 'ClusterRoleBinding');
}

function roleRefText(ref: RoleRef): string {
  return `rbac.RoleRef{APIGroup:${JSON.stringify(ref.apiGroup)}, Kind:${JSON.stringify(ref.kind)}, Name:${JSON.stringify(ref.name)}}`;
}

/**
 * What the API server refuses when a stored binding is replaced: a different roleRef (ValidateRoleBindingUpdate:
 * `roleRef: Invalid value: …: cannot change roleRef`). Empty for every other kind and for an unchanged roleRef.
 */
export function rbacUpdateIssues(stored: Resource, next: Resource): Issue[] {
  if (!isBinding(stored) || !isBinding(next) || stored.kind !== next.kind) return [];
  const a = stored.roleRef;
  const b = next.roleRef;
  if (a.apiGroup === b.apiGroup && a.kind === b.kind && a.name === b.name) return [];
  return [{ code: 'rbac.roleRef.immutable', path: ['roleRef'], value: b, message: `Invalid value: ${roleRefText(b)}: cannot change roleRef` }];
}
