// The engine commands (explain, matrix, policies-for, select) read the datastore when no -f is given, chosen by
// the same settings as the resource commands (--datastore, TABBY_DATASTORE, the config file): whatever was
// applied is what they analyse, so each answer must be the same as for the manifests themselves. `tabby test`
// keeps reading its files only.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { captureCli, type CliRun } from './captureCli.js';
import { storesUnderTest } from './stores.js';


const root = mkdtempSync(join(tmpdir(), 'tabby-engine-ds-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function tabby(argv: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return captureCli(argv, { env, cwd: root });
}

const CLUSTER = `apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: blue}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ops}
---
apiVersion: v1
kind: Pod
metadata: {name: frontend, namespace: shop, labels: {app: frontend}}
spec: {nodeName: n1, containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: backend, namespace: shop, labels: {app: backend}}
spec: {nodeName: n1, containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
status: {podIP: 10.0.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: tool, namespace: ops, labels: {app: tool}}
spec: {nodeName: n2, containers: [{name: c}]}
status: {podIP: 10.0.1.1}
---
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 100}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security.no-ops}
spec:
  tier: security
  order: 10
  selector: app == 'backend'
  ingress:
    - {action: Deny, source: {namespaceSelector: "projectcalico.org/name == 'ops'"}}
    - {action: Pass}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: backend-from-frontend, namespace: shop}
spec:
  selector: app == 'backend'
  ingress: [{action: Allow, protocol: TCP, source: {selector: app == 'frontend'}, destination: {ports: [http]}}]
---
apiVersion: projectcalico.org/v3
kind: StagedGlobalNetworkPolicy
metadata: {name: lock-frontend}
spec:
  selector: app == 'frontend'
  ingress: [{action: Deny}]
`;

const manifest = join(root, 'cluster.yaml');
writeFileSync(manifest, CLUSTER);

/** Each engine command as a user would ask it; the datastore answer must equal the -f answer. */
const QUESTIONS: string[][] = [
  ['explain', '--from', 'shop/frontend', '--to', 'shop/backend', '--port', '8080'],
  ['explain', '--from', 'ops/tool', '--to', 'shop/backend', '--port', '8080', '-o', 'json'],
  ['matrix', '--port', '8080'],
  ['matrix', '--port', 'http', '--pending', '-o', 'json'],
  ['policies-for', 'shop/backend', '-o', 'json'],
  ['policies-for', 'shop/frontend'],
  ['select', "app == 'backend'"],
  ['select', 'has(app)', '-n', 'shop', '-o', 'json'],
];

const STORES = storesUnderTest(root, 'engine commands');

for (const s of STORES) {
  describe.skipIf(s.skip !== undefined)(`engine commands without -f read the ${s.name}`, () => {
    let location: string;
    beforeAll(async () => {
      location = s.location();
      const applied = await tabby(['apply', '-f', manifest, '--datastore', location]);
      expect(applied).toMatchObject({ code: 0, stderr: '' });
    });

    it.each(QUESTIONS.map((q) => [q.join(' '), q] as const))('%s: same answer as with -f', async (_name, argv) => {
      const fromFiles = await tabby([...argv, '-f', manifest]);
      const fromStore = await tabby([...argv, '--datastore', location]);
      expect(fromFiles.code).toBe(0);
      expect(fromStore).toEqual(fromFiles);
    });

    it('picks the store from TABBY_DATASTORE, then the config file, as the resource commands do', async () => {
      const expected = await tabby(['matrix', '--port', '8080', '-o', 'csv', '-f', manifest]);
      expect(await tabby(['matrix', '--port', '8080', '-o', 'csv'], { TABBY_DATASTORE: location })).toEqual(expected);
      const config = join(root, `config-${s.name.replace(/ /g, '-')}`);
      mkdirSync(join(config, 'tabby'), { recursive: true });
      writeFileSync(join(config, 'tabby', 'config.yaml'), `datastore: ${location}\n`);
      expect(await tabby(['matrix', '--port', '8080', '-o', 'csv'], { XDG_CONFIG_HOME: config })).toEqual(expected);
      // The flag wins over both.
      const empty = await tabby(['select', 'all()', '--datastore', `file:${join(root, 'nothing-here')}`], { TABBY_DATASTORE: location });
      expect(empty.stderr).toMatch(/^note: the datastore at file:\S+nothing-here \(--datastore\) holds no resources/);
      expect(empty.stdout).toMatch(/^selector: all\(\)\n\nendpoints: 0\n/);
    });

    it('sees what later writes change', async () => {
      const ask = ['explain', '--from', 'ops/tool', '--to', 'shop/backend', '--port', '8080', '--datastore', location];
      expect((await tabby(ask)).stdout).toContain('Verdict: Deny');
      expect((await tabby(['delete', 'gnp', 'security.no-ops', '--datastore', location])).code).toBe(0);
      const after = await tabby(ask);
      expect(after.stdout).not.toContain('tier security');
      expect(after.stdout).toContain('→ Deny: end of tier default (no policy in the tier matched; last considered: shop/backend-from-frontend)');
      expect((await tabby(['apply', '-f', manifest, '--datastore', location])).code).toBe(0);
      expect((await tabby(ask)).stdout).toContain('tier security: GlobalNetworkPolicy security.no-ops  rule 0  Deny');
    });
  });
}

describe('engine command input', () => {
  it('says how to give manifests for a stray argument', async () => {
    const run = await tabby(['matrix', 'cluster.yaml']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("error: unexpected argument 'cluster.yaml': give manifests with -f (tabby matrix -f cluster.yaml), or none to read the datastore\n");
  });

  it('reports an unreachable datastore with the endpoint tried', async () => {
    const run = await tabby(['policies-for', 'shop/backend', '--datastore', 'etcd://127.0.0.1:1']);
    expect(run.code).toBe(6);
    expect(run.stderr).toMatch(/datastore unavailable at etcd:\/\/127\.0\.0\.1:1/);
  });

  it('keeps tabby test on its files', async () => {
    const run = await tabby(['test', '--datastore', 'file:x']);
    expect(run.code).toBe(2);
  });
});
