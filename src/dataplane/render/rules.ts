// One compiled Calico rule → the nft rule bodies that enforce it (dataplane.md §5.6). Pure text assembly from
// word lists; no nft execution, no state.
//
// - Families (§2.3, Felix FilterRuleToIPVersion): a rule with no address-family-specific match is rendered once
//   and applies to IPv4 and IPv6 alike (an `inet` table). Otherwise it is rendered per family: CIDRs of the other
//   family are dropped; a `nets` or `notNets` list left empty by that drops the rule for that family, and so does
//   a catch-all in `notNets` (Felix's filterNets; calico-semantics.md §3.1 mentions only the positive list);
//   ICMP matches render as `icmp` in IPv4 and `icmpv6` in IPv6 (§3.10).
// - Ports: numeric ports OR named ports (§3.1). Named ports are IP+port sets; a side with both becomes one rule
//   per alternative (numeric, then each named-port set). For a Log rule the alternatives are made disjoint so a
//   packet is logged once.
// - ICMP type+code negation uses the set form, the only way to say "not (type and code)" in nft; nft 1.0.6
//   rejects Felix's `icmp type T code C` spelling, so `code` is repeated with its protocol (§2.4, E5).
// - Each match lists the IP sets it `requires` (positive selector and named-port matches) so that the renderer can
//   leave out a family's copy while one of them holds nothing of that family (policy-rules.ts). Given a Gate, the
//   match is left out as soon as a required set fails it, before its text is built.

import type { CompiledRule, EntityMatch, IcmpMatch, PortRange } from '../../engine/index.js';
import { ipSetName, shortHash } from './names.js';
import { coveringElements, type Family } from './set-elements.js';

export type { Family } from './set-elements.js';

const PROTOCOL_NAMES: Readonly<Record<number, string>> = {
  1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'ipv6-icmp', 132: 'sctp', 136: 'udplite',
};

export function nftProtocol(protocol: number): string {
  return PROTOCOL_NAMES[protocol] ?? String(protocol);
}

export function familyOfCidr(cidr: string): Family {
  return cidr.includes(':') ? 6 : 4;
}

function isCatchAll(cidr: string): boolean {
  return cidr === '0.0.0.0/0' || cidr === '::/0';
}

function portText(p: PortRange): string {
  return p.first === p.last ? String(p.first) : `${p.first}-${p.last}`;
}

/**
 * One value inline, several as a shared named set (`lp-`, `l4-`, `l6-` + a hash of the contents). nft 1.0.6
 * spends super-linear time on anonymous sets within one transaction (dataplane.md §4 row 13: 20,000 rules with
 * an anonymous port set each took 117 s), so lists are named and shared by every rule that repeats them.
 */
function literalList(kind: 'ports' | 4 | 6, values: readonly string[], sets: SetRef[]): string {
  // One port (portText's canonical spelling) is its own element: the common case, without the merge's copies.
  if (kind === 'ports' && values.length === 1) return values[0]!;
  const elements = kind === 'ports' ? mergePortRanges(values) : coveringElements(values);
  if (elements.length === 1) return elements[0]!;
  const keyType = kind === 'ports' ? 'inet_service' : kind === 4 ? 'ipv4_addr' : 'ipv6_addr';
  const id = `${keyType}|${elements.join(',')}`;
  const ref: SetRef = { name: literalSetName(kind, id), id, kind: 'literal', keyType, elements };
  sets.push(ref);
  return `@${ref.name}`;
}

const literalNames = new Map<string, string>();
function literalSetName(kind: 'ports' | 4 | 6, id: string): string {
  let name = literalNames.get(id);
  if (name === undefined) {
    if (literalNames.size > 100_000) literalNames.clear();
    literalNames.set(id, (name = `l${kind === 'ports' ? 'p' : kind}-${shortHash(id, 16)}`));
  }
  return name;
}

/** Sorted, overlapping and adjacent ranges merged: the elements of an interval set of ports. */
export function mergePortRanges(values: readonly string[]): string[] {
  const ranges = values.map((v) => {
    const [a, b] = v.split('-');
    return [Number(a), Number(b ?? a)] as [number, number];
  }).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const out: Array<[number, number]> = [];
  for (const r of ranges) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out.map(([a, b]) => (a === b ? String(a) : `${a}-${b}`));
}

/**
 * An nft set a rendered match refers to: an engine IP set of one family (`net`, `ip-port`; contents follow the
 * engine's members), or a `literal` list of a rule's own ports or CIDRs (contents fixed, named by their hash).
 */
export type SetRef = IpSetRef | { name: string; id: string; kind: 'literal'; keyType: string; elements: readonly string[] };

/** The nft set of one family of an engine IP set. */
export interface IpSetRef {
  name: string;
  id: string;
  kind: 'net' | 'ip-port';
  family: Family;
}

export interface RenderedMatch {
  /** The match part of one nft rule (empty string: matches everything). */
  match: string;
  /** The nft sets the match refers to. */
  sets: SetRef[];
  /**
   * The IP sets the match must find the packet in (positive selector and named-port matches): while one of them
   * holds no element of the match's family, the match can never fire, and a renderer may leave it out. Negated
   * matches are never listed — against an empty set they match everything.
   */
  requires: IpSetRef[];
}

type PortAlternative = { numeric: PortRange[] } | { named: string } | undefined;

/** Whether a rule needs per-family rendering apart from its named-port alternatives. */
function isFamilySpecific(rule: CompiledRule): boolean {
  if (rule.ipVersion !== undefined || rule.icmp || rule.notIcmp) return true;
  for (const side of [rule.src, rule.dst]) {
    if (side.nets.length || side.notNets.length || side.ipSets.length || side.notIpSets.length ||
      side.notNamedPortIpSets.length) return true;
  }
  return false;
}

function portAlternatives(side: EntityMatch): PortAlternative[] {
  const alts: PortAlternative[] = [];
  if (side.ports.length > 0) alts.push({ numeric: side.ports });
  for (const id of side.namedPortIpSets) alts.push({ named: id });
  return alts.length > 0 ? alts : [undefined];
}

const isNamed = (a: PortAlternative): boolean => a !== undefined && 'named' in a;

/**
 * Which required IP sets can match now, and the record of every one asked (the sets a later change of which may
 * bring a left-out match back).
 */
export interface Gate {
  canMatch(ref: IpSetRef): boolean;
  asked: IpSetRef[];
}

/**
 * The match parts of a compiled rule: one entry per nft rule to emit (several for per-family rules and for
 * numeric-or-named port alternatives), none when the rule can never match.
 */
export function renderRuleMatches(rule: CompiledRule, gate?: Gate): RenderedMatch[] {
  if (rule.neverMatches) return [];
  const out: RenderedMatch[] = [];
  const disjoint = rule.action === 'Log';
  const baseSpecific = isFamilySpecific(rule);
  const srcAlts = portAlternatives(rule.src);
  const dstAlts = portAlternatives(rule.dst);
  for (let si = 0; si < srcAlts.length; si++) {
    for (let di = 0; di < dstAlts.length; di++) {
      const alts: Alternatives = {
        src: srcAlts[si], dst: dstAlts[di],
        // Earlier alternatives, negated, so one packet matches one Log rule only.
        srcNot: disjoint ? srcAlts.slice(0, si) : [], dstNot: disjoint ? dstAlts.slice(0, di) : [],
      };
      const specific = baseSpecific || [alts.src, alts.dst, ...alts.srcNot, ...alts.dstNot].some(isNamed);
      const families: Array<Family | undefined> = !specific
        ? [undefined]
        : rule.ipVersion !== undefined ? [rule.ipVersion] : [4, 6];
      for (const family of families) {
        const m = renderOne(rule, family, alts, gate);
        if (m) out.push(m);
      }
    }
  }
  return out;
}

interface Alternatives {
  src: PortAlternative;
  dst: PortAlternative;
  srcNot: PortAlternative[];
  dstNot: PortAlternative[];
}

function renderOne(rule: CompiledRule, family: Family | undefined, alts: Alternatives, gate?: Gate): RenderedMatch | undefined {
  const words: string[] = [];
  const sets: SetRef[] = [];
  const requires: IpSetRef[] = [];
  let familyImplied = false;

  // ICMP matches belong to one family; a numeric protocol that contradicts it can never match (nft rejects it).
  const icmpProto = family === 6 ? 58 : 1;
  if ((rule.icmp || rule.notIcmp) && rule.protocol !== undefined && rule.protocol !== icmpProto) return undefined;
  if ((rule.icmp || rule.notIcmp) && family === undefined) return undefined;

  if (rule.protocol !== undefined) words.push('meta l4proto', nftProtocol(rule.protocol));
  if (rule.notProtocol !== undefined) words.push('meta l4proto !=', nftProtocol(rule.notProtocol));

  for (const side of ['src', 'dst'] as const) {
    const match = side === 'src' ? rule.src : rule.dst;
    const addr = family === 6 ? `ip6 ${side === 'src' ? 'saddr' : 'daddr'}` : `ip ${side === 'src' ? 'saddr' : 'daddr'}`;
    const port = `th ${side === 'src' ? 'sport' : 'dport'}`;
    if (family !== undefined) {
      const nets = match.nets.filter((c) => familyOfCidr(c) === family);
      if (match.nets.length > 0 && nets.length === 0) return undefined;
      const notNets = match.notNets.filter((c) => familyOfCidr(c) === family);
      // Felix's filterNets drops the rule for a family when a non-empty nets *or notNets* list holds none of
      // that family's CIDRs (felix/rules/policy.go FilterRuleToIPVersion), and when notNets holds its catch-all.
      if (match.notNets.length > 0 && notNets.length === 0) return undefined;
      if (notNets.some(isCatchAll)) return undefined;
      if (nets.length > 0 && !nets.some(isCatchAll)) {
        words.push(addr, literalList(family, nets, sets));
        familyImplied = true;
      }
      if (notNets.length > 0) {
        words.push(addr, '!=', literalList(family, notNets, sets));
        familyImplied = true;
      }
      // An IP set the engine has not described yet is still referenced: it is created empty, which is
      // Calico's meaning of an empty selector (a positive match never fires, a negated one always does); with a
      // Gate, a positive match against it is left out instead.
      for (const id of match.ipSets) {
        const ref = setRef('net', family, id);
        words.push(addr, `@${ref.name}`);
        sets.push(ref);
        requires.push(ref);
        if (gate && !passes(gate, ref)) return undefined;
        familyImplied = true;
      }
      for (const id of match.notIpSets) {
        const ref = setRef('net', family, id);
        words.push(addr, '!=', `@${ref.name}`);
        sets.push(ref);
        familyImplied = true;
      }
    }
    const alt = side === 'src' ? alts.src : alts.dst;
    const nots = side === 'src' ? alts.srcNot : alts.dstNot;
    for (const prev of nots) {
      const w = portWords(prev, addr, port, family, sets, true);
      if (w === undefined) return undefined;
      words.push(...w);
    }
    const w = portWords(alt, addr, port, family, sets, false);
    if (w === undefined) return undefined;
    if (alt && 'named' in alt) {
      const ref = setRef('ip-port', family!, alt.named);
      requires.push(ref);
      if (gate && !passes(gate, ref)) return undefined;
      familyImplied = true;
    }
    words.push(...w);
    if (match.notPorts.length > 0) words.push(port, '!=', literalList('ports', match.notPorts.map(portText), sets));
    for (const id of match.notNamedPortIpSets) {
      if (family === undefined) return undefined;
      const ref = setRef('ip-port', family, id);
      words.push(`${addr} . meta l4proto . ${port}`, '!=', `@${ref.name}`);
      sets.push(ref);
      familyImplied = true;
    }
  }

  if (rule.icmp) {
    words.push(...icmpWords(rule.icmp, family!));
    familyImplied = true;
  }
  if (rule.notIcmp) {
    words.push(...notIcmpWords(rule.notIcmp, family!));
    familyImplied = true;
  }
  if (family !== undefined && !familyImplied) words.unshift('meta nfproto', family === 4 ? 'ipv4' : 'ipv6');
  return { match: words.join(' '), sets, requires };
}

function passes(gate: Gate, ref: IpSetRef): boolean {
  gate.asked.push(ref);
  return gate.canMatch(ref);
}

function portWords(
  alt: PortAlternative, addr: string, port: string, family: Family | undefined, sets: SetRef[], negate: boolean,
): string[] | undefined {
  if (alt === undefined) return [];
  if ('numeric' in alt) return [port, ...(negate ? ['!='] : []), literalList('ports', alt.numeric.map(portText), sets)];
  if (family === undefined) return undefined;
  const ref = setRef('ip-port', family, alt.named);
  sets.push(ref);
  return [`${addr} . meta l4proto . ${port}`, ...(negate ? ['!='] : []), `@${ref.name}`];
}

/** Where a set is used tells its kind: `ipSets` hold addresses, `namedPortIpSets` address+protocol+port. */
function setRef(kind: 'net' | 'ip-port', family: Family, id: string): IpSetRef {
  return { name: ipSetName(kind, family, id), id, kind, family };
}

function icmpWords(icmp: IcmpMatch, family: Family): string[] {
  const p = family === 4 ? 'icmp' : 'icmpv6';
  const words = [`${p} type`, String(icmp.type)];
  if (icmp.code !== undefined) words.push(`${p} code`, String(icmp.code));
  return words;
}

function notIcmpWords(icmp: IcmpMatch, family: Family): string[] {
  const p = family === 4 ? 'icmp' : 'icmpv6';
  if (icmp.code === undefined) return [`${p} type !=`, String(icmp.type)];
  return [`${p} type . ${p} code !=`, `{ ${icmp.type} . ${icmp.code} }`];
}
