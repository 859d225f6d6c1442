// A `lint.tabby.dev/ignore` annotation naming an ID no rule has: a typo there suppresses nothing, and the finding
// the author meant to silence keeps appearing (or, worse, a later rule of that name is silenced unnoticed).

import { nearest } from '../nearest.js';
import { IGNORE_ANNOTATION, suppressionOf } from '../suppress.js';
import type { FindingDraft, LintRule } from '../types.js';

export const rule: LintRule = {
  id: 'lint-ignore-unknown-rule',
  severity: 'warning',
  title: 'A lint.tabby.dev/ignore annotation names a rule that does not exist',
  explanation:
    `The ${IGNORE_ANNOTATION} annotation lists the rule IDs whose findings are suppressed for this object. An ID ` +
    'that no rule has suppresses nothing: usually a typo, so the finding it was meant for is still reported, or ' +
    'an ID from another tool. This finding cannot itself be suppressed.',
  bad: `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: shop
  annotations:
    lint.tabby.dev/ignore: default-deny-without-dsn
spec:
  selector: all()
  types: [Ingress, Egress]`,
  good: `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: shop
  annotations:
    lint.tabby.dev/ignore: default-deny-without-dns
    lint.tabby.dev/ignore-reason: DNS is allowed by the platform tier
spec:
  selector: all()
  types: [Ingress, Egress]`,
  fix: 'Spell the rule ID as `tabby lint --list-rules` lists it, or remove it from the annotation.',
  check(context) {
    const out: FindingDraft[] = [];
    for (const at of context.resources) {
      const s = suppressionOf(at);
      for (const id of s?.ids ?? []) {
        if (context.ruleIds.has(id)) continue;
        const near = nearest(id, context.ruleIds);
        out.push({
          at,
          path: ['metadata', 'annotations', IGNORE_ANNOTATION],
          message: `${IGNORE_ANNOTATION} names '${id}', which is no lint rule${near ? ` (did you mean '${near}'?)` : ''}`,
          ...(near ? { fix: `Write '${near}' instead of '${id}'.` } : {}),
        });
      }
    }
    return out;
  },
};
