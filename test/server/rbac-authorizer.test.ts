// The authorizer against Kubernetes' RBAC semantics (a table of cases over one set of roles and bindings), the
// three identities of issue 16 §3, Calico's tier check and its list/watch filtering, and the index kept in step
// with upserts and removals.
import { describe, expect, it } from 'vitest';

import { validateResource, type Resource } from '../../src/api/index.js';
import {
  Authorizer, filterWatchEvent, RbacIndex, tiersFromSelectors, type Decision, type ListRequest, type RequestAttributes,
} from '../../src/server/rbac/index.js';
import { IDENTITY_CASES, identityResources, requestBy } from './identities.js';

const V = 'rbac.authorization.k8s.io/v1';

function valid(obj: object): Resource {
  const r = validateResource(obj);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}
const clusterRole = (name: string, rules: object[]) => valid({ apiVersion: V, kind: 'ClusterRole', metadata: { name }, rules });
const role = (namespace: string, name: string, rules: object[]) => valid({ apiVersion: V, kind: 'Role', metadata: { name, namespace }, rules });
const crb = (name: string, roleName: string, subjects: object[]) =>
  valid({ apiVersion: V, kind: 'ClusterRoleBinding', metadata: { name }, subjects, roleRef: { kind: 'ClusterRole', name: roleName } });
const rb = (namespace: string, name: string, roleRef: { kind: string; name: string }, subjects: object[]) =>
  valid({ apiVersion: V, kind: 'RoleBinding', metadata: { name, namespace }, subjects, roleRef });
const user = (name: string) => ({ kind: 'User', name });
const group = (name: string) => ({ kind: 'Group', name });

const OBJECTS: Resource[] = [
  clusterRole('pod-reader', [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }]),
  clusterRole('apps-all', [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['*'] }]),
  clusterRole('any-group-configmaps', [{ apiGroups: ['*'], resources: ['configmaps'], verbs: ['get'] }]),
  clusterRole('calico-list', [{ apiGroups: ['projectcalico.org'], resources: ['*'], verbs: ['list'] }]),
  clusterRole('any-status', [{ apiGroups: ['*'], resources: ['*/status'], verbs: ['update'] }]),
  clusterRole('pod-log', [{ apiGroups: [''], resources: ['pods/log'], verbs: ['get'] }]),
  clusterRole('one-secret', [{ apiGroups: [''], resources: ['secrets'], resourceNames: ['db-pass'], verbs: ['get', 'list'] }]),
  clusterRole('health', [{ nonResourceURLs: ['/healthz', '/metrics/*'], verbs: ['get'] }]),
  role('team', 'svc-creator', [{ apiGroups: [''], resources: ['services'], verbs: ['create'] }]),
  crb('u1-pods', 'pod-reader', [user('u1')]),
  rb('team', 'devs-apps', { kind: 'ClusterRole', name: 'apps-all' }, [group('devs')]),
  rb('team', 'u2-svc', { kind: 'Role', name: 'svc-creator' }, [user('u2')]),
  rb('other', 'u2-svc', { kind: 'Role', name: 'svc-creator' }, [user('u2')]),
  crb('bot-configmaps', 'any-group-configmaps', [{ kind: 'ServiceAccount', name: 'bot', namespace: 'tools' }]),
  rb('team', 'ci-status', { kind: 'ClusterRole', name: 'any-status' }, [{ kind: 'ServiceAccount', name: 'ci' }]),
  crb('everyone-health', 'health', [group('system:authenticated')]),
  crb('u3-log', 'pod-log', [user('u3')]),
  crb('u3-secret', 'one-secret', [user('u3')]),
  crb('u3-calico', 'calico-list', [user('u3')]),
  crb('u4-missing', 'no-such-role', [user('u4')]),
];

type Req = Omit<RequestAttributes, 'groups'> & { groups?: string[] };
const r = (req: Req): RequestAttributes => ({ groups: [], ...req });
const pods = { apiGroup: '', resource: 'pods' };

const CASES: Array<[string, Req, boolean]> = [
  ['a ClusterRoleBinding grants in every namespace', { user: 'u1', verb: 'get', ...pods, namespace: 'x', name: 'p' }, true],
  ['… and at the cluster scope (list -A)', { user: 'u1', verb: 'list', ...pods }, true],
  ['only the verbs listed', { user: 'u1', verb: 'delete', ...pods, namespace: 'x', name: 'p' }, false],
  ['`pods` does not cover the subresource pods/log', { user: 'u1', verb: 'get', ...pods, subresource: 'log', namespace: 'x', name: 'p' }, false],
  ['only the API group listed ("" is core)', { user: 'u1', verb: 'get', apiGroup: 'apps', resource: 'pods', namespace: 'x' }, false],
  ['verb * is every verb', { user: 'z', groups: ['devs'], verb: 'deletecollection', apiGroup: 'apps', resource: 'deployments', namespace: 'team' }, true],
  ['a ClusterRole through a RoleBinding: only in the binding\'s namespace', { user: 'z', groups: ['devs'], verb: 'get', apiGroup: 'apps', resource: 'deployments', namespace: 'other' }, false],
  ['… never at the cluster scope', { user: 'z', groups: ['devs'], verb: 'list', apiGroup: 'apps', resource: 'deployments' }, false],
  ['a Role through a RoleBinding of its namespace', { user: 'u2', verb: 'create', apiGroup: '', resource: 'services', namespace: 'team' }, true],
  ['a RoleBinding\'s Role is looked up in the binding\'s namespace only', { user: 'u2', verb: 'create', apiGroup: '', resource: 'services', namespace: 'other' }, false],
  ['apiGroups * is every group', { user: 'system:serviceaccount:tools:bot', verb: 'get', apiGroup: 'example.com', resource: 'configmaps', namespace: 'a', name: 'c' }, true],
  ['a ServiceAccount subject is the user system:serviceaccount:NS:NAME', { user: 'system:serviceaccount:tools:bot2', verb: 'get', apiGroup: '', resource: 'configmaps', namespace: 'a' }, false],
  ['a ServiceAccount without namespace in a RoleBinding is of the binding\'s namespace; */status matches any status', { user: 'system:serviceaccount:team:ci', verb: 'update', apiGroup: 'apps', resource: 'deployments', subresource: 'status', namespace: 'team', name: 'd' }, true],
  ['*/status does not match the resource itself', { user: 'system:serviceaccount:team:ci', verb: 'update', apiGroup: 'apps', resource: 'deployments', namespace: 'team', name: 'd' }, false],
  ['… nor a ServiceAccount of another namespace', { user: 'system:serviceaccount:other:ci', verb: 'update', apiGroup: 'apps', resource: 'deployments', subresource: 'status', namespace: 'team' }, false],
  ['system:authenticated is implied; a non-resource URL matches exactly', { user: 'nobody', verb: 'get', apiGroup: '', resource: '', path: '/healthz' }, true],
  ['/metrics/* matches below /metrics/', { user: 'nobody', verb: 'get', apiGroup: '', resource: '', path: '/metrics/cpu' }, true],
  ['… but not /metrics itself', { user: 'nobody', verb: 'get', apiGroup: '', resource: '', path: '/metrics' }, false],
  ['non-resource rules never match resources', { user: 'nobody', verb: 'get', apiGroup: '', resource: 'healthz' }, false],
  ['pods/log is granted exactly', { user: 'u3', verb: 'get', ...pods, subresource: 'log', namespace: 'x', name: 'p' }, true],
  ['resourceNames: the named object', { user: 'u3', verb: 'get', apiGroup: '', resource: 'secrets', namespace: 'x', name: 'db-pass' }, true],
  ['resourceNames: no other object', { user: 'u3', verb: 'get', apiGroup: '', resource: 'secrets', namespace: 'x', name: 'api-key' }, false],
  ['resourceNames: never a list (it carries no name)', { user: 'u3', verb: 'list', apiGroup: '', resource: 'secrets', namespace: 'x' }, false],
  ['resources * is every resource of the group', { user: 'u3', verb: 'list', apiGroup: 'projectcalico.org', resource: 'hostendpoints' }, true],
  ['a binding to a missing role grants nothing', { user: 'u4', verb: 'get', ...pods, namespace: 'x' }, false],
  ['system:masters is allowed everything', { user: 'root', groups: ['system:masters'], verb: 'escalate', apiGroup: 'x', resource: 'y' }, true],
];

describe('Kubernetes RBAC semantics', () => {
  const authz = new Authorizer(RbacIndex.of(OBJECTS));
  for (const [name, req, allowed] of CASES) {
    it(`${allowed ? 'allows' : 'refuses'}: ${name}`, () => {
      expect(authz.authorize(r(req)).allowed).toBe(allowed);
    });
  }

  it('words a refusal as the API server does, with RBAC\'s errors', () => {
    const refusal = (req: Req) => authz.authorize(r(req)) as Extract<Decision, { allowed: false }>;
    expect(refusal({ user: 'u1', verb: 'delete', ...pods, namespace: 'x', name: 'p' }).message)
      .toBe('pods "p" is forbidden: User "u1" cannot delete resource "pods" in API group "" in the namespace "x"');
    expect(refusal({ user: 'z', verb: 'list', apiGroup: 'apps', resource: 'deployments' }).message)
      .toBe('deployments.apps is forbidden: User "z" cannot list resource "deployments" in API group "apps" at the cluster scope');
    expect(refusal({ user: 'u1', verb: 'get', ...pods, subresource: 'log', namespace: 'x', name: 'p' }).reason)
      .toBe('User "u1" cannot get resource "pods/log" in API group "" in the namespace "x"');
    expect(refusal({ user: 'nobody', verb: 'post', apiGroup: '', resource: '', path: '/healthz' }).message)
      .toBe('forbidden: User "nobody" cannot post path "/healthz"');
    expect(refusal({ user: 'u4', verb: 'get', ...pods, namespace: 'x' }).reason)
      .toBe('User "u4" cannot get resource "pods" in API group "" in the namespace "x": RBAC: clusterrole.rbac.authorization.k8s.io "no-such-role" not found');
  });

  it('keeps the index in step with upserts and removals', () => {
    const index = RbacIndex.of(OBJECTS);
    const a = new Authorizer(index);
    const req = r({ user: 'u5', verb: 'get', ...pods, namespace: 'x' });
    expect(a.authorize(req).allowed).toBe(false);
    index.upsert(crb('u5', 'pod-reader', [user('u5')]));
    expect(a.authorize(req).allowed).toBe(true);
    // Replacing the binding's subjects drops the old ones.
    index.upsert(crb('u5', 'pod-reader', [user('u6')]));
    expect(a.authorize(req).allowed).toBe(false);
    expect(a.authorize({ ...req, user: 'u6' }).allowed).toBe(true);
    // A role edited or removed changes what its bindings grant, without touching them.
    index.upsert(clusterRole('pod-reader', [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }]));
    expect(a.authorize({ ...req, user: 'u6' }).allowed).toBe(false);
    index.remove('ClusterRoleBinding', '', 'u5');
    expect(a.authorize({ ...req, user: 'u6', verb: 'list' }).allowed).toBe(false);
    expect(index.size).toBe(OBJECTS.filter((o) => o.kind.endsWith('Binding')).length);
  });
});

describe('the identities of issue 16 §3', () => {
  const authz = new Authorizer(RbacIndex.of(identityResources()));
  for (const c of IDENTITY_CASES) {
    it(`${c.who}: ${c.kubectl} → ${c.allowed ? 'allowed' : 'Forbidden'}`, () => {
      const d = authz.authorize(requestBy(c.who, c.request));
      expect(d.allowed).toBe(c.allowed);
      if (!d.allowed) expect(d.message).toBe(c.message);
    });
  }
});

const TIERED: Resource[] = [
  clusterRole('get-security', [{ apiGroups: ['projectcalico.org'], resources: ['tiers'], resourceNames: ['security'], verbs: ['get'] }]),
  clusterRole('get-all-tiers', [{ apiGroups: ['projectcalico.org'], resources: ['tiers'], verbs: ['get'] }]),
  clusterRole('security-np-read', [{ apiGroups: ['projectcalico.org'], resources: ['tier.networkpolicies'], resourceNames: ['security.*'], verbs: ['get', 'list', 'watch'] }]),
  clusterRole('one-gnp', [{ apiGroups: ['projectcalico.org'], resources: ['tier.globalnetworkpolicies'], resourceNames: ['security.block', 'security.old.style'], verbs: ['get', 'update'] }]),
  clusterRole('all-gnp-list', [{ apiGroups: ['projectcalico.org'], resources: ['tier.globalnetworkpolicies'], verbs: ['list'] }]),
  crb('sec-tier', 'get-security', [user('sec')]),
  rb('shop', 'sec-np', { kind: 'ClusterRole', name: 'security-np-read' }, [user('sec')]),
  crb('sec-one-gnp', 'one-gnp', [user('sec')]),
  crb('auditor-tiers', 'get-all-tiers', [user('auditor')]),
  crb('auditor-gnp', 'all-gnp-list', [user('auditor')]),
  crb('nogettier-np', 'all-gnp-list', [user('notier')]),
];

describe('Calico tiered policy (get on the tier and the verb on tier.<kind>)', () => {
  const authz = new Authorizer(RbacIndex.of(TIERED));
  const np = (req: Partial<ListRequest>): ListRequest =>
    ({ user: 'sec', groups: [], verb: 'get', apiGroup: 'projectcalico.org', resource: 'networkpolicies', ...req });

  it('security.* grants the tier\'s policies in the RoleBinding\'s namespace only', () => {
    expect(authz.authorize(np({ namespace: 'shop', name: 'security.x', tier: 'security' })).allowed).toBe(true);
    expect(authz.authorize(np({ namespace: 'shop', name: 'x', tier: 'security' })).allowed).toBe(true);
    expect(authz.authorize(np({ namespace: 'other', name: 'x', tier: 'security' })).allowed).toBe(false);
    expect(authz.authorize(np({ namespace: 'shop', name: 'x', tier: 'default' })).allowed).toBe(false);
  });

  it('an exact resourceName grants one policy, by its name or as <tier>.<name> (names need not carry the tier since v3.32)', () => {
    const gnp = (name: string, verb = 'get') => np({ resource: 'globalnetworkpolicies', name, tier: 'security', verb });
    expect(authz.authorize(gnp('security.block')).allowed).toBe(true);
    expect(authz.authorize(gnp('block')).allowed).toBe(true);
    expect(authz.authorize(gnp('block', 'update')).allowed).toBe(true);
    expect(authz.authorize(gnp('block', 'delete')).allowed).toBe(false);
    expect(authz.authorize(gnp('other')).allowed).toBe(false);
    // Without a tier, the tier is read from the name as Calico's API server reads it.
    expect(authz.authorize(np({ resource: 'globalnetworkpolicies', name: 'security.old.style' })).allowed).toBe(true);
  });

  it('both halves are needed; the message says when the tier itself is not readable', () => {
    const d = authz.authorize({ user: 'notier', groups: [], verb: 'list', apiGroup: 'projectcalico.org', resource: 'globalnetworkpolicies', tier: 'security' });
    expect(d).toEqual({ allowed: false,
      reason: 'User "notier" cannot list globalnetworkpolicies.projectcalico.org in tier "security" (user cannot get tier)',
      message: 'globalnetworkpolicies.projectcalico.org is forbidden: User "notier" cannot list globalnetworkpolicies.projectcalico.org in tier "security" (user cannot get tier)' });
    const d2 = authz.authorize(np({ namespace: 'shop', name: 'security.x', tier: 'security', verb: 'delete' }));
    expect(d2.allowed === false && d2.message).toBe('networkpolicies.projectcalico.org "security.x" is forbidden: User "sec" cannot delete networkpolicies.projectcalico.org in tier "security" and namespace "shop"');
  });

  it('a list without a tier selector returns the tiers that pass, and is refused only when none does', () => {
    const tiers = ['default', 'security', 'kube-admin', 'kube-baseline'];
    const policy = (tier: string) => valid({ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: `${tier}.p` }, spec: { tier, selector: 'all()' } });
    const list = authz.listFilter({ user: 'auditor', groups: [], verb: 'list', apiGroup: 'projectcalico.org', resource: 'globalnetworkpolicies' }, tiers);
    expect(list.allowed).toBe(true);
    if (list.allowed) expect(tiers.filter((t) => list.admits(policy(t)))).toEqual(tiers);
    const sec = authz.listFilter(np({ verb: 'watch', namespace: 'shop' }), tiers);
    expect(sec.allowed).toBe(true);
    if (sec.allowed) expect(tiers.filter((t) => sec.admits(policy(t)))).toEqual(['security']);
    const none = authz.listFilter(np({ verb: 'list', namespace: 'other' }), tiers);
    expect(none).toEqual({ allowed: false, reason: 'operation on Calico tiered policy is forbidden',
      message: 'networkpolicies.projectcalico.org is forbidden: operation on Calico tiered policy is forbidden' });
  });

  it('a list that selects tiers is refused unless every selected tier passes', () => {
    const tiers = ['default', 'security'];
    expect(authz.listFilter(np({ verb: 'list', namespace: 'shop', tierSelector: ['security'] }), tiers).allowed).toBe(true);
    const d = authz.listFilter(np({ verb: 'list', namespace: 'shop', tierSelector: ['security', 'default'] }), tiers);
    expect(d.allowed === false && d.message).toBe('networkpolicies.projectcalico.org is forbidden: User "sec" cannot list networkpolicies.projectcalico.org in tier "default" and namespace "shop" (user cannot get tier)');
  });

  it('a list of a kind that is not tiered is all or nothing, as in Kubernetes', () => {
    const d = authz.listFilter({ user: 'sec', groups: [], verb: 'list', apiGroup: 'networking.k8s.io', resource: 'networkpolicies', namespace: 'shop' }, ['default']);
    expect(d.allowed).toBe(false);
  });

  it('reads tiers from selectors as Calico does', () => {
    expect(tiersFromSelectors('app=x,projectcalico.org/tier=security', undefined)).toEqual({ ok: true, tiers: ['security'] });
    expect(tiersFromSelectors('projectcalico.org/tier==a', undefined)).toEqual({ ok: true, tiers: ['a'] });
    expect(tiersFromSelectors('projectcalico.org/tier in (a, b)', undefined)).toEqual({ ok: true, tiers: ['a', 'b'] });
    expect(tiersFromSelectors('projectcalico.org/tier=a', 'spec.tier=b')).toEqual({ ok: true, tiers: ['b'] });
    expect(tiersFromSelectors('projectcalico.org/tiers=a', undefined)).toEqual({ ok: true, tiers: undefined });
    expect(tiersFromSelectors(undefined, undefined)).toEqual({ ok: true, tiers: undefined });
    expect(tiersFromSelectors('projectcalico.org/tier!=a', undefined)).toEqual({ ok: false, message: 'non equal selector operator not supported for label projectcalico.org/tier' });
    expect(tiersFromSelectors('!projectcalico.org/tier', undefined)).toEqual({ ok: false, message: 'non equal selector operator not supported for label projectcalico.org/tier' });
    expect(tiersFromSelectors('!projectcalico.org/tiers,projectcalico.org/tier notin (a)', undefined)).toEqual({ ok: false, message: 'non equal selector operator not supported for label projectcalico.org/tier' });
    expect(tiersFromSelectors('!projectcalico.org/tiers', undefined)).toEqual({ ok: true, tiers: undefined });
    expect(tiersFromSelectors(undefined, 'spec.tier!=a')).toEqual({ ok: false, message: 'non equal selector operator not supported for field spec.tier' });
  });

  it('tier and policy readability for redaction', () => {
    expect(authz.tierReadable('sec', [], 'security')).toBe(true);
    expect(authz.tierReadable('sec', [], 'default')).toBe(false);
    expect(authz.canReadPolicy('sec', [], { kind: 'NetworkPolicy', tier: 'security', namespace: 'shop', name: 'x' })).toBe(true);
    expect(authz.canReadPolicy('sec', [], { kind: 'GlobalNetworkPolicy', tier: 'security', name: 'x' })).toBe(false);
    expect(authz.canReadPolicy('sec', [], { kind: 'KubernetesNetworkPolicy', tier: 'default', namespace: 'shop', name: 'x' })).toBe(false);
  });
});

describe('watch events through the list filter', () => {
  const tier = (t: string) => valid({ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'p' }, spec: { tier: t, selector: 'all()' } });
  const admits = (o: Resource) => (o as { spec: { tier?: string } }).spec.tier === 'security';
  it('sends what the watcher may see, as ADDED/MODIFIED/DELETED across the boundary', () => {
    expect(filterWatchEvent(undefined, tier('security'), admits)).toEqual({ type: 'ADDED', object: tier('security') });
    expect(filterWatchEvent(undefined, tier('default'), admits)).toBeUndefined();
    expect(filterWatchEvent(tier('security'), tier('security'), admits)?.type).toBe('MODIFIED');
    // Moved out of the visible tier: a delete of what the watcher last saw, never the new object.
    expect(filterWatchEvent(tier('security'), tier('default'), admits)).toEqual({ type: 'DELETED', object: tier('security') });
    expect(filterWatchEvent(tier('default'), tier('security'), admits)?.type).toBe('ADDED');
    expect(filterWatchEvent(tier('default'), undefined, admits)).toBeUndefined();
    expect(filterWatchEvent(tier('security'), undefined, admits)?.type).toBe('DELETED');
  });
});
