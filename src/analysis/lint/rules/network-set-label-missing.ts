// A rule selecting a network-set label that no network set carries: the threat-feed deny that blocks nothing.

import { emptySelectors } from '../selector-scan.js';
import type { LintRule } from '../types.js';

export const rule: LintRule = {
  id: 'network-set-label-missing',
  severity: 'warning',
  title: 'A rule selects a network-set label that no network set carries',
  explanation:
    'Rules reach addresses outside the cluster through NetworkSets and GlobalNetworkSets: a rule selector matches ' +
    'the nets of every network set whose labels it matches (§2.6). When no network set carries the label (the feed ' +
    'was never applied, was renamed, or its labels differ) and no endpoint carries it either, the rule matches ' +
    'nothing: a threat-feed Deny then blocks nothing, silently. Tabby reports a rule selector that matches no ' +
    'member when every label it requires is carried by no endpoint (so it was meant for network sets) and either ' +
    'a network set carries the key with another value or the rule is a Deny or Log.',
  bad: `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: block-threat-feed
spec:
  selector: all()
  types: [Egress]
  egress:
    - action: Deny
      destination:
        selector: feed == 'threat-intel'
    - action: Pass`,
  good: `apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata:
  name: threat-feed
  labels:
    feed: threat-intel
spec:
  nets: [198.51.100.0/24]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: block-threat-feed
spec:
  selector: all()
  types: [Egress]
  egress:
    - action: Deny
      destination:
        selector: feed == 'threat-intel'
    - action: Pass`,
  fix: 'Apply the network set with the label the rule selects, or correct the label in the rule to the one the network set carries.',
  check(ctx) {
    return emptySelectors(ctx).filter((e) => e.networkSetOnly && e.rule !== undefined).map((e) => ({
      at: e.lp.at,
      path: e.path,
      message: `${e.direction}[${e.rule!.index}] ${e.rule!.action} ${e.side} selects ${e.selector}, which no network set carries: ${e.reason}`,
      ...(e.suggestion ? { fix: e.suggestion } : {}),
    }));
  },
};
