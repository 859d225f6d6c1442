// Issue 10 §1 on real traffic: a datastore that went back in time never makes the agent program an older or
// emptier policy set. The file store's directory is replaced by an older copy (taken before a deny was written):
// - under a running agent, the blocked flow stays blocked and the status reports the refusal;
// - across an agent restart (the agent process is stopped, the copy restored, a new process started), the new
//   process refuses the store — the kernel keeps the table it had — until started with --accept-store-reset;
// - a store whose files cannot be read at all (a damaged journal) leaves the table as it is, and the agent
//   retries and reports instead of exiting or flushing.

import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { IPPool, NetworkPolicy } from '../../src/api/index.js';
import type { AgentStatus } from '../../src/dataplane/agent.js';
import { captureCli } from '../cli/captureCli.js';
import { TestCluster } from './cluster.js';
import { KERNEL_SKIP_REASON, sweepPrefix, sweepStaleTestNamespaces, uniquePrefix } from './support.js';
import { sleep, untilDefined } from '../poll.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const pool: IPPool = { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'v4' }, spec: { cidr: '10.1.0.0/16' } };
const denyB: NetworkPolicy = {
  apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy', metadata: { name: 'deny-b', namespace: 'x' },
  spec: { selector: "pod == 'b'", types: ['Ingress'] },
};

/** Workloads x/a (10.1.0.1) and x/b (10.1.0.2) serving TCP 80. */
async function twoWorkloads(c: TestCluster): Promise<void> {
  await c.store.apply(pool);
  for (const name of ['a', 'b']) {
    const res = await c.workloads.create({ namespace: 'x', name, node: c.node, labels: { pod: name } });
    if (!res.ok) throw new Error(res.issues[0]!.message);
    await c.startProbe(`x/${name}`, (await c.workloads.get('x', name))!.netns);
    await c.serve(`x/${name}`, 'tcp', 80);
  }
}

async function reach(c: TestCluster, from: string, to: string): Promise<boolean> {
  const ip = { 'x/a': '10.1.0.1', 'x/b': '10.1.0.2' }[to]!;
  return (await c.connect(from, 'tcp', ip, 80, { timeoutMs: 700 })).ok;
}

/** Replaces the store's files by those of a copy of its directory (what restoring a backup does). */
async function restore(copy: string, dir: string): Promise<void> {
  // Every file of the copy but the writer lock, each replaced by rename (a new inode, as a restore makes).
  for (const f of (await readdir(copy)).filter((n) => n !== 'lock')) {
    await cp(join(copy, f), join(dir, `${f}.restore`));
    await rename(join(dir, `${f}.restore`), join(dir, f));
  }
}

/** The table's chains and rules, without counters: what the kernel enforces. */
async function ruleset(c: TestCluster): Promise<string[]> {
  const t = await c.nft().list();
  return [...(t?.chains.values() ?? [])].flatMap(({ chain, rules }) => rules.map((r) => `${chain.name}: ${r.rule}`));
}


describe.skipIf(KERNEL_SKIP_REASON)('the datastore went back in time', () => {
  const prefix = uniquePrefix();
  beforeAll(async () => {
    await sweepStaleTestNamespaces();
  });
  afterAll(async () => {
    await sweepPrefix(prefix);
  });

  it('under a running agent: the blocked flow stays blocked and the status says why', async () => {
    const c = await TestCluster.create(`${prefix}run-`);
    const stateDir = await mkdtemp(join(tmpdir(), 'tabby-agent-state-'));
    const older = await mkdtemp(join(tmpdir(), 'tabby-older-'));
    try {
      await twoWorkloads(c);
      await cp(c.dir, older, { recursive: true });
      await c.store.apply(denyB);
      const agent = await c.startAgent({ healthCheckMs: 100, statusFile: join(stateDir, `agent-${c.node}.json`) });
      const enforced = await c.enforced();
      expect(await reach(c, 'x/a', 'x/b')).toBe(false);
      expect(await reach(c, 'x/b', 'x/a')).toBe(true);
      const before = await ruleset(c);

      await restore(older, c.dir);
      await untilDefined('the refusal', async () => (agent.status().datastore === 'rolled-back' ? true : undefined));
      expect(agent.status()).toMatchObject({
        state: 'error', enforcedRevision: enforced,
        lastError: expect.stringMatching(new RegExp(`went back in time: file:.* is at revision \\d+, older than revision ${enforced} already received`)),
      });
      // A write to the restored store (at a revision the agent has passed) is refused too: its history diverged.
      await c.store.apply({ ...denyB, metadata: { name: 'other', namespace: 'x' }, spec: { selector: "pod == 'a'", types: ['Egress'], egress: [{ action: 'Allow' }] } });
      await sleep(500);
      expect(await reach(c, 'x/a', 'x/b')).toBe(false);
      expect(await reach(c, 'x/b', 'x/a')).toBe(true);
      expect(await ruleset(c)).toEqual(before);
      expect(agent.status()).toMatchObject({
        state: 'error', datastore: 'rolled-back', enforcedRevision: enforced,
        lastError: expect.stringMatching(/the datastore's history changed: .* holds projectcalico.org\/networkpolicies\/x\/other at resourceVersion \d+, which revision \d+ never had/),
      });

      const text = await captureCli(['agent', 'status', '--node', c.node, '--state-dir', stateDir]);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/State: +error/);
      expect(text.stdout).toMatch(/Datastore: +REFUSED: it went back in time or lost objects \(the ruleset stays as it is\)/);
      expect(text.stdout).toMatch(/Last error: +the datastore's history changed/);
    } finally {
      await c.close();
      await rm(stateDir, { recursive: true, force: true });
      await rm(older, { recursive: true, force: true });
    }
  }, 120_000);

  it('across a restart: the new agent refuses the older store until --accept-store-reset; a damaged store is retried', async () => {
    const c = await TestCluster.create(`${prefix}restart-`);
    const stateDir = await mkdtemp(join(tmpdir(), 'tabby-agent-state-'));
    const older = await mkdtemp(join(tmpdir(), 'tabby-older-'));
    const statusFile = join(stateDir, `agent-${c.node}.json`);
    let child: ChildProcess | undefined;
    const startAgent = (...extra: string[]): ChildProcess => spawn(process.execPath, [
      join(repoRoot, 'node_modules/.bin/vite-node'), join(repoRoot, 'test/dataplane/run-cli.ts'),
      'agent', '--node', c.node, '--datastore', `file:${c.dir}`, '--state-dir', stateDir, '--netns-prefix', c.prefix, ...extra,
    ], { stdio: ['ignore', 'ignore', 'pipe'], cwd: repoRoot });
    const stop = async (): Promise<void> => {
      if (!child || child.exitCode !== null) return;
      const gone = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    };
    const statusOf = (p: ChildProcess, cond: (s: AgentStatus) => boolean) => async (): Promise<AgentStatus | undefined> => {
      const s = JSON.parse(await readFile(statusFile, 'utf8').catch(() => '{}')) as AgentStatus;
      return s.pid === p.pid && cond(s) ? s : undefined;
    };
    try {
      await twoWorkloads(c);
      await cp(c.dir, older, { recursive: true });
      await c.store.apply(denyB);
      const revision = await c.store.revision();
      child = startAgent();
      await untilDefined('the first agent to enforce', statusOf(child, (s) => s.enforcedRevision >= revision));
      expect(await reach(c, 'x/a', 'x/b')).toBe(false);
      await stop();
      const before = await ruleset(c);
      const record = JSON.parse(await readFile(join(stateDir, `agent-${c.node}.enforced.json`), 'utf8')) as { endpoint: string; revision: number };
      expect(record).toMatchObject({ endpoint: `file:${c.dir}`, revision });

      // The older copy comes back while no agent runs; a new agent must not enforce it.
      await restore(older, c.dir);
      child = startAgent();
      const refused = await untilDefined('the refusal', statusOf(child, (s) => s.datastore === 'rolled-back'));
      expect(refused).toMatchObject({
        state: 'error', enforcedRevision: -1, earlierRun: { endpoint: `file:${c.dir}`, revision },
        lastError: expect.stringMatching(new RegExp(`went back in time: file:.* is at revision \\d+, older than revision ${revision} this node enforces`)),
      });
      await sleep(500);
      expect(await reach(c, 'x/a', 'x/b')).toBe(false);
      expect(await ruleset(c)).toEqual(before);
      const text = (await captureCli(['agent', 'status', '--node', c.node, '--state-dir', stateDir])).stdout;
      expect(text).toMatch(/State: +error/);
      expect(text).toMatch(/Last error: +the datastore went back in time/);
      expect(text).toMatch(new RegExp(`Enforced revision: +none yet by this run \\(seen -1\\); the kernel holds revision ${revision} of ".*" from an earlier run`));
      await stop();

      // A journal that cannot be read: the agent keeps the table, reports, and retries (it does not exit).
      const journal = await readFile(join(c.dir, 'journal.log'));
      await writeFile(join(c.dir, 'journal.log'), Buffer.concat([Buffer.from('\u0000garbage\n'), journal]));
      child = startAgent();
      const damaged = await untilDefined('the damaged store to be reported', statusOf(child, (s) => s.datastore === 'damaged'));
      expect(damaged).toMatchObject({ state: 'error', lastError: expect.stringMatching(/^datastore: datastore file:.* is damaged: .*journal/) });
      await sleep(500);
      expect(child.exitCode).toBeNull();
      expect(await reach(c, 'x/a', 'x/b')).toBe(false);
      expect(await ruleset(c)).toEqual(before);
      await stop();

      // The operator says so: the older store is enforced as it is (it has no deny).
      await restore(older, c.dir);
      child = startAgent('--accept-store-reset');
      await untilDefined('the accepted store to be enforced', statusOf(child, (s) => s.state === 'in-sync' && s.enforcedRevision >= 0));
      expect(await reach(c, 'x/a', 'x/b')).toBe(true);
      const accepted = JSON.parse(await readFile(join(stateDir, `agent-${c.node}.enforced.json`), 'utf8')) as { revision: number };
      expect(accepted.revision).toBeLessThan(revision);
    } finally {
      if (child && child.exitCode === null) {
        child.kill('SIGKILL');
        await new Promise((r) => child!.once('exit', r));
      }
      await c.close();
      await rm(stateDir, { recursive: true, force: true });
      await rm(older, { recursive: true, force: true });
    }
  }, 240_000);
});
