// The dataplane agent — what Felix is to a Calico node: it keeps the kernel's `inet tabby` table equal to the
// rendering of the node's workload endpoints, as the datastore says they should be.
//
// API model
//   const agent = new Agent({ node, store, nft });  await agent.start();  …  await agent.stop();
//   agent.status() / the status file report the datastore revision the kernel enforces.
//
// Parts
//   src/sync/ (DatastoreSyncer)  list + watch the store, feed the engine, batch; refuses a store that went back in
//                                time, skips malformed objects, reports datastore health
//   agent/policy-sync.ts         engine change feed → renderer → one nft transaction per batch
//   agent/offload.ts             the flowtable's devices (opt-in offload)
//   hostInterfaces (option)      the node's interfaces and addresses, polled: HostEndpoints given by expectedIPs
//   agent/status.ts              status file, rule-ID file, the enforced record
//
// Design
//   1. Write nothing until the datastore has been listed completely (in-sync) and accepted; then one transaction
//      that replaces the table atomically (kube-proxy's and Felix's start of day).
//   2. After that, one minimal transaction per batch of changes (render/ruleset.ts); bursts coalesce (the syncer).
//   3. Fail closed: the table never has the `owner` flag, so it stays when the agent stops or dies; a failed
//      transaction changes nothing, and the next attempt replaces the whole table, with backoff.
//   4. A datastore outage, a damaged store, or a store that went back in time / lost objects / is another store
//      leaves the ruleset as it is: the syncer feeds nothing it cannot vouch for, the status says why.
//   5. "Enforced revision" is the revision of the last datastore event whose consequences are in the kernel; tests
//      wait for it instead of sleeping. With `enforcedFile`, it is kept on disk with the store's endpoint, so a
//      restarted agent refuses an older store or another store unless told to accept it (`acceptStoreReset`).
//
// Thread safety: single event loop; nothing is shared across agents.

import { describeSource, FELIX_SETTING_NAMES, formatSettingValue } from '../api/index.js';
import { PolicyEngine, type EngineOptions } from '../engine/index.js';
import type { Datastore } from '../datastore/index.js';
import { DatastoreSyncer, type StoreBaseline } from '../sync/index.js';
import type { Nft } from './nft/nftables.js';
import type { RuleMeaning } from './render/renderer.js';
import { FlowtableDevices, OFFLOAD_RETRY_MS } from './agent/offload.js';
import { PolicySync, type PolicyRenderOptions } from './agent/policy-sync.js';
import {
  readEnforcedRecord, writeAtomically, writeEnforcedRecord, type AgentSetting, type AgentState, type AgentStatus,
} from './agent/status.js';

export type { AgentSetting, AgentState, AgentStatus } from './agent/status.js';

export interface AgentOptions {
  node: string;
  /** The store, or how to open it (then opening is retried like any store failure, and the agent closes it). */
  store: Datastore | (() => Promise<Datastore>);
  /** The `inet tabby` table on this node (NftTables with netnsExec for a node namespace). */
  nft: Nft;
  engine?: EngineOptions;
  /** Renderer settings; `flowLogs` defaults to true here (NFLOG groups 1 and 2 for every verdict). */
  render?: PolicyRenderOptions;
  /** Written (atomically) after every sync and every datastore status change: AgentStatus as JSON. */
  statusFile?: string;
  /** Written when rule IDs are added: RuleMeaning[] as JSON, for `tabby agent rules`. */
  rulesFile?: string;
  /**
   * The enforced record (agent/status.ts): read at start — a store older than it, or another store, is refused —
   * and rewritten after every transaction the kernel accepted.
   */
  enforcedFile?: string;
  /** Program the store as it is at start even if it is older than, or another store than, the enforced record. */
  acceptStoreReset?: boolean;
  /** Wait this long after a change before syncing, to batch bursts. Default 2 ms. */
  debounceMs?: number;
  /** Backoff after a failed transaction or a datastore failure: first and longest wait. Default 100 ms .. 5 s. */
  retryMs?: { first: number; max: number };
  /**
   * How often the datastore is asked for its revision, to report `datastore: unavailable` while it cannot be
   * reached and to notice a store that went back in time. Default 5 s; 0 turns it off.
   */
  healthCheckMs?: number;
  /**
   * Felix's NFTablesFlowTableOffload (dataplane.md §1.3): established TCP and UDP flows of the node's workloads are
   * forwarded by an nftables flowtable (kernel CONFIG_NF_FLOW_TABLE) once policy has accepted them. The flowtable
   * hooks the local workload interfaces, changed in the same transaction as the rest; `interfaces` lists the
   * node's interfaces at each sync, because the kernel refuses a transaction that names a missing device.
   */
  flowtableOffload?: { interfaces: () => Promise<ReadonlySet<string>> };
  /**
   * The node's interfaces and their addresses (netns/namespace.ts interfaceAddresses): what resolves a
   * HostEndpoint with expectedIPs and no interfaceName to the interfaces holding one of them (Felix's
   * endpoint_mgr.go, fed by its interface monitor). Read before the first sync and every `pollMs` (default 2 s)
   * after; a change re-renders the host endpoints. Without it such endpoints govern no interface.
   */
  hostInterfaces?: { read: () => Promise<ReadonlyMap<string, readonly string[]>>; pollMs?: number };
  /** Called after every sync attempt (tests, benches). */
  onSync?: (status: AgentStatus) => void;
  log?: (line: string) => void;
}

/** The agent's own part of the status; the syncer supplies the datastore's. */
interface OwnStatus {
  state: 'starting' | 'syncing' | 'in-sync' | 'error' | 'stopped';
  enforcedRevision: number;
  endpoints: number;
  syncs: number;
  fullSyncs: number;
  failures: number;
  lastSyncMs?: number;
  lastSyncPhases?: { engineMs: number; renderMs: number; nftMs: number };
  lastSyncAt?: string;
  /** The last failed transaction, until one succeeds. */
  nftError?: string;
  /** Why the agent cannot start at all (an unreadable enforced record). */
  fatal?: string;
}

export class Agent {
  private readonly opts: AgentOptions;
  private readonly engine: PolicyEngine;
  private readonly policy: PolicySync;
  private syncer: DatastoreSyncer | undefined;
  private readonly own: OwnStatus = { state: 'starting', enforcedRevision: -1, endpoints: 0, syncs: 0, fullSyncs: 0, failures: 0 };
  private knownRuleIds = 0;
  private firstSync!: { promise: Promise<void>; resolve: () => void };
  private readonly waiters = new Set<{ revision: number; resolve: () => void }>();
  private statusWrite: Promise<void> = Promise.resolve();
  private earlierRun: StoreBaseline | undefined;
  /** The settings enforced since the last sync, by name (value and source, as reported). */
  private settings: AgentSetting[] | undefined;
  /** Overridden fields whose stored value has been reported as not applied (once per field and value). */
  private readonly overrideNoted = new Map<string, string>();
  /** The interfaces last handed to the renderer (canonical JSON); '' until a read succeeded. */
  private interfacesSeen = '';
  private stopped = false;
  private interfacePoll: ReturnType<typeof setInterval> | undefined;

  constructor(options: AgentOptions) {
    this.opts = options;
    this.engine = new PolicyEngine(options.engine ?? {});
    const offload = options.flowtableOffload
      ? new FlowtableDevices(options.flowtableOffload.interfaces, (line) => this.log(line))
      : undefined;
    // Issue 13 §1: flow logs are on unless the agent is told otherwise (tabby agent --no-flow-logs).
    this.policy = new PolicySync(options.node, options.engine ?? {}, { flowLogs: true, ...options.render }, options.nft, offload);
    let resolve!: () => void;
    this.firstSync = { promise: new Promise<void>((r) => { resolve = r; }), resolve };
  }

  status(): AgentStatus {
    const sync = this.syncer?.status();
    const refused = sync !== undefined && (sync.refused || sync.datastore === 'damaged');
    const state: AgentState = this.own.state === 'stopped' ? 'stopped'
      : this.own.fatal !== undefined || refused ? 'error'
        : this.own.state;
    const s: AgentStatus = {
      node: this.opts.node, pid: process.pid, state, enforcedRevision: this.own.enforcedRevision,
      seenRevision: sync?.seenRevision ?? -1, ...(this.earlierRun ? { earlierRun: { ...this.earlierRun } } : {}),
      datastore: sync?.datastore ?? 'connected',
      ...(sync?.endpoint !== undefined ? { datastoreEndpoint: sync.endpoint } : {}),
      endpoints: this.own.endpoints, syncs: this.own.syncs, fullSyncs: this.own.fullSyncs, failures: this.own.failures,
      skipped: sync?.skipped ?? [], skippedCount: sync?.skippedCount ?? 0,
      ...(this.own.lastSyncMs !== undefined ? { lastSyncMs: this.own.lastSyncMs } : {}),
      ...(this.own.lastSyncPhases ? { lastSyncPhases: this.own.lastSyncPhases } : {}),
      ...(this.own.lastSyncAt ? { lastSyncAt: this.own.lastSyncAt } : {}),
      ...(this.settings ? { settings: this.settings } : {}),
      updatedAt: new Date().toISOString(),
    };
    // A refusal says more than a transaction error, which says more than a passing datastore hiccup.
    const refusal = sync?.refused && sync.lastError !== undefined
      ? `${sync.lastError}; the ruleset stays as it is — restore the datastore, or restart the agent with ` +
        '--accept-store-reset to enforce it as it is'
      : refused ? sync.lastError : undefined;
    const lastError = this.own.fatal ?? refusal ?? this.own.nftError ?? sync?.lastError;
    if (lastError !== undefined) s.lastError = lastError;
    return s;
  }

  /** The rule IDs of the rendered ruleset and what each one enforces. */
  ruleMeanings(): RuleMeaning[] {
    return [...this.policy.renderer.meanings.values()];
  }

  /** The meaning of one rule ID (flow logs map NFLOG prefixes back through it). */
  ruleMeaning(id: string): RuleMeaning | undefined {
    return this.policy.renderer.meanings.get(id);
  }

  /** The engine this agent enforces, read-only by contract: flow logs evaluate pending verdicts against it. */
  get policyEngine(): PolicyEngine {
    return this.engine;
  }

  /** Starts watching; resolves once the first full sync is in the kernel. */
  async start(): Promise<void> {
    // Options given at start override the datastore's FelixConfiguration for good (Felix: its environment): say so.
    const effective = this.engine.felixSettings(this.opts.node);
    for (const name of FELIX_SETTING_NAMES) {
      const { value, source } = effective[name];
      if (source.kind === 'override') {
        this.log(`${source.what} sets ${name} = ${formatSettingValue(value)}, over any FelixConfiguration in the datastore`);
      }
    }
    let baseline: StoreBaseline | undefined;
    if (this.opts.enforcedFile) {
      try {
        baseline = await readEnforcedRecord(this.opts.enforcedFile, this.opts.node);
        this.earlierRun = baseline;
      } catch (err) {
        if (!this.opts.acceptStoreReset) {
          // Without knowing what the kernel enforces, any store could be older: program nothing.
          this.own.fatal = `${(err as Error).message}; the ruleset stays as it is — fix or remove the file, or ` +
            'start the agent with --accept-store-reset';
          this.log(this.own.fatal);
          await this.writeStatus();
          this.opts.onSync?.(this.status());
          return this.firstSync.promise;
        }
      }
    }
    this.syncer = new DatastoreSyncer({
      store: this.opts.store,
      engine: this.engine,
      ...(baseline ? { baseline } : {}),
      ...(this.opts.acceptStoreReset ? { acceptStoreReset: true } : {}),
      ...(this.opts.debounceMs !== undefined ? { debounceMs: this.opts.debounceMs } : {}),
      ...(this.opts.retryMs ? { retryMs: this.opts.retryMs } : {}),
      ...(this.opts.healthCheckMs !== undefined ? { healthCheckMs: this.opts.healthCheckMs } : {}),
      onBatch: (revision) => this.sync(revision),
      onStatus: () => this.writeStatus(),
      log: (line) => this.log(line),
    });
    if (this.opts.hostInterfaces) {
      // The first full sync replaces the table: without the node's interfaces it would drop the elements that
      // steer expectedIPs endpoints' interfaces (fail open for them), so it waits until one read succeeds and the
      // table in the kernel stays as it is meanwhile.
      for (let attempt = 1; !(await this.readInterfaces()) && this.interfacesSeen === ''; attempt++) {
        if (this.stopped) return;
        if (attempt === 1 || attempt % 20 === 0) this.log('waiting for the node\'s interfaces before the first sync');
        await new Promise((r) => setTimeout(r, 500));
      }
      const every = this.opts.hostInterfaces.pollMs ?? 2000;
      if (every > 0) {
        let reading = false;
        this.interfacePoll = setInterval(() => {
          if (reading) return; // a slow read is not overtaken by a newer one
          reading = true;
          void this.readInterfaces()
            .then((changed) => { if (changed && !this.stopped) this.syncer?.requestBatch(0); })
            .finally(() => { reading = false; });
        }, every);
        this.interfacePoll.unref?.();
      }
    }
    this.syncer.start();
    await this.firstSync.promise;
  }

  /** Hands the node's interfaces to the renderer; true when they changed. A failed read keeps the last ones. */
  private async readInterfaces(): Promise<boolean> {
    let interfaces: ReadonlyMap<string, readonly string[]>;
    try {
      interfaces = await this.opts.hostInterfaces!.read();
    } catch (err) {
      this.log(`host interfaces unchanged: cannot list them: ${err instanceof Error ? err.message : String(err)}`);
      return false;
    }
    const seen = JSON.stringify([...interfaces].map(([i, as]) => [i, [...as].sort()]).sort());
    if (seen === this.interfacesSeen) return false;
    this.interfacesSeen = seen;
    this.policy.renderer.setHostInterfaces(interfaces);
    return true;
  }

  /** Stops watching. The ruleset stays in the kernel (fail closed). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.interfacePoll);
    await this.syncer?.stop();
    this.own.state = 'stopped';
    await this.writeStatus();
  }

  /** Resolves when the kernel enforces `revision` or later. */
  waitForRevision(revision: number, timeoutMs = 30_000): Promise<void> {
    if (this.own.enforcedRevision >= revision) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = { revision, resolve: () => { clearTimeout(timer); resolve(); } };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const s = this.status();
        reject(new Error(`agent ${this.opts.node}: revision ${revision} not enforced after ${timeoutMs} ms ` +
          `(enforced ${s.enforcedRevision}, seen ${s.seenRevision}${s.lastError ? `, last error: ${s.lastError}` : ''})`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  /** One batch from the syncer: the engine reflects the store at `revision`. */
  private async sync(revision: number): Promise<boolean> {
    const t0 = performance.now();
    this.own.state = 'syncing';
    const result = await this.policy.sync(this.engine);
    if (result.retryOffload) this.syncer?.requestBatch(OFFLOAD_RETRY_MS);
    if (!result.ok) {
      this.own.failures++;
      this.own.state = 'error';
      this.own.nftError = result.error;
      this.log(`sync failed (${result.full ? 'full' : 'incremental'}): ${result.error}`);
      await this.writeStatus();
      this.opts.onSync?.(this.status());
      return false;
    }
    this.own.lastSyncPhases = result.phases;
    this.own.syncs++;
    if (result.full) this.own.fullSyncs++;
    this.own.enforcedRevision = Math.max(this.own.enforcedRevision, revision);
    for (const w of this.waiters) {
      if (w.revision <= this.own.enforcedRevision) {
        this.waiters.delete(w);
        w.resolve();
      }
    }
    this.noteSettings();
    const seen = this.syncer?.status().seenRevision ?? revision;
    this.own.state = seen > revision ? 'syncing' : 'in-sync';
    this.own.endpoints = this.policy.renderer.localInterfaces().size;
    this.own.lastSyncMs = Math.round((performance.now() - t0) * 10) / 10;
    this.own.lastSyncAt = new Date().toISOString();
    delete this.own.nftError;
    this.firstSync.resolve();
    const endpoint = this.syncer?.status().endpoint;
    if (this.opts.enforcedFile && endpoint !== undefined) {
      await writeEnforcedRecord(this.opts.enforcedFile, this.opts.node, { endpoint, revision: this.own.enforcedRevision });
    }
    await this.writeStatus();
    await this.writeRules();
    this.opts.onSync?.(this.status());
    return true;
  }

  /**
   * After a sync: the settings now enforced, for the status; a log line per setting a FelixConfiguration change
   * altered (the first sync lists those not at their built-in default); and, once, each stored value an option
   * overrides.
   */
  private noteSettings(): void {
    const node = this.opts.node;
    const effective = this.engine.felixSettings(node);
    const stored = this.engine.felixSettings(node, { overrides: false });
    const next: AgentSetting[] = FELIX_SETTING_NAMES.map((name) => ({
      name, value: formatSettingValue(effective[name].value), source: describeSource(effective[name].source),
    }));
    const before = new Map((this.settings ?? []).map((s) => [s.name, s]));
    const first = this.settings === undefined;
    const changed = next.filter((s, i) => {
      const kind = effective[FELIX_SETTING_NAMES[i]!].source.kind;
      if (first) return kind === 'node' || kind === 'default';
      const b = before.get(s.name);
      return b !== undefined && (b.value !== s.value || b.source !== s.source);
    });
    if (changed.length > 0) {
      const list = changed.map((s) => `${s.name} = ${s.value} (${s.source})`).join('; ');
      this.log(first ? `FelixConfiguration in force: ${list}` : `FelixConfiguration changed, applied: ${list}`);
    }
    for (const name of FELIX_SETTING_NAMES) {
      const src = effective[name].source;
      const st = stored[name];
      if (src.kind !== 'override' || st.source.kind === 'builtin') continue;
      const text = `${describeSource(st.source)} sets ${name} = ${formatSettingValue(st.value)}`;
      if (this.overrideNoted.get(name) === text) continue;
      this.overrideNoted.set(name, text);
      this.log(`${text}; not applied: ${src.what} overrides it`);
    }
    this.settings = next;
  }

  /** Status writes are serialised: the syncer reports health changes while a sync may be writing too. */
  private writeStatus(): Promise<void> {
    const file = this.opts.statusFile;
    if (!file) return Promise.resolve();
    this.statusWrite = this.statusWrite
      .then(() => writeAtomically(file, JSON.stringify(this.status(), null, 2) + '\n'))
      .catch((err: unknown) => this.log(`cannot write ${file}: ${(err as Error).message}`));
    return this.statusWrite;
  }

  private async writeRules(): Promise<void> {
    const meanings = this.policy.renderer.meanings;
    if (!this.opts.rulesFile || meanings.size === this.knownRuleIds) return;
    this.knownRuleIds = meanings.size;
    await writeAtomically(this.opts.rulesFile, JSON.stringify(this.ruleMeanings()) + '\n');
  }
}
