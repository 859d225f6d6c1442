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
import { createHash } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { agentFiles } from '../../src/cli/dataplane-access.js';
import { FileStore } from '../../src/datastore/index.js';
import { listNamespaces, namespaceExists, namespaceOwned } from '../../src/dataplane/netns/namespace.js';
import {
  createWorkloadNetwork, inspectWorkloadLink, nodeNetns, vethName, workloadMac, workloadNetns,
} from '../../src/dataplane/netns/topology.js';
import { hostExec } from '../../src/dataplane/nft/index.js';
import { Workloads } from '../../src/dataplane/workloads.js';
import { captureCli, type CliRun } from '../cli/captureCli.js';
import { KERNEL_SKIP_REASON, sweepPrefix, sweepStaleTestNamespaces, uniquePrefix } from './support.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** What every refusal of an unmarked namespace says (one wording, netns/namespace.ts unmarkedMessage). */
const UNMARKED = 'has no tabby mark (not made by tabby, or made by a release before marks)';

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
    // Valid but long node names are hashed into a shape no node name has (`_`), so no valid name shares it.
    expect(nodeNetns(naming, `${'a'.repeat(63)}.${'b'.repeat(63)}`)).toMatch(/^tbtnames-n-_[0-9a-f]{16}$/);
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

  it('a node name of 253 characters (valid) still makes agent file names under the 255-byte limit', async () => {
    const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    expect(long).toHaveLength(253);
    const files = agentFiles(join(dir, 'state'), long);
    for (const f of [files.status, files.rules]) expect(Buffer.byteLength(basename(f))).toBeLessThanOrEqual(255);
    // Hashed into a key no valid node name can be, so no other node's files are these.
    expect(basename(files.rules)).toMatch(/^agent-_[0-9a-f]{16}\.rules\.json$/);
    // Before: `cannot read …/agent-<253 chars>.json: ENAMETOOLONG` (exit 1). Now: there is simply no status yet.
    const res = await tabby(['agent', 'status', '--node', long], env);
    expect(res.stderr).not.toMatch(/ENAMETOOLONG/);
    expect(res.code).toBe(3);
    expect(res.stderr).toContain(`no agent status for node ${long}`);
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
    // The forged record is kept (what it names may be live), and says how to remove it once checked.
    expect(res.stderr).toContain('workload shop/evil: kept its WorkloadEndpoint, so its addresses stay reserved');
    const list = JSON.parse((await tabby(['workload', 'get', '-o', 'json'], env)).stdout) as Array<{ name: string }>;
    expect(list.map((w) => w.name)).toEqual(['a', 'b', 'evil']);
  });

  it('a namespace carrying a workload\'s name but not made by Tabby is neither deleted nor entered', async () => {
    const squatted = `${prefix}w-shop.c`;
    await ip(['netns', 'add', squatted]);
    const inside = runIn(squatted);
    processes.push(inside);
    await writeFile(join(dir, 'c.yaml'), wepYaml({ ns: 'shop', name: 'c', node: 'node1', netns: squatted, iface: vethName('shop', 'c'), ips: ['10.67.0.99'] }));
    expect((await tabby(['apply', '-f', join(dir, 'c.yaml')], env)).code).toBe(0);

    const exec = await tabby(['workload', 'exec', 'shop/c', '--', 'true'], env);
    // Exit 1, as delete, node and agent refuse an unmarked namespace (not 3: it exists).
    expect(exec.code).toBe(1);
    expect(exec.stderr).toContain(`network namespace ${squatted} ${UNMARKED}; not entering it`);
    const del = await tabby(['workload', 'delete', 'shop/c'], env);
    expect(del.code).toBe(1);
    expect(del.stderr).toContain(`network namespace ${squatted} ${UNMARKED}; left it and its processes alone`);
    // Its endpoint is kept: the namespace may be a live workload of a release before marks.
    expect(del.stderr).toContain('workload shop/c: kept its WorkloadEndpoint');
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
    expect(create.stderr).toContain(`network namespace ${squatted} ${UNMARKED}; not adding workloads to node node9`);
    expect(await ip(['-n', squatted, '-o', 'link', 'show'])).not.toMatch(/cali/);
    const agent = await tabby(['agent', 'rules', '--node', 'node9'], env);
    expect(agent.code).toBe(1);
    expect(agent.stderr).toContain(`network namespace ${squatted} ${UNMARKED}; not acting on it`);
    const del = await tabby(['node', 'delete', 'node9'], env);
    expect(del.code).toBe(1);
    expect(del.stderr).toContain(`network namespace ${squatted} ${UNMARKED}; not deleting it`);
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
      // The outside namespace the uplinks join is Tabby's too (marked), so it goes with the sweep.
      expect(removed.sort()).toEqual([`${prefix}n-node2`, `${prefix}w-shop.e`, `${prefix}x`]);
    } finally {
      await store.close();
    }
    expect(listNamespaces(prefix).sort()).toEqual([`${prefix}n-node9`, victim, `${prefix}w-shop.c`].sort());
    for (const p of processes) expect(alive(p)).toBe(true);
    expect(existsSync(join('/run/netns', victim))).toBe(true);
  });
});

/** A fresh store, state dir and prefix with node1 and a pool; `workloads` are created on node1 in order. */
async function scene(workloads: string[], cidr: string): Promise<{ prefix: string; dir: string; env: Record<string, string> }> {
  const prefix = uniquePrefix();
  const dir = await mkdtemp(join(tmpdir(), 'tabby-root-'));
  const env = { TABBY_DATASTORE: `file:${join(dir, 'store')}`, TABBY_NETNS_PREFIX: prefix, TABBY_STATE_DIR: join(dir, 'state') };
  expect((await tabby(['node', 'create', 'node1'], env)).code).toBe(0);
  await writeFile(join(dir, 'pool.yaml'), `apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: v4}\nspec: {cidr: ${cidr}}\n`);
  expect((await tabby(['apply', '-f', join(dir, 'pool.yaml')], env)).code).toBe(0);
  for (const w of workloads) expect((await tabby(['workload', 'create', w, '--node', 'node1'], env)).code).toBe(0);
  return { prefix, dir, env };
}

/** Makes a namespace look like the first release's: the same wiring, no mark on lo. */
async function unmark(netns: string): Promise<void> {
  await ip(['-n', netns, 'link', 'set', 'dev', 'lo', 'alias', '']);
  expect(await namespaceOwned(netns)).toBe(false);
}

async function workloadNames(env: Record<string, string>): Promise<string[]> {
  return (JSON.parse((await tabby(['workload', 'get', '-o', 'json'], env)).stdout) as Array<{ name: string }>).map((w) => w.name);
}

describe.skipIf(KERNEL_SKIP_REASON)('an annotation naming another marked namespace (what the mark cannot stop)', () => {
  let s: Awaited<ReturnType<typeof scene>>;
  const processes: ChildProcess[] = [];
  beforeAll(async () => {
    s = await scene(['shop/a', 'shop/b'], '10.68.0.0/16');
  }, 60_000);
  afterAll(async () => {
    for (const p of processes) if (alive(p)) process.kill(p.pid!, 'SIGKILL');
    await sweepPrefix(s.prefix);
    await rm(s.dir, { recursive: true, force: true });
  });

  it.each([
    ['another workload\'s namespace', (prefix: string) => `${prefix}w-shop.b`],
    ['the node\'s namespace', (prefix: string) => `${prefix}n-node1`],
  ])('workload delete of a forged endpoint naming %s leaves shop/b (namespace, process, veth) working', async (_what, target) => {
    const { prefix, dir, env } = s;
    const named = target(prefix);
    expect(await namespaceOwned(named)).toBe(true);
    const inB = runIn(`${prefix}w-shop.b`);
    processes.push(inB);
    const caliB = vethName('shop', 'b');
    await writeFile(join(dir, 'forged.yaml'), wepYaml({ ns: 'shop', name: 'forged', node: 'node1', netns: named, iface: caliB, ips: ['10.68.0.2'] }));
    expect((await tabby(['apply', '-f', join(dir, 'forged.yaml')], env)).code).toBe(0);

    const res = await tabby(['workload', 'delete', 'shop/forged'], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`annotation tabby.dev/netns names network namespace "${named}", not the workload's own ${prefix}w-shop.forged; left it alone`);
    await new Promise((r) => setTimeout(r, 100));
    expect(namespaceExists(`${prefix}w-shop.b`)).toBe(true);
    expect(namespaceExists(`${prefix}n-node1`)).toBe(true);
    expect(alive(inB)).toBe(true);
    expect(await ip(['-n', `${prefix}n-node1`, 'route', 'get', '10.68.0.2'])).toContain(`dev ${caliB}`);
    expect(await inspectWorkloadLink(`${prefix}w-shop.b`, caliB)).toMatchObject({ nodeNetns: `${prefix}n-node1`, addresses: ['10.68.0.2'] });
    // b still works: reachable from a over its veth, and enterable.
    const exec = await tabby(['workload', 'exec', 'shop/b', '--', 'ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0'], env);
    expect(exec.code).toBe(0);
    expect(exec.stdout).toMatch(/10\.68\.0\.2\/32/);
    expect(await workloadNames(env)).toEqual(['a', 'b', 'forged']);
    expect((await tabby(['delete', 'workloadendpoint', '-n', 'shop', 'forged'], env)).code).toBe(0);
    process.kill(inB.pid!, 'SIGKILL');
  });
});

describe.skipIf(KERNEL_SKIP_REASON)('workload delete keeps the endpoint of what it refused; namespaces of the first release are adopted', () => {
  let s: Awaited<ReturnType<typeof scene>>;
  const others: string[] = [];
  beforeAll(async () => {
    s = await scene(['shop/a'], '10.69.0.0/16');
  }, 60_000);
  afterAll(async () => {
    await sweepPrefix(s.prefix);
    for (const p of others) await sweepPrefix(p);
    await rm(s.dir, { recursive: true, force: true });
  });

  it('an unmarked workload (first release) keeps its endpoint, so its address is not handed out again; adoption then lets it go', async () => {
    const { prefix, env } = s;
    expect((await tabby(['node', 'create', 'old'], env)).code).toBe(0);
    expect((await tabby(['workload', 'create', 'shop/old', '--node', 'old'], env)).code).toBe(0);
    const oldNs = `${prefix}w-shop.old`;
    const oldNode = `${prefix}n-old`;
    await unmark(oldNs);
    await unmark(oldNode);

    const del = await tabby(['workload', 'delete', 'shop/old'], env);
    expect(del.code).toBe(1);
    expect(del.stderr).toContain(`workload shop/old: network namespace ${oldNs} ${UNMARKED}; left it and its processes alone (if an earlier tabby made it: tabby workload adopt shop/old)`);
    expect(del.stderr).toContain('workload shop/old: kept its WorkloadEndpoint, so its addresses stay reserved');
    expect(namespaceExists(oldNs)).toBe(true);
    expect(await workloadNames(env)).toEqual(['a', 'old']);
    // Before: the endpoint was deleted, 10.69.0.2 was free while old's veth still routed it, and shop/new got it.
    const created = await tabby(['workload', 'create', 'shop/new', '--node', 'node1'], env);
    expect(created.code).toBe(0);
    expect(created.stdout).toContain('10.69.0.3');
    expect(await ip(['-n', oldNode, 'route', 'get', '10.69.0.2'])).toContain(`dev ${vethName('shop', 'old')}`);

    // Adoption: the workload's proof needs its node marked, so the node comes first.
    const early = await tabby(['workload', 'adopt', 'shop/old'], env);
    expect(early.code).toBe(1);
    expect(early.stderr).toContain(`its eth0 is not a veth whose peer is ${vethName('shop', 'old')} in a marked node namespace (adopt its node first`);
    expect(await namespaceOwned(oldNs)).toBe(false);
    const node = await tabby(['node', 'adopt', 'old'], env);
    expect(node.code).toBe(0);
    expect(node.stdout).toContain(`Adopted node old: marked network namespace ${oldNode}`);
    expect(await namespaceOwned(oldNode)).toBe(true);
    expect((await tabby(['node', 'adopt', 'old'], env)).stdout).toContain('already carries the tabby mark');
    const wl = await tabby(['workload', 'adopt', 'shop/old'], env);
    expect(wl.code).toBe(0);
    expect(wl.stdout).toContain(`Adopted workload shop/old: marked network namespace ${oldNs} as tabby's (its veth ends on ${oldNode})`);

    const again = await tabby(['workload', 'delete', 'shop/old'], env);
    expect(again.code).toBe(0);
    expect(namespaceExists(oldNs)).toBe(false);
    expect(await ip(['-n', oldNode, '-o', 'link', 'show'])).not.toContain(vethName('shop', 'old'));
    expect(await workloadNames(env)).toEqual(['a', 'new']);
  });

  it('adoption refuses namespaces it cannot prove: a squatted node name without tabby\'s table, a workload name without its veth', async () => {
    const { prefix, env } = s;
    const squatNode = `${prefix}n-squat`;
    const squatWl = `${prefix}w-shop.squat`;
    await ip(['netns', 'add', squatNode]);
    await ip(['netns', 'add', squatWl]);
    const node = await tabby(['node', 'adopt', 'squat'], env);
    expect(node.code).toBe(1);
    expect(node.stderr).toContain(`network namespace ${squatNode}: it holds no nftables table inet tabby (every tabby node has one); not adopting it as node squat`);
    const wl = await tabby(['workload', 'adopt', 'shop/squat'], env);
    expect(wl.code).toBe(1);
    expect(wl.stderr).toContain(`not adopting it as workload shop/squat`);
    // A namespace whose lo carries some other alias is not taken over either.
    await ip(['-n', squatNode, 'link', 'set', 'dev', 'lo', 'alias', 'someone-else']);
    expect((await tabby(['node', 'adopt', 'squat'], env)).stderr).toContain('its lo carries the alias "someone-else", not a tabby mark');
    expect(await namespaceOwned(squatNode)).toBe(false);
    expect(await namespaceOwned(squatWl)).toBe(false);
    expect((await tabby(['node', 'adopt', 'nosuch'], env)).code).toBe(3);
  });

  it('an endpoint of another --netns-prefix keeps its record and its live namespace', async () => {
    const { prefix, env } = s;
    const other = uniquePrefix();
    others.push(other);
    const otherEnv = { ...env, TABBY_NETNS_PREFIX: other };
    expect((await tabby(['node', 'create', 'node1'], otherEnv)).code).toBe(0);
    expect((await tabby(['workload', 'create', 'shop/elsewhere', '--node', 'node1'], otherEnv)).code).toBe(0);
    const del = await tabby(['workload', 'delete', 'shop/elsewhere'], env);
    expect(del.code).toBe(1);
    expect(del.stderr).toContain(`annotation tabby.dev/netns names network namespace "${other}w-shop.elsewhere", not the workload's own ${prefix}w-shop.elsewhere`);
    expect(namespaceExists(`${other}w-shop.elsewhere`)).toBe(true);
    expect(await workloadNames(env)).toContain('elsewhere');
    // Under its own prefix it goes, record and all.
    expect((await tabby(['workload', 'delete', 'shop/elsewhere'], otherEnv)).code).toBe(0);
    expect(namespaceExists(`${other}w-shop.elsewhere`)).toBe(false);
    expect(await workloadNames(env)).not.toContain('elsewhere');
  });
});

describe.skipIf(KERNEL_SKIP_REASON)('node delete, the create rollback and long node names act only on what is proven theirs', () => {
  let s: Awaited<ReturnType<typeof scene>>;
  const processes: ChildProcess[] = [];
  beforeAll(async () => {
    s = await scene([], '10.70.0.0/16');
  }, 60_000);
  afterAll(async () => {
    for (const p of processes) if (alive(p)) process.kill(p.pid!, 'SIGKILL');
    await sweepPrefix(s.prefix);
    await rm(s.dir, { recursive: true, force: true });
  });

  it('node delete leaves a workload claiming the node whose veth cannot be inspected (another node\'s, broken)', async () => {
    const { prefix, dir, env } = s;
    expect((await tabby(['node', 'create', 'nodea'], env)).code).toBe(0);
    expect((await tabby(['node', 'create', 'nodeb'], env)).code).toBe(0);
    expect((await tabby(['workload', 'create', 'shop/g', '--node', 'nodea'], env)).code).toBe(0);
    const g = JSON.parse((await tabby(['get', 'workloadendpoint', '-n', 'shop', 'g', '-o', 'json'], env)).stdout) as { spec: { node: string } };
    g.spec.node = 'nodeb';
    await writeFile(join(dir, 'g.json'), JSON.stringify(g));
    expect((await tabby(['apply', '-f', join(dir, 'g.json')], env)).code).toBe(0);
    // Break g's veth: deleting the host end removes both ends.
    await ip(['-n', `${prefix}n-nodea`, 'link', 'del', vethName('shop', 'g')]);
    const inG = runIn(`${prefix}w-shop.g`);
    processes.push(inG);

    const del = await tabby(['node', 'delete', 'nodeb'], env);
    expect(del.code).toBe(1);
    expect(del.stderr).toContain(`workload shop/g: its endpoint names this node, but its veth cannot be proven on this node (missing or broken); left it alone (delete it with 'tabby workload delete shop/g')`);
    await new Promise((r) => setTimeout(r, 100));
    expect(namespaceExists(`${prefix}w-shop.g`)).toBe(true);
    expect(alive(inG)).toBe(true);
    expect(namespaceExists(`${prefix}n-nodeb`)).toBe(false);
    // Named by its own identity, it is Tabby's (marked) and goes.
    expect((await tabby(['workload', 'delete', 'shop/g'], env)).code).toBe(0);
    expect(namespaceExists(`${prefix}w-shop.g`)).toBe(false);
  });

  it('a namespace that appears between the check and the add is not rolled back (nor its processes killed)', async () => {
    const { prefix } = s;
    const netns = `${prefix}w-race.x`;
    let planted: ChildProcess | undefined;
    // The seam runs the real commands; just before the one that adds the namespace, someone else adds it.
    const racing = async (argv: readonly string[], input?: string) => {
      if (!planted && argv.join(' ').includes('netns add') && argv.join(' ').includes(netns)) {
        await ip(['netns', 'add', netns]);
        planted = runIn(netns);
        processes.push(planted);
      }
      return hostExec(argv, input);
    };
    await expect(createWorkloadNetwork({
      nodeNetns: `${prefix}n-node1`, netns, iface: vethName('race', 'x'), mac: workloadMac('race', 'x'), addresses: ['10.70.9.9'],
    }, racing)).rejects.toThrow(/File exists|exists/);
    await new Promise((r) => setTimeout(r, 100));
    expect(planted).toBeDefined();
    expect(namespaceExists(netns)).toBe(true);
    expect(alive(planted!)).toBe(true);
    expect(await ip(['-n', `${prefix}n-node1`, '-o', 'link', 'show'])).not.toContain(vethName('race', 'x'));
  });

  it('an interface of the workload\'s name already on the node makes the create fail without removing that interface', async () => {
    const { prefix, env } = s;
    const iface = vethName('shop', 'h');
    // Someone else's interface: a veth whose peer stays on the node (not a workload's eth0).
    await ip(['-n', `${prefix}n-node1`, 'link', 'add', iface, 'type', 'veth', 'peer', 'name', 'foreign0']);
    const res = await tabby(['workload', 'create', 'shop/h', '--node', 'node1'], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('workload shop/h not created');
    expect(await ip(['-n', `${prefix}n-node1`, '-o', 'link', 'show', 'dev', iface])).toContain(iface);
    expect(namespaceExists(`${prefix}w-shop.h`)).toBe(false);
    expect(await workloadNames(env)).not.toContain('h');
  });

  it('a 16-hex node name and a long name hashing to it are two nodes', async () => {
    const { prefix, env } = s;
    const long = `${'a'.repeat(63)}.${'b'.repeat(63)}`;
    const hex = createHash('sha1').update(long).digest('hex').slice(0, 16);
    expect((await tabby(['node', 'create', long], env)).code).toBe(0);
    // Before: `node <hex> already exists (namespace <prefix>n-<hex>)`, and deleting <hex> deleted the long one.
    const made = await tabby(['node', 'create', hex], env);
    expect(made.code).toBe(0);
    expect(namespaceExists(`${prefix}n-${hex}`)).toBe(true);
    expect(namespaceExists(`${prefix}n-_${hex}`)).toBe(true);
    expect((JSON.parse((await tabby(['node', 'list', '-o', 'json'], env)).stdout) as Array<{ name: string }>).map((n) => n.name)).toContain(hex);
    expect((await tabby(['node', 'delete', hex], env)).code).toBe(0);
    expect(namespaceExists(`${prefix}n-_${hex}`)).toBe(true);
    expect((await tabby(['node', 'delete', long], env)).code).toBe(0);
    expect(namespaceExists(`${prefix}n-_${hex}`)).toBe(false);
  });
});
