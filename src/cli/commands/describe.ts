// `tabby describe KIND NAME`: one object as kubectl describe shows it (Name, Namespace, Labels, Annotations, …),
// plus what Tabby knows about it (analysis/describe.ts): for a policy the endpoints it selects, its place in its
// tier and its rules — with hit counts when the agents of those endpoints' nodes run (rule-hits.ts); for an
// endpoint the policies per stage and direction; for a tier its policies in order; for a network set the rules
// that select it. Exit 0, 3 when the object is not there, 1 for invalid manifests, 2 for usage errors.

import { displayText, escapeControls, isPrintable, printableJson, quote, type KindInfo } from '../../api/index.js';
import {
  describeResource, type DescribeReport, type PolicyDescription, type PolicyRef, type RuleSummary,
} from '../../analysis/index.js';
import { CliError, EXIT, stringOption, UsageError, type CommandSpec } from '../command.js';
import { NETNS_PREFIX_OPTION, STATE_DIR_OPTION } from '../dataplane-access.js';
import { DATASTORE_OPTION, kindArgument, NAMESPACE_OPTION } from '../datastore-access.js';
import { ENGINE_FILENAME_OPTION, loadInputFrom } from '../engine-input.js';
import { withDerived } from '../derived-resources.js';
import { chooseFormat, jsonPrinter, linesPrinter, outputOption, print, printerSet } from '../output/printers.js';
import { policyRuleHits, policyRuleKey, type HitCounts, type RuleHits } from '../rule-hits.js';
import { rbacDescribeLines } from '../output/rbac-describe.js';
import { reportLines as policiesForLines } from './policies-for.js';

/** The report with, for a policy, the hit counts: `hits` per rule (null without a running agent). */
type Described = DescribeReport & { hitCounts?: { available: boolean; nodes: string[]; reason: string | null } };

const PRINTERS = printerSet<Described, 'text' | 'json'>('text', { text: linesPrinter(describeLines), json: jsonPrinter() });

export const command: CommandSpec = {
  name: 'describe',
  summary: 'Show one object and what Tabby knows about it: selected endpoints, tier placement, rules and hit counts, applied policies',
  usage: 'tabby describe KIND NAME | KIND/NAME [-n NS] [-f PATH... | --datastore LOCATION] [-o text|json] [--state-dir DIR] [--netns-prefix PREFIX]',
  examples: [
    'tabby describe globalnetworkpolicy allow-dns',
    'tabby describe np web -n shop -f cluster/',
    'tabby describe pod shop/web-1 -o json   # the same as: tabby describe pod web-1 -n shop -o json',
    'tabby describe tier security',
    'tabby describe globalnetworkset threat-feed',
  ],
  options: {
    namespace: NAMESPACE_OPTION,
    filename: ENGINE_FILENAME_OPTION,
    datastore: DATASTORE_OPTION,
    output: outputOption(PRINTERS),
    'state-dir': STATE_DIR_OPTION,
    'netns-prefix': NETNS_PREFIX_OPTION,
  },
  positionals: true,
  async run(args, io) {
    const [kindText, nameText, extra] = args.positionals;
    if (kindText === undefined) throw new UsageError('what to describe? e.g. tabby describe globalnetworkpolicy allow-dns (see tabby describe --help)');
    let kind: KindInfo;
    let name: string | undefined = nameText;
    let used = 2;
    if (kindText.includes('/') && nameText === undefined) {
      // kubectl's KIND/NAME, as `get -o name` prints it.
      const slash = kindText.indexOf('/');
      kind = kindArgument(kindText.slice(0, slash), 'describe');
      name = kindText.slice(slash + 1);
      used = 1;
    } else {
      kind = kindArgument(kindText, 'describe');
    }
    if (name === undefined || name === '') throw new UsageError(`which ${kind.kind}? e.g. tabby describe ${kind.cliNames[0]!} NAME`);
    if (extra !== undefined && used === 2) throw new UsageError(`unexpected argument '${extra}': describe one object`);
    let namespace = stringOption(args, 'namespace');
    if (!kind.namespaced && namespace !== undefined) throw new UsageError(`${kind.kind} is not namespaced; drop -n ${namespace}`);
    if (kind.namespaced && name.includes('/')) {
      // `pod shop/web-1`: the form endpoints are named by in explain and policies-for.
      const [ns, rest] = [name.slice(0, name.indexOf('/')), name.slice(name.indexOf('/') + 1)];
      if (namespace !== undefined && namespace !== ns) throw new UsageError(`the name says namespace ${ns} but -n says ${namespace}`);
      namespace = ns;
      name = rest;
    }
    const format = chooseFormat(args, PRINTERS);
    const { engine, resources } = await loadInputFrom(args, io, 'describe', used);
    // Also what Calico derives (kns.*/ksa.* profiles, a pod's endpoint), as `tabby get` lists it: derived-resources.ts.
    const result = describeResource(engine, withDerived(resources), { kind: kind.key, name, ...(namespace !== undefined && { namespace }) });
    if (!result.ok) {
      throw new CliError(`${result.issues[0]!.message} (tabby get ${kind.cliNames[0]!}${kind.namespaced ? ' -A' : ''} lists what exists)`, EXIT.notFound);
    }
    const report: Described = result.value;
    if (report.about === 'policy' && report.policy) {
      const nodes = report.policy.selects.map((e) => e.node).filter((n): n is string => n !== null);
      const hits = await policyRuleHits(args, io, nodes);
      attachHits(report.policy, hits);
      report.hitCounts = hits.available
        ? { available: true, nodes: hits.nodes, reason: null }
        : { available: false, nodes: [], reason: hits.reason };
    }
    print(PRINTERS, format, report, io);
    return 0;
  },
};

function attachHits(p: PolicyDescription, hits: HitCounts): void {
  for (const direction of ['ingress', 'egress'] as const) {
    for (const r of p.rules[direction] as Array<RuleSummary & { hits?: RuleHits | null }>) {
      r.hits = hits.available ? hits.byRule.get(policyRuleKey(p.id.kind, p.id.policy, direction, r.index)) ?? { packets: 0, bytes: 0 } : null;
    }
  }
}

const KEY_WIDTH = 14;

function field(key: string, value: string): string {
  return `${(key + ':').padEnd(KEY_WIDTH)}${value}`;
}

/** Labels and annotations as kubectl describe prints them: the first beside the key, the rest below it. */
function mapField(key: string, map: Record<string, string>): string[] {
  // Annotation values are free text: one holding a newline or an escape is shown quoted, so it cannot forge a line.
  const entries = Object.entries(map).map(([k, v]) => `${displayText(k)}=${isPrintable(v) ? v : quote(v)}`);
  if (entries.length === 0) return [field(key, '<none>')];
  return [field(key, entries[0]!), ...entries.slice(1).map((e) => ' '.repeat(KEY_WIDTH) + e)];
}

function policyName(p: PolicyRef): string {
  return `${p.kind} ${p.policy}  ${p.order === null ? 'no order' : `order ${p.order}`}${p.staged ? '  staged: not enforced' : ''}`;
}

function hitText(h: RuleHits | null | undefined): string {
  return h ? `   hits: ${h.packets} packets, ${h.bytes} bytes` : '';
}

function policyLines(r: Extract<Described, { about: 'policy' }>): string[] {
  const p = r.policy!;
  const pl = p.placement;
  const tierOrder = pl.tierOrder === null ? 'no order' : `order ${pl.tierOrder}`;
  const lines = [
    field('Tier', `${pl.tier} (${pl.tierExists ? tierOrder : 'no Tier resource: sorted last'}, default action ${pl.defaultAction}); policy ${pl.position} of ${pl.count}`),
  ];
  pl.before.forEach((b, i) => lines.push(`${i === 0 ? '  Before:'.padEnd(KEY_WIDTH) : ' '.repeat(KEY_WIDTH)}${i + 1}. ${policyName(b)}`));
  pl.after.forEach((a, i) => lines.push(`${i === 0 ? '  After:'.padEnd(KEY_WIDTH) : ' '.repeat(KEY_WIDTH)}${pl.position + i + 1}. ${policyName(a)}`));
  lines.push(field('Order', p.id.order === null ? '<none>' : String(p.id.order)));
  lines.push(field('Selector', p.selector));
  lines.push(field('Types', p.types.map((t) => (t === 'ingress' ? 'Ingress' : 'Egress')).join(', ') || '<none>'));
  const flags = [p.id.staged && 'staged (not enforced)', p.doNotTrack && 'doNotTrack', p.preDNAT && 'preDNAT', p.applyOnForward && 'applyOnForward'].filter(Boolean);
  if (flags.length > 0) lines.push(field('Flags', flags.join(', ')));
  lines.push(field('Selects', `${p.selects.length} endpoint${p.selects.length === 1 ? '' : 's'}`));
  for (const e of p.selects) {
    lines.push(`  ${e.ref}  ${e.ips.join(', ') || 'no addresses'}${e.node ? `  node ${e.node}` : ''}`);
  }
  for (const direction of ['ingress', 'egress'] as const) {
    const rules = p.rules[direction] as Array<RuleSummary & { hits?: RuleHits | null }>;
    const title = direction === 'ingress' ? 'Ingress rules' : 'Egress rules';
    if (rules.length === 0) {
      lines.push(field(title, p.types.includes(direction) ? '<none> (selected endpoints: no rule matches, on to the end of the tier)' : '<none>'));
      continue;
    }
    lines.push(`${title}:`);
    for (const rule of rules) lines.push(`  ${rule.index}. ${rule.text}${hitText(rule.hits)}`);
  }
  const h = r.hitCounts;
  if (h) lines.push(field('Hit counts', h.available ? `from the agents of ${h.nodes.join(', ')}` : h.reason!));
  return lines;
}

function describeLines(r: Described): string[] {
  const o = r.object;
  const lines = [field('Name', displayText(o.name))];
  if (o.namespace !== null) lines.push(field('Namespace', o.namespace));
  lines.push(field('Kind', `${o.kind} (${o.apiVersion})`));
  lines.push(...mapField('Labels', o.labels), ...mapField('Annotations', o.annotations));
  if (o.resourceVersion !== null) lines.push(field('Revision', o.resourceVersion));
  switch (r.about) {
    case 'policy':
      if (r.policy) lines.push(...policyLines(r));
      break;
    case 'endpoint':
      if (r.endpoint) {
        lines.push(...mapField('Effective labels', r.endpoint.endpoint.labels).map((l) => l.replace(/^Effective labels:/, 'Effective:    ')));
        lines.push('', ...policiesForLines(r.endpoint));
      }
      break;
    case 'tier': {
      const t = r.tier;
      lines.push(field('Order', t.order === null ? '<none> (sorted after every ordered tier)' : String(t.order)));
      lines.push(field('Default', `${t.defaultAction} (when no policy of the tier decides)`));
      lines.push(field('Policies', t.policies.length === 0 ? '<none>' : `${t.policies.length}, in evaluation order`));
      t.policies.forEach((p, i) => lines.push(`  ${i + 1}. ${policyName(p)}`));
      break;
    }
    case 'network-set': {
      const s = r.networkSet;
      if (!s) break;
      lines.push(field('Nets', s.nets.join(', ') || '<none>'));
      lines.push(...mapField('Effective', s.labels));
      lines.push(field('Selected by', s.selectedBy.length === 0 ? '<none> (no rule selector matches it)' : `${s.selectedBy.length} rule${s.selectedBy.length === 1 ? '' : 's'}`));
      for (const ref of s.selectedBy) lines.push(`  ${ref.policy.kind} ${ref.policy.policy}  ${ref.direction} rule ${ref.index} (${ref.side})`);
      break;
    }
    case 'rbac':
      lines.push(...rbacDescribeLines(r.rbac));
      break;
    case 'object':
      if (r.spec !== null) lines.push('Spec:', ...printableJson(r.spec, 2).split('\n').map((l) => `  ${l}`));
      break;
  }
  for (const n of r.notes) lines.push(`Note: ${escapeControls(n)}`);
  return lines;
}

