// `tabby datastore check` and `repair` for the file store: read every byte of the store's files, report what is
// damaged, and rebuild a consistent store from every intact record.
//
// check reads only (no lock, no writes). repair, under the writer lock:
//   1. copies each damaged file to `<name>.damaged-<UTC timestamp>` (fsynced) — nothing is lost by repairing;
//   2. recovers every intact record: the snapshot's object records and the journal's change records, also those
//      after a damaged region (framing.ts finds the record marker again; a record counts only if its length,
//      newline and CRC-32 all agree);
//   3. rebuilds the state — the snapshot's objects, then the journal's changes in revision order — and writes it
//      as a new snapshot plus an empty journal continuing it (the same two durable steps as a compaction, in the
//      same order, so a crash during repair leaves either the damaged store, still refused, or the repaired one);
//   4. says what was lost: the revisions missing from the sequence, whether records after the last intact one may
//      be gone (damage at the end), and the keys that the damaged bytes still name (best effort: a damaged record
//      has no trustworthy key, so these are "probably affected").
// Objects whose value is intact but invalid (stored-object.ts) are kept as they are and listed, not repaired.

import { closeSync, copyFileSync, existsSync, fstatSync, fsyncSync, openSync, readFileSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';

import type { SkippedObject } from '../datastore.js';
import { decodeStoredObject } from '../stored-object.js';
import { fsyncDir, writeFileDurable } from './durable.js';
import { framingOf, scanAll, type Problem } from './framing.js';
import { encodeRecord, isHeader, isRecord, JOURNAL_FORMAT, type JournalRecord } from './journal.js';
import { FileLock } from './lock.js';
import {
  decodeLegacySnapshot, encodeSnapshot, LEGACY_SNAPSHOT_FILE, recoverSnapshot, SNAPSHOT_FILE, type SnapshotObject,
} from './snapshot.js';

const JOURNAL = 'journal.log';

export interface FileReport {
  file: string;
  /** 1: the first release's format; 2: framed records. */
  format: 1 | 2;
  bytes: number;
  /** Intact records (objects in a snapshot, changes + header in the journal). */
  records: number;
  damage: Problem[];
  /** An unfinished last append (journal only): not damage; the next write removes it. */
  torn?: Problem;
}

export interface IntegrityReport {
  endpoint: string;
  ok: boolean;
  files: FileReport[];
  /** Revisions the intact records do not cover, as [first, last] ranges. */
  missingRevisions: Array<[number, number]>;
  /** Damage after the last intact journal record: later revisions may be gone without a trace. */
  tailLost: boolean;
  /** Snapshot objects whose records are damaged (counted from the snapshot's header; undefined if it is lost too). */
  snapshotObjectsLost: number | undefined;
  /** Keys that damaged bytes still name (best effort). */
  probablyAffected: string[];
  /** The revision the intact records reach. */
  revision: number;
  /** Intact but undecodable or invalid objects (kept, never served). */
  unreadable: SkippedObject[];
}

export interface RepairReport extends IntegrityReport {
  /** Whether anything was rewritten (false when the store was not damaged). */
  repaired: boolean;
  /** Copies of the damaged files, as written before anything changed. */
  backups: string[];
  /** Objects in the rebuilt store. */
  objects: number;
}

interface Recovered {
  report: IntegrityReport;
  objects: Map<string, { rev: number; value: unknown }>;
  /** Files with damage, to copy before repairing. */
  damagedFiles: string[];
}

const KEY_IN_BYTES = /"key":"([A-Za-z0-9.\-_/]{1,1024})"/g;

function keysNamedIn(buf: Buffer, problems: readonly Problem[]): string[] {
  const keys = new Set<string>();
  for (const p of problems) {
    const text = buf.toString('latin1', p.offset, p.offset + Math.min(p.length, 1 << 20));
    for (const m of text.matchAll(KEY_IN_BYTES)) keys.add(m[1]!);
  }
  return [...keys];
}

function ranges(revs: number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const r of revs) {
    const last = out[out.length - 1];
    if (last && last[1] === r - 1) last[1] = r;
    else out.push([r, r]);
  }
  return out;
}

function readIfExists(path: string): Buffer | undefined {
  return existsSync(path) ? readFileSync(path) : undefined;
}

/** Reads every file of the store in `dir` and recovers what is intact. Reads only. */
function recover(dir: string): Recovered {
  const endpoint = `file:${dir}`;
  const files: FileReport[] = [];
  const damagedFiles: string[] = [];
  const probablyAffected = new Set<string>();
  const journalBuf = readIfExists(join(dir, JOURNAL));
  if (!journalBuf) throw Object.assign(new Error(`${join(dir, JOURNAL)} does not exist (not a Tabby file store?)`), { code: 'ENOENT', path: join(dir, JOURNAL), syscall: 'open' });

  // The journal: header, then change records.
  const framing = framingOf(journalBuf);
  const js = scanAll(framing, journalBuf);
  const journalDamage = [...js.damage];
  let header: { journal: number; base: number } | undefined;
  const records: JournalRecord[] = [];
  for (const [i, f] of js.frames.entries()) {
    if (i === 0 && f.offset === 0 && isHeader(f.payload)) header = f.payload;
    else if (isRecord(f.payload)) records.push(f.payload);
    else journalDamage.push({ offset: f.offset, length: f.end - f.offset, reason: 'a checksummed record that is not a change record' });
  }
  if (!header) journalDamage.unshift({ offset: 0, length: 0, reason: 'no journal header' });
  journalDamage.sort((a, b) => a.offset - b.offset);
  files.push({
    file: join(dir, JOURNAL), format: framing === 'v2' ? 2 : 1, bytes: journalBuf.length, records: js.frames.length,
    damage: journalDamage, ...(js.torn && { torn: js.torn }),
  });
  if (journalDamage.length > 0) damagedFiles.push(JOURNAL);
  for (const k of keysNamedIn(journalBuf, journalDamage)) probablyAffected.add(k);

  // The snapshot the journal continues (format 2 for a format-2 journal, snapshot.json for format 1).
  const v2 = header ? header.journal === JOURNAL_FORMAT : framing === 'v2';
  const snapName = v2 ? SNAPSHOT_FILE : LEGACY_SNAPSHOT_FILE;
  const snapBuf = readIfExists(join(dir, snapName));
  let snapObjects: SnapshotObject[] = [];
  let snapRevision: number | undefined;
  let snapshotObjectsLost: number | undefined = 0;
  if (snapBuf) {
    let damage: Problem[];
    if (v2) {
      const r = recoverSnapshot(snapBuf);
      snapObjects = r.objects;
      snapRevision = r.revision;
      damage = r.damage;
      snapshotObjectsLost = r.expected === undefined ? (damage.length > 0 ? undefined : 0) : Math.max(0, r.expected - r.objects.length);
      if (r.revision === undefined) damage.push({ offset: 0, length: 0, reason: 'no snapshot header' });
    } else {
      const r = decodeLegacySnapshot(snapBuf);
      damage = r.ok ? [] : [r.damage];
      if (!r.ok) snapshotObjectsLost = undefined; // one JSON document: all of it or nothing
      if (r.ok) {
        snapObjects = r.snapshot.objects;
        snapRevision = r.snapshot.revision;
      }
    }
    files.push({ file: join(dir, snapName), format: v2 ? 2 : 1, bytes: snapBuf.length, records: snapObjects.length, damage });
    if (damage.length > 0) damagedFiles.push(snapName);
    for (const k of keysNamedIn(snapBuf, damage)) probablyAffected.add(k);
  } else if ((header?.base ?? 0) > 0 || v2) {
    files.push({ file: join(dir, snapName), format: v2 ? 2 : 1, bytes: 0, records: 0, damage: [{ offset: 0, length: 0, reason: 'missing' }] });
  }

  // Rebuild: the snapshot's objects, then changes in revision order after the snapshot's revision.
  const base = snapRevision ?? Math.max(header?.base ?? 0, ...snapObjects.map((o) => o.rev));
  const objects = new Map<string, { rev: number; value: unknown }>();
  for (const o of snapObjects) objects.set(o.key, { rev: o.rev, value: o.value });
  const byRev = new Map<number, JournalRecord>();
  for (const r of records) if (r.rev > base && !byRev.has(r.rev)) byRev.set(r.rev, r);
  const revs = [...byRev.keys()].sort((a, b) => a - b);
  for (const rev of revs) {
    const r = byRev.get(rev)!;
    if (r.op === 'put') objects.set(r.key, { rev, value: r.value });
    else objects.delete(r.key);
  }
  const revision = Math.max(base, revs[revs.length - 1] ?? 0);
  const missing: number[] = [];
  // Revisions between the journal's base and the snapshot's revision are in the snapshot; a snapshot older than
  // the journal's base lost the changes in between.
  let expect = base + 1;
  for (const rev of revs) {
    for (; expect < rev; expect++) missing.push(expect);
    expect = rev + 1;
  }
  if (snapRevision !== undefined && header && snapRevision < header.base) {
    for (let r = snapRevision + 1; r <= header.base; r++) missing.push(r);
  }
  const lastFrameEnd = js.frames.length > 0 ? js.frames[js.frames.length - 1]!.end : 0;
  const tailLost = journalDamage.some((d) => d.offset >= lastFrameEnd && d.length > 0);
  const unreadable: SkippedObject[] = [];
  for (const [path, o] of objects) {
    const d = decodeStoredObject(o.value, { path, where: `${snapName}:${path}`, revision: o.rev });
    if (!d) unreadable.push({ key: path, reason: 'not a Tabby object key', revision: o.rev });
    else if (!d.ok) unreadable.push(d.skipped);
  }
  const ok = files.every((f) => f.damage.length === 0) && missing.length === 0;
  return {
    report: {
      endpoint, ok, files, snapshotObjectsLost, missingRevisions: ranges([...new Set(missing)].sort((a, b) => a - b)), tailLost,
      probablyAffected: [...probablyAffected].sort(), revision, unreadable,
    },
    objects,
    damagedFiles,
  };
}

/** Checks every record of the file store in `dir`; reads only. */
export function checkFileStore(dir: string): IntegrityReport {
  return recover(resolve(dir)).report;
}

function timestamp(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

function copyDurably(from: string, to: string): void {
  copyFileSync(from, to);
  const fd = openSync(to, 'r');
  try {
    fstatSync(fd);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Repairs the file store in `dir` (see the header); a store that is not damaged is left untouched. */
export async function repairFileStore(dir: string, options: { now?: Date; lockTimeoutMs?: number } = {}): Promise<RepairReport> {
  const root = resolve(dir);
  const lock = new FileLock(join(root, 'lock'), { timeoutMs: options.lockTimeoutMs ?? 10_000 });
  await lock.acquire();
  try {
    const { report, objects, damagedFiles } = recover(root);
    if (report.ok) return { ...report, repaired: false, backups: [], objects: objects.size };
    const stamp = timestamp(options.now ?? new Date());
    const backups: string[] = [];
    const toCopy = new Set([...damagedFiles, JOURNAL]);
    for (const name of [JOURNAL, SNAPSHOT_FILE, LEGACY_SNAPSHOT_FILE]) {
      if (!toCopy.has(name) && !(name !== JOURNAL && existsSync(join(root, name)))) continue;
      if (!existsSync(join(root, name))) continue;
      const to = join(root, `${name}.damaged-${stamp}`);
      copyDurably(join(root, name), to);
      backups.push(to);
    }
    await fsyncDir(root);
    const snapshot = encodeSnapshot({
      revision: report.revision,
      objects: [...objects].map(([key, o]) => ({ key, rev: o.rev, value: o.value })),
    });
    // The same order as a compaction: the snapshot, then the journal that continues it.
    await writeFileDurable(join(root, SNAPSHOT_FILE), snapshot);
    await writeFileDurable(join(root, JOURNAL), encodeRecord({ journal: JOURNAL_FORMAT, base: report.revision }));
    // A format-1 snapshot is unused once the journal is format 2 (and was copied above).
    if (existsSync(join(root, LEGACY_SNAPSHOT_FILE))) unlinkSync(join(root, LEGACY_SNAPSHOT_FILE));
    return { ...report, repaired: true, backups, objects: objects.size };
  } finally {
    lock.release();
  }
}
