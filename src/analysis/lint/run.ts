// Running the rules: which rules run (enable / disable, with severity overrides), each check over the context,
// drafts made findings (rule ID, severity, position), suppression by annotation applied and counted, and one
// stable order. Lint reads the engine and the resources and changes nothing.

import { nearest } from './nearest.js';
import { RULES } from './registry.js';
import { suppressionOf } from './suppress.js';
import {
  severityRank,
  type Finding,
  type FindingDraft,
  type LintContext,
  type LintCounts,
  type LintReport,
  type LintRule,
  type Severity,
  type SuppressedFinding,
} from './types.js';

export interface RuleSelection {
  /** Only these rules run. Exclusive with `disable`. */
  enable?: readonly string[];
  /** Every rule but these runs. */
  disable?: readonly string[];
  /** A rule's severity instead of its default. */
  severity?: Readonly<Record<string, Severity>>;
}

export interface SelectedRule {
  rule: LintRule;
  severity: Severity;
}

/** The rules a selection runs, in registry order; a message naming the unknown ID (and the nearest one) if any. */
export function selectRules(
  selection: RuleSelection,
  rules: readonly LintRule[] = RULES,
): { ok: true; rules: SelectedRule[] } | { ok: false; message: string } {
  const known = new Set(rules.map((r) => r.id));
  const unknown = (ids: readonly string[] | undefined, what: string): string | undefined => {
    for (const id of ids ?? []) {
      if (known.has(id)) continue;
      const near = nearest(id, known);
      return `${what}: unknown rule '${id}'${near ? ` (did you mean '${near}'?)` : ''}; tabby lint --list-rules lists the rules`;
    }
    return undefined;
  };
  if (selection.enable && selection.disable) return { ok: false, message: 'give either enable or disable, not both' };
  const bad = unknown(selection.enable, 'enable') ?? unknown(selection.disable, 'disable') ??
    unknown(Object.keys(selection.severity ?? {}), 'severity');
  if (bad) return { ok: false, message: bad };
  const enabled = selection.enable ? new Set(selection.enable) : undefined;
  const disabled = new Set(selection.disable ?? []);
  const chosen = rules.filter((r) => (enabled ? enabled.has(r.id) : !disabled.has(r.id)));
  return { ok: true, rules: chosen.map((rule) => ({ rule, severity: selection.severity?.[rule.id] ?? rule.severity })) };
}

export interface RunOptions {
  /** Called before each rule runs: for progress on long runs. */
  onRule?: (index: number, total: number, rule: LintRule) => void;
}

export function runLint(context: LintContext, rules: readonly SelectedRule[], options: RunOptions = {}): LintReport {
  const order = new Map(context.resources.map((r, i) => [r, i]));
  const drafted: Array<{ finding: Finding; draft: FindingDraft }> = [];
  rules.forEach(({ rule, severity }, i) => {
    options.onRule?.(i, rules.length, rule);
    for (const draft of rule.check(context)) drafted.push({ finding: findingOf(context, rule, severity, draft), draft });
  });
  const findings: Finding[] = [];
  const suppressed: SuppressedFinding[] = [];
  const sorted = drafted.sort((a, b) => compareFindings(a.finding, b.finding, order.get(a.draft.at) ?? 0, order.get(b.draft.at) ?? 0));
  for (const { finding, draft } of sorted) {
    const s = suppressionOf(draft.at);
    // The annotation-checking rule is never suppressed by the annotation it checks.
    if (s && s.ids.includes(finding.rule) && finding.rule !== 'lint-ignore-unknown-rule') {
      suppressed.push(s.reason === undefined ? { finding } : { finding, reason: s.reason });
    } else {
      findings.push(finding);
    }
  }
  const counts: LintCounts = { error: 0, warning: 0, info: 0, suppressed: suppressed.length, total: findings.length };
  for (const f of findings) counts[f.severity]++;
  return { findings, suppressed, counts, rules: rules.map((r) => ({ ...r })) };
}

/** Whether a report fails a run with `--fail-on threshold`. */
export function failsOn(report: LintReport, threshold: Severity): boolean {
  return report.findings.some((f) => severityRank(f.severity) >= severityRank(threshold));
}

function findingOf(context: LintContext, rule: LintRule, severity: Severity, draft: FindingDraft): Finding {
  const finding: Finding = {
    rule: rule.id,
    severity,
    message: draft.message,
    fix: draft.fix ?? rule.fix,
    resource: { ...draft.at.ref },
    related: (draft.related ?? []).map((r) => {
      const item: Finding['related'][number] = { resource: { ...r.at.ref } };
      if (r.rule !== undefined) item.rule = r.rule;
      const location = context.locate(r.at, r.path);
      if (location) item.location = location;
      if (r.message !== undefined) item.message = r.message;
      return item;
    }),
  };
  const location = context.locate(draft.at, draft.path);
  if (location) finding.location = location;
  return finding;
}

function compareFindings(a: Finding, b: Finding, ia: number, ib: number): number {
  const la = a.location;
  const lb = b.location;
  if (la && lb && la.file === lb.file) {
    return la.line - lb.line || la.column - lb.column || cmp(a.rule, b.rule) || cmp(a.message, b.message);
  }
  return ia - ib || cmp(a.rule, b.rule) || cmp(a.message, b.message);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
