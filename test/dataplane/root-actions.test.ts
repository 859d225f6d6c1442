// Issue 10 §3 and §5: nothing in the datastore or on the command line steers a root action outside Tabby's own
// objects. A WorkloadEndpoint written by anyone with datastore access names a "victim" namespace (with a process
// in it) and another workload's veth; `tabby workload delete` must leave both alone and say so. Namespaces that
// carry Tabby's names but were not made by Tabby are never deleted, entered or used as nodes. Names that would
// become paths or namespace names are refused with a usage error naming the rule. All through the CLI, on real
// namespaces.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { FileStore } from '../../src/datastore/index.js';
import { listNamespaces, namespaceExists } from '../../src/dataplane/netns/namespace.js';
import { inspectWorkloadLink, nodeNetns, vethName, workloadNetns } from '../../src/dataplane/netns/topology.js';
import { hostExec } from '../../src/dataplane/nft/index.js';
import { Workloads } from '../../src/dataplane/workloads.js';
import { captureCli, type CliRun } from '../cli/captureCli.js';
import { KERNEL_SKIP_REASON, sweepPrefix, sweepStaleTestNamespaces, uniquePrefix } from './support.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function tabby(args: string[], env: Record<string, string>): Promise<CliRun> {
  return captureCli(args, { env: { ...process.env, ...env }, cwd: repoRoot });
}

describe('names that would become paths or namespace names (no root needed)', () => {
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tabby-names-'));
    env = { TABBY_DATASTORE: `file:${join(dir, 'store')}`, TABBY_NETNS_PREFIX: 'tbtnames-', TABBY_STATE_DIR: join(dir, 'state') };
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    [['node', 'create', 'x/../../tmp/escaped']],
    [['node', 'create', 'rlt..a']],
    [['node', 'delete', 'rlt..a']],
    [['node', 'create', 'Node1']],
    [['workload', 'create', 'shop/web', '--node', 'x/../../tmp/escaped']],
    [['workload', 'create', 'shop/web', '--node', 'rlt..a']],
    [['agent', '--node', 'rlt..a']],
    [['agent', 'rules', '--node', 'x/../../tmp/escaped']],
  ])('tabby %j is refused by Calico\'s node name rule', async (args) => {
    const res = await tabby(args, env);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/invalid node name ".*": a lowercase RFC 1123 subdomain must consist of .*\(Calico's node name rule/);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('builds no namespace name from a name outside the rules (the last fence behind the CLI)', () => {
    const naming = { prefix: 'tbtnames-' };
    for (const bad of ['x/../../tmp/escaped', 'rlt..a', '', 'a\nb', '-a', 'A']) {
      expect(() => nodeNetns(naming, bad)).toThrow(/invalid node name/);
    }
    expect(() => workloadNetns(naming, 'shop', '..')).toThrow(/invalid workload name "\.\."/);
    expect(() => workloadNetns(naming, 'a.b', 'web')).toThrow(/invalid namespace "a\.b"/);
    expect(nodeNetns(naming, 'node-1.zone')).toBe('tbtnames-n-node-1.zone');
    // Valid but long names are hashed, so the namespace name stays a short file name.
    expect(nodeNetns(naming, `${'a'.repeat(63)}.${'b'.repeat(63)}`)).toMatch(/^tbtnames-n-[0-9a-f]{16}$/);
    expect(workloadNetns(naming, 'shop', 'w'.repeat(200))).toMatch(/^tbtnames-w-[0-9a-f]{16}$/);
  });

  it('never reads a status file outside the state dir (`agent status --node x/../../tmp/escaped`)', async () => {
    // The old path: <state>/agent-x/../../tmp/escaped.json = <dir>/tmp/escaped.json. Plant a file there.
    await mkdir(join(dir, 'tmp'), { recursive: true });
    await writeFile(join(dir, 'tmp', 'escaped.json'), JSON.stringify({ node: 'planted', pid: 1, state: 'in-sync' }));
    const res = await tabby(['agent', 'status', '--node', 'x/../../tmp/escaped'], env);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/invalid node name "x\/..\/..\/tmp\/escaped"/);
  });

  it.each([
    [['workload', 'delete', 'shop/..'], /invalid workload name "\.\.": a lowercase RFC 1123 subdomain/],
    [['workload', 'exec', 'a.b/web', '--', 'true'], /invalid namespace "a\.b": a lowercase RFC 1123 label/],
    [['workload', 'get', 'shop/rlt..a'], /invalid workload name "rlt\.\.a"/],
    [['workload', 'delete', 'shop/'], /invalid workload name "": must be non-empty/],
    [['node', 'list', '--netns-prefix', '../x'], /network namespace prefix "\.\.\/x" must be 3–41 characters/],
  ])('tabby %j is refused with the rule', async (args, message) => {
    const res = await tabby(args, env);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(message);
  });
});

/** A process running in namespace `netns` (a stand-in for whatever an unrelated namespace runs). */
function runIn(netns: string): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', netns, 'sleep', '600'], { stdio: 'ignore', detached: true });
  child.unref();
  return child;
}

function alive(child: ChildProcess): boolean {
  try {
    process.kill(child.pid!, 0);
    return child.exitCode === null && child.signalCode === null;
  } catch {
    return false;
  }
}

async function ip(argv: string[]): Promise<string> {
  const res = await hostExec(['ip', ...argv]);
  if (res.code !== 0) throw new Error(`ip ${argv.join(' ')}: ${res.stderr}`);
  return res.stdout;
}

function wepYaml(o: { ns: string; name: string; node: string; netns?: string; iface: string; ips: string[] }): string {
  return [
    'apiVersion: projectcalico.org/v3', 'kind: WorkloadEndpoint',
    `metadata: {name: ${o.name}, namespace: ${o.ns}${o.netns ? `, annotations: {tabby.dev/netns: ${o.netns}}` : ''}}`,
    'spec:', '  orchestrator: k8s', `  node: ${o.node}`, `  workload: ${o.name}`, `  pod: ${o.name}`, '  endpoint: eth0',
    `  interfaceName: ${o.iface}`, `  ipNetworks: [${o.ips.map((a) => `"${a}/32"`).join(', ')}]`, '',
  ].join('\n');
}

describe.skipIf(KERNEL_SKIP_REASON)('root actions only on what Tabby can prove it created', () => {
  const prefix = uniquePrefix();
  const victim = `${prefix}victim`;
  let dir: string;
  let env: Record<string, string>;
  const processes: ChildProcess[] = [];

  beforeAll(async () => {
    await sweepStaleTestNamespaces();
    dir = await mkdtemp(join(tmpdir(), 'tabby-root-'));
    env = { TABBY_DATASTORE: `file:${join(dir, 'store')}`, TABBY_NETNS_PREFIX: prefix, TABBY_STATE_DIR: join(dir, 'state') };
    expect((await tabby(['node', 'create', 'node1'], env)).code).toBe(0);
    await writeFile(join(dir, 'pool.yaml'), 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: v4}\nspec: {cidr: 10.67.0.0/16}\n');
    expect((await tabby(['apply', '-f', join(dir, 'pool.yaml')], env)).code).toBe(0);
    for (const w of ['shop/a', 'shop/b']) expect((await tabby(['workload', 'create', w, '--node', 'node1'], env)).code).toBe(0);
  }, 60_000);
  afterAll(async () => {
    for (const p of processes) if (alive(p)) process.kill(p.pid!, 'SIGKILL');
    await sweepPrefix(prefix);
    await rm(dir, { recursive: true, force: true });
  });

  it('proves a workload\'s veth from both ends, and only under its own name', async () => {
    const naming = { prefix };
    expect(await inspectWorkloadLink(workloadNetns(naming, 'shop', 'a'), vethName('shop', 'a'))).toEqual({
      nodeNetns: `${prefix}n-node1`, iface: vethName('shop', 'a'), addresses: ['10.67.0.1'],
    });
    // b's veth is not a's: the peer of a's eth0 is not named caliB.
    expect(await inspectWorkloadLink(workloadNetns(naming, 'shop', 'a'), vethName('shop', 'b'))).toBeUndefined();
  });

  it('a forged endpoint naming a victim namespace and another workload\'s veth: workload delete touches neither', async () => {
    await ip(['netns', 'add', victim]);
    const inVictim = runIn(victim);
    processes.push(inVictim);
    await new Promise((r) => setTimeout(r, 200));
    expect(alive(inVictim)).toBe(true);
    const caliB = vethName('shop', 'b');
    await writeFile(join(dir, 'evil.yaml'), wepYaml({ ns: 'shop', name: 'evil', node: 'node1', netns: victim, iface: caliB, ips: ['10.67.0.2'] }));
    expect((await tabby(['apply', '-f', join(dir, 'evil.yaml')], env)).code).toBe(0);

    const res = await tabby(['workload', 'delete', 'shop/evil'], env);
    // The victim namespace and its process survive; the other workload keeps its veth, route and namespace.
    expect(namespaceExists(victim)).toBe(true);
    expect(alive(inVictim)).toBe(true);
    expect(await ip(['-n', `${prefix}n-node1`, 'route', 'get', '10.67.0.2'])).toContain(`dev ${caliB}`);
    // And the command says what it refused, and fails.
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`annotation tabby.dev/netns names network namespace "${victim}", not the workload's own ${prefix}w-shop.evil; left it alone`);
    expect(res.stderr).toContain(`spec.interfaceName "${caliB}" is not the workload's own interface ${vethName('shop', 'evil')}`);
    const exec = await tabby(['workload', 'exec', 'shop/b', '--', 'ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0'], env);
    expect(exec.code).toBe(0);
    expect(exec.stdout).toMatch(/10\.67\.0\.2\/32/);
    // The forged record itself is gone (the user asked to delete it); the real one stays.
    const list = JSON.parse((await tabby(['workload', 'get', '-o', 'json'], env)).stdout) as Array<{ name: string }>;
    expect(list.map((w) => w.name)).toEqual(['a', 'b']);
  });

  it('a namespace carrying a workload\'s name but not made by Tabby is neither deleted nor entered', async () => {
    const squatted = `${prefix}w-shop.c`;
    await ip(['netns', 'add', squatted]);
    const inside = runIn(squatted);
    processes.push(inside);
    await writeFile(join(dir, 'c.yaml'), wepYaml({ ns: 'shop', name: 'c', node: 'node1', netns: squatted, iface: vethName('shop', 'c'), ips: ['10.67.0.99'] }));
    expect((await tabby(['apply', '-f', join(dir, 'c.yaml')], env)).code).toBe(0);

    const exec = await tabby(['workload', 'exec', 'shop/c', '--', 'true'], env);
    expect(exec.code).toBe(3);
    expect(exec.stderr).toMatch(new RegExp(`network namespace ${squatted} was not created by tabby \\(it has no tabby mark\\); not entering it`));
    const del = await tabby(['workload', 'delete', 'shop/c'], env);
    expect(del.code).toBe(1);
    expect(del.stderr).toContain(`network namespace ${squatted} was not created by tabby (it has no tabby mark); left it and its processes alone`);
    expect(namespaceExists(squatted)).toBe(true);
    // Nor is it reused by a new workload of that name.
    const create = await tabby(['workload', 'create', 'shop/c', '--node', 'node1'], env);
    expect(create.code).toBe(1);
    expect(create.stderr).toContain(`network namespace ${squatted} of workload shop/c already exists`);
    await new Promise((r) => setTimeout(r, 100));
    expect(alive(inside)).toBe(true);
  });

  it('a namespace carrying a node\'s name but not made by Tabby is neither deleted nor given workloads', async () => {
    const squatted = `${prefix}n-node9`;
    await ip(['netns', 'add', squatted]);
    const inside = runIn(squatted);
    processes.push(inside);
    const create = await tabby(['workload', 'create', 'shop/d', '--node', 'node9'], env);
    expect(create.code).toBe(1);
    expect(create.stderr).toMatch(/node9 was not created by tabby/);
    expect(await ip(['-n', squatted, '-o', 'link', 'show'])).not.toMatch(/cali/);
    const agent = await tabby(['agent', 'rules', '--node', 'node9'], env);
    expect(agent.code).toBe(1);
    expect(agent.stderr).toContain(`network namespace ${squatted} was not created by tabby (it has no tabby mark); not acting on it`);
    const del = await tabby(['node', 'delete', 'node9'], env);
    expect(del.code).toBe(1);
    expect(del.stderr).toContain(`network namespace ${squatted} was not created by tabby (it has no tabby mark); not deleting it`);
    expect(namespaceExists(squatted)).toBe(true);
    expect(alive(inside)).toBe(true);
  });

  it('node delete leaves a workload whose endpoint claims the node but whose veth is on another node', async () => {
    expect((await tabby(['node', 'create', 'node2'], env)).code).toBe(0);
    expect((await tabby(['workload', 'create', 'shop/e', '--node', 'node2'], env)).code).toBe(0);
    // Rewrite e's endpoint to claim node1.
    const e = JSON.parse((await tabby(['get', 'workloadendpoint', '-n', 'shop', 'e', '-o', 'json'], env)).stdout) as { spec: { node: string } };
    e.spec.node = 'node1';
    await writeFile(join(dir, 'e.json'), JSON.stringify(e));
    expect((await tabby(['apply', '-f', join(dir, 'e.json')], env)).code).toBe(0);

    const del = await tabby(['node', 'delete', 'node1'], env);
    expect(namespaceExists(`${prefix}w-shop.e`)).toBe(true);
    expect(await ip(['-n', `${prefix}n-node2`, '-o', 'link', 'show', 'dev', vethName('shop', 'e')])).toContain(vethName('shop', 'e'));
    expect(del.code).toBe(1);
    expect(del.stdout).toBe('Deleted node node1 and its workloads shop/a, shop/b\n');
    expect(del.stderr).toContain(`workload shop/e: its endpoint names this node, but its veth is on ${prefix}n-node2; left it alone`);
    expect(namespaceExists(`${prefix}n-node1`)).toBe(false);
    // The victim of the first test is still there, untouched by the node delete.
    expect(namespaceExists(victim)).toBe(true);
  });

  it('sweeping the prefix (demo and test cleanup) removes only namespaces Tabby made', async () => {
    const store = await FileStore.open({ dir: join(dir, 'store') });
    try {
      const removed = await new Workloads({ store, prefix }).sweep();
      expect(removed.sort()).toEqual([`${prefix}n-node2`, `${prefix}w-shop.e`]);
    } finally {
      await store.close();
    }
    expect(listNamespaces(prefix).sort()).toEqual([`${prefix}n-node9`, victim, `${prefix}w-shop.c`].sort());
    for (const p of processes) expect(alive(p)).toBe(true);
    expect(existsSync(join('/run/netns', victim))).toBe(true);
  });
});
