// Tabby's own endpoints (/tabby/v1/explain, matrix, lint, impact) answer with what the CLI prints with -o json
// over the same datastore, and explain hides the decisions of policies the caller may not read.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { builtCli, repoRoot } from '../cli/built-cli.js';
import { IDENTITIES, IDENTITY_RBAC_YAML, SECURITY_TIER_YAML, TOKEN_AUTH_FILE } from './identities.js';
import { https, kubectl, startServer, tempDir, type ServerUnderTest } from './support.js';

describe('tabby server: explain, matrix, lint, impact', () => {
  const tmp = tempDir('tabby-server-endpoints-');
  let s: ServerUnderTest;
  const cliJson = (args: string[]): unknown =>
    JSON.parse(execFileSync(process.execPath, [builtCli, ...args, '--datastore', `file:${join(tmp.dir, 'store')}`, '-o', 'json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));

  beforeAll(async () => {
    const tokens = join(tmp.dir, 'tokens.csv');
    writeFileSync(tokens, TOKEN_AUTH_FILE);
    s = await startServer(tmp.dir, ['--token-auth-file', tokens]);
    const rbac = join(tmp.dir, 'rbac.yaml');
    writeFileSync(rbac, `${SECURITY_TIER_YAML}---\n${IDENTITY_RBAC_YAML}`);
    for (const f of [join(repoRoot, 'examples'), rbac]) {
      const r = await kubectl(s, ['apply', '-f', f]);
      if (r.code !== 0) throw new Error(r.stderr);
    }
  });
  afterAll(async () => {
    await s?.stop();
    tmp.remove();
  });

  const flow = { from: 'shop/frontend', to: 'shop/backend', protocol: 'TCP', port: 8080 };

  it('explain is tabby explain -o json', async () => {
    const r = await https(s, 'POST', '/tabby/v1/explain', { body: JSON.stringify(flow) });
    expect(r.status).toBe(200);
    expect(r.json()).toEqual(cliJson(['explain', '--from', flow.from, '--to', flow.to, '--protocol', 'TCP', '--port', '8080']));
  });

  it('explain through the API hides decisions in tiers the caller cannot read', async () => {
    const r = await https(s, 'POST', '/tabby/v1/explain', { body: JSON.stringify(flow), token: IDENTITIES.security.token });
    // The security engineer may not `create` tabby/explain until granted: RBAC decides that too.
    expect(r.status).toBe(403);
    const grant = join(tmp.dir, 'grant.yaml');
    writeFileSync(grant, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: tabby-explain}
rules: [{apiGroups: [tabby], resources: [explain], verbs: [create]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: security-team-explain}
subjects: [{kind: Group, name: security-team, apiGroup: rbac.authorization.k8s.io}]
roleRef: {kind: ClusterRole, name: tabby-explain, apiGroup: rbac.authorization.k8s.io}
`);
    expect((await kubectl(s, ['apply', '-f', grant])).code).toBe(0);
    const hidden = await https(s, 'POST', '/tabby/v1/explain', { body: JSON.stringify(flow), token: IDENTITIES.security.token });
    expect(hidden.status).toBe(200);
    const text = hidden.body;
    expect(text).toContain('(not readable by you)');
    expect(text).not.toContain('allow-frontend-to-backend');
    // The verdict is the same; only who decided it is hidden.
    expect(hidden.json().verdict).toBe((await https(s, 'POST', '/tabby/v1/explain', { body: JSON.stringify(flow) })).json().verdict);
  });

  it('explain refuses a malformed protocol or icmp with a 400 Status, never a 500', async () => {
    for (const extra of [{ protocol: {} }, { protocol: 1.5 }, { protocol: 'ICMP', icmp: 'x' }, { protocol: 'ICMP', icmp: { type: 300 } }, { protocol: 'ICMP', icmp: { type: 8, bogus: 1 } }]) {
      const r = await https(s, 'POST', '/tabby/v1/explain', { body: JSON.stringify({ ...flow, ...extra }) });
      expect(r.status, JSON.stringify(extra)).toBe(400);
      expect(r.json()).toMatchObject({ kind: 'Status', reason: 'BadRequest' });
    }
  });

  it('matrix is tabby matrix -o json', async () => {
    const r = await https(s, 'GET', '/tabby/v1/matrix?protocol=TCP&port=8080&namespace=shop');
    expect(r.status).toBe(200);
    expect(r.json()).toEqual(cliJson(['matrix', '--protocol', 'TCP', '--port', '8080', '-n', 'shop']));
    expect((await https(s, 'GET', '/tabby/v1/matrix?port=99999')).status).toBe(400);
  });

  it('lint is tabby lint -o json', async () => {
    const r = await https(s, 'GET', '/tabby/v1/lint');
    expect(r.status).toBe(200);
    const cli = JSON.parse(execFileSync(process.execPath, [builtCli, 'lint', '--datastore', `file:${join(tmp.dir, 'store')}`, '-o', 'json', '--fail-on', 'error'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    expect(r.json()).toEqual(cli);
    expect((await https(s, 'GET', '/tabby/v1/lint?enable=no-such-rule')).status).toBe(400);
  });

  it('impact: a deny-all policy changes reachability, nothing is written', async () => {
    const denyAll = { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'deny-everything' }, spec: { order: 1, selector: 'all()', types: ['Ingress'], ingress: [{ action: 'Deny' }] } };
    const r = await https(s, 'POST', '/tabby/v1/impact', { body: JSON.stringify({ kind: 'List', items: [denyAll] }) });
    expect(r.status).toBe(200);
    expect(JSON.stringify(r.json())).toContain('shop/backend');
    expect((await https(s, 'GET', '/apis/projectcalico.org/v3/globalnetworkpolicies/deny-everything')).status).toBe(404);
    const bad = await https(s, 'POST', '/tabby/v1/impact', { body: JSON.stringify([{ ...denyAll, spec: { selector: 'a ==' } }]) });
    expect(bad.status).toBe(422);
    expect(bad.json().details.causes[0].field).toBe('items[0].spec.selector');
  });

  it('agents: each node agent\'s status as tabby agent status -o json; unknown, malformed and forged names refused', async () => {
    // What an agent that ran and stopped leaves in the state directory the server shares with the agents.
    const status = (node: string) => ({
      node, pid: 2 ** 22 + 7, state: 'stopped', enforcedRevision: 12, seenRevision: 12, datastore: 'ok',
      datastoreEndpoint: `file:${join(tmp.dir, 'store')}`, endpoints: 3, syncs: 4, fullSyncs: 1, failures: 0,
      skipped: [], skippedCount: 0, updatedAt: '2026-12-04T10:00:00.000Z',
    });
    writeFileSync(join(s.stateDir, 'agent-node1.json'), JSON.stringify(status('node1')));
    writeFileSync(join(s.stateDir, 'agent-edge.example.json'), JSON.stringify(status('edge.example')));
    // A file whose name is not the key of the node it claims is nobody's status.
    writeFileSync(join(s.stateDir, 'agent-forged.json'), JSON.stringify(status('node1')));
    writeFileSync(join(s.stateDir, 'agent-node1.rules.json'), '[]');
    const cli = (node: string): unknown => JSON.parse(execFileSync(process.execPath,
      [builtCli, 'agent', 'status', '--node', node, '--state-dir', s.stateDir, '-o', 'json'], { encoding: 'utf8' }));

    const one = await https(s, 'GET', '/tabby/v1/agents/node1');
    expect(one.status).toBe(200);
    expect(one.json()).toEqual(cli('node1'));
    expect(one.json()).toMatchObject({ node: 'node1', running: false, enforcedRevision: 12 });
    const all = await https(s, 'GET', '/tabby/v1/agents');
    expect(all.status).toBe(200);
    expect(all.json()).toEqual({ items: [cli('edge.example'), cli('node1')] });

    expect((await https(s, 'GET', '/tabby/v1/agents/forged')).status).toBe(404);
    expect((await https(s, 'GET', '/tabby/v1/agents/nope')).status).toBe(404);
    expect((await https(s, 'GET', '/tabby/v1/agents/Bad_Name')).status).toBe(400);
    // RBAC decides as for every request: the developer may not list agents.
    expect((await https(s, 'GET', '/tabby/v1/agents', { token: IDENTITIES.developer.token })).status).toBe(403);
  });
});
