// What the engine's change feed has told the renderer so far: IP set members, compiled policies and profiles,
// and each IP set's nft elements per family, computed once per change of its members (the `s4-` and `s6-` sets,
// and the decision whether a rule's copy for a family can match, all read them).

import type { CompiledPolicy, CompiledProfile, EngineChange, PolicyId } from '../../engine/index.js';
import type { IpSetRef } from './rules.js';
import { ipPortElements, netElementsByFamily, type Family, type PerFamily } from './set-elements.js';

/** One string per policy identity (kinds may share a name). */
export function policyKey(id: PolicyId): string {
  return `${id.kind}|${id.namespace ?? ''}|${id.name}`;
}

const EMPTY: ReadonlySet<string> = new Set();

export class FeedState {
  /**
   * Engine IP set members: the feed's list as it came (a full sync hands over 200,000 of them), made a Set only
   * when a member delta arrives for that set.
   */
  private readonly ipsets = new Map<string, readonly string[] | Set<string>>();
  /** IP set ID → elements per family, by kind; dropped when the set's members change. */
  private readonly elementCache: Record<IpSetRef['kind'], Map<string, PerFamily>> = { net: new Map(), 'ip-port': new Map() };
  readonly policies = new Map<string, CompiledPolicy>();
  readonly profiles = new Map<string, CompiledProfile>();

  /** Records an IP set change; returns the set's ID. */
  applyIpSet(c: Extract<EngineChange, { type: 'ipset-added' | 'ipset-members' | 'ipset-removed' }>): string {
    const id = c.type === 'ipset-added' ? c.ipSet.id : c.id;
    if (c.type === 'ipset-added') this.ipsets.set(id, c.members);
    else if (c.type === 'ipset-removed') this.ipsets.delete(id);
    else {
      const had = this.ipsets.get(id);
      const members = had instanceof Set ? had : new Set(had);
      this.ipsets.set(id, members);
      for (const m of c.removed) members.delete(m);
      for (const m of c.added) members.add(m);
    }
    this.elementCache.net.delete(id);
    this.elementCache['ip-port'].delete(id);
    return id;
  }

  /** The nft elements of one family of an IP set; never changed afterwards (a change makes a new Set). */
  elements(ref: IpSetRef): ReadonlySet<string> {
    const cache = this.elementCache[ref.kind];
    let cached = cache.get(ref.id);
    if (!cached) {
      const members = this.ipsets.get(ref.id);
      if (!members) return EMPTY;
      cached = ref.kind === 'net' ? netElementsByFamily(members) : bothFamilies(members);
      cache.set(ref.id, cached);
    }
    return cached[ref.family];
  }

  hasElements(ref: IpSetRef): boolean {
    return this.elements(ref).size > 0;
  }
}

function bothFamilies(members: Iterable<string>): PerFamily {
  const list = [...members];
  const of = (f: Family): Set<string> => ipPortElements(list, f);
  return { 4: of(4), 6: of(6) };
}
