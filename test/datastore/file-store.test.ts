// The file store: the shared behaviour suite, then its own faults — writers killed with -9 at random moments,
// torn journal tails, stale and live locks, several processes writing at once, watchers in other processes.

import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { WatchEvent } from '../../src/datastore/index.js';
import { FileStore, isUnavailable } from '../../src/datastore/index.js';
import { encodeFrame } from '../../src/datastore/file/framing.js';
import { bundleChild, removeBundles } from './children/bundle.js';
import { datastoreSuite, type PartitionedWatch } from './datastore.case.js';
import { Collector, gnp, specOf } from './fixtures.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'tabby-fs-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const children = new Set<ChildProcess>();
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  removeBundles();
});

function runChild(bundle: string, args: string[]): { proc: ChildProcess; lines: string[]; exited: Promise<number | null> } {
  const proc = spawn(process.execPath, [bundle, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  const lines: string[] = [];
  let partial = '';
  proc.stdout!.on('data', (c: Buffer) => {
    const parts = (partial + c.toString()).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  let stderr = '';
  proc.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => {
    children.delete(proc);
    if (code !== 0 && code !== null && stderr) console.error(stderr);
    r(code);
  }));
  return { proc, lines, exited };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitFor(pred: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

let watchBundle = '';
let writerBundle = '';
let bumperBundle = '';
beforeAll(async () => {
  watchBundle = await bundleChild('file-watch');
  writerBundle = await bundleChild('file-writer');
  bumperBundle = await bundleChild('file-bumper');
}, 60_000);

datastoreSuite({
  name: 'file',
  async fresh() {
    const dir = tempDir();
    return {
      open: (options) => FileStore.open({ dir, pollIntervalMs: 50, ...options }),
      // The watcher runs in another process; SIGSTOP cuts it off (it sees nothing until SIGCONT).
      async partitioned(options): Promise<PartitionedWatch> {
        const child = runChild(watchBundle, [dir, JSON.stringify(options)]);
        const events = (): WatchEvent[] => child.lines.map((l) => {
          const v = JSON.parse(l) as WatchEvent | { error: string };
          if ('error' in v) throw new Error(v.error);
          return v;
        });
        return {
          async until(pred, timeoutMs = 20_000) {
            await waitFor(() => pred(events()), timeoutMs, 'watch events');
            return events();
          },
          cut: async () => { child.proc.kill('SIGSTOP'); },
          restore: async () => { child.proc.kill('SIGCONT'); },
          close: async () => {
            child.proc.kill('SIGKILL');
            await child.exited;
          },
        };
      },
      dispose: async () => undefined,
    };
  },
});

describe('file store faults', () => {
  it('survives kill -9 of a writer at random moments: every acknowledged change kept, never unreadable', async () => {
    const dir = tempDir();
    const model = new Map<string, string>(); // name → seq label
    let acked = 0; // revision of the last acknowledged change
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const ITERATIONS = 30;
    for (let i = 0; i < ITERATIONS; i++) {
      const child = runChild(writerBundle, [dir, String(1000 + i)]);
      const target = 1 + rand(60);
      await waitFor(() => child.lines.length >= target || child.proc.exitCode !== null, 30_000, 'writer progress');
      await sleep(rand(5));
      child.proc.kill('SIGKILL');
      await child.exited;
      expect(child.proc.signalCode).toBe('SIGKILL');
      const lines = child.lines.filter((l) => l.startsWith('ok '));
      for (const l of lines) {
        const [, rev, op, name, seq] = l.split(' ');
        acked = Math.max(acked, Number(rev));
        if (op === 'put') model.set(name!, seq!);
        else if (op === 'del') model.delete(name!);
      }
      // Reopen as a fresh process would: it must load, and hold exactly the acknowledged state, or that state
      // plus the one change the writer had in flight (written, not yet acknowledged).
      const store = await FileStore.open({ dir });
      try {
        const rev = await store.revision();
        const { items } = await store.list();
        const actual = new Map(items.map((r) => [r.metadata.name, r.metadata.labels?.seq ?? '?']));
        expect(rev === acked || rev === acked + 1, `revision ${rev} after acknowledged ${acked}`).toBe(true);
        const differing = [...new Set([...model.keys(), ...actual.keys()])].filter((k) => model.get(k) !== actual.get(k));
        if (rev === acked) expect(differing).toEqual([]);
        else expect(differing.length).toBeLessThanOrEqual(1);
        // Adopt the in-flight change, and prove the store takes writes again (the killed writer may have held
        // the lock).
        model.clear();
        for (const [k, v] of actual) model.set(k, v);
        const w = await store.apply({ ...gnp('p0'), metadata: { name: 'p0', labels: { seq: `parent${i}` } } });
        model.set('p0', `parent${i}`);
        acked = Number(w.resource.metadata.resourceVersion);
      } finally {
        await store.close();
      }
    }
  }, 180_000);

  it('ignores a torn journal tail and cuts it on the next write', async () => {
    const dir = tempDir();
    const s1 = await FileStore.open({ dir });
    await s1.create(gnp('a'));
    await s1.close();
    const journal = join(dir, 'journal.log');
    const good = readFileSync(journal);
    // What a writer killed mid-append leaves: the first part of a record (format 2 framing), no final newline.
    const record = encodeFrame({ rev: 2, op: 'put', key: 'projectcalico.org/globalnetworkpolicies/b', value: gnp('b') });
    appendFileSync(journal, record.subarray(0, record.length - 40));
    const s2 = await FileStore.open({ dir });
    expect((await s2.list()).items.map((r) => r.metadata.name)).toEqual(['a']);
    await s2.create(gnp('c'));
    await s2.close();
    const text = readFileSync(journal, 'utf8');
    expect(text.startsWith(good.toString())).toBe(true);
    expect(text).not.toContain('globalnetworkpolicies/b');
    const s3 = await FileStore.open({ dir });
    expect((await s3.list()).items.map((r) => r.metadata.name)).toEqual(['a', 'c']);
    await s3.close();
  });

  it('takes over a lock left by a dead process, and waits for a live one', async () => {
    const dir = tempDir();
    const s = await FileStore.open({ dir, lockTimeoutMs: 300 });
    // A holder that no longer runs (pid far beyond pid_max on a real boot id).
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: 2 ** 30, start: '1', boot, nonce: 'dead' }));
    await s.create(gnp('a'));
    // A live holder: this very process, under another instance's nonce.
    const self = readFileSync('/proc/self/stat', 'utf8');
    const start = self.slice(self.lastIndexOf(')') + 2).split(' ')[19];
    writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: process.pid, start, boot, nonce: 'live' }));
    const err = await s.create(gnp('b')).catch((e: unknown) => e);
    expect(isUnavailable(err)).toBe(true);
    expect((err as Error).message).toMatch(/^datastore unavailable at file:.*: the store is locked: .*held by process \d+/);
    rmSync(join(dir, 'lock'));
    await s.create(gnp('b'));
    await s.close();
  });

  it('serialises several processes writing at once (no increment lost)', async () => {
    const dir = tempDir();
    const s = await FileStore.open({ dir });
    await s.create(gnp('counter', { order: 0 }));
    const procs = [0, 1, 2].map(() => runChild(bumperBundle, [dir, '40']));
    const codes = await Promise.all(procs.map((p) => p.exited));
    expect(codes).toEqual([0, 0, 0]);
    const counter = await s.get({ kind: 'GlobalNetworkPolicy', name: 'counter' });
    expect(specOf(counter).order).toBe(120);
    await s.close();
  }, 120_000);

  it('shows changes made by another process to a watcher here', async () => {
    const dir = tempDir();
    const s = await FileStore.open({ dir, pollIntervalMs: 50 });
    const c = new Collector(s.watch({}));
    await c.until((e) => e.some((x) => x.type === 'synced'));
    const child = runChild(writerBundle, [dir, '7']);
    await waitFor(() => child.lines.length >= 20, 30_000, 'writer progress');
    child.proc.kill('SIGKILL');
    await child.exited;
    const rev = await s.revision();
    await c.until((e) => e.some((x) => x.type !== 'synced' && x.revision >= rev));
    const revs = c.events.filter((e) => e.type !== 'synced').map((e) => e.revision);
    expect(revs).toEqual([...revs].sort((a, b) => a - b));
    await c.close();
    await s.close();
  }, 60_000);

  it('compacts automatically and still resumes watches inside the retained history', async () => {
    const dir = tempDir();
    const s = await FileStore.open({ dir, autoCompact: { afterRecords: 20, retain: 5 } });
    for (let i = 0; i < 30; i++) await s.apply(gnp(`p${i % 4}`, { order: i }));
    const rev = await s.revision();
    const c = new Collector(s.watch({ fromRevision: rev - 3 }));
    await c.until((e) => e.length >= 3);
    expect(c.events.map((e) => e.revision)).toEqual([rev - 2, rev - 1, rev]);
    await c.close();
    const text = readFileSync(join(dir, 'journal.log'), 'utf8');
    expect(text.split('\n').length).toBeLessThan(30);
    await s.close();
  });
});
