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
import { ruleMatches, type AppliedTier, type CompiledRule, type Direction, type Packet, type PolicyEngine } from '../engine/index.js';
import type { AddressClass, FeatureIndex } from './address-classes.js';
import { BitSet } from './bitset.js';
import type { Mode } from './end-features.js';

export interface SweptEnd {
  direction: Direction;
  tiers: readonly AppliedTier[];
  profiles: readonly string[];
  /** The end's own address, and (ingress) the port it is reached on. */
  address: IpAddr;
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
  const match = new RuleMatcher(engine, index, end, peers, protocol);
  const allowed = new BitSet(peers.length);
  let undecided = eligible.copy();

  // One rule over the peers still undecided in this tier (or profile): returns the ones it matches.
  const apply = (rule: CompiledRule, open: BitSet): BitSet | undefined => {
    if (rule.action === 'Log' || open.isEmpty()) return undefined;
    const hit = match.bits(rule);
    hit.and(open);
    return hit;
  };

  for (const tier of end.tiers) {
    const open = undecided.copy();
    const passed = new BitSet(peers.length);
    let enforced = 0;
    for (const applied of tier.policies) {
      if (applied.staged && mode === 'enforced') continue;
      enforced++;
      const policy = engine.policy(applied.id);
      for (const rule of policy?.rules[end.direction] ?? []) {
        const hit = apply(rule, open);
        if (!hit) continue;
        open.andNot(hit);
        if (rule.action === 'Allow') allowed.or(hit);
        else if (rule.action === 'Pass') passed.or(hit);
      }
    }
    // §3.3: no end-of-tier action for a tier whose applicable policies are all staged.
    if (enforced === 0) continue;
    if (tier.defaultAction === 'Pass') passed.or(open);
    undecided = passed;
  }

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

/** Which peers a rule matches, asking the engine's matcher once per cell of the rule's peer features. */
class RuleMatcher {
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
    private readonly protocol: number,
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

  bits(rule: CompiledRule): BitSet {
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
      if (q !== undefined && this.matches(rule, q)) out.or(meta.bits);
    }
    const cells = new Map<number, boolean>();
    for (const q of hits) {
      let yes: boolean;
      if (exact) {
        const key = this.peers[q]!.meta * 2 ** 30 + this.cell[q]!;
        let known = cells.get(key);
        if (known === undefined) cells.set(key, (known = this.matches(rule, q)));
        yes = known;
      } else {
        yes = this.matches(rule, q);
      }
      if (yes) out.add(q);
      else out.delete(q);
    }
    return out;
  }

  private matches(rule: CompiledRule, q: number): boolean {
    const peer = this.peers[q]!;
    const own = this.end;
    const packet: Packet = own.direction === 'egress'
      ? { family: own.address.family, src: own.address, dst: peer.address, protocol: this.protocol, ...(peer.port !== undefined && { dstPort: peer.port }) }
      : { family: own.address.family, src: peer.address, dst: own.address, protocol: this.protocol, ...(own.port !== undefined && { dstPort: own.port }) };
    return ruleMatches(rule, packet, this.engine);
  }
}
