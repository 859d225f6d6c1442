// External peers: the addresses outside the cluster a policy can tell apart, one representative each, so the
// matrix and the dry-run impact can show flows to and from the world outside (issue: `tabby delete gnp
// block-feed --dry-run` saw no change while web → 203.0.113.7 went from denied to allowed).
//
// What the policies can see of an address that is no endpoint's: which named CIDRs contain it — every network
// set's nets (what selectors match, §3.1) and every rule's nets / notNets (and failsafe nets). Named CIDRs are
// prefixes, so they nest or are disjoint: they form a forest, and the addresses in a CIDR but in none of the
// CIDRs inside it are in exactly the same named CIDRs (the CIDR and its ancestors) — one class. Outside every root
// lies "anywhere else", one class per family. Each class is represented by its first address that no endpoint
// owns (an endpoint's address is that endpoint, with its own selectors and policy): its network's first host
// address when it has one, else the next free one. A class with no free address (a /32 of a pod) is left out.
//
// What it does not do: evaluate anything (matrix.ts asks the engine with the representative).

import { formatCidr, formatIp, parseCidrOrIp, parseIp, type IpAddr, type IpNet } from '../api/index.js';
import type { EntityMatch, PolicyEngine } from '../engine/index.js';
import { failsafeCidrs } from './end-features.js';

export interface ExternalPeer {
  /** The representative address (canonical text): any address of the class is decided alike. */
  address: string;
  family: 4 | 6;
  /** The CIDR naming the class: the narrowest named net containing it, or `0.0.0.0/0` / `::/0`. */
  cidr: string;
  /** Who names that CIDR (`GlobalNetworkSet feed`, `GlobalNetworkPolicy block-feed`), sorted; empty for anywhere else. */
  namedBy: string[];
  /** How a person reads it: `203.0.113.0/24 (GlobalNetworkSet feed)`, `0.0.0.0/0 outside every named net`. */
  label: string;
}

interface Named {
  net: IpNet;
  by: Set<string>;
}

const BITS = { 4: 32n, 6: 128n } as const;
const MAX_NAMES = 3;

function lastOf(net: IpNet): bigint {
  return net.network + (1n << (BITS[net.family] - BigInt(net.prefixLength))) - 1n;
}

/** Every named CIDR of every engine given, with who names it. */
function addNamed(out: Map<string, Named>, text: string, by: string): void {
  const net = parseCidrOrIp(text);
  if (!net) return;
  const key = formatCidr(net);
  const entry = out.get(key) ?? { net, by: new Set<string>() };
  entry.by.add(by);
  out.set(key, entry);
}

function namedCidrs(engines: readonly PolicyEngine[]): Map<string, Named> {
  const out = new Map<string, Named>();
  const add = (text: string, by: string): void => addNamed(out, text, by);
  const entity = (e: EntityMatch, by: string): void => {
    for (const c of e.nets) add(c, by);
    for (const c of e.notNets) add(c, by);
  };
  for (const engine of engines) {
    for (const set of engine.networkSets()) {
      const by = `${set.kind} ${set.namespace !== undefined ? `${set.namespace}/` : ''}${set.name}`;
      for (const c of set.nets) add(c, by);
    }
    for (const p of engine.policies()) {
      for (const rule of [...p.rules.ingress, ...p.rules.egress]) {
        entity(rule.src, `${p.id.kind} ${p.id.ref}`);
        entity(rule.dst, `${p.id.kind} ${p.id.ref}`);
      }
    }
    for (const name of new Set(engine.endpoints().flatMap((e) => e.profiles))) {
      const profile = engine.profile(name);
      for (const rule of [...profile.rules.ingress, ...profile.rules.egress]) {
        entity(rule.src, `Profile ${name}`);
        entity(rule.dst, `Profile ${name}`);
      }
    }
    for (const c of failsafeCidrs(engine)) add(c, 'FelixConfiguration failsafe ports');
  }
  return out;
}

function labelOf(cidr: string, namedBy: readonly string[]): string {
  if (namedBy.length === 0) return `${cidr} outside every named net`;
  const more = namedBy.length > MAX_NAMES ? ` and ${namedBy.length - MAX_NAMES} more` : '';
  return `${cidr} (${namedBy.slice(0, MAX_NAMES).join(', ')}${more})`;
}

/**
 * The external classes of the engines' policies and network sets (before and after a change give both, so the
 * two sides are compared on the same addresses), for the families `families` (default: those some endpoint has).
 * Sorted by family, then address.
 */
export function externalPeers(engines: readonly PolicyEngine[], families?: ReadonlyArray<4 | 6>): ExternalPeer[] {
  const endpointFamilies = new Set<4 | 6>();
  const owned: string[] = [];
  for (const engine of engines) {
    for (const ep of engine.endpoints()) {
      for (const text of ep.ips) {
        const ip = parseIp(text);
        if (!ip) continue;
        owned.push(text);
        endpointFamilies.add(ip.family);
      }
    }
  }
  return classesOf(namedCidrs(engines), owned, families ?? [...endpointFamilies]);
}

/**
 * The classes of the given named CIDRs (`[cidr, who names it]`) alone, with representatives none of the `owned`
 * addresses: for a question that only some rules can tell apart (the lockout check asks host endpoints' rules).
 */
export function externalPeersOf(
  cidrs: Iterable<readonly [string, string]>, owned: Iterable<string>, families: ReadonlyArray<4 | 6>,
): ExternalPeer[] {
  const named = new Map<string, Named>();
  for (const [text, by] of cidrs) addNamed(named, text, by);
  return classesOf(named, owned, families);
}

function classesOf(namedMap: ReadonlyMap<string, Named>, owned: Iterable<string>, families: ReadonlyArray<4 | 6>): ExternalPeer[] {
  const taken = new Set<string>();
  for (const text of owned) {
    const ip = parseIp(text);
    if (ip) taken.add(`${ip.family}:${ip.value}`);
  }
  const wanted = new Set(families);
  const named = [...namedMap.values()].filter((n) => wanted.has(n.net.family));
  // Parents before children: by family, network, then wider first.
  named.sort((a, b) => a.net.family - b.net.family || (a.net.network < b.net.network ? -1 : a.net.network > b.net.network ? 1 : 0) ||
    a.net.prefixLength - b.net.prefixLength);

  const out: ExternalPeer[] = [];
  /** The first address in [from, to] outside `holes` (sorted, disjoint) and owned by no endpoint. */
  const firstFree = (family: 4 | 6, from: bigint, to: bigint, holes: readonly IpNet[]): bigint | undefined => {
    let p = from;
    let h = 0;
    // Bounded: each step passes a hole or an endpoint address.
    while (p <= to) {
      while (h < holes.length && lastOf(holes[h]!) < p) h++;
      const hole = holes[h];
      if (hole && hole.network <= p) {
        p = lastOf(hole) + 1n;
        continue;
      }
      if (taken.has(`${family}:${p}`)) {
        p++;
        continue;
      }
      return p;
    }
    return undefined;
  };
  const emit = (family: 4 | 6, cidr: string, by: readonly string[], value: bigint): void => {
    const namedBy = [...by].sort();
    const ip: IpAddr = { family, value };
    out.push({ address: formatIp(ip), family, cidr, namedBy, label: labelOf(cidr, namedBy) });
  };

  // Children of each named net (its maximal named subnets), and the roots per family.
  const children = new Map<Named, IpNet[]>();
  const roots: Record<4 | 6, IpNet[]> = { 4: [], 6: [] };
  const stack: Named[] = [];
  for (const n of named) {
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.net.family === n.net.family && n.net.network <= lastOf(top.net)) break;
      stack.pop();
    }
    const parent = stack[stack.length - 1];
    if (parent) children.get(parent)!.push(n.net);
    else roots[n.net.family].push(n.net);
    children.set(n, []);
    stack.push(n);
  }
  for (const n of named) {
    const { net } = n;
    const size = lastOf(net) - net.network + 1n;
    // The first host address of a network of more than two (not the network address itself), where there is one.
    const start = size > 2n ? net.network + 1n : net.network;
    const value = firstFree(net.family, start, lastOf(net), children.get(n)!) ??
      (start !== net.network ? firstFree(net.family, net.network, net.network, children.get(n)!) : undefined);
    if (value !== undefined) emit(net.family, formatCidr(net), [...n.by], value);
  }
  for (const family of [4, 6] as const) {
    if (!wanted.has(family)) continue;
    // Anywhere else: from a documentation-free public start (1.0.0.1, 2001::1) upwards, then from the bottom.
    const start = family === 4 ? 0x01000001n : 0x20010000n << 96n | 1n;
    const top = (1n << BITS[family]) - 1n;
    const value = firstFree(family, start, top, roots[family]) ?? firstFree(family, 0n, start, roots[family]);
    if (value !== undefined) emit(family, family === 4 ? '0.0.0.0/0' : '::/0', [], value);
  }
  return out.sort((a, b) => a.family - b.family || compareAddress(a.address, b.address));
}

function compareAddress(a: string, b: string): number {
  const x = parseIp(a)!.value;
  const y = parseIp(b)!.value;
  return x < y ? -1 : x > y ? 1 : 0;
}
