// `tabby test`: policy tests. A test file holds the resources in force (`resources:`, and/or `include:` paths
// of manifests relative to the file) and the flows with the verdicts they must get (`flows:` with `expect`, and
// optionally the deciding `egress` / `ingress` rule, `staged` pending verdicts) and per-endpoint orderings
// (`applied:`): the calico-eval format (conformance/calico-eval/README.md). Prints pass/fail per flow with
// the trace of each failure; exit 1 when anything fails or a file cannot be used.
//
// Test files and their includes are read by the manifest loader (src/api/load/sources.ts), with its limits:
// regular files only, 8 MiB each, bounded nesting, broken or looping links reported. An include is relative to
// the test file and must resolve (links followed) inside the test file's directory, or inside --include-root.

import { dirname, isAbsolute, resolve } from 'node:path';

import {
  decodeEntry,
  displayText,
  escapeControls,
  expandPaths,
  formatIssue,
  loadResources,
  validateResource,
  type DecodedObject,
  type Issue,
  type PathSegment,
  type Resource,
  type SourceEntry,
} from '../../api/index.js';
import {
  parsePolicyTestDocument,
  PolicyEngine,
  runPolicyTest,
  type AppliedResult,
  type FlowResult,
} from '../../engine/index.js';
import { stringListOption, stringOption, UsageError, type CommandSpec } from '../command.js';
import { chooseFormat, jsonPrinter, linesPrinter, outputOption, print, printerSet } from '../output/printers.js';
import { describeFlow, endLines } from '../output/trace.js';

export interface TestFileReport {
  file: string;
  /** Why the file could not be run (unreadable, not YAML, invalid resources); null when it ran. */
  error: string | null;
  flows: FlowResult[];
  applied: AppliedResult[];
  /** `file:line:col` of each flow and each applied entry in the test file, in order (for the failures). */
  flowSources: string[];
  appliedSources: string[];
}

export interface TestRunReport {
  files: TestFileReport[];
  passed: number;
  failed: number;
}

export interface TestRunOptions {
  cwd: string;
  /**
   * The directory every `include:` must resolve inside (symbolic links followed); without it, the directory of
   * the test file that names the include. A test file is input like any other: it must not read /etc/passwd.
   */
  includeRoot?: string;
}

/** A file that cannot run is one ERROR line; the first problems are enough to fix it. */
const MAX_ISSUES_SHOWN = 5;

/** Test files are YAML; a directory of tests may hold JSON fixtures next to them. */
const TEST_EXTENSIONS = ['.yaml', '.yml'] as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Issues located in the test file: a path from its root → its file:line:col. */
function locate(doc: DecodedObject, issue: Issue, prefix: readonly PathSegment[] = []): Issue {
  const path = [...prefix, ...issue.path];
  return { ...issue, path, position: issue.position ?? doc.source.positionOf(path) };
}

async function resourcesOf(
  doc: DecodedObject,
  file: SourceEntry & { kind: 'file' },
  options: TestRunOptions,
): Promise<{ resources: Resource[]; issues: Issue[] }> {
  const value = doc.value as Record<string, unknown>;
  const issues: Issue[] = [];
  const resources: Resource[] = [];
  const raw = value.resources ?? [];
  if (!Array.isArray(raw)) {
    issues.push(locate(doc, { code: 'test.resources', path: ['resources'], message: 'resources must be a list' }));
  } else {
    raw.forEach((item: unknown, i) => {
      const result = validateResource(item);
      if (result.ok) resources.push(result.value);
      else for (const issue of result.issues) issues.push(locate(doc, issue, ['resources', i]));
    });
  }
  const include = value.include ?? [];
  if (!Array.isArray(include)) {
    issues.push(locate(doc, { code: 'test.include', path: ['include'], message: 'include must be a list of paths' }));
    return { resources, issues };
  }
  const dir = dirname(file.absolute); // the real path of the test file
  const root = options.includeRoot === undefined
    ? { dir, name: "the test file's directory", hint: 'allow a wider tree with --include-root DIR' }
    : { dir: options.includeRoot, name: '--include-root' };
  for (let i = 0; i < include.length; i++) {
    const p: unknown = include[i];
    const at = (message: string, code = 'test.include'): Issue => locate(doc, { code, path: ['include', i], message });
    if (typeof p !== 'string' || p === '') {
      issues.push(at('an include is a path (a manifest file or a directory), relative to the test file'));
      continue;
    }
    if (isAbsolute(p)) {
      issues.push(at(`refusing include ${displayText(p)}: an absolute path; includes are relative to the test ` +
        'file and stay inside its directory (or --include-root DIR)', 'test.include-outside'));
      continue;
    }
    const loaded = await loadResources([p], { cwd: dir, root });
    // Problems inside an included manifest carry its own file:line:col; the others (cannot read, outside the
    // root) are about the include itself, so they point at it.
    for (const issue of loaded.issues) {
      issues.push(issue.position ? issue : at(issue.message, issue.code));
    }
    resources.push(...loaded.resources.map((r) => r.resource));
  }
  return { resources, issues };
}

async function runFile(entry: SourceEntry & { kind: 'file' }, options: TestRunOptions): Promise<TestFileReport> {
  const failed = (issues: readonly Issue[]): TestFileReport => {
    const shown = issues.slice(0, MAX_ISSUES_SHOWN).map((i) => formatIssue(i));
    const more = issues.length - MAX_ISSUES_SHOWN;
    if (more > 0) shown.push(`${more} more problems not shown (tabby validate lists them all)`);
    return { file: entry.display, error: shown.join('; '), flows: [], applied: [], flowSources: [], appliedSources: [] };
  };
  const decoded = await decodeEntry(entry, undefined);
  if (decoded.issues.length > 0) return failed(decoded.issues);
  const [doc, second] = decoded.documents;
  if (second) {
    return failed([{
      code: 'test.documents', path: [], position: second.source.position,
      message: 'a policy test file holds one YAML document; put each test in its own file',
    }]);
  }
  if (!doc || !isRecord(doc.value)) {
    return failed([{
      code: 'test.document', path: [], position: doc?.source.position ?? { file: entry.display, line: 1, col: 1 },
      message: 'a policy test is a mapping with resources (or include) and flows',
    }]);
  }
  const parsed = parsePolicyTestDocument(doc.value);
  if (!parsed.ok) return failed(parsed.issues.map((i) => locate(doc, i)));
  const { resources, issues } = await resourcesOf(doc, entry, options);
  if (issues.length > 0) return failed(issues);
  const engine = new PolicyEngine();
  engine.load(resources);
  // Conversion warnings and implied namespaces are notes; anything else means a resource was left out.
  const left = engine.issues().filter((i) => i.code !== 'engine.conversion-warning' && i.code !== 'engine.implied-resource');
  if (left.length > 0) return failed(left);
  const report = runPolicyTest(engine, parsed.value);
  const at = (path: PathSegment[]): string => {
    const p = doc.source.positionOf(path);
    return `${p.file}:${p.line}:${p.col}`;
  };
  // A flow that could not be evaluated (an unknown endpoint, a bad port) is an error in the file: each of its
  // problems points at the field it is about (`from: unknown endpoint ...` → the from: of that flow).
  const flows = report.flows.map((r, i) => r.verdict !== null ? r : {
    ...r,
    failures: r.failures.map((f) => {
      const m = /^([A-Za-z]+(?:\.[A-Za-z]+)*): /.exec(f);
      return m ? `${at(['flows', i, ...m[1]!.split('.')])}: flows[${i}].${f}` : `${at(['flows', i])}: ${f}`;
    }),
  });
  return {
    file: entry.display, error: null, flows, applied: report.applied,
    flowSources: report.flows.map((_, i) => at(['flows', i])),
    appliedSources: report.applied.map((_, i) => at(['applied', i])),
  };
}

/** Runs every test file; what `tabby test` prints, as data. */
export async function runTestFiles(paths: readonly string[], options: TestRunOptions): Promise<TestRunReport> {
  const files: TestFileReport[] = [];
  for (const p of paths) {
    // The loader's walk and reads: regular files only, size-capped, bounded, broken links reported.
    const { entries, issues } = await expandPaths([p], options.cwd, { extensions: TEST_EXTENSIONS });
    for (const issue of issues) files.push({ file: p, error: formatIssue(issue), flows: [], applied: [], flowSources: [], appliedSources: [] });
    for (const entry of entries) {
      if (entry.kind === 'file') files.push(await runFile(entry, options));
      else {
        files.push({
          file: entry.display, error: 'tests are read from files, not from standard input', flows: [], applied: [], flowSources: [], appliedSources: [],
        });
      }
    }
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
      // Errors are issue lines that already start with the file (and line) when they have one.
      const file = displayText(f.file);
      lines.push(f.error.startsWith(`${file}:`) ? `ERROR ${f.error}` : `ERROR ${file}: ${f.error}`);
      continue;
    }
    const checks = [...f.flows, ...f.applied];
    const bad = checks.filter((c) => !c.pass).length;
    lines.push(`${bad === 0 ? 'PASS ' : 'FAIL '} ${displayText(f.file)}  (${f.flows.length} flows, ${f.applied.length} orderings${bad ? `, ${bad} failed` : ''})`);
    for (const [i, r] of f.flows.entries()) {
      if (r.pass) continue;
      lines.push(`  ✗ ${describeFlow(r.flow)}  (${displayText(f.flowSources[i] ?? f.file)})`);
      // Failures quote what the test file says (endpoints, policy names): one line each, whatever it holds.
      for (const why of r.failures) lines.push(`      ${escapeControls(why)}`);
      if (r.verdict !== null) lines.push(...endLines('Egress', r.egress).map((l) => `    ${l}`), ...endLines('Ingress', r.ingress).map((l) => `    ${l}`));
    }
    for (const [i, a] of f.applied.entries()) {
      if (a.pass) continue;
      lines.push(`  ✗ policies applied to ${displayText(a.endpoint)} (${displayText(a.stage)})  (${displayText(f.appliedSources[i] ?? f.file)})`);
      for (const why of a.failures) lines.push(`      ${escapeControls(why)}`);
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
      // `source` (file:line:col of the entry) was added after the first release, at the end of each entry.
      flows: f.flows.map((r, i) => ({
        flow: r.flow, verdict: r.verdict, egress: r.egress, ingress: r.ingress, pending: r.pending, pass: r.pass, failures: r.failures,
        source: f.flowSources[i] ?? null,
      })),
      applied: f.applied.map((a, i) => ({
        endpoint: a.endpoint, stage: a.stage, ingress: a.ingress, egress: a.egress, pass: a.pass, failures: a.failures,
        source: f.appliedSources[i] ?? null,
      })),
    })),
    passed: report.passed,
    failed: report.failed,
  };
}

const PRINTERS = printerSet<TestRunReport, 'text' | 'json'>('text', { text: linesPrinter(textReport), json: jsonPrinter(jsonReport) });

/** A test file as `tabby test --help` shows it: the calico-eval format in brief. */
const FORMAT = [
  '',
  '# A test file (YAML, one document; the calico-eval format, conformance/calico-eval/README.md):',
  '#   include: [../manifests/]    # manifests in force, relative to this file (or resources: [...])',
  '#   flows:                      # each flow must get its expect; protocol is TCP unless given',
  '#   - {from: shop/web, to: shop/db, port: 5432, expect: Allow}',
  '#   - {from: {ip: 198.51.100.7}, to: shop/db, protocol: UDP, port: 53, expect: Deny,',
  '#      ingress: {action: Deny, tier: security, policy: security.block, rule: 0},  # deciding rule',
  '#      staged: {action: Deny, policy: shop/db-lockdown}}          # pending verdict, staged enforced',
  '#   applied:                    # the policies each endpoint gets, per tier, in order',
  '#   - {endpoint: shop/db, ingress: [{tier: default, policies: [shop/db-from-web]}]}',
  '# Peers are namespace/name, hep:<name> or {ip: A}; problems are reported as file:line:col.',
];

export const command: CommandSpec = {
  name: 'test',
  summary: 'Run policy tests: flows with the verdicts they must get (calico-eval format)',
  usage: 'tabby test (-f FILE|DIR... | FILE|DIR...) [--include-root DIR] [-o text|json]',
  examples: [
    'tabby test -f policy-tests/',
    'tabby test tests/allow-dns.yaml -o json',
    'tabby test -f tests/ --include-root .   # tests may include ../manifests/*.yaml',
    ...FORMAT,
  ],
  options: {
    filename: {
      type: 'string', short: 'f', multiple: true, valueName: 'PATH',
      description: 'A test file or directory (.yaml, .yml); repeatable; or paths as arguments',
    },
    output: outputOption(PRINTERS),
    'include-root': {
      type: 'string', valueName: 'DIR',
      description: "Directory every include: must stay inside (default: the test file's)",
    },
  },
  positionals: true,
  async run(args, io) {
    const format = chooseFormat(args, PRINTERS);
    const paths = [...stringListOption(args, 'filename'), ...args.positionals];
    if (paths.length === 0) throw new UsageError('no test files given: tabby test -f FILE|DIR...');
    const includeRoot = stringOption(args, 'include-root');
    const report = await runTestFiles(paths, {
      cwd: io.cwd, ...(includeRoot === undefined ? {} : { includeRoot: resolve(io.cwd, includeRoot) }),
    });
    if (report.files.length === 0) {
      throw new UsageError(`no .yaml or .yml test files found in ${paths.map(displayText).join(', ')}`);
    }
    print(PRINTERS, format, report, io);
    return report.failed === 0 ? 0 : 1;
  },
};
