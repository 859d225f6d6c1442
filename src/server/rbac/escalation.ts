// Kubernetes' privilege-escalation prevention for writes of RBAC objects (pkg/registry/rbac: role/policybased,
// rolebinding/policybased, escalation_check.go; validation/rule.go ConfirmNoEscalation; validation/
// policy_comparator.go Covers). Being allowed to create a Role or a RoleBinding is not enough to grant what one
// does not hold:
//   * a Role or ClusterRole may be created or updated by a caller who holds every permission in it (in the role's
//     namespace; cluster-wide for a ClusterRole), or who may `escalate` roles/clusterroles;
//   * a RoleBinding or ClusterRoleBinding may be written by a caller who may `bind` the role it names (in the
//     binding's namespace; cluster-wide for a ClusterRoleBinding), or who holds every permission of that role —
//     and the role must then exist (404 otherwise, as Kubernetes answers);
//   * `system:masters` is exempt (EscalationAllowed).
// The server calls Authorizer.authorizeRbacWrite after authorize() has allowed the create, update or patch, with the object
// as it would be stored. Kubernetes also lets an update through that changes only garbage-collection fields
// (ownerReferences, finalizers); Tabby stores neither, so that exemption has nothing to apply to.

import { RBAC_GROUP, type ClusterRole, type ClusterRoleBinding, type PolicyRule, type Role, type RoleBinding } from '../../api/index.js';
import { ALLOWED, AUTHENTICATED_GROUP, SUPERUSER_GROUP, type Decision, type RequestAttributes } from './attributes.js';
import type { RbacIndex } from './binding-index.js';
import { qualifiedResource } from './messages.js';
import { resourceNameMatches } from './rules.js';

/** One atomic permission: one group, resource and verb (and at most one name), or one URL and verb. */
type Atom = PolicyRule;

/** BreakdownRule: a rule as the atoms it grants, in Kubernetes' order (group, resource, verb, name; then URLs). */
export function breakdownRule(rule: PolicyRule): Atom[] {
  const out: Atom[] = [];
  for (const g of rule.apiGroups ?? []) {
    for (const r of rule.resources ?? []) {
      for (const v of rule.verbs) {
        const names = rule.resourceNames ?? [];
        if (names.length === 0) out.push({ apiGroups: [g], resources: [r], verbs: [v] });
        else for (const n of names) out.push({ apiGroups: [g], resources: [r], verbs: [v], resourceNames: [n] });
      }
    }
  }
  for (const u of rule.nonResourceURLs ?? []) for (const v of rule.verbs) out.push({ nonResourceURLs: [u], verbs: [v] });
  return out;
}

const hasAll = (set: readonly string[] | undefined, wanted: readonly string[] | undefined): boolean =>
  (wanted ?? []).every((w) => (set ?? []).includes(w));

function resourceCoversAll(owned: readonly string[], wanted: readonly string[]): boolean {
  if (owned.includes('*') || hasAll(owned, wanted)) return true;
  return wanted.every((path) => {
    if (owned.includes(path)) return true;
    const slash = path.indexOf('/');
    return slash >= 0 && owned.includes(`*/${path.slice(slash + 1)}`);
  });
}

function urlCovers(owner: string, path: string): boolean {
  return owner === path || (owner.endsWith('*') && path.startsWith(owner.replace(/\*+$/, '')));
}

/** ruleCovers: whether one owned rule grants one atom. */
export function ruleCovers(owner: PolicyRule, atom: Atom): boolean {
  const verbs = owner.verbs.includes('*') || hasAll(owner.verbs, atom.verbs);
  const groups = (owner.apiGroups ?? []).includes('*') || hasAll(owner.apiGroups, atom.apiGroups);
  const resources = resourceCoversAll(owner.resources ?? [], atom.resources ?? []);
  const urls = (atom.nonResourceURLs ?? []).every((p) => (owner.nonResourceURLs ?? []).some((o) => urlCovers(o, p)));
  const atomNames = atom.resourceNames ?? [];
  const names = atomNames.length === 0 ? (owner.resourceNames ?? []).length === 0 : atomNames.every((n) => resourceNameMatches(owner, n));
  return verbs && groups && resources && names && urls;
}

/** Covers: the atoms of `wanted` that no rule of `owned` grants (empty: every one is held). */
export function uncovered(owned: readonly PolicyRule[], wanted: readonly PolicyRule[]): Atom[] {
  return wanted.flatMap(breakdownRule).filter((atom) => !owned.some((o) => ruleCovers(o, atom)));
}

/** Go's %q of a []string: `["a" "b"]`. */
function goQuoted(values: readonly string[]): string {
  return `[${values.map((v) => JSON.stringify(v)).join(' ')}]`;
}

/** rbacv1helpers.CompactString: `{APIGroups:[""], Resources:["pods"], Verbs:["get" "list"]}`. */
export function compactRuleText(r: PolicyRule): string {
  const parts: string[] = [];
  if (r.apiGroups?.length) parts.push(`APIGroups:${goQuoted(r.apiGroups)}`);
  if (r.resources?.length) parts.push(`Resources:${goQuoted(r.resources)}`);
  if (r.nonResourceURLs?.length) parts.push(`NonResourceURLs:${goQuoted(r.nonResourceURLs)}`);
  if (r.resourceNames?.length) parts.push(`ResourceNames:${goQuoted(r.resourceNames)}`);
  if (r.verbs.length) parts.push(`Verbs:${goQuoted(r.verbs)}`);
  return `{${parts.join(', ')}}`;
}

/** CompactRules: atoms of one group, resource and (at most one) name merge their verbs. */
export function compactAtoms(atoms: readonly Atom[]): PolicyRule[] {
  const simple = new Map<string, PolicyRule>();
  const out: PolicyRule[] = [];
  for (const a of atoms) {
    if (a.nonResourceURLs?.length) {
      out.push(a);
      continue;
    }
    const key = JSON.stringify([a.apiGroups, a.resources, a.resourceNames ?? null]);
    const seen = simple.get(key);
    if (seen) seen.verbs.push(...a.verbs);
    else simple.set(key, { ...a, verbs: [...a.verbs] });
  }
  return [...out, ...simple.values()];
}

export type RbacObject = Role | ClusterRole | RoleBinding | ClusterRoleBinding;

/** A refusal, or — for a binding to a role that does not exist, written by a caller who may not `bind` it — a 404. */
export type RbacWriteDecision = Decision | { allowed: false; notFound: true; reason: string; message: string };

function pluralOf(o: RbacObject): string {
  return `${o.kind.toLowerCase()}s`;
}

/**
 * Whether `user` may store `object` without granting more than they hold (Authorizer.authorizeRbacWrite; the
 * write itself must already be allowed). `authorize` answers the `escalate` and `bind` questions.
 */
export function authorizeRbacWrite(
  authorize: (req: RequestAttributes) => Decision, index: RbacIndex, user: string, groups: readonly string[], object: RbacObject,
): RbacWriteDecision {
  if (groups.includes(SUPERUSER_GROUP)) return ALLOWED;
  const namespace = object.kind === 'Role' || object.kind === 'RoleBinding' ? object.metadata.namespace ?? '' : '';
  const name = object.metadata.name;
  const resource = pluralOf(object);
  const may = (verb: string, res: string, objectName: string) => authorize({
    user, groups, verb, apiGroup: RBAC_GROUP, resource: res, name: objectName, ...(namespace ? { namespace } : {}),
  }).allowed;

  let wanted: readonly PolicyRule[];
  if (object.kind === 'Role' || object.kind === 'ClusterRole') {
    // RoleEscalationAuthorized: `escalate` on the kind being written.
    if (may('escalate', resource, name)) return ALLOWED;
    wanted = object.rules ?? [];
  } else {
    const ref = object.roleRef;
    // BindingAuthorized: `bind` on the role named, where the binding is written.
    if (may('bind', ref.kind === 'Role' ? 'roles' : 'clusterroles', ref.name)) return ALLOWED;
    const rules = index.roleRules(ref.kind, namespace, ref.name);
    if (rules === undefined) {
      const missing = `${qualifiedResource(RBAC_GROUP, ref.kind === 'Role' ? 'roles' : 'clusterroles')} ${JSON.stringify(ref.name)} not found`;
      return { allowed: false, notFound: true, reason: missing, message: missing };
    }
    wanted = rules;
  }
  // ConfirmNoEscalation: what the caller holds in this namespace (cluster-wide grants included).
  const allGroups = groups.includes(AUTHENTICATED_GROUP) ? groups : [...groups, AUTHENTICATED_GROUP];
  const owned = [...index.visit(user, allGroups, namespace).rules].map((g) => g.rule);
  const missing = uncovered(owned, wanted);
  if (missing.length === 0) return ALLOWED;
  const lines = [...new Set(compactAtoms(missing).map(compactRuleText))].sort();
  const reason = `user ${JSON.stringify(user)} (groups=${goQuoted(allGroups)}) is attempting to grant RBAC permissions not currently held:\n${lines.join('\n')}`;
  return { allowed: false, reason, message: `${qualifiedResource(RBAC_GROUP, resource)} ${JSON.stringify(name)} is forbidden: ${reason}` };
}
