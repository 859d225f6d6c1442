// Service classes: everything of a flow besides its two addresses that a rule can test — protocol, source and
// destination port, ICMP type and code — cut into the classes no rule tells apart, one probe each. The shadow
// analysis (shadow.ts) decides every rule for every (peer class × service class) at once; a rule sees two
// services of one class alike, so one probe stands for the class:
//
//   protocols     every protocol a rule names (protocol / notProtocol), the four that carry ports, ICMP and
//                 ICMPv6, and one that no rule names (stands for every other)
//   ports         per side, the elementary intervals of every port range a rule names on that side (ports and
//                 notPorts), cut also at every port a named-port set holds when a rule names ports by name on
//                 that side; a port protocol's packet always has both ports, so "no port" is no class
//   ICMP          per ICMP protocol: every (type, code) a rule names, another code of each named type, another
//                 type
//
// `serviceMatch` is the part of the engine's rule matcher (rule-match.ts) that reads only the service: the
// analysis uses it to skip services a rule can never match and, for a rule without named ports, to reuse one
// service's answer over the peers for every service it matches (the address part and the service part of such
// a rule are independent: match = service part ∧ address part).
//
// What it does not do: read addresses (shadow.ts does, through the rule sweep's matcher).

import type { CompiledRule, EntityMatch, PolicyEngine, PortRange } from '../engine/index.js';
import type { ProbeService } from './rule-sweep.js';

const TCP = 6;
const UDP = 17;
const ICMP = 1;
const ICMPV6 = 58;
const IPIP = 4;
const PORT_PROTOCOLS = [TCP, UDP, 132, 136];
/** Candidates for "a protocol no rule names": GRE, ESP, AH, PIM, the experimental ones. */
const SPARE_PROTOCOLS = [47, 50, 51, 103, 253, 254, 2, 3, 5];

export interface ServiceClass extends ProbeService {
  /** How a person reads it: `TCP 1000→8080`, `ICMP type 8 code 0`, `47`. */
  label: string;
}

/** The service classes of every rule the engine holds (policies and profiles), in a stable order. */
export function serviceClasses(engine: PolicyEngine): ServiceClass[] {
  const rules: CompiledRule[] = engine.policies().flatMap((p) => [...p.rules.ingress, ...p.rules.egress]);
  for (const name of new Set(engine.endpoints().flatMap((e) => e.profiles))) {
    const profile = engine.profile(name);
    rules.push(...profile.rules.ingress, ...profile.rules.egress);
  }
  const protocols = new Set<number>([...PORT_PROTOCOLS, ICMP, ICMPV6]);
  const srcCuts = new Set<number>([0]);
  const dstCuts = new Set<number>([0]);
  let srcNamed = false;
  let dstNamed = false;
  const icmp = new Map<number, Map<number, Set<number>>>([[ICMP, new Map()], [ICMPV6, new Map()]]);
  const cut = (cuts: Set<number>, ranges: readonly PortRange[]): void => {
    for (const r of ranges) {
      cuts.add(r.first);
      if (r.last < 65535) cuts.add(r.last + 1);
    }
  };
  const named = (e: EntityMatch): boolean => e.namedPortIpSets.length > 0 || e.notNamedPortIpSets.length > 0;
  for (const rule of rules) {
    if (rule.protocol !== undefined) protocols.add(rule.protocol);
    if (rule.notProtocol !== undefined) protocols.add(rule.notProtocol);
    cut(srcCuts, rule.src.ports);
    cut(srcCuts, rule.src.notPorts);
    cut(dstCuts, rule.dst.ports);
    cut(dstCuts, rule.dst.notPorts);
    srcNamed ||= named(rule.src);
    dstNamed ||= named(rule.dst);
    for (const m of [rule.icmp, rule.notIcmp]) {
      if (!m) continue;
      // The rule's family decides which ICMP it means (§3.10); without one, both.
      for (const p of rule.ipVersion === 6 ? [ICMPV6] : rule.ipVersion === 4 ? [ICMP] : [ICMP, ICMPV6]) {
        const types = icmp.get(p)!;
        const codes = types.get(m.type) ?? new Set<number>();
        if (m.code !== undefined) codes.add(m.code);
        types.set(m.type, codes);
      }
    }
  }
  if (srcNamed || dstNamed) {
    for (const info of engine.ipSets()) {
      if (info.kind !== 'ip-port') continue;
      for (const member of engine.ipSetMembers(info.id) ?? []) {
        const port = Number(member.slice(member.lastIndexOf(':') + 1));
        if (!Number.isInteger(port)) continue;
        for (const cuts of [...(srcNamed ? [srcCuts] : []), ...(dstNamed ? [dstCuts] : [])]) {
          cuts.add(port);
          if (port < 65535) cuts.add(port + 1);
        }
      }
    }
  }
  // The VXLAN port is dropped on a workload's egress before any policy (encapDropped): a class of its own.
  const vxlan = engine.settings.vxlanPort;
  dstCuts.add(vxlan);
  if (vxlan < 65535) dstCuts.add(vxlan + 1);
  const spare = SPARE_PROTOCOLS.find((p) => !protocols.has(p) && p !== IPIP);
  if (spare !== undefined) protocols.add(spare);

  const sorted = (xs: Iterable<number>): number[] => [...xs].sort((a, b) => a - b);
  const srcPorts = sorted(srcCuts);
  const dstPorts = sorted(dstCuts);
  const out: ServiceClass[] = [];
  for (const protocol of sorted(protocols)) {
    if (PORT_PROTOCOLS.includes(protocol)) {
      for (const srcPort of srcPorts) for (const dstPort of dstPorts) out.push({ protocol, srcPort, dstPort, label: `${protocol} ${srcPort}→${dstPort}` });
    } else if (protocol === ICMP || protocol === ICMPV6) {
      const types = icmp.get(protocol)!;
      for (const [type, codes] of [...types].sort((a, b) => a[0] - b[0])) {
        for (const code of sorted(codes)) out.push({ protocol, icmpType: type, icmpCode: code, label: `${protocol} type ${type} code ${code}` });
        const other = firstMissing(codes);
        out.push({ protocol, icmpType: type, icmpCode: other, label: `${protocol} type ${type} code ${other}` });
      }
      const type = firstMissing(new Set(types.keys()));
      out.push({ protocol, icmpType: type, icmpCode: 0, label: `${protocol} type ${type}` });
    } else {
      out.push({ protocol, label: String(protocol) });
    }
  }
  return out;
}

function firstMissing(xs: ReadonlySet<number>): number {
  let v = 0;
  while (xs.has(v)) v++;
  return v;
}

/**
 * Whether a packet of this service can match the rule in `family`, the service part of ruleMatches (rule-match.ts
 * in the same order): false = never; true = whenever the addresses match; `named` = it depends on the address
 * too (a named port on a side that the service's port has to be looked up in).
 */
export function serviceMatch(rule: CompiledRule, s: ProbeService, family: 4 | 6): boolean | 'named' {
  if (rule.neverMatches) return false;
  if (rule.protocol !== undefined && s.protocol !== rule.protocol) return false;
  if (rule.notProtocol !== undefined && s.protocol === rule.notProtocol) return false;
  let named = false;
  for (const [e, port] of [[rule.src, s.srcPort], [rule.dst, s.dstPort]] as const) {
    const portless = port === undefined || !PORT_PROTOCOLS.includes(s.protocol);
    if (e.ports.length > 0 || e.namedPortIpSets.length > 0) {
      if (portless) return false;
      if (!inRanges(e.ports, port)) {
        if (e.namedPortIpSets.length === 0) return false;
        named = true;
      }
    }
    if (e.notPorts.length > 0 || e.notNamedPortIpSets.length > 0) {
      if (portless) return false;
      if (inRanges(e.notPorts, port)) return false;
      if (e.notNamedPortIpSets.length > 0) named = true;
    }
  }
  const icmpProtocol = family === 4 ? ICMP : ICMPV6;
  const icmpIs = (m: { type: number; code?: number }): boolean => s.icmpType === m.type && (m.code === undefined || s.icmpCode === m.code);
  if (rule.icmp && (s.protocol !== icmpProtocol || !icmpIs(rule.icmp))) return false;
  if (rule.notIcmp && (s.protocol !== icmpProtocol || icmpIs(rule.notIcmp))) return false;
  return named ? 'named' : true;
}

function inRanges(ranges: readonly PortRange[], port: number): boolean {
  for (const r of ranges) if (port >= r.first && port <= r.last) return true;
  return false;
}

/** §3.3: a workload's egress chain drops IP-in-IP and VXLAN before any policy, unless FelixConfiguration allows. */
export function encapDropped(engine: PolicyEngine, s: ProbeService): boolean {
  const settings = engine.settings;
  return (!settings.allowIPIPPacketsFromWorkloads && s.protocol === IPIP) ||
    (!settings.allowVXLANPacketsFromWorkloads && s.protocol === UDP && s.dstPort === settings.vxlanPort);
}
