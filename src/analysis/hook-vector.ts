// One endpoint's evaluation of one direction for every peer class at once: the per-packet algorithm of §3.3
// run over sets of peers instead of one packet. Keep in sync with evaluateHook in src/engine/verdict.ts (the
// normal stage): test/analysis/matrix.property.test.ts checks the two agree on generated clusters.
//
//   open      = peers still in play in the current tier (or profile)
//   undecided = peers no Allow or Deny has reached yet
//
//   for each tier:       a rule's Allow / Deny decides the open peers it matches; Pass sends them on to the
//                        next tier; Log changes nothing. At the end of the tier, the open peers get the tier's
//                        defaultAction if ≥ 1 enforced policy applied (Deny = end-of-tier drop).
//   then each profile:   the same, except that Pass moves on to the next profile (§3.3 note).
//   then:                whatever is still undecided is dropped.
//
// What it does not do: it does not match rules (the caller passes each rule's matching peers) and it knows
// nothing of host endpoints' other stages, which the matrix leaves to the engine.

import type { AppliedTier, CompiledPolicy, CompiledProfile, CompiledRule, Direction, PolicyId } from '../engine/index.js';
import { BitSet } from './bitset.js';

export type Mode = 'enforced' | 'pending';

export interface VectorHook {
  direction: Direction;
  tiers: readonly AppliedTier[];
  profiles: readonly CompiledProfile[];
}

export interface VectorContext {
  size: number;
  mode: Mode;
  policy(id: PolicyId): CompiledPolicy | undefined;
  /** The peers a rule matches (for this hook's own endpoint); undefined = none. */
  matching(rule: CompiledRule): BitSet | undefined;
}

/** Decides the open peers that a rule list reaches; returns without Pass handling for the caller. */
function applyRules(
  rules: readonly CompiledRule[],
  ctx: VectorContext,
  open: BitSet,
  undecided: BitSet,
  allowed: BitSet,
): void {
  for (const rule of rules) {
    if (open.isEmpty()) return;
    // Log is not terminal: the packet goes on to the next rule (§3.4).
    if (rule.action === 'Log') continue;
    const m = ctx.matching(rule);
    if (!m) continue;
    const hit = m.intersection(open);
    if (hit.isEmpty()) continue;
    open.andNot(hit);
    if (rule.action === 'Pass') continue;
    undecided.andNot(hit);
    if (rule.action === 'Allow') allowed.or(hit);
  }
}

/** The peers the hook allows. */
export function hookAllowed(hook: VectorHook, ctx: VectorContext): BitSet {
  const undecided = BitSet.full(ctx.size);
  const allowed = new BitSet(ctx.size);
  for (const tier of hook.tiers) {
    if (undecided.isEmpty()) return allowed;
    const open = undecided.copy();
    let enforced = 0;
    for (const applied of tier.policies) {
      // §3.6: staged policies are skipped when enforcing and count as enforced for the pending verdict.
      if (applied.staged && ctx.mode === 'enforced') continue;
      enforced++;
      const policy = ctx.policy(applied.id);
      if (policy) applyRules(policy.rules[hook.direction], ctx, open, undecided, allowed);
    }
    // §3.3: end-of-tier action only when the tier had an enforced applicable policy; Pass lets them go on.
    if (enforced > 0 && tier.defaultAction === 'Deny') undecided.andNot(open);
  }
  for (const profile of hook.profiles) {
    if (undecided.isEmpty()) return allowed;
    // Pass in a profile goes on to the next profile (§3.3): a fresh open set per profile.
    applyRules(profile.rules[hook.direction], ctx, undecided.copy(), undecided, allowed);
  }
  return allowed;
}
