// Verdicts and traces as text a person can follow: per end (egress of the source, then ingress of the
// destination) every tier, policy and profile consulted, with the rule and action, then the decision; then the
// verdict and the pending verdict (staged policies enforced). Used by `tabby explain` and `tabby test`.

import { displayText } from '../../api/index.js';
import type { Decision, EndVerdict, Flow, FlowVerdict, TraceStep } from '../../engine/index.js';

export function describePeer(peer: Flow['from']): string {
  // A peer is what the user typed (a flow in a test file, an argument): quoted if it holds control characters.
  return displayText(typeof peer === 'string' ? peer : peer.ip);
}

export function describeFlow(flow: Flow): string {
  const parts = [`${describePeer(flow.from)} → ${describePeer(flow.to)}`, displayText(String(flow.protocol))];
  if (flow.port !== undefined) parts.push(`port ${flow.port}`);
  if (flow.srcPort !== undefined) parts.push(`source port ${flow.srcPort}`);
  if (flow.icmp?.type !== undefined) parts.push(`ICMP type ${flow.icmp.type}${flow.icmp.code !== undefined ? ` code ${flow.icmp.code}` : ''}`);
  if (flow.ipVersion !== undefined) parts.push(`IPv${flow.ipVersion}`);
  return parts.join(' ');
}

function where(d: { stage?: string; endpoint?: string }): string {
  const parts = [d.endpoint, d.stage && d.stage !== 'normal' ? `${d.stage} stage` : undefined].filter(Boolean);
  return parts.length > 0 ? ` [at ${parts.join(', ')}]` : '';
}

/**
 * The policy the trace considered last in `tier` before its end (the one the tier's end followed), if the trace
 * is at hand. The decision itself names the first enforced policy that did not match (the calico-eval checker's
 * convention, and the JSON contract); a person reading why a flow stopped wants the one just before the end.
 */
function lastConsidered(trace: readonly TraceStep[] | undefined, d: { tier: string; endpoint?: string; stage?: string }, endRef?: string): string | undefined {
  if (!trace) return undefined;
  const endpoint = d.endpoint ?? endRef;
  const stage = d.stage ?? 'normal';
  const steps = trace.filter((s) => s.tier === d.tier && s.policy !== undefined && s.action === 'NoMatch' &&
    (endpoint === undefined || s.endpoint === endpoint) && s.stage === stage);
  return steps[steps.length - 1]?.policy;
}

/**
 * What the end of a tier did, as it happened (issue 12 §5): `Deny: end of tier default (no policy in the tier
 * matched; last considered: allow-dns)` — not a line that reads as if the policy named had denied the flow.
 */
function endOfTier(action: string, tier: string, first: string | undefined, last: string | undefined): string {
  const names = last !== undefined
    ? `last considered: ${last}${first !== undefined && first !== last ? `, first: ${first}` : ''}`
    : first !== undefined ? `first considered: ${first}` : '';
  return `${action}: end of tier ${tier} (no policy in the tier matched${names ? `; ${names}` : ''})`;
}

/** The decision in a line; with the end's trace, an end of tier also names the policy considered last. */
export function describeDecision(d: Decision, trace?: readonly TraceStep[], endRef?: string): string {
  if ('hostRule' in d) return `${d.action}: ${d.detail}${where(d)}`;
  if ('profile' in d) {
    if (d.profile === '__PROFILE__') return `${d.action}: no policy or profile allowed it (end of profiles)${where(d)}`;
    return `${d.action} by profile ${d.profile}, rule ${d.rule}${where(d)}`;
  }
  if (d.rule === -1) return `${endOfTier(d.action, d.tier, d.policy, lastConsidered(trace, d, endRef))}${where(d)}`;
  return `${d.action} by tier ${d.tier}: ${d.kind} ${d.policy}, rule ${d.rule}${where(d)}`;
}

function stepLine(step: TraceStep, endRef: string, trace: readonly TraceStep[]): string {
  const prefix = step.endpoint !== endRef || step.stage !== 'normal' ? `[${step.endpoint}${step.stage !== 'normal' ? ` ${step.stage}` : ''}] ` : '';
  // The end of a tier is its own kind of step, not the policy the engine attributes it to.
  if (step.rule === -1 && step.tier !== undefined && step.policy !== undefined && step.action !== 'NoMatch' && step.action !== 'Skip') {
    const before = trace.slice(0, trace.indexOf(step));
    const last = lastConsidered(before, { tier: step.tier, endpoint: step.endpoint, stage: step.stage });
    return `    ${prefix}${endOfTier(step.action, step.tier, step.policy, last)}`;
  }
  let what: string;
  if (step.hostRule) what = step.hostRule;
  else if (step.profile !== undefined) what = step.profile === '__PROFILE__' ? 'end of profiles' : `profile ${step.profile}`;
  else if (step.policy !== undefined) what = `tier ${step.tier}: ${step.kind} ${step.policy}`;
  else if (step.tier !== undefined) what = `tier ${step.tier}`;
  else what = '';
  const rule = step.rule >= 0 ? `rule ${step.rule}` : step.action === 'NoMatch' ? 'no rule matched' : '';
  const action = step.action === 'NoMatch' ? '' : step.action === 'Skip' ? 'skipped' : step.action;
  const cells = [what, rule, action].filter((c) => c !== '').join('  ');
  return `    ${prefix}${cells}${step.note ? `  (${step.note})` : ''}`;
}

export function endLines(title: string, end: EndVerdict | null): string[] {
  if (!end) return [`  ${title}: not an endpoint, no policy of its own`];
  return [
    `  ${title} of ${displayText(end.endpoint)}: ${end.verdict}`,
    ...end.trace.map((s) => stepLine(s, end.endpoint, end.trace)),
    `    → ${describeDecision(end.decision, end.trace, end.endpoint)}`,
  ];
}

function sameDecision(a: EndVerdict | null, b: EndVerdict | null): boolean {
  return JSON.stringify(a?.decision) === JSON.stringify(b?.decision);
}

/** The full explanation of one flow. */
export function verdictLines(flow: Flow, verdict: FlowVerdict): string[] {
  const lines = [`Flow: ${describeFlow(flow)}`, ''];
  lines.push(...endLines('Egress', verdict.egress), '');
  lines.push(...endLines('Ingress', verdict.ingress), '');
  lines.push(`Verdict: ${verdict.verdict}`);
  const p = verdict.pending;
  const changed = !sameDecision(p.egress, verdict.egress) || !sameDecision(p.ingress, verdict.ingress);
  lines.push(`Pending (staged policies enforced): ${p.verdict}${changed ? '' : ' (same decisions)'}`);
  if (changed) {
    if (!sameDecision(p.egress, verdict.egress)) lines.push(...endLines('Pending egress', p.egress));
    if (!sameDecision(p.ingress, verdict.ingress)) lines.push(...endLines('Pending ingress', p.ingress));
  }
  return lines;
}
