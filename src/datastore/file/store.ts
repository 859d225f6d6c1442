// The embedded file store: zero setup, safe with several processes, crash-safe, and it refuses to serve a
// damaged history rather than serve part of it.
//
// Layout of the data directory (the on-disk format is documented in ../README.md):
//
//   snapshot.rec    every object at revision `revision`, one checksummed record each (snapshot.ts); replaced
//                   whole: temp file, fsync, rename, fsync dir (durable.ts)
//   journal.log     a header record {journal: 2, base} + one record per change after `base`; every record is
//                   framed with a marker, its length and a CRC-32 (framing.ts)
//   lock            the writer lock (lock.ts)
//   snapshot.json   only in stores of the first release (format 1), until their first write migrates them
//
// Crash safety, step by step:
// - The journal is the commit point. A write appends one record with one write(2) and fdatasyncs it before
//   returning; one small append + one sync per change. If the append or the sync fails (ENOSPC, EIO), the
//   writer cuts the journal back to where the record began, so a write reported as failed is never stored.
//   (Only a sync failure after a complete write(2) — EIO — can let a reader see such a record first; that reader
//   then sees the journal shrink below what it read and reports damage rather than guess.)
// - A kill -9 (or a power loss) during an append leaves at most one unfinished record, the last one, which was
//   never acknowledged. framing.ts tells that torn tail apart from damage: it is the only record that may be
//   incomplete (no final newline, or a sector still zero) and nothing good may follow it. Readers treat it as
//   not there yet; the next writer, holding the lock, cuts exactly those bytes before appending. So a crash at
//   any instant leaves the old state or the new one.
// - Anything else that fails its framing or checksum — in the middle of the journal, anywhere in the snapshot,
//   a record out of revision sequence, a journal that shrank — is damage: every operation fails with
//   DamagedStoreError (file, byte offset, what to run) and nothing is served or written; no file is truncated
//   or rewritten. `tabby datastore repair` (integrity.ts) keeps a copy of the damaged files and rebuilds the
//   store from every intact record.
// - Compaction writes a new snapshot at revision R (durably), then replaces the journal with one whose base is
//   R (durably). A crash between the two leaves a new snapshot and the old journal, whose records up to R are
//   skipped. Readers open the journal *before* reading the snapshot, so they never pair a new journal with an
//   old snapshot; one that still tails a replaced journal notices (inode changed) and reloads.
// - Compaction is housekeeping: when it fails after a write committed (ENOSPC while writing the new snapshot),
//   the write still succeeds and the failure is reported as a warning (options.onWarning); the old files stay
//   as they were.
// - Format-1 stores (the first release: unframed `<crc> <json>` lines, snapshot.json without a checksum) are
//   read as they are, strictly (damage is refused the same way); the first write migrates them to format 2 by
//   a compaction that keeps all history: snapshot.rec first, then the format-2 journal, then snapshot.json is
//   removed. A crash at any step leaves a readable store of one format or the other.
// - History (the journal since the last compaction) serves watch-from-revision; a watcher that fell behind a
//   compaction reloads and reports the difference between what it had and what is there (no change lost, none
//   repeated), as the etcd store does. So does one whose files were replaced by a history that does not extend
//   what it had (a repair, which always moves the revision forward); files that went back to a revision it had
//   passed (a restored backup) end its watches with DamagedStoreError instead.
// - Watchers in other processes see changes through fs.watch on the directory plus a poll as a fallback
//   (fs.watch is best-effort on some filesystems).
// - Readers take no lock and open files read-only, so a store the user may only read (permissions, a
//   read-only mount) serves reads; writes then fail with the errno (EACCES, EROFS) and the path.
// - Every stored value is decoded through stored-object.ts: one that is undecodable or invalid (written behind
//   Tabby's back, or valid under an older validator) is kept on disk untouched, reported as skipped by list
//   and watch, and never served.
//
// Thread-safety: one instance serialises its own operations (a promise chain); processes serialise writes
// with the lock.

import {
  closeSync, existsSync, fdatasync, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, statSync,
  unlinkSync, watch as fsWatch, writeSync, type FSWatcher,
} from 'node:fs';
import { promisify } from 'node:util';
import { dirname, join, resolve } from 'node:path';

import type { Resource, ResourceKey } from '../../api/index.js';
import {
  admit, checkDelete, checkResourceVersionSyntax, planWrite, referenceViewOfMap, unreadableStub, withResourceVersion,
  type ReferenceView, type StoredObject, type WriteMode,
} from '../admission.js';
import { builtinTierObject, withBuiltinTiers } from '../builtin-tiers.js';
import type {
  ApplyResult, Datastore, ListOptions, Preconditions, ResourceList, SkippedObject, Watch, WatchEvent, WatchOptions,
} from '../datastore.js';
import {
  CompactedError, ConflictError, DamagedStoreError, NotFoundError, StorageError, UnavailableError, UnreadableObjectError,
  isDatastoreError,
} from '../errors.js';
import { WatchQueue } from '../event-queue.js';
import { errnoOf } from '../errno.js';
import { compareKeys, keyPath, normaliseKey, parseKeyPath } from '../keys.js';
import { compileQuery, type Query } from '../query.js';
import { decodeStoredObject, type DecodedObject } from '../stored-object.js';
import { fsyncDir, writeFileDurable } from './durable.js';
import { framingOf, type Framing, type Problem } from './framing.js';
import { decodeJournal, encodeRecord, encodeRecordVerbatim, JOURNAL_FORMAT, type JournalRecord } from './journal.js';
import { memberText } from './json-text.js';
import { FileLock, LockTimeoutError } from './lock.js';
import {
  decodeLegacySnapshot, decodeSnapshot, encodeSnapshot, LEGACY_SNAPSHOT_FILE, SNAPSHOT_FILE, valueTextOf, type Snapshot,
} from './snapshot.js';

/** A problem that did not stop the operation (housekeeping after a committed write). */
export interface StoreWarning {
  message: string;
  cause?: unknown;
}

export interface FileStoreOptions {
  /** The data directory; created when missing. */
  dir: string;
  /** How long a write waits for another process holding the lock. Default 10 s. */
  lockTimeoutMs?: number;
  /** Poll interval for changes made by other processes while a watch is open. Default 200 ms. */
  pollIntervalMs?: number;
  /**
   * Compact automatically once the journal holds `afterRecords` changes, keeping the last `retain` as history
   * for watches that resume. Default {afterRecords: 20000, retain: 1000}; false to compact only on request.
   */
  autoCompact?: { afterRecords: number; retain: number } | false;
  /** Clock for creationTimestamp (a test seam). */
  now?: () => Date;
  /**
   * Calico's client-side checks between objects and its built-in tiers (admission.ts). Default true; false
   * writes as Calico's backend client does, to set up states Felix must handle (a policy whose tier is missing).
   */
  crossObjectChecks?: boolean;
  /**
   * Called when housekeeping fails after a write committed (auto-compaction: ENOSPC, EIO…): the write succeeded.
   * Default: process.emitWarning.
   */
  onWarning?: (warning: StoreWarning) => void;
}

// Small file operations (stat, a short read, an append) run synchronously: they take microseconds, and going
// through the thread pool costs more than the call. Only fsync, which takes milliseconds, is asynchronous.
const fdatasyncAsync = promisify(fdatasync);

export const JOURNAL = 'journal.log';
const LOCK = 'lock';

/**
 * An undecodable or invalid stored value: kept, never served. Compaction writes it back as the bytes it was read
 * as (`valueText`), never re-serialised: JSON.parse accepts nesting that JSON.stringify overflows on, and one such
 * value must not make every compaction (and so every write, and migration, and repair) fail.
 */
interface SkippedEntry {
  skipped: SkippedObject;
  modRevision: number;
  raw: unknown;
  /** The value's JSON text as read; undefined for a value this process wrote (admitted, so serialisable). */
  valueText: string | undefined;
}

interface Objects {
  ok: Map<string, StoredObject>;
  bad: Map<string, SkippedEntry>;
}

/** A journal record with its value decoded once (puts). */
interface Applied {
  rec: JournalRecord;
  decoded: DecodedObject | undefined;
  /** An unreadable put's value as read (see SkippedEntry). */
  valueText?: string;
}

/** What the store holds in memory: the state at `base` (the last compaction) plus the history since. */
interface State {
  base: number;
  baseObjects: Objects;
  history: Applied[];
  objects: Objects;
  revision: number;
}

interface Change {
  path: string;
  /** Undefined for a path that is not an object key (reported only as skipped). */
  key: ResourceKey | undefined;
  rev: number;
  /** The object after the change (upserts of a valid value). */
  next: StoredObject | undefined;
  /** The valid object before the change. */
  prev: StoredObject | undefined;
  /** The change stored a value that cannot be served. */
  skipped: SkippedObject | undefined;
  /** A delete of a key whose value could not be served. */
  prevSkipped: boolean;
}

interface Subscriber {
  query: Query;
  queue: WatchQueue;
  /** Changes at or below this revision were reported already (or precede the watch). */
  after: number;
}

interface JournalHandle {
  /** Opened read-only: reads never need write access. */
  fd: number;
  ino: number;
  /** Just past the last good record. */
  offset: number;
  framing: Framing;
  /** Opened for appends on the first write (under the lock). */
  writeFd?: number;
}

/** Thrown inside the store and turned into DamagedStoreError (with the endpoint) by guard(). */
class DamageFound extends Error {
  constructor(readonly file: string, readonly offset: number, readonly reason: string) {
    super(`${file} at byte ${offset}: ${reason}`);
  }
}

/** The snapshot changed under a reader (a concurrent compaction or migration): read again. */
class FilesChanged extends Error {}

function emptyObjects(): Objects {
  return { ok: new Map(), bad: new Map() };
}

function copyObjects(o: Objects): Objects {
  return { ok: new Map(o.ok), bad: new Map(o.bad) };
}

function emptyState(base: number, objects: Objects): State {
  return { base, baseObjects: objects, history: [], objects: copyObjects(objects), revision: base };
}

function decodePut(file: string, path: string, value: unknown, rev: number): DecodedObject {
  return decodeStoredObject(value, { path, where: `${file}:${path}`, revision: rev }) ?? {
    ok: false, skipped: { key: `${file}:${path}`, reason: 'not a Tabby object key', revision: rev },
  };
}

/** `text`: the record as read from the journal (undefined for a record this process writes). */
function toApplied(rec: JournalRecord, text?: string): Applied {
  const decoded = rec.op === 'put' ? decodePut(JOURNAL, rec.key, rec.value, rec.rev) : undefined;
  if (decoded && !decoded.ok && text !== undefined) {
    const valueText = memberText(text, 'value');
    if (valueText !== undefined) return { rec, decoded, valueText };
  }
  return { rec, decoded };
}

/** Applies a record to a state and returns the change. */
function applyRecord(state: State, applied: Applied): Change {
  const { rec, decoded } = applied;
  const { ok, bad } = state.objects;
  const prev = ok.get(rec.key);
  const prevSkipped = bad.has(rec.key);
  let next: StoredObject | undefined;
  let skipped: SkippedObject | undefined;
  if (rec.op === 'put' && decoded?.ok) {
    next = { value: decoded.value, modRevision: rec.rev };
    ok.set(rec.key, next);
    bad.delete(rec.key);
  } else if (rec.op === 'put' && decoded && !decoded.ok) {
    skipped = decoded.skipped;
    ok.delete(rec.key);
    bad.set(rec.key, { skipped, modRevision: rec.rev, raw: rec.value, valueText: applied.valueText });
  } else {
    ok.delete(rec.key);
    bad.delete(rec.key);
  }
  state.history.push(applied);
  state.revision = rec.rev;
  return { path: rec.key, key: parseKeyPath(rec.key), rev: rec.rev, next, prev, skipped, prevSkipped };
}

/**
 * Whether `next` (files read again after the journal was replaced) continues the history `old` was at: its
 * base is not past old's revision and its state at old's revision is old's state, key for key and revision for
 * revision. A repair that rebuilt the store from fewer records does not: its records after the lost ones reuse
 * nothing (repair moves the revision forward), but the objects it lost must be reported as deleted.
 */
function historyExtends(old: State, next: State): boolean {
  if (next.base > old.revision || next.revision < old.revision) return false;
  const at = emptyState(next.base, next.baseObjects);
  for (const applied of next.history) {
    if (applied.rec.rev > old.revision) break;
    applyRecord(at, applied);
  }
  if (at.revision !== old.revision && !(at.revision === next.base && next.base === old.revision)) return false;
  const a = at.objects;
  const b = old.objects;
  if (a.ok.size !== b.ok.size || a.bad.size !== b.bad.size) return false;
  for (const [k, o] of a.ok) if (b.ok.get(k)?.modRevision !== o.modRevision) return false;
  for (const [k, o] of a.bad) if (b.bad.get(k)?.modRevision !== o.modRevision) return false;
  return true;
}

/** Every change that turns `from` into `to`, stamped with `rev`, in key order. */
function diffStates(from: Objects, to: Objects, rev: number): Change[] {
  const out: Change[] = [];
  const base = { rev, next: undefined, prev: undefined, skipped: undefined, prevSkipped: false };
  for (const [path, prev] of from.ok) {
    if (to.ok.has(path) || to.bad.has(path)) continue;
    out.push({ ...base, path, key: parseKeyPath(path), prev });
  }
  for (const path of from.bad.keys()) {
    if (!to.ok.has(path) && !to.bad.has(path)) out.push({ ...base, path, key: parseKeyPath(path), prevSkipped: true });
  }
  for (const [path, next] of to.ok) {
    const prev = from.ok.get(path);
    if (!prev || prev.modRevision !== next.modRevision) out.push({ ...base, path, key: parseKeyPath(path), prev, next });
  }
  for (const [path, entry] of to.bad) {
    if (from.bad.get(path)?.modRevision === entry.modRevision) continue;
    out.push({ ...base, path, key: parseKeyPath(path), prev: from.ok.get(path), skipped: entry.skipped });
  }
  const order = (c: Change) => c.key;
  return out.sort((a, b) => {
    const ka = order(a);
    const kb = order(b);
    return ka && kb ? compareKeys(ka, kb) : a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
  });
}

function toWatchEvent(c: Change): WatchEvent | undefined {
  if (c.skipped) return { type: 'skipped', op: 'skipped', skipped: c.skipped, revision: c.rev };
  if (!c.key) return undefined;
  if (c.next) {
    return {
      type: 'upsert', op: c.prev ? 'update' : 'add', resource: withResourceVersion(c.next.value, c.next.modRevision),
      revision: c.rev,
    };
  }
  if (!c.prev && !c.prevSkipped) return undefined;
  return {
    type: 'delete', op: 'delete', key: c.key, revision: c.rev,
    previous: c.prev && withResourceVersion(c.prev.value, c.prev.modRevision),
  };
}

// A journal key that is no object key (only a foreign writer makes one) names nothing a reader could use, get or
// delete: list and watch leave it out, as the etcd store leaves out other tools' keys under its prefix, and
// `tabby datastore check` lists it. Reporting it as skipped would also go stale: a watch has no event for its
// deletion (a delete event names a resource), so a watcher would keep reporting it after it is gone.
function changeMatches(query: Query, c: Change): boolean {
  return c.key ? query.keyMatches(c.key) : false;
}

function skippedMatches(query: Query, path: string): boolean {
  const key = parseKeyPath(path);
  return key ? query.keyMatches(key) : false;
}

export class FileStore implements Datastore {
  readonly endpoint: string;
  private readonly dir: string;
  private readonly lock: FileLock;
  private readonly pollIntervalMs: number;
  private readonly autoCompact: { afterRecords: number; retain: number } | false;
  private readonly now: () => Date;
  private readonly crossObjectChecks: boolean;
  private readonly onWarning: (w: StoreWarning) => void;
  private state: State = emptyState(0, emptyObjects());
  private journal: JournalHandle | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly subscribers = new Set<Subscriber>();
  private poller: { fsw: FSWatcher | undefined; timer: NodeJS.Timeout; pending: boolean } | undefined;
  private closed = false;

  private constructor(options: FileStoreOptions) {
    this.dir = resolve(options.dir);
    this.endpoint = `file:${this.dir}`;
    this.lock = new FileLock(join(this.dir, LOCK), { timeoutMs: options.lockTimeoutMs ?? 10_000 });
    this.pollIntervalMs = options.pollIntervalMs ?? 200;
    this.autoCompact = options.autoCompact ?? { afterRecords: 20_000, retain: 1_000 };
    this.now = options.now ?? (() => new Date());
    this.crossObjectChecks = options.crossObjectChecks ?? true;
    this.onWarning = options.onWarning ?? ((w) => process.emitWarning(w.message, 'TabbyDatastoreWarning'));
  }

  /**
   * Opens (creating when missing) the store in `options.dir`. Throws StorageError when the directory cannot be
   * used, DamagedStoreError when its files are damaged.
   */
  static async open(options: FileStoreOptions): Promise<FileStore> {
    const store = new FileStore(options);
    await store.guard(async () => {
      store.ensureDirectory();
      await store.initialise();
      store.state = await store.load();
    });
    return store;
  }

  // --- Datastore -------------------------------------------------------------------------------------------

  get(key: ResourceKey): Promise<Resource> {
    return this.read(() => {
      const k = normaliseKey(key);
      const path = keyPath(k);
      const obj = this.state.objects.ok.get(path);
      if (obj) return withResourceVersion(obj.value, obj.modRevision);
      const bad = this.state.objects.bad.get(path);
      if (bad) throw new UnreadableObjectError(k, bad.skipped.key, bad.skipped.reason);
      const builtin = this.crossObjectChecks ? builtinTierObject(k) : undefined;
      if (!builtin) throw new NotFoundError(k);
      return builtin;
    });
  }

  async list(options: ListOptions = {}): Promise<ResourceList> {
    const query = compileQuery(options);
    return this.read(() => {
      const found: Array<{ key: ResourceKey; obj: StoredObject }> = [];
      for (const [path, obj] of this.state.objects.ok) {
        if (!path.startsWith(query.prefix)) continue;
        const key = parseKeyPath(path);
        if (key && query.matches(key, obj.value)) found.push({ key, obj });
      }
      found.sort((a, b) => compareKeys(a.key, b.key));
      const items = found.map(({ obj }) => withResourceVersion(obj.value, obj.modRevision));
      const skipped = [...this.state.objects.bad]
        .filter(([path]) => path.startsWith(query.prefix) && skippedMatches(query, path))
        .map(([, e]) => ({ ...e.skipped }));
      return {
        items: this.crossObjectChecks ? withBuiltinTiers(items, options, query) : items,
        revision: this.state.revision,
        ...(skipped.length > 0 && { skipped }),
      };
    });
  }

  async create(resource: Resource): Promise<Resource> {
    return (await this.put('create', resource)).resource;
  }

  async update(resource: Resource): Promise<Resource> {
    return (await this.put('update', resource)).resource;
  }

  apply(resource: Resource): Promise<ApplyResult> {
    return this.put('apply', resource);
  }

  async delete(key: ResourceKey, preconditions: Preconditions = {}): Promise<Resource> {
    const k = normaliseKey(key);
    const path = keyPath(k);
    return this.write((rev) => {
      const current = this.state.objects.ok.get(path);
      const bad = this.state.objects.bad.get(path);
      if (!current && bad) {
        // An unreadable object can be deleted (that is how it is cleaned up); only its revision can be checked.
        checkResourceVersionSyntax(k, preconditions.resourceVersion);
        const actual = { resourceVersion: String(bad.modRevision) };
        if (preconditions.uid !== undefined ||
          (preconditions.resourceVersion !== undefined && preconditions.resourceVersion !== actual.resourceVersion)) {
          throw new ConflictError(k, preconditions, actual);
        }
        return { record: { rev, op: 'del', key: path }, result: unreadableStub(k, bad.modRevision) };
      }
      checkDelete(k, preconditions, current, this.references());
      return {
        record: { rev, op: 'del', key: path },
        result: withResourceVersion(current.value, current.modRevision),
      };
    });
  }

  watch(options: WatchOptions = {}): Watch {
    const query = compileQuery({ ...(options.kind && { kind: options.kind }), ...(options.namespace && { namespace: options.namespace }) });
    const sub: Subscriber = {
      query,
      after: Number.POSITIVE_INFINITY,
      queue: new WatchQueue(async () => {
        this.subscribers.delete(sub);
        this.updatePoller();
      }),
    };
    void this.serial(async () => {
      if (sub.queue.closed) return;
      await this.catchUp();
      const { state } = this;
      const from = options.fromRevision;
      if (from === undefined) {
        const initial = [...state.objects.ok]
          .map(([path, obj]) => ({ key: parseKeyPath(path), obj }))
          .filter((e): e is { key: ResourceKey; obj: StoredObject } => e.key !== undefined && query.keyMatches(e.key))
          .sort((a, b) => compareKeys(a.key, b.key));
        for (const { obj } of initial) {
          sub.queue.push({
            type: 'upsert', op: 'add', resource: withResourceVersion(obj.value, obj.modRevision), revision: state.revision,
          });
        }
        for (const [path, e] of state.objects.bad) {
          if (skippedMatches(query, path)) sub.queue.push({ type: 'skipped', op: 'skipped', skipped: { ...e.skipped }, revision: state.revision });
        }
        sub.queue.push({ type: 'synced', op: 'synced', revision: state.revision });
      } else if (from < state.base) {
        sub.queue.fail(new CompactedError(from, state.base));
        return;
      } else if (from < state.revision) {
        // Replay history after `from` against the state as it was at `from`.
        const replay = emptyState(state.base, state.baseObjects);
        for (const applied of state.history) {
          const change = applyRecord(replay, applied);
          if (applied.rec.rev <= from || !changeMatches(query, change)) continue;
          const event = toWatchEvent(change);
          if (event) sub.queue.push(event);
        }
      }
      sub.after = Math.max(from ?? state.revision, state.revision);
      this.subscribers.add(sub);
      this.updatePoller();
    }).catch((err: unknown) => sub.queue.fail(this.asDatastoreError(err)));
    return sub.queue;
  }

  revision(): Promise<number> {
    return this.read(() => this.state.revision);
  }

  compact(revision?: number): Promise<void> {
    return this.guard(() => this.serial(async () => {
      await this.withLock(async () => {
        await this.catchUp({ locked: true });
        await this.compactLocked(revision ?? this.state.revision);
      });
    }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscribers].map((s) => s.queue.close()));
    this.updatePoller();
    await this.serial(async () => {
      this.closeJournal();
    });
  }

  // --- writes ----------------------------------------------------------------------------------------------

  private async put(mode: WriteMode, resource: Resource): Promise<ApplyResult> {
    const admitted = admit(resource);
    const path = keyPath(admitted.key);
    return this.write((rev) => {
      const { value, created } = planWrite(mode, admitted, this.state.objects.ok.get(path), this.now, this.references());
      return {
        record: { rev, op: 'put', key: path, value },
        result: { resource: withResourceVersion(value, rev), created },
      };
    });
  }

  /** The cross-object checks' view of the state (call under the lock, after catching up). */
  private references(): ReferenceView | undefined {
    return this.crossObjectChecks ? referenceViewOfMap(this.state.objects.ok) : undefined;
  }

  /**
   * Runs one change under the lock: catch up, decide (may throw), append + sync (the commit), apply, notify,
   * then housekeeping whose failure is a warning. A failure before the commit stores nothing.
   */
  private write<T>(decide: (rev: number) => { record: JournalRecord; result: T }): Promise<T> {
    return this.guard(() => this.serial(async () => {
      if (this.closed) throw new Error('file store used after close()');
      let changes: Change[] = [];
      let committed = false;
      try {
        return await this.withLock(async () => {
          changes = await this.catchUp({ locked: true, dispatch: false });
          // A first-release store becomes format 2 before its first new record (see the header).
          if (this.journal!.framing === 'v1') await this.compactLocked(this.state.base, { migrate: true });
          const { record, result } = decide(this.state.revision + 1);
          const applied = toApplied(record);
          await this.append(encodeRecord(record));
          committed = true;
          changes.push(applyRecord(this.state, applied));
          if (this.autoCompact && this.state.history.length >= this.autoCompact.afterRecords) {
            try {
              await this.compactLocked(this.state.revision - this.autoCompact.retain);
            } catch (err) {
              this.warnHousekeeping(err);
            }
          }
          return result;
        }).finally(() => this.dispatch(changes));
      } catch (err) {
        if (!committed && errnoOf(err) && !isDatastoreError(err)) throw this.storageError(err, false);
        throw err;
      }
    }));
  }

  private warnHousekeeping(err: unknown): void {
    const why = errnoOf(err) ? this.storageError(err, undefined).message : err instanceof Error ? err.message : String(err);
    this.onWarning({
      message: `the write was stored, but compacting ${this.endpoint} failed: ${why} (the store is consistent and ` +
        'keeps every change; compaction is tried again by later writes once there is room)',
      cause: err,
    });
  }

  /** Appends one record and syncs it; on failure cuts the journal back so the record is not stored. */
  private async append(data: Buffer): Promise<void> {
    const j = this.journal!;
    const fd = this.writeFd();
    try {
      let written = 0;
      while (written < data.length) written += writeSync(fd, data, written, data.length - written, j.offset + written);
      await fdatasyncAsync(fd);
    } catch (err) {
      try {
        ftruncateSync(fd, j.offset);
        await fdatasyncAsync(fd);
      } catch (cutErr) {
        // The record may be on disk without having been reported: say so rather than guess.
        throw new UnavailableError(this.endpoint, `appending to ${join(this.dir, JOURNAL)} failed (${errnoOf(err) ?? String(err)}) ` +
          `and cutting the unfinished record back failed too (${errnoOf(cutErr) ?? String(cutErr)}): the write may or may ` +
          'not be stored; read the object to find out', { cause: err });
      }
      throw err;
    }
    j.offset += data.length;
  }

  private writeFd(): number {
    const j = this.journal!;
    if (j.writeFd === undefined) {
      const fd = openSync(join(this.dir, JOURNAL), 'r+');
      if (fstatSync(fd).ino !== j.ino) {
        closeSync(fd);
        throw new Error('journal replaced while the lock was held');
      }
      j.writeFd = fd;
    }
    return j.writeFd;
  }

  private async withLock<T>(fn: () => Promise<T>): Promise<T> {
    try {
      await this.lock.acquire();
    } catch (err) {
      if (err instanceof LockTimeoutError) {
        throw new UnavailableError(this.endpoint, `the store is locked: ${err.message}`, { cause: err });
      }
      throw err;
    }
    try {
      return await fn();
    } finally {
      this.lock.release();
    }
  }

  /** Writes a snapshot at `target` and a journal continuing it (also the format-1 → 2 migration). */
  private async compactLocked(target: number, opts: { migrate?: boolean } = {}): Promise<void> {
    const { state } = this;
    const to = Math.min(target, state.revision);
    if (to <= state.base && !opts.migrate) return;
    const atTarget = emptyState(state.base, state.baseObjects);
    for (const applied of state.history) {
      if (applied.rec.rev > to) break;
      applyRecord(atTarget, applied);
    }
    const kept = state.history.filter((a) => a.rec.rev > to);
    const snapshot: Snapshot = {
      revision: Math.max(to, state.base),
      objects: [
        ...[...atTarget.objects.ok].map(([key, o]) => ({ key, rev: o.modRevision, value: o.value as unknown })),
        ...[...atTarget.objects.bad].map(([key, o]) => ({ key, rev: o.modRevision, value: o.raw, valueText: o.valueText })),
      ],
    };
    // Order matters: snapshot first, then the journal that continues it (see the header comment).
    await writeFileDurable(join(this.dir, SNAPSHOT_FILE), encodeSnapshot(snapshot));
    const journal = Buffer.concat([
      encodeRecord({ journal: JOURNAL_FORMAT, base: snapshot.revision }), ...kept.map((a) => encodeRecordVerbatim(a.rec, a.valueText)),
    ]);
    await writeFileDurable(join(this.dir, JOURNAL), journal);
    this.closeJournal();
    const fd = openSync(join(this.dir, JOURNAL), 'r');
    this.journal = { fd, ino: fstatSync(fd).ino, offset: journal.length, framing: 'v2' };
    state.base = snapshot.revision;
    state.baseObjects = atTarget.objects;
    state.history = kept;
    // Only a migration retires snapshot.json: any other compaction leaves it alone (were it there, it would be
    // a first-release store's data that this store never read, not litter).
    if (opts.migrate) this.removeLegacySnapshot();
  }

  /** After a migration the format-1 snapshot is unused; removing it is tidiness, so failure is ignored. */
  private removeLegacySnapshot(): void {
    const legacy = join(this.dir, LEGACY_SNAPSHOT_FILE);
    if (!existsSync(legacy)) return;
    try {
      unlinkSync(legacy);
      void fsyncDir(this.dir).catch(() => undefined);
    } catch {
      // left behind; never read once the journal is format 2
    }
  }

  // --- reads and change feed -------------------------------------------------------------------------------

  private read<T>(fn: () => T): Promise<T> {
    return this.guard(() => this.serial(async () => {
      await this.catchUp();
      return fn();
    }));
  }

  /**
   * Brings the in-memory state up to what is on disk and returns (or dispatches) the changes. Under the lock it
   * also cuts a torn tail left by a killed writer, so the next append starts on a record boundary.
   */
  private async catchUp(opts: { locked?: boolean; dispatch?: boolean } = {}): Promise<Change[]> {
    let changes: Change[];
    const st = statSync(join(this.dir, JOURNAL));
    const j = this.journal;
    if (!j || st.ino !== j.ino) {
      changes = await this.reload();
    } else {
      changes = [];
      if (st.size < j.offset) throw new DamageFound(JOURNAL, st.size, `the journal shrank below byte ${j.offset} (truncated by something else)`);
      if (st.size > j.offset) {
        const buf = Buffer.alloc(st.size - j.offset);
        const bytesRead = readSync(j.fd, buf, 0, buf.length, j.offset);
        const decoded = decodeJournal(buf.subarray(0, bytesRead), j.offset, j.framing);
        if (decoded.damage) throw damageOf(JOURNAL, decoded.damage);
        for (const { record, offset, text } of decoded.records) {
          if (record.rev !== this.state.revision + 1) {
            throw new DamageFound(JOURNAL, offset, `record of revision ${record.rev} follows revision ${this.state.revision}`);
          }
          changes.push(applyRecord(this.state, toApplied(record, text)));
        }
        j.offset = decoded.end;
      }
    }
    if (opts.locked) {
      const j2 = this.journal!;
      if (fstatSync(j2.fd).size > j2.offset) {
        // A writer died mid-append (the bytes were classified as a torn tail above): that record never committed.
        const fd = this.writeFd();
        ftruncateSync(fd, j2.offset);
        await fdatasyncAsync(fd);
      }
    }
    if (opts.dispatch !== false) this.dispatch(changes);
    return changes;
  }

  /** Reads the store from disk again (first open, or after another process replaced the journal). */
  private async reload(): Promise<Change[]> {
    const old = this.state;
    const hadState = this.journal !== undefined;
    const next = await this.load();
    this.state = next;
    if (!hadState) return [];
    const extendsOld = historyExtends(old, next);
    if (!extendsOld && next.revision <= old.revision) {
      // Other files at a revision we passed already (restored from a backup, or repaired by a release without
      // repair's revision margin): no event can say that truthfully, so every watch ends with the damage error;
      // its consumer keeps what it had (fail closed) and reopens.
      const err = new DamagedStoreError(this.endpoint, join(this.dir, JOURNAL), 0, `the store went back from revision ` +
        `${old.revision} to ${next.revision} (its files were replaced by an older or different history)`);
      for (const s of this.subscribers) s.queue.fail(err);
      return [];
    }
    if (extendsOld) {
      // The new files continue what we had: replay what is new, against what we had.
      const replay = emptyState(old.revision, old.objects);
      const out: Change[] = [];
      for (const applied of next.history) {
        if (applied.rec.rev <= old.revision) continue; // already reported
        out.push(applyRecord(replay, applied));
      }
      return out;
    }
    // Compacted past what we saw, or a different history (a repair): report the difference, as one resync.
    return diffStates(old.objects, next.objects, next.revision);
  }

  /** Loads snapshot + journal; sets this.journal. Retries when a concurrent compaction swaps the files. */
  private async load(): Promise<State> {
    for (let attempt = 0; ; attempt++) {
      const fd = openSync(join(this.dir, JOURNAL), 'r');
      try {
        const ino = fstatSync(fd).ino;
        const buf = readFileSync(fd);
        // The framing is decided from the whole file (framingOf): a damaged first byte of a format-2 journal is
        // reported as format-2 damage at byte 0, not read as a format-1 journal.
        const decoded = decodeJournal(buf, 0, framingOf(buf, { v2Snapshot: existsSync(join(this.dir, SNAPSHOT_FILE)) }));
        if (decoded.damage) throw damageOf(JOURNAL, decoded.damage);
        const header = decoded.header;
        // Journals are created whole (durable.ts), so even an unfinished header is damage, not a torn append.
        if (!header) throw new DamageFound(JOURNAL, 0, 'no journal header');
        let snapshot: Snapshot;
        try {
          snapshot = this.readSnapshot(header.journal === JOURNAL_FORMAT ? 'v2' : 'v1', header.base);
          if (snapshot.revision < header.base) throw new FilesChanged();
        } catch (err) {
          // Compaction renames the snapshot before the journal and we opened the journal first, so a snapshot
          // older than the journal (or gone, after a migration) means the files changed while we read them.
          const replaced = statSync(join(this.dir, JOURNAL)).ino !== ino;
          if ((replaced || err instanceof FilesChanged) && attempt < 5) {
            closeSync(fd);
            continue;
          }
          if (err instanceof FilesChanged) {
            throw new DamageFound(SNAPSHOT_FILE, 0, `the snapshot is older than ${JOURNAL} (base ${header.base})`);
          }
          throw err;
        }
        const objects = emptyObjects();
        const file = header.journal === JOURNAL_FORMAT ? SNAPSHOT_FILE : LEGACY_SNAPSHOT_FILE;
        for (const o of snapshot.objects) {
          const d = decodePut(file, o.key, o.value, o.rev);
          if (d.ok) objects.ok.set(o.key, { value: d.value, modRevision: o.rev });
          else objects.bad.set(o.key, { skipped: d.skipped, modRevision: o.rev, raw: o.value, valueText: valueTextOf(o) });
        }
        const state = emptyState(snapshot.revision, objects);
        for (const { record, offset, text } of decoded.records) {
          if (record.rev <= state.revision) continue;
          if (record.rev !== state.revision + 1) {
            throw new DamageFound(JOURNAL, offset, `record of revision ${record.rev} follows revision ${state.revision}`);
          }
          applyRecord(state, toApplied(record, text));
        }
        this.closeJournal();
        this.journal = { fd, ino, offset: decoded.end, framing: decoded.framing };
        return state;
      } catch (err) {
        closeSync(fd);
        throw err;
      }
    }
  }

  private readSnapshot(framing: Framing, journalBase: number): Snapshot {
    const name = framing === 'v2' ? SNAPSHOT_FILE : LEGACY_SNAPSHOT_FILE;
    let buf: Buffer;
    try {
      buf = readFileSync(join(this.dir, name));
    } catch (err) {
      // A first-release store created by a process killed before it wrote the snapshot starts empty.
      if (errnoOf(err) === 'ENOENT' && journalBase === 0 && framing === 'v1') return { revision: 0, objects: [] };
      if (errnoOf(err) === 'ENOENT') throw new DamageFound(name, 0, `the snapshot is missing (${JOURNAL} continues revision ${journalBase})`);
      throw err;
    }
    const decoded = framing === 'v2' ? decodeSnapshot(buf) : decodeLegacySnapshot(buf);
    if (!decoded.ok) throw damageOf(name, decoded.damage);
    return decoded.snapshot;
  }

  /** Creates the snapshot and journal of a new store (under the lock, so two first users agree). */
  private async initialise(): Promise<void> {
    const journalPath = join(this.dir, JOURNAL);
    if (existsSync(journalPath)) return;
    await this.withLock(async () => {
      if (existsSync(journalPath)) return;
      // Without a journal, a snapshot that holds anything is a store whose journal was lost, not a new store:
      // starting afresh would empty it (and a later compaction would delete a first-release snapshot.json).
      // Refused as damage; repair rebuilds it from the snapshot, with --force since later changes may be gone.
      const missing = (what: string) => new DamageFound(JOURNAL, 0, `the journal is missing but ${what}; the changes ` +
        'after the snapshot may be lost (tabby datastore repair --force rebuilds the store from the snapshot)');
      if (existsSync(join(this.dir, LEGACY_SNAPSHOT_FILE))) throw missing(`${LEGACY_SNAPSHOT_FILE} (a first-release store) is there`);
      const snapPath = join(this.dir, SNAPSHOT_FILE);
      if (existsSync(snapPath)) {
        // Only what a creator killed between its two writes leaves (below) is a new store.
        const snap = this.readSnapshot('v2', 0);
        if (snap.revision > 0 || snap.objects.length > 0) throw missing(`${SNAPSHOT_FILE} holds revision ${snap.revision}`);
      } else {
        await writeFileDurable(snapPath, encodeSnapshot({ revision: 0, objects: [] }));
      }
      await writeFileDurable(journalPath, encodeRecord({ journal: JOURNAL_FORMAT, base: 0 }));
    });
  }

  /**
   * The data directory exists and is a directory, creating it (and missing parents) one level at a time: Node's
   * recursive mkdir retries ENOENT forever where a parent refuses new entries (/proc), issue 10 §5.
   */
  private ensureDirectory(): void {
    const missing: string[] = [];
    let d = this.dir;
    for (;;) {
      try {
        const st = statSync(d);
        if (!st.isDirectory()) throw Object.assign(new Error(`${d} is not a directory`), { code: 'ENOTDIR', path: d, syscall: 'mkdir' });
        break;
      } catch (err) {
        if (errnoOf(err) !== 'ENOENT' || dirname(d) === d) throw err;
        missing.push(d);
        d = dirname(d);
      }
    }
    for (const m of missing.reverse()) {
      try {
        mkdirSync(m);
      } catch (err) {
        if (errnoOf(err) !== 'EEXIST') throw err;
      }
    }
  }

  private closeJournal(): void {
    if (this.journal) {
      closeSync(this.journal.fd);
      if (this.journal.writeFd !== undefined) closeSync(this.journal.writeFd);
    }
    this.journal = undefined;
  }

  private dispatch(changes: Change[]): void {
    if (changes.length === 0 || this.subscribers.size === 0) return;
    for (const sub of this.subscribers) {
      for (const c of changes) {
        if (c.rev <= sub.after || !changeMatches(sub.query, c)) continue;
        const event = toWatchEvent(c);
        if (event) sub.queue.push(event);
      }
      sub.after = Math.max(sub.after, changes[changes.length - 1]!.rev);
    }
  }

  /** Watches the directory (and polls, as a fallback) while anyone watches this store. */
  private updatePoller(): void {
    const wanted = this.subscribers.size > 0 && !this.closed;
    if (wanted && !this.poller) {
      const poke = () => {
        if (!this.poller || this.poller.pending) return;
        this.poller.pending = true;
        void this.serial(() => this.catchUp())
          .catch((err: unknown) => {
            // Damage ends every watch (its consumer must not go on with a prefix); anything else is transient.
            const e = this.asDatastoreError(err);
            if (e instanceof DamagedStoreError) for (const s of this.subscribers) s.queue.fail(e);
          })
          .finally(() => { if (this.poller) this.poller.pending = false; });
      };
      let fsw: FSWatcher | undefined;
      try {
        fsw = fsWatch(this.dir, { persistent: true }, poke);
        fsw.on('error', () => undefined);
      } catch {
        fsw = undefined; // fs.watch unsupported here: the poll alone will do
      }
      this.poller = { fsw, timer: setInterval(poke, this.pollIntervalMs), pending: false };
    } else if (!wanted && this.poller) {
      this.poller.fsw?.close();
      clearInterval(this.poller.timer);
      this.poller = undefined;
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Turns file-system failures and damage into typed datastore errors naming the file; datastore errors pass. */
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.asDatastoreError(err);
    }
  }

  private storageError(err: unknown, committed: boolean | undefined): StorageError {
    const e = err as NodeJS.ErrnoException;
    const op = SYSCALL_VERB[e.syscall ?? ''] ?? e.syscall ?? 'use';
    return new StorageError(this.endpoint, errnoOf(err)!, e.path ?? join(this.dir, JOURNAL), op, committed, { cause: err });
  }

  private asDatastoreError(err: unknown): unknown {
    if (isDatastoreError(err)) return err;
    if (err instanceof DamageFound) return new DamagedStoreError(this.endpoint, join(this.dir, err.file), err.offset, err.reason);
    if (errnoOf(err)) return this.storageError(err, undefined);
    return err;
  }
}

const SYSCALL_VERB: Record<string, string> = {
  open: 'open', read: 'read', write: 'write to', fsync: 'sync', fdatasync: 'sync', mkdir: 'create directory',
  rename: 'rename into', unlink: 'remove', stat: 'read', ftruncate: 'truncate', scandir: 'list', copyfile: 'copy',
};

function damageOf(file: string, p: Problem): DamageFound {
  return new DamageFound(file, p.offset, p.reason);
}
