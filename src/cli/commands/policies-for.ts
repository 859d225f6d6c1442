// `tabby policies-for`: the tiers and policies that apply to one endpoint, in evaluation order, per stage and
// direction, then its profiles. Exit 0 when the endpoint exists, 1 for invalid manifests or an unknown endpoint,
// 2 for usage errors.

import { policiesFor, type PoliciesForReport, type TierEntry } from '../../analysis/index.js';
import { CliError, UsageError, type CommandSpec } from '../command.js';
import { DATASTORE_OPTION } from '../datastore-access.js';
import { ENGINE_FILENAME_OPTION, loadEngineFrom } from '../engine-input.js';
import { chooseFormat, jsonPrinter, linesPrinter, outputOption, print, printerSet } from '../output/printers.js';

const PRINTERS = printerSet<PoliciesForReport, 'text' | 'json'>('text', {
  text: linesPrinter((r) => reportLines(r)),
  json: jsonPrinter(),
});

export const command: CommandSpec = {
  name: 'policies-for',
  summary: 'The tiers and policies that apply to an endpoint, in the order they are evaluated',
  usage: 'tabby policies-for ENDPOINT [-f PATH... | --datastore LOCATION] [-o text|json]',
  examples: [
    'tabby policies-for shop/frontend-5c7d -f cluster/',
    'tabby policies-for hep:node1-eth0 -f cluster/ -o json',
    'tabby policies-for 10.1.0.7 -f cluster/',
  ],
  options: {
    filename: ENGINE_FILENAME_OPTION,
    datastore: DATASTORE_OPTION,
    output: outputOption(PRINTERS),
  },
  positionals: true,
  async run(args, io) {
    const [endpoint, extra] = args.positionals;
    if (endpoint === undefined) {
      throw new UsageError('name the endpoint: namespace/name (a Pod or WorkloadEndpoint), hep:<name> or an address, e.g. tabby policies-for default/web-1 -f cluster/');
    }
    if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}': give one endpoint (see 'tabby policies-for --help')`);
    const format = chooseFormat(args, PRINTERS);
    const engine = await loadEngineFrom(args, io, 'policies-for', 1);
    const result = policiesFor(engine, endpoint);
    if (!result.ok) throw new CliError(result.issues.map((i) => i.message).join('; '));
    print(PRINTERS, format, result.value, io);
    return 0;
  },
};

function tierLines(tiers: readonly TierEntry[]): string[] {
  const lines: string[] = [];
  for (const t of tiers) {
    lines.push(`  tier ${t.tier} (end of tier: ${t.defaultAction})`);
    t.policies.forEach((p, i) => {
      const order = p.order === null ? 'no order' : `order ${p.order}`;
      lines.push(`    ${i + 1}. ${p.kind} ${p.policy}  ${order}${p.staged ? '  staged: not enforced' : ''}`);
    });
  }
  return lines;
}

export function reportLines(r: PoliciesForReport): string[] {
  const e = r.endpoint;
  const where = [e.node && `node ${e.node}`, e.interfaceName && `interface ${e.interfaceName}`, e.ips.join(', ') || 'no addresses']
    .filter(Boolean).join(', ');
  const profiles = r.profiles.map((p) => (p.defined ? p.name : `${p.name} (not defined: denies)`));
  const lines = [`${e.ref}  ${e.kind}${e.source !== e.kind ? ` from ${e.source}` : ''}; ${where}`];
  lines.push(`profiles: ${profiles.length > 0 ? profiles.join(', ') : 'none'}`);
  const hostStages = r.stages.length > 1;
  for (const s of r.stages) {
    for (const direction of ['ingress', 'egress'] as const) {
      // preDNAT policy is ingress only (§3.8): no egress list to show.
      if (s.stage === 'preDNAT' && direction === 'egress') continue;
      const tiers = s[direction];
      lines.push('', hostStages ? `${direction} (${s.stage} stage)` : direction);
      lines.push(...tierLines(tiers));
      if (s.stage === 'normal') {
        const then = profiles.length > 0 ? `profiles ${r.profiles.map((p) => p.name).join(', ')}, then drop` : 'drop (no profiles)';
        lines.push(tiers.length === 0 ? `  no policy applies: ${then}` : `  then, if every tier passes: ${then}`);
      } else if (tiers.length === 0) {
        lines.push(s.stage === 'forward' ? '  no policy applies: forwarded traffic is allowed' : '  no policy applies');
      }
    }
  }
  return lines;
}
