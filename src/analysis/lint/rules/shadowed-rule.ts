// A rule that never decides any flow: every flow it matches is already decided by earlier rules — of its own
// policy, of earlier policies in the tier, of an earlier tier — at every endpoint its policy applies to, or it
// matches no flow at all there. Proven by the exact shadow analysis (../../shadow.ts), which names the rules that
// take its flows. The headline case is a Deny ordered after an Allow that admits the same traffic: the Deny never
// happens ("always give deny policies a lower order"). A rule shadowed only by rules of its own action changes
// nothing and is `redundant-rule` (info), not this one.

import type { PathSegment } from '../../../api/index.js';
import type { Direction, PolicyId } from '../../../engine/index.js';
import { shadowAnalysis, type Decider, type RuleShadow, type ShadowReport } from '../../shadow.js';
import type { FindingDraft, LintContext, LintRule, RelatedDraft } from '../types.js';

const reports = new WeakMap<LintContext, ShadowReport>();

/** The shadow analysis of a lint run, computed once for the rules that read it. */
export function shadowReportOf(context: LintContext): ShadowReport {
  let report = reports.get(context);
  if (!report) reports.set(context, (report = shadowAnalysis(context.engine)));
  return report;
}

/** `ingress[2]`, as traces name a rule. */
export const ruleName = (direction: Direction, index: number): string => `${direction}[${index}]`;

/**
 * Where a compiled rule is written. A Calico policy's rule i is spec.<direction>[i]; a Kubernetes policy's peers
 * and ports expand into several compiled rules, so its rules are located at spec.<ingress|egress> only.
 */
export function rulePath(policy: PolicyId, direction: Direction, index: number): PathSegment[] {
  return policy.kind.includes('Kubernetes') ? ['spec', direction] : ['spec', direction, index];
}

export function policyText(id: PolicyId): string {
  return `${id.kind} ${id.ref}`;
}

export function deciderText(d: Decider): string {
  return d.type === 'rule' ? `${policyText(d.policy)} ${ruleName(d.direction, d.rule)} (${d.action})` : `the end of tier ${d.tier} (Deny)`;
}

/** A list of at most `max` items, then how many more. */
export function listText(items: readonly string[], max = 3): string {
  const shown = items.slice(0, max).join(', ');
  return items.length > max ? `${shown} and ${items.length - max} more` : shown;
}

/** The related entry of a decider: the shadowing rule, or the Tier whose end-of-tier drop takes the flows. */
export function relatedOf(context: LintContext, d: Decider): RelatedDraft | undefined {
  if (d.type === 'end-of-tier') {
    const tier = context.find('Tier', undefined, d.tier);
    return tier ? { at: tier, path: ['spec'], message: `the end of tier ${d.tier} drops these flows` } : undefined;
  }
  const p = context.policyResource(d.policy);
  if (!p) return undefined;
  return { at: p.at, path: rulePath(d.policy, d.direction, d.rule), rule: ruleName(d.direction, d.rule), message: `${d.action} decides first` };
}

function draft(context: LintContext, r: RuleShadow): FindingDraft | undefined {
  const p = context.policyResource(r.policy);
  if (!p) return undefined;
  const where = `${r.endpoints} endpoint${r.endpoints === 1 ? '' : 's'}`;
  const name = ruleName(r.direction, r.rule);
  if (r.status === 'unreachable') {
    // A `services` rule may well match on a real cluster (Tabby models no Service objects): not a mistake to report.
    if (r.unmodelled) return undefined;
    return { at: p.at, path: rulePath(r.policy, r.direction, r.rule), message: `${name} (${r.action}) can never decide a flow: ${r.reason}`,
      fix: 'Correct the rule\'s match (a selector, net or port that exists) or delete the rule.' };
  }
  const related = r.shadowedBy.flatMap((d) => relatedOf(context, d) ?? []);
  const by = listText(r.shadowedBy.map(deciderText));
  const deny = r.action === 'Deny' && r.shadowedBy.some((d) => d.action === 'Allow');
  const message = `${name} (${r.action}) never decides a flow: at all ${where} its policy applies to, ${by} already decide${r.shadowedBy.length === 1 ? 's' : ''} ` +
    `everything it matches${deny ? ', so this Deny never happens' : ''}`;
  const fix = deny
    ? 'Order the Deny before the Allow that admits the same traffic (give deny policies a lower order, or move the rule up), or narrow the Allow.'
    : `Move ${name} before the rules that take its flows, or delete it.`;
  return { at: p.at, path: rulePath(r.policy, r.direction, r.rule), message, fix, related };
}

export const rule: LintRule = {
  id: 'shadowed-rule',
  severity: 'warning',
  title: 'A rule can never decide a flow: earlier rules already decide everything it matches',
  explanation:
    'Calico evaluates tiers by order, the policies of a tier by order then name, and the rules of a policy in ' +
    'order; the first rule that matches decides (Allow, Deny) or passes to the next tier, and Log never decides. ' +
    'A rule all of whose flows are taken before it — at every endpoint its policy applies to — has no effect, and ' +
    'if its action differs from theirs, what its author meant never happens: a Deny ordered after an Allow that ' +
    'admits the same traffic drops nothing. Tabby proves this exactly, over every class of address, port, ' +
    'protocol and ICMP type the policies can tell apart, and names the rules that take the flows. A rule whose ' +
    'own match is empty (a selector, net or port that matches nothing there) is reported with its reason.',
  bad: `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default, labels: {app: web}}
spec: {nodeName: node-1, containers: [{name: web}]}
status: {podIP: 10.0.0.1}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-web
spec:
  order: 100
  selector: app == 'web'
  ingress:
  - action: Allow
    protocol: TCP
    destination: {ports: [80]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: block-feed
spec:
  order: 200
  selector: app == 'web'
  ingress:
  - action: Deny
    protocol: TCP
    source: {nets: [203.0.113.0/24]}
    destination: {ports: [80]}`,
  good: `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default, labels: {app: web}}
spec: {nodeName: node-1, containers: [{name: web}]}
status: {podIP: 10.0.0.1}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-web
spec:
  order: 100
  selector: app == 'web'
  ingress:
  - action: Allow
    protocol: TCP
    destination: {ports: [80]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: block-feed
spec:
  order: 50
  selector: app == 'web'
  ingress:
  - action: Deny
    protocol: TCP
    source: {nets: [203.0.113.0/24]}
    destination: {ports: [80]}`,
  fix: 'Order the rule before the rules that take its flows (always give deny policies a lower order), or delete it.',
  check(context) {
    return shadowReportOf(context).rules
      .filter((r) => r.status === 'unreachable' || !r.sameAction)
      .flatMap((r) => draft(context, r) ?? []);
  },
};

/** The same-action case: shadowed only by rules that end its flows as it would. */
export function redundantDraft(context: LintContext, r: RuleShadow): FindingDraft | undefined {
  return r.status === 'shadowed' && r.sameAction ? draft(context, r) : undefined;
}
