// `tabby describe` of the RBAC kinds in kubectl's layout (kubectl describe.go RoleDescriber, ClusterRoleDescriber,
// RoleBindingDescriber): a role's rules broken down and compacted (one line per resource and name set, verbs
// merged) under PolicyRule, and a binding's Role and Subjects tables.

import { displayText, type PolicyRule } from '../../api/index.js';
import type { RbacDescription } from '../../analysis/index.js';
import { breakdownRule, compactAtoms, compactRuleText } from '../../server/rbac/index.js';

/** Go's %v of a []string: `[a b]`. */
function goList(values: readonly string[] | undefined): string {
  return `[${(values ?? []).map(displayText).join(' ')}]`;
}

/** CombineResourceGroup: `networkpolicies.networking.k8s.io`, a core resource without a group. */
function resourceText(rule: PolicyRule): string {
  return (rule.resources ?? []).flatMap((r) => (rule.apiGroups ?? []).map((g) => displayText(g === '' ? r : `${r}.${g}`))).join(', ');
}

/** Rows padded into columns two spaces apart, as kubectl's tabwriter prints them. */
function columns(rows: readonly string[][], indent: string): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => (indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2))).join('')).trimEnd());
}

export function rbacDescribeLines(d: RbacDescription): string[] {
  if (d.rules) {
    const compact = compactAtoms(d.rules.flatMap(breakdownRule)).sort((a, b) => compactRuleText(a).localeCompare(compactRuleText(b)));
    return ['PolicyRule:', ...columns([
      ['Resources', 'Non-Resource URLs', 'Resource Names', 'Verbs'],
      ['---------', '-----------------', '--------------', '-----'],
      ...compact.map((r) => [resourceText(r), goList(r.nonResourceURLs), goList(r.resourceNames), goList(r.verbs)]),
    ], '  ')];
  }
  const lines = ['Role:', `  Kind:  ${d.roleRef?.kind ?? ''}`, `  Name:  ${displayText(d.roleRef?.name ?? '')}`, 'Subjects:'];
  const subjects = d.subjects ?? [];
  if (subjects.length === 0) return [...lines.slice(0, 3), 'Subjects:  <none>'];
  return [...lines, ...columns([
    ['Kind', 'Name', 'Namespace'], ['----', '----', '---------'],
    ...subjects.map((s) => [s.kind, displayText(s.name), s.namespace ? displayText(s.namespace) : '']),
  ], '  ')];
}
