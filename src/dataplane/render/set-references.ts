// Chains and the nft sets their rules refer to, with the references counted: a set exists in the desired table
// exactly while some chain refers to it (Felix programs only referenced IP sets), and its elements follow the
// engine's members. A chain also records the IP sets that decided whether a family's copy of one of its rules
// was written (its gates, policy-rules.ts): when such a set gains its first element of that family or loses its
// last, flips() names the chains to render again, in the same transaction as the member change.

import type { Chain, Rule } from '../nft/index.js';
import type { FeedState } from './feed-state.js';
import { ipSetName } from './names.js';
import type { IpSetRef, SetRef } from './rules.js';
import type { Ruleset } from './ruleset.js';

/** A chain's rules as they are being rendered, with the sets they refer to and the gates they were decided by. */
export interface ChainBody {
  rules: Rule[];
  /** One entry per reference. */
  sets: SetRef[];
  /** IP sets whose elements of a family decided whether a rule copy was written (written or left out). */
  gates: IpSetRef[];
}

export function emptyBody(): ChainBody {
  return { rules: [], sets: [], gates: [] };
}

interface Gate {
  ref: IpSetRef;
  /** Whether the set had elements of the family when its chains were last rendered. */
  has: boolean;
  chains: Set<string>;
}

export class SetReferences {
  private readonly chainSets = new Map<string, SetRef[]>();
  private readonly setUsers = new Map<string, number>();
  /** Engine IP set ID (or literal content ID) → the referenced nft sets of it, by name. */
  private readonly setsById = new Map<string, Map<string, SetRef>>();
  private readonly chainGates = new Map<string, Set<string>>();
  /** Gate (nft set name) → what its chains were rendered with. */
  private readonly gates = new Map<string, Gate>();
  private readonly gatesById = new Map<string, Set<string>>();

  constructor(private readonly ruleset: Ruleset, private readonly feed: FeedState) {}

  /** Writes a chain to the desired table, taking references to its new sets before dropping the old ones. */
  writeChain(chain: Chain, body: ChainBody): void {
    const old = this.chainSets.get(chain.name) ?? [];
    for (const r of body.sets) this.incSet(r);
    this.ruleset.setChain(chain, body.rules);
    for (const r of old) this.decSet(r);
    if (body.sets.length > 0) this.chainSets.set(chain.name, body.sets);
    else this.chainSets.delete(chain.name);
    this.setGates(chain.name, body.gates);
  }

  deleteChain(name: string): void {
    const old = this.chainSets.get(name) ?? [];
    this.chainSets.delete(name);
    this.ruleset.deleteChain(name);
    for (const r of old) this.decSet(r);
    this.setGates(name, []);
  }

  /**
   * After the members of IP set `id` changed: the chains rendered while one of its families was empty and now is
   * not, or the other way round. Their gates are recorded as flipped; the caller renders the chains again.
   */
  flips(id: string): string[] {
    const out: string[] = [];
    for (const name of this.gatesById.get(id) ?? []) {
      const gate = this.gates.get(name)!;
      const has = this.feed.hasElements(gate.ref);
      if (has === gate.has) continue;
      gate.has = has;
      out.push(...gate.chains);
    }
    return out;
  }

  /** Brings the elements of the referenced sets of IP set `id` up to date with its members. */
  refresh(id: string): void {
    for (const ref of this.setsById.get(id)?.values() ?? []) if (ref.kind !== 'literal') this.writeSet(ref);
  }

  private setGates(chain: string, refs: readonly IpSetRef[]): void {
    const old = this.chainGates.get(chain);
    const names = new Set<string>();
    for (const ref of refs) {
      names.add(ref.name);
      let gate = this.gates.get(ref.name);
      if (!gate) {
        gate = { ref, has: this.feed.hasElements(ref), chains: new Set() };
        this.gates.set(ref.name, gate);
        let byId = this.gatesById.get(ref.id);
        if (!byId) this.gatesById.set(ref.id, (byId = new Set()));
        byId.add(ref.name);
      }
      gate.chains.add(chain);
    }
    for (const name of old ?? []) {
      if (names.has(name)) continue;
      const gate = this.gates.get(name)!;
      gate.chains.delete(chain);
      if (gate.chains.size > 0) continue;
      this.gates.delete(name);
      const byId = this.gatesById.get(gate.ref.id)!;
      byId.delete(name);
      if (byId.size === 0) this.gatesById.delete(gate.ref.id);
    }
    if (names.size > 0) this.chainGates.set(chain, names);
    else this.chainGates.delete(chain);
  }

  private incSet(ref: SetRef): void {
    const n = this.setUsers.get(ref.name) ?? 0;
    this.setUsers.set(ref.name, n + 1);
    if (n > 0) return;
    let byId = this.setsById.get(ref.id);
    if (!byId) this.setsById.set(ref.id, (byId = new Map()));
    byId.set(ref.name, ref);
    this.writeSet(ref);
  }

  private decSet(ref: SetRef): void {
    const n = (this.setUsers.get(ref.name) ?? 0) - 1;
    if (n > 0) {
      this.setUsers.set(ref.name, n);
      return;
    }
    this.setUsers.delete(ref.name);
    const byId = this.setsById.get(ref.id);
    if (byId) {
      byId.delete(ref.name);
      if (byId.size === 0) this.setsById.delete(ref.id);
    }
    this.ruleset.deleteSet(ref.name);
  }

  private writeSet(ref: SetRef): void {
    if (ref.kind === 'literal') {
      this.ruleset.setSet({ type: 'set', name: ref.name, keyType: ref.keyType, flags: ['interval'] }, new Set(ref.elements));
      return;
    }
    const addr = ref.family === 4 ? 'ipv4_addr' : 'ipv6_addr';
    this.ruleset.setSet(
      ref.kind === 'net'
        ? { type: 'set', name: ipSetName('net', ref.family, ref.id), keyType: addr, flags: ['interval'] }
        : { type: 'set', name: ipSetName('ip-port', ref.family, ref.id), keyType: `${addr} . inet_proto . inet_service` },
      this.feed.elements(ref),
    );
  }
}
