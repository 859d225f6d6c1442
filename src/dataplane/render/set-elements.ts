// The elements of nft sets: engine IP set members (canonical CIDRs, `addr,proto:port`) and rules' own CIDR lists
// in nft's spelling, one family at a time. nft interval sets reject overlapping elements, so members covered by
// a broader member are left out (Felix's nft-mode member deduplicator, dataplane.md §2.5). Pure.

import { intervalOf } from '../nft/index.js';

export type Family = 4 | 6;

/** An element set per family. */
export interface PerFamily {
  4: Set<string>;
  6: Set<string>;
}

/** `10.0.0.1/32` → `10.0.0.1` (nft prints host prefixes bare). */
export function nftAddress(cidr: string): string {
  const [addr, len] = cidr.split('/');
  if (len === undefined) return cidr;
  return (len === '32' && !cidr.includes(':')) || (len === '128' && cidr.includes(':')) ? addr! : cidr;
}

/** netElements for both families, reading the members once (a set of host addresses needs no sorting). */
export function netElementsByFamily(members: Iterable<string>): PerFamily {
  const out = { 4: new Set<string>(), 6: new Set<string>() };
  for (const m of members) {
    const slash = m.indexOf('/');
    const v6 = m.includes(':');
    const len = slash < 0 ? -1 : m.length - slash - 1;
    // A prefix shorter than the host length may cover others: leave that family to the general path.
    if (slash >= 0 && !(v6 ? len === 3 && m.endsWith('/128') : len === 2 && m.endsWith('/32'))) {
      return { 4: netElements(members, 4), 6: netElements(members, 6) };
    }
    out[v6 ? 6 : 4].add(slash < 0 ? m : m.slice(0, slash));
  }
  return out;
}

/** The elements of an address set for one family, covered members left out. */
export function netElements(members: Iterable<string>, family: Family): Set<string> {
  const cidrs: string[] = [];
  let allHosts = true;
  const host = family === 4 ? '/32' : '/128';
  for (const m of members) {
    if (m.includes(':') !== (family === 6)) continue;
    cidrs.push(m);
    if (m.includes('/') && !m.endsWith(host)) allHosts = false;
  }
  if (allHosts) {
    const out = new Set<string>();
    for (const m of cidrs) out.add(m.endsWith(host) ? m.slice(0, -host.length) : m);
    return out;
  }
  return new Set(coveringElements(cidrs));
}

/**
 * CIDRs of one family sorted by start address, each one inside an earlier kept one left out, in nft's spelling.
 * CIDRs either nest or are disjoint: sorted by start (widest first), a member inside the last kept one is covered.
 */
export function coveringElements(cidrs: readonly string[]): string[] {
  const ranges = cidrs
    .map((c) => ({ c, r: intervalOf(c) }))
    .filter((x): x is { c: string; r: NonNullable<ReturnType<typeof intervalOf>> } => x.r !== undefined)
    .sort((a, b) => (a.r.lo < b.r.lo ? -1 : a.r.lo > b.r.lo ? 1 : a.r.hi > b.r.hi ? -1 : a.r.hi < b.r.hi ? 1 : 0));
  const out: string[] = [];
  let coverHi = -1n;
  for (const { c, r } of ranges) {
    if (r.hi <= coverHi) continue;
    out.push(nftAddress(c));
    coverHi = r.hi;
  }
  return out;
}

/** `10.0.0.1,tcp:8080` → `10.0.0.1 . tcp . 8080`, for one family. */
export function ipPortElements(members: Iterable<string>, family: Family): Set<string> {
  const out = new Set<string>();
  for (const m of members) {
    const match = /^(.+),(\w+):(\d+)$/.exec(m);
    if (!match) continue;
    const addr = match[1]!;
    if (addr.includes(':') !== (family === 6)) continue;
    out.add(`${nftAddress(addr)} . ${match[2]!.toLowerCase()} . ${match[3]}`);
  }
  return out;
}
