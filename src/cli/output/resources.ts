// `tabby get` printers, keyed by their -o name in the printer registry (printers.ts): a table (calicoctl's default `ps`
// output: NAMESPACE and NAME), `wide` (plus what a kind's traits say is worth a column), `yaml`/`json`
// manifests that apply/create read back, and `name` (kubectl's `kind.group/name`).

import { isPrintable, kindInfoOf, quote, type KindInfo, type LabelSelector, type Resource } from '../../api/index.js';
import { write } from '../command.js';
import { renderManifests } from './manifests.js';
import { printerSet, type Printer as RegistryPrinter } from './printers.js';

export interface PrintOptions {
  /** One object was asked for by name: yaml/json print the object itself, not a List. */
  single: boolean;
  /** --show-labels: a LABELS column last, as kubectl (the wide tables of kinds that show labels already keep one). */
  showLabels?: boolean;
}

/** What `tabby get` prints: the objects found. */
export interface FoundResources extends PrintOptions {
  resources: readonly Resource[];
}

type Printer = (resources: readonly Resource[], options: PrintOptions) => string;

function labelsText(labels: Record<string, string> | undefined): string {
  // Sorted by key, as kubectl's --show-labels (apimachinery labels.Set.String).
  const entries = Object.entries(labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length === 0 ? '<none>' : entries.map(([k, v]) => `${k}=${v}`).join(',');
}

/** A Kubernetes label selector in kubectl's notation (`app=web,env in (a,b)`). */
function k8sSelectorText(sel: LabelSelector | undefined): string {
  if (!sel) return '<none>';
  const parts = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    const values = e.values?.length ? ` (${e.values.join(',')})` : '';
    parts.push(e.operator === 'Exists' ? e.key : e.operator === 'DoesNotExist' ? `!${e.key}` : `${e.key} ${e.operator.toLowerCase()}${values}`);
  }
  return parts.length === 0 ? '<all>' : parts.join(',');
}

interface Column {
  header: string;
  value(r: Resource): string;
}

const spec = (r: Resource): Record<string, unknown> => ((r as { spec?: Record<string, unknown> }).spec ?? {});

/** Policies show where they sit and what they select; other kinds show their labels. */
function wideColumns(info: KindInfo): Column[] {
  if (info.policy) {
    return [
      { header: 'TIER', value: (r) => String(spec(r).tier ?? (info.group === 'projectcalico.org' ? 'default' : '-')) },
      { header: 'ORDER', value: (r) => (spec(r).order === undefined ? '<none>' : String(spec(r).order)) },
      {
        header: 'SELECTOR',
        value: (r) => (spec(r).podSelector !== undefined
          ? k8sSelectorText(spec(r).podSelector as LabelSelector)
          : String(spec(r).selector ?? 'all()')),
      },
    ];
  }
  return [{ header: 'LABELS', value: (r) => labelsText(r.metadata.labels) }];
}

function renderTable(cells: string[][]): string {
  // Cells hold names and labels read from a store or a file: one cell can never break its row or line.
  const rows = cells.map((r) => r.map((c) => (isPrintable(c) ? c : quote(c))));
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('')).join('\n');
}

export interface TableOptions {
  wide: boolean;
  /** How many kinds the command shows: with several, the NAME header names the kind. */
  kinds: number;
  showLabels?: boolean;
}

/** One kind's table as cells, the header row first (get-output.ts prints the rows of watch events one by one). */
export function tableCells(info: KindInfo, items: readonly Resource[], options: TableOptions): string[][] {
  const cols: Column[] = [];
  if (info.namespaced) cols.push({ header: 'NAMESPACE', value: (r) => r.metadata.namespace ?? '' });
  cols.push({ header: options.kinds > 1 ? `NAME (${info.kind})` : 'NAME', value: (r) => r.metadata.name });
  if (options.wide) cols.push(...wideColumns(info));
  if (options.showLabels && cols.at(-1)!.header !== 'LABELS') cols.push({ header: 'LABELS', value: (r) => labelsText(r.metadata.labels) });
  return [cols.map((c) => c.header), ...items.map((r) => cols.map((c) => c.value(r)))];
}

function table(wide: boolean): Printer {
  return (resources, { showLabels }) => {
    // One table per kind, in the order the kinds first appear.
    const groups = new Map<KindInfo, Resource[]>();
    for (const r of resources) {
      const info = kindInfoOf(r);
      groups.set(info, [...(groups.get(info) ?? []), r]);
    }
    const out: string[] = [];
    for (const [info, items] of groups) {
      out.push(renderTable(tableCells(info, items, { wide, kinds: groups.size, ...(showLabels && { showLabels }) })));
    }
    return out.join('\n\n');
  };
}

function nameOf(r: Resource): string {
  const info = kindInfoOf(r);
  return `${info.kind.toLowerCase()}${info.group === 'core' ? '' : `.${info.group}`}/${r.metadata.name}`;
}

const PRINTERS = {
  table: table(false),
  wide: table(true),
  yaml: (resources) => renderManifests(resources, 'yaml'),
  json: (resources, { single }) => {
    const text = renderManifests(resources, 'json');
    if (!single || resources.length !== 1) return text;
    const list = JSON.parse(text) as { items: unknown[] };
    return JSON.stringify(list.items[0], null, 2) + '\n';
  },
  name: (resources) => resources.map(nameOf).join('\n'),
} satisfies Record<string, Printer>;

const toStdout = (p: Printer): RegistryPrinter<FoundResources> => (found, io) => write(io.stdout, p(found.resources, found));

export const RESOURCE_PRINTERS = printerSet<FoundResources, keyof typeof PRINTERS>('table', {
  table: toStdout(PRINTERS.table),
  wide: toStdout(PRINTERS.wide),
  yaml: toStdout(PRINTERS.yaml),
  json: toStdout(PRINTERS.json),
  name: toStdout(PRINTERS.name),
});
