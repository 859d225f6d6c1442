// Every lint rule, by ID, in the order they run and are listed (`tabby lint --explain`, SARIF tool.driver.rules).
// A rule is one file in rules/ exporting a LintRule; add it by importing it here and adding it to RULES.

import { rule as lintIgnoreUnknownRule } from './rules/lint-ignore-unknown-rule.js';
import type { LintRule } from './types.js';

export const RULES: readonly LintRule[] = [
  lintIgnoreUnknownRule,
];

const BY_ID = new Map(RULES.map((r) => [r.id, r]));

export function ruleById(id: string): LintRule | undefined {
  return BY_ID.get(id);
}
