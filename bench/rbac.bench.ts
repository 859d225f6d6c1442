// RBAC checks with thousands of bindings: the indexed authorizer (src/server/rbac) against a linear scan of every
// binding (what kube-apiserver's rule resolver does per request, less its informer caches), same objects, same
// requests, same run. Also the cost of one tier check (three RBAC lookups) against one plain check.
// Run: npm run bench -- rbac
import type { ClusterRoleBinding, PolicyRule, Resource, RoleBinding } from '../src/api/index.js';
import { Authorizer, RbacIndex, ruleAllows, type RequestAttributes } from '../src/server/rbac/index.js';
import { ms, prng } from './support.js';

const V = 'rbac.authorization.k8s.io/v1';
const NAMESPACES = 500;
const USERS = 2000;
const ROLE_BINDINGS = 10_000;
const CLUSTER_ROLE_BINDINGS = 1_000;
const CHECKS = 20_000;

const rand = prng(16);
const pick = (n: number) => Math.floor(rand() * n);

const objects: Resource[] = [
  { apiVersion: V, kind: 'ClusterRole', metadata: { name: 'netpol-edit' }, rules: [{ apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['*'] }] },
  { apiVersion: V, kind: 'ClusterRole', metadata: { name: 'view' }, rules: [{ apiGroups: [''], resources: ['pods', 'namespaces'], verbs: ['get', 'list', 'watch'] }] },
  { apiVersion: V, kind: 'ClusterRole', metadata: { name: 'tier-t1' }, rules: [
    { apiGroups: ['projectcalico.org'], resources: ['tiers'], resourceNames: ['t1'], verbs: ['get'] },
    { apiGroups: ['projectcalico.org'], resources: ['tier.globalnetworkpolicies'], resourceNames: ['t1.*'], verbs: ['get', 'list'] },
  ] },
];
for (let i = 0; i < ROLE_BINDINGS; i++) {
  objects.push({
    apiVersion: V, kind: 'RoleBinding', metadata: { name: `rb${i}`, namespace: `ns${pick(NAMESPACES)}` },
    subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: `user${pick(USERS)}` }, { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: `team${pick(200)}` }],
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: rand() < 0.5 ? 'netpol-edit' : 'view' },
  });
}
for (let i = 0; i < CLUSTER_ROLE_BINDINGS; i++) {
  objects.push({
    apiVersion: V, kind: 'ClusterRoleBinding', metadata: { name: `crb${i}` },
    subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: `user${pick(USERS)}` }],
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: rand() < 0.5 ? 'tier-t1' : 'view' },
  });
}

const requests: RequestAttributes[] = Array.from({ length: CHECKS }, () => ({
  user: `user${pick(USERS)}`, groups: [`team${pick(200)}`], verb: rand() < 0.5 ? 'list' : 'delete',
  apiGroup: 'networking.k8s.io', resource: 'networkpolicies', namespace: `ns${pick(NAMESPACES)}`,
}));
const tiered: RequestAttributes[] = requests.map((r) => ({
  user: r.user, groups: r.groups, verb: 'get', apiGroup: 'projectcalico.org', resource: 'globalnetworkpolicies', name: 't1.p', tier: 't1',
}));

/** Every binding, every time: the baseline. */
function linearAllows(req: RequestAttributes): boolean {
  const groups = new Set([...req.groups, 'system:authenticated']);
  for (const o of objects) {
    if (o.kind !== 'RoleBinding' && o.kind !== 'ClusterRoleBinding') continue;
    const b = o as RoleBinding | ClusterRoleBinding;
    if (b.kind === 'RoleBinding' && b.metadata.namespace !== req.namespace) continue;
    if (!(b.subjects ?? []).some((s) => (s.kind === 'User' ? s.name === req.user : s.kind === 'Group' && groups.has(s.name)))) continue;
    const role = objects.find((x) => x.kind === 'ClusterRole' && x.metadata.name === b.roleRef.name) as { rules?: PolicyRule[] } | undefined;
    if ((role?.rules ?? []).some((rule) => ruleAllows(rule, req))) return true;
  }
  return false;
}

function time(label: string, n: number, f: () => void): number {
  const start = process.hrtime.bigint();
  f();
  const t = ms(start);
  console.log(`${label.padEnd(58)} ${(t * 1000 / n).toFixed(2).padStart(9)} µs/check`);
  return t / n;
}

const start = process.hrtime.bigint();
const authz = new Authorizer(RbacIndex.of(objects));
console.log(`index of ${ROLE_BINDINGS + CLUSTER_ROLE_BINDINGS} bindings built in ${ms(start).toFixed(1)} ms`);

let allowedIndexed = 0;
const linearN = 1000;
const linear = time(`linear scan (${ROLE_BINDINGS + CLUSTER_ROLE_BINDINGS} bindings), ${linearN} checks`, linearN, () => {
  for (let i = 0; i < linearN; i++) linearAllows(requests[i]!);
});
const indexed = time(`indexed authorizer, ${CHECKS} checks`, CHECKS, () => {
  for (const r of requests) if (authz.authorize(r).allowed) allowedIndexed++;
});
const tier = time(`indexed tier check (get tier + tier.<kind>), ${CHECKS} checks`, CHECKS, () => {
  for (const r of tiered) authz.authorize(r);
});
let agree = 0;
for (let i = 0; i < linearN; i++) if (authz.authorize(requests[i]!).allowed === linearAllows(requests[i]!)) agree++;
console.log(`agreement with the linear scan on ${linearN} requests: ${agree}/${linearN} (allowed: ${allowedIndexed} of ${CHECKS} indexed)`);
console.log(`ratio linear / indexed: ${(linear / indexed).toFixed(0)}×; tier check / plain check: ${(tier / indexed).toFixed(2)}×`);
if (agree !== linearN) process.exit(1);
