// Every lint rule, by ID, in the order they run and are listed (`tabby lint --explain`, SARIF tool.driver.rules).
// A rule is one file in rules/ exporting a LintRule; add it by importing it here and adding it to RULES.

import { rule as broadAllow } from './rules/broad-allow.js';
import { rule as kubernetesOrder } from './rules/kubernetes-order.js';
import { rule as lintIgnoreUnknownRule } from './rules/lint-ignore-unknown-rule.js';
import { rule as redundantRule } from './rules/redundant-rule.js';
import { rule as shadowedRule } from './rules/shadowed-rule.js';
import type { LintRule } from './types.js';

export const RULES: readonly LintRule[] = [
  lintIgnoreUnknownRule,
  shadowedRule,
  redundantRule,
  broadAllow,
  kubernetesOrder,
];

const BY_ID = new Map(RULES.map((r) => [r.id, r]));

export function ruleById(id: string): LintRule | undefined {
  return BY_ID.get(id);
}
