// A broad allow (every peer, every port and protocol) in an early policy that leaves later policies for the same
// endpoints nothing to decide: the seed's "a low-order broad allow overrides a specific deny". Built on the exact
// shadow analysis (../../shadow.ts): a later policy is reported when none of its rules decides any flow at any of
// its endpoints and the broad allow is among the rules that take their flows.

import type { CompiledRule, EntityMatch, PolicyEngine } from '../../../engine/index.js';
import type { Decider } from '../../shadow.js';
import type { FindingDraft, LintRule, RelatedDraft } from '../types.js';
import { listText, policyText, ruleName, rulePath, shadowReportOf } from './shadowed-rule.js';

const POD = `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default, labels: {app: web}}
spec: {nodeName: node-1, containers: [{name: web}]}
status: {podIP: 10.0.0.1}
---
`;

/** No nets, ports or negations, and selectors (if any) that are all(): the side matches every address. */
function everyAddress(engine: PolicyEngine, e: EntityMatch): boolean {
  if (e.nets.length + e.notNets.length + e.notIpSets.length + e.ports.length + e.notPorts.length > 0) return false;
  if (e.namedPortIpSets.length + e.notNamedPortIpSets.length > 0) return false;
  return e.ipSets.every((id) => engine.ipSets().find((s) => s.id === id)?.selector === 'all()');
}

/** An Allow of every flow: no protocol, no ICMP match, and both sides every address. */
export function isBroadAllow(engine: PolicyEngine, rule: CompiledRule): boolean {
  return rule.action === 'Allow' && rule.protocol === undefined && rule.notProtocol === undefined && rule.icmp === undefined &&
    rule.notIcmp === undefined && rule.ipVersion === undefined && everyAddress(engine, rule.src) && everyAddress(engine, rule.dst);
}

const key = (d: Extract<Decider, { type: 'rule' }>): string => `${policyText(d.policy)}|${d.direction}|${d.rule}`;

export const rule: LintRule = {
  id: 'broad-allow',
  severity: 'warning',
  title: 'A broad allow leaves later policies for the same endpoints nothing to decide',
  explanation:
    'A rule that allows every peer on every port and protocol decides every flow of the endpoints its policy ' +
    'selects. Policies after it (a higher order, or a later tier it does not pass to) for the same endpoints never ' +
    'see a flow: their denies drop nothing and their allows grant nothing. This is how one low-order ' +
    '"allow everything" silently disables a specific deny written later by another team.',
  bad: `${POD}apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-all
spec:
  order: 10
  selector: all()
  ingress:
  - action: Allow
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: deny-feed
spec:
  order: 100
  selector: app == 'web'
  ingress:
  - action: Deny
    source: {nets: [203.0.113.0/24]}`,
  good: `${POD}apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-all
spec:
  order: 1000
  selector: all()
  ingress:
  - action: Allow
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: deny-feed
spec:
  order: 100
  selector: app == 'web'
  ingress:
  - action: Deny
    source: {nets: [203.0.113.0/24]}`,
  fix: 'Give the broad allow a higher order than the specific policies (or move it to a later tier), or narrow it to the peers and ports it is for.',
  check(context) {
    const report = shadowReportOf(context);
    const engine = context.engine;
    // Per broad allow rule: the later policies (and direction) all of whose rules it helps shadow.
    const silenced = new Map<string, { by: Extract<Decider, { type: 'rule' }>; policies: Set<string>; related: RelatedDraft[] }>();
    const shadowsOf = new Map<string, typeof report.rules>();
    for (const r of report.rules) {
      const k = `${policyText(r.policy)}|${r.direction}`;
      shadowsOf.set(k, [...(shadowsOf.get(k) ?? []), r]);
    }
    for (const c of report.policies) {
      if (c.endpoints === 0 || c.rules === 0 || c.decides) continue;
      const rules = shadowsOf.get(`${policyText(c.policy)}|${c.direction}`) ?? [];
      if (rules.length < c.rules || rules.some((r) => r.status !== 'shadowed')) continue;
      // The broad allows that take flows from every one of its rules.
      const candidates = rules[0]!.shadowedBy.filter((d): d is Extract<Decider, { type: 'rule' }> =>
        d.type === 'rule' && d.action === 'Allow' && (d.policy.ref !== c.policy.ref || d.policy.kind !== c.policy.kind) &&
        isBroadAllow(engine, engine.policy(d.policy)?.rules[d.direction][d.rule] ?? ({ action: 'Deny' } as CompiledRule)));
      for (const d of candidates) {
        if (!rules.every((r) => r.shadowedBy.some((x) => x.type === 'rule' && key(x) === key(d)))) continue;
        const entry = silenced.get(key(d)) ?? { by: d, policies: new Set<string>(), related: [] };
        const text = policyText(c.policy);
        if (!entry.policies.has(text)) {
          entry.policies.add(text);
          const at = context.policyResource(c.policy)?.at;
          if (at) entry.related.push({ at, path: ['spec', c.direction], message: `decides no ${c.direction} flow` });
        }
        silenced.set(key(d), entry);
      }
    }
    const out: FindingDraft[] = [];
    for (const { by, policies, related } of silenced.values()) {
      const at = context.policyResource(by.policy)?.at;
      if (!at) continue;
      out.push({
        at,
        path: rulePath(by.policy, by.direction, by.rule),
        message: `${ruleName(by.direction, by.rule)} allows every ${by.direction} flow of the endpoints it selects, so ${listText([...policies])} ` +
          `after it can never decide any flow for them`,
        related,
      });
    }
    return out;
  },
};
