// `.tabby-lint.yaml`: which rules run, at which severity, and when the run fails. Read strictly, as manifests
// are: an unknown key, a wrong type, an unknown rule ID or severity is an issue at its file:line:col, and a
// config with any issue is not used (a lint run that silently ignored half its config would pass CI wrongly).
//
//   # .tabby-lint.yaml
//   disable: [endpoint-without-ingress-policy]    # or enable: [...] (only those run); not both
//   severity:                                     # a rule's severity instead of its default
//     egress-uncontrolled: error
//   failOn: warning                               # error | warning | info (default warning)
//   settings:
//     manyEndpoints: 2                            # "a policy selecting many endpoints" starts here
//     stagedMaxAgeDays: 30                        # staged policies older than this are reported
//
// Command-line flags win over the file: --enable/--disable replace its selection, --fail-on its failOn.

import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';

import type { Issue, SourcePosition } from '../../api/index.js';
import { nearest } from './nearest.js';
import { RULES } from './registry.js';
import { SEVERITIES, type LintSettings, type Severity } from './types.js';

export const CONFIG_FILE_NAME = '.tabby-lint.yaml';

export interface LintConfig {
  enable?: string[];
  disable?: string[];
  severity?: Record<string, Severity>;
  failOn?: Severity;
  settings?: Partial<Omit<LintSettings, 'now'>>;
}

const TOP_KEYS = ['enable', 'disable', 'severity', 'failOn', 'settings'] as const;
const SETTING_KEYS = { manyEndpoints: { min: 1, max: 1_000_000 }, stagedMaxAgeDays: { min: 0, max: 36_500 } } as const;

export function parseLintConfig(
  text: string,
  file: string,
  ruleIds: ReadonlySet<string> = new Set(RULES.map((r) => r.id)),
): { ok: true; value: LintConfig } | { ok: false; issues: Issue[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const issues: Issue[] = [];
  const at = (node: Node | null | undefined): SourcePosition => {
    const { line, col } = lines.linePos(node?.range?.[0] ?? 0);
    return { file, line, col };
  };
  const issue = (path: Array<string | number>, node: Node | null | undefined, message: string): void => {
    issues.push({ code: 'lint-config.invalid', path, message, position: at(node) });
  };
  for (const e of doc.errors) {
    const { line, col } = lines.linePos(e.pos[0]);
    issues.push({ code: 'yaml.syntax', path: [], message: e.message.split('\n')[0]!, position: { file, line, col } });
  }
  if (issues.length > 0) return { ok: false, issues };
  const root = doc.contents;
  const config: LintConfig = {};
  if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) return { ok: true, value: config };
  if (!isMap(root)) {
    issue([], root, `expected a mapping with keys ${TOP_KEYS.join(', ')}`);
    return { ok: false, issues };
  }

  const ruleId = (path: Array<string | number>, node: Node | null | undefined): string | undefined => {
    if (!isScalar(node) || typeof node.value !== 'string') {
      issue(path, node, 'expected a rule ID (a string)');
      return undefined;
    }
    if (!ruleIds.has(node.value)) {
      const near = nearest(node.value, ruleIds);
      issue(path, node, `unknown rule '${node.value}'${near ? ` (did you mean '${near}'?)` : ''}; tabby lint --list-rules lists the rules`);
      return undefined;
    }
    return node.value;
  };
  const severity = (path: Array<string | number>, node: Node | null | undefined): Severity | undefined => {
    const v = isScalar(node) ? node.value : undefined;
    if (typeof v === 'string' && (SEVERITIES as readonly string[]).includes(v)) return v as Severity;
    issue(path, node, `expected a severity: ${SEVERITIES.slice().reverse().join(', ')}`);
    return undefined;
  };

  for (const pair of root.items) {
    const keyNode = pair.key as Node | null;
    const key = isScalar(keyNode) ? String(keyNode.value) : undefined;
    const value = pair.value as Node | null;
    if (key === undefined || !(TOP_KEYS as readonly string[]).includes(key)) {
      const near = key === undefined ? undefined : nearest(key, TOP_KEYS);
      issue(key === undefined ? [] : [key], keyNode, `unknown key${key === undefined ? '' : ` '${key}'`}${near ? ` (did you mean '${near}'?)` : ''}; allowed are ${TOP_KEYS.join(', ')}`);
      continue;
    }
    switch (key) {
      case 'enable':
      case 'disable': {
        if (!isSeq(value)) {
          issue([key], value ?? keyNode, 'expected a list of rule IDs');
          break;
        }
        const ids: string[] = [];
        value.items.forEach((item, i) => {
          const id = ruleId([key, i], item as Node);
          if (id !== undefined) ids.push(id);
        });
        config[key] = ids;
        break;
      }
      case 'severity': {
        if (!isMap(value)) {
          issue([key], value ?? keyNode, 'expected a mapping of rule ID to severity');
          break;
        }
        const out: Record<string, Severity> = {};
        for (const p of value.items) {
          const id = ruleId([key], p.key as Node);
          const s = severity([key, String((p.key as { value?: unknown } | null)?.value)], (p.value as Node | null) ?? (p.key as Node));
          if (id !== undefined && s !== undefined) out[id] = s;
        }
        config.severity = out;
        break;
      }
      case 'failOn': {
        const s = severity([key], value ?? keyNode);
        if (s !== undefined) config.failOn = s;
        break;
      }
      case 'settings': {
        if (!isMap(value)) {
          issue([key], value ?? keyNode, `expected a mapping with keys ${Object.keys(SETTING_KEYS).join(', ')}`);
          break;
        }
        const out: Partial<Omit<LintSettings, 'now'>> = {};
        for (const p of value.items) {
          const k = isScalar(p.key) ? String(p.key.value) : '';
          const bounds = Object.hasOwn(SETTING_KEYS, k) ? SETTING_KEYS[k as keyof typeof SETTING_KEYS] : undefined;
          if (!bounds) {
            issue([key, k], p.key as Node, `unknown setting '${k}'; allowed are ${Object.keys(SETTING_KEYS).join(', ')}`);
            continue;
          }
          const v = isScalar(p.value) ? p.value.value : undefined;
          if (typeof v !== 'number' || !Number.isInteger(v) || v < bounds.min || v > bounds.max) {
            issue([key, k], (p.value as Node | null) ?? (p.key as Node), `expected an integer from ${bounds.min} to ${bounds.max}`);
            continue;
          }
          out[k as keyof typeof SETTING_KEYS] = v;
        }
        config.settings = out;
        break;
      }
    }
  }
  if (config.enable && config.disable) {
    issue(['disable'], root.items.find((p) => isScalar(p.key) && p.key.value === 'disable')?.key as Node, 'give either enable or disable, not both');
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: config };
}
