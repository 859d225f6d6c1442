// What `tabby get` prints, for a listing and for each event of a watch (`-w`), in every format it takes: the
// resource printers (table, wide, yaml, json, name — resources.ts) and the template formats (custom-columns,
// jsonpath). As `kubectl get -w`: a table's header is printed once and every event is one row (a deleted object's
// row is printed again), padded to the widths of the table listed first; json and yaml print one object per
// event (yaml documents separated by `---`); name prints one `kind.group/name` line; a jsonpath template is run
// once per object; custom columns print one row per event under the header.

import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';

import { escapeControls, kindInfoOf, type KindInfo, type Resource } from '../../api/index.js';
import { CliError, UsageError, write, type ParsedCommandArgs } from '../command.js';
import { customColumnCells, parseCustomColumns, parseCustomColumnsFile, type CustomColumn } from './custom-columns.js';
import { executeJsonPath, JsonPathError, parseJsonPath, type JsonPathTemplate, type JsonValue } from './jsonpath.js';
import { renderManifests } from './manifests.js';
import { chooseFormat, print, templateFormat, type PrintStreams, type TemplateFormat } from './printers.js';
import { RESOURCE_PRINTERS, tableCells, type FoundResources } from './resources.js';
import { columnWidths, printableRow, tableLine } from './table-text.js';

export const GET_TEMPLATE_FORMATS: readonly TemplateFormat[] = ['custom-columns', 'custom-columns-file', 'jsonpath', 'jsonpath-file'];

type ResourceFormat = keyof typeof RESOURCE_PRINTERS.printers;

export type GetOutput =
  | { type: 'printer'; format: ResourceFormat }
  | { type: 'custom-columns'; columns: CustomColumn[] }
  | { type: 'jsonpath'; template: JsonPathTemplate };

/** A template file is a few lines; more than this is not one. */
const MAX_TEMPLATE_FILE_BYTES = 64 * 1024;

async function readTemplateFile(path: string, cwd: string): Promise<string> {
  const full = resolve(cwd, path);
  let handle;
  try {
    // Checked before opening: opening a FIFO blocks until a writer comes; then again on the opened file.
    if (!(await stat(full)).isFile()) throw new CliError(`template file ${path}: not a regular file`);
    handle = await open(full, 'r');
    const st = await handle.stat();
    if (!st.isFile()) throw new CliError(`template file ${path}: not a regular file`);
    if (st.size > MAX_TEMPLATE_FILE_BYTES) throw new CliError(`template file ${path}: ${st.size} bytes, more than a template (at most ${MAX_TEMPLATE_FILE_BYTES})`);
    return (await handle.readFile({ encoding: 'utf8' })).slice(0, MAX_TEMPLATE_FILE_BYTES);
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot read template file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  } finally {
    await handle?.close();
  }
}

/** The -o value of `tabby get`, templates parsed (a bad one is a usage error naming the problem). */
export async function parseGetOutput(args: ParsedCommandArgs, cwd: string): Promise<GetOutput> {
  const t = templateFormat(args);
  if (!t) return { type: 'printer', format: chooseFormat(args, RESOURCE_PRINTERS, GET_TEMPLATE_FORMATS) };
  const text = t.format.endsWith('-file') ? await readTemplateFile(t.template, cwd) : t.template;
  try {
    switch (t.format) {
      case 'custom-columns': return { type: 'custom-columns', columns: parseCustomColumns(text) };
      case 'custom-columns-file': return { type: 'custom-columns', columns: parseCustomColumnsFile(text) };
      case 'jsonpath':
      case 'jsonpath-file': return { type: 'jsonpath', template: parseJsonPath(text) };
    }
  } catch (err) {
    if (err instanceof JsonPathError) throw new UsageError(`-o ${t.format}: ${err.message}`);
    throw err;
  }
}

/** Whether an empty result still prints (a JSON list, a template run over the empty List) instead of "No resources found". */
export function printsEmpty(output: GetOutput): boolean {
  return output.type === 'jsonpath' || (output.type === 'printer' && output.format === 'json');
}

/** Objects as `-o json` prints them (manifest field order), the input of templates. */
function asJson(resources: readonly Resource[]): JsonValue & { items: JsonValue[] } {
  return JSON.parse(renderManifests(resources, 'json')) as JsonValue & { items: JsonValue[] };
}

function customColumnLines(columns: readonly CustomColumn[], objects: readonly JsonValue[]): { widths: number[]; lines: string[] } {
  const rows = [columns.map((c) => c.header), ...objects.map((o) => customColumnCells(columns, o))].map(printableRow);
  const widths = columnWidths(rows);
  return { widths, lines: rows.map((r) => tableLine(r, widths)) };
}

/** A listing (no watch) in `output`. */
export function printResources(output: GetOutput, found: FoundResources, io: PrintStreams): void {
  switch (output.type) {
    case 'printer':
      print(RESOURCE_PRINTERS, output.format, found, io);
      return;
    case 'custom-columns':
      write(io.stdout, customColumnLines(output.columns, asJson(found.resources).items).lines.join('\n'));
      return;
    case 'jsonpath': {
      // As kubectl: one object asked for by name is the template's input, else the List of them; nothing is
      // added to the template's own text (no final newline unless it writes one).
      const list = asJson(found.resources);
      const data = found.single && found.resources.length === 1 ? list.items[0]! : list;
      io.stdout.write(executeJsonPath(output.template, data, escapeControls));
    }
  }
}

export interface WatchPrintOptions {
  /** How many kinds the command watches (table headers name the kind when several). */
  kinds: number;
  showLabels: boolean;
  /** -A: a NAMESPACE column, as the listing's. */
  allNamespaces: boolean;
}

/** Prints a watch: the objects listed first, then one event at a time, as `kubectl get -w`. */
export class WatchPrinter {
  /** Table widths per kind (custom columns: one table, under `undefined`), once its header is printed. */
  private readonly widths = new Map<KindInfo | undefined, number[]>();
  private printedDocuments = 0;

  constructor(private readonly output: GetOutput, private readonly options: WatchPrintOptions, private readonly io: PrintStreams) {}

  /** The listing the watch starts from (kubectl prints it before the first event, unless --watch-only). */
  list(resources: readonly Resource[]): void {
    if (this.isTable()) {
      const groups = new Map<KindInfo, Resource[]>();
      for (const r of resources) groups.set(kindInfoOf(r), [...(groups.get(kindInfoOf(r)) ?? []), r]);
      for (const [info, items] of groups) this.rows(info, items);
      return;
    }
    for (const r of resources) this.event(r);
  }

  /** One event's object: what it is now, or for a delete what it was. */
  event(resource: Resource): void {
    const { output, io } = this;
    if (this.isTable()) {
      this.rows(kindInfoOf(resource), [resource]);
      return;
    }
    if (output.type === 'jsonpath') {
      io.stdout.write(executeJsonPath(output.template, asJson([resource]).items[0]!, escapeControls));
      return;
    }
    if (output.type === 'printer') {
      if (output.format === 'yaml' && this.printedDocuments > 0) io.stdout.write('---\n');
      this.printedDocuments++;
      print(RESOURCE_PRINTERS, output.format, { resources: [resource], single: true }, io);
    }
  }

  private isTable(): boolean {
    return this.output.type === 'custom-columns' || (this.output.type === 'printer' && (this.output.format === 'table' || this.output.format === 'wide'));
  }

  /** Rows of one kind's table; the header first when this kind has none printed yet. */
  private rows(info: KindInfo, items: readonly Resource[]): void {
    const key = this.output.type === 'custom-columns' ? undefined : info;
    let cells: string[][];
    if (this.output.type === 'custom-columns') {
      const { columns } = this.output;
      cells = [columns.map((c) => c.header), ...asJson(items).items.map((o) => customColumnCells(columns, o))];
    } else {
      const wide = this.output.type === 'printer' && this.output.format === 'wide';
      cells = tableCells(info, items, { wide, kinds: this.options.kinds, showLabels: this.options.showLabels, allNamespaces: this.options.allNamespaces });
    }
    const rows = cells.map(printableRow);
    let widths = this.widths.get(key);
    const lines: string[] = [];
    if (!widths) {
      if (this.widths.size > 0) lines.push('');
      widths = columnWidths(rows);
      this.widths.set(key, widths);
      lines.push(tableLine(rows[0]!, widths));
    }
    for (const row of rows.slice(1)) lines.push(tableLine(row, widths));
    write(this.io.stdout, lines.join('\n'));
  }
}
