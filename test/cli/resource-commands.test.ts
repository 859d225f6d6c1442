// apply / create / replace / delete / get / patch / label against both stores (a temp file store, and a real
// etcd when one is installed), run in-process as a user would type them. Also: datastore selection precedence
// and the one-line errors with their exit codes.

import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EXIT } from '../../src/cli/command.js';
import { resolveSetting } from '../../src/cli/settings.js';
import { freePort } from '../datastore/etcd-process.js';
import { captureCli, type CliRun } from './captureCli.js';
import { storesUnderTest } from './stores.js';


function tabby(argv: string[], opts: { env?: Record<string, string>; stdin?: string; cwd?: string } = {}): Promise<CliRun> {
  return captureCli(argv, { ...opts, cwd: opts.cwd ?? root });
}

const root = mkdtempSync(join(tmpdir(), 'tabby-cli-ds-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const POLICIES = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-dns
spec:
  order: 10
  selector: all()
  egress:
    - action: Allow
      protocol: UDP
      destination:
        ports: [53]
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: web
  namespace: prod
  labels: {app: web}
spec:
  selector: app == 'web'
  ingress:
    - action: Allow
`;

function file(name: string, text: string): string {
  const p = join(root, name);
  writeFileSync(p, text);
  return p;
}

const STORES = storesUnderTest(root, 'resource commands');

for (const s of STORES) {
  describe.skipIf(s.skip !== undefined)(`resource commands on the ${s.name}`, () => {
    let ds: string[];
    beforeAll(async () => {
      ds = ['--datastore', s.location()];
      // etcd is shared between runs of this file: start from an empty prefix.
      if (s.name === 'etcd') {
        for (const k of ['gnp', 'np -A', 'tier']) {
          const names = await tabby(['get', ...k.split(' '), '-o', 'json', ...ds]);
          const items = (JSON.parse(names.stdout) as { items: Array<{ kind: string; metadata: { name: string; namespace?: string } }> }).items;
          for (const i of items) {
            await tabby(['delete', k.split(' ')[0]!, i.metadata.name, ...(i.metadata.namespace ? ['-n', i.metadata.namespace] : []), ...ds]);
          }
        }
      }
    });

    it('apply creates, get lists and shows, apply again updates', async () => {
      const p = file('p.yaml', POLICIES);
      expect(await tabby(['apply', '-f', p, ...ds])).toEqual({ code: 0, stdout: 'Successfully applied 2 resource(s)\n', stderr: '' });
      expect((await tabby(['get', 'gnp', ...ds])).stdout).toBe('NAME\nallow-dns\n');
      expect((await tabby(['get', 'networkpolicies', '-A', '-o', 'wide', ...ds])).stdout).toBe(
        'NAMESPACE   NAME   TIER      ORDER    SELECTOR\nprod        web    default   <none>   app == \'web\'\n');
      const none = await tabby(['get', 'np', ...ds]);
      expect(none).toEqual({ code: 0, stdout: '', stderr: 'No resources found in namespace default.\n' });
      const one = await tabby(['get', 'np', 'web', '-n', 'prod', '-o', 'json', ...ds]);
      const obj = JSON.parse(one.stdout) as { kind: string; metadata: { resourceVersion: string; uid: string } };
      expect(obj.kind).toBe('NetworkPolicy');
      expect(obj.metadata.uid).toMatch(/-/);
      expect((await tabby(['get', 'np', '-n', 'prod', '-l', 'app=web', '-o', 'name', ...ds])).stdout)
        .toBe('networkpolicy.projectcalico.org/web\n');
      expect((await tabby(['get', 'np', '-n', 'prod', '-l', 'app!=web', ...ds])).stderr).toBe('No resources found in namespace prod.\n');
      // The yaml output is a manifest apply reads back.
      const yaml = (await tabby(['get', 'gnp', 'allow-dns', '-o', 'yaml', ...ds])).stdout;
      expect(yaml).toMatch(/^apiVersion: projectcalico.org\/v3\nkind: GlobalNetworkPolicy\nmetadata:\n {2}name: allow-dns\n/);
      const again = await tabby(['apply', '-f', '-', ...ds], { stdin: yaml.replace('order: 10', 'order: 11') });
      expect(again.code).toBe(0);
      expect((await tabby(['get', 'gnp', '-o', 'wide', ...ds])).stdout).toContain('11');
    });

    it('--dry-run prints a diff per object and writes nothing', async () => {
      const before = (await tabby(['get', 'gnp', 'allow-dns', '-o', 'yaml', ...ds])).stdout;
      const p = file('p2.yaml', POLICIES.replace('order: 10', 'order: 20') + `---
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 100}
`);
      const run = await tabby(['apply', '-f', p, '--dry-run', ...ds]);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('GlobalNetworkPolicy allow-dns: update (dry run)\n@@ ');
      expect(run.stdout).toMatch(/\n- {2}order: 11\n\+ {2}order: 20\n/);
      expect(run.stdout).toContain('NetworkPolicy prod/web: unchanged (dry run)\n');
      expect(run.stdout).toContain('Tier security: create (dry run)\n@@ -0,0 +1,');
      expect(run.stdout).toContain('Dry run: 1 to create, 1 to update, 1 unchanged, 0 to delete; nothing was written\n');
      expect((await tabby(['get', 'gnp', 'allow-dns', '-o', 'yaml', ...ds])).stdout).toBe(before);
      // Only the built-in tiers, which exist without being stored.
      expect((await tabby(['get', 'tier', '-o', 'name', ...ds])).stdout)
        .toBe('tier.projectcalico.org/default\ntier.projectcalico.org/kube-admin\ntier.projectcalico.org/kube-baseline\n');
      const del = await tabby(['delete', 'gnp', 'allow-dns', '--dry-run', ...ds]);
      expect(del.stdout).toMatch(/^GlobalNetworkPolicy allow-dns: delete \(dry run\)\n@@ -1,\d+ \+0,0 @@\n-apiVersion/);
      expect((await tabby(['get', 'gnp', ...ds])).stdout).toBe('NAME\nallow-dns\n');
      const failing = await tabby(['create', '-f', p, '--dry-run', ...ds]);
      expect(failing.code).toBe(EXIT.alreadyExists);
      expect(failing.stdout).toContain('GlobalNetworkPolicy allow-dns: would fail: resource already exists: GlobalNetworkPolicy(allow-dns) (');
    });

    it('refuses invalid manifests with file:line:col and writes nothing', async () => {
      const p = file('bad.yaml', POLICIES.replace("selector: app == 'web'", "selector: app == 'web' &&") + `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: fine}
spec: {selector: all()}
`);
      const run = await tabby(['apply', '-f', p, ...ds]);
      expect(run.code).toBe(EXIT.failure);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:21:\\d+: NetworkPolicy prod/web: spec.selector: `));
      expect(run.stderr).toContain('1 problem in the manifests; nothing was applied');
      expect((await tabby(['get', 'gnp', 'fine', ...ds])).code).toBe(EXIT.notFound);
    });

    it('stops at the first failure and says which objects were applied', async () => {
      const p = file('partial.yaml', `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: first}
spec: {selector: all()}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-dns}
spec: {selector: all()}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: third}
spec: {selector: all()}
`);
      const run = await tabby(['create', '-f', p, ...ds]);
      expect(run.code).toBe(EXIT.alreadyExists);
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe(
        "partial success: created the first 1 out of 3 'GlobalNetworkPolicy' resource(s) (GlobalNetworkPolicy first):\n" +
        `error: ${p}:6:1: GlobalNetworkPolicy allow-dns: resource already exists: GlobalNetworkPolicy(allow-dns) ` +
        '(use tabby apply to create or update, or tabby replace to update)\n');
      expect((await tabby(['get', 'gnp', ...ds])).stdout).toBe('NAME\nallow-dns\nfirst\n');
    });

    it('replace needs the object and a current resourceVersion', async () => {
      const missing = await tabby(['replace', '-f', '-', ...ds], { stdin: POLICIES.replace('allow-dns', 'nobody') });
      expect(missing.code).toBe(EXIT.notFound);
      expect(missing.stderr).toContain('resource does not exist: GlobalNetworkPolicy(nobody) (tabby get globalnetworkpolicy lists what exists)');
      const yaml = (await tabby(['get', 'gnp', 'allow-dns', '-o', 'yaml', ...ds])).stdout;
      expect((await tabby(['patch', 'gnp', 'allow-dns', '-p', '{"spec":{"order":12}}', ...ds])).stdout)
        .toBe("Successfully patched 1 'GlobalNetworkPolicy' resource\n");
      const stale = await tabby(['replace', '-f', '-', ...ds], { stdin: yaml });
      expect(stale.code).toBe(EXIT.conflict);
      expect(stale.stderr).toMatch(/update conflict: GlobalNetworkPolicy\(allow-dns\): resourceVersion \d+ is stale, the stored one is \d+ \(it changed since you read it; get it again and retry\)/);
      const fresh = (await tabby(['get', 'gnp', 'allow-dns', '-o', 'yaml', ...ds])).stdout;
      expect((await tabby(['replace', '-f', '-', ...ds], { stdin: fresh.replace('order: 12', 'order: 13') })).code).toBe(0);
    });

    it('patch and label edit stored objects and validate the result', async () => {
      expect((await tabby(['label', 'np', 'web', '-n', 'prod', 'owner=netops', ...ds])).code).toBe(0);
      const clash = await tabby(['label', 'np', 'web', '-n', 'prod', 'owner=other', ...ds]);
      expect(clash).toMatchObject({ code: EXIT.failure, stderr: "error: NetworkPolicy prod/web: label 'owner' already has a value (netops); add --overwrite to change it\n" });
      expect((await tabby(['label', 'np', 'web', '-n', 'prod', 'owner=other', 'app-', '--overwrite', ...ds])).stdout)
        .toBe('Successfully updated labels on NetworkPolicy prod/web (set owner=other; removed app)\n');
      expect((await tabby(['get', 'np', '-n', 'prod', '-l', 'owner=other,!app', '-o', 'name', ...ds])).stdout)
        .toBe('networkpolicy.projectcalico.org/web\n');
      const bad = await tabby(['patch', 'gnp', 'allow-dns', '-p', '{"spec":{"order":"high"}}', ...ds]);
      expect(bad.code).toBe(EXIT.failure);
      expect(bad.stderr).toMatch(/^error: GlobalNetworkPolicy\(allow-dns\): spec\.order: /);
      const rename = await tabby(['patch', 'gnp', 'allow-dns', '-p', '{"metadata":{"name":"x"}}', ...ds]);
      expect(rename.code).toBe(EXIT.failure); // invalid input (the patch changes the identity), not a usage error
      expect((await tabby(['patch', 'gnp', 'nope', '-p', '{}', ...ds])).code).toBe(EXIT.notFound);
    });

    it('delete by kind and name and by manifest, with --skip-not-exists', async () => {
      const gone = await tabby(['delete', 'gnp', 'first', 'nope', ...ds]);
      expect(gone.code).toBe(EXIT.notFound);
      expect(gone.stderr).toContain("partial success: deleted the first 1 out of 2 'GlobalNetworkPolicy' resource(s)");
      const p = file('del.yaml', POLICIES);
      expect(await tabby(['delete', '-f', p, ...ds])).toMatchObject({ code: 0, stdout: 'Successfully deleted 2 resource(s)\n' });
      expect((await tabby(['delete', '-f', p, ...ds])).code).toBe(EXIT.notFound);
      expect((await tabby(['delete', '-f', p, '--skip-not-exists', ...ds])).code).toBe(0);
      expect((await tabby(['get', 'gnp', ...ds])).stderr).toBe('No resources found.\n');
    });
  });
}

describe('datastore selection', () => {
  const io = (env: Record<string, string>) => ({ stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env, cwd: '/work/x' });
  const args = (values: Record<string, string>) => ({ values, positionals: [] });

  it('takes --datastore, then TABBY_DATASTORE, then config.yaml, then the default, recording the source', async () => {
    const cfgHome = join(root, 'cfg');
    mkdirSync(join(cfgHome, 'tabby'), { recursive: true });
    writeFileSync(join(cfgHome, 'tabby', 'config.yaml'), 'datastore: file:data\n');
    const env = { XDG_CONFIG_HOME: cfgHome, TABBY_DATASTORE: 'etcd://10.0.0.1:2379', XDG_DATA_HOME: '/var/lib/x' };
    expect(await resolveSetting('datastore', args({ datastore: 'file:rel' }), io(env)))
      .toEqual({ value: 'file:/work/x/rel', source: 'flag', origin: '--datastore' });
    expect(await resolveSetting('datastore', args({}), io(env)))
      .toEqual({ value: 'etcd://10.0.0.1:2379', source: 'env', origin: 'TABBY_DATASTORE' });
    const { TABBY_DATASTORE: _, ...noEnv } = env;
    expect(await resolveSetting('datastore', args({}), io(noEnv)))
      .toEqual({ value: `file:${join(cfgHome, 'tabby', 'data')}`, source: 'config', origin: join(cfgHome, 'tabby', 'config.yaml') });
    expect(await resolveSetting('datastore', args({}), io({ XDG_DATA_HOME: '/var/lib/x' })))
      .toEqual({ value: 'file:/var/lib/x/tabby', source: 'default', origin: 'default' });
    expect(await resolveSetting('datastore', args({}), io({})))
      .toEqual({ value: 'file:/work/x/.tabby', source: 'default', origin: 'default' });
  });

  it('reports a broken config file with its position', async () => {
    const cfgHome = join(root, 'cfg-bad');
    mkdirSync(join(cfgHome, 'tabby'), { recursive: true });
    writeFileSync(join(cfgHome, 'tabby', 'config.yaml'), 'datastore: [unclosed\n');
    const run = await tabby(['get', 'gnp'], { env: { XDG_CONFIG_HOME: cfgHome } });
    expect(run.code).toBe(EXIT.failure);
    expect(run.stderr).toMatch(/^error: .*config\.yaml:\d+:\d+: /);
  });

  it('rejects an unknown scheme, naming where it came from', async () => {
    const run = await tabby(['get', 'gnp'], { env: { TABBY_DATASTORE: 'redis://x:1' } });
    expect(run).toMatchObject({ code: EXIT.usage });
    expect(run.stderr).toBe("error: unsupported datastore scheme in 'redis://x:1' (expected file:PATH, etcd://HOST:PORT[,HOST:PORT], etcds://HOST:PORT[,…] (TLS), http(s)://HOST:PORT[,http(s)://HOST:PORT]) (from TABBY_DATASTORE)\n");
  });

  it('says an unreachable etcd is unreachable, with the endpoint, and exits 6', async () => {
    const port = await freePort();
    const run = await tabby(['get', 'gnp', '--datastore', `etcd://127.0.0.1:${port}`]);
    expect(run.code).toBe(EXIT.unavailable);
    expect(run.stderr).toBe(`error: datastore unavailable at etcd://127.0.0.1:${port}: connection refused (127.0.0.1:${port}) ` +
      '(is it running? choose another with --datastore or TABBY_DATASTORE)\n');
  });

  it('defaults to ./.tabby in the working directory', async () => {
    const cwd = join(root, 'wd');
    mkdirSync(cwd);
    expect((await tabby(['apply', '-f', '-'], { cwd, stdin: POLICIES })).code).toBe(0);
    expect((await tabby(['get', 'gnp'], { cwd })).stdout).toBe('NAME\nallow-dns\n');
  });

  it('names unknown kinds with the known ones', async () => {
    const run = await tabby(['get', 'gnpx', '--datastore', `file:${join(root, 'k')}`]);
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toMatch(/^error: unknown resource type 'gnpx'; did you mean 'gnp', 'gns' or 'knp'\? \(known: networkpolicy, globalnetworkpolicy, /);
  });
});
