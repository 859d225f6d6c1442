// One watch on the etcd store, kept whole across disconnects, etcd restarts and compaction (the job of
// libcalico-go lib/backend/watchersyncer/watchercache.go in Calico).
//
// It keeps a cache of what it has reported (key → object + mod_revision) and the revision that cache reflects.
// - Disconnects: etcd3 re-creates the watch by itself; we make it resume at cacheRevision + 1 (etcd3 would
//   resume after the revision in the *creation* reply header, skipping events not yet delivered).
// - Compaction: resuming from a compacted revision makes etcd cancel the watch. We then list again and report
//   exactly the difference from the cache — deletes for what vanished, upserts for what changed — so nothing
//   is lost and nothing is repeated; then watch from the list's revision.
// - The initial list (no fromRevision) and the seeding list (fromRevision) are read page by page at one
//   revision, so the watch starts from a consistent moment.
//
// It does not deduplicate writes that did not change a value: every etcd put is a change with a new revision.
//
// A value that cannot be served (stored-object.ts: undecodable, invalid, at another object's key) is reported as
// a `skipped` event and never enters the cache: the cache keeps the last valid version of that key, so a resync
// does not turn "replaced by garbage" into a delete, and the consumer keeps what it enforced (fail closed).

import type { IWatchResponse, Watcher } from 'etcd3';

import type { ResourceKey } from '../../api/index.js';
import { withResourceVersion, type StoredObject } from '../admission.js';
import type { WatchEvent, WatchOptions } from '../datastore.js';
import { CompactedError, isDatastoreError, isUnavailable } from '../errors.js';
import { WatchQueue } from '../event-queue.js';
import { compareKeys, parseKeyPath } from '../keys.js';
import { compileQuery, type Query } from '../query.js';
import { isCompactedError, isConnectionError, toDatastoreError } from './client.js';
import type { DecodedKv, EtcdStore, SkippedKv } from './store.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Cached {
  key: ResourceKey;
  obj: StoredObject;
}

export class EtcdWatch {
  readonly queue: WatchQueue;
  private readonly query: Query;
  private cache = new Map<string, Cached>();
  /** Keys whose current value was reported as skipped, with that value's mod_revision. */
  private skipped = new Map<string, number>();
  /** The revision the cache reflects; the watch resumes after it. */
  private cacheRevision = 0;
  /** Changes at or below this revision are not reported (the caller's fromRevision, or the initial list). */
  private reportAfter = 0;
  private watcher: Watcher | undefined;
  private closed = false;

  constructor(private readonly store: EtcdStore, private readonly options: WatchOptions, onClose: () => void) {
    this.query = compileQuery({
      ...(options.kind && { kind: options.kind }),
      ...(options.namespace && { namespace: options.namespace }),
    });
    this.queue = new WatchQueue(async () => {
      this.closed = true;
      onClose();
      const w = this.watcher;
      this.watcher = undefined;
      await w?.cancel().catch(() => undefined);
    });
  }

  start(): void {
    void this.begin().catch((err: unknown) => {
      if (!this.closed) this.queue.fail(isDatastoreError(err) ? err : toDatastoreError(err, this.store.endpoint));
    });
  }

  private async begin(): Promise<void> {
    const from = this.options.fromRevision;
    if (from === undefined) {
      const { entries, skipped, revision } = await this.retryUnavailable(() => this.store.rangeAll(this.query.prefix));
      if (this.closed) return;
      this.seed(entries, revision);
      const sorted = [...this.cache.values()].sort((a, b) => compareKeys(a.key, b.key));
      for (const c of sorted) {
        this.queue.push({ type: 'upsert', op: 'add', resource: withResourceVersion(c.obj.value, c.obj.modRevision), revision });
      }
      for (const s of skipped) if (this.query.keyMatches(s.key)) this.reportSkipped(s, revision);
      this.queue.push({ type: 'synced', op: 'synced', revision });
      this.reportAfter = revision;
    } else {
      // Seed the cache with the state at `from`, so a later resync can diff against what the caller knows.
      const current = await this.retryUnavailable(() => this.store.revision());
      const at = Math.min(from, current);
      let listed: { entries: DecodedKv[]; skipped: SkippedKv[]; revision: number };
      try {
        listed = await this.retryUnavailable(() => this.store.rangeAll(this.query.prefix, at));
      } catch (err) {
        if (isCompactedError(err)) throw new CompactedError(from, undefined);
        throw err;
      }
      if (this.closed) return;
      this.seed(listed.entries, at);
      // Garbage already there at `from` was reported to the caller by the list it watches from: remember it, so its
      // deletion is reported too.
      for (const s of listed.skipped) if (this.query.keyMatches(s.key)) this.skipped.set(s.path, s.modRevision);
      this.reportAfter = from;
    }
    this.connect();
  }

  private seed(entries: DecodedKv[], revision: number): void {
    this.cache = new Map();
    for (const e of entries) if (this.query.keyMatches(e.key)) this.cache.set(e.path, { key: e.key, obj: e.obj });
    this.cacheRevision = revision;
  }

  private connect(): void {
    if (this.closed) return;
    const w = this.store.client.watch()
      .prefix(this.store.prefix + this.query.prefix)
      .withPreviousKV()
      .startRevision(String(this.cacheRevision + 1))
      .watcher();
    // Every (re)connect resumes right after what we have seen, whatever etcd3 has recorded.
    w.on('connecting', () => {
      w.request.start_revision = String(this.cacheRevision + 1);
    });
    w.on('data', (res: IWatchResponse) => this.onData(res));
    // etcd cancelled the watch: almost always because the resume revision was compacted.
    w.on('error', () => {
      if (this.watcher === w) this.watcher = undefined;
      void this.resync();
    });
    this.watcher = w;
  }

  private onData(res: IWatchResponse): void {
    if (this.closed) return;
    // Events of one revision arrive in one response; anything at or below the floor was seen before a reconnect.
    const floor = this.cacheRevision;
    for (const ev of res.events) {
      const rev = Number(ev.kv.mod_revision);
      if (rev <= floor) continue;
      this.cacheRevision = Math.max(this.cacheRevision, rev);
      if (ev.type === 'Put') {
        const d = this.store.decode(ev.kv);
        if (!d || !this.query.keyMatches(d.key)) continue;
        if (!('obj' in d)) {
          this.reportSkipped(d, rev);
          continue;
        }
        this.skipped.delete(d.path);
        const prev = this.cache.get(d.path);
        this.cache.set(d.path, { key: d.key, obj: d.obj });
        this.emit({
          type: 'upsert', op: prev ? 'update' : 'add', resource: withResourceVersion(d.obj.value, d.obj.modRevision),
          revision: rev,
        });
      } else {
        const path = ev.kv.key.toString().slice(this.store.prefix.length);
        const prev = this.cache.get(path);
        const wasSkipped = this.skipped.delete(path);
        if (!prev) {
          // A key only ever seen as unreadable: say it is gone, so a consumer can stop reporting it.
          const key = wasSkipped ? parseKeyPath(path) : undefined;
          if (key) this.emit({ type: 'delete', op: 'delete', key, previous: undefined, revision: rev });
          continue; // otherwise not ours, or never reported
        }
        this.cache.delete(path);
        this.emit({
          type: 'delete', op: 'delete', key: prev.key, revision: rev,
          previous: withResourceVersion(prev.obj.value, prev.obj.modRevision),
        });
      }
    }
  }

  /** Reports a value that cannot be served, once per stored version; the cache keeps the last valid one. */
  private reportSkipped(s: SkippedKv, revision: number): void {
    if (this.skipped.get(s.path) === s.modRevision) return;
    this.skipped.set(s.path, s.modRevision);
    this.emit({ type: 'skipped', op: 'skipped', skipped: s.skipped, revision });
  }

  private emit(event: WatchEvent): void {
    if (event.revision > this.reportAfter) this.queue.push(event);
  }

  /** Lists again and reports the difference from the cache, then watches on from the list's revision. */
  private async resync(): Promise<void> {
    if (this.closed) return;
    let listed: { entries: DecodedKv[]; skipped: SkippedKv[]; revision: number };
    try {
      listed = await this.retryUnavailable(() => this.store.rangeAll(this.query.prefix));
    } catch (err) {
      if (!this.closed) this.queue.fail(toDatastoreError(err, this.store.endpoint));
      return;
    }
    if (this.closed) return;
    const { entries, skipped, revision } = listed;
    const events: Array<{ key: ResourceKey; event: WatchEvent }> = [];
    const next = new Map<string, Cached>();
    for (const e of entries) if (this.query.keyMatches(e.key)) next.set(e.path, { key: e.key, obj: e.obj });
    // An object now unreadable keeps its last valid version (see the header): no delete for it.
    const unreadable = skipped.filter((e) => this.query.keyMatches(e.key));
    for (const e of unreadable) {
      const kept = this.cache.get(e.path);
      if (kept) next.set(e.path, kept);
    }
    const stillSkipped = new Set(unreadable.map((e) => e.path));
    for (const path of [...this.skipped.keys()]) {
      if (stillSkipped.has(path)) continue;
      this.skipped.delete(path); // valid again (reported below as an upsert), or gone
      const key = parseKeyPath(path);
      if (key && !next.has(path) && !this.cache.has(path)) {
        events.push({ key, event: { type: 'delete', op: 'delete', key, previous: undefined, revision } });
      }
    }
    for (const [path, prev] of this.cache) {
      if (!next.has(path)) {
        events.push({ key: prev.key, event: {
          type: 'delete', op: 'delete', key: prev.key, revision,
          previous: withResourceVersion(prev.obj.value, prev.obj.modRevision),
        } });
      }
    }
    for (const [path, cur] of next) {
      const prev = this.cache.get(path);
      if (prev && prev.obj.modRevision === cur.obj.modRevision) continue;
      events.push({ key: cur.key, event: {
        type: 'upsert', op: prev ? 'update' : 'add', revision,
        resource: withResourceVersion(cur.obj.value, cur.obj.modRevision),
      } });
    }
    events.sort((a, b) => compareKeys(a.key, b.key));
    this.cache = next;
    this.cacheRevision = Math.max(this.cacheRevision, revision);
    for (const e of events) this.emit(e.event);
    for (const e of unreadable) this.reportSkipped(e, revision);
    this.connect();
  }

  /** Keeps trying while etcd is unreachable (a watch outlives outages); other errors end the watch. */
  private async retryUnavailable<T>(fn: () => Promise<T>): Promise<T> {
    let delay = 100;
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (this.closed || !(isConnectionError(err) || isUnavailable(err))) throw err;
        await sleep(delay);
        delay = Math.min(delay * 2, 2_000);
      }
    }
  }
}
