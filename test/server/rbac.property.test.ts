// Issue 16 §3's property test: for random Roles, ClusterRoles and bindings and random requests, the indexed
// authorizer answers what a straightforward reference evaluator of the RBAC rules answers. The reference below is
// written from the Kubernetes and Calico rules directly — a linear scan of every binding, its role found by a
// search of every object, each rule matched field by field — and shares no code with src/server/rbac. The index
// is also built incrementally (random upserts and removals, then compared), so its bookkeeping is checked too.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { ClusterRoleBinding, PolicyRule, Resource, RoleBinding, Subject } from '../../src/api/index.js';
import { Authorizer, RbacIndex, type RequestAttributes } from '../../src/server/rbac/index.js';

const V = 'rbac.authorization.k8s.io/v1';
const USERS = ['alice', 'bob', 'system:serviceaccount:ns1:sa1', 'system:serviceaccount:ns2:sa1'];
const GROUPS = ['g1', 'g2', 'system:authenticated', 'system:masters'];
const NAMESPACES = ['ns1', 'ns2'];
const ROLE_NAMES = ['r1', 'r2', 'r3'];
const VERBS = ['get', 'list', 'watch', 'create', 'delete'];
const API_GROUPS = ['', 'apps', 'projectcalico.org', 'networking.k8s.io'];
const RESOURCES = ['pods', 'deployments', 'tiers', 'networkpolicies', 'globalnetworkpolicies', 'tier.networkpolicies', 'tier.globalnetworkpolicies'];
const SUBRESOURCES = ['log', 'status'];
const OBJECT_NAMES = ['a', 'b', 'security', 'default', 'security.a', 'a.b'];
const TIERS = ['security', 'default'];
const URLS = ['/healthz', '/metrics', '/metrics/cpu', '/apis/x'];

// ---------------------------------------------------------------------------------------------------------------
// Generators

const someOf = <T>(values: readonly T[], max = 3) => fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: max });

const resourceRule: fc.Arbitrary<PolicyRule> = fc.record({
  verbs: someOf([...VERBS, '*']),
  apiGroups: someOf([...API_GROUPS, '*']),
  resources: someOf([...RESOURCES, ...SUBRESOURCES.map((s) => `pods/${s}`), '*/log', '*']),
  resourceNames: fc.oneof(fc.constant([] as string[]), someOf([...OBJECT_NAMES, 'security.*', 'default.*'])),
});
const urlRule: fc.Arbitrary<PolicyRule> = fc.record({ verbs: someOf(['get', 'post', '*']), nonResourceURLs: someOf([...URLS, '/metrics/*', '*']) });

const subject: fc.Arbitrary<Subject> = fc.oneof(
  fc.constantFrom(...USERS).map((name): Subject => ({ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name })),
  fc.constantFrom(...GROUPS.filter((g) => g !== 'system:masters')).map((name): Subject => ({ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name })),
  fc.record({ name: fc.constantFrom('sa1', 'sa2'), namespace: fc.constantFrom(undefined, ...NAMESPACES) })
    .map(({ name, namespace }): Subject => (namespace ? { kind: 'ServiceAccount', name, namespace } : { kind: 'ServiceAccount', name })),
);

const rbacObject: fc.Arbitrary<Resource> = fc.oneof(
  fc.record({ ns: fc.constantFrom(...NAMESPACES), name: fc.constantFrom(...ROLE_NAMES), rules: fc.array(resourceRule, { maxLength: 3 }) })
    .map(({ ns, name, rules }): Resource => ({ apiVersion: V, kind: 'Role', metadata: { name, namespace: ns }, rules })),
  fc.record({ name: fc.constantFrom(...ROLE_NAMES), rules: fc.array(fc.oneof(resourceRule, urlRule), { maxLength: 3 }) })
    .map(({ name, rules }): Resource => ({ apiVersion: V, kind: 'ClusterRole', metadata: { name }, rules })),
  fc.record({
    ns: fc.constantFrom(...NAMESPACES), name: fc.constantFrom('b1', 'b2', 'b3'), kind: fc.constantFrom('Role' as const, 'ClusterRole' as const),
    role: fc.constantFrom(...ROLE_NAMES), subjects: fc.array(subject, { maxLength: 3 }),
  }).map(({ ns, name, kind, role, subjects }): Resource => ({
    apiVersion: V, kind: 'RoleBinding', metadata: { name, namespace: ns }, subjects,
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind, name: role },
  })),
  fc.record({ name: fc.constantFrom('c1', 'c2', 'c3'), role: fc.constantFrom(...ROLE_NAMES), subjects: fc.array(subject.filter((s) => s.kind !== 'ServiceAccount' || s.namespace !== undefined), { maxLength: 3 }) })
    .map(({ name, role, subjects }): Resource => ({
      apiVersion: V, kind: 'ClusterRoleBinding', metadata: { name }, subjects,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    })),
);

const resourceRequest: fc.Arbitrary<RequestAttributes> = fc.record({
  user: fc.constantFrom(...USERS),
  groups: fc.uniqueArray(fc.constantFrom(...GROUPS), { maxLength: 2 }),
  verb: fc.constantFrom(...VERBS),
  apiGroup: fc.constantFrom(...API_GROUPS),
  resource: fc.constantFrom(...RESOURCES),
  subresource: fc.constantFrom(undefined, ...SUBRESOURCES),
  namespace: fc.constantFrom(undefined, ...NAMESPACES),
  name: fc.constantFrom(undefined, ...OBJECT_NAMES),
  tier: fc.constantFrom(undefined, ...TIERS),
}).map((r) => {
  const out: RequestAttributes = { user: r.user, groups: r.groups, verb: r.verb, apiGroup: r.apiGroup, resource: r.resource };
  if (r.subresource) out.subresource = r.subresource;
  if (r.namespace) out.namespace = r.namespace;
  if (r.name) out.name = r.name;
  if (r.tier) out.tier = r.tier;
  return out;
});
const urlRequest: fc.Arbitrary<RequestAttributes> = fc.record({
  user: fc.constantFrom(...USERS), groups: fc.uniqueArray(fc.constantFrom(...GROUPS), { maxLength: 2 }),
  verb: fc.constantFrom('get', 'post'), path: fc.constantFrom(...URLS),
}).map((r) => ({ ...r, apiGroup: '', resource: '' }));
const request = fc.oneof({ arbitrary: resourceRequest, weight: 4 }, { arbitrary: urlRequest, weight: 1 });

/**
 * Requests aimed at what the objects grant — a binding's subject as the caller, its namespace, a field of one of
 * the rules of a role of that name — so that allowed answers are common and near misses (another namespace,
 * the subresource, a name the rule does not list) are too.
 */
function aimedRequest(objects: readonly Resource[]): fc.Arbitrary<RequestAttributes> {
  const bindings = objects.filter((o): o is RoleBinding | ClusterRoleBinding => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding');
  const rules = objects.flatMap((o) => (o as { rules?: PolicyRule[] }).rules ?? []);
  if (bindings.length === 0 || rules.length === 0) return request;
  return fc.record({
    binding: fc.constantFrom(...bindings), rule: fc.constantFrom(...rules), base: request,
    pick: fc.nat(), otherNamespace: fc.boolean(), dropName: fc.boolean(),
  }).map(({ binding, rule, base, pick, otherNamespace, dropName }) => {
    const out: RequestAttributes = { ...base };
    const subjects = binding.subjects ?? [];
    const s = subjects.length > 0 ? subjects[pick % subjects.length]! : undefined;
    const bns = binding.metadata.namespace ?? '';
    if (s?.kind === 'User') out.user = s.name;
    else if (s?.kind === 'Group') out.groups = [s.name];
    else if (s) out.user = `system:serviceaccount:${s.namespace || bns || 'ns1'}:${s.name}`;
    if (binding.kind === 'RoleBinding') out.namespace = otherNamespace ? NAMESPACES.find((n) => n !== bns)! : bns;
    const at = <T>(list: readonly T[] | undefined, fallback: T): T => (list && list.length > 0 ? list[pick % list.length]! : fallback);
    out.verb = at(rule.verbs.filter((v) => v !== '*'), out.verb);
    if (rule.nonResourceURLs?.length) {
      return { user: out.user, groups: out.groups, verb: out.verb, apiGroup: '', resource: '', path: at(rule.nonResourceURLs.filter((u) => u !== '*'), '/healthz').replace('*', 'x') };
    }
    out.apiGroup = at(rule.apiGroups?.filter((g) => g !== '*'), out.apiGroup);
    const [res, sub] = at(rule.resources?.filter((r) => !r.startsWith('*')), out.resource).split('/');
    out.resource = res!;
    if (sub) out.subresource = sub;
    else delete out.subresource;
    if (dropName) delete out.name;
    else out.name = at(rule.resourceNames, out.name ?? 'a');
    return out;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The reference evaluator

interface Ask {
  user: string;
  groups: Set<string>;
  verb: string;
  group: string;
  /** `pods` or `pods/log`; '' for a URL. */
  resource: string;
  namespace: string;
  name: string;
  path: string;
}

function ruleGrants(rule: PolicyRule, ask: Ask): boolean {
  const has = (list: readonly string[] | undefined, v: string) => (list ?? []).indexOf(v) >= 0;
  if (!has(rule.verbs, ask.verb) && !has(rule.verbs, '*')) return false;
  if (ask.resource === '') {
    return (rule.nonResourceURLs ?? []).some((u) => u === '*' || u === ask.path || (u.endsWith('*') && ask.path.startsWith(u.slice(0, -1))));
  }
  if (!has(rule.apiGroups, ask.group) && !has(rule.apiGroups, '*')) return false;
  const [, sub] = ask.resource.split('/');
  const resourceOk = (rule.resources ?? []).some((res) => res === '*' || res === ask.resource || (sub !== undefined && res === `*/${sub}`));
  if (!resourceOk) return false;
  return (rule.resourceNames ?? []).length === 0 || has(rule.resourceNames, ask.name);
}

function subjectIs(s: Subject, ask: Ask, bindingNamespace: string): boolean {
  if (s.kind === 'User') return s.name === ask.user;
  if (s.kind === 'Group') return ask.groups.has(s.name);
  const ns = s.namespace !== undefined && s.namespace !== '' ? s.namespace : bindingNamespace;
  return ns !== '' && ask.user === `system:serviceaccount:${ns}:${s.name}`;
}

function referenceRbac(objects: readonly Resource[], ask: Ask): boolean {
  for (const o of objects) {
    if (o.kind !== 'RoleBinding' && o.kind !== 'ClusterRoleBinding') continue;
    const b = o as RoleBinding | ClusterRoleBinding;
    const bns = b.kind === 'RoleBinding' ? b.metadata.namespace! : '';
    // A RoleBinding counts only for a request in its own namespace.
    if (b.kind === 'RoleBinding' && bns !== ask.namespace) continue;
    if (!(b.subjects ?? []).some((s) => subjectIs(s, ask, bns))) continue;
    const granting = objects.find((x) => x.kind === b.roleRef.kind && x.metadata.name === b.roleRef.name
      && (x.kind === 'ClusterRole' || (b.kind === 'RoleBinding' && x.metadata.namespace === bns)));
    const rules = (granting as { rules?: PolicyRule[] } | undefined)?.rules ?? [];
    if (rules.some((rule) => ruleGrants(rule, ask))) return true;
  }
  return false;
}

function referenceAllows(objects: readonly Resource[], req: RequestAttributes): boolean {
  const groups = new Set([...req.groups, 'system:authenticated']);
  if (groups.has('system:masters')) return true;
  const ask: Ask = {
    user: req.user, groups, verb: req.verb, group: req.apiGroup,
    resource: req.resource === '' ? '' : req.subresource ? `${req.resource}/${req.subresource}` : req.resource,
    namespace: req.namespace ?? '', name: req.name ?? '', path: req.path ?? '',
  };
  const tiered = req.apiGroup === 'projectcalico.org'
    && ['networkpolicies', 'globalnetworkpolicies', 'stagednetworkpolicies', 'stagedglobalnetworkpolicies'].includes(req.resource);
  if (!tiered) return referenceRbac(objects, ask);
  // Calico: get on the tier at cluster scope, and the verb on tier.<plural> named <tier>.* or the policy.
  const tier = req.tier ?? (ask.name.includes('.') ? ask.name.split('.')[0]! : 'default');
  const tierGet = referenceRbac(objects, { ...ask, verb: 'get', group: 'projectcalico.org', resource: 'tiers', namespace: '', name: tier });
  if (!tierGet) return false;
  const pseudo = { ...ask, resource: req.subresource ? `tier.${req.resource}/${req.subresource}` : `tier.${req.resource}` };
  const candidates = [`${tier}.*`, ask.name];
  if (ask.name !== '' && !ask.name.startsWith(`${tier}.`)) candidates.push(`${tier}.${ask.name}`);
  return candidates.some((name) => referenceRbac(objects, { ...pseudo, name }));
}

// ---------------------------------------------------------------------------------------------------------------

/** The objects as a store holds them: the last write of each key wins. */
function latest(objects: readonly Resource[]): Resource[] {
  const byKey = new Map<string, Resource>();
  for (const o of objects) byKey.set(`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, o);
  return [...byKey.values()];
}

describe('RBAC property: the indexed authorizer equals the reference evaluator', () => {
  it('for random roles, bindings and requests', () => {
    let asked = 0;
    let allowed = 0;
    const world = fc.array(rbacObject, { maxLength: 14 })
      .chain((written) => fc.tuple(fc.constant(written), fc.array(aimedRequest(latest(written)), { minLength: 1, maxLength: 25 })));
    fc.assert(fc.property(world, ([written, requests]) => {
      const objects = latest(written);
      const authz = new Authorizer(RbacIndex.of(written));
      for (const req of requests) {
        const expected = referenceAllows(objects, req);
        expect(authz.authorize(req).allowed, JSON.stringify({ req, objects })).toBe(expected);
        asked++;
        if (expected) allowed++;
      }
    }), { numRuns: 600 });
    // The generators reach both answers often enough for the comparison to mean something.
    expect(allowed / asked).toBeGreaterThan(0.15);
    expect(allowed / asked).toBeLessThan(0.85);
  });

  it('with the index kept up to date by random upserts and removals', () => {
    const change = fc.oneof(
      { arbitrary: rbacObject.map((o) => ({ upsert: o })), weight: 3 },
      { arbitrary: rbacObject.map((o) => ({ remove: o })), weight: 1 },
    );
    fc.assert(fc.property(fc.array(change, { maxLength: 25 }), fc.array(request, { minLength: 1, maxLength: 20 }), (changes, requests) => {
      const index = new RbacIndex();
      const store = new Map<string, Resource>();
      for (const c of changes) {
        const o = 'upsert' in c ? c.upsert : c.remove;
        const key = `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
        if ('upsert' in c) {
          index.upsert(o);
          store.set(key, o);
        } else {
          index.remove(o.kind, o.metadata.namespace ?? '', o.metadata.name);
          store.delete(key);
        }
      }
      const authz = new Authorizer(index);
      const objects = [...store.values()];
      for (const req of requests) expect(authz.authorize(req).allowed).toBe(referenceAllows(objects, req));
    }), { numRuns: 400 });
  });
});

describe('RBAC property: tiered lists and watches are filtered as the reference says', () => {
  it('allowed as a whole, and which tiers\' policies are returned, for random RBAC and tier selectors', () => {
    const listRequest = fc.record({
      user: fc.constantFrom(...USERS), groups: fc.uniqueArray(fc.constantFrom(...GROUPS), { maxLength: 2 }),
      verb: fc.constantFrom('list', 'watch'), resource: fc.constantFrom('networkpolicies', 'globalnetworkpolicies'),
      namespace: fc.constantFrom(undefined, ...NAMESPACES), selector: fc.option(fc.uniqueArray(fc.constantFrom(...TIERS), { minLength: 1 }), { nil: undefined }),
    });
    fc.assert(fc.property(fc.array(rbacObject, { maxLength: 14 }), fc.array(listRequest, { minLength: 1, maxLength: 10 }), (written, requests) => {
      const objects = latest(written);
      const authz = new Authorizer(RbacIndex.of(written));
      for (const r of requests) {
        const req: RequestAttributes = { user: r.user, groups: r.groups, verb: r.verb, apiGroup: 'projectcalico.org', resource: r.resource };
        if (r.namespace) req.namespace = r.namespace;
        // The reference: each tier passes when the caller may do the verb on the tier's policies (no name);
        // selected tiers must all pass, else the readable ones are returned and none readable is a refusal.
        const passes = TIERS.filter((t) => referenceAllows(objects, { ...req, tier: t }));
        const chosen = r.selector ?? TIERS;
        const expectedAllowed = r.selector ? chosen.every((t) => passes.includes(t)) : passes.length > 0;
        const d = authz.listFilter(r.selector ? { ...req, tierSelector: r.selector } : req, TIERS);
        expect(d.allowed, JSON.stringify({ r, objects })).toBe(expectedAllowed);
        if (!d.allowed) continue;
        for (const t of TIERS) {
          const policy = { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: `${t}.p` }, spec: { tier: t } } as unknown as Resource;
          expect(d.admits(policy)).toBe(chosen.includes(t) && passes.includes(t));
        }
      }
    }), { numRuns: 400 });
  });
});

describe('RBAC property: a role its author may write grants them nothing new (escalation prevention)', () => {
  it('for random holdings and random roles, binding the role to its author allows no request that was refused', () => {
    let written = 0;
    // The author is a subject of one of the bindings; the role is made of parts of that binding's role's rules (a
    // subset of each list), sometimes widened (names dropped, a verb added) or random, so that many roles are held
    // by their author and many are not; the requests are aimed at the role's rules.
    const sub = (list: readonly string[] | undefined) =>
      list && list.length > 0 ? fc.subarray([...list], { minLength: 1 }) : fc.constant(undefined);
    const derive = (r: PolicyRule): fc.Arbitrary<PolicyRule> => fc.record({
      verbs: sub(r.verbs), apiGroups: sub(r.apiGroups), resources: sub(r.resources), resourceNames: sub(r.resourceNames),
      widen: fc.constantFrom('none', 'none', 'none', 'names', 'verb'),
    }).map((x): PolicyRule => ({
      verbs: x.widen === 'verb' ? [...x.verbs!, 'patch'] : x.verbs!, apiGroups: x.apiGroups!, resources: x.resources!,
      ...(x.resourceNames && x.widen !== 'names' ? { resourceNames: x.resourceNames } : {}),
    }));
    const aimedAt = (rules: readonly PolicyRule[], ns: string): fc.Arbitrary<RequestAttributes> =>
      fc.record({ rule: fc.constantFrom(...rules), pick: fc.nat(), base: resourceRequest, named: fc.boolean() }).map(({ rule, pick, base, named }) => {
        const at = (list: readonly string[] | undefined, fallback: string) => (list && list.length > 0 ? list[pick % list.length]! : fallback);
        const [resource, subresource] = at(rule.resources, 'pods').replace('*/', 'pods/').replace(/^\*$/, 'pods').split('/');
        const out: RequestAttributes = { ...base, verb: at(rule.verbs.filter((v) => v !== '*'), 'get'), apiGroup: at(rule.apiGroups?.filter((g) => g !== '*'), ''), resource: resource!, namespace: ns };
        if (subresource) out.subresource = subresource;
        else delete out.subresource;
        if (named) out.name = at(rule.resourceNames, 'zz');
        else delete out.name;
        return out;
      });
    const world = fc.array(rbacObject, { minLength: 1, maxLength: 14 }).chain((objects) => {
      const grants = latest(objects).flatMap((o) => {
        if (o.kind !== 'RoleBinding' && o.kind !== 'ClusterRoleBinding') return [];
        const b = o as RoleBinding | ClusterRoleBinding;
        const granting = latest(objects).find((x) => x.kind === b.roleRef.kind && x.metadata.name === b.roleRef.name
          && (x.kind === 'ClusterRole' || x.metadata.namespace === b.metadata.namespace));
        const rules = ((granting as { rules?: PolicyRule[] } | undefined)?.rules ?? []).filter((r) => !r.nonResourceURLs);
        return rules.length === 0 ? [] : (b.subjects ?? []).map((subject) => ({ subject, rules, ns: b.kind === 'RoleBinding' ? b.metadata.namespace! : undefined }));
      });
      if (grants.length === 0) return fc.constant(undefined);
      return fc.record({ g: fc.constantFrom(...grants), nsPick: fc.constantFrom(...NAMESPACES) }).chain(({ g, nsPick }) => {
        const ns = g.ns ?? nsPick;
        const author = g.subject.kind === 'User' ? { user: g.subject.name, groups: [] as string[] }
          : g.subject.kind === 'Group' ? { user: 'carol', groups: [g.subject.name] }
          : { user: `system:serviceaccount:${g.subject.namespace || ns}:${g.subject.name}`, groups: [] as string[] };
        return fc.array(fc.oneof({ arbitrary: fc.constantFrom(...g.rules).chain(derive), weight: 6 }, { arbitrary: resourceRule, weight: 1 }), { minLength: 1, maxLength: 3 })
          .chain((rules) => fc.tuple(fc.constant(objects), fc.constant({ ...author, ns }), fc.constant(rules), fc.array(aimedAt(rules, ns), { minLength: 1, maxLength: 20 })));
      });
    });
    let refused = 0;
    fc.assert(fc.property(world, (w) => {
      if (w === undefined) return;
      const [objects, author, rules, requests] = w;
        const index = RbacIndex.of(objects);
        const authz = new Authorizer(index);
        const role: Resource = { apiVersion: V, kind: 'Role', metadata: { name: 'new-role', namespace: author.ns }, rules };
        // The generators grant no `escalate` or `bind`, so only holding every permission lets the role through.
        if (!authz.authorizeRbacWrite(author.user, author.groups, role as never).allowed) {
          refused++;
          return;
        }
        written++;
        const before = requests.map((r) => authz.authorize({ ...r, user: author.user, groups: author.groups }).allowed);
        index.upsert(role);
        index.upsert({
          apiVersion: V, kind: 'RoleBinding', metadata: { name: 'new-binding', namespace: author.ns },
          subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: author.user }],
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'new-role' },
        });
        requests.forEach((r, i) => {
          if (!before[i]) expect(authz.authorize({ ...r, user: author.user, groups: author.groups }).allowed, JSON.stringify({ r, rules })).toBe(false);
        });
    }), { numRuns: 1500 });
    // Enough roles pass the check for the property to have been exercised.
    expect(written).toBeGreaterThan(150);
    expect(refused).toBeGreaterThan(100);
  });
});
