// The one printer registry: every `-o` format Tabby knows, declared once with what it means (kubectl's names
// where kubectl has one), and how a command says which of them it prints. A command declares a PrinterSet — its
// formats, its default and one printer each — and this module documents the option (`--help`), checks the value
// (one usage error listing what the command allows) and prints. `-o json` is the same JSON everywhere: two-space
// indent, one document, a stable contract.
//
// Printers write to stdout; what is for people only (a summary, notes) goes to stderr from the text formats, so
// stdout stays parseable (STYLE.md, CLI).

import { isPrintable, printableJson, quote } from '../../api/index.js';
import { stringOption, UsageError, write, type CommandIO, type OptionSpec, type ParsedCommandArgs } from '../command.js';

export const OUTPUT_FORMATS = {
  text: 'lines for people',
  table: 'columns for people',
  wide: 'the table with more columns',
  yaml: 'manifests, as apply reads them back',
  json: 'JSON, a stable contract',
  name: 'kind.group/name per object, as kubectl prints them',
  csv: 'comma-separated values',
  sarif: 'SARIF 2.1.0, for code scanning',
} as const;

export type OutputFormat = keyof typeof OUTPUT_FORMATS;

export type PrintStreams = Pick<CommandIO, 'stdout' | 'stderr'>;

/** Prints one command's result in one format. */
export type Printer<T> = (value: T, io: PrintStreams) => void;

export interface PrinterSet<T, F extends OutputFormat = OutputFormat> {
  readonly defaultFormat: F;
  readonly printers: Readonly<Record<F, Printer<T>>>;
}

/** A command's formats: one printer per format it supports, the first argument the one used without -o. */
export function printerSet<T, F extends OutputFormat>(defaultFormat: NoInfer<F>, printers: Record<F, Printer<T>>): PrinterSet<T, F> {
  return { defaultFormat, printers };
}

export function formatsOf<F extends OutputFormat>(set: PrinterSet<never, F>): F[] {
  return Object.keys(set.printers) as F[];
}

/** The `-o` option of a command printing `set`, its help naming the formats and the default. */
export function outputOption<F extends OutputFormat>(set: PrinterSet<never, F>, what = 'Output format'): OptionSpec {
  const names = formatsOf(set).map((f) => (f === set.defaultFormat ? `${f} (default)` : f));
  const list = names.length <= 2 ? names.join(' or ') : `${names.slice(0, -1).join(', ')} or ${names.at(-1)!}`;
  return { type: 'string', short: 'o', valueName: 'FORMAT', description: `${what}: ${list}` };
}

/** The `-o` value, checked against the formats `set` prints; the default when -o is not given. */
export function chooseFormat<F extends OutputFormat>(args: ParsedCommandArgs, set: PrinterSet<never, F>): F {
  const v = stringOption(args, 'output') ?? set.defaultFormat;
  const allowed = formatsOf(set);
  if (!(allowed as string[]).includes(v)) {
    // -o is typed by the user and shown back: quoted when it holds a control or bidi character (issue 10 §6).
    throw new UsageError(`unsupported output format ${isPrintable(v) ? `'${v}'` : quote(v)}: allowed are ${allowed.join(', ')}`);
  }
  return v as F;
}

export function print<T, F extends OutputFormat>(set: PrinterSet<T, F>, format: F, value: T, io: PrintStreams): void {
  set.printers[format](value, io);
}

/** `-o json`: the value (or what `project` picks of it), indented by two spaces. */
export function jsonPrinter<T>(project: (value: T) => unknown = (value) => value): Printer<T> {
  // printableJson: bidi and other invisible characters escaped, so a stored name cannot forge a line (issue 10 §6).
  return (value, io) => write(io.stdout, printableJson(project(value), 2));
}

/** A text format: the lines `render` returns, on stdout. */
export function linesPrinter<T>(render: (value: T) => string | readonly string[]): Printer<T> {
  return (value, io) => {
    const text = render(value);
    write(io.stdout, typeof text === 'string' ? text : text.join('\n'));
  };
}
