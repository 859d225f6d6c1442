// `tabby agent` and FelixConfiguration through the CLI: the override flags are checked before anything runs; a real
// agent process says once on stderr which flag overrides which stored value, and `tabby agent status` names each
// setting's source, following a FelixConfiguration applied while it runs; `tabby node delete` deletes node.<name>.
// Run with: flock /tmp/tabby-netns.lock npx vitest run test/dataplane/felix-configuration-cli.test.ts

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { captureCli, type CliRun } from '../cli/captureCli.js';
import { KERNEL_SKIP_REASON, sweepPrefix, sweepStaleTestNamespaces, uniquePrefix } from './support.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function tabby(args: string[], env: Record<string, string>): Promise<CliRun> {
  return captureCli(args, { env: { ...process.env, ...env }, cwd: repoRoot });
}

describe('tabby agent FelixConfiguration flags (no root needed)', () => {
  const env = { TABBY_DATASTORE: 'file:/nonexistent-tabby-test', TABBY_NETNS_PREFIX: 'tbtusage-' };
  it.each([
    [['--failsafe-inbound-host-ports', 'icmp:22'], /--failsafe-inbound-host-ports: "icmp:22": "icmp" is not a protocol a failsafe entry takes \(tcp, udp or sctp\)/],
    [['--failsafe-inbound-host-ports', 'tcp:99999'], /--failsafe-inbound-host-ports: "tcp:99999" is not a failsafe entry: expected \[tcp\|udp\|sctp:\]\[CIDR:\]PORT/],
    [['--failsafe-outbound-host-ports', 'udp:10.0.0/8:53'], /--failsafe-outbound-host-ports: "udp:10.0.0\/8:53": "10.0.0\/8" is not an IP or CIDR/],
    [['--default-endpoint-to-host-action', 'drop'], /--default-endpoint-to-host-action: "drop" is not Drop, Accept or Return/],
  ])('%j is refused before the agent starts', async (flags, message) => {
    const res = await tabby(['agent', '--node', 'n1', ...(flags as string[])], env);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(message);
  });
});

describe.skipIf(KERNEL_SKIP_REASON)('tabby agent with FelixConfiguration', () => {
  const prefix = uniquePrefix();
  let dir: string;
  let env: Record<string, string>;
  let agent: ChildProcess | undefined;
  let stderr = '';

  beforeAll(async () => {
    await sweepStaleTestNamespaces();
    dir = await mkdtemp(join(tmpdir(), 'tabby-felixcfg-cli-'));
    env = { TABBY_DATASTORE: `file:${join(dir, 'store')}`, TABBY_NETNS_PREFIX: prefix, TABBY_STATE_DIR: join(dir, 'state') };
  });
  afterAll(async () => {
    if (agent && agent.exitCode === null) {
      agent.kill('SIGKILL');
      await new Promise((r) => agent!.once('exit', r));
    }
    await sweepPrefix(prefix);
    await rm(dir, { recursive: true, force: true });
  });

  async function status(): Promise<{ state: string; enforcedRevision: number; settings?: Array<{ name: string; value: string; source: string }> }> {
    const res = await tabby(['agent', 'status', '--node', 'node1', '-o', 'json'], env);
    return res.code === 0 ? JSON.parse(res.stdout) : { state: 'none', enforcedRevision: -1 };
  }
  async function until(what: string, ok: () => Promise<boolean>): Promise<void> {
    for (let i = 0; i < 400; i++) {
      if (await ok()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}; agent stderr:\n${stderr}`);
  }

  it('says which flag overrides the datastore, and shows each setting\'s source as FelixConfiguration changes', async () => {
    expect((await tabby(['node', 'create', 'node1'], env)).code).toBe(0);
    await writeFile(join(dir, 'felix.yaml'), [
      'apiVersion: projectcalico.org/v3', 'kind: FelixConfiguration', 'metadata: {name: default}',
      'spec: {failsafeInboundHostPorts: [{protocol: TCP, port: 2222}], defaultEndpointToHostAction: Drop}', '',
    ].join('\n'));
    expect((await tabby(['apply', '-f', join(dir, 'felix.yaml'), '--allow-lockout'], env)).code).toBe(0);
    agent = spawn(process.execPath, [join(repoRoot, 'node_modules/.bin/vite-node'), join(repoRoot, 'test/dataplane/run-cli.ts'),
      'agent', '--node', 'node1', '--failsafe-inbound-host-ports', 'tcp:22,tcp:10.0.0.0/8:2022'],
    { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    agent.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    await until('in-sync', async () => (await status()).state === 'in-sync');
    expect(stderr).toContain('tabby agent node1: --failsafe-inbound-host-ports sets failsafeInboundHostPorts = tcp:22,tcp:10.0.0.0/8:2022, over any FelixConfiguration in the datastore\n');
    expect(stderr).toContain('tabby agent node1: FelixConfiguration default sets failsafeInboundHostPorts = tcp:2222; not applied: --failsafe-inbound-host-ports overrides it\n');
    const text = (await tabby(['agent', 'status', '--node', 'node1'], env)).stdout;
    expect(text).toMatch(/^Settings:$/m);
    expect(text).toMatch(/^ {2}failsafeInboundHostPorts +tcp:22,tcp:10\.0\.0\.0\/8:2022 +\(--failsafe-inbound-host-ports\)$/m);
    expect(text).toMatch(/^ {2}defaultEndpointToHostAction +Drop +\(FelixConfiguration default\)$/m);
    expect(text).toMatch(/^ {2}vxlanPort +4789 +\(built-in default\)$/m);
    const rules = (await tabby(['agent', 'rules', '--node', 'node1'], env)).stdout;
    expect(rules).toMatch(/ip saddr 10\.0\.0\.0\/8 tcp dport 2022 counter accept/);

    // Applied while it runs: the node's own FelixConfiguration wins over default, live.
    await writeFile(join(dir, 'node1.yaml'), [
      'apiVersion: projectcalico.org/v3', 'kind: FelixConfiguration', 'metadata: {name: node.node1}',
      'spec: {defaultEndpointToHostAction: Accept}', '',
    ].join('\n'));
    expect((await tabby(['apply', '-f', join(dir, 'node1.yaml'), '--allow-lockout'], env)).code).toBe(0);
    await until('the node\'s FelixConfiguration', async () =>
      (await status()).settings?.find((s) => s.name === 'defaultEndpointToHostAction')?.source === 'FelixConfiguration node.node1');
    expect(stderr).toContain('tabby agent node1: FelixConfiguration changed, applied: defaultEndpointToHostAction = Accept (FelixConfiguration node.node1)\n');
    // Said once: the override note is not repeated for a change of another field.
    expect(stderr.split('not applied').length - 1).toBe(1);

    agent.kill('SIGTERM');
    await new Promise((r) => agent!.once('exit', r));

    // As Calico does, deleting the node deletes its own FelixConfiguration; default stays.
    const del = await tabby(['node', 'delete', 'node1'], env);
    expect(del.stdout).toBe('Deleted node node1\nDeleted FelixConfiguration node.node1 (Calico deletes a node\'s own with the node)\n');
    expect((await tabby(['get', 'felixconfig'], env)).stdout).toBe('NAME\ndefault\n');
  }, 60_000);
});
