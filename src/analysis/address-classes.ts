// Address features and classes: what the policies can see of a flow's end. A rule matches an address only
// through the IP sets it is in (selectors, §3.1), the named-port sets its (address, protocol, port) is in, and
// the CIDRs of rules (nets / notNets) and failsafe entries that contain it. Each of these is a *feature*; an
// address class is a family, an endpoint kind, a port and the set of features an address has. Two ends of the
// same class are matched by exactly the same rules.
//
// nets / notNets may single out one address (`10.1.0.2/32` in an ipBlock except), which is why rule CIDRs are
// features of their own and not only the sets.
//
// What it does not do: decide which features matter to an end (end-features.ts) or evaluate anything.

import { formatIp, isSingleAddress, parseCidrOrIp, type IpAddr, type IpNet } from '../api/index.js';
import type { CompiledRule, EntityMatch, IpSetInfo } from '../engine/index.js';
import { BitSet } from './bitset.js';

/** What the classifier reads from the engine (the PolicyEngine satisfies it). */
export interface IpSetSource {
  ipSets(): IpSetInfo[];
  ipSetMembers(id: string): string[] | undefined;
}

const addressKey = (ip: IpAddr): string => `${ip.family}:${ip.value.toString(16)}`;

/** Numbers every IP set and CIDR a rule can test, and tells which of them an address (and port) has. */
export class FeatureIndex {
  private readonly setFeature = new Map<string, number>();
  private readonly cidrFeature = new Map<string, number>();
  /** Net-set features per single address held as a /32 or /128 member. */
  private readonly exact = new Map<string, number[]>();
  /** Members wider than one address (network sets), checked by containment. */
  private readonly wide = new NetIndex();
  /** Named-port set features per `address,protocol:port` member. */
  private readonly ipPort = new Map<string, number[]>();
  private readonly cidrs = new NetIndex();
  private count = 0;

  constructor(sets: IpSetSource, rules: Iterable<CompiledRule>, extraCidrs: Iterable<string>) {
    for (const info of sets.ipSets()) {
      const feature = this.count++;
      this.setFeature.set(info.id, feature);
      for (const member of sets.ipSetMembers(info.id) ?? []) {
        if (info.kind === 'ip-port') {
          push(this.ipPort, member, feature);
          continue;
        }
        const net = parseCidrOrIp(member);
        if (!net) continue;
        if (isSingleAddress(net)) push(this.exact, addressKey({ family: net.family, value: net.network }), feature);
        else this.wide.add(net, feature);
      }
    }
    const texts = new Set<string>(extraCidrs);
    const collect = (e: EntityMatch): void => {
      for (const c of e.nets) texts.add(c);
      for (const c of e.notNets) texts.add(c);
    };
    for (const rule of rules) {
      collect(rule.src);
      collect(rule.dst);
    }
    for (const text of [...texts].sort()) {
      const net = parseCidrOrIp(text);
      if (!net) continue;
      const feature = this.count++;
      this.cidrFeature.set(text, feature);
      this.cidrs.add(net, feature);
    }
  }

  get size(): number {
    return this.count;
  }

  /** The features a rule reads (either side): its IP sets, named-port sets and CIDRs. */
  ruleFeatures(rule: CompiledRule, out: Set<number>): void {
    this.entityFeatures(rule.src, out);
    this.entityFeatures(rule.dst, out);
  }

  /** The features one side of a rule reads: what it asks of the packet's source (or destination) address. */
  entityFeatures(e: EntityMatch, out: Set<number> | number[]): void {
    const add = (f: number | undefined): void => {
      if (f === undefined) return;
      if (Array.isArray(out)) out.push(f);
      else out.add(f);
    };
    for (const ids of [e.ipSets, e.notIpSets, e.namedPortIpSets, e.notNamedPortIpSets]) for (const id of ids) add(this.setFeature.get(id));
    for (const c of e.nets) add(this.cidrFeature.get(c));
    for (const c of e.notNets) add(this.cidrFeature.get(c));
  }

  cidrFeatureInto(text: string, out: Set<number>): void {
    const f = this.cidrFeature.get(text);
    if (f !== undefined) out.add(f);
  }

  /** Features of an address as a source (or any end without a port). */
  addressFeatures(ip: IpAddr): number[] {
    const out = [...(this.exact.get(addressKey(ip)) ?? [])];
    this.wide.featuresOf(ip, out);
    this.cidrs.featuresOf(ip, out);
    return sortedUnique(out);
  }

  /**
   * Features of a destination: its address features plus the named-port sets that hold (address, protocol,
   * port); `protocol` is `tcp`/`udp`/`sctp`, or undefined when named ports cannot match.
   */
  destinationFeatures(ip: IpAddr, protocol: string | undefined, port: number | undefined): number[] {
    const out = this.addressFeatures(ip);
    if (protocol === undefined || port === undefined) return out;
    return sortedUnique([...out, ...(this.ipPort.get(`${formatIp(ip)},${protocol}:${port}`) ?? [])]);
  }
}

/** Networks by prefix length: an address is looked up once per length in use, not compared with every net. */
class NetIndex {
  private readonly byLength = new Map<number, { family: 4 | 6; shift: bigint; networks: Map<bigint, number[]> }>();

  add(net: IpNet, feature: number): void {
    const key = net.family * 256 + net.prefixLength;
    let entry = this.byLength.get(key);
    if (!entry) {
      entry = { family: net.family, shift: BigInt((net.family === 4 ? 32 : 128) - net.prefixLength), networks: new Map() };
      this.byLength.set(key, entry);
    }
    const prefix = net.network >> entry.shift;
    const list = entry.networks.get(prefix);
    if (list) list.push(feature);
    else entry.networks.set(prefix, [feature]);
  }

  featuresOf(ip: IpAddr, out: number[]): void {
    for (const entry of this.byLength.values()) {
      if (entry.family !== ip.family) continue;
      const hit = entry.networks.get(ip.value >> entry.shift);
      if (hit) out.push(...hit);
    }
  }
}

/** One class of ends: everything a rule or a host path can tell about an end from its address and port. */
export interface AddressClass {
  family: 4 | 6;
  /** `External`: an address outside the cluster (external-peers.ts), with no policy of its own. */
  kind: 'WorkloadEndpoint' | 'HostEndpoint' | 'External';
  port: number | undefined;
  features: readonly number[];
  /** Interned (family, kind, port): the part of a class every projection keeps. */
  meta: number;
  /** The first address interned into the class: any member stands for all of them. */
  address: IpAddr;
}

/** Interns classes and answers "which classes have feature f" as bit sets. */
export class ClassTable {
  readonly classes: AddressClass[] = [];

  /** Which end of a flow the classes describe. */
  constructor(readonly side: 'source' | 'destination') {}

  private readonly ids = new Map<string, number>();
  private readonly metas = new Map<string, number>();

  get metaCount(): number {
    return this.metas.size;
  }
  private byFeature: BitSet[] | undefined;

  intern(address: IpAddr, kind: AddressClass['kind'], port: number | undefined, features: readonly number[]): number {
    const family = address.family;
    const metaKey = `${family}|${kind}|${port ?? ''}`;
    const key = `${metaKey}|${features.join(',')}`;
    let id = this.ids.get(key);
    if (id === undefined) {
      let meta = this.metas.get(metaKey);
      if (meta === undefined) this.metas.set(metaKey, (meta = this.metas.size));
      id = this.classes.length;
      this.ids.set(key, id);
      this.classes.push({ family, kind, port, features, meta, address });
    }
    return id;
  }

  /** Per feature, the classes that have it (built on first use; intern nothing after that). */
  withFeature(feature: number, featureCount: number): BitSet {
    if (!this.byFeature) {
      const sets = Array.from({ length: featureCount }, () => new BitSet(this.classes.length));
      this.classes.forEach((c, i) => {
        for (const f of c.features) sets[f]!.add(i);
      });
      this.byFeature = sets;
    }
    return this.byFeature[feature]!;
  }
}

function push(map: Map<string, number[]>, key: string, value: number): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function sortedUnique(xs: number[]): number[] {
  xs.sort((a, b) => a - b);
  return xs.filter((v, i) => i === 0 || xs[i - 1] !== v);
}
