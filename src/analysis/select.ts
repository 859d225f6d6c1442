// What a selector matches: the endpoints (whose addresses a rule selector then matches, and which a policy
// selector applies to) and the network sets (rule selectors only, §2.6), each with the effective labels the
// selector saw — own labels plus those inherited from profiles (`pcns.*`, `pcsa.*`, §1.7).
//
// With `namespace`, the selector is evaluated as a rule selector of a NetworkPolicy in that namespace is:
// `(<selector>) && projectcalico.org/namespace == '<namespace>'` (§1.8).

import type { Issue, Result } from '../api/index.js';
import type { NetworkSetInfo, PolicyEngine } from '../engine/index.js';
import { trySelector } from '../selector/index.js';
import { endpointSummary, sortedLabels, type EndpointSummary } from './policies-for.js';

export interface NetworkSetSummary {
  kind: NetworkSetInfo['kind'];
  namespace: string | null;
  name: string;
  nets: string[];
  labels: Record<string, string>;
}

export interface SelectReport {
  /** The selector evaluated, in Calico's canonical form (with the namespace clause when one was given). */
  selector: string;
  endpoints: EndpointSummary[];
  networkSets: NetworkSetSummary[];
}

export interface SelectOptions {
  namespace?: string;
}

export function selectMatches(engine: PolicyEngine, text: string, options: SelectOptions = {}): Result<SelectReport> {
  const parsed = trySelector(text);
  if (!parsed.ok) {
    const issue: Issue = { code: 'selector.invalid', path: [], message: parsed.error.message, value: text };
    return { ok: false, issues: [issue] };
  }
  let selector = parsed.selector;
  if (options.namespace !== undefined) {
    // The namespace was checked by the caller as a name; quoting it keeps the clause a single literal.
    const scoped = trySelector(`(${selector.toString()}) && projectcalico.org/namespace == ${JSON.stringify(options.namespace)}`);
    if (!scoped.ok) return { ok: false, issues: [{ code: 'selector.namespace', path: [], message: scoped.error.message }] };
    selector = scoped.selector;
  }
  const endpoints = engine.endpoints().filter((e) => selector.matches(e.labels)).map(endpointSummary);
  const networkSets = engine.networkSets().filter((s) => selector.matches(s.labels)).map((s) => ({
    kind: s.kind, namespace: s.namespace ?? null, name: s.name, nets: s.nets, labels: sortedLabels(s.labels),
  }));
  return { ok: true, value: { selector: selector.toString(), endpoints, networkSets } };
}
