// The contract every `tabby` command follows: declared once (name, summary, usage, examples, options) and run
// with parsed flags. Commands return an exit code and print through the context, so tests can run them
// in-process with captured output. Expected failures are thrown as CliError (a one-line message and an exit
// code); other typed failures become CliErrors in errors.ts; anything else is a bug and main.ts says so.

import { parseArgs, type ParseArgsConfig } from 'node:util';

import { didYouMean } from './suggest.js';

export const EXIT = {
  ok: 0,
  /** Invalid input, failed checks, failed tests, denied flows where the command asserts. */
  failure: 1,
  usage: 2,
  notFound: 3,
  alreadyExists: 4,
  conflict: 5,
  unavailable: 6,
  /** A required system tool or privilege is missing. */
  environment: 7,
  /** The write was stored, but housekeeping after it (the file store's compaction) failed: see the warning. */
  housekeeping: 8,
  /** The datastore is damaged and refuses to serve: run tabby datastore check / repair. */
  damaged: 9,
  /** nft, ip or the kernel refused a dataplane operation (not for want of a tool or privilege: that is 7). */
  dataplane: 10,
  /** A write refused by the lockout check: it would cut a critical host flow (--allow-lockout writes anyway). */
  lockout: 11,
  internal: 70,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
    /** The message's line breaks are meant (a caret excerpt): main.ts escapes each line instead of the breaks. */
    readonly multiline = false,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
    this.name = 'UsageError';
  }
}

export interface CommandIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>[string] & {
  description: string;
  valueName?: string;
  /** The values the option takes, when they are a fixed list (`-o`'s formats): what shell completion offers. */
  values?: readonly string[];
};

export interface CommandSpec {
  name: string;
  summary: string;
  /** e.g. `tabby validate -f PATH... [-o text|json]` */
  usage: string;
  examples: string[];
  options: Record<string, OptionSpec>;
  /** Whether free positional arguments are accepted. */
  positionals?: boolean;
  run(args: ParsedCommandArgs, io: CommandIO): Promise<number>;
}

export interface ParsedCommandArgs {
  values: Record<string, string | boolean | Array<string | boolean> | undefined>;
  positionals: string[];
}

export function parseCommandArgs(spec: CommandSpec, argv: string[]): ParsedCommandArgs {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, opt] of Object.entries(spec.options)) {
    const { description: _d, valueName: _v, values: _l, ...rest } = opt;
    options[name] = rest;
  }
  try {
    const parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    if (!spec.positionals && parsed.positionals.length > 0) {
      throw new UsageError(`unexpected argument '${parsed.positionals[0]}' (see 'tabby ${spec.name} --help')`);
    }
    return { values: parsed.values, positionals: parsed.positionals };
  } catch (err) {
    if (err instanceof CliError) throw err;
    const unknown = unknownFlag(err);
    if (unknown !== undefined) {
      // As cobra: `unknown flag: --dry-rn`, with the flags of this command within two edits offered (suggest.ts).
      const hint = unknown.startsWith('--') ? didYouMean(unknown.slice(2), [...Object.keys(spec.options), 'help'], undefined, '--') : '';
      throw new UsageError(`unknown flag '${unknown}'${hint} (see 'tabby ${spec.name} --help')`);
    }
    const raw = err instanceof Error ? err.message.replace(/\. To specify a positional.*$/s, '') : String(err);
    // node:util's messages start upper-case ("Unknown option"); every other message starts lower-case.
    const msg = raw.charAt(0).toLowerCase() + raw.slice(1);
    throw new UsageError(`${msg} (see 'tabby ${spec.name} --help')`);
  }
}

/** The flag node's parseArgs refused as unknown (its message quotes it), without any `=value`. */
function unknownFlag(err: unknown): string | undefined {
  if (!(err instanceof Error) || (err as NodeJS.ErrnoException).code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return undefined;
  const m = /^Unknown option '([^']*)'/.exec(err.message);
  return m ? m[1]!.split('=')[0] : undefined;
}

export function renderHelp(spec: CommandSpec): string {
  const lines = [spec.summary, '', `Usage: ${spec.usage}`, '', 'Options:'];
  const rows = Object.entries(spec.options).map(([name, opt]) => {
    const short = opt.short ? `-${opt.short}, ` : '    ';
    const value = opt.type === 'string' ? ` ${opt.valueName ?? 'VALUE'}` : '';
    return [`  ${short}--${name}${value}`, opt.description] as const;
  });
  rows.push(['  -h, --help', 'Show this help']);
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  for (const [left, desc] of rows) lines.push(left.padEnd(width) + desc);
  if (spec.examples.length > 0) {
    lines.push('', 'Examples:');
    for (const ex of spec.examples) lines.push(`  ${ex}`);
  }
  return lines.join('\n') + '\n';
}

/** String flag values: one value (last wins) or the list when the option is `multiple`. */
export function stringOption(args: ParsedCommandArgs, name: string): string | undefined {
  const v = args.values[name];
  if (Array.isArray(v)) return v.length > 0 ? String(v[v.length - 1]) : undefined;
  return typeof v === 'string' ? v : undefined;
}

export function stringListOption(args: ParsedCommandArgs, name: string): string[] {
  const v = args.values[name];
  if (Array.isArray(v)) return v.map(String);
  return typeof v === 'string' ? [v] : [];
}

export function booleanOption(args: ParsedCommandArgs, name: string): boolean {
  return args.values[name] === true;
}

export function write(stream: NodeJS.WritableStream, text: string): void {
  stream.write(text.endsWith('\n') || text === '' ? text : text + '\n');
}
