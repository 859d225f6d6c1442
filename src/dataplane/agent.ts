// The dataplane agent — what Felix is to a Calico node: it watches the datastore, feeds the engine, renders the
// node's workload endpoints and keeps the kernel's `inet tabby` table equal to that rendering.
//
// API model
//   const agent = new Agent({ node, store, nft });  await agent.start();  …  await agent.stop();
//   agent.status() / the status file report the datastore revision the kernel enforces.
//
// Design
//   1. Write nothing until the datastore has been listed completely (in-sync); then one transaction that
//      replaces the table atomically (kube-proxy's and Felix's start of day).
//   2. After that, one minimal transaction per batch of changes: changed chains rewritten whole, set element
//      deltas, map element deltas (render/ruleset.ts). Changes arriving while a transaction runs form the next
//      batch, which is how bursts coalesce (Felix's throttled apply loop).
//   3. Fail closed: the table never has the `owner` flag, so it stays when the agent stops or dies; a failed
//      transaction changes nothing (the kernel applies all of it or none); the agent then forgets what the kernel
//      holds and retries with a full replace, with backoff. There is never a moment without the skeleton's drops.
//   4. A datastore outage leaves the ruleset as it is. When the watch ends with an error, the agent starts over:
//      a fresh engine and a full list, then one full replace.
//   5. "Enforced revision" is the revision of the last datastore event whose consequences are in the kernel;
//      tests wait for it instead of sleeping.
//
// Implementation
//   One loop owns the engine and the renderer; watch events only enqueue and schedule it. Plans are made, run
//   and committed inside that loop, never concurrently (render/ruleset.ts relies on it).
//
// Thread safety: single event loop; nothing is shared across agents.

import { rename, writeFile } from 'node:fs/promises';

import { PolicyEngine, type EngineOptions } from '../engine/index.js';
import { toResourceUpdate, type Datastore, type Watch } from '../datastore/index.js';
import type { Nft } from './nft/nftables.js';
import { Renderer, type RenderOptions, type RuleMeaning } from './render/renderer.js';

export type AgentState = 'starting' | 'syncing' | 'in-sync' | 'error' | 'stopped';

export interface AgentStatus {
  node: string;
  pid: number;
  state: AgentState;
  /** The datastore revision whose consequences the kernel enforces (−1 before the first sync). */
  enforcedRevision: number;
  /** The newest datastore revision the agent has received. */
  seenRevision: number;
  datastore: 'connected' | 'unavailable';
  /** Local workload endpoints programmed. */
  endpoints: number;
  syncs: number;
  fullSyncs: number;
  failures: number;
  lastSyncMs?: number;
  /** Where the last sync's time went: engine flush, rendering and planning, the nft transaction. */
  lastSyncPhases?: { engineMs: number; renderMs: number; nftMs: number };
  lastSyncAt?: string;
  lastError?: string;
  updatedAt: string;
}

export interface AgentOptions {
  node: string;
  store: Datastore;
  /** The `inet tabby` table on this node (NftTables with netnsExec for a node namespace). */
  nft: Nft;
  engine?: EngineOptions;
  render?: Omit<RenderOptions, 'node' | 'defaultEndpointToHostAction' | 'allowVXLANPacketsFromWorkloads' | 'allowIPIPPacketsFromWorkloads' | 'vxlanPort'>;
  /** Written (atomically) after every sync: AgentStatus as JSON. */
  statusFile?: string;
  /** Written when rule IDs are added: RuleMeaning[] as JSON, for `tabby agent rules`. */
  rulesFile?: string;
  /** Wait this long after a change before syncing, to batch bursts. Default 2 ms. */
  debounceMs?: number;
  /** Backoff after a failed transaction or a broken watch: first and longest wait. Default 100 ms .. 5 s. */
  retryMs?: { first: number; max: number };
  /**
   * How often the datastore is asked for its revision, to report `datastore: unavailable` while it cannot be
   * reached (a watch may wait through an outage silently). Default 5 s; 0 turns it off.
   */
  healthCheckMs?: number;
  /**
   * Felix's NFTablesFlowTableOffload (dataplane.md §1.3): established TCP and UDP flows of the node's workloads are
   * forwarded by an nftables flowtable (kernel CONFIG_NF_FLOW_TABLE) once policy has accepted them. The flowtable
   * hooks the local workload interfaces, changed in the same transaction as the rest; `interfaces` lists the
   * node's interfaces at each sync, because the kernel refuses a transaction that names a missing device.
   */
  flowtableOffload?: { interfaces: () => Promise<ReadonlySet<string>> };
  /** Called after every sync attempt (tests, benches). */
  onSync?: (status: AgentStatus) => void;
  log?: (line: string) => void;
}

export class Agent {
  private readonly opts: AgentOptions;
  private engine!: PolicyEngine;
  private renderer!: Renderer;
  private watch: Watch | undefined;
  private stopped = false;
  private inSync = false;
  private readonly st: AgentStatus;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private retryWait: number;
  private knownRuleIds = 0;
  /** Syncs left to retry for workload interfaces not in the flowtable because they did not exist yet. */
  private offloadRetries = OFFLOAD_RETRIES;
  private loop: Promise<void> | undefined;
  private health: NodeJS.Timeout | undefined;
  private firstSync!: { promise: Promise<void>; resolve: () => void };
  private readonly waiters = new Set<{ revision: number; resolve: () => void }>();

  constructor(options: AgentOptions) {
    this.opts = options;
    this.retryWait = options.retryMs?.first ?? 100;
    this.st = {
      node: options.node, pid: process.pid, state: 'starting', enforcedRevision: -1, seenRevision: -1,
      datastore: 'connected', endpoints: 0, syncs: 0, fullSyncs: 0, failures: 0, updatedAt: new Date().toISOString(),
    };
    let resolve!: () => void;
    this.firstSync = { promise: new Promise<void>((r) => { resolve = r; }), resolve };
    this.reset();
  }

  status(): AgentStatus {
    return { ...this.st };
  }

  /** The rule IDs of the rendered ruleset and what each one enforces. */
  ruleMeanings(): RuleMeaning[] {
    return [...this.renderer.meanings.values()];
  }

  /** Starts watching; resolves once the first full sync is in the kernel. */
  async start(): Promise<void> {
    this.loop = this.watchLoop();
    const every = this.opts.healthCheckMs ?? 5000;
    if (every > 0) {
      this.health = setInterval(() => void this.checkDatastore(Math.min(every, 2000)), every);
      this.health.unref();
    }
    await this.firstSync.promise;
  }

  /** Stops watching. The ruleset stays in the kernel (fail closed). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.health) clearInterval(this.health);
    if (this.timer) clearTimeout(this.timer);
    await this.watch?.close().catch(() => undefined);
    await this.running;
    await this.loop;
    this.st.state = 'stopped';
    await this.writeStatus();
  }

  /** Resolves when the kernel enforces `revision` or later. */
  waitForRevision(revision: number, timeoutMs = 30_000): Promise<void> {
    if (this.st.enforcedRevision >= revision) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = { revision, resolve: () => { clearTimeout(timer); resolve(); } };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`agent ${this.opts.node}: revision ${revision} not enforced after ${timeoutMs} ms ` +
          `(enforced ${this.st.enforcedRevision}, seen ${this.st.seenRevision}${this.st.lastError ? `, last error: ${this.st.lastError}` : ''})`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  private reset(): void {
    const e = this.opts.engine ?? {};
    this.engine = new PolicyEngine(e);
    this.renderer = new Renderer({
      ...(this.opts.render ?? {}),
      node: this.opts.node,
      ...(e.defaultEndpointToHostAction !== undefined ? { defaultEndpointToHostAction: e.defaultEndpointToHostAction } : {}),
      ...(e.allowVXLANPacketsFromWorkloads !== undefined ? { allowVXLANPacketsFromWorkloads: e.allowVXLANPacketsFromWorkloads } : {}),
      ...(e.allowIPIPPacketsFromWorkloads !== undefined ? { allowIPIPPacketsFromWorkloads: e.allowIPIPPacketsFromWorkloads } : {}),
      ...(e.vxlanPort !== undefined ? { vxlanPort: e.vxlanPort } : {}),
      ...(this.opts.flowtableOffload ? { flowtableOffload: true } : {}),
    });
    this.inSync = false;
    this.knownRuleIds = 0;
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Watching

  private async watchLoop(): Promise<void> {
    while (!this.stopped) {
      try {
        this.watch = this.opts.store.watch();
        for await (const event of this.watch) {
          if (this.stopped) break;
          this.st.datastore = 'connected';
          if (event.type === 'synced') {
            this.engine.markInSync();
            this.inSync = true;
            this.st.seenRevision = Math.max(this.st.seenRevision, event.revision);
          } else {
            const update = toResourceUpdate(event);
            if (update) this.engine.apply(update);
            this.st.seenRevision = Math.max(this.st.seenRevision, event.revision);
          }
          if (this.inSync) this.schedule();
        }
        if (this.stopped) break;
        throw new Error('datastore watch ended');
      } catch (err) {
        if (this.stopped) break;
        this.st.datastore = 'unavailable';
        this.st.lastError = `datastore: ${err instanceof Error ? err.message : String(err)}`;
        this.log(`${this.st.lastError}; keeping the ruleset and starting over`);
        await this.writeStatus();
        await this.watch?.close().catch(() => undefined);
        await this.running;
        await this.sleep(this.nextRetry());
        // Start over from a full list: objects deleted during the outage disappear with the old engine.
        this.reset();
      }
    }
  }

  /** Asks the datastore for its revision; an error or no answer within `timeoutMs` means unavailable. */
  private async checkDatastore(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.opts.store.revision(), timeout]);
      if (this.st.datastore !== 'connected') {
        this.st.datastore = 'connected';
        this.log('datastore reachable again');
        await this.writeStatus();
      }
    } catch (err) {
      if (this.stopped) return;
      const was = this.st.datastore;
      this.st.datastore = 'unavailable';
      this.st.lastError = `datastore: ${err instanceof Error ? err.message : String(err)}; the ruleset stays as it is`;
      if (was !== 'unavailable') this.log(this.st.lastError);
      await this.writeStatus();
    } finally {
      clearTimeout(timer);
    }
  }

  private schedule(delay = this.opts.debounceMs ?? 2): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.sync().finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.schedule();
        }
      });
    }, delay);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Syncing

  private async sync(): Promise<void> {
    if (!this.inSync) return;
    const revision = this.st.seenRevision;
    const t0 = performance.now();
    this.st.state = 'syncing';
    const changes = this.engine.flush();
    const t1 = performance.now();
    this.renderer.apply(changes);
    this.renderer.settle();
    await this.updateFlowtable();
    const plan = this.renderer.ruleset.plan();
    const t2 = performance.now();
    try {
      if (plan.tx.size > 0) await this.opts.nft.run(plan.tx);
      plan.commit();
      const ms = (x: number): number => Math.round(x * 10) / 10;
      this.st.lastSyncPhases = { engineMs: ms(t1 - t0), renderMs: ms(t2 - t1), nftMs: ms(performance.now() - t2) };
    } catch (err) {
      this.st.failures++;
      this.st.state = 'error';
      this.st.lastError = `nft: ${err instanceof Error ? err.message : String(err)}`;
      this.log(`sync failed (${plan.full ? 'full' : 'incremental'}): ${this.st.lastError}`);
      // The kernel is unchanged; replace the whole table on the next attempt (Felix recreates after failures).
      this.renderer.ruleset.invalidate();
      await this.writeStatus();
      this.opts.onSync?.(this.status());
      const wait = this.nextRetry();
      setTimeout(() => this.schedule(0), wait).unref?.();
      return;
    }
    this.retryWait = this.opts.retryMs?.first ?? 100;
    this.st.syncs++;
    if (plan.full) this.st.fullSyncs++;
    this.st.enforcedRevision = Math.max(this.st.enforcedRevision, revision);
    for (const w of this.waiters) {
      if (w.revision <= this.st.enforcedRevision) {
        this.waiters.delete(w);
        w.resolve();
      }
    }
    this.st.state = this.st.seenRevision > revision ? 'syncing' : 'in-sync';
    this.st.endpoints = this.renderer.localInterfaces().size;
    this.st.lastSyncMs = Math.round((performance.now() - t0) * 10) / 10;
    this.st.lastSyncAt = new Date().toISOString();
    delete this.st.lastError;
    if (this.st.datastore === 'unavailable') this.st.datastore = 'connected';
    this.firstSync.resolve();
    await this.writeStatus();
    await this.writeRules();
    this.opts.onSync?.(this.status());
    if (this.st.seenRevision > revision) this.schedule();
  }

  /**
   * The flowtable hooks the local workload interfaces that exist now. One whose WorkloadEndpoint came before its
   * veth is added by a later sync (a few tries, a second apart, as Felix re-asserts its flowtable); a listing
   * that fails leaves the devices as they are — offload never holds up policy.
   */
  private async updateFlowtable(): Promise<void> {
    const offload = this.opts.flowtableOffload;
    if (!offload) return;
    let present: ReadonlySet<string>;
    try {
      present = await offload.interfaces();
    } catch (err) {
      this.log(`flowtable devices unchanged: cannot list interfaces: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    const local = [...this.renderer.localInterfaces().keys()];
    const devices = new Set(local.filter((d) => present.has(d)));
    this.renderer.ruleset.setFlowtableDevices(devices, present);
    if (devices.size === local.length) {
      this.offloadRetries = OFFLOAD_RETRIES;
    } else if (this.offloadRetries > 0) {
      this.offloadRetries--;
      setTimeout(() => this.schedule(0), 1000).unref?.();
    }
  }

  private nextRetry(): number {
    const wait = this.retryWait;
    this.retryWait = Math.min(this.retryWait * 2, this.opts.retryMs?.max ?? 5000);
    return wait;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
  }

  private async writeStatus(): Promise<void> {
    this.st.updatedAt = new Date().toISOString();
    if (!this.opts.statusFile) return;
    await writeAtomically(this.opts.statusFile, JSON.stringify(this.st, null, 2) + '\n');
  }

  private async writeRules(): Promise<void> {
    if (!this.opts.rulesFile || this.renderer.meanings.size === this.knownRuleIds) return;
    this.knownRuleIds = this.renderer.meanings.size;
    await writeAtomically(this.opts.rulesFile, JSON.stringify(this.ruleMeanings()) + '\n');
  }
}

const OFFLOAD_RETRIES = 5;

async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}
