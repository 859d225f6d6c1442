// The stable JSON of a lint report (README, "tabby lint"): what `tabby lint -o json` prints and what the server's
// /tabby/v1/lint answers, built in one place.

import type { Finding, LintReport, SourceLocation } from './types.js';

function locationJson(l: SourceLocation | undefined): { file: string | null; line: number | null; column: number | null } {
  return { file: l?.file ?? null, line: l?.line ?? null, column: l?.column ?? null };
}

function findingJson(f: Finding): Record<string, unknown> {
  return {
    rule: f.rule,
    severity: f.severity,
    message: f.message,
    fix: f.fix,
    ...locationJson(f.location),
    resource: { kind: f.resource.kind, namespace: f.resource.namespace ?? null, name: f.resource.name },
    related: f.related.map((r) => ({
      resource: { kind: r.resource.kind, namespace: r.resource.namespace ?? null, name: r.resource.name },
      rule: r.rule ?? null,
      ...locationJson(r.location),
      message: r.message ?? null,
    })),
  };
}

/** The stable JSON contract (README, "tabby lint"). */
export function lintReportJson(report: LintReport): unknown {
  return {
    findings: report.findings.map(findingJson),
    suppressed: report.suppressed.map((s) => ({ ...findingJson(s.finding), reason: s.reason ?? null })),
    counts: report.counts,
    rules: report.rules.map(({ rule, severity }) => ({ id: rule.id, severity })),
  };
}
