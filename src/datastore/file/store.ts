// The embedded file store: zero setup, safe with several processes, and crash-safe.
//
// Layout of the data directory:
//
//   snapshot.json   every object at revision `revision` (replaced whole: temp file, fsync, rename, fsync dir)
//   journal.log     header {journal, base} + one checksummed line per change after `base` (journal.ts)
//   lock            the writer lock (lock.ts)
//
// Design:
// - The journal is the commit point. A write appends one line and fdatasyncs it before returning; one small
//   append + one sync per change, where a file per object would cost two syncs plus a rename.
// - Readers take no lock. They read the snapshot, then apply journal lines in order; a torn or unfinished last
//   line fails its checksum and is simply not there yet. Writers hold the lock, first cut any torn tail a
//   killed writer left, then append. So a kill -9 at any instant leaves the old state or the new one.
// - Compaction writes a new snapshot at revision R (durably), then replaces the journal with one whose base is
//   R (durably). A crash between the two leaves a new snapshot and the old journal, whose lines up to R are
//   skipped. Readers open the journal *before* reading the snapshot, so they never pair a new journal with an
//   old snapshot; one that still tails a replaced journal notices (inode changed) and reloads.
// - History (the journal since the last compaction) serves watch-from-revision; a watcher that fell behind a
//   compaction reloads and reports the difference between what it had and what is there (no change lost, none
//   repeated), as the etcd store does.
// - Watchers in other processes see changes through fs.watch on the directory plus a poll as a fallback
//   (fs.watch is best-effort on some filesystems).
//
// Thread-safety: one instance serialises its own operations (a promise chain); processes serialise writes
// with the lock.

import {
  closeSync, existsSync, fdatasync, fstatSync, ftruncateSync, openSync, readFileSync, readSync, statSync,
  watch as fsWatch, writeSync, type FSWatcher,
} from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join, resolve } from 'node:path';

import type { Resource, ResourceKey } from '../../api/index.js';
import {
  admit, checkDelete, planWrite, referenceViewOfMap, withResourceVersion, type ReferenceView, type StoredObject, type WriteMode,
} from '../admission.js';
import { builtinTierObject, withBuiltinTiers } from '../builtin-tiers.js';
import type {
  ApplyResult, Datastore, ListOptions, Preconditions, ResourceList, Watch, WatchEvent, WatchOptions,
} from '../datastore.js';
import { CompactedError, NotFoundError, UnavailableError, isDatastoreError } from '../errors.js';
import { WatchQueue } from '../event-queue.js';
import { compareKeys, keyPath, normaliseKey, parseKeyPath } from '../keys.js';
import { compileQuery, type Query } from '../query.js';
import { writeFileDurable } from './durable.js';
import { decodeLines, encodeLine, isHeader, isRecord, type JournalRecord } from './journal.js';
import { FileLock, LockTimeoutError } from './lock.js';

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
}

// Small file operations (stat, a short read, an append) run synchronously: they take microseconds, and going
// through the thread pool costs more than the call. Only fsync, which takes milliseconds, is asynchronous.
const fdatasyncAsync = promisify(fdatasync);

const SNAPSHOT = 'snapshot.json';
const JOURNAL = 'journal.log';
const LOCK = 'lock';
const SNAPSHOT_FORMAT = 1;

interface SnapshotFile {
  format: typeof SNAPSHOT_FORMAT;
  revision: number;
  objects: Array<{ key: string; rev: number; value: Resource }>;
}

/** What the store holds in memory: the state at `base` (the last compaction) plus the history since. */
interface State {
  base: number;
  baseObjects: Map<string, StoredObject>;
  history: JournalRecord[];
  objects: Map<string, StoredObject>;
  revision: number;
}

interface Change {
  path: string;
  key: ResourceKey;
  rev: number;
  /** The object after the change (upserts). */
  next: StoredObject | undefined;
  /** The object before the change. */
  prev: StoredObject | undefined;
}

interface Subscriber {
  query: Query;
  queue: WatchQueue;
  /** Changes at or below this revision were reported already (or precede the watch). */
  after: number;
}

class CorruptStoreError extends Error {}

function isErrno(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === code;
}

function emptyState(base: number, objects: Map<string, StoredObject>): State {
  return { base, baseObjects: objects, history: [], objects: new Map(objects), revision: base };
}

/** Applies a record to a state and returns the change, or undefined when the key is not an object key. */
function applyRecord(state: State, rec: JournalRecord): Change | undefined {
  const prev = state.objects.get(rec.key);
  let next: StoredObject | undefined;
  if (rec.op === 'put') {
    next = { value: rec.value, modRevision: rec.rev };
    state.objects.set(rec.key, next);
  } else {
    state.objects.delete(rec.key);
  }
  state.history.push(rec);
  state.revision = rec.rev;
  const key = parseKeyPath(rec.key);
  return key && { path: rec.key, key, rev: rec.rev, next, prev };
}

/** Every change that turns `from` into `to`, stamped with `rev`, in key order. */
function diffStates(from: Map<string, StoredObject>, to: Map<string, StoredObject>, rev: number): Change[] {
  const out: Change[] = [];
  for (const [path, prev] of from) {
    const key = parseKeyPath(path);
    if (key && !to.has(path)) out.push({ path, key, rev, prev, next: undefined });
  }
  for (const [path, next] of to) {
    const key = parseKeyPath(path);
    const prev = from.get(path);
    if (key && (!prev || prev.modRevision !== next.modRevision)) out.push({ path, key, rev, prev, next });
  }
  return out.sort((a, b) => compareKeys(a.key, b.key));
}

function toWatchEvent(c: Change): WatchEvent {
  if (c.next) {
    return {
      type: 'upsert', op: c.prev ? 'update' : 'add', resource: withResourceVersion(c.next.value, c.next.modRevision),
      revision: c.rev,
    };
  }
  return {
    type: 'delete', op: 'delete', key: c.key, revision: c.rev,
    previous: c.prev && withResourceVersion(c.prev.value, c.prev.modRevision),
  };
}

export class FileStore implements Datastore {
  readonly endpoint: string;
  private readonly dir: string;
  private readonly lock: FileLock;
  private readonly pollIntervalMs: number;
  private readonly autoCompact: { afterRecords: number; retain: number } | false;
  private readonly now: () => Date;
  private readonly crossObjectChecks: boolean;
  private state: State = emptyState(0, new Map());
  private journal: { fd: number; ino: number; offset: number } | undefined;
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
  }

  /** Opens (creating when missing) the store in `options.dir`. Throws UnavailableError when it cannot. */
  static async open(options: FileStoreOptions): Promise<FileStore> {
    const store = new FileStore(options);
    await store.guard(async () => {
      await mkdir(store.dir, { recursive: true });
      await store.initialise();
      store.state = await store.load();
    });
    return store;
  }

  // --- Datastore -------------------------------------------------------------------------------------------

  get(key: ResourceKey): Promise<Resource> {
    return this.read(() => {
      const k = normaliseKey(key);
      const obj = this.state.objects.get(keyPath(k));
      if (obj) return withResourceVersion(obj.value, obj.modRevision);
      const builtin = this.crossObjectChecks ? builtinTierObject(k) : undefined;
      if (!builtin) throw new NotFoundError(k);
      return builtin;
    });
  }

  async list(options: ListOptions = {}): Promise<ResourceList> {
    const query = compileQuery(options);
    return this.read(() => {
      const found: Array<{ key: ResourceKey; obj: StoredObject }> = [];
      for (const [path, obj] of this.state.objects) {
        if (!path.startsWith(query.prefix)) continue;
        const key = parseKeyPath(path);
        if (key && query.matches(key, obj.value)) found.push({ key, obj });
      }
      found.sort((a, b) => compareKeys(a.key, b.key));
      const items = found.map(({ obj }) => withResourceVersion(obj.value, obj.modRevision));
      return { items: this.crossObjectChecks ? withBuiltinTiers(items, options, query) : items, revision: this.state.revision };
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
      const current = this.state.objects.get(path);
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
        const initial = [...state.objects]
          .map(([path, obj]) => ({ key: parseKeyPath(path), obj }))
          .filter((e): e is { key: ResourceKey; obj: StoredObject } => e.key !== undefined && query.keyMatches(e.key))
          .sort((a, b) => compareKeys(a.key, b.key));
        for (const { obj } of initial) {
          sub.queue.push({
            type: 'upsert', op: 'add', resource: withResourceVersion(obj.value, obj.modRevision), revision: state.revision,
          });
        }
        sub.queue.push({ type: 'synced', op: 'synced', revision: state.revision });
      } else if (from < state.base) {
        sub.queue.fail(new CompactedError(from, state.base));
        return;
      } else if (from < state.revision) {
        // Replay history after `from` against the state as it was at `from`.
        const replay = emptyState(state.base, state.baseObjects);
        for (const rec of state.history) {
          const change = applyRecord(replay, rec);
          if (rec.rev > from && change && query.keyMatches(change.key)) sub.queue.push(toWatchEvent(change));
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
      const { value, created } = planWrite(mode, admitted, this.state.objects.get(path), this.now, this.references());
      return {
        record: { rev, op: 'put', key: path, value },
        result: { resource: withResourceVersion(value, rev), created },
      };
    });
  }

  /** The cross-object checks' view of the state (call under the lock, after catching up). */
  private references(): ReferenceView | undefined {
    return this.crossObjectChecks ? referenceViewOfMap(this.state.objects) : undefined;
  }

  /** Runs one change under the lock: catch up, decide (may throw), append + sync, apply, notify. */
  private write<T>(decide: (rev: number) => { record: JournalRecord; result: T }): Promise<T> {
    return this.guard(() => this.serial(async () => {
      if (this.closed) throw new Error('file store used after close()');
      let changes: Change[] = [];
      const result = await this.withLock(async () => {
        changes = await this.catchUp({ locked: true, dispatch: false });
        const { record, result } = decide(this.state.revision + 1);
        const line = encodeLine(record);
        const j = this.journal!;
        const data = Buffer.from(line);
        let written = 0;
        while (written < data.length) written += writeSync(j.fd, data, written, data.length - written, j.offset + written);
        await fdatasyncAsync(j.fd);
        j.offset += data.length;
        const change = applyRecord(this.state, record);
        if (change) changes.push(change);
        if (this.autoCompact && this.state.history.length >= this.autoCompact.afterRecords) {
          await this.compactLocked(this.state.revision - this.autoCompact.retain);
        }
        return result;
      }).finally(() => this.dispatch(changes));
      return result;
    }));
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

  private async compactLocked(target: number): Promise<void> {
    const { state } = this;
    const to = Math.min(target, state.revision);
    if (to <= state.base) return;
    const atTarget = emptyState(state.base, state.baseObjects);
    for (const rec of state.history) {
      if (rec.rev > to) break;
      applyRecord(atTarget, rec);
    }
    const kept = state.history.filter((r) => r.rev > to);
    const snapshot: SnapshotFile = {
      format: SNAPSHOT_FORMAT, revision: to,
      objects: [...atTarget.objects].map(([key, o]) => ({ key, rev: o.modRevision, value: o.value })),
    };
    // Order matters: snapshot first, then the journal that continues it (see the header comment).
    await writeFileDurable(join(this.dir, SNAPSHOT), JSON.stringify(snapshot));
    const text = encodeLine({ journal: 1, base: to }) + kept.map((r) => encodeLine(r)).join('');
    await writeFileDurable(join(this.dir, JOURNAL), text);
    this.closeJournal();
    const fd = openSync(join(this.dir, JOURNAL), 'r+');
    this.journal = { fd, ino: fstatSync(fd).ino, offset: Buffer.byteLength(text) };
    state.base = to;
    state.baseObjects = atTarget.objects;
    state.history = kept;
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
   * also cuts a torn tail left by a killed writer, so the next append starts on a line boundary.
   */
  private async catchUp(opts: { locked?: boolean; dispatch?: boolean } = {}): Promise<Change[]> {
    let changes: Change[];
    const st = statSync(join(this.dir, JOURNAL));
    const j = this.journal;
    if (!j || st.ino !== j.ino) {
      changes = await this.reload();
    } else {
      changes = [];
      if (st.size > j.offset) {
        const buf = Buffer.alloc(st.size - j.offset);
        const bytesRead = readSync(j.fd, buf, 0, buf.length, j.offset);
        const decoded = decodeLines(buf.subarray(0, bytesRead), j.offset);
        for (const entry of decoded.entries) {
          if (!isRecord(entry) || entry.rev !== this.state.revision + 1) {
            throw new CorruptStoreError(`${JOURNAL} has an out-of-sequence record after revision ${this.state.revision}`);
          }
          const change = applyRecord(this.state, entry);
          if (change) changes.push(change);
        }
        j.offset = decoded.end;
      }
    }
    if (opts.locked) {
      const j2 = this.journal!;
      if (fstatSync(j2.fd).size > j2.offset) {
        // A writer died mid-append; its line never committed.
        ftruncateSync(j2.fd, j2.offset);
        await fdatasyncAsync(j2.fd);
      }
    }
    if (opts.dispatch !== false) this.dispatch(changes);
    return changes;
  }

  /** Reads the store from disk again (first open, or after another process replaced the journal). */
  private async reload(): Promise<Change[]> {
    const old = this.state;
    const hadState = this.journal !== undefined;
    this.closeJournal();
    const next = await this.load();
    this.state = next;
    if (!hadState) return [];
    if (next.base <= old.revision) {
      // Nothing was compacted away that we had not seen: replay what is new, against what we had.
      const replay = emptyState(old.revision, old.objects);
      const out: Change[] = [];
      for (const rec of next.history) {
        if (rec.rev <= old.revision) continue; // already reported
        const change = applyRecord(replay, rec);
        if (change) out.push(change);
      }
      return out;
    }
    return diffStates(old.objects, next.objects, next.revision);
  }

  /** Loads snapshot + journal; sets this.journal. Retries when a concurrent compaction swaps the files. */
  private async load(): Promise<State> {
    for (let attempt = 0; ; attempt++) {
      const fd = openSync(join(this.dir, JOURNAL), 'r+');
      try {
        const ino = fstatSync(fd).ino;
        const buf = readFileSync(fd);
        const decoded = decodeLines(buf, 0);
        const header = decoded.entries[0];
        if (!isHeader(header)) throw new CorruptStoreError(`${JOURNAL} has no valid header`);
        const snapshot = await this.readSnapshot(header.base);
        if (snapshot.revision < header.base) {
          // Compaction renames the snapshot before the journal and we opened the journal first, so this means
          // the files changed twice while we read them; read again.
          if (attempt < 5) {
            closeSync(fd);
            continue;
          }
          throw new CorruptStoreError(`${SNAPSHOT} (revision ${snapshot.revision}) is older than ${JOURNAL} (base ${header.base})`);
        }
        const objects = new Map<string, StoredObject>();
        for (const o of snapshot.objects) objects.set(o.key, { value: o.value, modRevision: o.rev });
        const state = emptyState(snapshot.revision, objects);
        for (const entry of decoded.entries.slice(1)) {
          if (!isRecord(entry)) throw new CorruptStoreError(`${JOURNAL} has a malformed record`);
          if (entry.rev <= state.revision) continue;
          if (entry.rev !== state.revision + 1) {
            throw new CorruptStoreError(`${JOURNAL} skips from revision ${state.revision} to ${entry.rev}`);
          }
          applyRecord(state, entry);
        }
        this.journal = { fd, ino, offset: decoded.end };
        return state;
      } catch (err) {
        closeSync(fd);
        throw err;
      }
    }
  }

  private async readSnapshot(journalBase: number): Promise<SnapshotFile> {
    let text: string;
    try {
      text = readFileSync(join(this.dir, SNAPSHOT), 'utf8');
    } catch (err) {
      // A store created by a process killed before it wrote the snapshot starts empty.
      if (isErrno(err, 'ENOENT') && journalBase === 0) return { format: SNAPSHOT_FORMAT, revision: 0, objects: [] };
      throw err;
    }
    const snap = JSON.parse(text) as SnapshotFile;
    if (snap.format !== SNAPSHOT_FORMAT || !Number.isInteger(snap.revision) || !Array.isArray(snap.objects)) {
      throw new CorruptStoreError(`${SNAPSHOT} is not a Tabby snapshot (format ${String(snap.format)})`);
    }
    return snap;
  }

  /** Creates the snapshot and journal of a new store (under the lock, so two first users agree). */
  private async initialise(): Promise<void> {
    const journalPath = join(this.dir, JOURNAL);
    if (existsSync(journalPath)) return;
    await this.withLock(async () => {
      if (existsSync(journalPath)) return;
      const snapPath = join(this.dir, SNAPSHOT);
      let base = 0;
      if (existsSync(snapPath)) base = (await this.readSnapshot(0)).revision;
      else await writeFileDurable(snapPath, JSON.stringify({ format: SNAPSHOT_FORMAT, revision: 0, objects: [] }));
      await writeFileDurable(journalPath, encodeLine({ journal: 1, base }));
    });
  }

  private closeJournal(): void {
    if (this.journal) closeSync(this.journal.fd);
    this.journal = undefined;
  }

  private dispatch(changes: Change[]): void {
    if (changes.length === 0 || this.subscribers.size === 0) return;
    for (const sub of this.subscribers) {
      for (const c of changes) {
        if (c.rev > sub.after && sub.query.keyMatches(c.key)) sub.queue.push(toWatchEvent(c));
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
          .catch(() => undefined) // a transient read failure; the next poke retries
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

  /** Turns file-system failures into UnavailableError naming the directory; datastore errors pass through. */
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.asDatastoreError(err);
    }
  }

  private asDatastoreError(err: unknown): unknown {
    if (isDatastoreError(err)) return err;
    if (err instanceof CorruptStoreError) return new UnavailableError(this.endpoint, `store data is unreadable: ${err.message}`, { cause: err });
    if (err instanceof SyntaxError) return new UnavailableError(this.endpoint, `store data is unreadable: ${err.message}`, { cause: err });
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    if (typeof code === 'string') {
      return new UnavailableError(this.endpoint, (err as Error).message, { cause: err });
    }
    return err;
  }
}
