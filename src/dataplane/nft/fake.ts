// FakeNft: the Nft interface in memory, for fast unit tests (knftables `fake.go`). It is first-class:
// - transactional, like the kernel: a failing transaction changes nothing;
// - it checks what the kernel checks and fails with the same error codes: references from rules and map
//   elements to chains, sets and maps (notFound), deleting what is still referenced (busy), `create` of what
//   exists and overlapping intervals (exists), deleting a missing element (notFound);
// - dump() prints the table as an nft script and parseDump() loads one, so tests compare dedented text.
// The real-kernel suite (test/dataplane/nft-kernel.test.ts) runs the same transactions through both and
// compares the results, which is what keeps this fake honest. It does not evaluate packets.

import { NftError } from './errors.js';
import { intervalOf, overlaps } from './intervals.js';
import {
  canonicalElementKey,
  emptyTableState,
  type Chain,
  type Element,
  type Family,
  type NftMap,
  type Flowtable,
  type NftObject,
  type NftSet,
  type Rule,
  type TableState,
} from './objects.js';
import type { Nft } from './nftables.js';
import { parseScript, type ListedRule, type ListedTable } from './parse.js';
import { Transaction, type Operation } from './transaction.js';

export class FakeNft implements Nft {
  /** The table's contents; undefined while the table does not exist. */
  state: TableState | undefined;
  /** Every transaction that was run successfully, in order (the last one is what a test usually inspects). */
  readonly history: Transaction[] = [];
  /** A hook for fault-injection tests: return an NftError to fail the next run() with it. */
  failNext: ((tx: Transaction) => NftError | undefined) | undefined;

  constructor(readonly family: Family = 'inet', readonly table: string = 'tabby') {}

  newTransaction(): Transaction {
    return new Transaction(this.family, this.table);
  }

  get lastTransaction(): Transaction | undefined {
    return this.history[this.history.length - 1];
  }

  async run(tx: Transaction): Promise<void> {
    const injected = this.failNext?.(tx);
    if (injected) {
      this.failNext = undefined;
      throw injected;
    }
    this.state = this.apply(tx);
    this.history.push(tx);
  }

  async check(tx: Transaction): Promise<void> {
    this.apply(tx);
  }

  async list(): Promise<ListedTable | undefined> {
    if (!this.state) return undefined;
    const s = cloneState(this.state);
    for (const { rules } of s.chains.values()) {
      for (const r of rules as ListedRule[]) if (/\bcounter\b/.test(r.rule)) Object.assign(r, { packets: 0, bytes: 0 });
    }
    return { ...s, family: this.family, name: this.table };
  }

  /** The table as a script of `add` statements that recreates it: table, sets, maps, chains, rules, elements. */
  dump(): string {
    return dumpTable(this.family, this.table, this.state);
  }

  /** Replaces the state with a dumped script's (as dump() prints it). Throws NftError('syntax') on bad text. */
  parseDump(text: string): void {
    const parsed = parseScript(text);
    if (!parsed.ok) {
      const first = parsed.issues[0]!;
      throw new NftError('syntax', `line ${first.line}: ${first.message}`);
    }
    const tx = this.newTransaction();
    for (const st of parsed.value) {
      if (st.family !== this.family || st.table !== this.table) {
        throw new NftError('syntax', `line ${st.line}: ${st.family} ${st.table} is not ${this.family} ${this.table}`);
      }
      pushOperation(tx, st);
    }
    this.state = undefined;
    this.state = this.apply(tx);
  }

  /** Applies `tx` to a copy of the state and returns the copy; throws (leaving the state alone) on failure. */
  private apply(tx: Transaction): TableState | undefined {
    if (tx.family !== this.family || tx.table !== this.table) {
      throw new NftError('invalid', `transaction for ${tx.family} ${tx.table} run against ${this.family} ${this.table}`);
    }
    if (tx.error !== undefined) throw new NftError('invalid', `invalid transaction: ${tx.error}`);
    let state = this.state ? cloneState(this.state) : undefined;
    const { lines, opIndex } = tx.render();
    tx.operations.forEach((op, i) => {
      try {
        state = applyOperation(state, op);
      } catch (err) {
        if (!(err instanceof NftError)) throw err;
        // Point at the script line that holds this operation, as nft does.
        let lineNo = 0;
        for (let l = 0; l < opIndex.length && opIndex[l]! <= i; l++) lineNo = l;
        const line = lines[lineNo];
        throw new NftError(err.code, `nft: ${err.message} (script line ${lineNo + 1}: ${line})`, '', line);
      }
    });
    return state;
  }
}

function pushOperation(tx: Transaction, op: Operation): void {
  switch (op.verb) {
    case 'add': tx.add(op.object); break;
    case 'create': tx.create(op.object); break;
    case 'insert': if (op.object.type === 'rule') tx.insert(op.object); break;
    case 'delete': tx.delete(op.object); break;
    case 'flush': tx.flush(op.object); break;
  }
}

function cloneState(s: TableState): TableState {
  const out = emptyTableState({ ...s.table });
  for (const [name, devices] of s.flowtables) out.flowtables.set(name, new Set(devices));
  for (const [name, c] of s.chains) out.chains.set(name, { chain: { ...c.chain }, rules: c.rules.map((r) => ({ ...r })) });
  for (const [name, st] of s.sets) out.sets.set(name, { set: { ...st.set }, elements: new Map(st.elements) });
  for (const [name, m] of s.maps) out.maps.set(name, { map: { ...m.map }, elements: new Map(m.elements) });
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Kernel semantics, one operation at a time.

const REF_CHAIN = /\b(?:jump|goto)\s+([A-Za-z_][A-Za-z0-9_.\-]*)/g;
const REF_SET = /@([A-Za-z_][A-Za-z0-9_.\-]*)/g;

function ruleRefs(text: string): { chains: string[]; sets: string[] } {
  const unquoted = text.replace(/"[^"]*"/g, '""');
  return {
    chains: [...unquoted.matchAll(REF_CHAIN)].map((m) => m[1]!),
    sets: [...unquoted.matchAll(REF_SET)].map((m) => m[1]!),
  };
}

function err(code: ConstructorParameters<typeof NftError>[0], message: string): NftError {
  return new NftError(code, message);
}

function needTable(state: TableState | undefined): TableState {
  if (!state) throw err('notFound', 'Could not process rule: No such file or directory (table)');
  return state;
}

function applyOperation(state: TableState | undefined, { verb, object: o }: Operation): TableState | undefined {
  switch (o.type) {
    case 'table':
      if (verb === 'add') return state ?? emptyTableState({ ...o });
      if (verb === 'create') {
        if (state) throw err('exists', 'Could not process rule: File exists (table)');
        return emptyTableState({ ...o });
      }
      if (verb === 'delete') {
        needTable(state);
        return undefined;
      }
      if (verb === 'flush') {
        const t = needTable(state);
        for (const c of t.chains.values()) c.rules = [];
        return t;
      }
      throw err('syntax', `cannot ${verb} a table`);
    case 'chain':
      applyChain(needTable(state), verb, o);
      return state;
    case 'rule':
      applyRule(needTable(state), verb, o);
      return state;
    case 'set':
    case 'map':
      applySet(needTable(state), verb, o);
      return state;
    case 'element':
      applyElement(needTable(state), verb, o);
      return state;
    case 'flowtable':
      applyFlowtable(needTable(state), verb, o);
      return state;
    case 'elements': {
      const t = needTable(state);
      o.keys.forEach((key, i) => {
        const value = o.values?.[i];
        applyElement(t, verb, { type: 'element', set: o.set, key, ...(value !== undefined ? { value } : {}) });
      });
      return state;
    }
  }
}

function sameBase(a: Chain, b: Chain): boolean {
  return a.hook === b.hook && a.chainType === b.chainType;
}

function applyChain(t: TableState, verb: string, o: Chain): void {
  const existing = t.chains.get(o.name);
  switch (verb) {
    case 'add':
    case 'create':
      if (existing) {
        if (verb === 'create') throw err('exists', `Could not process rule: File exists (chain ${o.name})`);
        if (!sameBase(existing.chain, o) && o.hook !== undefined) {
          throw err('unsupported', `Could not process rule: Operation not supported (chain ${o.name})`);
        }
        return;
      }
      t.chains.set(o.name, { chain: { ...o }, rules: [] });
      return;
    case 'flush':
      if (!existing) throw err('notFound', `Could not process rule: No such file or directory (chain ${o.name})`);
      existing.rules = [];
      return;
    case 'delete': {
      if (!existing) throw err('notFound', `Could not process rule: No such file or directory (chain ${o.name})`);
      if (existing.rules.length > 0 || chainReferenced(t, o.name)) {
        throw err('busy', `Could not process rule: Device or resource busy (chain ${o.name})`);
      }
      t.chains.delete(o.name);
      return;
    }
    default:
      throw err('syntax', `cannot ${verb} a chain`);
  }
}

function chainReferenced(t: TableState, name: string): boolean {
  for (const { rules } of t.chains.values()) {
    for (const r of rules) if (ruleRefs(r.rule).chains.includes(name)) return true;
  }
  for (const { elements } of t.maps.values()) {
    for (const e of elements.values()) if (e.value !== undefined && ruleRefs(e.value).chains.includes(name)) return true;
  }
  return false;
}

function applyRule(t: TableState, verb: string, o: Rule): void {
  const chain = t.chains.get(o.chain);
  if (!chain) throw err('notFound', `Could not process rule: No such file or directory (chain ${o.chain})`);
  const refs = ruleRefs(o.rule);
  for (const c of refs.chains) {
    if (!t.chains.has(c)) throw err('notFound', `Could not process rule: No such file or directory (chain ${c})`);
  }
  for (const s of refs.sets) {
    if (!t.sets.has(s) && !t.maps.has(s) && !t.flowtables.has(s)) throw err('notFound', `No such file or directory (set ${s})`);
  }
  const rule = { ...o };
  if (verb === 'add') chain.rules.push(rule);
  else if (verb === 'insert') chain.rules.unshift(rule);
  else throw err('syntax', `cannot ${verb} a rule`);
}

// The kernel's flowtable semantics (nf_tables_newflowtable / nf_tables_delflowtable): `add` of an existing one
// hooks the new devices (a hooked one again is not an error); deleting a device that is not hooked is ENOENT;
// the flowtable itself cannot go while a rule refers to it.
function applyFlowtable(t: TableState, verb: string, o: Flowtable): void {
  const have = t.flowtables.get(o.name);
  if (verb === 'add' || verb === 'create') {
    if (have && verb === 'create') throw err('exists', `Could not process rule: File exists (flowtable ${o.name})`);
    const devices = have ?? new Set<string>();
    for (const d of o.devices ?? []) devices.add(d);
    t.flowtables.set(o.name, devices);
    return;
  }
  if (verb !== 'delete') throw err('syntax', `cannot ${verb} a flowtable`);
  if (!have) throw err('notFound', `Could not process rule: No such file or directory (flowtable ${o.name})`);
  if (o.devices !== undefined) {
    for (const d of o.devices) if (!have.has(d)) throw err('notFound', `Could not process rule: No such file or directory (device ${d})`);
    for (const d of o.devices) have.delete(d);
    return;
  }
  if (setReferenced(t, o.name)) throw err('busy', `Could not process rule: Device or resource busy (flowtable ${o.name})`);
  t.flowtables.delete(o.name);
}

function setReferenced(t: TableState, name: string): boolean {
  for (const { rules } of t.chains.values()) {
    for (const r of rules) if (ruleRefs(r.rule).sets.includes(name)) return true;
  }
  return false;
}

function applySet(t: TableState, verb: string, o: NftSet | NftMap): void {
  const existing = o.type === 'set' ? t.sets.get(o.name) : t.maps.get(o.name);
  const other = o.type === 'set' ? t.maps.get(o.name) : t.sets.get(o.name);
  switch (verb) {
    case 'add':
    case 'create': {
      if (other) throw err('exists', `Could not process rule: File exists (${o.type} ${o.name})`);
      if (existing) {
        const was = 'set' in existing ? existing.set : existing.map;
        const same = was.keyType === o.keyType &&
          (o.type !== 'map' || (was.type === 'map' && was.valueType === o.valueType)) &&
          (was.flags ?? []).join(',') === (o.flags ?? []).join(',');
        if (verb === 'create' || !same) throw err('exists', `Could not process rule: File exists (${o.type} ${o.name})`);
        return;
      }
      if (o.type === 'set') t.sets.set(o.name, { set: { ...o }, elements: new Map() });
      else t.maps.set(o.name, { map: { ...o }, elements: new Map() });
      return;
    }
    case 'flush':
      if (!existing) throw err('notFound', `Could not process rule: No such file or directory (${o.type} ${o.name})`);
      existing.elements.clear();
      return;
    case 'delete':
      if (!existing) throw err('notFound', `Could not process rule: No such file or directory (${o.type} ${o.name})`);
      if (setReferenced(t, o.name)) throw err('busy', `Could not process rule: Device or resource busy (${o.type} ${o.name})`);
      if (o.type === 'set') t.sets.delete(o.name);
      else t.maps.delete(o.name);
      return;
    default:
      throw err('syntax', `cannot ${verb} a ${o.type}`);
  }
}

function applyElement(t: TableState, verb: string, o: Element): void {
  const holder = t.sets.get(o.set) ?? t.maps.get(o.set);
  if (!holder) throw err('notFound', `Could not process rule: No such file or directory (set ${o.set})`);
  const isMap = 'map' in holder;
  const def = 'set' in holder ? holder.set : holder.map;
  const key = canonicalElementKey(o.key);
  if (isMap !== (o.value !== undefined)) {
    throw err('syntax', `${isMap ? 'map' : 'set'} ${o.set}: element ${o.key} ${isMap ? 'needs' : 'cannot have'} a value`);
  }
  const exists = holder.elements.has(key);
  switch (verb) {
    case 'add':
    case 'create': {
      if (exists) {
        if (verb === 'create') throw err('exists', `Could not process rule: File exists (element ${key})`);
        return;
      }
      if (o.value !== undefined) {
        for (const c of ruleRefs(o.value).chains) {
          if (!t.chains.has(c)) throw err('notFound', `Could not process rule: No such file or directory (chain ${c})`);
        }
      }
      if (def.flags?.includes('interval')) {
        const range = intervalOf(key);
        if (range) {
          for (const other of holder.elements.keys()) {
            const r = intervalOf(other);
            if (r && overlaps(r, range)) {
              throw err('exists', `interval overlaps with an existing one (${key} and ${other})`);
            }
          }
        }
      }
      holder.elements.set(key, { ...o, key });
      return;
    }
    case 'delete':
      if (!exists) throw err('notFound', `element does not exist (${key})`);
      holder.elements.delete(key);
      return;
    default:
      throw err('syntax', `cannot ${verb} an element`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Dump: the state as a script that recreates it.

export function dumpTable(family: Family, table: string, state: TableState | undefined): string {
  if (!state) return '';
  const tx = new Transaction(family, table);
  tx.add(state.table);
  for (const [name, devices] of state.flowtables) tx.add({ type: 'flowtable', name, ...(devices.size > 0 ? { devices: [...devices] } : {}) });
  for (const { set } of state.sets.values()) tx.add(set);
  for (const { map } of state.maps.values()) tx.add(map);
  for (const { chain } of state.chains.values()) tx.add(chain);
  for (const { rules } of state.chains.values()) for (const r of rules) tx.add(stripCounters(r));
  for (const { elements } of state.sets.values()) for (const e of elements.values()) tx.add(e);
  for (const { elements } of state.maps.values()) for (const e of elements.values()) tx.add(e);
  return tx.toString();
}

function stripCounters(r: Rule): Rule {
  const { type, chain, rule, comment } = r;
  return { type, chain, rule, ...(comment !== undefined ? { comment } : {}) };
}

/** Every object of a state, in dump order (for tests that compare models object by object). */
export function stateObjects(state: TableState): NftObject[] {
  const out: NftObject[] = [state.table];
  for (const [name, devices] of state.flowtables) out.push({ type: 'flowtable', name, ...(devices.size > 0 ? { devices: [...devices] } : {}) });
  for (const { set } of state.sets.values()) out.push(set);
  for (const { map } of state.maps.values()) out.push(map);
  for (const { chain, rules } of state.chains.values()) out.push(chain, ...rules.map(stripCounters));
  for (const { elements } of state.sets.values()) out.push(...elements.values());
  for (const { elements } of state.maps.values()) out.push(...elements.values());
  return out;
}
