// `tabby test`: policy tests. A test file holds the resources in force (`resources:`, and/or `include:` paths
// of manifests relative to the file) and the flows with the verdicts they must get (`flows:` with `expect`, and
// optionally the deciding `egress` / `ingress` rule, `staged` pending verdicts) and per-endpoint orderings
// (`applied:`): the calico-eval format (shared/conformance/calico-eval/README.md). Prints pass/fail per flow with
// the trace of each failure; exit 1 when anything fails or a file cannot be used.

import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

import { parse as parseYaml } from 'yaml';

import { formatIssue, loadResources, validateResource, type Issue, type Resource } from '../../api/index.js';
import {
  parsePolicyTestDocument,
  PolicyEngine,
  runPolicyTest,
  type AppliedResult,
  type FlowResult,
} from '../../engine/index.js';
import { UsageError, type CommandSpec } from '../command.js';
import { chooseFormat, jsonPrinter, linesPrinter, outputOption, print, printerSet } from '../output/printers.js';
import { describeFlow, endLines } from '../output/trace.js';

export interface TestFileReport {
  file: string;
  /** Why the file could not be run (unreadable, not YAML, invalid resources); null when it ran. */
  error: string | null;
  flows: FlowResult[];
  applied: AppliedResult[];
}

export interface TestRunReport {
  files: TestFileReport[];
  passed: number;
  failed: number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Files named directly, and the .yaml/.yml files of directories (recursively, sorted). */
async function expandTestPaths(paths: readonly string[], cwd: string): Promise<Array<{ display: string; path: string; error?: string }>> {
  const out: Array<{ display: string; path: string; error?: string }> = [];
  const walk = async (display: string, path: string): Promise<void> => {
    let info;
    try {
      info = await stat(path);
    } catch {
      out.push({ display, path, error: 'cannot read: no such file or directory' });
      return;
    }
    if (!info.isDirectory()) {
      out.push({ display, path });
      return;
    }
    const names = (await readdir(path)).sort();
    for (const name of names) {
      const child = join(path, name);
      if ((await stat(child)).isDirectory()) await walk(join(display, name), child);
      else if (/\.ya?ml$/.test(name)) out.push({ display: join(display, name), path: child });
    }
  };
  for (const p of paths) await walk(p, resolve(cwd, p));
  return out;
}

async function resourcesOf(doc: Record<string, unknown>, file: string): Promise<{ resources: Resource[]; errors: string[] }> {
  const errors: string[] = [];
  const resources: Resource[] = [];
  const raw = doc.resources ?? [];
  if (!Array.isArray(raw)) errors.push('resources must be a list');
  else {
    raw.forEach((value: unknown, i) => {
      const result = validateResource(value);
      if (result.ok) resources.push(result.value);
      else for (const issue of result.issues) errors.push(formatIssue({ ...issue, path: ['resources', i, ...issue.path] }));
    });
  }
  const include = doc.include ?? [];
  if (!Array.isArray(include) || !include.every((p) => typeof p === 'string')) errors.push('include must be a list of paths');
  else if (include.length > 0) {
    const loaded = await loadResources(include as string[], { cwd: dirname(file) });
    errors.push(...loaded.issues.map((i: Issue) => formatIssue(i)));
    resources.push(...loaded.resources.map((r) => r.resource));
  }
  return { resources, errors };
}

async function runFile(display: string, path: string): Promise<TestFileReport> {
  const failed = (error: string): TestFileReport => ({ file: display, error, flows: [], applied: [] });
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    return failed(`cannot read: ${err instanceof Error ? err.message : String(err)}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    return failed(`not valid YAML: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  }
  if (!isRecord(doc)) return failed('a policy test is a mapping with resources (or include) and flows');
  const parsed = parsePolicyTestDocument(doc);
  if (!parsed.ok) return failed(parsed.issues.map((i) => formatIssue(i)).join('; '));
  const { resources, errors } = await resourcesOf(doc, path);
  if (errors.length > 0) return failed(errors.join('; '));
  const engine = new PolicyEngine();
  engine.load(resources);
  // Conversion warnings and implied namespaces are notes; anything else means a resource was left out.
  const left = engine.issues().filter((i) => i.code !== 'engine.conversion-warning' && i.code !== 'engine.implied-resource');
  if (left.length > 0) return failed(left.map((i) => formatIssue(i)).join('; '));
  const report = runPolicyTest(engine, parsed.value);
  return { file: display, error: null, flows: report.flows, applied: report.applied };
}

/** Runs every test file; what `tabby test` prints, as data. */
export async function runTestFiles(paths: readonly string[], options: { cwd: string }): Promise<TestRunReport> {
  const files: TestFileReport[] = [];
  for (const entry of await expandTestPaths(paths, options.cwd)) {
    files.push(entry.error ? { file: entry.display, error: entry.error, flows: [], applied: [] } : await runFile(entry.display, entry.path));
  }
  let passed = 0;
  let failed = 0;
  for (const f of files) {
    if (f.error) failed++;
    for (const r of [...f.flows, ...f.applied]) r.pass ? passed++ : failed++;
  }
  return { files, passed, failed };
}

function textReport(report: TestRunReport): string[] {
  const lines: string[] = [];
  for (const f of report.files) {
    if (f.error) {
      lines.push(`ERROR ${f.file}: ${f.error}`);
      continue;
    }
    const checks = [...f.flows, ...f.applied];
    const bad = checks.filter((c) => !c.pass).length;
    lines.push(`${bad === 0 ? 'PASS ' : 'FAIL '} ${f.file}  (${f.flows.length} flows, ${f.applied.length} orderings${bad ? `, ${bad} failed` : ''})`);
    for (const r of f.flows) {
      if (r.pass) continue;
      lines.push(`  ✗ ${describeFlow(r.flow)}`);
      for (const why of r.failures) lines.push(`      ${why}`);
      if (r.verdict !== null) lines.push(...endLines('Egress', r.egress).map((l) => `    ${l}`), ...endLines('Ingress', r.ingress).map((l) => `    ${l}`));
    }
    for (const a of f.applied) {
      if (a.pass) continue;
      lines.push(`  ✗ policies applied to ${a.endpoint} (${a.stage})`);
      for (const why of a.failures) lines.push(`      ${why}`);
    }
  }
  const total = report.passed + report.failed;
  lines.push('', `${report.files.length} file(s), ${total} check(s): ${report.passed} passed, ${report.failed} failed`);
  return lines;
}

function jsonReport(report: TestRunReport): unknown {
  return {
    files: report.files.map((f) => ({
      file: f.file,
      error: f.error,
      flows: f.flows.map((r) => ({
        flow: r.flow, verdict: r.verdict, egress: r.egress, ingress: r.ingress, pending: r.pending, pass: r.pass, failures: r.failures,
      })),
      applied: f.applied.map((a) => ({
        endpoint: a.endpoint, stage: a.stage, ingress: a.ingress, egress: a.egress, pass: a.pass, failures: a.failures,
      })),
    })),
    passed: report.passed,
    failed: report.failed,
  };
}

const PRINTERS = printerSet<TestRunReport, 'text' | 'json'>('text', { text: linesPrinter(textReport), json: jsonPrinter(jsonReport) });

export const command: CommandSpec = {
  name: 'test',
  summary: 'Run policy tests: flows with the verdicts they must get (calico-eval format)',
  usage: 'tabby test FILE|DIR... [-o text|json]',
  examples: [
    'tabby test policy-tests/',
    'tabby test tests/allow-dns.yaml -o json',
  ],
  options: {
    output: outputOption(PRINTERS),
  },
  positionals: true,
  async run(args, io) {
    const format = chooseFormat(args, PRINTERS);
    if (args.positionals.length === 0) throw new UsageError('no test files given: tabby test FILE|DIR...');
    const report = await runTestFiles(args.positionals, { cwd: io.cwd });
    if (report.files.length === 0) throw new UsageError(`no .yaml or .yml test files found in ${args.positionals.join(', ')}`);
    print(PRINTERS, format, report, io);
    return report.failed === 0 ? 0 : 1;
  },
};
