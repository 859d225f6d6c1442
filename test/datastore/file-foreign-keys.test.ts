// A journal record at a key that is no object key (only a foreign writer makes one: a well-framed record, as
// agent-fuzz.test.ts writes them) names nothing a reader can use, get or delete. Found by the agent fuzz on the
// file store: list and watch reported it as skipped, but a watch has no event for its deletion, so a running agent
// kept reporting it after it was gone. Now list and watch leave such keys out, as the etcd store leaves out other
// tools' keys under its prefix; they stay on disk and `tabby datastore check` lists them.

import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';

import { checkFileStore, FileStore, type WatchEvent } from '../../src/datastore/index.js';
import { encodeFrame } from '../../src/datastore/file/framing.js';
import type { JournalRecord } from '../../src/datastore/file/journal.js';
import { Collector, gnp } from './fixtures.js';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const names = (events: WatchEvent[]) => events.map((e) =>
  e.type === 'upsert' ? `${e.op}:${e.resource.metadata.name}` : e.type === 'delete' ? `delete:${e.key.name}` : e.type === 'skipped' ? `skipped:${e.skipped.key}` : e.type);

it('list and watch leave out a journal key that is no object key; check lists it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tabby-foreign-keys-'));
  dirs.push(dir);
  const store = await FileStore.open({ dir, pollIntervalMs: 20 });
  const append = async (record: (rev: number) => JournalRecord): Promise<void> => {
    appendFileSync(join(dir, 'journal.log'), encodeFrame(record((await store.revision()) + 1)));
  };
  try {
    await store.create(gnp('good'));
    const watch = new Collector(store.watch({}));
    await watch.until((e) => e.some((x) => x.type === 'synced'));
    for (const key of ['not/an/object/key', 'projectcalico.org/globalnetworkpolicies']) {
      await append((rev) => ({ rev, op: 'put', key, value: { kind: 'GlobalNetworkPolicy', metadata: null } }));
    }
    await store.create(gnp('after'));
    await watch.until((e) => e.some((x) => x.type === 'upsert' && x.resource.metadata.name === 'after'));
    expect(names(watch.events)).toEqual(['add:good', 'synced', 'add:after']);
    expect((await store.list()).skipped).toBeUndefined();
    const reopened = await FileStore.open({ dir });
    expect((await reopened.list()).skipped).toBeUndefined();
    const watchFromStart = new Collector(reopened.watch({}));
    await watchFromStart.until((e) => e.some((x) => x.type === 'synced'));
    expect(names(watchFromStart.events)).toEqual(['add:after', 'add:good', 'synced']);
    await watchFromStart.close();
    await reopened.close();

    expect(checkFileStore(dir).unreadable.map((u) => [u.key, u.reason])).toEqual([
      ['not/an/object/key', 'not a Tabby object key'],
      ['projectcalico.org/globalnetworkpolicies', 'not a Tabby object key'],
    ]);
    // Its deletion is nothing to report either, and the store goes on.
    await append((rev) => ({ rev, op: 'del', key: 'not/an/object/key' }));
    await store.create(gnp('last'));
    await watch.until((e) => e.some((x) => x.type === 'upsert' && x.resource.metadata.name === 'last'));
    expect(names(watch.events)).toEqual(['add:good', 'synced', 'add:after', 'add:last']);
    expect(checkFileStore(dir).unreadable.map((u) => u.key)).toEqual(['projectcalico.org/globalnetworkpolicies']);
    await watch.close();
  } finally {
    await store.close();
  }
});
