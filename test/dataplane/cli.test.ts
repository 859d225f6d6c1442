// The dataplane commands end to end: `tabby node`, `tabby workload` in-process through runCli, and `tabby agent`
// as a real process (it runs until signalled), with its status file and its annotated live rules.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { captureCli, type CliRun } from '../cli/captureCli.js';
import { flowtableSkipReason, KERNEL_SKIP_REASON, sweepPrefix, sweepStaleTestNamespaces, uniquePrefix } from './support.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function tabby(args: string[], env: Record<string, string>): Promise<CliRun> {
  return captureCli(args, { env: { ...process.env, ...env }, cwd: repoRoot });
}

describe('dataplane command usage (no root needed)', () => {
  const env = { TABBY_DATASTORE: 'file:/nonexistent-tabby-test', TABBY_NETNS_PREFIX: 'tbtusage-' };
  it.each([
    [['node'], /missing subcommand: create, delete, get, exec, list or adopt/],
    [['node', 'frob'], /unknown subcommand 'frob'/],
    [['workload', 'create', 'x/a'], /missing --node/],
    [['workload', 'create', 'x/a', '--node', 'n1', '--port', 'http'], /port 'http' is not NAME:PORT/],
    [['workload', 'create', 'x/a', '--node', 'n1', '--labels', 'novalue'], /label 'novalue' is not key=value/],
    [['workload', 'exec', 'x/a'], /missing command/],
    [['agent'], /missing --node/],
    [['agent', 'frob', '--node', 'n1'], /unknown subcommand 'frob'/],
  ])('tabby %j explains the mistake', async (args, message) => {
    const res = await tabby(args as string[], env);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(message);
  });
});

describe.skipIf(KERNEL_SKIP_REASON)('tabby node, workload and agent', () => {
  const prefix = uniquePrefix();
  let dir: string;
  let env: Record<string, string>;
  let agent: ChildProcess | undefined;

  beforeAll(async () => {
    await sweepStaleTestNamespaces();
    dir = await mkdtemp(join(tmpdir(), 'tabby-cli-'));
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

  it('creates a node and workloads with addresses from the pools', async () => {
    expect((await tabby(['node', 'create', 'node1'], env)).stdout).toMatch(/Created node node1/);
    expect((await tabby(['node', 'create', 'node1'], env)).code).toBe(4);
    await writeFile(join(dir, 'pools.yaml'), [
      'apiVersion: projectcalico.org/v3', 'kind: IPPool', 'metadata: {name: v4}', 'spec: {cidr: 10.65.0.0/16}', '---',
      'apiVersion: projectcalico.org/v3', 'kind: IPPool', 'metadata: {name: v6}', 'spec: {cidr: "fd00:65::/64"}', '',
    ].join('\n'));
    expect((await tabby(['apply', '-f', join(dir, 'pools.yaml')], env)).code).toBe(0);
    const fe = await tabby(['workload', 'create', 'shop/frontend', '--node', 'node1', '--labels', 'app=frontend', '--port', 'http:80/TCP'], env);
    expect(fe.stdout).toMatch(/Created workload shop\/frontend on node1: cali[0-9a-f]{11}, 10\.65\.0\.1, fd00:65::1/);
    const be = await tabby(['workload', 'create', 'shop/backend', '--node', 'node1', '--labels', 'app=backend', '--ip', '10.65.9.9'], env);
    expect(be.code).toBe(0);
    const list = JSON.parse((await tabby(['workload', 'get', '-o', 'json'], env)).stdout) as Array<{ name: string; addresses: string[]; labels: object; running: boolean }>;
    expect(list.map((w) => [w.name, w.addresses, w.labels, w.running])).toEqual([
      ['backend', ['10.65.9.9'], { app: 'backend' }, true],
      ['frontend', ['10.65.0.1', 'fd00:65::1'], { app: 'frontend' }, true],
    ]);
    const table = (await tabby(['workload', 'get'], env)).stdout;
    expect(table.split('\n')[0]).toMatch(/^NAMESPACE\s+NAME\s+NODE\s+INTERFACE\s+ADDRESSES\s+LABELS\s+RUNNING$/);
    const exec = await tabby(['workload', 'exec', 'shop/backend', '--', 'ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0'], env);
    expect(exec.code).toBe(0);
    expect(exec.stdout).toMatch(/10\.65\.9\.9\/32/);
    expect((await tabby(['workload', 'exec', 'shop/backend', '--', 'sh', '-c', 'exit 3'], env)).code).toBe(3);
  });

  it('runs an agent whose status and rules can be read, and which leaves its rules when stopped', async () => {
    await writeFile(join(dir, 'policy.yaml'), [
      'apiVersion: projectcalico.org/v3', 'kind: NetworkPolicy', 'metadata: {name: allow-frontend, namespace: shop}',
      'spec:', "  selector: app == 'backend'", '  ingress:', '  - action: Allow', '    protocol: TCP',
      "    source: {selector: app == 'frontend'}", '    destination: {ports: [8080]}', '',
    ].join('\n'));
    expect((await tabby(['apply', '-f', join(dir, 'policy.yaml')], env)).code).toBe(0);
    agent = spawn(process.execPath, [join(repoRoot, 'node_modules/.bin/vite-node'), join(repoRoot, 'test/dataplane/run-cli.ts'), 'agent', '--node', 'node1'],
      { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let status: { state: string; enforcedRevision: number; running: boolean; endpoints: number } | undefined;
    for (let i = 0; i < 400 && !(status && status.state === 'in-sync'); i++) {
      const res = await tabby(['agent', 'status', '--node', 'node1', '-o', 'json'], env);
      if (res.code === 0) status = JSON.parse(res.stdout) as typeof status;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toMatchObject({ state: 'in-sync', running: true, endpoints: 2 });
    const text = (await tabby(['agent', 'status', '--node', 'node1'], env)).stdout;
    expect(text).toMatch(/^Agent:\s+running \(pid \d+\)$/m);

    const rules = await tabby(['agent', 'rules', '--node', 'node1'], env);
    expect(rules.code).toBe(0);
    // Flow logs are on by default: the verdict carries an NFLOG copy whose prefix is the rule's own ID (group 1, ingress).
    expect(rules.stdout).toMatch(/tcp dport 8080 counter log prefix "A ([0-9a-f]{10})" group 1 snaplen 80 accept {3}\[\1\] tier default · NetworkPolicy shop\/allow-frontend · ingress · rule 0 · Allow/);
    const json = JSON.parse((await tabby(['agent', 'rules', '--node', 'node1', '-o', 'json'], env)).stdout) as Array<{ chain: string; meaning?: { what: string } }>;
    expect(json.some((r) => r.chain === 'fwd-egress' && r.meaning?.what === 'unknown-interface')).toBe(true);

    agent.kill('SIGTERM');
    await new Promise((r) => agent!.once('exit', r));
    // (Run from source, the process may exit before the agent writes `stopped`; either way it is not running.)
    const after = JSON.parse((await tabby(['agent', 'status', '--node', 'node1', '-o', 'json'], env)).stdout) as { state: string; running: boolean };
    expect(after).toMatchObject({ running: false });
    expect((await tabby(['agent', 'rules', '--node', 'node1'], env)).stdout).toMatch(/shop\/allow-frontend/);
  }, 60_000);

  it('with --flowtable-offload, refuses to start without kernel flowtables, else offloads through the workloads\' flowtable', async () => {
    const why = await flowtableSkipReason();
    if (why) {
      // Every transaction would fail and nothing would be enforced: the agent must not start.
      const res = await tabby(['agent', '--node', 'node1', '--flowtable-offload'], env);
      expect(res.code).toBe(6);
      expect(res.stderr).toMatch(/--flowtable-offload: this kernel cannot create an nftables flowtable/);
      return;
    }
    const offloading = spawn(process.execPath, [join(repoRoot, 'node_modules/.bin/vite-node'), join(repoRoot, 'test/dataplane/run-cli.ts'), 'agent', '--node', 'node1', '--flowtable-offload'],
      { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      let rules: Array<{ chain: string; meaning?: { what: string } }> = [];
      for (let i = 0; i < 400 && !rules.some((r) => r.meaning?.what === 'flow-offload'); i++) {
        const res = await tabby(['agent', 'rules', '--node', 'node1', '-o', 'json'], env);
        if (res.code === 0) rules = JSON.parse(res.stdout) as typeof rules;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(rules.some((r) => r.chain === 'fwd-offload' && r.meaning?.what === 'flow-offload')).toBe(true);
    } finally {
      offloading.kill('SIGTERM');
      await new Promise((r) => offloading.once('exit', r));
    }
  }, 60_000);

  it('deletes workloads and nodes', async () => {
    expect((await tabby(['workload', 'delete', 'shop/backend'], env)).stdout).toMatch(/Deleted workload shop\/backend/);
    expect((await tabby(['workload', 'delete', 'shop/backend'], env)).code).toBe(3);
    expect((await tabby(['node', 'delete', 'node1'], env)).stdout).toBe('Deleted node node1 and its workloads shop/frontend\n');
    expect((await tabby(['node', 'list', '-o', 'json'], env)).stdout.trim()).toBe('[]');
    expect((await tabby(['agent', 'rules', '--node', 'node1'], env)).code).toBe(3);
  });
});
