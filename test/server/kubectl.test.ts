// The real kubectl against `tabby server` (issue 16 §1): discovery, get/apply/delete/patch/edit/get -w, the
// Status objects kubectl prints, conflicts, dryRun, 401, and hostile requests (a 20 MB body, malformed JSON, an
// unknown kind, `..` in names) answered with a Status and nothing written.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { until } from '../poll.js';
import { https, kubectl, kubectlMinor, kubectlStream, startServer, tempDir, type ServerUnderTest } from './support.js';

const GNP = (order: number, extra = ''): string => `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-dns
  labels: {team: ops}
spec:
  order: ${order}
  selector: all()
  types: [Egress]
  egress:
  - action: Allow
    protocol: UDP
    destination:
      ports: [53]
${extra}`;

const SHOP = `apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: lb}}}]
`;

const GNP_PATH = '/apis/projectcalico.org/v3/globalnetworkpolicies';

describe('kubectl against tabby server', () => {
  const tmp = tempDir('tabby-server-kubectl-');
  let s: ServerUnderTest;
  const file = tmp.file;
  const storedNames = async (): Promise<string[]> => (await https(s, 'GET', GNP_PATH)).json().items.map((i: { metadata: { name: string } }) => i.metadata.name);

  beforeAll(async () => {
    const tokens = file('tokens.csv', '# token,user,uid,groups\ndev-token,dev,1001,"developers,shop"\n');
    s = await startServer(tmp.dir, ['--token-auth-file', tokens]);
  });
  afterAll(async () => {
    await s?.stop();
    tmp.remove();
  });

  it('serves an empty store: No resources found, exit 0', async () => {
    const r = await kubectl(s, ['get', 'globalnetworkpolicies.projectcalico.org']);
    expect(r.stderr).toContain('No resources found');
    expect(r.code).toBe(0);
  });

  it('writes the kubeconfig and keys with mode 0600', async () => {
    const { statSync } = await import('node:fs');
    for (const f of ['admin.kubeconfig', 'admin.token', 'ca.key', 'server.key']) {
      expect((statSync(join(s.stateDir, 'server', f)).mode & 0o777).toString(8)).toBe('600');
    }
  });

  it('version and health, as kubectl asks for them', async () => {
    expect((await kubectl(s, ['get', '--raw', '/healthz'])).stdout).toBe('ok');
    const v = await kubectl(s, ['version', '-o', 'json']);
    expect(JSON.parse(v.stdout).serverVersion).toMatchObject({ major: '1', minor: '32' });
  });

  it('lists the kinds with their short names (discovery)', async () => {
    const r = await kubectl(s, ['api-resources', '--api-group', 'projectcalico.org']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/globalnetworkpolicies\s+gnp\s+projectcalico.org\/v3\s+false\s+GlobalNetworkPolicy/);
    expect(r.stdout).toMatch(/tiers\s+projectcalico.org\/v3\s+false\s+Tier/);
  });

  it('apply creates, apply again configures, get prints the server\'s columns', async () => {
    const f = file('gnp.yaml', GNP(100));
    let r = await kubectl(s, ['apply', '-f', f]);
    expect(r.stdout).toContain('globalnetworkpolicy.projectcalico.org/allow-dns created');
    expect(r.code).toBe(0);
    writeFileSync(f, GNP(200));
    r = await kubectl(s, ['apply', '-f', f]);
    expect(r.stdout).toContain('globalnetworkpolicy.projectcalico.org/allow-dns configured');
    r = await kubectl(s, ['get', 'gnp']);
    expect(r.stdout).toMatch(/^NAME\s+TIER\s+ORDER\s+AGE\n/);
    expect(r.stdout).toMatch(/allow-dns\s+default\s+200\s/);
    r = await kubectl(s, ['get', 'gnp', '-l', 'team=ops', '-o', 'jsonpath={.items[*].spec.order}']);
    expect(r.stdout).toBe('200');
    r = await kubectl(s, ['get', 'gnp', '-l', 'team=dev', '-o', 'name']);
    expect(r.stdout).toBe('');
  });

  it('patch (merge and JSON) and label', async () => {
    let r = await kubectl(s, ['patch', 'gnp', 'allow-dns', '--type', 'merge', '-p', '{"spec":{"order":300}}']);
    expect(r.stdout).toContain('patched');
    r = await kubectl(s, ['patch', 'gnp', 'allow-dns', '--type', 'json', '-p', '[{"op":"replace","path":"/spec/order","value":301}]']);
    expect(r.code).toBe(0);
    r = await kubectl(s, ['label', 'gnp', 'allow-dns', 'stage=prod']);
    expect(r.stdout).toContain('labeled');
    r = await kubectl(s, ['get', 'gnp', 'allow-dns', '-o', 'jsonpath={.spec.order} {.metadata.labels.stage}']);
    expect(r.stdout).toBe('301 prod');
    r = await kubectl(s, ['patch', 'gnp', 'allow-dns', '--type', 'json', '-p', '[{"op":"test","path":"/spec/order","value":1}]']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('The GlobalNetworkPolicy "allow-dns" is invalid');
    expect(r.stderr).toContain('the JSON patch cannot be applied');
  });

  it('edit with a scripted EDITOR', async () => {
    const r = await kubectl(s, ['edit', 'gnp', 'allow-dns'], { env: { EDITOR: "sed -i 's/order: 301/order: 250/'" } });
    expect(r.stdout).toContain('globalnetworkpolicy.projectcalico.org/allow-dns edited');
    expect((await kubectl(s, ['get', 'gnp', 'allow-dns', '-o', 'jsonpath={.spec.order}'])).stdout).toBe('250');
  });

  it('explain walks the schema (v1.32 from OpenAPI v3, v1.20 from v2)', async () => {
    const r = await kubectl(s, ['explain', 'globalnetworkpolicies.spec.egress']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/action\s+<string> -required-/);
    // v1.32 prints a field's enum itself; v1.20 prints only descriptions, where the v2 document lists the values.
    expect(r.stdout).toContain(kubectlMinor() >= 27 ? 'enum: Allow, Deny, Log, Pass' : 'Allowed values: Allow, Deny, Log, Pass.');
    // `networkpolicies` is also Calico's: --api-version picks the group (v1.20 has no RESOURCE.GROUP.FIELD form).
    const k8s = await kubectl(s, ['explain', 'networkpolicies.spec.ingress.from', '--api-version=networking.k8s.io/v1']);
    expect(k8s.code).toBe(0);
    expect(k8s.stdout).toMatch(/ipBlock\s+<Object>/);
    expect(k8s.stdout).toMatch(/namespaceSelector\s+<Object>/);
    // Asked without the protobuf type (kubectl get --raw accepts JSON), /openapi/v2 is the JSON document.
    const v2 = JSON.parse((await kubectl(s, ['get', '--raw', '/openapi/v2'])).stdout);
    expect(v2.swagger).toBe('2.0');
    expect(v2.definitions['org.projectcalico.v3.GlobalNetworkPolicy']['x-kubernetes-group-version-kind']).toEqual([{ group: 'projectcalico.org', version: 'v3', kind: 'GlobalNetworkPolicy' }]);
    if (kubectlMinor() >= 27) {
      const dotted = await kubectl(s, ['explain', 'networkpolicies.networking.k8s.io.spec.ingress.from']);
      expect(dotted.stdout).toMatch(/ipBlock\s+<Object>/);
    }
  });

  it('an invalid object: Invalid with every field path, nothing written', async () => {
    const f = file('bad.yaml', 'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: bad}\nspec:\n  selector: "app == "\n  bogus: 1\n');
    if (kubectlMinor() < 27) {
      // v1.20 validates against OpenAPI v2 before sending, and stops at the first problem it knows of.
      const client = await kubectl(s, ['apply', '-f', f]);
      expect(client.code).toBe(1);
      expect(client.stderr).toContain('error validating data: ValidationError(GlobalNetworkPolicy.spec): unknown field "bogus" in org.projectcalico.v3.GlobalNetworkPolicy.spec');
      const wrongType = await kubectl(s, ['apply', '-f', file('bad-type.yaml', 'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: bad}\nspec: {order: high}\n')]);
      expect(wrongType.code).toBe(1);
      expect(wrongType.stderr).toContain('invalid type for org.projectcalico.v3.GlobalNetworkPolicy.spec.order: got "string", expected "number"');
      expect(await storedNames()).toEqual(['allow-dns']);
    }
    // v1.32 leaves validation to the server (fieldValidation=Strict); v1.20 does too with --validate=false.
    const r = await kubectl(s, ['apply', '-f', f, ...(kubectlMinor() < 27 ? ['--validate=false'] : [])]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('The GlobalNetworkPolicy "bad" is invalid');
    expect(r.stderr).toContain('* spec.bogus: unknown field "bogus"');
    expect(r.stderr).toContain('* spec.selector: invalid selector');
    expect(await storedNames()).toEqual(['allow-dns']);
  });

  it('a stale resourceVersion is a 409 Conflict, and the newer write stays', async () => {
    const stale = (await kubectl(s, ['get', 'gnp', 'allow-dns', '-o', 'yaml'])).stdout;
    await kubectl(s, ['patch', 'gnp', 'allow-dns', '--type', 'merge', '-p', '{"spec":{"order":7}}']);
    const r = await kubectl(s, ['replace', '-f', file('stale.yaml', stale.replace('order: 250', 'order: 8'))]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Error from server (Conflict)');
    expect(r.stderr).toContain('the object has been modified');
    expect((await kubectl(s, ['get', 'gnp', 'allow-dns', '-o', 'jsonpath={.spec.order}'])).stdout).toBe('7');
  });

  it('two writers with the same resourceVersion: the second gets a Conflict Status', async () => {
    const current = (await https(s, 'GET', `${GNP_PATH}/allow-dns`)).json();
    const put = (order: number) => https(s, 'PUT', `${GNP_PATH}/allow-dns`, { body: JSON.stringify({ ...current, spec: { ...current.spec, order } }) });
    const first = await put(11);
    const second = await put(12);
    expect(first.status).toBe(200);
    expect(second.status).toBe(409);
    expect(second.json()).toMatchObject({ kind: 'Status', reason: 'Conflict', code: 409, details: { name: 'allow-dns', kind: 'globalnetworkpolicies' } });
    expect((await https(s, 'GET', `${GNP_PATH}/allow-dns`)).json().spec.order).toBe(11);
  });

  it('--dry-run=server creates and deletes nothing', async () => {
    const f = file('other.yaml', GNP(5).replace('name: allow-dns', 'name: other'));
    let r = await kubectl(s, ['apply', '-f', f, '--dry-run=server']);
    expect(r.stdout).toContain('globalnetworkpolicy.projectcalico.org/other created (server dry run)');
    r = await kubectl(s, ['delete', 'gnp', 'allow-dns', '--dry-run=server']);
    expect(r.stdout).toContain('deleted (server dry run)');
    expect(await storedNames()).toEqual(['allow-dns']);
    const dry = await https(s, 'POST', `${GNP_PATH}?dryRun=All`, { body: JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'dry' }, spec: { selector: 'all()' } }) });
    expect(dry.status).toBe(201);
    expect(dry.json().spec).toMatchObject({ tier: 'default', selector: 'all()' }); // the would-be object, defaulted
    expect(await storedNames()).toEqual(['allow-dns']);
  });

  it('get -w streams the changes, delete included', async () => {
    const w = kubectlStream(s, ['get', 'gnp', '-w', '--output-watch-events']);
    const out = (): string => w.output();
    try {
      await until('the initial row', () => /ADDED\s+allow-dns/.test(out()));
      await kubectl(s, ['patch', 'gnp', 'allow-dns', '--type', 'merge', '-p', '{"spec":{"order":42}}']);
      await until('the MODIFIED row', () => /MODIFIED\s+allow-dns\s+default\s+42/.test(out()));
      const r = await kubectl(s, ['delete', 'gnp', 'allow-dns']);
      expect(r.stdout).toContain('globalnetworkpolicy.projectcalico.org "allow-dns" deleted');
      await until('the DELETED row', () => /DELETED\s+allow-dns/.test(out()));
    } finally {
      w.stop();
    }
  });

  it('Kubernetes NetworkPolicies and Namespaces, with strategic merge from apply and edit', async () => {
    const f = file('shop.yaml', SHOP);
    let r = await kubectl(s, ['apply', '-f', f]);
    expect(r.stdout).toContain('namespace/shop created');
    expect(r.stdout).toContain('networkpolicy.networking.k8s.io/web created');
    writeFileSync(f, SHOP.replace('app: lb', 'app: lb2'));
    r = await kubectl(s, ['apply', '-f', f]);
    expect(r.stdout).toContain('networkpolicy.networking.k8s.io/web configured');
    r = await kubectl(s, ['edit', '-n', 'shop', 'netpol', 'web'], { env: { EDITOR: "sed -i 's/app: web/app: shop-web/'" } });
    expect(r.stdout).toContain('edited');
    r = await kubectl(s, ['get', 'netpol', '-n', 'shop']);
    expect(r.stdout).toMatch(/web\s+app=shop-web\s/);
    r = await kubectl(s, ['get', 'ns']);
    expect(r.stdout).toMatch(/shop\s+Active/);
    r = await kubectl(s, ['get', 'networkpolicies.networking.k8s.io', '-A']);
    expect(r.stdout).toMatch(/shop\s+web/);
  });

  it('401 for an unknown or missing token', async () => {
    const r = await kubectl(s, ['--token', 'wrong', 'get', 'gnp']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: You must be logged in to the server (Unauthorized)');
    const none = await https(s, 'GET', GNP_PATH, { token: null });
    expect(none.status).toBe(401);
    expect(none.json()).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Unauthorized', code: 401 });
  });

  it('a token from --token-auth-file authenticates; a user without bindings gets 403 from RBAC', async () => {
    let r = await kubectl(s, ['--token', 'dev-token', 'get', 'ns']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Error from server (Forbidden): namespaces is forbidden: User "dev" cannot list resource "namespaces" in API group "" at the cluster scope');
    r = await kubectl(s, ['--token', 'dev-token', 'get', 'gnp']);
    expect(r.stderr).toContain('Error from server (Forbidden): globalnetworkpolicies.projectcalico.org is forbidden: operation on Calico tiered policy is forbidden');
  });

  it('a 20 MB body: 413 RequestEntityTooLarge, nothing written', async () => {
    const big = JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'big', annotations: { x: 'a'.repeat(20 * 1024 * 1024) } }, spec: {} });
    const r = await https(s, 'POST', GNP_PATH, { body: big });
    expect(r.status).toBe(413);
    expect(r.json()).toMatchObject({ kind: 'Status', reason: 'RequestEntityTooLarge', code: 413 });
    expect(await storedNames()).toEqual([]);
  });

  it('malformed JSON: 400 BadRequest naming the problem, nothing written', async () => {
    const r = await https(s, 'POST', GNP_PATH, { body: '{"apiVersion": "projectcalico.org/v3", "kind": ' });
    expect(r.status).toBe(400);
    expect(r.json()).toMatchObject({ kind: 'Status', reason: 'BadRequest' });
    expect(r.json().message).toContain('not valid JSON');
    expect(await storedNames()).toEqual([]);
  });

  it('a create without a string name (generateName, an object): 422 Invalid naming metadata, never a 500', async () => {
    for (const metadata of [{ generateName: 'a-' }, { name: { a: 1 } }, { name: 7 }]) {
      const r = await https(s, 'POST', GNP_PATH, { body: JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata, spec: {} }) });
      expect(r.status, JSON.stringify(metadata)).toBe(422);
      expect(r.json()).toMatchObject({ kind: 'Status', reason: 'Invalid' });
      expect(r.json().message).toMatch(/metadata\.(generateName|name)/);
    }
    expect(await storedNames()).toEqual([]);
  });

  it('an unknown kind: kubectl says no matches, the API answers 404 or 400 Statuses', async () => {
    const f = file('foo.json', '{"apiVersion":"projectcalico.org/v3","kind":"Foo","metadata":{"name":"x"}}');
    const k = await kubectl(s, ['apply', '-f', f]);
    expect(k.code).toBe(1);
    expect(k.stderr).toContain('no matches for kind "Foo" in version "projectcalico.org/v3"');
    const r = await https(s, 'POST', '/apis/projectcalico.org/v3/foos', { body: '{"kind":"Foo"}' });
    expect(r.status).toBe(404);
    expect(r.json()).toMatchObject({ kind: 'Status', reason: 'NotFound' });
    const wrong = await https(s, 'POST', GNP_PATH, { body: JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name: 't' }, spec: {} }) });
    expect(wrong.status).toBe(400);
    expect(wrong.json().message).toContain('the URL is for projectcalico.org/v3 GlobalNetworkPolicy');
    expect((await https(s, 'GET', '/apis/projectcalico.org/v3/tiers/t')).status).toBe(404);
  });

  it('path traversal in names: 400 Status, nothing read or written elsewhere', async () => {
    const body = JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'x' }, spec: {} });
    for (const [method, path] of [
      ['GET', `${GNP_PATH}/..`],
      ['DELETE', `${GNP_PATH}/%2e%2e`],
      ['PUT', `${GNP_PATH}/..%2F..%2Ftiers%2Fdefault`],
      ['GET', `${GNP_PATH}/a%2Fb`],
      ['POST', '/apis/projectcalico.org/v3/namespaces/..%2F/networkpolicies'],
      ['GET', '/api/v1/namespaces/../pods'],
    ] as const) {
      const r = await https(s, method, path, method === 'GET' ? {} : { body });
      expect(r.status, `${method} ${path}`).toBe(400);
      expect(r.json(), `${method} ${path}`).toMatchObject({ kind: 'Status', reason: 'BadRequest', code: 400 });
    }
    expect(await storedNames()).toEqual([]);
    expect((await https(s, 'GET', '/apis/projectcalico.org/v3/tiers/default')).status).toBe(200);
  });

  it('watch from a resourceVersion, and an ERROR 410 for a compacted one', async () => {
    const listed = (await https(s, 'GET', GNP_PATH)).json();
    const rv = listed.metadata.resourceVersion;
    await kubectl(s, ['apply', '-f', file('w.yaml', GNP(1).replace('name: allow-dns', 'name: watched'))]);
    const w = await https(s, 'GET', `${GNP_PATH}?watch=true&resourceVersion=${rv}&timeoutSeconds=1`);
    const events = w.body.trim().split('\n').map((l) => JSON.parse(l));
    expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED watched']);
    const bad = await https(s, 'GET', `${GNP_PATH}?watch=true&resourceVersion=abc`);
    expect(bad.status).toBe(400);
  });
});
