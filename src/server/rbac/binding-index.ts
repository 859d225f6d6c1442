// The RBAC objects of the datastore, indexed so that one check costs what the caller's own bindings cost, not
// what the cluster's do: bindings are filed under each subject they name (a User's name, a Group's name, a
// ServiceAccount's `system:serviceaccount:NS:NAME` user name), RoleBindings also under their namespace; roles
// are looked up by name when a binding is used, so editing a role needs no re-indexing.
//
// What applies to a request is what kube-apiserver's DefaultRuleResolver.VisitRulesFor walks
// (plugin/pkg/auth/authorizer/rbac/rule_resolver.go): every ClusterRoleBinding naming the user or one of their
// groups, then — for a namespaced request only — every RoleBinding of that namespace naming them, its roleRef
// read as a Role of the binding's namespace or a ClusterRole. A binding whose role does not exist grants
// nothing and is reported, as Kubernetes reports it (`role.rbac.authorization.k8s.io "x" not found`).

import {
  K8S_RBAC_API_VERSION, type ClusterRole, type ClusterRoleBinding, type PolicyRule, type Resource, type Role,
  type RoleBinding, type Subject,
} from '../../api/index.js';

type Binding = RoleBinding | ClusterRoleBinding;

const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';

/** The user name Kubernetes gives a service account's tokens. */
export function serviceAccountUser(namespace: string, name: string): string {
  return `${SERVICE_ACCOUNT_PREFIX}${namespace}:${name}`;
}

/**
 * The index key a subject matches under, or undefined when it can match nobody. A ServiceAccount without a
 * namespace is the binding's namespace's (appliesToUser's "default the namespace to namespace we're working
 * in"); in a ClusterRoleBinding there is none, so it matches nobody (validation refuses it anyway).
 */
function subjectKey(subject: Subject, bindingNamespace: string): string | undefined {
  switch (subject.kind) {
    case 'User': return `u:${subject.name}`;
    case 'Group': return `g:${subject.name}`;
    case 'ServiceAccount': {
      const ns = subject.namespace || bindingNamespace;
      return ns === '' ? undefined : `u:${serviceAccountUser(ns, subject.name)}`;
    }
    default: return undefined;
  }
}

/** One rule that applies, and the binding and role that grant it (for tests and for `why` messages). */
export interface GrantedRule {
  rule: PolicyRule;
  binding: Binding;
}

export interface RuleVisit {
  /** Rules in binding order; stop iterating once one allows. */
  rules: Iterable<GrantedRule>;
  /** Filled while iterating: bindings whose role is missing, worded as Kubernetes words them. */
  errors: string[];
}

const RBAC_KINDS = new Set(['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']);

/** Whether a resource is one of the four RBAC kinds. */
export function isRbacResource(r: Resource): r is Role | ClusterRole | RoleBinding | ClusterRoleBinding {
  return r.apiVersion === K8S_RBAC_API_VERSION && RBAC_KINDS.has(r.kind);
}

export class RbacIndex {
  private readonly roles = new Map<string, Role>();
  private readonly clusterRoles = new Map<string, ClusterRole>();
  private readonly bindings = new Map<string, Binding>();
  /** subject key → ClusterRoleBinding names. */
  private readonly clusterBySubject = new Map<string, Set<string>>();
  /** namespace → subject key → RoleBinding ids (`ns/name`). */
  private readonly namespacedBySubject = new Map<string, Map<string, Set<string>>>();

  static of(resources: Iterable<Resource>): RbacIndex {
    const index = new RbacIndex();
    for (const r of resources) index.upsert(r);
    return index;
  }

  /** How many bindings are indexed. */
  get size(): number {
    return this.bindings.size;
  }

  /** Adds or replaces one RBAC object; anything else is ignored. */
  upsert(r: Resource): void {
    if (!isRbacResource(r)) return;
    const ns = r.metadata.namespace ?? '';
    switch (r.kind) {
      case 'Role':
        this.roles.set(`${ns}/${r.metadata.name}`, r);
        return;
      case 'ClusterRole':
        this.clusterRoles.set(r.metadata.name, r);
        return;
      case 'RoleBinding':
      case 'ClusterRoleBinding':
        this.remove(r.kind, ns, r.metadata.name);
        this.addBinding(r);
    }
  }

  /** Removes one RBAC object by kind, namespace ('' for cluster kinds) and name. */
  remove(kind: string, namespace: string, name: string): void {
    switch (kind) {
      case 'Role':
        this.roles.delete(`${namespace}/${name}`);
        return;
      case 'ClusterRole':
        this.clusterRoles.delete(name);
        return;
      case 'RoleBinding':
      case 'ClusterRoleBinding': {
        const id = bindingId(kind, namespace, name);
        const b = this.bindings.get(id);
        if (!b) return;
        this.bindings.delete(id);
        const bucket = kind === 'ClusterRoleBinding' ? this.clusterBySubject : this.namespacedBySubject.get(namespace);
        for (const key of subjectKeys(b)) {
          const ids = bucket?.get(key);
          ids?.delete(id);
          if (ids?.size === 0) bucket!.delete(key);
        }
      }
    }
  }

  /**
   * The rules that apply to a user with these groups in `namespace` ('' = cluster scope: ClusterRoleBindings
   * only, as for a cluster-scoped kind or a list across all namespaces).
   */
  visit(user: string, groups: readonly string[], namespace: string): RuleVisit {
    const keys = [`u:${user}`, ...groups.map((g) => `g:${g}`)];
    const errors: string[] = [];
    return { rules: this.rulesFor(keys, namespace, errors), errors };
  }

  /** Lazily, so that a check stops at the first rule that allows. */
  private *rulesFor(keys: readonly string[], namespace: string, errors: string[]): Generator<GrantedRule> {
    yield* this.fromBindings(this.idsUnder(this.clusterBySubject, keys), errors);
    if (namespace === '') return;
    const inNamespace = this.namespacedBySubject.get(namespace);
    if (inNamespace) yield* this.fromBindings(this.idsUnder(inNamespace, keys), errors);
  }

  /** The rules of the role a roleRef names, as a binding in `namespace` reads it; undefined when it does not exist. */
  roleRules(kind: 'Role' | 'ClusterRole', namespace: string, name: string): readonly PolicyRule[] | undefined {
    const role = kind === 'ClusterRole' ? this.clusterRoles.get(name) : this.roles.get(`${namespace}/${name}`);
    return role ? role.rules ?? [] : undefined;
  }

  private idsUnder(bucket: Map<string, Set<string>>, keys: readonly string[]): Set<string> {
    // A binding that names the user twice (as a User and through a Group) is visited once.
    const ids = new Set<string>();
    for (const k of keys) for (const id of bucket.get(k) ?? []) ids.add(id);
    return ids;
  }

  private *fromBindings(ids: Iterable<string>, errors: string[]): Generator<GrantedRule> {
    for (const id of ids) {
      const binding = this.bindings.get(id)!;
      const role = this.roleOf(binding);
      if (!role) {
        const what = binding.roleRef.kind === 'Role' ? 'role' : 'clusterrole';
        errors.push(`${what}.rbac.authorization.k8s.io ${JSON.stringify(binding.roleRef.name)} not found`);
        continue;
      }
      for (const rule of role.rules ?? []) yield { rule, binding };
    }
  }

  private roleOf(b: Binding): Role | ClusterRole | undefined {
    if (b.roleRef.kind === 'ClusterRole') return this.clusterRoles.get(b.roleRef.name);
    // A ClusterRoleBinding may only name a ClusterRole (validation); a Role is looked up in the binding's namespace.
    return b.kind === 'RoleBinding' ? this.roles.get(`${b.metadata.namespace ?? ''}/${b.roleRef.name}`) : undefined;
  }

  private addBinding(b: Binding): void {
    const ns = b.metadata.namespace ?? '';
    const id = bindingId(b.kind, ns, b.metadata.name);
    this.bindings.set(id, b);
    let bucket: Map<string, Set<string>>;
    if (b.kind === 'ClusterRoleBinding') bucket = this.clusterBySubject;
    else {
      bucket = this.namespacedBySubject.get(ns) ?? new Map();
      this.namespacedBySubject.set(ns, bucket);
    }
    for (const key of subjectKeys(b)) {
      const ids = bucket.get(key) ?? new Set<string>();
      ids.add(id);
      bucket.set(key, ids);
    }
  }
}

function bindingId(kind: string, namespace: string, name: string): string {
  return kind === 'ClusterRoleBinding' ? `crb/${name}` : `rb/${namespace}/${name}`;
}

function subjectKeys(b: Binding): string[] {
  const ns = b.kind === 'RoleBinding' ? b.metadata.namespace ?? '' : '';
  return (b.subjects ?? []).map((s) => subjectKey(s, ns)).filter((k): k is string => k !== undefined);
}
