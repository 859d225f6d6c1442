// Every lint rule, by ID, in the order they run and are listed (`tabby lint --list-rules`, SARIF
// tool.driver.rules). A rule is one file in rules/ exporting `rule: LintRule`; add it by importing it here and
// adding it to RULES.

import { rule as broadAllow } from './rules/broad-allow.js';
import { rule as defaultDenySystemNamespace } from './rules/default-deny-system-namespace.js';
import { rule as defaultDenyWithoutDns } from './rules/default-deny-without-dns.js';
import { rule as egressAllowAnywhere } from './rules/egress-allow-anywhere.js';
import { rule as endpointEgressUncontrolled } from './rules/endpoint-egress-uncontrolled.js';
import { rule as endpointWithoutIngressPolicy } from './rules/endpoint-without-ingress-policy.js';
import { rule as hostCriticalFlowCut } from './rules/host-critical-flow-cut.js';
import { rule as k8sPeerOr } from './rules/k8s-peer-or.js';
import { rule as kubernetesOrder } from './rules/kubernetes-order.js';
import { rule as lintIgnoreUnknownRule } from './rules/lint-ignore-unknown-rule.js';
import { rule as logOnlyPolicy } from './rules/log-only-policy.js';
import { rule as networkSetLabelMissing } from './rules/network-set-label-missing.js';
import { rule as passToProfile } from './rules/pass-to-profile.js';
import { rule as redundantRule } from './rules/redundant-rule.js';
import { rule as ruleDirectionNotInTypes } from './rules/rule-direction-not-in-types.js';
import { rule as shadowedRule } from './rules/shadowed-rule.js';
import { rule as stagedPolicyNotPromoted } from './rules/staged-policy-not-promoted.js';
import { rule as templatePlaceholder } from './rules/template-placeholder.js';
import { rule as tierDefaultPass } from './rules/tier-default-pass.js';
import { rule as unmatchedSelector } from './rules/unmatched-selector.js';
import type { LintRule } from './types.js';

export const RULES: readonly LintRule[] = [
  defaultDenyWithoutDns,
  defaultDenySystemNamespace,
  unmatchedSelector,
  networkSetLabelMissing,
  ruleDirectionNotInTypes,
  logOnlyPolicy,
  passToProfile,
  tierDefaultPass,
  templatePlaceholder,
  k8sPeerOr,
  endpointWithoutIngressPolicy,
  endpointEgressUncontrolled,
  egressAllowAnywhere,
  stagedPolicyNotPromoted,
  lintIgnoreUnknownRule,
  shadowedRule,
  redundantRule,
  broadAllow,
  kubernetesOrder,
  hostCriticalFlowCut,
];

const BY_ID = new Map(RULES.map((r) => [r.id, r]));

export function ruleById(id: string): LintRule | undefined {
  return BY_ID.get(id);
}
