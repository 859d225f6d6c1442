// `explain` through the API shows what the caller may read and no more (issue 16 §2): a decision taken, or a
// step traced, by a policy the caller may not `get` (Authorizer.canReadPolicy — the tier check for Calico
// policy, plain RBAC for Kubernetes policy) keeps its tier and what happened there, and loses the policy's kind,
// name and rule: "denied in tier security (not readable by you)". Consecutive hidden steps of one endpoint,
// stage and tier become one step (the last one's action), so the trace does not count the hidden policies either.
// Profiles and the dataplane's fixed rules are not tiered policy and stay as they are.
//
// The matrix (`tabby matrix -o json`) holds only verdict bits per endpoint pair and names no policy or rule, so it
// needs no redaction.

import { kindInfo } from '../../api/index.js';
import type { Decision, EndVerdict, FlowVerdict, PolicyDecision, PolicyKind, TraceStep, Verdict } from '../../engine/index.js';
import type { PolicyRef } from './authorizer.js';

/** A decision or step by a policy the caller cannot read: where it happened, never which policy or rule. */
export interface HiddenDecision {
  action: Verdict;
  tier: string;
  redacted: true;
  /** `denied in tier security (not readable by you)`. */
  note: string;
  stage?: PolicyDecision['stage'];
  endpoint?: PolicyDecision['endpoint'];
}

export interface HiddenStep {
  endpoint: TraceStep['endpoint'];
  stage: TraceStep['stage'];
  action: TraceStep['action'];
  tier: string;
  redacted: true;
  note: string;
}

export interface VisibleEndVerdict {
  endpoint: EndVerdict['endpoint'];
  verdict: Verdict;
  decision: Decision | HiddenDecision;
  trace: Array<TraceStep | HiddenStep>;
}

export interface VisibleFlowVerdict {
  verdict: Verdict;
  egress: VisibleEndVerdict | null;
  ingress: VisibleEndVerdict | null;
  pending: { verdict: Verdict; egress: VisibleEndVerdict | null; ingress: VisibleEndVerdict | null };
}

const DONE: Record<TraceStep['action'], string> = {
  Allow: 'allowed', Deny: 'denied', Pass: 'passed', Log: 'logged', NoMatch: 'not matched', Skip: 'skipped',
};

/** The words of a hidden decision or step. */
export function hiddenNote(action: TraceStep['action'], tier: string): string {
  return `${DONE[action]} in tier ${tier} (not readable by you)`;
}

/** A trace's `ns/name` or `name` back into a reference, by the kind's scope. */
export function policyRefOf(kind: PolicyKind, tier: string, ref: string): PolicyRef {
  const slash = ref.indexOf('/');
  return kindInfo(kind).namespaced && slash > 0
    ? { kind, tier, namespace: ref.slice(0, slash), name: ref.slice(slash + 1) }
    : { kind, tier, name: ref };
}

/**
 * The verdict with every decision and step of an unreadable policy hidden. `canRead` is asked once per policy
 * (Authorizer.canReadPolicy bound to the caller).
 */
export function redactFlowVerdict(verdict: FlowVerdict, canRead: (policy: PolicyRef) => boolean): VisibleFlowVerdict {
  const memo = new Map<string, boolean>();
  const readable = (kind: PolicyKind, tier: string, ref: string): boolean => {
    const key = `${kind}\0${tier}\0${ref}`;
    let ok = memo.get(key);
    if (ok === undefined) {
      ok = canRead(policyRefOf(kind, tier, ref));
      memo.set(key, ok);
    }
    return ok;
  };
  const end = (e: EndVerdict | null): VisibleEndVerdict | null => (e === null ? null : redactEnd(e, readable));
  return {
    verdict: verdict.verdict,
    egress: end(verdict.egress),
    ingress: end(verdict.ingress),
    pending: { verdict: verdict.pending.verdict, egress: end(verdict.pending.egress), ingress: end(verdict.pending.ingress) },
  };
}

type Readable = (kind: PolicyKind, tier: string, ref: string) => boolean;

function redactEnd(e: EndVerdict, readable: Readable): VisibleEndVerdict {
  return { endpoint: e.endpoint, verdict: e.verdict, decision: redactDecision(e.decision, readable), trace: redactTrace(e.trace, readable) };
}

function redactDecision(d: Decision, readable: Readable): Decision | HiddenDecision {
  if (!('tier' in d) || readable(d.kind, d.tier, d.policy)) return d;
  const hidden: HiddenDecision = { action: d.action, tier: d.tier, redacted: true, note: hiddenNote(d.action, d.tier) };
  if (d.stage !== undefined) hidden.stage = d.stage;
  if (d.endpoint !== undefined) hidden.endpoint = d.endpoint;
  return hidden;
}

function redactTrace(trace: readonly TraceStep[], readable: Readable): Array<TraceStep | HiddenStep> {
  const out: Array<TraceStep | HiddenStep> = [];
  for (const s of trace) {
    if (s.tier === undefined || s.kind === undefined || s.policy === undefined || readable(s.kind, s.tier, s.policy)) {
      out.push(s);
      continue;
    }
    const last = out.at(-1);
    const hidden: HiddenStep = { endpoint: s.endpoint, stage: s.stage, action: s.action, tier: s.tier, redacted: true, note: hiddenNote(s.action, s.tier) };
    if (last && 'redacted' in last && last.endpoint === s.endpoint && last.stage === s.stage && last.tier === s.tier) out[out.length - 1] = hidden;
    else out.push(hidden);
  }
  return out;
}
