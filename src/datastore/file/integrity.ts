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
//      every value is written back as the bytes it was read as (json-text.ts says why);
//   4. says what was lost: the revisions missing from the sequence, whether records after the last intact one may
//      be gone (damage at the end), and the keys that the damaged bytes still name (best effort: a damaged record
//      has no trustworthy key, so these are "probably affected").
// The repaired store's revision never goes back, nor reuses a number a client may have seen: it is the largest
// revision anything in the files shows — intact records, the snapshot header, the journal header's base, and
// `"rev":N` still legible in damaged bytes — plus REVISION_MARGIN and one per MIN_RECORD_BYTES damaged bytes
// (no record is smaller, so that bounds the revisions damaged bytes can hide; the fixed part covers records cut
// off the end). Watchers of the old store then see the repaired one as a new history at a later revision and
// resync to it (store.ts reload), deletes for the lost objects included.
// Repair refuses (unless forced) when it would visibly lose more than the intact records can account for:
// revisions past the last intact record (damage runs to the end of the journal, a larger revision legible in
// that damaged end, or a journal base past it), snapshot objects (the header's count is not met, or the header is lost), or a missing journal. A
// framing misjudged as the other format would show up here as "everything lost" and be refused, not rebuilt
// into an empty store.
// Objects whose value is intact but invalid (stored-object.ts) are kept as they are and listed, not repaired.

import { closeSync, constants, copyFileSync, existsSync, fstatSync, fsyncSync, openSync, readFileSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';

import type { SkippedObject } from '../datastore.js';
import { errnoOf } from '../errno.js';
import { decodeStoredObject } from '../stored-object.js';
import { fsyncDir, writeFileDurable } from './durable.js';
import { framingOf, scanAll, type Problem } from './framing.js';
import { encodeRecord, isHeader, isRecord, JOURNAL_FORMAT, type JournalRecord } from './journal.js';
import { memberText } from './json-text.js';
import { FileLock } from './lock.js';
import {
  decodeLegacySnapshot, encodeSnapshot, LEGACY_SNAPSHOT_FILE, recoverSnapshot, SNAPSHOT_FILE, valueTextOf, type SnapshotObject,
} from './snapshot.js';
import { JOURNAL } from './store.js';

/** How far past the largest revision the files show a repaired store starts (see the header). */
export const REVISION_MARGIN = 1000;
/** No record (header, marker, length, checksum, `{"rev":1,"op":"del","key":""}`, newline) is smaller. */
const MIN_RECORD_BYTES = 32;

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
  /** The largest revision the files show anywhere (intact records, headers, damaged bytes). */
  visibleRevision: number;
  /** Why repair would refuse without --force (a loss the intact records cannot account for); none: repairs. */
  refuseUnlessForced: string[];
  /** Intact but undecodable or invalid objects (kept, never served). */
  unreadable: SkippedObject[];
}

export interface RepairReport extends IntegrityReport {
  /** Whether anything was rewritten (false when the store was not damaged, or repair refused). */
  repaired: boolean;
  /** Repair refused (refuseUnlessForced was not empty and force was not given): nothing was changed. */
  refused: boolean;
  /** The repaired store's revision: visibleRevision + the margin (see the header); 0 when not repaired. */
  repairedRevision: number;
  /** Copies of the damaged files, as written before anything changed. */
  backups: string[];
  /** Objects in the rebuilt store. */
  objects: number;
}

interface Recovered {
  report: IntegrityReport;
  /** `valueText`: the value as read, written back verbatim. */
  objects: Map<string, { rev: number; value: unknown; valueText: string | undefined }>;
  /** Files with damage, to copy before repairing. */
  damagedFiles: string[];
  damagedBytes: number;
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

const REV_IN_BYTES = /"rev":(\d{1,15})\b/g;

/** The largest revision legible in damaged bytes (best effort, like keysNamedIn; 0 when none). */
function revisionsNamedIn(buf: Buffer, problems: readonly Problem[]): number {
  let max = 0;
  for (const p of problems) {
    const text = buf.toString('latin1', p.offset, p.offset + Math.min(p.length, 64 << 20));
    for (const m of text.matchAll(REV_IN_BYTES)) {
      const n = Number(m[1]);
      if (Number.isSafeInteger(n) && n > max) max = n;
    }
  }
  return max;
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
  const hasV2Snapshot = existsSync(join(dir, SNAPSHOT_FILE));
  let journalBuf = readIfExists(join(dir, JOURNAL));
  const journalMissing = !journalBuf;
  if (!journalBuf) {
    // A snapshot without its journal is a store that lost its journal (store.ts refuses to open it), not nothing.
    if (!hasV2Snapshot && !existsSync(join(dir, LEGACY_SNAPSHOT_FILE))) {
      throw Object.assign(new Error(`${join(dir, JOURNAL)} does not exist (not a Tabby file store?)`), { code: 'ENOENT', path: join(dir, JOURNAL), syscall: 'open' });
    }
    journalBuf = Buffer.alloc(0);
  }

  // The journal: header, then change records. The framing is decided from the whole file (framingOf), so a
  // damaged first byte does not turn a format-2 journal into a format-1 one with nothing in it.
  const framing = journalMissing ? (hasV2Snapshot ? 'v2' : 'v1') : framingOf(journalBuf, { v2Snapshot: hasV2Snapshot });
  const js = scanAll(framing, journalBuf);
  const journalDamage = [...js.damage];
  let header: { journal: number; base: number } | undefined;
  const records: Array<{ rec: JournalRecord; text: string }> = [];
  for (const [i, f] of js.frames.entries()) {
    if (i === 0 && f.offset === 0 && isHeader(f.payload)) header = f.payload;
    else if (isRecord(f.payload)) records.push({ rec: f.payload, text: f.text });
    else journalDamage.push({ offset: f.offset, length: f.end - f.offset, reason: 'a checksummed record that is not a change record' });
  }
  if (journalMissing) journalDamage.unshift({ offset: 0, length: 0, reason: 'missing' });
  else if (!header) journalDamage.unshift({ offset: 0, length: 0, reason: 'no journal header' });
  journalDamage.sort((a, b) => a.offset - b.offset);
  files.push({
    file: join(dir, JOURNAL), format: framing === 'v2' ? 2 : 1, bytes: journalBuf.length, records: js.frames.length,
    damage: journalDamage, ...(js.torn && { torn: js.torn }),
  });
  if (journalDamage.length > 0) damagedFiles.push(JOURNAL);
  for (const k of keysNamedIn(journalBuf, journalDamage)) probablyAffected.add(k);
  let visibleRevision = Math.max(header?.base ?? 0, revisionsNamedIn(journalBuf, journalDamage));
  let damagedBytes = journalDamage.reduce((n, d) => n + d.length, 0);

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
    visibleRevision = Math.max(visibleRevision, snapRevision ?? 0, revisionsNamedIn(snapBuf, damage));
    damagedBytes += damage.reduce((n, d) => n + d.length, 0);
  } else if ((header?.base ?? 0) > 0 || v2) {
    files.push({ file: join(dir, snapName), format: v2 ? 2 : 1, bytes: 0, records: 0, damage: [{ offset: 0, length: 0, reason: 'missing' }] });
    // The objects of the revisions up to the journal's base were in it: how many is unknown.
    if ((header?.base ?? 0) > 0) snapshotObjectsLost = undefined;
  }

  // Rebuild: the snapshot's objects, then changes in revision order after the snapshot's revision.
  const base = snapRevision ?? Math.max(header?.base ?? 0, ...snapObjects.map((o) => o.rev));
  const objects: Recovered['objects'] = new Map();
  for (const o of snapObjects) objects.set(o.key, { rev: o.rev, value: o.value, valueText: valueTextOf(o) });
  const byRev = new Map<number, { rec: JournalRecord; text: string }>();
  for (const r of records) if (r.rec.rev > base && !byRev.has(r.rec.rev)) byRev.set(r.rec.rev, r);
  const revs = [...byRev.keys()].sort((a, b) => a - b);
  for (const rev of revs) {
    const { rec: r, text } = byRev.get(rev)!;
    if (r.op === 'put') objects.set(r.key, { rev, value: r.value, valueText: memberText(text, 'value') });
    else objects.delete(r.key);
  }
  const revision = Math.max(base, revs[revs.length - 1] ?? 0);
  visibleRevision = Math.max(visibleRevision, revision);
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
  const tail = journalDamage.filter((d) => d.offset >= lastFrameEnd && d.length > 0);
  const tailLost = journalMissing || tail.length > 0;
  // Revisions legible past the last intact one (in the damaged tail, or the journal's base) were lost with it.
  // Only the tail counts here: a flipped digit in a damaged record in the middle is no evidence of later ones.
  const lostUpTo = Math.max(header?.base ?? 0, revisionsNamedIn(journalBuf, tail));
  for (let r = revision + 1; r <= lostUpTo && missing.length < 1_000_000; r++) missing.push(r);
  const unreadable: SkippedObject[] = [];
  for (const [path, o] of objects) {
    const d = decodeStoredObject(o.value, { path, where: `${snapName}:${path}`, revision: o.rev });
    if (!d) unreadable.push({ key: path, reason: 'not a Tabby object key', revision: o.rev });
    else if (!d.ok) unreadable.push(d.skipped);
  }
  const ok = files.every((f) => f.damage.length === 0) && missing.length === 0;
  const refuseUnlessForced: string[] = [];
  if (journalMissing) refuseUnlessForced.push(`${JOURNAL} is missing: every change after the snapshot is gone`);
  else if (lostUpTo > revision) refuseUnlessForced.push(`revisions ${revision + 1}-${lostUpTo} are legible in the damaged end of ${JOURNAL} but not intact`);
  else if (tailLost) refuseUnlessForced.push(`the damage runs to the end of ${JOURNAL}: changes after revision ${revision} may be gone`);
  if (snapshotObjectsLost === undefined) refuseUnlessForced.push('the snapshot lost an unknown number of objects');
  else if (snapshotObjectsLost > 0) refuseUnlessForced.push(`the snapshot lost ${snapshotObjectsLost} of its objects`);
  return {
    report: {
      endpoint, ok, files, snapshotObjectsLost, missingRevisions: ranges([...new Set(missing)].sort((a, b) => a - b)), tailLost,
      probablyAffected: [...probablyAffected].sort(), revision, visibleRevision, refuseUnlessForced: ok ? [] : refuseUnlessForced,
      unreadable,
    },
    objects,
    damagedFiles,
    damagedBytes,
  };
}

/** Checks every record of the file store in `dir`; reads only. */
export function checkFileStore(dir: string): IntegrityReport {
  return recover(resolve(dir)).report;
}

function timestamp(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/**
 * Copies `from` to a new file `<to>` (or `<to>.1`, `<to>.2`… when that exists: never over an earlier backup,
 * which may be the only copy of what an earlier repair replaced). Returns the path written.
 */
function copyDurably(from: string, to: string): string {
  let path = to;
  for (let i = 1; ; i++) {
    try {
      copyFileSync(from, path, constants.COPYFILE_EXCL);
      break;
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST' || i > 10_000) throw err;
      path = `${to}.${i}`;
    }
  }
  const fd = openSync(to, 'r');
  try {
    fstatSync(fd);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return path;
}

/** Repairs the file store in `dir` (see the header); a store that is not damaged is left untouched. */
export async function repairFileStore(
  dir: string, options: { now?: Date; lockTimeoutMs?: number; /** Repair despite refuseUnlessForced. */ force?: boolean } = {},
): Promise<RepairReport> {
  const root = resolve(dir);
  const lock = new FileLock(join(root, 'lock'), { timeoutMs: options.lockTimeoutMs ?? 10_000 });
  await lock.acquire();
  try {
    const { report, objects, damagedFiles, damagedBytes } = recover(root);
    if (report.ok) return { ...report, repaired: false, refused: false, repairedRevision: 0, backups: [], objects: objects.size };
    if (report.refuseUnlessForced.length > 0 && !options.force) {
      return { ...report, repaired: false, refused: true, repairedRevision: 0, backups: [], objects: objects.size };
    }
    const repairedRevision = report.visibleRevision + REVISION_MARGIN + Math.ceil(damagedBytes / MIN_RECORD_BYTES);
    const stamp = timestamp(options.now ?? new Date());
    const backups: string[] = [];
    const toCopy = new Set([...damagedFiles, JOURNAL]);
    for (const name of [JOURNAL, SNAPSHOT_FILE, LEGACY_SNAPSHOT_FILE]) {
      if (!toCopy.has(name) && !(name !== JOURNAL && existsSync(join(root, name)))) continue;
      if (!existsSync(join(root, name))) continue;
      backups.push(copyDurably(join(root, name), join(root, `${name}.damaged-${stamp}`)));
    }
    await fsyncDir(root);
    const snapshot = encodeSnapshot({
      revision: repairedRevision,
      objects: [...objects].map(([key, o]) => ({ key, rev: o.rev, value: o.value, valueText: o.valueText })),
    });
    // The same order as a compaction: the snapshot, then the journal that continues it.
    await writeFileDurable(join(root, SNAPSHOT_FILE), snapshot);
    await writeFileDurable(join(root, JOURNAL), encodeRecord({ journal: JOURNAL_FORMAT, base: repairedRevision }));
    // A format-1 snapshot is unused once the journal is format 2 (and was copied above).
    if (existsSync(join(root, LEGACY_SNAPSHOT_FILE))) unlinkSync(join(root, LEGACY_SNAPSHOT_FILE));
    return { ...report, repaired: true, refused: false, repairedRevision, backups, objects: objects.size };
  } finally {
    lock.release();
  }
}
