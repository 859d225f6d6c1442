// The desired table as an in-memory model, the model of what the kernel holds, and the transaction that takes
// one to the other (dataplane.md §5.1 "the model is truth", §5.8 script order). Nothing is read back from the
// kernel: after a transaction succeeds, commit() records it as applied; after one fails, nothing is recorded,
// the same changes stay pending, and the caller retries (or replaces the table in one full-sync transaction).

import {
  Transaction,
  type Chain,
  type Elements,
  type NftMap,
  type NftSet,
  type Rule,
} from '../nft/index.js';
import { TABLE_FAMILY, TABLE_NAME } from './names.js';

export interface ChainContent {
  chain: Chain;
  rules: Rule[];
}

export interface SetContent {
  set: NftSet;
  /** Never changed once handed to the model (setSet takes a new Set), so snapshots may share it. */
  elements: ReadonlySet<string>;
}

export interface MapContent {
  map: NftMap;
  /** key → value */
  elements: Map<string, string>;
}

/** The flowtable (NFTablesFlowTableOffload): its name, ingress priority and the devices it hooks. */
export interface FlowtableContent {
  name: string;
  priority: number;
  /** Never changed once handed to the model (setFlowtableDevices takes a new Set). */
  devices: ReadonlySet<string>;
}

/** A whole table's contents. */
export class TableModel {
  flowtable: FlowtableContent | undefined;
  readonly chains = new Map<string, ChainContent>();
  readonly sets = new Map<string, SetContent>();
  readonly maps = new Map<string, MapContent>();

  clone(): TableModel {
    const t = new TableModel();
    t.flowtable = this.flowtable;
    for (const [n, c] of this.chains) t.chains.set(n, { chain: c.chain, rules: c.rules });
    for (const [n, s] of this.sets) t.sets.set(n, s);
    for (const [n, m] of this.maps) t.maps.set(n, { map: m.map, elements: new Map(m.elements) });
    return t;
  }
}

export interface Plan {
  tx: Transaction;
  /** Whether the transaction replaces the whole table. */
  full: boolean;
  /** Chains the transaction writes (added or rewritten), removes; set elements it adds and deletes. */
  stats: { chainsWritten: number; chainsRemoved: number; elementsAdded: number; elementsRemoved: number };
  /** Records the transaction as applied; call only after it ran successfully. */
  commit(): void;
}

function sameRules(a: readonly Rule[], b: readonly Rule[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.rule !== b[i]!.rule || a[i]!.comment !== b[i]!.comment) return false;
  }
  return true;
}

function sameChainHead(a: Chain, b: Chain): boolean {
  return a.hook === b.hook && a.chainType === b.chainType && a.priority === b.priority && a.policy === b.policy;
}

function sameSetHead(a: NftSet | NftMap, b: NftSet | NftMap): boolean {
  return a.keyType === b.keyType && (a.flags ?? []).join() === (b.flags ?? []).join() &&
    (a.type !== 'map' || (b.type === 'map' && a.valueType === b.valueType));
}

/**
 * Desired and applied tables plus the names that may differ between them. Writers change `desired` through the
 * setX/deleteX methods, which record the dirty names; plan() turns the dirty names into a transaction. Use it
 * from one loop: plan, run, commit — changes made between plan() and commit() would be marked clean unapplied.
 */
export class Ruleset {
  desired = new TableModel();
  private applied: TableModel | undefined;
  private readonly dirtyChains = new Set<string>();
  private readonly dirtySets = new Set<string>();
  private readonly dirtyMaps = new Set<string>();
  private dirtyFlowtable = false;
  /** Devices that exist (as last told): a vanished device is dropped from the flowtable without naming it. */
  private present: ReadonlySet<string> | undefined;

  constructor(readonly tableComment = 'managed by tabby; do not edit') {}

  /** Whether the kernel's table is known (a full sync has succeeded). */
  get synced(): boolean {
    return this.applied !== undefined;
  }

  /** Forgets what the kernel holds, so the next plan is a full replace (after a failure or a restart). */
  invalidate(): void {
    this.applied = undefined;
  }

  get pending(): boolean {
    return !this.applied || this.dirtyChains.size > 0 || this.dirtySets.size > 0 || this.dirtyMaps.size > 0 || this.dirtyFlowtable;
  }

  /** Declares the flowtable (with no devices yet), or removes it. */
  setFlowtable(flowtable: { name: string; priority: number } | undefined): void {
    this.desired.flowtable = flowtable && { ...flowtable, devices: this.desired.flowtable?.devices ?? new Set() };
    this.dirtyFlowtable = true;
  }

  /**
   * The devices the flowtable hooks, and the node's interfaces now (`present`). The kernel may drop a device that
   * disappears from a flowtable on its own (kernels differ), so one that is no longer wanted and no longer
   * present is forgotten rather than deleted by name — naming it would fail the whole transaction (Felix prunes
   * flowtable devices against the kernel for the same reason, calico#13355).
   */
  setFlowtableDevices(devices: ReadonlySet<string>, present: ReadonlySet<string>): void {
    const ft = this.desired.flowtable;
    if (!ft) throw new Error('no flowtable in the model');
    this.present = present;
    if (devices.size === ft.devices.size && [...devices].every((d) => ft.devices.has(d))) return;
    this.desired.flowtable = { ...ft, devices };
    this.dirtyFlowtable = true;
  }

  setChain(chain: Chain, rules: Rule[]): void {
    this.desired.chains.set(chain.name, { chain, rules });
    this.dirtyChains.add(chain.name);
  }

  deleteChain(name: string): void {
    if (this.desired.chains.delete(name)) this.dirtyChains.add(name);
  }

  hasChain(name: string): boolean {
    return this.desired.chains.has(name);
  }

  /** `elements` must not be changed afterwards: pass a new Set for new contents. */
  setSet(set: NftSet, elements: ReadonlySet<string>): void {
    this.desired.sets.set(set.name, { set, elements });
    this.dirtySets.add(set.name);
  }

  deleteSet(name: string): void {
    if (this.desired.sets.delete(name)) this.dirtySets.add(name);
  }

  setMap(map: NftMap): void {
    const existing = this.desired.maps.get(map.name);
    this.desired.maps.set(map.name, { map, elements: existing?.elements ?? new Map() });
    this.dirtyMaps.add(map.name);
  }

  setMapElement(map: string, key: string, value: string | undefined): void {
    const m = this.desired.maps.get(map);
    if (!m) throw new Error(`map ${map} is not in the model`);
    if (value === undefined) m.elements.delete(key);
    else m.elements.set(key, value);
    this.dirtyMaps.add(map);
  }

  /** The transaction to apply next: a full table replace until one has succeeded, then only what changed. */
  plan(options: { full?: boolean } = {}): Plan {
    return options.full || !this.applied ? this.planFull() : this.planDelta(this.applied);
  }

  private planFull(): Plan {
    const tx = new Transaction(TABLE_FAMILY, TABLE_NAME);
    const d = this.desired;
    // `add; delete; add` replaces the table in one kernel transaction whether or not it existed (E10): no
    // moment without the fail-closed rules, and a failure leaves the old table in place.
    tx.add({ type: 'table' }).delete({ type: 'table' }).add({ type: 'table', comment: this.tableComment });
    // The flowtable before the chains, whose `flow add` refers to it (Felix's step 5 comes before its chains too).
    const ft = d.flowtable;
    if (ft) tx.add({ type: 'flowtable', name: ft.name, priority: ft.priority, ...(ft.devices.size > 0 ? { devices: [...ft.devices] } : {}) });
    let elementsAdded = 0;
    for (const { set } of d.sets.values()) tx.add(set);
    for (const { map } of d.maps.values()) tx.add(map);
    for (const { chain } of d.chains.values()) tx.add(chain);
    for (const { rules } of d.chains.values()) for (const r of rules) tx.add(r);
    for (const { set, elements } of d.sets.values()) {
      if (elements.size > 0) tx.add({ type: 'elements', set: set.name, keys: [...elements] });
      elementsAdded += elements.size;
    }
    for (const { map, elements } of d.maps.values()) {
      if (elements.size > 0) tx.add({ type: 'elements', set: map.name, keys: [...elements.keys()], values: [...elements.values()] });
    }
    const snapshot = d.clone();
    return {
      tx, full: true,
      stats: { chainsWritten: d.chains.size, chainsRemoved: 0, elementsAdded, elementsRemoved: 0 },
      commit: () => {
        this.applied = snapshot;
        this.dirtyFlowtable = false;
        this.dirtyChains.clear();
        this.dirtySets.clear();
        this.dirtyMaps.clear();
      },
    };
  }

  private planDelta(applied: TableModel): Plan {
    const tx = new Transaction(TABLE_FAMILY, TABLE_NAME);
    const d = this.desired;
    const chainNames = [...this.dirtyChains];
    const setNames = [...this.dirtySets];
    const mapNames = [...this.dirtyMaps];

    // A changed set or map type, or a moved base chain, cannot be changed in place: replace the table.
    for (const n of setNames) {
      const a = applied.sets.get(n);
      const w = d.sets.get(n);
      if (a && w && !sameSetHead(a.set, w.set)) return this.planFull();
    }
    for (const n of mapNames) {
      const a = applied.maps.get(n);
      const w = d.maps.get(n);
      if (a && w && !sameSetHead(a.map, w.map)) return this.planFull();
    }
    for (const n of chainNames) {
      const a = applied.chains.get(n);
      const w = d.chains.get(n);
      if (a && w && !sameChainHead(a.chain, w.chain)) return this.planFull();
    }

    // A flowtable added, removed or moved to another priority: replace the table (offload is fixed per agent).
    const ftWant = d.flowtable;
    const ftHave = applied.flowtable;
    if ((ftWant === undefined) !== (ftHave === undefined) || (ftWant && ftHave && (ftWant.name !== ftHave.name || ftWant.priority !== ftHave.priority))) {
      return this.planFull();
    }

    const stats = { chainsWritten: 0, chainsRemoved: 0, elementsAdded: 0, elementsRemoved: 0 };
    tx.add({ type: 'table' });
    // 0. Flowtable devices: unhook those no longer wanted (if they still exist), hook the new ones.
    const ftSnapshot = this.dirtyFlowtable ? ftWant : ftHave;
    if (this.dirtyFlowtable && ftWant && ftHave) {
      const gone = [...ftHave.devices].filter((x) => !ftWant.devices.has(x) && (this.present?.has(x) ?? true));
      const added = [...ftWant.devices].filter((x) => !ftHave.devices.has(x));
      if (gone.length > 0) tx.delete({ type: 'flowtable', name: ftWant.name, devices: gone });
      if (added.length > 0) tx.add({ type: 'flowtable', name: ftWant.name, priority: ftWant.priority, devices: added });
    }
    // 1. New sets and maps.
    for (const n of setNames) if (d.sets.has(n) && !applied.sets.has(n)) tx.add(d.sets.get(n)!.set);
    for (const n of mapNames) if (d.maps.has(n) && !applied.maps.has(n)) tx.add(d.maps.get(n)!.map);
    // 2. Set element deltas: deletions first, so a member replaced by a broader CIDR never overlaps it.
    const adds: Elements[] = [];
    for (const n of setNames) {
      const want = d.sets.get(n);
      const have = applied.sets.get(n);
      if (!want || !have || want.elements === have.elements) continue;
      const gone = [...have.elements].filter((key) => !want.elements.has(key));
      if (gone.length > 0) tx.delete({ type: 'elements', set: n, keys: gone });
      stats.elementsRemoved += gone.length;
      const added = [...want.elements].filter((key) => !have.elements.has(key));
      if (added.length > 0) adds.push({ type: 'elements', set: n, keys: added });
    }
    for (const n of setNames) {
      const want = d.sets.get(n);
      if (want && !applied.sets.has(n) && want.elements.size > 0) adds.push({ type: 'elements', set: n, keys: [...want.elements] });
    }
    for (const e of adds) {
      tx.add(e);
      stats.elementsAdded += e.keys.length;
    }
    // 3. New chains first (forward references), then every changed chain rewritten whole: flush + its rules.
    for (const n of chainNames) if (d.chains.has(n) && !applied.chains.has(n)) tx.add(d.chains.get(n)!.chain);
    for (const n of chainNames) {
      const want = d.chains.get(n);
      if (!want) continue;
      const have = applied.chains.get(n);
      if (have && sameRules(have.rules, want.rules)) continue;
      if (have) tx.flush(want.chain);
      for (const r of want.rules) tx.add(r);
      stats.chainsWritten++;
    }
    // 4. Map elements: stale ones out before their chains go, new ones in after their chains exist.
    for (const n of mapNames) {
      const want = d.maps.get(n);
      const have = applied.maps.get(n);
      if (have) {
        for (const [key, value] of have.elements) {
          if (want?.elements.get(key) !== value) tx.delete({ type: 'element', set: n, key, value });
        }
      }
      if (want) {
        for (const [key, value] of want.elements) {
          if (have?.elements.get(key) !== value) tx.add({ type: 'element', set: n, key, value });
        }
      }
    }
    // 5. Removed chains: flush them all, then delete them (one may jump to another).
    const removed = chainNames.filter((n) => !d.chains.has(n) && applied.chains.has(n));
    for (const n of removed) tx.flush(applied.chains.get(n)!.chain);
    for (const n of removed) tx.delete(applied.chains.get(n)!.chain);
    stats.chainsRemoved = removed.length;
    // 6. Removed sets and maps, now that no rule refers to them.
    for (const n of setNames) if (!d.sets.has(n) && applied.sets.has(n)) tx.delete(applied.sets.get(n)!.set);
    for (const n of mapNames) if (!d.maps.has(n) && applied.maps.has(n)) tx.delete(applied.maps.get(n)!.map);

    // Snapshot what this transaction writes, so commit() records exactly that.
    const changes = {
      chains: chainNames.map((n) => [n, d.chains.get(n)] as const),
      sets: setNames.map((n) => [n, d.sets.get(n)] as const),
      maps: mapNames.map((n) => {
        const m = d.maps.get(n);
        return [n, m && { map: m.map, elements: new Map(m.elements) }] as const;
      }),
    };
    // A transaction of only `add table` changes nothing; report it empty.
    const empty = tx.size === 1;
    return {
      tx: empty ? new Transaction(TABLE_FAMILY, TABLE_NAME) : tx,
      full: false,
      stats,
      commit: () => {
        applied.flowtable = ftSnapshot;
        this.dirtyFlowtable = false;
        for (const [n, c] of changes.chains) {
          if (c) applied.chains.set(n, { chain: c.chain, rules: c.rules });
          else applied.chains.delete(n);
          this.dirtyChains.delete(n);
        }
        for (const [n, s] of changes.sets) {
          if (s) applied.sets.set(n, s);
          else applied.sets.delete(n);
          this.dirtySets.delete(n);
        }
        for (const [n, m] of changes.maps) {
          if (m) applied.maps.set(n, m);
          else applied.maps.delete(n);
          this.dirtyMaps.delete(n);
        }
      },
    };
  }
}
