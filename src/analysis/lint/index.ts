// `tabby lint`'s analysis: rules (one file each in rules/, listed in registry.ts) checked over a lint context (the
// loaded engine and the resources with their positions), findings with suppression and counts, the config file,
// and SARIF. See README.md (the lint part) for how to add a rule.

export { buildLintContext, type LintInput } from './context.js';
export { CONFIG_FILE_NAME, parseLintConfig, type LintConfig } from './config.js';
export { RULES, ruleById } from './registry.js';
export { failsOn, runLint, selectRules, type RuleSelection, type RunOptions, type SelectedRule } from './run.js';
export { lintReportJson } from './report-json.js';
export { fileUri, refText, SARIF_SCHEMA_URI, toSarif, type SarifOptions } from './sarif.js';
export { IGNORE_ANNOTATION, IGNORE_REASON_ANNOTATION, suppressionOf, type Suppression } from './suppress.js';
export * from './types.js';
