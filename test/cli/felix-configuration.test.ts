// FelixConfiguration through the CLI, on the file store and on etcd: apply, get with calicoctl's columns, the
// manifest back, describe saying which node it configures and which fields Tabby applies.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { captureCli, type CliRun } from './captureCli.js';
import { storesUnderTest } from './stores.js';

const root = mkdtempSync(join(tmpdir(), 'tabby-felixcfg-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function tabby(argv: string[]): Promise<CliRun> {
  return captureCli(argv, { env: {}, cwd: root });
}

const CONFIGS = `apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec:
  defaultEndpointToHostAction: Drop
  failsafeInboundHostPorts: [{protocol: TCP, port: 22}, {protocol: UDP, port: 68, net: 10.0.0.0/8}]
  flowLogsFlushInterval: 30s
  chainInsertMode: Append
---
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: node.n1}
spec:
  failsafeInboundHostPorts: []
`;
const manifest = join(root, 'felix.yaml');
writeFileSync(manifest, CONFIGS);

for (const s of storesUnderTest(root, 'felixconfiguration')) {
  describe.skipIf(s.skip !== undefined)(`FelixConfiguration in the ${s.name}`, () => {
    let location: string;
    beforeAll(async () => {
      location = s.location();
      expect(await tabby(['apply', '-f', manifest, '--datastore', location])).toMatchObject({ code: 0, stderr: '' });
    });

    it('lists with calicoctl\'s NAME column under each of its names', async () => {
      for (const name of ['felixconfiguration', 'felixconfigurations', 'felixconfig', 'felixconfigs']) {
        const got = await tabby(['get', name, '--datastore', location]);
        expect(got).toEqual({ code: 0, stdout: 'NAME\ndefault\nnode.n1\n', stderr: '' });
      }
      expect((await tabby(['get', 'felixconfig', '-o', 'wide', '--datastore', location])).stdout).toBe('NAME\ndefault\nnode.n1\n');
    });

    it('gives the manifest back as stored', async () => {
      const got = await tabby(['get', 'felixconfig', 'default', '-o', 'json', '--datastore', location]);
      const obj = JSON.parse(got.stdout) as { kind: string; spec: Record<string, unknown> };
      expect(obj.kind).toBe('FelixConfiguration');
      expect(obj.spec).toEqual({
        defaultEndpointToHostAction: 'Drop',
        failsafeInboundHostPorts: [{ protocol: 'TCP', port: 22 }, { protocol: 'UDP', port: 68, net: '10.0.0.0/8' }],
        flowLogsFlushInterval: '30s',
        chainInsertMode: 'Append',
      });
    });

    it('describes which node it configures and what Tabby applies', async () => {
      const d = await tabby(['describe', 'felixconfig', 'default', '--datastore', location]);
      expect(d.code).toBe(0);
      expect(d.stdout).toContain('Note: applies to every node, for each field that the node\'s FelixConfiguration node.<nodename> does not set');
      expect(d.stdout).toContain('Note: Tabby applies: defaultEndpointToHostAction=Drop; failsafeInboundHostPorts=tcp:22,udp:10.0.0.0/8:68; flowLogsFlushInterval=30s');
      expect(d.stdout).toContain('Note: stored, not applied by Tabby: chainInsertMode');
      const n1 = await tabby(['describe', 'felixconfig', 'node.n1', '--datastore', location]);
      expect(n1.stdout).toContain('Note: applies to node n1, over FelixConfiguration default, field by field');
      expect(n1.stdout).toContain('Note: Tabby applies: failsafeInboundHostPorts=none');
    });

    it('refuses an invalid one, naming the field', async () => {
      const bad = join(root, `bad-${s.name.replace(/ /g, '-')}.yaml`);
      writeFileSync(bad, 'apiVersion: projectcalico.org/v3\nkind: FelixConfiguration\nmetadata: {name: default}\nspec:\n  failsafeInboundHostPorts: [{protocol: tcp, port: 22}]\n');
      const got = await tabby(['apply', '-f', bad, '--datastore', location]);
      expect(got.code).not.toBe(0);
      expect(got.stderr).toMatch(/:5:\d+: FelixConfiguration default: spec.failsafeInboundHostPorts\[0\].protocol: protocol must be 'TCP' or 'UDP' or 'SCTP'/);
    });
  });
}
