// Kubernetes label selectors as `kubectl get -l` takes them (apimachinery pkg/labels/selector.go): requirements
// joined by commas, all of which must hold. Supported: `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`,
// `k notin (a,b)`, `k>n`, `k<n`. As in Kubernetes, `!=` and `notin` also match objects without the label.
// This is not Calico's selector language (that one is in src/selector and lives inside policies).

import type { Issue, Result, Labels } from '../api/index.js';

export type LabelMatcher = (labels: Readonly<Labels> | undefined) => boolean;

type Requirement =
  | { op: 'exists' | 'not-exists'; key: string }
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'gt' | 'lt'; key: string; value: number };

function matches(req: Requirement, labels: Readonly<Labels>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, req.key);
  const value = has ? labels[req.key] : undefined;
  switch (req.op) {
    case 'exists': return has;
    case 'not-exists': return !has;
    case 'in': return has && req.values.includes(value!);
    case 'notin': return !has || !req.values.includes(value!);
    case 'gt':
    case 'lt': {
      if (!has || !/^-?\d+$/.test(value!)) return false;
      const n = Number(value);
      return req.op === 'gt' ? n > req.value : n < req.value;
    }
  }
}

const KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Splits on commas outside parentheses. */
function splitRequirements(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

function issue(message: string, value: string): Issue {
  return { code: 'label-selector.invalid', path: [], message, value };
}

function parseRequirement(raw: string): Requirement | Issue {
  const text = raw.trim();
  if (text === '') return issue('empty requirement (two commas in a row, or a trailing comma?)', raw);
  let m = /^!\s*(\S+)$/.exec(text);
  if (m) return KEY.test(m[1]!) ? { op: 'not-exists', key: m[1]! } : issue(`invalid label key '${m[1]}'`, m[1]!);
  m = /^(\S+?)\s+(in|notin)\s*\(([^)]*)\)$/.exec(text);
  if (m) {
    const [, key, op, list] = m;
    if (!KEY.test(key!)) return issue(`invalid label key '${key}'`, key!);
    const values = list!.split(',').map((v) => v.trim());
    const bad = values.find((v) => !VALUE.test(v));
    if (bad !== undefined) return issue(`invalid label value '${bad}'`, bad);
    return { op: op as 'in' | 'notin', key: key!, values };
  }
  m = /^([^=!<>\s]+)\s*(==|=|!=|<|>)\s*(.*)$/.exec(text);
  if (m) {
    const [, key, op, value] = m;
    if (!KEY.test(key!)) return issue(`invalid label key '${key}'`, key!);
    if (op === '<' || op === '>') {
      if (!/^-?\d+$/.test(value!)) return issue(`'${op}' needs an integer, got '${value}'`, value!);
      return { op: op === '<' ? 'lt' : 'gt', key: key!, value: Number(value) };
    }
    if (!VALUE.test(value!)) return issue(`invalid label value '${value}'`, value!);
    return op === '!=' ? { op: 'notin', key: key!, values: [value!] } : { op: 'in', key: key!, values: [value!] };
  }
  if (KEY.test(text)) return { op: 'exists', key: text };
  return issue(`cannot parse requirement '${text}' (expected k, !k, k=v, k!=v, k in (a,b), k notin (a,b))`, text);
}

/** Parses a label selector; the empty string selects everything. */
export function parseLabelSelector(text: string): Result<LabelMatcher> {
  if (text.trim() === '') return { ok: true, value: () => true };
  const reqs: Requirement[] = [];
  const issues: Issue[] = [];
  for (const part of splitRequirements(text)) {
    const r = parseRequirement(part);
    if ('code' in r) issues.push(r);
    else reqs.push(r);
  }
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, value: (labels) => reqs.every((r) => matches(r, labels ?? {})) };
}
