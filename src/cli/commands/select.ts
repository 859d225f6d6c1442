// `tabby select`: the endpoints and network sets a selector matches, with the effective labels it saw (own
// labels and those inherited from profiles: pcns.*, pcsa.*). Exit 0 whether or not anything matches, 1 for an
// invalid selector or invalid manifests, 2 for usage errors.

import { selectMatches, type SelectReport } from '../../analysis/index.js';
import { CliError, EXIT, stringOption, UsageError, type CommandSpec } from '../command.js';
import { DATASTORE_OPTION } from '../datastore-access.js';
import { ENGINE_FILENAME_OPTION, loadEngineFrom } from '../engine-input.js';
import { chooseFormat, jsonPrinter, linesPrinter, outputOption, print, printerSet } from '../output/printers.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

const PRINTERS = printerSet<SelectReport, 'text' | 'json'>('text', { text: linesPrinter(reportLines), json: jsonPrinter() });

export const command: CommandSpec = {
  name: 'select',
  summary: 'The endpoints and network sets a selector matches, with their effective labels',
  usage: "tabby select 'SELECTOR' [-f PATH... | --datastore LOCATION] [-n NAMESPACE] [-o text|json]",
  examples: [
    "tabby select \"app == 'web'\" -f cluster/",
    "tabby select 'pcns.team == \"payments\" && has(version)' -f cluster/ -o json",
    "tabby select \"role == 'db'\" -n shop -f cluster/",
  ],
  options: {
    filename: ENGINE_FILENAME_OPTION,
    datastore: DATASTORE_OPTION,
    namespace: {
      type: 'string', short: 'n', valueName: 'NS',
      description: 'Evaluate as a rule selector of a NetworkPolicy in NS does (only that namespace)',
    },
    output: outputOption(PRINTERS),
  },
  positionals: true,
  async run(args, io) {
    const [selector, extra] = args.positionals;
    if (selector === undefined) throw new UsageError("give the selector, quoted: tabby select \"app == 'web'\" -f cluster/");
    if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}': quote the selector as one argument`);
    const format = chooseFormat(args, PRINTERS);
    const namespace = stringOption(args, 'namespace');
    if (namespace !== undefined && !DNS_LABEL.test(namespace)) throw new UsageError(`--namespace '${namespace}' is not a namespace name`);
    const engine = await loadEngineFrom(args, io, 'select', 1);
    const result = selectMatches(engine, selector, namespace === undefined ? {} : { namespace });
    if (!result.ok) throw new CliError(`invalid selector: ${result.issues.map((i) => i.message).join('; ')}`, EXIT.failure, true);
    print(PRINTERS, format, result.value, io);
    return 0;
  },
};

function labelText(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  return entries.length === 0 ? '(no labels)' : entries.map(([k, v]) => `${k}=${v}`).join(' ');
}

function reportLines(r: SelectReport): string[] {
  const lines = [`selector: ${r.selector}`, '', `endpoints: ${r.endpoints.length}`];
  for (const e of r.endpoints) {
    lines.push(`  ${e.ref}  ${e.ips.join(', ') || 'no addresses'}`, `    ${labelText(e.labels)}`);
  }
  lines.push('', `network sets: ${r.networkSets.length}`);
  for (const s of r.networkSets) {
    const name = s.namespace === null ? s.name : `${s.namespace}/${s.name}`;
    lines.push(`  ${s.kind} ${name}  ${s.nets.join(', ') || 'no nets'}`, `    ${labelText(s.labels)}`);
  }
  return lines;
}
