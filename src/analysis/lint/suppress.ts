// Per-object suppression. A resource opts out of rules with annotations:
//
//   metadata:
//     annotations:
//       lint.tabby.dev/ignore: default-deny-without-dns,endpoint-without-ingress-policy
//       lint.tabby.dev/ignore-reason: "DNS goes through the node-local cache; see the platform runbook"
//
// The IDs are a comma-separated list (spaces allowed around commas). A suppressed finding is not printed among
// the findings and does not fail the run, but it is counted (`counts.suppressed`), listed in the JSON and SARIF
// (SARIF `suppressions` with kind inSource and the reason as justification) and summed up on stderr in text,
// so a suppression is never silent. The reason is optional but its absence is reported: the summary counts
// suppressions without a reason. An ID no rule has is itself a finding (`lint-ignore-unknown-rule`), since a
// typo there would silently suppress nothing.

import type { LintResource } from './types.js';

export const IGNORE_ANNOTATION = 'lint.tabby.dev/ignore';
export const IGNORE_REASON_ANNOTATION = 'lint.tabby.dev/ignore-reason';

export interface Suppression {
  /** The rule IDs listed, in the order written. */
  ids: string[];
  reason?: string;
}

/** The resource's suppression annotation, parsed; undefined when it has none. */
export function suppressionOf(at: LintResource): Suppression | undefined {
  const annotations = at.resource.metadata.annotations;
  const raw = annotations?.[IGNORE_ANNOTATION];
  if (typeof raw !== 'string') return undefined;
  const ids = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const reason = annotations?.[IGNORE_REASON_ANNOTATION];
  return typeof reason === 'string' && reason.trim() !== '' ? { ids, reason: reason.trim() } : { ids };
}
