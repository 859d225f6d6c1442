// `tabby validate`: load manifests exactly as `apply` would and report every problem, one line each, with the
// position of the offending node. Exit 0 when everything is valid, 1 when there is any problem (including a
// path that cannot be read), 2 for usage errors.

import { displayText, loadResources, type LoadResult } from '../../api/index.js';
import { stringListOption, UsageError, write, type CommandSpec, type ParsedCommandArgs } from '../command.js';
import { issueLines, issueRecord, sortIssues } from '../output/issues.js';
import { chooseFormat, jsonPrinter, outputOption, print, printerSet } from '../output/printers.js';

export const FILENAME_OPTION = {
  type: 'string', short: 'f', multiple: true, valueName: 'PATH',
  description: 'Manifest file, directory (recursive: .yaml, .yml, .json) or - for stdin; repeatable',
} as const;

/** The -f paths of a manifest-reading command; positional paths get a hint instead of a bare "unexpected". */
export function manifestPaths(args: ParsedCommandArgs, verb: string): string[] {
  const first = args.positionals[0];
  if (first !== undefined) {
    throw new UsageError(`unexpected argument '${displayText(first)}': give manifests with -f (tabby ${verb} -f ${displayText(first)})`);
  }
  const paths = stringListOption(args, 'filename');
  if (paths.length === 0) {
    throw new UsageError(`no manifests given: use -f PATH (a file, a directory, or - for stdin), e.g. tabby ${verb} -f policy.yaml`);
  }
  return paths;
}

export function noResourcesMessage(paths: readonly string[]): string {
  return `no resources found in ${paths.map(displayText).join(', ')} (directories are searched for .yaml, .yml and .json files)`;
}

/** text: the problems on stdout, the count on stderr; json: {valid, resources, issues}. */
const PRINTERS = printerSet<{ report: ValidationReport; resources: number }, 'text' | 'json'>('text', {
  text: ({ report }, io) => {
    if (report.issues.length > 0) write(io.stdout, issueLines(report.issues));
    write(io.stderr, report.summary);
  },
  json: jsonPrinter(({ report, resources }) => ({ valid: report.valid, resources, issues: report.issues.map(issueRecord) })),
});

export const command: CommandSpec = {
  name: 'validate',
  summary: 'Check manifests against Calico\'s validation rules and report every problem with file:line:col',
  usage: 'tabby validate -f PATH... [-o text|json]',
  examples: [
    'tabby validate -f policy.yaml',
    'tabby validate -f manifests/ -f extra.yaml',
    'kubectl get networkpolicies -A -o yaml | tabby validate -f -',
    'tabby validate -f examples/ -o json',
  ],
  options: {
    filename: FILENAME_OPTION,
    output: outputOption(PRINTERS),
  },
  positionals: true,
  async run(args, io) {
    const paths = manifestPaths(args, 'validate');
    const format = chooseFormat(args, PRINTERS);
    const result = await loadResources(paths, { stdin: io.stdin, cwd: io.cwd });
    const report = validationReport(result, paths);
    print(PRINTERS, format, { report, resources: result.resources.length }, io);
    return report.valid ? 0 : 1;
  },
};

interface ValidationReport {
  valid: boolean;
  issues: ReturnType<typeof sortIssues>;
  summary: string;
}

function validationReport(result: LoadResult, paths: readonly string[]): ValidationReport {
  const issues = sortIssues(result.issues);
  const n = result.resources.length;
  const resources = `${n} resource${n === 1 ? '' : 's'}`;
  if (issues.length === 0 && n === 0) {
    issues.push({ code: 'load.empty', path: [], message: noResourcesMessage(paths) });
  }
  if (issues.length === 0) return { valid: true, issues, summary: `${resources} valid` };
  const problems = `${issues.length} problem${issues.length === 1 ? '' : 's'}`;
  return { valid: false, issues, summary: `${problems} found; ${resources} valid` };
}
