// Whether one PolicyRule allows one request: k8s.io/kubernetes pkg/apis/rbac/v1/evaluation_helpers.go
// (VerbMatches, APIGroupMatches, ResourceMatches, ResourceNameMatches, NonResourceURLMatches) and
// plugin/pkg/auth/authorizer/rbac RuleAllows, line for line.

import type { PolicyRule } from '../../api/index.js';
import type { RequestAttributes } from './attributes.js';

const ALL = '*';

export function verbMatches(rule: PolicyRule, verb: string): boolean {
  return rule.verbs.some((v) => v === ALL || v === verb);
}

export function apiGroupMatches(rule: PolicyRule, group: string): boolean {
  return (rule.apiGroups ?? []).some((g) => g === ALL || g === group);
}

/**
 * `*` matches every resource (and subresource), `pods/log` matches exactly, and `*` slash `log` matches the `log`
 * subresource of any resource. A plain `pods` does not match `pods/log`.
 */
export function resourceMatches(rule: PolicyRule, combined: string, subresource: string): boolean {
  for (const r of rule.resources ?? []) {
    if (r === ALL || r === combined) return true;
    if (subresource !== '' && r.length === subresource.length + 2 && r.startsWith('*/') && r.endsWith(subresource)) return true;
  }
  return false;
}

/** No resourceNames: every name (and no name). Otherwise the request's name must be listed — so a list,
 * watch or create (which carry no name) is never allowed by a rule with resourceNames. */
export function resourceNameMatches(rule: PolicyRule, name: string): boolean {
  const names = rule.resourceNames ?? [];
  return names.length === 0 || names.includes(name);
}

/** `*` matches every path, `/apis/*` every path under `/apis/`, anything else exactly. */
export function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === ALL || u === path) return true;
    if (u.endsWith('*') && path.startsWith(u.replace(/\*+$/, ''))) return true;
  }
  return false;
}

export function ruleAllows(rule: PolicyRule, req: RequestAttributes): boolean {
  if (req.resource === '') return verbMatches(rule, req.verb) && nonResourceURLMatches(rule, req.path ?? '');
  const sub = req.subresource ?? '';
  const combined = sub === '' ? req.resource : `${req.resource}/${sub}`;
  return verbMatches(rule, req.verb)
    && apiGroupMatches(rule, req.apiGroup)
    && resourceMatches(rule, combined, sub)
    && resourceNameMatches(rule, req.name ?? '');
}
