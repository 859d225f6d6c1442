// The datastore → engine loop: what Felix's syncer and calc-graph feeding are to Calico, shared by every consumer
// that keeps an engine equal to a store (the node agent today, the HTTP server later).
//
// API model
//   const syncer = new DatastoreSyncer({ store, engine, onBatch: async (revision) => { engine.flush() …; return true } });
//   syncer.start();  …  syncer.status();  …  await syncer.stop();
//
// Design
//   1. List, then watch from the list's revision (Kubernetes' list-then-watch): every change after the list is
//      seen exactly once. A watch that fails (compaction, a broken connection, the store going away) is followed
//      by a new list, diffed against what the engine was fed (Calico's watchercache): deletes for what vanished,
//      upserts for what changed, so the engine stays incremental and never starts from empty.
//   2. Every listing is checked before anything is fed (history-check.ts): a store that went back in time, lost
//      objects, or is not the one the consumer's earlier run enforced is refused — nothing is fed, the consumer
//      keeps what it enforces (fail closed), the status says why, and the list is retried with backoff. A
//      periodic health check (`store.revision()`) notices a store whose revision fell below what was seen while
//      the watch stays silent (a file store whose directory was replaced by an older copy) and forces the relist.
//   3. Bad data never stops the loop (issue 10 §4): objects the store reports as skipped are recorded, and an
//      exception from the engine for one object skips that object; either way the engine keeps the object's last
//      valid version. Both are reported in status() with their keys.
//   4. Any store error (unavailable, damaged, …) is "keep enforcing, report, retry": the consumer's batches simply
//      stop until the store answers again.
//   5. Batches: changes are applied to the engine as they arrive; the consumer's onBatch runs after a short
//      debounce, never concurrently, and changes arriving meanwhile form the next batch (Felix's throttled apply).
//      onBatch returning false (or throwing) is retried with backoff.
//
// Thread safety: single event loop; one syncer per engine.

import type { PolicyEngine } from '../engine/index.js';
import {
  isCompacted, isDamaged, keyOf, parseKeyPath, type Datastore, type ResourceList, type SkippedObject, type Watch,
  type WatchEvent,
} from '../datastore/index.js';
import type { Resource, ResourceKey, ResourceUpdate } from '../api/index.js';
import { checkBaseline, checkContinuation, type HistoryProblem, type StoreBaseline } from './history-check.js';
import { pathOfKey, SkippedObjects, SKIPPED_REPORT_LIMIT } from './skipped.js';

/**
 * How the datastore looks from here: reachable, unreachable, refusing to serve because its data is damaged, or
 * refused by the syncer because it went back in time / is another store than the one enforced.
 */
export type DatastoreHealth = 'connected' | 'unavailable' | 'damaged' | 'rolled-back' | 'replaced';

export interface SyncStatus {
  /** The store's endpoint, once opened. */
  endpoint?: string;
  datastore: DatastoreHealth;
  /** The store has been listed completely and the engine marked in-sync. */
  inSync: boolean;
  /** The newest datastore revision received (−1 before the first list). */
  seenRevision: number;
  /** The store's contents are refused (rolled-back, replaced): the consumer must keep what it enforces. */
  refused: boolean;
  /** The last datastore problem, one line; absent while the store is connected and accepted. */
  lastError?: string;
  /** Stored objects not in the engine (the first SKIPPED_REPORT_LIMIT, by key) and how many there are. */
  skipped: SkippedObject[];
  skippedCount: number;
}

export interface SyncerOptions {
  /** The store, or how to open it (opening is retried like any other store failure, and the syncer closes it). */
  store: Datastore | (() => Promise<Datastore>);
  engine: PolicyEngine;
  /** What an earlier run of the consumer enforced; a store older than it, or another store, is refused. */
  baseline?: StoreBaseline;
  /** Accept the first listing whatever the baseline says (the operator's `--accept-store-reset`). */
  acceptStoreReset?: boolean;
  /** Wait this long after a change before a batch. Default 2 ms. */
  debounceMs?: number;
  /** Backoff for store failures and failed batches: first and longest wait. Default 100 ms .. 5 s. */
  retryMs?: { first: number; max: number };
  /** How often the store is asked for its revision (reachability, going back in time). Default 5 s; 0: never. */
  healthCheckMs?: number;
  /**
   * Runs a batch: the engine reflects the store at `revision`; flush it and act. Never called concurrently, never
   * before the first complete list. Return false (or throw) to have it retried with backoff.
   */
  onBatch: (revision: number) => Promise<boolean>;
  /** The status changed for a reason other than a batch (datastore health, a refusal, skipped objects). */
  onStatus?: (status: SyncStatus) => void | Promise<void>;
  log?: (line: string) => void;
}

export class DatastoreSyncer {
  private readonly opts: SyncerOptions;
  private readonly engine: PolicyEngine;
  private store: Datastore | undefined;
  private watch: Watch | undefined;
  private loop: Promise<void> | undefined;
  private stopped = false;
  private inSync = false;
  private seen = -1;
  /** store path → resourceVersion of the version the engine holds. */
  private readonly known = new Map<string, string>();
  private readonly skipped = new SkippedObjects();
  private health: 'connected' | 'unavailable' | 'damaged' = 'connected';
  private problem: HistoryProblem | undefined;
  private lastError: string | undefined;
  /** The health check saw the store's revision fall below `seen`: the watch was closed to relist. */
  private rewound = false;
  private acceptReset: boolean;
  /** Waits before retrying an unusable store, and a failed batch. */
  private readonly storeRetry: Backoff;
  private readonly batchRetry: Backoff;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private healthTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;

  constructor(options: SyncerOptions) {
    this.opts = options;
    this.engine = options.engine;
    this.acceptReset = options.acceptStoreReset ?? false;
    this.storeRetry = new Backoff(options.retryMs);
    this.batchRetry = new Backoff(options.retryMs);
  }

  status(): SyncStatus {
    const s: SyncStatus = {
      datastore: this.problem?.kind ?? this.health,
      inSync: this.inSync,
      seenRevision: this.seen,
      refused: this.problem !== undefined,
      skipped: this.skipped.report(SKIPPED_REPORT_LIMIT),
      skippedCount: this.skipped.size,
    };
    if (this.store) s.endpoint = this.store.endpoint;
    const err = this.problem?.message ?? this.lastError;
    if (err !== undefined) s.lastError = err;
    return s;
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.run();
    const every = this.opts.healthCheckMs ?? 5000;
    if (every > 0) {
      this.healthTimer = setInterval(() => void this.checkHealth(Math.min(every, 2000)), every);
      this.healthTimer.unref();
    }
  }

  /** Stops watching and waits for a running batch; closes the store when the syncer opened it. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.healthTimer) clearInterval(this.healthTimer);
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    await this.closeWatch();
    await this.running;
    await this.loop;
    if (typeof this.opts.store === 'function') await this.store?.close().catch(() => undefined);
  }

  /** Asks for a batch after `delayMs` even without a change (a consumer's own retries). */
  requestBatch(delayMs = 0): void {
    this.schedule(delayMs);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Listing and watching

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const store = await this.open();
        const list = await store.list();
        if (this.stopped) break;
        if (!this.accept(store, list)) {
          await this.sleep(this.storeRetry.next());
          continue;
        }
        this.storeRetry.reset();
        this.applyList(list);
        this.watch = store.watch({ fromRevision: list.revision });
        for await (const event of this.watch) {
          if (this.stopped) break;
          this.onEvent(event);
        }
        if (this.stopped) break;
        if (this.rewound) {
          this.rewound = false;
          continue; // the relist's check says what happened
        }
        throw new Error('datastore watch ended');
      } catch (err) {
        if (this.stopped) break;
        await this.closeWatch();
        if (isCompacted(err)) {
          this.log(`${describeError(err)}; listing again`);
          continue;
        }
        const was = this.lastError;
        // A damaged store (DamagedStoreError: a checksum failed) refuses to serve rather than serve a prefix: the
        // same "keep enforcing, report, retry" as an outage — `tabby datastore repair` is the operator's to run.
        this.health = isDamaged(err) ? 'damaged' : 'unavailable';
        this.lastError = `datastore: ${describeError(err)}`;
        if (was !== this.lastError) this.log(`${this.lastError}; keeping the ruleset and retrying`);
        await this.notify();
        await this.sleep(this.storeRetry.next());
      }
    }
  }

  private async open(): Promise<Datastore> {
    if (!this.store) this.store = typeof this.opts.store === 'function' ? await this.opts.store() : this.opts.store;
    return this.store;
  }

  /** Checks a listing against what is known; refuses it (and reports why) when it cannot follow it. */
  private accept(store: Datastore, list: ResourceList): boolean {
    const listed = new Map<string, string>();
    for (const r of list.items) {
      const path = pathOfResource(r);
      if (path) listed.set(path, r.metadata.resourceVersion ?? '');
    }
    let problem: HistoryProblem | undefined;
    if (this.seen < 0 && !this.acceptReset) problem = checkBaseline(store.endpoint, this.opts.baseline, list.revision);
    const held = new Set<string>();
    for (const s of list.skipped ?? []) {
      const p = s.resource && pathOfKey(s.resource);
      if (p) held.add(p);
    }
    problem ??= checkContinuation(store.endpoint, this.known, this.seen, list, listed, held);
    if (problem) {
      const fresh = this.problem?.message !== problem.message;
      this.problem = problem;
      this.health = 'connected';
      if (fresh) {
        this.log(`${problem.message}; keeping the enforced ruleset (fail closed) — restore the datastore, or restart ` +
          'the agent with --accept-store-reset to enforce it as it is');
        void this.notify();
      }
      return false;
    }
    if (this.seen < 0 && this.acceptReset && this.opts.baseline && checkBaseline(store.endpoint, this.opts.baseline, list.revision)) {
      this.log(`accepting ${store.endpoint} at revision ${list.revision} (--accept-store-reset), although this node ` +
        `enforced revision ${this.opts.baseline.revision} of ${this.opts.baseline.endpoint}`);
    }
    this.acceptReset = false;
    const recovered = this.problem !== undefined || this.health !== 'connected';
    this.problem = undefined;
    this.health = 'connected';
    this.lastError = undefined;
    if (recovered) this.log(`datastore ${store.endpoint} accepted again at revision ${list.revision}`);
    return true;
  }

  /** Feeds the engine the difference between what it holds and the listing. */
  private applyList(list: ResourceList): void {
    this.skipped.replaceAll(list.skipped ?? []);
    const listed = new Map<string, Resource>();
    for (const r of list.items) {
      const path = pathOfResource(r);
      if (path) listed.set(path, r);
      else this.skipped.add({ key: describeResource(r), reason: 'not a resource kind Tabby knows', revision: list.revision });
    }
    const held = this.skipped.heldResources();
    for (const path of [...this.known.keys()]) {
      if (listed.has(path) || held.has(path)) continue;
      const key = parseKeyPath(path); // known paths came from keyPath(keyOf(r)), so they parse
      if (key) this.feed({ type: 'delete', key, revision: list.revision }, path, false);
      else this.known.delete(path);
    }
    for (const [path, r] of listed) {
      if (this.known.get(path) === (r.metadata.resourceVersion ?? '')) continue;
      this.feed({ type: 'upsert', resource: r, revision: list.revision }, path, false);
    }
    this.seen = Math.max(this.seen, list.revision);
    if (!this.inSync) {
      this.engine.markInSync();
      this.inSync = true;
    }
    void this.notify();
    this.schedule();
  }

  private onEvent(event: WatchEvent): void {
    this.seen = Math.max(this.seen, event.revision);
    switch (event.type) {
      case 'upsert': {
        const path = pathOfResource(event.resource);
        if (path) this.feed({ type: 'upsert', resource: event.resource, revision: event.revision }, path, true);
        else this.skip({ key: describeResource(event.resource), reason: 'not a resource kind Tabby knows', revision: event.revision });
        break;
      }
      case 'delete': {
        const path = pathOfKey(event.key);
        if (path) this.feed({ type: 'delete', key: event.key, revision: event.revision }, path, true);
        break;
      }
      case 'skipped':
        this.skip(event.skipped);
        break;
      case 'synced':
        break; // only a watch without fromRevision sends it
    }
    if (this.health !== 'connected' && !this.problem) {
      this.health = 'connected';
      this.lastError = undefined;
      void this.notify();
    }
    this.schedule();
  }

  /**
   * One update into the engine. An exception skips the object (the engine keeps its last valid version: the
   * dispatcher converts before it retracts) and is reported, never rethrown: one bad object must not stop the loop.
   */
  private feed(update: ResourceUpdate, path: string, clearsSkipped: boolean): void {
    try {
      this.engine.apply(update);
    } catch (err) {
      const key = update.type === 'upsert' ? safeKeyOf(update.resource) : update.key;
      this.skip({
        key: path, ...(key ? { resource: key } : {}),
        reason: `the engine failed on it: ${describeError(err)}`, ...(update.revision !== undefined ? { revision: update.revision } : {}),
      });
      return;
    }
    if (update.type === 'upsert') this.known.set(path, update.resource.metadata.resourceVersion ?? '');
    else this.known.delete(path);
    if (clearsSkipped && this.skipped.size > 0) {
      const before = this.skipped.size;
      this.skipped.clearResource(path);
      if (this.skipped.size !== before) void this.notify();
    }
  }

  private skip(s: SkippedObject): void {
    this.skipped.add(s);
    const held = s.resource !== undefined && this.known.has(pathOfKey(s.resource) ?? '');
    this.log(`skipped stored object ${JSON.stringify(s.key)}: ${s.reason}${held ? ' (its last valid version stays in use)' : ''}`);
    void this.notify();
  }

  /** Asks the store for its revision; an error or no answer within `timeoutMs` means unavailable. */
  private async checkHealth(timeoutMs: number): Promise<void> {
    const store = this.store;
    if (!store || this.stopped) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const revision = await Promise.race([store.revision(), timeout]);
      if (this.stopped) return;
      if (revision < this.seen && this.watch && !this.problem) {
        // The watch may stay silent (nothing newer will come); the relist decides and reports.
        this.log(`datastore ${store.endpoint} reports revision ${revision}, older than revision ${this.seen} already received; listing again`);
        this.rewound = true;
        await this.closeWatch();
      } else if (this.health !== 'connected' && !this.problem && this.watch) {
        this.health = 'connected';
        this.lastError = undefined;
        this.log('datastore reachable again');
        await this.notify();
      }
    } catch (err) {
      if (this.stopped) return;
      const was = this.health;
      this.health = isDamaged(err) ? 'damaged' : 'unavailable';
      this.lastError = `datastore: ${describeError(err)}; the ruleset stays as it is`;
      if (was !== this.health) this.log(this.lastError);
      await this.notify();
    } finally {
      clearTimeout(timer);
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Batches

  private schedule(delay = this.opts.debounceMs ?? 2): void {
    if (this.stopped || !this.inSync) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.batch().finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.schedule();
        }
      });
    }, delay);
  }

  private async batch(): Promise<void> {
    const revision = this.seen;
    let ok: boolean;
    try {
      ok = await this.opts.onBatch(revision);
    } catch (err) {
      this.log(`batch at revision ${revision} failed: ${describeError(err)}`);
      ok = false;
    }
    if (ok) {
      this.batchRetry.reset();
      if (this.seen > revision) this.again = true;
    } else {
      setTimeout(() => this.schedule(0), this.batchRetry.next()).unref?.();
    }
  }

  // -------------------------------------------------------------------------------------------------------------

  private async closeWatch(): Promise<void> {
    const w = this.watch;
    this.watch = undefined;
    await w?.close().catch(() => undefined);
  }

  /** Sleeps, waking early on stop(). */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(t);
        self.wake = undefined;
        resolve();
      }
      this.wake = done;
    });
  }

  private async notify(): Promise<void> {
    try {
      await this.opts.onStatus?.(this.status());
    } catch (err) {
      this.log(`status report failed: ${describeError(err)}`);
    }
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }
}

/** Doubling waits from `first` up to `max` (default 100 ms .. 5 s), back to `first` after a success. */
class Backoff {
  private readonly first: number;
  private readonly max: number;
  private wait: number;
  constructor(limits?: { first: number; max: number }) {
    this.first = this.wait = limits?.first ?? 100;
    this.max = limits?.max ?? 5000;
  }
  next(): number {
    const wait = this.wait;
    this.wait = Math.min(wait * 2, this.max);
    return wait;
  }
  reset(): void {
    this.wait = this.first;
  }
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function safeKeyOf(resource: Resource): ResourceKey | undefined {
  try {
    return keyOf(resource);
  } catch {
    return undefined;
  }
}

/** The store path of a served resource, or undefined when its kind or name cannot be read. */
function pathOfResource(resource: Resource): string | undefined {
  if (typeof resource?.metadata?.name !== 'string') return undefined;
  const key = safeKeyOf(resource);
  return key && pathOfKey(key);
}

/** What a resource that cannot be keyed claims to be, for reports (quoted on output). */
function describeResource(resource: Resource): string {
  const r = resource as { kind?: unknown; metadata?: { namespace?: unknown; name?: unknown } | null } | null;
  return `${String(r?.kind)}/${String(r?.metadata?.namespace ?? '')}/${String(r?.metadata?.name)}`;
}
