// Review of issue 10 §1–2 (the file store's repair), through the CLI and the public API on real file stores:
// - a damaged first byte or a zeroed first sector of a format-2 journal is format-2 damage, and repair keeps every
//   record after it (it used to read the file as format 1, find nothing, and rebuild an empty store at revision 0);
// - a repaired store never moves its revision back: a long-running watcher sees the writes after the repair and
//   deletes for the objects the repair lost;
// - an unreadable value nested too deep for JSON.stringify is written back verbatim by compaction, migration and
//   repair (it used to make every compaction, so every write, fail);
// - files that go back to an older history end a running process's watches with the damage error;
// - a first-release store whose journal.log is missing is refused as damage, not emptied;
// - a repair never overwrites an earlier backup.

import { crc32 } from 'node:zlib';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { FileStore, isCompacted, isDamaged, repairFileStore, type StoreWarning, type WatchEvent } from '../../src/datastore/index.js';
import { Collector, gnp } from '../datastore/fixtures.js';
import { captureCli } from './captureCli.js';

const root = mkdtempSync(join(tmpdir(), 'tabby-cli-repair-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `store-${++n}`);
const cli = (dir: string, ...argv: string[]) => captureCli([...argv, '--datastore', `file:${dir}`]);
const apply = (dir: string, r: unknown) => captureCli(['apply', '-f', '-', '--datastore', `file:${dir}`], { stdin: JSON.stringify(r) });

async function seed(dir: string, count: number): Promise<void> {
  const s = await FileStore.open({ dir, autoCompact: false });
  for (let i = 0; i < count; i++) await s.create(gnp(`p${i}`, { order: i }));
  await s.close();
}

function names(stdout: string): string[] {
  return stdout.trim().split('\n').filter((l) => l !== '').map((l) => l.split('/')[1]!).sort();
}

interface RepairJson { repaired: boolean; refused: boolean; objects: number; revision: number; repairedRevision: number; missingRevisions: number[][] }

/** A GNP value nested `depth` deep in spec (JSON.parse takes it; JSON.stringify overflows on it). */
function deepValueText(name: string, depth: number): string {
  return `{"apiVersion":"projectcalico.org/v3","kind":"GlobalNetworkPolicy","metadata":{"name":"${name}"},"spec":{"x":` +
    `${'['.repeat(depth)}${']'.repeat(depth)}}}`;
}

/** A format-2 record around JSON text (written by hand: no serialiser can produce the deep value). */
function frame(text: string): Buffer {
  const json = Buffer.from(text);
  const hex = (x: number) => x.toString(16).padStart(8, '0');
  return Buffer.concat([Buffer.from(`\x1eT ${hex(json.length)} ${hex(crc32(json))} `, 'latin1'), json, Buffer.from('\n')]);
}

describe('repairing a format-2 journal whose first bytes are damaged', () => {
  it('a flipped byte 0 is format-2 damage at byte 0, and repair keeps all 20 objects', async () => {
    const dir = freshDir();
    await seed(dir, 20);
    const journal = join(dir, 'journal.log');
    const buf = readFileSync(journal);
    buf[0] = buf[0]! ^ 0x01;
    writeFileSync(journal, buf);

    const get = await cli(dir, 'get', 'gnp');
    expect(get.code).toBe(9);
    expect(get.stderr).toContain(`${journal} at byte 0: no record marker`);
    expect(get.stderr).not.toMatch(/malformed line/); // format-1 wording

    const check = JSON.parse((await cli(dir, 'datastore', 'check', '-o', 'json')).stdout) as { files: Array<{ format: number; records: number }> };
    expect(check.files[0]).toMatchObject({ format: 2, records: 20 });

    const repair = await cli(dir, 'datastore', 'repair', '-o', 'json');
    expect(repair.code).toBe(0);
    const r = JSON.parse(repair.stdout) as RepairJson;
    expect(r).toMatchObject({ repaired: true, objects: 20, revision: 20, missingRevisions: [] });
    const after = await cli(dir, 'get', 'gnp', '-o', 'name');
    expect(after.code).toBe(0);
    expect(names(after.stdout)).toHaveLength(20);
  });

  it('a zeroed first sector loses only the records in it, and repair says which', async () => {
    const dir = freshDir();
    await seed(dir, 20);
    const journal = join(dir, 'journal.log');
    const buf = readFileSync(journal);
    buf.fill(0, 0, 512);
    writeFileSync(journal, buf);
    // Records wholly or partly inside the first sector (the header is the first record).
    const lostRevs: number[] = [];
    for (let rev = 1; rev <= 20; rev++) if (buf.indexOf(Buffer.from(`{"rev":${rev},`)) < 0) lostRevs.push(rev);
    expect(lostRevs.length).toBeGreaterThan(0);
    expect(lostRevs.length).toBeLessThan(5);

    expect((await cli(dir, 'get', 'gnp')).code).toBe(9);
    const repair = await cli(dir, 'datastore', 'repair', '-o', 'json');
    expect(repair.code).toBe(0);
    const r = JSON.parse(repair.stdout) as RepairJson;
    expect(r.repaired).toBe(true);
    expect(r.objects).toBe(20 - lostRevs.length);
    expect(r.missingRevisions).toEqual([[1, lostRevs.length]]);
    expect(names((await cli(dir, 'get', 'gnp', '-o', 'name')).stdout)).toHaveLength(20 - lostRevs.length);
  });
});

describe('the revision after a repair', () => {
  it('moves forward: a running watcher sees the deletes of lost objects and every later write', async () => {
    const dir = freshDir();
    await seed(dir, 20);
    const store = await FileStore.open({ dir, pollIntervalMs: 50, autoCompact: false });
    const watch = new Collector(store.watch({}));
    try {
      await watch.until((es) => es.some((e) => e.type === 'synced'));
      expect(await store.revision()).toBe(20);
      // Lose the last two records (revisions 19 and 20: p18, p19), which the watcher has seen.
      const journal = join(dir, 'journal.log');
      const buf = readFileSync(journal);
      const at = buf.indexOf(Buffer.from('{"rev":19,'));
      buf[at + 30] = buf[at + 30]! ^ 0x02;
      buf[buf.length - 30] = buf[buf.length - 30]! ^ 0x02;
      writeFileSync(journal, buf);

      const refused = await cli(dir, 'datastore', 'repair');
      expect(refused.code).toBe(9);
      expect(refused.stdout).toContain('NOT repaired');
      const repair = await cli(dir, 'datastore', 'repair', '--force', '-o', 'json');
      expect(repair.code).toBe(0);
      const r = JSON.parse(repair.stdout) as RepairJson;
      expect(r.revision).toBe(18);
      expect(r.missingRevisions).toEqual([[19, 20]]);
      expect(r.repairedRevision).toBeGreaterThan(20 + 1000);

      const write = await apply(dir, gnp('after'));
      expect(write.code).toBe(0);
      const events = await watch.until((es) => es.some((e) => e.type === 'upsert' && e.resource.metadata.name === 'after'));
      const later = events.slice(events.findIndex((e) => e.type === 'synced') + 1);
      const brief = (e: WatchEvent) => e.type === 'upsert' ? `upsert ${e.resource.metadata.name}` : e.type === 'delete' ? `delete ${e.key.name}` : e.type;
      expect(later.map(brief).sort()).toEqual(['delete p18', 'delete p19', 'upsert after']);
      for (const e of later) expect(e.revision).toBeGreaterThan(20);
      const got = await store.get({ kind: 'GlobalNetworkPolicy', name: 'after' });
      expect(Number(got.metadata.resourceVersion)).toBe(r.repairedRevision + 1);
    } finally {
      await watch.watch.close();
      await store.close();
    }

    // A watcher of another process resuming from the revision it had is told to list again, not fed nothing.
    const other = await FileStore.open({ dir, autoCompact: false });
    try {
      const resumed = new Collector(other.watch({ fromRevision: 20 }));
      await expect(resumed.until(() => false, 5_000)).rejects.toSatisfy(isCompacted);
    } finally {
      await other.close();
    }
  }, 60_000);
});

describe('files that go back to an older history under a running process', () => {
  it('end its watches with the damage error instead of feeding nothing', async () => {
    const dir = freshDir();
    await seed(dir, 3);
    const old = { journal: readFileSync(join(dir, 'journal.log')), snapshot: readFileSync(join(dir, 'snapshot.rec')) };
    const store = await FileStore.open({ dir, pollIntervalMs: 50, autoCompact: false });
    const watch = new Collector(store.watch({}));
    try {
      await watch.until((es) => es.some((e) => e.type === 'synced'));
      await store.create(gnp('later1'));
      await store.create(gnp('later2'));
      await watch.until((es) => es.filter((e) => e.type === 'upsert').length === 5);
      // Restored from the copy at revision 3 (new files, so new inodes).
      for (const [name, bytes] of [['snapshot.rec', old.snapshot], ['journal.log', old.journal]] as const) {
        writeFileSync(join(dir, `${name}.tmp`), bytes);
        renameSync(join(dir, `${name}.tmp`), join(dir, name));
      }
      await expect(watch.until(() => false, 10_000)).rejects.toSatisfy(isDamaged);
      expect((watch.error as Error).message).toMatch(/went back from revision 5 to 3/);
    } finally {
      await watch.watch.close();
      await store.close();
    }
  }, 30_000);
});

describe('an unreadable value nested deeper than JSON.stringify can go', () => {
  const DEPTH = 100_000;

  function appendDeep(dir: string, rev: number, name: string): string {
    const value = deepValueText(name, DEPTH);
    const key = `projectcalico.org/globalnetworkpolicies/${name}`;
    appendFileSync(join(dir, 'journal.log'), frame(`{"rev":${rev},"op":"put","key":"${key}","value":${value}}`));
    return value;
  }

  it('is compacted, auto-compacted and repaired verbatim; writes keep working', async () => {
    const dir = freshDir();
    await seed(dir, 2);
    const value = appendDeep(dir, 3, 'deep');
    const warnings: StoreWarning[] = [];
    const store = await FileStore.open({ dir, autoCompact: { afterRecords: 2, retain: 0 }, onWarning: (w) => warnings.push(w) });
    try {
      const list = await store.list({ kind: 'GlobalNetworkPolicy' });
      expect(list.skipped?.map((s) => s.key)).toEqual(['journal.log:projectcalico.org/globalnetworkpolicies/deep']);
      await store.compact();
      expect(readFileSync(join(dir, 'snapshot.rec')).includes(Buffer.from(value))).toBe(true);
      for (let i = 0; i < 4; i++) await store.create(gnp(`w${i}`));
      expect(warnings).toEqual([]);
    } finally {
      await store.close();
    }
    // Through the CLI: a write after auto-compaction exits 0 (it exited 8, housekeeping failed, every time).
    appendDeep(dir, 8, 'deep2');
    const write = await apply(dir, gnp('cli'));
    expect(write.code).toBe(0);
    expect(write.stderr).not.toMatch(/compacting/);
    expect((await cli(dir, 'datastore', 'check')).code).toBe(1); // intact; the two unreadable objects are listed

    // Repair keeps it verbatim too.
    const snap = join(dir, 'snapshot.rec');
    const sb = readFileSync(snap);
    const at = sb.indexOf(Buffer.from('"name":"p0"'));
    sb[at + 9] = 0x78;
    writeFileSync(snap, sb);
    const repair = await cli(dir, 'datastore', 'repair', '--force');
    expect(repair.code).toBe(0);
    expect(readFileSync(snap).includes(Buffer.from(value))).toBe(true);
    expect(names((await cli(dir, 'get', 'gnp', '-o', 'name')).stdout)).toEqual(['cli', 'p1', 'w0', 'w1', 'w2', 'w3']);
  }, 60_000);

  it('migrates from a first-release store verbatim', async () => {
    const dir = freshDir();
    mkdirSync(dir);
    const value = deepValueText('deep', DEPTH);
    writeFileSync(join(dir, 'snapshot.json'),
      `{"format":1,"revision":1,"objects":[{"key":"projectcalico.org/globalnetworkpolicies/deep","rev":1,"value":${value}}]}`);
    const j = JSON.stringify({ journal: 1, base: 1 });
    writeFileSync(join(dir, 'journal.log'), `${crc32(j).toString(16).padStart(8, '0')} ${j}\n`);
    const write = await apply(dir, gnp('new'));
    expect(write.code).toBe(0);
    expect(existsSync(join(dir, 'snapshot.json'))).toBe(false);
    expect(readFileSync(join(dir, 'snapshot.rec')).includes(Buffer.from(value))).toBe(true);
    expect((await cli(dir, 'datastore', 'check')).code).toBe(1);
  }, 60_000);
});

describe('a first-release store whose journal is missing', () => {
  it('is refused as damage, never emptied, and repair --force rebuilds it from snapshot.json', async () => {
    const dir = freshDir();
    mkdirSync(dir);
    const stored = (name: string) => ({ ...gnp(name), metadata: { name, uid: `u-${name}`, creationTimestamp: '2026-11-01T00:00:00Z' } });
    const legacy = JSON.stringify({
      format: 1, revision: 7, objects: [
        { key: 'projectcalico.org/globalnetworkpolicies/a', rev: 3, value: stored('a') },
        { key: 'projectcalico.org/globalnetworkpolicies/b', rev: 7, value: stored('b') },
      ],
    });
    writeFileSync(join(dir, 'snapshot.json'), legacy);

    const get = await cli(dir, 'get', 'gnp');
    expect(get.code).toBe(9);
    expect(get.stderr).toContain('the journal is missing but snapshot.json (a first-release store) is there');
    expect((await apply(dir, gnp('x'))).code).toBe(9);
    expect(readdirSync(dir).sort()).toEqual(['lock', 'snapshot.json'].filter((f) => existsSync(join(dir, f))).sort());
    expect(readFileSync(join(dir, 'snapshot.json'), 'utf8')).toBe(legacy);

    const refused = await cli(dir, 'datastore', 'repair');
    expect(refused.code).toBe(9);
    expect(refused.stdout).toMatch(/journal.log is missing/);
    const repair = await cli(dir, 'datastore', 'repair', '--force', '-o', 'json');
    expect(repair.code).toBe(0);
    expect((JSON.parse(repair.stdout) as RepairJson).repairedRevision).toBeGreaterThan(7);
    expect(readdirSync(dir).some((f) => f.startsWith('snapshot.json.damaged-'))).toBe(true);
    expect(names((await cli(dir, 'get', 'gnp', '-o', 'name')).stdout)).toEqual(['a', 'b']);
  });

  it('a compaction leaves a snapshot.json it did not migrate alone', async () => {
    const dir = freshDir();
    await seed(dir, 3);
    writeFileSync(join(dir, 'snapshot.json'), '{"format":1,"revision":0,"objects":[]}');
    const store = await FileStore.open({ dir, autoCompact: false });
    try {
      await store.create(gnp('more'));
      await store.compact();
    } finally {
      await store.close();
    }
    expect(existsSync(join(dir, 'snapshot.json'))).toBe(true);
  });
});

describe('repair backups', () => {
  it('never overwrite an earlier backup, even within the same second', async () => {
    const dir = freshDir();
    await seed(dir, 10);
    const journal = join(dir, 'journal.log');
    const now = new Date('2026-12-03T12:00:00Z');
    const damage = () => {
      const buf = readFileSync(journal);
      const at = buf.indexOf(Buffer.from('"name":"p'));
      buf[at + 3] = buf[at + 3]! ^ 0x01;
      writeFileSync(journal, buf);
      return buf;
    };
    const first = damage();
    const r1 = await repairFileStore(dir, { now });
    expect(r1.repaired).toBe(true);
    // The repaired store: write more, damage it again, repair again with the same timestamp.
    const s = await FileStore.open({ dir, autoCompact: false });
    for (let i = 0; i < 3; i++) await s.create(gnp(`q${i}`));
    await s.close();
    const second = damage();
    const r2 = await repairFileStore(dir, { now });
    expect(r2.repaired).toBe(true);
    const j1 = r1.backups.find((b) => b.includes('journal.log'))!;
    const j2 = r2.backups.find((b) => b.includes('journal.log'))!;
    expect(j2).not.toBe(j1);
    expect(readFileSync(j1).equals(first)).toBe(true);
    expect(readFileSync(j2).equals(second)).toBe(true);
  });
});
