// Whether one compiled rule matches one packet, the way the rendered nftables rule would (§2.1, §3.1, §3.10;
// felix/rules/policy.go). Family filtering happens first, as Felix renders each rule per family
// (FilterRuleToIPVersion): a rule for the other family, or one whose nets/notNets lose every CIDR to the
// filter, or that negates a catch-all, is not rendered at all and so never matches.
//
// What it does not do: it does not know about tiers, policies or actions (verdict.ts), nor how IP sets are
// filled (ipset-index.ts); it asks an IpSetMembership.

import { cidrContains, parseCidr, type IpAddr, type IpNet } from '../api/index.js';
import { hasPorts, ICMP, ICMPV6, namedPortProtocolOf } from './protocol.js';
import type { CompiledRule, EntityMatch, IcmpMatch } from './types.js';

/** One packet (the first of its connection), in the terms rules match on. */
export interface Packet {
  family: 4 | 6;
  /** Undefined when the address is unknown (a host endpoint without expectedIPs): it is in no set or net. */
  src?: IpAddr;
  dst?: IpAddr;
  /** IP protocol number. */
  protocol: number;
  srcPort?: number;
  dstPort?: number;
  icmpType?: number;
  icmpCode?: number;
}

export interface IpSetMembership {
  containsAddress(id: string, ip: IpAddr): boolean;
  containsIpPort(id: string, ip: IpAddr, protocol: string, port: number): boolean;
}

interface FamilyNets {
  nets: IpNet[];
  notNets: IpNet[];
}

interface FamilyRule {
  src: FamilyNets;
  dst: FamilyNets;
}

/** Per rule and family: the nets Felix would render, or null when it renders no rule for that family. */
const familyCache = new WeakMap<CompiledRule, { 4?: FamilyRule | null; 6?: FamilyRule | null }>();

/** filterNets: null = drop the rule (a non-empty list lost every CIDR, or a negated catch-all). */
function filterNets(cidrs: readonly string[], family: 4 | 6, negated: boolean): IpNet[] | null {
  if (cidrs.length === 0) return [];
  const out: IpNet[] = [];
  for (const text of cidrs) {
    const net = parseCidr(text);
    if (!net || net.family !== family) continue;
    if (negated && net.prefixLength === 0) return null;
    out.push(net);
  }
  return out.length === 0 ? null : out;
}

function familyNets(e: EntityMatch, family: 4 | 6): FamilyNets | null {
  const nets = filterNets(e.nets, family, false);
  const notNets = filterNets(e.notNets, family, true);
  return nets === null || notNets === null ? null : { nets, notNets };
}

/** The rule as Felix renders it for `family`, or null when it renders nothing (§3.1). */
export function ruleForFamily(rule: CompiledRule, family: 4 | 6): FamilyRule | null {
  let cached = familyCache.get(rule);
  if (!cached) familyCache.set(rule, (cached = {}));
  const hit = cached[family];
  if (hit !== undefined) return hit;
  let result: FamilyRule | null = null;
  if (rule.ipVersion === undefined || rule.ipVersion === family) {
    const src = familyNets(rule.src, family);
    const dst = familyNets(rule.dst, family);
    if (src && dst) result = { src, dst };
  }
  cached[family] = result;
  return result;
}

function inAny(nets: readonly IpNet[], ip: IpAddr): boolean {
  for (const n of nets) if (cidrContains(n, ip)) return true;
  return false;
}

function portMatches(e: { ports: EntityMatch['ports']; named: string[] }, ip: IpAddr | undefined, pkt: Packet, port: number, sets: IpSetMembership): boolean {
  for (const r of e.ports) if (port >= r.first && port <= r.last) return true;
  const proto = namedPortProtocolOf(pkt.protocol);
  if (ip && proto) for (const id of e.named) if (sets.containsIpPort(id, ip, proto, port)) return true;
  return false;
}

function entityMatches(
  e: EntityMatch,
  nets: FamilyNets,
  ip: IpAddr | undefined,
  port: number | undefined,
  pkt: Packet,
  sets: IpSetMembership,
): boolean {
  if (nets.nets.length > 0 && (!ip || !inAny(nets.nets, ip))) return false;
  if (nets.notNets.length > 0 && ip && inAny(nets.notNets, ip)) return false;
  for (const id of e.ipSets) if (!ip || !sets.containsAddress(id, ip)) return false;
  for (const id of e.notIpSets) if (ip && sets.containsAddress(id, ip)) return false;
  if (e.ports.length > 0 || e.namedPortIpSets.length > 0) {
    // A port match implies a protocol that carries ports; a packet without one never matches it.
    if (port === undefined || !hasPorts(pkt.protocol)) return false;
    if (!portMatches({ ports: e.ports, named: e.namedPortIpSets }, ip, pkt, port, sets)) return false;
  }
  if (e.notPorts.length > 0 || e.notNamedPortIpSets.length > 0) {
    if (port === undefined || !hasPorts(pkt.protocol)) return false;
    if (portMatches({ ports: e.notPorts, named: e.notNamedPortIpSets }, ip, pkt, port, sets)) return false;
  }
  return true;
}

function icmpIs(m: IcmpMatch, pkt: Packet): boolean {
  return pkt.icmpType === m.type && (m.code === undefined || pkt.icmpCode === m.code);
}

export function ruleMatches(rule: CompiledRule, pkt: Packet, sets: IpSetMembership): boolean {
  if (rule.neverMatches) return false;
  const fam = ruleForFamily(rule, pkt.family);
  if (!fam) return false;
  if (rule.protocol !== undefined && pkt.protocol !== rule.protocol) return false;
  if (rule.notProtocol !== undefined && pkt.protocol === rule.notProtocol) return false;
  if (!entityMatches(rule.src, fam.src, pkt.src, pkt.srcPort, pkt, sets)) return false;
  if (!entityMatches(rule.dst, fam.dst, pkt.dst, pkt.dstPort, pkt, sets)) return false;
  // §3.10: the IPv4 chain matches `icmp`, the IPv6 chain `icmpv6`; either implies that protocol.
  const icmpProtocol = pkt.family === 4 ? ICMP : ICMPV6;
  if (rule.icmp && (pkt.protocol !== icmpProtocol || !icmpIs(rule.icmp, pkt))) return false;
  if (rule.notIcmp && (pkt.protocol !== icmpProtocol || icmpIs(rule.notIcmp, pkt))) return false;
  return true;
}
