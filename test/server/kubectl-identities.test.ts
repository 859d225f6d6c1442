// RBAC wired into `tabby server`, through the real kubectl: the identities of test/server/identities.ts (the
// RBAC objects applied with kubectl by the admin), lists and watches filtered by tier, 403s with the API
// server's message, and a binding's removal in force for the next request.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { until } from '../poll.js';
import { IDENTITIES, IDENTITY_CASES, IDENTITY_RBAC_YAML, SECURITY_TIER_YAML, TOKEN_AUTH_FILE, type IdentityName } from './identities.js';
import { https, kubectl, kubectlStream, startServer, tempDir, type ServerUnderTest } from './support.js';

const POLICIES = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-dns}
spec: {order: 10, selector: all(), types: [Egress], egress: [{action: Allow, protocol: UDP, destination: {ports: [53]}}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security.block-bad}
spec: {tier: security, order: 1, selector: all(), types: [Ingress], ingress: [{action: Deny, source: {nets: [203.0.113.0/24]}}]}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec: {podSelector: {matchLabels: {app: web}}}
`;

describe('kubectl as three identities against tabby server', () => {
  const tmp = tempDir('tabby-server-identities-');
  let s: ServerUnderTest;
  const file = tmp.file;
  const as = (who: IdentityName, args: string[]) => kubectl(s, ['--token', IDENTITIES[who].token, ...args]);

  beforeAll(async () => {
    s = await startServer(tmp.dir, ['--token-auth-file', file('tokens.csv', TOKEN_AUTH_FILE)]);
    for (const text of [SECURITY_TIER_YAML, IDENTITY_RBAC_YAML, POLICIES]) {
      const r = await kubectl(s, ['apply', '-f', file('in.yaml', text)]);
      if (r.code !== 0) throw new Error(r.stderr);
    }
  });
  afterAll(async () => {
    await s?.stop();
    tmp.remove();
  });

  it('the RBAC objects are served like any kind', async () => {
    const r = await kubectl(s, ['get', 'clusterrolebindings,rolebindings', '-A', '-o', 'name']);
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual([
      'clusterrolebinding.rbac.authorization.k8s.io/security-team-owns-security-tier',
      'rolebinding.rbac.authorization.k8s.io/shop-devs-edit-netpol',
    ]);
  });

  it('a JSON patch from a caller who may not patch tells nothing of the object (no test-op oracle)', async () => {
    // Regression: the patch was applied, and its error returned, before the caller was authorized.
    const path = '/apis/projectcalico.org/v3/globalnetworkpolicies/security.block-bad';
    const probe = (value: unknown) => https(s, 'PATCH', path, {
      token: IDENTITIES.developer.token, contentType: 'application/json-patch+json',
      body: JSON.stringify([{ op: 'test', path: '/spec/ingress/0/source', value }]),
    });
    const wrong = await probe(0);
    const right = await probe({ nets: ['203.0.113.0/24'] });
    expect([wrong.status, right.status]).toEqual([403, 403]);
    expect(JSON.stringify(wrong.json())).not.toContain('203.0.113');
    expect(wrong.json().message).toBe(right.json().message);
  });

  it('a grant with resourceNames covers a list or watch narrowed to that name (fieldSelector metadata.name)', async () => {
    const grant = `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: web-reader, namespace: shop}
rules: [{apiGroups: [networking.k8s.io], resources: [networkpolicies], resourceNames: [web], verbs: [get, list, watch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: web-reader, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: web-reader}
subjects: [{kind: User, name: ${IDENTITIES.security.user}}]
`;
    expect((await kubectl(s, ['apply', '-f', file('grant.yaml', grant)])).code).toBe(0);
    const list = (query: string) => https(s, 'GET', `/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies${query}`, { token: IDENTITIES.security.token });
    const one = await list('?fieldSelector=metadata.name%3Dweb');
    expect(one.status).toBe(200);
    expect(one.json().items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(['web']);
    expect((await list('?fieldSelector=metadata.name%3Dother')).status).toBe(403);
    expect((await list('')).status).toBe(403);
    const w = await kubectl(s, ['--token', IDENTITIES.security.token, 'get', 'netpol', 'web', '-n', 'shop', '-w', '--request-timeout', '2s']);
    expect(w.stderr).not.toContain('Forbidden');
    expect(w.stdout).toMatch(/^NAME\s+POD-SELECTOR/);
    // The other cases expect the security engineer to hold nothing in shop.
    expect((await kubectl(s, ['delete', '-f', file('grant.yaml', grant)])).code).toBe(0);
  });

  it('a list shows only the tiers the caller may read', async () => {
    expect((await as('admin', ['get', 'gnp', '-o', 'name'])).stdout.split('\n').filter(Boolean).sort())
      .toEqual(['globalnetworkpolicy.projectcalico.org/allow-dns', 'globalnetworkpolicy.projectcalico.org/security.block-bad']);
    const sec = await as('security', ['get', 'gnp', '-o', 'name']);
    expect(sec.code).toBe(0);
    expect(sec.stdout.trim()).toBe('globalnetworkpolicy.projectcalico.org/security.block-bad');
    const dev = await as('developer', ['get', 'gnp']);
    expect(dev.code).toBe(1);
    expect(dev.stderr).toContain('Error from server (Forbidden): globalnetworkpolicies.projectcalico.org is forbidden');
  });

  it('refusals carry the API server\'s message, as the identity table says', async () => {
    const cases: Array<[IdentityName, string[], string]> = [
      ['security', ['get', 'gnp', 'allow-dns'], 'get gnp allow-dns (tier default)'],
      ['security', ['delete', 'tier', 'security'], 'delete tier security'],
      ['security', ['get', '-n', 'shop', 'networkpolicy.networking.k8s.io', 'web'], 'get -n shop networkpolicy.networking.k8s.io web'],
      ['developer', ['get', '-n', 'default', 'netpol'], 'get -n default netpol'],
      ['developer', ['get', 'netpol', '-A'], 'get netpol -A'],
      ['developer', ['get', '-n', 'shop', 'pods'], 'get -n shop pods'],
    ];
    for (const [who, args, name] of cases) {
      const expected = IDENTITY_CASES.find((c) => c.who === who && c.kubectl === name)!;
      const r = await as(who, args);
      expect(r.code, name).toBe(1);
      expect(r.stderr, name).toContain(`Error from server (Forbidden): ${expected.message}`);
    }
    expect((await kubectl(s, ['get', 'tier', 'security', '-o', 'name'])).stdout.trim()).toBe('tier.projectcalico.org/security');
  });

  it('allowed operations succeed: the security tier for security, shop NetworkPolicies for the developer', async () => {
    const mine = file('mine.yaml', POLICIES.split('---')[1]!.replace('security.block-bad', 'security.block-worse').replace('203.0.113.0/24', '198.51.100.0/24'));
    let r = await as('security', ['apply', '-f', mine]);
    expect(r.stdout).toContain('globalnetworkpolicy.projectcalico.org/security.block-worse created');
    r = await as('security', ['delete', 'gnp', 'security.block-worse']);
    expect(r.code).toBe(0);
    r = await as('developer', ['get', 'netpol', '-n', 'shop', '-o', 'name']);
    expect(r.stdout.trim()).toBe('networkpolicy.networking.k8s.io/web');
    r = await as('developer', ['label', '-n', 'shop', 'netpol', 'web', 'owner=shop']);
    expect(r.stdout).toContain('labeled');
  });

  it('a watch never carries a policy of a tier the caller cannot read', async () => {
    const w = kubectlStream(s, ['--token', IDENTITIES.security.token, 'get', 'gnp', '-w', '-o', 'custom-columns=NAME:.metadata.name,ORDER:.spec.order']);
    const out = (): string => w.output();
    try {
      await until('the initial row', () => out().includes('security.block-bad')).catch((e) => { throw new Error(`${e.message}: ${out()} ${w.errors()}`); });
      await kubectl(s, ['patch', 'gnp', 'allow-dns', '--type', 'merge', '-p', '{"spec":{"order":11}}']);
      await kubectl(s, ['patch', 'gnp', 'security.block-bad', '--type', 'merge', '-p', '{"spec":{"order":2}}']);
      await until('the security policy\'s change', () => /security.block-bad\s+2\n/.test(out()));
      expect(out()).not.toContain('allow-dns');
    } finally {
      w.stop();
    }
  });

  it('a policy moved into a tier the caller cannot read leaves the watch as DELETED, in its last visible state', async () => {
    const GNP = '/apis/projectcalico.org/v3/globalnetworkpolicies';
    const rv = (await https(s, 'GET', GNP)).json().metadata.resourceVersion;
    const patch = (body: unknown) => https(s, 'PATCH', `${GNP}/security.block-bad`, { body: JSON.stringify(body), contentType: 'application/merge-patch+json' });
    expect((await patch({ spec: { order: 3 } })).status).toBe(200);
    expect((await patch({ spec: { tier: 'default', order: 4 } })).status).toBe(200);
    const w = await https(s, 'GET', `${GNP}?watch=true&resourceVersion=${rv}&timeoutSeconds=1`, { token: IDENTITIES.security.token });
    const events = w.body.trim().split('\n').map((l) => JSON.parse(l) as { type: string; object: { spec: { tier: string; order: number } } });
    expect(events.map((e) => `${e.type} ${e.object.spec.tier} ${e.object.spec.order}`)).toEqual(['MODIFIED security 3', 'DELETED security 3']);
    expect(w.body).not.toContain('"default"');
  });

  it('escalation prevention: a role may hold only what its author holds', async () => {
    // The security team may manage roles in shop, nothing more there.
    const admin = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: role-editor}
rules: [{apiGroups: [rbac.authorization.k8s.io], resources: [roles], verbs: [get, list, watch, create, update, patch, delete]}]  # not "*": that includes escalate
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: security-edits-roles, namespace: shop}
subjects: [{kind: Group, name: security-team, apiGroup: rbac.authorization.k8s.io}]
roleRef: {kind: ClusterRole, name: role-editor, apiGroup: rbac.authorization.k8s.io}
`;
    expect((await kubectl(s, ['apply', '-f', file('role-editor.yaml', admin)])).code).toBe(0);
    const role = (name: string, rule: string) => file(`${name}.yaml`, `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: ${name}, namespace: shop}
rules: [${rule}]
`);
    const held = await as('security', ['apply', '-f', role('security-policies', '{apiGroups: [projectcalico.org], resources: [tier.networkpolicies], resourceNames: ["security.*"], verbs: [get]}')]);
    expect(held.stdout).toContain('role.rbac.authorization.k8s.io/security-policies created');
    const more = await as('security', ['apply', '-f', role('pod-reader', '{apiGroups: [""], resources: [pods], verbs: [get]}')]);
    expect(more.code).toBe(1);
    expect(more.stderr).toContain('Error from server (Forbidden)');
    expect(more.stderr).toContain('is attempting to grant RBAC permissions not currently held');
    expect((await kubectl(s, ['get', 'role', '-n', 'shop', 'pod-reader'])).code).toBe(1);
  });

  it('removing a binding is in force for the next request', async () => {
    expect((await as('developer', ['get', 'netpol', '-n', 'shop'])).code).toBe(0);
    expect((await kubectl(s, ['delete', 'rolebinding', '-n', 'shop', 'shop-devs-edit-netpol'])).code).toBe(0);
    const r = await as('developer', ['get', 'netpol', '-n', 'shop']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('User "shop-dev" cannot list resource "networkpolicies" in API group "networking.k8s.io" in the namespace "shop"');
  });
});
