// The datastore → engine loop on a real file store: a store restored from an older copy is refused (nothing fed,
// no batch) and accepted again once the right copy is back; a restart's baseline refuses an older or another
// store unless told otherwise; an engine exception for one object skips it and keeps its last valid version; a
// store that cannot be opened yet is retried.
import { cp, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import type { Resource, ResourceUpdate } from '../../src/api/index.js';
import {
  FileStore, UnavailableError, type Datastore, type ListOptions, type Watch, type WatchOptions,
} from '../../src/datastore/index.js';
import { PolicyEngine } from '../../src/engine/index.js';
import { DatastoreSyncer, type SyncStatus, type SyncerOptions } from '../../src/sync/index.js';
import { gnp } from '../datastore/fixtures.js';
import { sleep, until } from '../poll.js';


const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tabby-sync-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function fileStore(dir: string): Promise<FileStore> {
  const s = await FileStore.open({ dir, pollIntervalMs: 20 });
  cleanups.push(() => s.close());
  return s;
}

/** Replaces the store's files by those of `from`, as restoring a backup of the directory does. */
async function restore(copy: string, dir: string): Promise<void> {
  // Every file of the copy but the writer lock, each replaced by rename (a new inode, as a restore makes).
  for (const f of (await readdir(copy)).filter((n) => n !== 'lock')) {
    await cp(join(copy, f), join(dir, `${f}.restore`));
    await rename(join(dir, `${f}.restore`), join(dir, f));
  }
}

function harness(options: Partial<SyncerOptions> & Pick<SyncerOptions, 'store'>, engine = new PolicyEngine()) {
  const batches: number[] = [];
  const logs: string[] = [];
  const syncer = new DatastoreSyncer({
    engine, debounceMs: 1, healthCheckMs: 50, retryMs: { first: 20, max: 100 }, log: (l) => logs.push(l),
    onBatch: async (revision) => {
      engine.flush();
      batches.push(revision);
      return true;
    },
    ...options,
  });
  syncer.start();
  cleanups.push(() => syncer.stop());
  const policies = (): string[] => engine.policies().map((p) => p.id.name).sort();
  return { syncer, engine, batches, logs, policies, status: (): SyncStatus => syncer.status() };
}

describe('DatastoreSyncer', () => {
  it('refuses a store restored from an older copy, feeds nothing, and accepts the right copy again', async () => {
    const dir = await tempDir();
    const store = await fileStore(dir);
    await store.apply(gnp('a'));
    const older = await tempDir();
    await cp(dir, older, { recursive: true });
    await store.apply(gnp('b'));
    await store.delete({ kind: 'GlobalNetworkPolicy', name: 'a' });
    const newer = await tempDir();
    await cp(dir, newer, { recursive: true });

    const h = harness({ store });
    await until('revision 3', () => h.batches.includes(3));
    expect(h.policies()).toEqual(['b']);

    await restore(older, dir);
    await until('the refusal', () => h.status().refused);
    expect(h.status()).toMatchObject({
      datastore: 'rolled-back', seenRevision: 3,
      lastError: expect.stringMatching(/went back in time: file:.* is at revision 1, older than revision 3 already received/),
    });
    const batches = h.batches.length;
    await sleep(300);
    expect(h.policies()).toEqual(['b']); // not a, not empty: what was enforced stays
    expect(h.batches.length).toBe(batches);

    await restore(newer, dir);
    await until('acceptance', () => !h.status().refused);
    expect(h.status()).toMatchObject({ datastore: 'connected', seenRevision: 3 });
    await store.apply(gnp('c'));
    await until('revision 4', () => h.batches.includes(4));
    expect(h.policies()).toEqual(['b', 'c']);
  });

  it('refuses, at start, a store older than the baseline or another store — unless told to accept it', async () => {
    const store = await fileStore(await tempDir());
    await store.apply(gnp('a'));
    const older = harness({ store, baseline: { endpoint: store.endpoint, revision: 50 } });
    await until('the refusal', () => older.status().refused);
    expect(older.status()).toMatchObject({ datastore: 'rolled-back', inSync: false, lastError: expect.stringMatching(/older than revision 50 this node enforces/) });
    const other = harness({ store, baseline: { endpoint: 'file:/elsewhere', revision: 1 } });
    await until('the refusal', () => other.status().refused);
    expect(other.status()).toMatchObject({ datastore: 'replaced', lastError: expect.stringMatching(/not the one this node enforces/) });
    await sleep(200);
    expect([...older.batches, ...other.batches]).toEqual([]);

    const accepted = harness({ store, baseline: { endpoint: store.endpoint, revision: 50 }, acceptStoreReset: true });
    await until('a batch', () => accepted.batches.length > 0);
    expect(accepted.policies()).toEqual(['a']);
    expect(accepted.logs.join('\n')).toMatch(/accepting file:.* at revision 1 \(--accept-store-reset\)/);
  });

  it('skips an object the engine throws on, keeps its last valid version, and clears it when a good one comes', async () => {
    // A real engine with a fault injected for one object's version: what a bug in a conversion would do.
    class FaultyEngine extends PolicyEngine {
      override apply(update: ResourceUpdate): void {
        if (update.type === 'upsert' && (update.resource.metadata.labels ?? {})['boom'] === 'yes') {
          throw new TypeError("Cannot read properties of null (reading 'resourceVersion')");
        }
        super.apply(update);
      }
    }
    const store = await fileStore(await tempDir());
    await store.apply(gnp('p', { order: 10 }));
    const h = harness({ store }, new FaultyEngine());
    await until('a batch', () => h.batches.length > 0);
    const bad = await store.apply(gnp('p', { order: 20, labels: { boom: 'yes' } }));
    await until('the skip', () => h.status().skippedCount === 1);
    expect(h.status().skipped).toEqual([{
      key: 'projectcalico.org/globalnetworkpolicies/p', resource: { kind: 'GlobalNetworkPolicy', name: 'p' },
      reason: expect.stringMatching(/^the engine failed on it: Cannot read properties of null/),
      revision: Number(bad.resource.metadata.resourceVersion),
    }]);
    expect(h.engine.policy({ kind: 'GlobalNetworkPolicy', name: 'p' })?.order).toBe(10);
    await store.apply(gnp('other'));
    await until('the next batch', () => h.policies().includes('other'));
    expect(h.status()).toMatchObject({ inSync: true, skippedCount: 1, datastore: 'connected' });

    await store.apply(gnp('p', { order: 30 }));
    await until('the skip to clear', () => h.status().skippedCount === 0);
    expect(h.engine.policy({ kind: 'GlobalNetworkPolicy', name: 'p' })?.order).toBe(30);
  });

  it('relists after a broken watch and feeds the engine only the difference', async () => {
    const real = await fileStore(await tempDir());
    for (const n of ['a', 'b', 'x']) await real.apply(gnp(n));
    // The real store, with the watch breakable and later lists held until the test lets them through.
    let watch: Watch | undefined;
    let lists = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const store: Datastore = Object.assign(Object.create(real) as Datastore, {
      list: async (o?: ListOptions) => { if (lists++ > 0) await gate; return real.list(o); },
      watch: (o?: WatchOptions) => (watch = real.watch(o)),
    });
    const applied: string[] = [];
    class Recording extends PolicyEngine {
      override apply(update: ResourceUpdate): void {
        applied.push(update.type === 'upsert' ? `upsert ${update.resource.metadata.name}` : `delete ${update.key.name}`);
        super.apply(update);
      }
    }
    const h = harness({ store }, new Recording());
    await until('a batch', () => h.batches.length > 0);
    expect(applied.sort()).toEqual(['upsert a', 'upsert b', 'upsert x']);
    applied.length = 0;

    await watch!.close(); // the watch ends: the syncer lists again (held by the gate)
    await until('the relist', () => lists === 2);
    await real.delete({ kind: 'GlobalNetworkPolicy', name: 'a' });
    await real.apply(gnp('b', { order: 5 }));
    await real.apply(gnp('c'));
    release();
    await until('revision 6', () => h.batches.includes(6));
    expect(applied.sort()).toEqual(['delete a', 'upsert b', 'upsert c']); // x untouched: no start from empty
    expect(h.policies()).toEqual(['b', 'c', 'x']);
    expect(h.engine.policy({ kind: 'GlobalNetworkPolicy', name: 'b' })?.order).toBe(5);
  });

  it('keeps what it has when the store becomes damaged under it, reports damaged, and retries', async () => {
    const dir = await tempDir();
    const store = await fileStore(dir);
    for (const n of ['a', 'b', 'c']) await store.apply(gnp(n));
    const h = harness({ store });
    await until('a batch', () => h.batches.length > 0);
    // One flipped byte in the middle of the journal (issue 10 §1's reproduction).
    const journal = await readFile(join(dir, 'journal.log'));
    const at = Math.floor(journal.length / 2);
    journal[at] = journal[at]! ^ 0x20;
    await writeFile(join(dir, 'journal.log.damaged'), journal);
    await rename(join(dir, 'journal.log.damaged'), join(dir, 'journal.log'));
    await until('damaged', () => h.status().datastore === 'damaged');
    expect(h.status().lastError).toMatch(/is damaged: .*journal\.log at byte \d+/);
    const batches = h.batches.length;
    await sleep(300);
    expect(h.batches.length).toBe(batches);
    expect(h.policies()).toEqual(['a', 'b', 'c']);
  });

  it('retries a store that cannot be opened yet, reporting it unavailable', async () => {
    const dir = await tempDir();
    let attempts = 0;
    const open = async (): Promise<Datastore> => {
      if (++attempts < 3) throw new UnavailableError(`file:${dir}`, 'not yet');
      const s = await FileStore.open({ dir, pollIntervalMs: 20 });
      await s.apply(gnp('a') as Resource);
      return s;
    };
    const h = harness({ store: open });
    await until('unavailable', () => h.status().datastore === 'unavailable');
    expect(h.status().lastError).toMatch(/datastore unavailable at file:.*: not yet/);
    await until('a batch', () => h.batches.length > 0);
    expect(attempts).toBe(3);
    expect(h.status()).toMatchObject({ datastore: 'connected', inSync: true });
    expect(h.status().lastError).toBeUndefined();
  });
});
