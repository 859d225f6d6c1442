// A rule shadowed only by earlier rules of its own action (shadowed-rule.ts has the analysis): deleting it changes
// no verdict. Info, not a warning: overlapping allows written by different teams are normal, but the rule is dead.

import type { LintRule } from '../types.js';
import { redundantDraft, shadowReportOf } from './shadowed-rule.js';

export const rule: LintRule = {
  id: 'redundant-rule',
  severity: 'info',
  title: 'A rule is redundant: earlier rules with the same action already decide everything it matches',
  explanation:
    'Every flow this rule matches is decided before it — by earlier rules of its policy, earlier policies or an ' +
    'earlier tier — with the same action it has, at every endpoint its policy applies to. Deleting it changes no ' +
    'verdict. Usually harmless (two teams allowing DNS), sometimes a sign that a rule meant to be narrower is not.',
  bad: `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default, labels: {app: web}}
spec: {nodeName: node-1, containers: [{name: web}]}
status: {podIP: 10.0.0.1}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-dns
spec:
  selector: all()
  egress:
  - action: Allow
    protocol: UDP
    destination: {ports: [53]}
  - action: Allow
    protocol: UDP
    destination: {ports: [53], selector: app == 'web'}`,
  good: `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default, labels: {app: web}}
spec: {nodeName: node-1, containers: [{name: web}]}
status: {podIP: 10.0.0.1}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-dns
spec:
  selector: all()
  egress:
  - action: Allow
    protocol: UDP
    destination: {ports: [53]}`,
  fix: 'Delete the rule, or narrow the earlier rules if this one was meant to decide something.',
  check(context) {
    return shadowReportOf(context).rules.flatMap((r) => redundantDraft(context, r) ?? []);
  },
};
