// Policy tests: a set of flows with the verdicts (and optionally the deciding rule, the pending verdict with
// staged policies, and per-endpoint policy orderings) they must get — the calico-eval format
// (conformance/calico-eval/README.md). This module checks a test document's flows and orderings against
// an engine that already holds the document's resources; reading files and validating the resources is the
// caller's job.

import { displayText, type Issue } from '../api/index.js';
import type { PolicyEngine } from './index.js';
import { STAGES, type AppliedTier, type Decision, type EndVerdict, type Flow, type FlowVerdict, type Stage } from './types.js';

export interface ExpectedDecision {
  action: string;
  rule?: number;
  tier?: string;
  kind?: string;
  policy?: string;
  profile?: string;
}

export interface FlowExpectation extends Flow {
  expect: 'Allow' | 'Deny';
  egress?: ExpectedDecision;
  ingress?: ExpectedDecision;
  staged?: { action: 'Allow' | 'Deny'; policy?: string; egress?: ExpectedDecision; ingress?: ExpectedDecision };
  note?: string;
}

export interface AppliedExpectation {
  endpoint: string;
  stage?: Stage;
  ingress?: Array<{ tier: string; policies: string[] }>;
  egress?: Array<{ tier: string; policies: string[] }>;
}

export interface PolicyTestDocument {
  name?: string;
  flows: FlowExpectation[];
  applied: AppliedExpectation[];
}

export interface FlowResult {
  flow: FlowExpectation;
  pass: boolean;
  /** What did not match, one line each; empty when the flow passed. */
  failures: string[];
  verdict: FlowVerdict['verdict'] | null;
  egress: EndVerdict | null;
  ingress: EndVerdict | null;
  pending: FlowVerdict['pending'] | null;
}

export interface AppliedResult {
  endpoint: string;
  stage: Stage;
  ingress: Array<{ tier: string; policies: string[] }>;
  egress: Array<{ tier: string; policies: string[] }>;
  pass: boolean;
  failures: string[];
}

export interface PolicyTestReport {
  flows: FlowResult[];
  applied: AppliedResult[];
  passed: number;
  failed: number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const FLOW_KEYS = new Set(['from', 'to', 'protocol', 'port', 'srcPort', 'icmp', 'ipVersion', 'expect', 'egress', 'ingress', 'staged', 'note']);
const APPLIED_KEYS = new Set(['endpoint', 'stage', 'ingress', 'egress']);

/** Checks the shape of `flows` and `applied` (not the resources). */
export function parsePolicyTestDocument(value: Record<string, unknown>): { ok: true; value: PolicyTestDocument } | { ok: false; issues: Issue[] } {
  const issues: Issue[] = [];
  const flows: FlowExpectation[] = [];
  const applied: AppliedExpectation[] = [];
  const rawFlows = value.flows ?? [];
  if (!Array.isArray(rawFlows)) issues.push({ code: 'test.flows', path: ['flows'], message: 'flows must be a list' });
  else {
    rawFlows.forEach((f: unknown, i) => {
      if (!isRecord(f)) {
        issues.push({ code: 'test.flow', path: ['flows', i], message: 'a flow is a mapping with from, to and expect (and protocol, TCP unless given)' });
        return;
      }
      for (const k of Object.keys(f)) {
        if (!FLOW_KEYS.has(k)) issues.push({ code: 'test.flow-field', path: ['flows', i, k], message: `unknown flow field "${k}"` });
      }
      // protocol defaults to TCP, as `tabby explain --protocol` does (issue 12 §5).
      for (const k of ['from', 'to', 'expect']) {
        if (f[k] === undefined) issues.push({ code: 'test.flow-field', path: ['flows', i, k], message: `a flow needs "${k}"` });
      }
      if (f.expect !== undefined && f.expect !== 'Allow' && f.expect !== 'Deny') {
        issues.push({ code: 'test.expect', path: ['flows', i, 'expect'], message: 'expect is Allow or Deny', value: f.expect });
      }
      flows.push({ ...f, protocol: f.protocol ?? 'TCP' } as unknown as FlowExpectation);
    });
  }
  const rawApplied = value.applied ?? [];
  if (!Array.isArray(rawApplied)) issues.push({ code: 'test.applied', path: ['applied'], message: 'applied must be a list' });
  else {
    rawApplied.forEach((a: unknown, i) => {
      if (!isRecord(a) || typeof a.endpoint !== 'string') {
        issues.push({ code: 'test.applied', path: ['applied', i], message: 'an applied entry needs endpoint' });
        return;
      }
      for (const k of Object.keys(a)) {
        if (!APPLIED_KEYS.has(k)) issues.push({ code: 'test.applied-field', path: ['applied', i, k], message: `unknown field "${k}"` });
      }
      if (a.stage !== undefined && !STAGES.includes(a.stage as Stage)) {
        issues.push({ code: 'test.stage', path: ['applied', i, 'stage'], message: `stage is one of ${STAGES.join(', ')}`, value: a.stage });
      }
      applied.push(a as unknown as AppliedExpectation);
    });
  }
  if (issues.length > 0) return { ok: false, issues };
  const doc: PolicyTestDocument = { flows, applied };
  if (typeof value.name === 'string') doc.name = value.name;
  return { ok: true, value: doc };
}

function describeDecision(decision: Decision | ExpectedDecision | undefined): string {
  if (!decision) return 'nothing';
  const d = decision as unknown as Partial<Record<string, string | number>>;
  if (d.hostRule !== undefined) return `${d.action} by ${d.hostRule} (${d.detail})`;
  if (d.profile !== undefined) return `${d.action} by profile ${d.profile} rule ${d.rule ?? '?'}`;
  return `${d.action} by ${d.kind ?? '?'} ${d.policy ?? '?'} (tier ${d.tier ?? '?'}) rule ${d.rule ?? '?'}`;
}

/** Every field the expectation names must be equal in the actual decision. */
function decisionMatches(actual: Decision | undefined, expected: ExpectedDecision): boolean {
  if (!actual) return false;
  const a = actual as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(expected)) if (a[k] !== v) return false;
  return true;
}

function checkEnd(label: string, end: EndVerdict | null, expected: ExpectedDecision | undefined, failures: string[]): void {
  if (!expected) return;
  if (!decisionMatches(end?.decision, expected)) {
    failures.push(`${label}: expected ${describeDecision(expected)}, got ${describeDecision(end?.decision)}`);
  }
}

function runFlow(engine: PolicyEngine, flow: FlowExpectation): FlowResult {
  const { expect: _e, egress: _eg, ingress: _in, staged: _s, note: _n, ...spec } = flow;
  const result = engine.evaluate(spec);
  if (!result.ok) {
    return {
      flow, pass: false, failures: result.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
      verdict: null, egress: null, ingress: null, pending: null,
    };
  }
  const v = result.value;
  const failures: string[] = [];
  if (v.verdict !== flow.expect) failures.push(`expected ${flow.expect}, got ${v.verdict}`);
  checkEnd('egress', v.egress, flow.egress, failures);
  checkEnd('ingress', v.ingress, flow.ingress, failures);
  if (flow.staged) {
    if (v.pending.verdict !== flow.staged.action) failures.push(`pending: expected ${flow.staged.action}, got ${v.pending.verdict}`);
    checkEnd('pending egress', v.pending.egress, flow.staged.egress, failures);
    checkEnd('pending ingress', v.pending.ingress, flow.staged.ingress, failures);
    if (flow.staged.policy !== undefined) {
      const deciders = [v.pending.egress?.decision, v.pending.ingress?.decision]
        .filter((d): d is Decision => d !== undefined && 'policy' in d)
        .map((d) => ('policy' in d ? d.policy : ''));
      if (!deciders.includes(flow.staged.policy)) {
        failures.push(`pending: expected ${flow.staged.policy} to decide, got ${deciders.join(', ') || 'no policy'}`);
      }
    }
  }
  return { flow, pass: failures.length === 0, failures, verdict: v.verdict, egress: v.egress, ingress: v.ingress, pending: v.pending };
}

function summarise(tiers: readonly AppliedTier[]): Array<{ tier: string; policies: string[] }> {
  return tiers.map((t) => ({ tier: t.tier, policies: t.policies.map((p) => p.id.ref) }));
}

function runApplied(engine: PolicyEngine, a: AppliedExpectation): AppliedResult {
  const stage = a.stage ?? 'normal';
  const lists = engine.policiesFor(a.endpoint, { stage });
  const failures: string[] = [];
  if (!lists) failures.push(`unknown endpoint ${displayText(a.endpoint)}`);
  const ingress = summarise(lists?.ingress ?? []);
  const egress = summarise(lists?.egress ?? []);
  for (const [dir, actual, expected] of [['ingress', ingress, a.ingress], ['egress', egress, a.egress]] as const) {
    if (expected === undefined) continue;
    if (JSON.stringify(actual) !== JSON.stringify(expected.map((t) => ({ tier: t.tier, policies: t.policies })))) {
      failures.push(`${dir} (${stage}): expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
    }
  }
  return { endpoint: a.endpoint, stage, ingress, egress, pass: failures.length === 0, failures };
}

/** Runs every flow and ordering expectation of a document against `engine`. */
export function runPolicyTest(engine: PolicyEngine, doc: PolicyTestDocument): PolicyTestReport {
  const flows = doc.flows.map((f) => runFlow(engine, f));
  const applied = doc.applied.map((a) => runApplied(engine, a));
  const all = [...flows, ...applied];
  const passed = all.filter((r) => r.pass).length;
  return { flows, applied, passed, failed: all.length - passed };
}
