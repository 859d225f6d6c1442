// Verdict: one endpoint's evaluation of one packet in one stage and direction — the per-packet algorithm of
// §3.3, normative — with a trace of every tier, policy and profile consulted.
//
//   for each tier (in order):       staged policies are skipped when enforcing (and count as enforced when
//     for each policy (in order):   computing the pending verdict, §3.6)
//       first matching rule:        Log → note it and go on; Allow / Deny → done; Pass → next tier
//     no verdict in the tier:       if ≥ 1 enforced policy applied: the tier's defaultAction (Deny = end-of-tier
//                                   drop, naming the tier's first applicable policy that did not match)
//   then (normal stage only):       profiles in order (Pass in a profile = go on to the next profile, as the
//                                   dataplane does), then drop (`__PROFILE__`, rule −1)
//
// Stages differ only at the end (§3.8): untracked and pre-DNAT chains fall through (their tiers already carry
// defaultAction Pass); a forward chain allows when no applyOnForward policy applies, and lets traffic that
// passes every tier through; only the normal chain consults profiles and drops at the end.
//
// What it does not do: it does not pick which stages and endpoints a flow crosses (host-path.ts), and it does
// not know how IP sets are filled (rule-match.ts asks the IP set index).

import { ruleMatches, type IpSetMembership, type Packet } from './rule-match.js';
import type {
  AppliedTier,
  CompiledPolicy,
  CompiledProfile,
  CompiledRule,
  Decision,
  Direction,
  PolicyId,
  Stage,
  TraceStep,
} from './types.js';

export type Mode = 'enforced' | 'pending';

export interface VerdictView extends IpSetMembership {
  policy(id: PolicyId): CompiledPolicy | undefined;
  profile(name: string): CompiledProfile;
}

export interface HookInput {
  endpoint: string;
  stage: Stage;
  direction: Direction;
  tiers: readonly AppliedTier[];
  profiles: readonly string[];
  packet: Packet;
  mode: Mode;
}

/** Allow / Deny decided the hook; Fallthrough: nothing decided and the stage lets the packet on. */
export interface HookResult {
  outcome: 'Allow' | 'Deny' | 'Fallthrough';
  decision?: Decision;
  trace: TraceStep[];
}

type RuleOutcome = { action: 'Allow' | 'Deny' | 'Pass'; rule: number } | undefined;

/** Where a trace step happened: a policy in a tier, or a profile. Built without spreads: this is the hot path. */
type Origin = { tier: string; id: PolicyId } | { profile: string };

function step(input: HookInput, origin: Origin | undefined, action: TraceStep['action'], rule: number, note?: string): TraceStep {
  const out: TraceStep = { endpoint: input.endpoint, stage: input.stage, action, rule };
  if (origin) {
    if ('profile' in origin) out.profile = origin.profile;
    else {
      out.tier = origin.tier;
      out.kind = origin.id.kind;
      out.policy = origin.id.ref;
    }
  }
  if (note !== undefined) out.note = note;
  return out;
}

/** The first matching terminal rule; Log rules are traced and skipped (§3.4). */
function firstMatch(rules: readonly CompiledRule[], input: HookInput, view: VerdictView, trace: TraceStep[], origin: Origin): RuleOutcome {
  for (const rule of rules) {
    if (!ruleMatches(rule, input.packet, view)) continue;
    if (rule.action === 'Log') {
      trace.push(step(input, origin, 'Log', rule.index));
      continue;
    }
    return { action: rule.action, rule: rule.index };
  }
  return undefined;
}

export function evaluateHook(input: HookInput, view: VerdictView): HookResult {
  const trace: TraceStep[] = [];

  for (const tier of input.tiers) {
    let firstNoMatch: PolicyId | undefined;
    let enforced = 0;
    let passed = false;
    for (const applied of tier.policies) {
      const origin = { tier: tier.tier, id: applied.id };
      if (applied.staged && input.mode === 'enforced') {
        trace.push(step(input, origin, 'Skip', -1, 'staged: not enforced'));
        continue;
      }
      enforced++;
      const policy = view.policy(applied.id);
      const outcome = policy ? firstMatch(policy.rules[input.direction], input, view, trace, origin) : undefined;
      if (!outcome) {
        firstNoMatch ??= applied.id;
        trace.push(step(input, origin, 'NoMatch', -1));
        continue;
      }
      trace.push(step(input, origin, outcome.action, outcome.rule));
      if (outcome.action === 'Pass') {
        passed = true;
        break;
      }
      return {
        outcome: outcome.action,
        decision: { action: outcome.action, tier: tier.tier, kind: applied.id.kind, policy: applied.id.ref, rule: outcome.rule },
        trace,
      };
    }
    if (passed) continue;
    if (enforced === 0) {
      // §3.3: a tier whose applicable policies are all staged has no end-of-tier drop.
      const t = step(input, undefined, 'Pass', -1, 'only staged policies: no end-of-tier action');
      t.tier = tier.tier;
      trace.push(t);
      continue;
    }
    const id = firstNoMatch!;
    trace.push(step(input, { tier: tier.tier, id }, tier.defaultAction, -1, `end of tier: defaultAction ${tier.defaultAction}`));
    if (tier.defaultAction === 'Deny') {
      return { outcome: 'Deny', decision: { action: 'Deny', tier: tier.tier, kind: id.kind, policy: id.ref, rule: -1 }, trace };
    }
  }

  switch (input.stage) {
    case 'untracked':
    case 'preDNAT':
      return { outcome: 'Fallthrough', trace };
    case 'forward': {
      const detail = input.tiers.length === 0
        ? 'no applyOnForward policy applies: forwarded traffic is allowed'
        : 'every tier passed: forwarded traffic is not dropped';
      const t = step(input, undefined, 'Allow', -1, detail);
      t.hostRule = 'forward-unpoliced';
      trace.push(t);
      return { outcome: 'Allow', decision: { action: 'Allow', hostRule: 'forward-unpoliced', rule: -1, detail }, trace };
    }
    case 'normal':
      return evaluateProfiles(input, view, trace);
  }
}

function evaluateProfiles(input: HookInput, view: VerdictView, trace: TraceStep[]): HookResult {
  for (const name of input.profiles) {
    const profile = view.profile(name);
    const origin = { profile: name };
    const outcome = firstMatch(profile.rules[input.direction], input, view, trace, origin);
    const note = profile.defined ? undefined : 'profile not defined: Felix denies everything';
    if (!outcome) {
      trace.push(step(input, origin, 'NoMatch', -1, note));
      continue;
    }
    trace.push(step(input, origin, outcome.action, outcome.rule, note));
    // Pass in a profile sets the pass mark and returns; the endpoint chain goes on to the next profile (§3.3).
    if (outcome.action === 'Pass') continue;
    return { outcome: outcome.action, decision: { action: outcome.action, profile: name, rule: outcome.rule }, trace };
  }
  const note = input.profiles.length === 0 ? 'no applicable policy decided and no profiles' : 'no profile allowed';
  trace.push(step(input, { profile: '__PROFILE__' }, 'Deny', -1, note));
  return { outcome: 'Deny', decision: { action: 'Deny', profile: '__PROFILE__', rule: -1 }, trace };
}
