// Kubernetes' escalation prevention on RBAC writes: a Role holds only what its author holds (or may `escalate`),
// a binding grants only a role its author holds or may `bind`; the refusal lists the permissions not held, in
// the API server's words; a binding to a missing role written without `bind` is a 404.
import { describe, expect, it } from 'vitest';

import { validateResource, type PolicyRule, type Resource } from '../../src/api/index.js';
import { Authorizer, RbacIndex, ruleCovers, uncovered, type RbacObject } from '../../src/server/rbac/index.js';

const V = 'rbac.authorization.k8s.io/v1';
function valid<T = Resource>(obj: object): T {
  const r = validateResource(obj);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value as T;
}
const clusterRole = (name: string, rules: object[]) => valid({ apiVersion: V, kind: 'ClusterRole', metadata: { name }, rules });
const crb = (name: string, role: string, user: string) =>
  valid({ apiVersion: V, kind: 'ClusterRoleBinding', metadata: { name }, subjects: [{ kind: 'User', name: user }], roleRef: { kind: 'ClusterRole', name: role } });
const rb = (ns: string, name: string, role: string, user: string, kind = 'ClusterRole') =>
  valid({ apiVersion: V, kind: 'RoleBinding', metadata: { name, namespace: ns }, subjects: [{ kind: 'User', name: user }], roleRef: { kind, name: role } });

const index = RbacIndex.of([
  clusterRole('pod-reader', [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }]),
  clusterRole('everything', [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }]),
  clusterRole('netpol-edit', [{ apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['*'] }]),
  clusterRole('rbac-writer', [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings', 'clusterroles'], verbs: ['create', 'update'] }]),
  clusterRole('bind-everything', [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], resourceNames: ['everything'], verbs: ['bind'] }]),
  clusterRole('escalate-roles', [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'], verbs: ['escalate'] }]),
  crb('lead-pods', 'pod-reader', 'lead'),
  rb('team', 'lead-rbac', 'rbac-writer', 'lead'),
  rb('team', 'lead-netpol', 'netpol-edit', 'lead'),
  rb('team', 'binder-bind', 'bind-everything', 'binder'),
  rb('team', 'esc', 'escalate-roles', 'escalator'),
]);
const authz = new Authorizer(index);

const role = (ns: string, rules: object[]) => valid<RbacObject>({ apiVersion: V, kind: 'Role', metadata: { name: 'new', namespace: ns }, rules });
const binding = (ns: string, kind: string, name: string) =>
  valid<RbacObject>({ apiVersion: V, kind: 'RoleBinding', metadata: { name: 'grant', namespace: ns }, subjects: [{ kind: 'User', name: 'x' }], roleRef: { kind, name } });

describe('escalation prevention', () => {
  it('a Role may hold what its author holds in its namespace, cluster-wide grants included', () => {
    expect(authz.authorizeRbacWrite('lead', [], role('team', [{ apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['get', 'delete'] }])).allowed).toBe(true);
    expect(authz.authorizeRbacWrite('lead', [], role('team', [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }])).allowed).toBe(true);
  });

  it('… and no more, listing what is not held as Kubernetes does', () => {
    const d = authz.authorizeRbacWrite('lead', ['leads'], role('team', [
      { apiGroups: [''], resources: ['pods', 'secrets'], verbs: ['get', 'delete', 'watch'] },
    ]));
    expect(d).toEqual({
      allowed: false,
      reason: 'user "lead" (groups=["leads" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n'
        + '{APIGroups:[""], Resources:["pods"], Verbs:["delete" "watch"]}\n{APIGroups:[""], Resources:["secrets"], Verbs:["get" "delete" "watch"]}',
      message: 'roles.rbac.authorization.k8s.io "new" is forbidden: user "lead" (groups=["leads" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n'
        + '{APIGroups:[""], Resources:["pods"], Verbs:["delete" "watch"]}\n{APIGroups:[""], Resources:["secrets"], Verbs:["get" "delete" "watch"]}',
    });
    // A namespace where the author holds only the cluster-wide grants.
    expect(authz.authorizeRbacWrite('lead', [], role('other', [{ apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['get'] }])).allowed).toBe(false);
  });

  it('`escalate` lets a Role hold anything; system:masters is exempt', () => {
    expect(authz.authorizeRbacWrite('escalator', [], role('team', [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }])).allowed).toBe(true);
    expect(authz.authorizeRbacWrite('escalator', [], role('other', [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }])).allowed).toBe(false);
    expect(authz.authorizeRbacWrite('root', ['system:masters'], role('x', [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }])).allowed).toBe(true);
  });

  it('a binding grants a role its author holds, or may `bind`', () => {
    expect(authz.authorizeRbacWrite('lead', [], binding('team', 'ClusterRole', 'pod-reader')).allowed).toBe(true);
    const d = authz.authorizeRbacWrite('lead', [], binding('team', 'ClusterRole', 'everything'));
    expect(d.allowed === false && d.message).toBe('rolebindings.rbac.authorization.k8s.io "grant" is forbidden: user "lead" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:["*"], Resources:["*"], Verbs:["*"]}');
    expect(authz.authorizeRbacWrite('binder', [], binding('team', 'ClusterRole', 'everything')).allowed).toBe(true);
    expect(authz.authorizeRbacWrite('binder', [], binding('other', 'ClusterRole', 'everything')).allowed).toBe(false);
  });

  it('a binding to a role that does not exist is a 404 unless the author may bind it', () => {
    expect(authz.authorizeRbacWrite('lead', [], binding('team', 'Role', 'ghost'))).toEqual({
      allowed: false, notFound: true, reason: 'roles.rbac.authorization.k8s.io "ghost" not found', message: 'roles.rbac.authorization.k8s.io "ghost" not found',
    });
  });
});

describe('Covers (policy_comparator.go)', () => {
  const rule = (r: Partial<PolicyRule>): PolicyRule => ({ verbs: ['get'], ...r });
  it('breaks rules into atoms and matches each against one owned rule', () => {
    const owner = rule({ apiGroups: [''], resources: ['pods', '*/status'], resourceNames: ['a'] });
    expect(ruleCovers(owner, rule({ apiGroups: [''], resources: ['pods'], resourceNames: ['a'] }))).toBe(true);
    // An atom without a name needs an owner rule without names.
    expect(ruleCovers(owner, rule({ apiGroups: [''], resources: ['pods'] }))).toBe(false);
    expect(ruleCovers(owner, rule({ apiGroups: [''], resources: ['deployments/status'], resourceNames: ['a'] }))).toBe(true);
    expect(uncovered([rule({ nonResourceURLs: ['/metrics/*'] })], [rule({ nonResourceURLs: ['/metrics/cpu', '/healthz'] })]))
      .toEqual([{ nonResourceURLs: ['/healthz'], verbs: ['get'] }]);
    expect(uncovered([rule({ apiGroups: ['*'], resources: ['*'], verbs: ['*'] })], [rule({ apiGroups: ['x'], resources: ['y/z'], verbs: ['a', 'b'], resourceNames: ['n'] })])).toEqual([]);
  });
});
