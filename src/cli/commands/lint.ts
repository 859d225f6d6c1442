// `tabby lint`: the common mistakes of production policy, each proven with the engine (src/analysis/lint).
// Input is read as `tabby validate` reads it (any manifest problem is printed and lint refuses to run: a lint of
// the objects that happen to be valid would describe another cluster), or, without -f, the datastore. Lint
// changes nothing. Exit 1 when a finding at or above --fail-on (default warning) remains after suppression, 0
// otherwise; 1 also for invalid manifests or config, 2 for usage errors.

import { resolve } from 'node:path';

import {
  buildLintContext,
  CONFIG_FILE_NAME,
  failsOn,
  lintReportJson,
  IGNORE_ANNOTATION,
  IGNORE_REASON_ANNOTATION,
  parseLintConfig,
  refText,
  ruleById,
  RULES,
  runLint,
  selectRules,
  SEVERITIES,
  toSarif,
  type Finding,
  type LintConfig,
  type LintInput,
  type LintReport,
  type RelatedItem,
  type Severity,
  type SourceLocation,
} from '../../analysis/index.js';
import { displayText, escapeControls, loadResources, readTextFile } from '../../api/index.js';
import {
  CliError,
  EXIT,
  stringListOption,
  stringOption,
  UsageError,
  write,
  type CommandIO,
  type CommandSpec,
  type ParsedCommandArgs,
} from '../command.js';
import { DATASTORE_OPTION } from '../datastore-access.js';
import { LOCKOUT_OPTIONS, lockoutPolicy } from '../lockout.js';
import { datastoreResources, ENGINE_FILENAME_OPTION, engineOf, engineSourcePaths } from '../engine-input.js';
import { issueLines, sortIssues } from '../output/issues.js';
import { chooseFormat, jsonPrinter, outputOption, print, printerSet } from '../output/printers.js';
import { TABBY_VERSION } from '../version.js';
import { noResourcesMessage } from './validate.js';

const CONFIG_MAX_BYTES = 64 * 1024;
/** Progress lines start once a run has taken this long: short runs stay quiet. */
const PROGRESS_AFTER_MS = 2000;

const PRINTERS = printerSet<LintReport, 'text' | 'json' | 'sarif'>('text', {
  text: (report, io) => {
    const lines = report.findings.flatMap(findingLines);
    if (lines.length > 0) write(io.stdout, lines.join('\n'));
    write(io.stderr, summary(report));
  },
  json: jsonPrinter(lintReportJson),
  sarif: jsonPrinter((report: LintReport) => toSarif(report, { toolVersion: TABBY_VERSION })),
});

export const command: CommandSpec = {
  name: 'lint',
  summary: 'Find the common mistakes of network policy (default deny without DNS, selectors matching nothing, …)',
  usage: 'tabby lint [-f PATH... | --datastore LOCATION] [-o text|json|sarif] [--fail-on error|warning|info] ' +
    '[--enable ID,... | --disable ID,...] [--config FILE] | tabby lint --explain ID | tabby lint --list-rules',
  examples: [
    'tabby lint -f cluster/',
    'tabby lint -f cluster/ -o sarif > tabby-lint.sarif',
    'tabby lint -f cluster/ --fail-on error --disable endpoint-without-ingress-policy',
    'tabby lint --explain default-deny-without-dns',
  ],
  options: {
    filename: ENGINE_FILENAME_OPTION,
    datastore: DATASTORE_OPTION,
    output: outputOption(PRINTERS),
    'fail-on': {
      type: 'string', valueName: 'SEVERITY',
      description: 'Exit 1 when a finding at or above this severity remains: error, warning (default) or info',
    },
    enable: { type: 'string', multiple: true, valueName: 'ID,...', description: 'Run only these rules (repeatable)' },
    disable: { type: 'string', multiple: true, valueName: 'ID,...', description: 'Run every rule but these (repeatable)' },
    config: {
      type: 'string', valueName: 'FILE',
      description: `Lint config (default: ./${CONFIG_FILE_NAME} when it exists): enable, disable, severity, failOn, settings`,
    },
    explain: { type: 'string', valueName: 'ID', description: 'Print what a rule finds, why, a bad and a good example, and the fix' },
    'list-rules': { type: 'boolean', description: 'List every rule with its ID, severity and title' },
    'lockout-ports': LOCKOUT_OPTIONS['lockout-ports'],
  },
  positionals: true,
  async run(args, io) {
    const explain = stringOption(args, 'explain');
    if (explain !== undefined) return explainRule(explain, io);
    if (args.values['list-rules'] === true) return listRules(io);
    const format = chooseFormat(args, PRINTERS);
    const paths = engineSourcePaths(args, 'lint');
    const config = await readConfig(args, io);
    const failOn = severityOption(stringOption(args, 'fail-on')) ?? config.failOn ?? 'warning';
    const enable = idList(args, 'enable');
    const disable = idList(args, 'disable');
    if (enable && disable) throw new UsageError('give either --enable or --disable, not both');
    const selection = enable || disable
      ? { ...(enable ? { enable } : { disable: disable! }), ...(config.severity ? { severity: config.severity } : {}) }
      : config;
    const chosen = selectRules(selection);
    if (!chosen.ok) throw new UsageError(chosen.message.replace(/^(enable|disable): /, '--$1: '));

    const input = await lintInput(paths, args, io);
    const engine = engineOf(input.map((r) => r.resource), io);
    // The lockoutPorts setting (perhaps config.yaml) is read only when a host endpoint needs it.
    const lockout = await lockoutPolicy(args, io);
    const lockoutFlows = input.some((r) => r.resource.kind === 'HostEndpoint') ? await lockout.flows() : undefined;
    const context = buildLintContext(engine, input, { ...config.settings, ...(lockoutFlows && { lockoutFlows }) });
    const started = Date.now();
    const report = runLint(context, chosen.rules, {
      onRule: (i, total, rule) => {
        if (Date.now() - started >= PROGRESS_AFTER_MS) write(io.stderr, `tabby lint: rule ${i + 1}/${total} ${rule.id}`);
      },
    });
    print(PRINTERS, format, report, io);
    return failsOn(report, failOn) ? EXIT.failure : EXIT.ok;
  },
};

/** The manifests with their positions (refused whole when any has a problem), or the datastore's objects. */
async function lintInput(paths: readonly string[], args: ParsedCommandArgs, io: CommandIO): Promise<LintInput> {
  if (paths.length === 0) {
    // lint's --config is its own (.tabby-lint.yaml), never calicoctl's CalicoAPIConfig (registry.ts gives lint none).
    const { config: _lintConfig, ...values } = args.values;
    return (await datastoreResources({ ...args, values }, io)).map((resource) => ({ resource }));
  }
  const loaded = await loadResources(paths, { stdin: io.stdin, cwd: io.cwd });
  if (loaded.issues.length > 0) {
    write(io.stderr, issueLines(sortIssues(loaded.issues)));
    const n = loaded.issues.length;
    throw new CliError(`${n} problem${n === 1 ? '' : 's'} in the manifests; fix ${n === 1 ? 'it' : 'them'} and run ` +
      `tabby lint again (tabby validate -f ${paths.join(' -f ')} lists the same)`);
  }
  if (loaded.resources.length === 0) throw new CliError(noResourcesMessage(paths));
  return loaded.resources;
}

async function readConfig(args: ParsedCommandArgs, io: CommandIO): Promise<LintConfig> {
  const given = stringOption(args, 'config');
  const display = given ?? CONFIG_FILE_NAME;
  const read = await readTextFile(resolve(io.cwd, display), display, { maxBytes: CONFIG_MAX_BYTES });
  if (!read.ok) {
    // Only the default file may be absent.
    if (given === undefined && read.issue.code === 'load.not-found') return {};
    throw new CliError(`${displayText(display)}: ${read.issue.message}`);
  }
  const parsed = parseLintConfig(read.text, display);
  if (!parsed.ok) {
    write(io.stderr, issueLines(parsed.issues));
    const n = parsed.issues.length;
    throw new CliError(`${n} problem${n === 1 ? '' : 's'} in the lint config ${displayText(display)}; nothing was linted`);
  }
  return parsed.value;
}

function severityOption(value: string | undefined): Severity | undefined {
  if (value === undefined) return undefined;
  if ((SEVERITIES as readonly string[]).includes(value)) return value as Severity;
  throw new UsageError(`--fail-on '${escapeControls(value)}': allowed are error, warning, info`);
}

/** --enable a,b --enable c → [a, b, c]; undefined when the flag is not given. */
function idList(args: ParsedCommandArgs, name: string): string[] | undefined {
  const values = stringListOption(args, name);
  if (values.length === 0) return undefined;
  const ids = values.flatMap((v) => v.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  if (ids.length === 0) throw new UsageError(`--${name} needs rule IDs, e.g. --${name} default-deny-without-dns`);
  return ids;
}

function explainRule(id: string, io: CommandIO): number {
  const rule = ruleById(id);
  if (!rule) {
    throw new CliError(`unknown rule '${escapeControls(id)}'; tabby lint --list-rules lists them`, EXIT.notFound);
  }
  const indent = (text: string): string => text.split('\n').map((l) => `    ${l}`).join('\n');
  write(io.stdout, [
    `${rule.id} (${rule.severity}): ${rule.title}`,
    '',
    wrap(rule.explanation),
    '',
    'Bad:',
    indent(rule.bad),
    '',
    'Good:',
    indent(rule.good),
    '',
    wrap(`Fix: ${rule.fix}`),
    '',
    wrap(`Suppress for one object with the annotations ${IGNORE_ANNOTATION}: ${rule.id} and ${IGNORE_REASON_ANNOTATION}: WHY.`),
  ].join('\n'));
  return EXIT.ok;
}

/** A paragraph wrapped at 100 columns (STYLE.md: human output fits 100 columns). */
function wrap(text: string, width = 100): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines.join('\n');
}

function listRules(io: CommandIO): number {
  const width = Math.max(...RULES.map((r) => r.id.length));
  write(io.stdout, RULES.map((r) => `${r.id.padEnd(width)}  ${r.severity.padEnd(7)}  ${r.title}`).join('\n'));
  return EXIT.ok;
}

function at(location: SourceLocation | undefined): string {
  return location ? `${displayText(location.file)}:${location.line}:${location.column}: ` : '';
}

function relatedText(r: RelatedItem): string {
  return `${at(r.location)}${escapeControls(refText(r.resource))}${r.rule ? ` ${r.rule}` : ''}` +
    `${r.message ? `: ${escapeControls(r.message)}` : ''}`;
}

/** `file:line:col: severity ID Kind ns/name: message`, then the fix and any related places, indented. */
function findingLines(f: Finding): string[] {
  return [
    `${at(f.location)}${f.severity} ${f.rule} ${escapeControls(refText(f.resource))}: ${escapeControls(f.message)}`,
    `  fix: ${escapeControls(f.fix)}`,
    ...f.related.map((r) => `  related: ${relatedText(r)}`),
  ];
}

function summary(report: LintReport): string {
  const { counts } = report;
  const plural = (n: number, w: string): string => `${n} ${w}${n === 1 ? '' : 's'}`;
  const head = counts.total === 0
    ? 'no findings'
    : `${plural(counts.total, 'finding')} (${plural(counts.error, 'error')}, ${plural(counts.warning, 'warning')}, ${counts.info} info)`;
  const lines = [`${head}; ${plural(report.rules.length, 'rule')} run`];
  if (counts.suppressed > 0) {
    const unreasoned = report.suppressed.filter((s) => s.reason === undefined).length;
    lines.push(`${counts.suppressed} suppressed by ${IGNORE_ANNOTATION}` +
      (unreasoned > 0 ? ` (${unreasoned} without ${IGNORE_REASON_ANNOTATION})` : '') + ': -o json lists them');
  }
  return lines.join('\n');
}

