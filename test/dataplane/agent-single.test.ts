// Issue 12 §5 on a real node namespace with real agent processes:
// - a second `tabby agent --node N` while one runs refuses to start, names the first one's pid, and leaves the
//   first one's status alone; a lock left by an agent killed with -9, or one naming a live process that is not
//   the process that wrote it (a reused pid), does not block;
// - `tabby node delete N` stops N's agent (SIGTERM, waits), says so, and removes the agent's state files; a lock
//   naming a process that is not a tabby agent of N gets no signal and the node is not deleted;
// - an agent whose node namespace disappears under it (ip netns delete) stops, saying so, instead of retrying;
// - `tabby node list -o json` returns objects (name, netns, agent);
// - `tabby get wep -o wide` shows a workload made with `tabby workload create` (issue 12 §4).

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { captureCli, type CliRun } from '../cli/captureCli.js';
import { KERNEL_SKIP_REASON, sweepPrefix, sweepStaleTestNamespaces, uniquePrefix } from './support.js';
import { until, untilDefined } from '../poll.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface Agent {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** The identity a lockfile records (datastore/file/lock.ts): pid, start time, boot. */
function lockText(pid: number, start: string): string {
  const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  return JSON.stringify({ pid, start, boot, nonce: 'test' });
}

function startTime(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

describe.skipIf(KERNEL_SKIP_REASON)('one agent per node; node delete stops it', () => {
  const prefix = uniquePrefix();
  const others: ChildProcess[] = [];
  let dir: string;
  let state: string;
  let env: Record<string, string>;

  const tabby = (args: string[]): Promise<CliRun> => captureCli(args, { env: { ...process.env, ...env }, cwd: repoRoot });
  function agent(node: string): Agent {
    const child = spawn(process.execPath, [
      join(repoRoot, 'node_modules/.bin/vite-node'), join(repoRoot, 'test/dataplane/run-cli.ts'), 'agent', '--node', node,
    ], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    others.push(child);
    let text = '';
    child.stderr!.on('data', (d: Buffer) => { text += d.toString(); });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    return { child, stderr: () => text, exited };
  }
  async function status(node: string): Promise<{ state: string; pid: number; running: boolean } | undefined> {
    const res = await tabby(['agent', 'status', '--node', node, '-o', 'json']);
    return res.code === 0 ? JSON.parse(res.stdout) as { state: string; pid: number; running: boolean } : undefined;
  }
  const inSync = (node: string, pid: number): Promise<unknown> => untilDefined(`agent ${pid} in sync`, async () => {
    const s = await status(node);
    return s && s.pid === pid && s.state === 'in-sync' && s.running ? s : undefined;
  }, 60_000);

  beforeAll(async () => {
    await sweepStaleTestNamespaces();
    dir = await mkdtemp(join(tmpdir(), 'tabby-agent-single-'));
    state = join(dir, 'state');
    await mkdir(state);
    env = { TABBY_DATASTORE: `file:${join(dir, 'store')}`, TABBY_NETNS_PREFIX: prefix, TABBY_STATE_DIR: state };
  });
  afterAll(async () => {
    for (const c of others) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGKILL');
        await new Promise((r) => c.once('exit', r));
      }
    }
    await sweepPrefix(prefix);
    await rm(dir, { recursive: true, force: true });
  });

  it('lists nodes as objects and shows a created workload in get wep -o wide', async () => {
    expect((await tabby(['node', 'create', 'node1'])).code).toBe(0);
    const pool = 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: v4}\nspec: {cidr: 10.1.0.0/16}\n';
    expect((await captureCli(['apply', '-f', '-'], { stdin: pool, env: { ...process.env, ...env }, cwd: repoRoot })).code).toBe(0);
    expect((await tabby(['workload', 'create', 'x/a', '--node', 'node1'])).code).toBe(0);
    const wep = (await tabby(['get', 'wep', '-n', 'x', '-o', 'wide'])).stdout.trimEnd().split('\n').map((l) => l.split(/ {2,}/));
    expect(wep[0]).toEqual(['NAME', 'WORKLOAD', 'NODE', 'NETWORKS', 'INTERFACE', 'PROFILES', 'NATS']);
    expect(wep[1]).toEqual(['a', 'a', 'node1', '10.1.0.1/32', expect.stringMatching(/^cali[0-9a-f]{11}$/), 'kns.x', '<none>']);

    const list = await tabby(['node', 'list', '-o', 'json']);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([{ name: 'node1', netns: `${prefix}n-node1`, agent: { running: false } }]);
    expect((await tabby(['node', 'list'])).stdout).toBe('node1\n');
  });

  it('refuses a second agent for the node, naming the first one; stale and reused-pid locks do not block', async () => {
    // A lockfile naming a live process that did not write it (its pid reused: another start time) blocks nothing.
    const sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
    others.push(sleeper);
    await writeFile(join(state, 'agent-node1.pid'), lockText(sleeper.pid!, '1'));
    const first = agent('node1');
    await inSync('node1', first.child.pid!);
    expect(JSON.parse((await tabby(['node', 'list', '-o', 'json'])).stdout))
      .toEqual([{ name: 'node1', netns: `${prefix}n-node1`, agent: { running: true, pid: first.child.pid } }]);

    const second = agent('node1');
    expect(await second.exited).toBe(4);
    expect(second.stderr()).toContain(`an agent for node node1 is already running (pid ${first.child.pid}); not starting a second one`);
    // The first one's status is untouched and it still runs.
    expect(await status('node1')).toMatchObject({ pid: first.child.pid, state: 'in-sync', running: true });

    // Killed with -9, the first agent leaves its lockfile behind; it does not block the next agent.
    first.child.kill('SIGKILL');
    await first.exited;
    expect(readFileSync(join(state, 'agent-node1.pid'), 'utf8')).toContain(`"pid":${first.child.pid}`);
    const third = agent('node1');
    await inSync('node1', third.child.pid!);
    expect(third.stderr()).not.toContain('already running');
  });

  it('node delete stops the node\'s agent and removes its state files', async () => {
    const running = (await status('node1'))!;
    expect(running.running).toBe(true);
    const del = await tabby(['node', 'delete', 'node1']);
    expect(del.stderr).toBe('');
    expect(del.code).toBe(0);
    expect(del.stdout).toBe(`Stopped the agent of node node1 (pid ${running.pid})\nDeleted node node1 and its workloads x/a\n`);
    await until('agent exit', () => {
      try {
        process.kill(running.pid, 0);
        return false;
      } catch {
        return true;
      }
    });
    expect(readdirSync(state).filter((f) => f.startsWith('agent-node1'))).toEqual([]);
    expect((await tabby(['agent', 'status', '--node', 'node1'])).code).toBe(3);
    expect(JSON.parse((await tabby(['node', 'list', '-o', 'json'])).stdout)).toEqual([]);
  });

  it('never signals a process that is not a tabby agent of the node, and keeps the node', async () => {
    expect((await tabby(['node', 'create', 'node2'])).code).toBe(0);
    const sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
    others.push(sleeper);
    await until('sleep started', () => existsSync(`/proc/${sleeper.pid}/stat`));
    // A lockfile that names a live process exactly (pid and start time), but that process is `sleep`.
    await writeFile(join(state, 'agent-node2.pid'), lockText(sleeper.pid!, startTime(sleeper.pid!)));
    const del = await tabby(['node', 'delete', 'node2']);
    expect(del.code).toBe(1);
    expect(del.stderr).toContain(`process ${sleeper.pid} holds the agent lock`);
    expect(del.stderr).toContain('not signalling it');
    expect(del.stderr).toContain('node node2 not deleted');
    expect(sleeper.exitCode).toBeNull();
    expect(sleeper.signalCode).toBeNull();
    expect(JSON.parse((await tabby(['node', 'list', '-o', 'json'])).stdout)).toMatchObject([{ name: 'node2' }]);
    // The agent refuses to start as well: the lock is held by a live process.
    const blocked = agent('node2');
    expect(await blocked.exited).toBe(4);
    sleeper.kill('SIGKILL');
    await until('sleep gone', () => !existsSync(`/proc/${sleeper.pid}/stat`) || readFileSync(`/proc/${sleeper.pid}/stat`, 'utf8').includes(') Z '));
    const again = await tabby(['node', 'delete', 'node2']);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('Deleted node node2\n');
    expect(readdirSync(state).filter((f) => f.startsWith('agent-node2'))).toEqual([]);
  });

  it('a node delete that is refused (the namespace lost its mark) leaves the node\'s agent running', async () => {
    expect((await tabby(['node', 'create', 'node4'])).code).toBe(0);
    const a = agent('node4');
    await inSync('node4', a.child.pid!);
    // The mark removed behind Tabby's back: the namespace is no longer provably Tabby's, so nothing may be stopped.
    execFileSync('ip', ['-n', `${prefix}n-node4`, 'link', 'set', 'dev', 'lo', 'alias', '']);
    const del = await tabby(['node', 'delete', 'node4']);
    expect(del.code).toBe(1);
    expect(del.stderr).toContain('not deleting it');
    expect(del.stdout).not.toContain('Stopped the agent');
    expect(a.child.exitCode).toBeNull();
    expect(await status('node4')).toMatchObject({ pid: a.child.pid, running: true });
    a.child.kill('SIGTERM');
    await a.exited;
    execFileSync('ip', ['netns', 'delete', `${prefix}n-node4`]);
  });

  it('an agent whose node namespace is deleted under it stops instead of retrying', async () => {
    expect((await tabby(['node', 'create', 'node3'])).code).toBe(0);
    const a = agent('node3');
    await inSync('node3', a.child.pid!);
    // The namespace this test created, removed behind Tabby's back.
    execFileSync('ip', ['netns', 'delete', `${prefix}n-node3`]);
    expect(await a.exited).toBe(3);
    expect(a.stderr()).toContain(`stopped: node node3 no longer exists (network namespace ${prefix}n-node3 is gone, and its ruleset with it)`);
    expect(a.stderr()).not.toContain('the ruleset stays in the kernel');
  });
});
