// The reachability impact of a dry run as lines a person reads: what is compared, each changed flow with the
// verdict before → after and the decision that now decides it, then the counts and what the probes could not
// show. Flows that differ only in the probe (TCP/8080 and any other TCP port, say) share a line. An outside
// address is named by its class ("203.0.113.0/24 (GlobalNetworkSet feed)"), with the address it was decided on.

import { decisionText, type FlowImpact, type ImpactProbe, type ReachabilityImpact, type VerdictChange } from '../../analysis/index.js';

/** Lines of flows printed; the JSON output lists up to the analysis limit. */
const TEXT_LINES = 50;
const NAMED_ENDPOINTS = 5;

function probeLabel(p: Pick<ImpactProbe, 'protocol' | 'port' | 'stands'>): string {
  if (p.port === undefined) return p.protocol;
  return p.stands === 'other' ? `${p.protocol} other ports` : `${p.protocol}/${p.port}`;
}

function probeListLabel(p: ImpactProbe): string {
  return p.stands === 'other' && p.port !== undefined ? `${p.protocol}/${p.port} (any other port)` : probeLabel(p);
}

/** Why the verdict changed: the end that now denies, or the ends that denied before and now allow. */
function reason(change: VerdictChange, from: string, to: string): string {
  const ends = [
    { direction: 'egress', ref: from, before: change.before.egress, after: change.after.egress },
    { direction: 'ingress', ref: to, before: change.before.ingress, after: change.after.ingress },
  ];
  if (change.after.verdict === 'Deny') {
    const end = ends.find((e) => e.after?.action === 'Deny');
    return end?.after ? `now denied at ${end.direction} of ${end.ref} by ${decisionText(end.after)}` : 'now denied';
  }
  const opened = ends.filter((e) => e.before?.action === 'Deny' && e.after?.action === 'Allow');
  return opened.length === 0
    ? 'now allowed'
    : `now allowed ${opened.map((e) => `at ${e.direction} of ${e.ref} by ${decisionText(e.after!)}`).join('; ')}`;
}

function sameVerdicts(a: VerdictChange, b: VerdictChange): boolean {
  return a.before.verdict === b.before.verdict && a.after.verdict === b.after.verdict;
}

interface Line {
  head: string;
  probes: string[];
  tail: string;
}

/** An end as printed: the ref, or the outside class with its representative address. */
function endText(f: FlowImpact, end: 'from' | 'to'): string {
  return f.external?.end === end ? `${f.external.class} [${f.external.address}]` : f[end];
}

function flowLines(flows: readonly FlowImpact[]): Line[] {
  const lines = new Map<string, Line>();
  for (const f of flows) {
    for (const [mode, change] of [['', f.enforced], ['pending: ', f.pending]] as const) {
      if (!change) continue;
      const head = `${mode}${endText(f, 'from')} → ${endText(f, 'to')}`;
      // A pending change that is the enforced change again adds nothing to read; JSON keeps both.
      if (mode !== '' && f.enforced && sameVerdicts(f.enforced, change)) continue;
      const tail = `${change.before.verdict} → ${change.after.verdict}, ${reason(change, f.from, f.to)}`;
      const key = `${head}\u0000${tail}`;
      const line = lines.get(key) ?? { head, probes: [], tail };
      line.probes.push(probeLabel(f));
      lines.set(key, line);
    }
  }
  return [...lines.values()];
}

function named(refs: readonly string[]): string {
  const more = refs.length > NAMED_ENDPOINTS ? ` and ${refs.length - NAMED_ENDPOINTS} more` : '';
  return refs.slice(0, NAMED_ENDPOINTS).join(', ') + more;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : word.endsWith('s') ? 'es' : 's'}`;

/** The report; empty when the resources do not change. */
export function impactLines(impact: ReachabilityImpact, scope: 'all' | 'before-first-failure' = 'all'): string[] {
  if (!impact.changed) return [];
  const out: string[] = [];
  const n = impact.endpoints.compared;
  const upTo = scope === 'before-first-failure' ? ' (of the changes before the first failure, where the run stops)' : '';
  const x = impact.external.length;
  const classes = impact.external.slice(0, NAMED_ENDPOINTS).map((c) => c.class).join('; ') + (x > NAMED_ENDPOINTS ? `; and ${x - NAMED_ENDPOINTS} more` : '');
  const outside = x === 0 ? '' : ` and ${plural(x, 'outside address class')} (${classes})`;
  out.push(`Between the ${plural(n, 'endpoint')} that exist before and after${outside}${upTo}; probes: ` +
    `${impact.probes.map(probeListLabel).join(', ') || 'none'}${impact.pendingCompared ? '; pending verdicts compared too' : ''}`);
  const lines = flowLines(impact.flows);
  for (const l of lines.slice(0, TEXT_LINES)) out.push(`${l.head} ${l.probes.join(', ')}: ${l.tail}`);
  const { counts } = impact;
  const total = counts.allowed + counts.denied;
  const pendingTotal = counts.pendingAllowed + counts.pendingDenied;
  if (total + pendingTotal === 0) {
    if (n === 0 || (n < 2 && x === 0)) out.push('no flow between existing endpoints to compare');
    else out.push(x === 0 ? 'no flow between existing endpoints changes its verdict'
      : 'no flow between existing endpoints, or between them and outside addresses, changes its verdict');
  } else {
    if (lines.length > TEXT_LINES) {
      const all = impact.flowsLeftOut > 0 ? `the first ${impact.flows.length} flows` : 'every flow';
      out.push(`… ${plural(lines.length - TEXT_LINES, 'more line')} (-o json lists ${all})`);
    } else if (impact.flowsLeftOut > 0) {
      out.push(`… ${plural(impact.flowsLeftOut, 'more changed flow')} not listed`);
    }
    let counted = `${plural(counts.allowed, 'flow')} newly allowed, ${counts.denied} newly denied`;
    if (impact.pendingCompared) {
      counted += `; pending verdicts (staged policies enforced): ${counts.pendingAllowed} newly allowed, ${counts.pendingDenied} newly denied`;
    }
    out.push(counted);
  }
  if (impact.endpoints.added.length > 0) out.push(`new endpoints, not compared: ${named(impact.endpoints.added)}`);
  if (impact.endpoints.removed.length > 0) out.push(`endpoints that go away, not compared: ${named(impact.endpoints.removed)}`);
  for (const note of impact.notes) out.push(`note: ${note}`);
  return out;
}
