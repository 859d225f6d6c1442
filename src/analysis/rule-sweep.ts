// The rule sweep: one end's hook (§3.3) decided for every peer at once. The matrix groups ends that see the same
// thing of their own address (end-features.ts); what is left to tell the peers apart is which of the end's
// peer features each peer has. Asking the engine once per (end group, peer) costs rules × peers per group — 25 s
// for 100 pods under 40 policies of 1,500 rules, hours for 2,000 — so instead every rule is asked once for all
// peers: the peers fall into the few cells of the rule's own features (most peers have none of them), the
// engine's own rule matcher (rule-match.ts) decides one representative per cell, and the answer is a bit set
// over the peers. The tier walk then runs once with bit sets, exactly as verdict.ts runs it for one packet:
//
//   per tier:     the first matching rule of the tier's enforced policies (in order) decides a peer:
//                 Allow → allowed; Deny → dropped; Pass → on to the next tier; Log → nothing
//                 no rule matched: the tier's defaultAction when ≥ 1 enforced policy applied, else next tier
//   profiles:     the first matching rule of each profile: Allow, Deny, or Pass (= the next profile)
//   then:         drop
//
// Only the endpoint's own hook is swept; the matrix uses it where the path is that hook alone (matrix.ts says
// when) and asks the engine for every other combination. The property test compares every cell with the
// engine's evaluate().

import type { IpAddr } from '../api/index.js';
import {
  ruleMatches,
  type AppliedPolicy,
  type AppliedTier,
  type CompiledRule,
  type Direction,
  type Packet,
  type PolicyEngine,
} from '../engine/index.js';
import type { AddressClass, FeatureIndex } from './address-classes.js';
import { BitSet } from './bitset.js';
import type { Mode } from './end-features.js';

export interface SweptEnd {
  direction: Direction;
  tiers: readonly AppliedTier[];
  profiles: readonly string[];
  /** The end's own address (none for a host endpoint without expectedIPs), and (ingress) the port it is reached on. */
  address: IpAddr | undefined;
  port: number | undefined;
  /** The features the end's rules read of the peer's address (EndModel.peer). */
  peerFeatures: readonly number[];
}

/**
 * The peers (one representative class per peer id) in `eligible` that the end's hook allows. `protocol` is the
 * matrix's; a peer's port is its class's (the destination's, for an egress end).
 */
export function sweepHook(
  engine: PolicyEngine,
  index: FeatureIndex,
  end: SweptEnd,
  peers: readonly AddressClass[],
  eligible: BitSet,
  protocol: number,
  mode: Mode,
): BitSet {
  const match = new RuleMatcher(engine, index, end, peers, { protocol });
  const { allowed, undecided } = walkTiers(engine, end.tiers, end.direction, mode, eligible, (rule) => match.bits(rule));

  // One rule over the peers still undecided in this profile: the ones it matches.
  const apply = (rule: CompiledRule, open: BitSet): BitSet | undefined => {
    if (rule.action === 'Log' || open.isEmpty()) return undefined;
    const hit = match.bits(rule);
    hit.and(open);
    return hit;
  };
  for (const name of end.profiles) {
    const open = undecided.copy();
    for (const rule of engine.profile(name).rules[end.direction]) {
      const hit = apply(rule, open);
      if (!hit) continue;
      open.andNot(hit);
      // Pass in a profile: on to the next profile (§3.3); Allow and Deny decide.
      if (rule.action === 'Pass') continue;
      undecided.andNot(hit);
      if (rule.action === 'Allow') allowed.or(hit);
    }
  }
  return allowed;
}

/** Where a rule sits in the walk: its tier and policy. */
export interface WalkStep {
  tier: AppliedTier;
  policy: AppliedPolicy;
  rule: CompiledRule;
}

/**
 * Watches the tier walk (the shadow analysis, shadow.ts): what every terminal rule of an enforced policy matched
 * and what it took, and what each tier's end took. With an observer every rule is asked, even once nothing is
 * left open, since "matches flows that earlier rules took" is what it wants to know.
 */
export interface WalkObserver {
  /** `matched`: every flow of the universe the rule matches; `hit`: those of them it decides (or passes). */
  rule(step: WalkStep, matched: BitSet, hit: BitSet): void;
  /** The flows no rule of the tier decided, taken by its defaultAction (called only for a tier that applied). */
  endOfTier(tier: AppliedTier, open: BitSet): void;
}

/**
 * The tier walk of §3.3 on bit sets over a universe of flows (peers for the matrix, peers × services for the
 * shadow analysis): `bitsOf` says which flows a rule matches. Returns the flows allowed and those left for the
 * profiles (no tier decided them, or they passed every tier).
 */
export function walkTiers(
  engine: PolicyEngine,
  tiers: readonly AppliedTier[],
  direction: Direction,
  mode: Mode,
  eligible: BitSet,
  bitsOf: (rule: CompiledRule) => BitSet,
  observer?: WalkObserver,
): { allowed: BitSet; undecided: BitSet } {
  const allowed = new BitSet(eligible.size);
  let undecided = eligible.copy();
  for (const tier of tiers) {
    const open = undecided.copy();
    const passed = new BitSet(eligible.size);
    let enforced = 0;
    for (const applied of tier.policies) {
      if (applied.staged && mode === 'enforced') continue;
      enforced++;
      const policy = engine.policy(applied.id);
      for (const rule of policy?.rules[direction] ?? []) {
        // Log never decides (§3.4).
        if (rule.action === 'Log' || (!observer && open.isEmpty())) continue;
        const matched = bitsOf(rule);
        let hit: BitSet;
        if (observer) {
          hit = matched.intersection(open);
          observer.rule({ tier, policy: applied, rule }, matched, hit);
        } else {
          hit = matched;
          hit.and(open);
        }
        open.andNot(hit);
        if (rule.action === 'Allow') allowed.or(hit);
        else if (rule.action === 'Pass') passed.or(hit);
      }
    }
    // §3.3: no end-of-tier action for a tier whose applicable policies are all staged.
    if (enforced === 0) continue;
    observer?.endOfTier(tier, open);
    if (tier.defaultAction === 'Pass') passed.or(open);
    undecided = passed;
  }
  return { allowed, undecided };
}

/** What the matcher's packets carry besides the two addresses: the destination port comes from the class. */
export interface ProbeService {
  protocol: number;
  srcPort?: number;
  /** The destination port when neither the end (ingress) nor the peer class (egress) has one. */
  dstPort?: number;
  icmpType?: number;
  icmpCode?: number;
}

/** Which peers a rule matches, asking the engine's matcher once per cell of the rule's peer features. */
export class RuleMatcher {
  /** Per peer feature of the end: the peers that have it. */
  private readonly withFeature = new Map<number, number[]>();
  /** Per meta (family, kind, port): its peers and their bit set. */
  private readonly byMeta = new Map<number, { peers: number[]; bits: BitSet }>();
  private readonly stamp: Int32Array;
  private readonly cell: Int32Array;
  private round = 0;

  constructor(
    private readonly engine: PolicyEngine,
    private readonly index: FeatureIndex,
    private readonly end: SweptEnd,
    private readonly peers: readonly AddressClass[],
    private readonly service: ProbeService,
  ) {
    const wanted = new Set(end.peerFeatures);
    peers.forEach((c, q) => {
      for (const f of c.features) {
        if (!wanted.has(f)) continue;
        const list = this.withFeature.get(f);
        if (list) list.push(q);
        else this.withFeature.set(f, [q]);
      }
      let meta = this.byMeta.get(c.meta);
      if (!meta) this.byMeta.set(c.meta, (meta = { peers: [], bits: new BitSet(peers.length) }));
      meta.peers.push(q);
      meta.bits.add(q);
    });
    this.stamp = new Int32Array(peers.length);
    this.cell = new Int32Array(peers.length);
  }

  /** The peers the rule matches for `service` (by default the constructor's). */
  bits(rule: CompiledRule, service: ProbeService = this.service): BitSet {
    const out = new BitSet(this.peers.length);
    const features: number[] = [];
    this.index.entityFeatures(this.end.direction === 'egress' ? rule.dst : rule.src, features);
    const round = ++this.round;
    // The peers having any of the rule's features, and which of them (a cell number; exact up to 30 features).
    const hits: number[] = [];
    features.forEach((f, k) => {
      for (const q of this.withFeature.get(f) ?? []) {
        if (this.stamp[q] !== round) {
          this.stamp[q] = round;
          this.cell[q] = 0;
          hits.push(q);
        }
        if (k < 30) this.cell[q]! |= 1 << k;
      }
    });
    const exact = features.length <= 30;
    // Peers with none of them: one representative per meta decides all of its peers.
    for (const meta of this.byMeta.values()) {
      const q = meta.peers.find((p) => this.stamp[p] !== round);
      if (q !== undefined && this.matches(rule, q, service)) out.or(meta.bits);
    }
    const cells = new Map<number, boolean>();
    for (const q of hits) {
      let yes: boolean;
      if (exact) {
        const key = this.peers[q]!.meta * 2 ** 30 + this.cell[q]!;
        let known = cells.get(key);
        if (known === undefined) cells.set(key, (known = this.matches(rule, q, service)));
        yes = known;
      } else {
        yes = this.matches(rule, q, service);
      }
      if (yes) out.add(q);
      else out.delete(q);
    }
    return out;
  }

  private matches(rule: CompiledRule, q: number, service: ProbeService): boolean {
    const peer = this.peers[q]!;
    const own = this.end;
    const packet: Packet = { family: peer.family, protocol: service.protocol };
    const [src, dst] = own.direction === 'egress' ? [own.address, peer.address] : [peer.address, own.address];
    if (src) packet.src = src;
    if (dst) packet.dst = dst;
    const dstPort = (own.direction === 'egress' ? peer.port : own.port) ?? service.dstPort;
    if (dstPort !== undefined) packet.dstPort = dstPort;
    if (service.srcPort !== undefined) packet.srcPort = service.srcPort;
    if (service.icmpType !== undefined) packet.icmpType = service.icmpType;
    if (service.icmpCode !== undefined) packet.icmpCode = service.icmpCode;
    return ruleMatches(rule, packet, this.engine);
  }
}
