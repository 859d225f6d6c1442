// A lint report as SARIF 2.1.0 (OASIS Static Analysis Results Interchange Format), the format code-scanning
// services read: one run, the rules that ran as tool.driver.rules (with their explanation and fix as help), one
// result per finding with its physical location, suppressed findings as results with an inSource suppression.
// test/cli/lint.test.ts validates the output against the 2.1.0 JSON schema (test/fixtures/sarif-2.1.0.schema.json).

import type { Finding, LintReport, LintRule, ResourceRef, Severity, SourceLocation } from './types.js';

export const SARIF_SCHEMA_URI = 'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { error: 'error', warning: 'warning', info: 'note' };

export interface SarifOptions {
  toolVersion: string;
  /** Turns a file name as the report gives it into a URI (relative paths stay relative to the working dir). */
  uriOf?: (file: string) => string;
}

export function toSarif(report: LintReport, options: SarifOptions): Record<string, unknown> {
  const uriOf = options.uriOf ?? fileUri;
  const index = new Map(report.rules.map(({ rule }, i) => [rule.id, i]));
  const result = (f: Finding, suppression?: { reason?: string }): Record<string, unknown> => {
    const out: Record<string, unknown> = {
      ruleId: f.rule,
      level: LEVEL[f.severity],
      message: { text: `${refText(f.resource)}: ${f.message}. Fix: ${f.fix}` },
      locations: [location(f.resource, f.location, uriOf)],
    };
    const i = index.get(f.rule);
    if (i !== undefined) out.ruleIndex = i;
    if (f.related.length > 0) {
      out.relatedLocations = f.related.map((r, id) => ({
        id,
        ...location(r.resource, r.location, uriOf),
        message: { text: `${refText(r.resource)}${r.rule ? ` ${r.rule}` : ''}${r.message ? `: ${r.message}` : ''}` },
      }));
    }
    out.properties = { resource: f.resource, fix: f.fix };
    if (suppression) {
      out.suppressions = [{ kind: 'inSource', ...(suppression.reason ? { justification: suppression.reason } : {}) }];
    }
    return out;
  };
  return {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [{
      tool: {
        driver: {
          name: 'tabby-lint',
          fullName: 'tabby lint: Calico network policy mistakes, proven with the policy engine',
          version: options.toolVersion,
          informationUri: 'https://github.com/tabby/tabby#lint',
          rules: report.rules.map(({ rule, severity }) => ruleDescriptor(rule, severity)),
        },
      },
      columnKind: 'unicodeCodePoints',
      results: [
        ...report.findings.map((f) => result(f)),
        ...report.suppressed.map((s) => result(s.finding, s.reason === undefined ? {} : { reason: s.reason })),
      ],
    }],
  };
}

function ruleDescriptor(rule: LintRule, severity: Severity): Record<string, unknown> {
  const help = `${rule.explanation}\n\nFix: ${rule.fix}\n\nBad:\n${rule.bad}\n\nGood:\n${rule.good}`;
  const markdown = `${rule.explanation}\n\n**Fix:** ${rule.fix}\n\nBad:\n\n\`\`\`yaml\n${rule.bad}\n\`\`\`\n\nGood:\n\n\`\`\`yaml\n${rule.good}\n\`\`\``;
  return {
    id: rule.id,
    name: rule.id,
    shortDescription: { text: rule.title },
    fullDescription: { text: rule.explanation },
    help: { text: help, markdown },
    defaultConfiguration: { level: LEVEL[severity] },
  };
}

function location(resource: ResourceRef, at: SourceLocation | undefined, uriOf: (f: string) => string): Record<string, unknown> {
  // Datastore objects have no file: a logical location names the resource instead.
  const logical = { logicalLocations: [{ name: resource.name, fullyQualifiedName: refText(resource), kind: 'resource' }] };
  if (!at) return logical;
  return {
    physicalLocation: { artifactLocation: { uri: uriOf(at.file) }, region: { startLine: at.line, startColumn: at.column } },
    ...logical,
  };
}

export function refText(r: ResourceRef): string {
  return `${r.kind} ${r.namespace === undefined ? r.name : `${r.namespace}/${r.name}`}`;
}

/** A path as a URI reference: absolute paths as file:// URIs, relative ones percent-encoded per segment. */
export function fileUri(file: string): string {
  const encoded = file.split('/').map((seg) => encodeURIComponent(seg)).join('/');
  return file.startsWith('/') ? `file://${encoded}` : encoded;
}
