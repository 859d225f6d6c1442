// IpSetIndex: the IP sets that compiled rules refer to, and their members (felix/labelindex/named_port_index.go).
//
//   * A selector set holds the addresses of every endpoint and network set its selector matches: workload
//     `ipNetworks`, host endpoint `expectedIPs`, network set `nets` (a /0 split into two /1s, as Felix must).
//   * A named-port set holds `<address>,<protocol>:<port>` for every named port of that name and protocol on the
//     endpoints its selector matches.
//
// Sets are reference-counted by the policies and profiles that use them; a set exists while one rule needs it.
// Members are reference-counted too (two endpoints may share an address, network sets overlap), and the index
// records the net member changes since the last `takeChanges()` for the change feed.
//
// What it does not do: it does not decide which items a selector matches. Its owner runs a LabelIndex keyed by
// selector ID and forwards each match start and stop here (`onMatch`), and each change of an item's addresses
// or ports (`updateItemData`).

import { cidrContains, formatIp, isSingleAddress, parseCidrOrIp, type IpAddr, type IpNet } from '../api/index.js';
import type { Selector } from '../selector/index.js';
import type { IpSetDefinition } from './rule-scanner.js';
import type { EngineChange, IpSetInfo, NamedPort } from './types.js';

/** What an endpoint or network set contributes to the sets whose selectors match it. */
export interface ItemData {
  /** Canonical CIDRs (network sets) or single-address CIDRs (endpoints). */
  nets: readonly string[];
  /** Canonical addresses of an endpoint, for its named-port members. */
  addresses: readonly string[];
  namedPorts: readonly NamedPort[];
}

/** The owner's view of selector matching, so a new set can be filled from the items already matched. */
export interface SelectorMatches<I> {
  itemsMatching(selectorId: string): ReadonlySet<I>;
  /** Starts (or stops) tracking a selector; the owner reports its matches through onMatch. */
  watchSelector(selectorId: string, selector: Selector): void;
  unwatchSelector(selectorId: string): void;
}

/**
 * Members with reference counts, plus a lookup for "is this address in the set". The lookup is built on the first
 * query and kept up to date from then on: the dataplane agent never queries, and parsing every member of a
 * 200,000-member full sync would be a quarter of its engine time.
 */
class Members {
  readonly counts = new Map<string, number>();
  private readonly exact = new Map<bigint, number>();
  private readonly exact6 = new Map<bigint, number>();
  private wide: Array<{ text: string; net: IpNet }> = [];
  private indexed = false;

  constructor(readonly kind: 'net' | 'ip-port') {}

  /** Returns true when the member's count went from 0 to 1. */
  add(member: string): boolean {
    const n = this.counts.get(member) ?? 0;
    this.counts.set(member, n + 1);
    if (n > 0) return false;
    if (this.indexed && this.kind === 'net') this.index(member, +1);
    return true;
  }

  /** Returns true when the member's count went from 1 to 0. */
  remove(member: string): boolean {
    const n = this.counts.get(member);
    if (n === undefined) return false;
    if (n > 1) {
      this.counts.set(member, n - 1);
      return false;
    }
    this.counts.delete(member);
    if (this.indexed && this.kind === 'net') this.index(member, -1);
    return true;
  }

  containsAddress(ip: IpAddr): boolean {
    if (!this.indexed) {
      this.indexed = true;
      if (this.kind === 'net') for (const member of this.counts.keys()) this.index(member, +1);
    }
    const exact = ip.family === 4 ? this.exact : this.exact6;
    if (exact.has(ip.value)) return true;
    for (const w of this.wide) if (cidrContains(w.net, ip)) return true;
    return false;
  }

  private index(member: string, delta: 1 | -1): void {
    const net = parseCidrOrIp(member);
    if (!net) return;
    if (isSingleAddress(net)) {
      const exact = net.family === 4 ? this.exact : this.exact6;
      if (delta > 0) exact.set(net.network, 1);
      else exact.delete(net.network);
    } else if (delta > 0) {
      this.wide.push({ text: member, net });
    } else {
      this.wide = this.wide.filter((w) => w.text !== member);
    }
  }
}

interface SetState {
  info: IpSetInfo;
  selectorId?: string;
  members: Members;
  users: Set<string>;
}

interface PendingDelta {
  added: Set<string>;
  removed: Set<string>;
}

const V4_HALVES = ['0.0.0.0/1', '128.0.0.0/1'];
const V6_HALVES = ['::/1', '8000::/1'];

export class IpSetIndex<I> {
  private readonly sets = new Map<string, SetState>();
  private readonly setsBySelector = new Map<string, Set<string>>();
  private readonly itemData = new Map<I, ItemData>();
  private readonly usedBy = new Map<string, Set<string>>();

  // Change tracking since the last takeChanges(). `emitted` is what the feed's consumer holds now: whether a
  // released set needs an `ipset-removed` depends on that alone, not on what happened since the last flush (a
  // set emitted, released, re-acquired and released again within one flush must still be removed).
  private readonly emitted = new Set<string>();
  private readonly addedSets = new Set<string>();
  private readonly removedSets = new Set<string>();
  private readonly deltas = new Map<string, PendingDelta>();

  constructor(private readonly matcher: SelectorMatches<I>) {}

  // -------------------------------------------------------------------------------------------------------------
  // Queries

  info(id: string): IpSetInfo | undefined {
    return this.sets.get(id)?.info;
  }

  ids(): string[] {
    return [...this.sets.keys()];
  }

  members(id: string): string[] | undefined {
    const set = this.sets.get(id);
    return set ? [...set.members.counts.keys()].sort() : undefined;
  }

  containsAddress(id: string, ip: IpAddr): boolean {
    return this.sets.get(id)?.members.containsAddress(ip) ?? false;
  }

  containsIpPort(id: string, ip: IpAddr, protocol: string, port: number): boolean {
    return this.sets.get(id)?.members.counts.has(`${formatIp(ip)},${protocol}:${port}`) ?? false;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Set definitions (from the rule scanner)

  /** Declares the sets one policy or profile (`user`) needs now; sets it no longer needs are released. */
  setUser(user: string, definitions: readonly IpSetDefinition[]): void {
    const wanted = new Map(definitions.map((d) => [d.info.id, d]));
    const before = this.usedBy.get(user) ?? new Set<string>();
    for (const id of before) if (!wanted.has(id)) this.release(id, user);
    for (const [id, def] of wanted) if (!before.has(id)) this.acquire(def, user);
    if (wanted.size === 0) this.usedBy.delete(user);
    else this.usedBy.set(user, new Set(wanted.keys()));
  }

  private acquire(def: IpSetDefinition, user: string): void {
    const id = def.info.id;
    let set = this.sets.get(id);
    if (!set) {
      set = { info: def.info, members: new Members(def.info.kind), users: new Set() };
      this.sets.set(id, set);
      // ipset-added creates or replaces, so a pending removal of an emitted set is superseded by it.
      this.removedSets.delete(id);
      this.addedSets.add(id);
      this.deltas.delete(id);
      if (def.selector) {
        const selectorId = def.selector.uniqueId();
        set.selectorId = selectorId;
        let ids = this.setsBySelector.get(selectorId);
        if (!ids) {
          this.setsBySelector.set(selectorId, (ids = new Set()));
          this.matcher.watchSelector(selectorId, def.selector);
        }
        ids.add(id);
        for (const item of this.matcher.itemsMatching(selectorId)) this.contribute(set, item, +1);
      }
    }
    set.users.add(user);
  }

  private release(id: string, user: string): void {
    const set = this.sets.get(id);
    if (!set) return;
    set.users.delete(user);
    if (set.users.size > 0) return;
    this.sets.delete(id);
    if (set.selectorId) {
      const ids = this.setsBySelector.get(set.selectorId);
      ids?.delete(id);
      if (ids?.size === 0) {
        this.setsBySelector.delete(set.selectorId);
        this.matcher.unwatchSelector(set.selectorId);
      }
    }
    this.addedSets.delete(id);
    if (this.emitted.has(id)) this.removedSets.add(id);
    this.deltas.delete(id);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Members (from the owner's label index)

  onMatch(selectorId: string, item: I, delta: 1 | -1): void {
    for (const id of this.setsBySelector.get(selectorId) ?? []) this.contribute(this.sets.get(id)!, item, delta);
  }

  /** Replaces an item's addresses and ports; `matchedSelectors` are the selectors it matches now. */
  updateItemData(item: I, data: ItemData | undefined, matchedSelectors: Iterable<string>): void {
    const selectors = [...matchedSelectors];
    for (const s of selectors) this.onMatch(s, item, -1);
    if (data) this.itemData.set(item, data);
    else this.itemData.delete(item);
    for (const s of selectors) this.onMatch(s, item, +1);
  }

  private contribute(set: SetState, item: I, delta: 1 | -1): void {
    const data = this.itemData.get(item);
    if (!data) return;
    // A set added since the last flush is reported whole, so its member changes need no delta.
    const id = set.info.id;
    const tracked = !this.addedSets.has(id);
    for (const member of membersOf(set.info, data)) {
      const changed = delta > 0 ? set.members.add(member) : set.members.remove(member);
      if (changed && tracked) this.recordDelta(id, member, delta);
    }
  }

  private recordDelta(id: string, member: string, delta: 1 | -1): void {
    let d = this.deltas.get(id);
    if (!d) this.deltas.set(id, (d = { added: new Set(), removed: new Set() }));
    if (delta > 0) {
      if (!d.removed.delete(member)) d.added.add(member);
    } else if (!d.added.delete(member)) {
      d.removed.add(member);
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Change feed

  /** The set additions, member changes and removals since the last call, in feed order (adds first). */
  takeChanges(): { added: EngineChange[]; removed: EngineChange[] } {
    const added: EngineChange[] = [];
    const removed: EngineChange[] = [];
    for (const id of [...this.addedSets].sort()) {
      const set = this.sets.get(id);
      if (!set) continue;
      added.push({ type: 'ipset-added', ipSet: set.info, members: this.members(id)! });
      this.emitted.add(id);
    }
    for (const [id, d] of [...this.deltas].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (d.added.size === 0 && d.removed.size === 0) continue;
      added.push({ type: 'ipset-members', id, added: [...d.added].sort(), removed: [...d.removed].sort() });
    }
    for (const id of [...this.removedSets].sort()) {
      removed.push({ type: 'ipset-removed', id });
      this.emitted.delete(id);
    }
    this.addedSets.clear();
    this.removedSets.clear();
    this.deltas.clear();
    return { added, removed };
  }

  /** Forgets pending changes (before in-sync nothing is emitted; the first flush reports whole sets). */
  resetChanges(): void {
    this.emitted.clear();
    for (const id of this.sets.keys()) this.addedSets.add(id);
    this.removedSets.clear();
    this.deltas.clear();
  }
}

function membersOf(info: IpSetInfo, data: ItemData): readonly string[] {
  if (info.kind === 'net') {
    if (!data.nets.includes('0.0.0.0/0') && !data.nets.includes('::/0')) return data.nets;
    // The kernel cannot hold a /0 in a set; Felix adds the two halves instead (same addresses).
    return data.nets.flatMap((net) => (net === '0.0.0.0/0' ? V4_HALVES : net === '::/0' ? V6_HALVES : [net]));
  }
  const np = info.namedPort;
  if (!np) return [];
  const out: string[] = [];
  for (const port of data.namedPorts) {
    if (port.name !== np.name || port.protocol !== np.protocol) continue;
    for (const addr of data.addresses) out.push(`${addr},${port.protocol}:${port.port}`);
  }
  return out;
}
