// Selectors (a policy's, a rule peer's selector, namespaceSelector, serviceAccounts) that match nothing in the
// input, with the label that explains it and the nearest existing key or value. See selector-scan.ts.

import { policyText } from '../facts.js';
import { emptySelectors } from '../selector-scan.js';
import type { LintRule } from '../types.js';

export const rule: LintRule = {
  id: 'unmatched-selector',
  severity: 'warning',
  title: 'A selector matches no endpoint, namespace or network set',
  explanation:
    'A policy whose selector matches no endpoint applies to nothing; a rule whose source or destination selector ' +
    '(with its namespaceSelector and serviceAccounts, as Calico combines them, §1.8) matches nothing never ' +
    'matches any traffic, so an Allow admits nothing and a Deny blocks nothing. It is almost always a typo in a ' +
    'label key or value, or a label the workloads do not carry. Tabby asks the engine (the policy\'s endpoints, ' +
    'the members of the rule\'s IP set) and names the label no object has, with the nearest one that exists. Run ' +
    'lint on the whole cluster (workloads, namespaces, network sets): on policies alone nothing can be matched ' +
    'and the rule stays silent.',
  bad: `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: allow-frontend
  namespace: shop
spec:
  selector: app == 'backend'
  ingress:
    - action: Allow
      source:
        selector: app == 'fronted'`,
  good: `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: allow-frontend
  namespace: shop
spec:
  selector: app == 'backend'
  ingress:
    - action: Allow
      source:
        selector: app == 'frontend'`,
  fix: 'Correct the label key or value to one the intended workloads carry (tabby select SELECTOR -f … shows what a selector matches).',
  check(ctx) {
    return emptySelectors(ctx).filter((e) => !e.networkSetOnly).map((e) => ({
      at: e.lp.at,
      path: e.path,
      message: e.rule === undefined
        ? `the policy's selector matches no endpoint: ${e.reason}`
        : `${e.direction}[${e.rule.index}] ${e.side} matches nothing (${e.selector}): ${e.reason}`,
      ...(e.suggestion ? { fix: `${e.suggestion} (${policyText(e.lp)})` } : {}),
    }));
  },
};
