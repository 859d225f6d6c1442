// The matrix between workloads whose traffic meets no host endpoint stage (the common case), for one address
// family. The verdict from i to j is i's egress hook and j's ingress hook (§3.7), and each hook's result
// depends only on:
//
//   egress of i:   i's tiers and profiles for egress, i's address class (the rule's source side)  ─┐ a row group
//                  and the destination's class (address, port, named-port memberships)             ─┘ × dst classes
//   ingress of j:  j's tiers and profiles for ingress, j's destination class                       ─┐ a column group
//                  and the source's address class                                                  ─┘ × src classes
//
// so allowed(i, j) = egress[row(i)] ∋ dstClass(j)  ∧  ingress[col(j)] ∋ srcClass(i), and each row group is
// evaluated once for all destination classes with bit sets (hook-vector.ts). A rule is split into its source
// and destination halves (a rule matches iff both halves do, see sideOnly), and each half is matched once
// per class with the engine's own ruleMatches, so matching semantics stay the engine's.
//
// What it does not do: pairs that cross a host endpoint stage or involve a host endpoint (host-pairs.ts).

import { type IpAddr } from '../api/index.js';
import {
  ruleMatches,
  type AppliedTier,
  type CompiledProfile,
  type CompiledRule,
  type Direction,
  type EndpointInfo,
  type EntityMatch,
  type Packet,
  type PolicyEngine,
} from '../engine/index.js';
import type { AddressClassifier } from './address-classes.js';
import { BitSet } from './bitset.js';
import { hookAllowed, type Mode, type VectorContext } from './hook-vector.js';

/** One endpoint as the matrix sees it. */
export interface Subject {
  index: number;
  info: EndpointInfo;
  /** The address a flow uses in each family: the endpoint's first one of that family (as the engine does). */
  addresses: { 4?: IpAddr; 6?: IpAddr };
  /** The destination port of traffic to this endpoint (a named port resolves per endpoint). */
  port: number | undefined;
  /** False when the named port does not resolve on this endpoint: nothing can reach it. */
  reachable: boolean;
}

export interface FamilyTables {
  /** Per subject: its row group (−1 when it is not a source handled here). */
  rowOf: Int32Array;
  colOf: Int32Array;
  srcClassOf: Int32Array;
  dstClassOf: Int32Array;
  /** Per row group: the destination classes its egress allows. */
  egress: BitSet[];
  /** Per column group: the source classes its ingress allows. */
  ingress: BitSet[];
  sourceClasses: number;
  destinationClasses: number;
  ruleHalvesMatched: number;
}

export interface FamilyInput {
  engine: PolicyEngine;
  subjects: readonly Subject[];
  /** Which subjects this path handles (as either end). */
  handles: (s: Subject) => boolean;
  family: 4 | 6;
  protocol: number;
  /** `tcp`/`udp`/`sctp` for named-port set memberships, or undefined. */
  namedPortProtocol: string | undefined;
  mode: Mode;
  classifier: AddressClassifier;
  /** Whether a workload's egress drops this destination port before any policy (VXLAN / IP-in-IP, §3.3). */
  dropsBeforePolicy: (port: number | undefined) => boolean;
  signatures: HookSignatures;
  progress: (done: number, total: number) => void;
}

const EMPTY_SIDE: EntityMatch = {
  nets: [], notNets: [], ipSets: [], notIpSets: [], ports: [], notPorts: [], namedPortIpSets: [], notNamedPortIpSets: [],
};

/** Interns hook signatures: tiers with their policies, and profiles by content (every kns.<ns> is the same). */
export class HookSignatures {
  private readonly profileIds = new Map<string, number>();
  private readonly cache = new Map<string, string>();

  constructor(private readonly engine: PolicyEngine) {}

  of(info: EndpointInfo, direction: Direction, mode: Mode): string {
    const cacheKey = `${info.ref}\u0000${direction}`;
    const hit = this.cache.get(cacheKey);
    if (hit !== undefined) return hit;
    const tiers = this.engine.policiesFor(info.ref)?.[direction] ?? [];
    const tierText = tiers.map((t) => `${t.tier}:${t.defaultAction}:` + t.policies
      // Staged policies are skipped when enforcing: they make no difference to the enforced signature.
      .filter((p) => mode === 'pending' || !p.staged)
      .map((p) => `${p.id.kind}|${p.id.namespace ?? ''}|${p.id.name}`).join(',')).join(';');
    const profiles = info.profiles.map((name) => {
      const profile = this.engine.profile(name);
      const content = JSON.stringify(profile.rules[direction]);
      let id = this.profileIds.get(content);
      if (id === undefined) this.profileIds.set(content, (id = this.profileIds.size));
      return id;
    });
    const sig = `${tierText}#${profiles.join(',')}`;
    this.cache.set(cacheKey, sig);
    return sig;
  }
}

/**
 * The half of a rule that looks at one side: the other side's match is emptied. `ruleMatches(rule)` equals
 * `ruleMatches(sideOnly(rule, 'src')) && ruleMatches(sideOnly(rule, 'dst'))`: the protocol, ICMP and family
 * checks are in both halves, each side's nets, sets and ports in one, and a rule dropped for the family
 * (§3.1) is dropped by the half whose nets cause it.
 */
class RuleHalves {
  private readonly keys = new WeakMap<CompiledRule, { src: string; dst: string }>();
  private readonly halves = new Map<string, CompiledRule>();

  key(rule: CompiledRule, side: 'src' | 'dst'): string {
    let k = this.keys.get(rule);
    if (!k) {
      const common = [rule.ipVersion, rule.protocol, rule.notProtocol, rule.icmp, rule.notIcmp, rule.neverMatches];
      k = { src: JSON.stringify(['src', ...common, rule.src]), dst: JSON.stringify(['dst', ...common, rule.dst]) };
      this.keys.set(rule, k);
    }
    return k[side];
  }

  half(rule: CompiledRule, side: 'src' | 'dst'): CompiledRule {
    const key = this.key(rule, side);
    let half = this.halves.get(key);
    if (!half) {
      half = side === 'src' ? { ...rule, dst: EMPTY_SIDE } : { ...rule, src: EMPTY_SIDE };
      this.halves.set(key, half);
    }
    return half;
  }
}

interface ClassTable {
  ids: Map<string, number>;
  /** A representative packet field per class. */
  reps: Array<{ address: IpAddr; port: number | undefined }>;
}

function classOf(table: ClassTable, key: string, address: IpAddr, port: number | undefined): number {
  let id = table.ids.get(key);
  if (id === undefined) {
    id = table.reps.length;
    table.ids.set(key, id);
    table.reps.push({ address, port });
  }
  return id;
}

export function evaluateFamily(input: FamilyInput): FamilyTables {
  const { engine, subjects, family, classifier, signatures, mode } = input;
  const n = subjects.length;
  const srcClassOf = new Int32Array(n).fill(-1);
  const dstClassOf = new Int32Array(n).fill(-1);
  const rowOf = new Int32Array(n).fill(-1);
  const colOf = new Int32Array(n).fill(-1);
  const src: ClassTable = { ids: new Map(), reps: [] };
  const dst: ClassTable = { ids: new Map(), reps: [] };
  const rows = new Map<string, number>();
  const cols = new Map<string, number>();
  const rowReps: Subject[] = [];
  const colReps: Subject[] = [];

  for (const s of subjects) {
    const address = s.addresses[family];
    if (!address || !input.handles(s)) continue;
    const sc = classOf(src, classifier.addressKey(address), address, undefined);
    srcClassOf[s.index] = sc;
    rowOf[s.index] = groupOf(rows, rowReps, `${signatures.of(s.info, 'egress', mode)}@${sc}`, s);
    if (!s.reachable) continue;
    const dc = classOf(dst, classifier.destinationKey(address, input.namedPortProtocol, s.port), address, s.port);
    dstClassOf[s.index] = dc;
    colOf[s.index] = groupOf(cols, colReps, `${signatures.of(s.info, 'ingress', mode)}@${dc}`, s);
  }

  const halves = new RuleHalves();
  const vectors = new Map<string, BitSet>();
  let matched = 0;
  /** The classes (of the side's table) that a rule's half for that side matches. */
  const sideVector = (rule: CompiledRule, side: 'src' | 'dst'): BitSet => {
    const key = halves.key(rule, side);
    let v = vectors.get(key);
    if (v) return v;
    const half = halves.half(rule, side);
    const table = side === 'src' ? src : dst;
    v = new BitSet(table.reps.length);
    table.reps.forEach((rep, i) => {
      const packet: Packet = { family, protocol: input.protocol };
      if (side === 'src') packet.src = rep.address;
      else {
        packet.dst = rep.address;
        if (rep.port !== undefined) packet.dstPort = rep.port;
      }
      // The half ignores the other side, so no membership of the engine's is consulted for it.
      if (ruleMatches(half, packet, engine)) v!.add(i);
    });
    matched += table.reps.length;
    vectors.set(key, v);
    return v;
  };

  const dropped = new BitSet(dst.reps.length);
  dst.reps.forEach((rep, i) => {
    if (input.dropsBeforePolicy(rep.port)) dropped.add(i);
  });

  const total = rowReps.length + colReps.length;
  const context = (size: number, matching: VectorContext['matching']): VectorContext => ({
    size, mode, matching, policy: (id) => engine.policy(id),
  });
  const egress = rowReps.map((rep, r) => {
    const own = srcClassOf[rep.index]!;
    const allowed = hookAllowed(
      { direction: 'egress', tiers: tiersOf(engine, rep.info, 'egress'), profiles: profilesOf(engine, rep.info) },
      context(dst.reps.length, (rule) => (sideVector(rule, 'src').has(own) ? sideVector(rule, 'dst') : undefined)),
    );
    allowed.andNot(dropped);
    input.progress(r + 1, total);
    return allowed;
  });
  const ingress = colReps.map((rep, c) => {
    const own = dstClassOf[rep.index]!;
    const allowed = hookAllowed(
      { direction: 'ingress', tiers: tiersOf(engine, rep.info, 'ingress'), profiles: profilesOf(engine, rep.info) },
      context(src.reps.length, (rule) => (sideVector(rule, 'dst').has(own) ? sideVector(rule, 'src') : undefined)),
    );
    input.progress(rowReps.length + c + 1, total);
    return allowed;
  });

  return {
    rowOf, colOf, srcClassOf, dstClassOf, egress, ingress,
    sourceClasses: src.reps.length, destinationClasses: dst.reps.length, ruleHalvesMatched: matched,
  };
}

function groupOf(groups: Map<string, number>, reps: Subject[], key: string, s: Subject): number {
  let g = groups.get(key);
  if (g === undefined) {
    g = reps.length;
    groups.set(key, g);
    reps.push(s);
  }
  return g;
}

function tiersOf(engine: PolicyEngine, info: EndpointInfo, direction: Direction): readonly AppliedTier[] {
  return engine.policiesFor(info.ref)?.[direction] ?? [];
}

function profilesOf(engine: PolicyEngine, info: EndpointInfo): CompiledProfile[] {
  return info.profiles.map((name) => engine.profile(name));
}
