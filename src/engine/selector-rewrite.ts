// The selector rewrites Calico applies before Felix sees a policy (§1.8; libcalico-go
// updateprocessors/{networkpolicyprocessor,globalnetworkpolicyprocessor,rules,selectors}.go and Felix's
// rule_scanner.go combineMatchesIfPossible). They are done on text, exactly as Calico does them, because the
// text matters: `all()` → `has(projectcalico.org/namespace)` is a substring replacement (§7.7), and the
// user's own selector is embedded verbatim.
//
// Throws SelectorError when a selector does not parse; the caller reports the policy as invalid (Calico's
// validation would have rejected it before Felix saw it).

import { NAMESPACE_LABEL, SERVICE_ACCOUNT_LABEL } from '../api/index.js';
import type { EntityRule } from '../api/index.js';
import { inSet, parseSelector, prefixLabels, selectorFromAst } from '../selector/index.js';

export const NAMESPACE_PREFIX = 'pcns.';
export const SERVICE_ACCOUNT_PREFIX = 'pcsa.';

/** parseSelectorAttachPrefix: every label of `text` gets `prefix`; the result is canonical text. */
function attachPrefix(text: string, prefix: string): string {
  return prefixLabels(parseSelector(text), prefix).toString();
}

/** prefixAndAppendSelector: `(<current>) && <prefixed added>`, or just the prefixed one. */
function prefixAndAppend(current: string, added: string | undefined, prefix: string): string {
  if (!added) return current;
  const prefixed = attachPrefix(added, prefix);
  return current ? `(${current}) && ${prefixed}` : prefixed;
}

function replaceAll(text: string, from: string, to: string): string {
  return text.split(from).join(to);
}

export interface PolicySelectorFields {
  /** Set for NetworkPolicy-like kinds (namespaced); undefined for global ones. */
  namespace?: string;
  selector?: string;
  namespaceSelector?: string;
  serviceAccountSelector?: string;
}

/** The selector of the endpoints a policy applies to, as Felix receives it. Empty text means all(). */
export function policySelectorText(p: PolicySelectorFields): string {
  let selector = p.selector ?? '';
  if (p.namespace !== undefined) {
    // networkpolicyprocessor.go: a namespaced policy only ever applies in its own namespace.
    const nsClause = `${NAMESPACE_LABEL} == '${p.namespace}'`;
    selector = selector ? `(${selector}) && ${nsClause}` : nsClause;
    return prefixAndAppend(selector, p.serviceAccountSelector, SERVICE_ACCOUNT_PREFIX);
  }
  // globalnetworkpolicyprocessor.go: the replacements apply to the whole text, the user's selector included.
  if (p.namespaceSelector) {
    selector = prefixAndAppend(selector, p.namespaceSelector, NAMESPACE_PREFIX);
    selector = replaceAll(selector, 'all()', `has(${NAMESPACE_LABEL})`);
  }
  if (p.serviceAccountSelector) {
    selector = prefixAndAppend(selector, p.serviceAccountSelector, SERVICE_ACCOUNT_PREFIX);
    selector = replaceAll(selector, 'all()', `has(${SERVICE_ACCOUNT_LABEL})`);
  }
  return selector;
}

export interface EntitySelectors {
  /** The addresses must belong to an endpoint or network set matching this; '' = no constraint. */
  positive: string;
  /** The addresses must not belong to one matching this; '' = no constraint. */
  negated: string;
}

/** parseServiceAccounts: names become `projectcalico.org/serviceaccount in {…}`, AND-ed with the pcsa. selector. */
function serviceAccountSelector(er: EntityRule): string {
  const sam = er.serviceAccounts;
  if (!sam) return '';
  const prefixed = sam.selector ? attachPrefix(sam.selector, SERVICE_ACCOUNT_PREFIX) : '';
  if (!sam.names || sam.names.length === 0) return prefixed;
  const names = selectorFromAst(inSet(SERVICE_ACCOUNT_LABEL, sam.names)).toString();
  return prefixed ? `(${prefixed}) && (${names})` : names;
}

/**
 * GetEntityRuleSelector plus Felix's combineMatchesIfPossible: the positive and negated selector of one side of
 * a rule. `policyNamespace` is the namespace of a NetworkPolicy-like policy, undefined for global policies and
 * profiles.
 */
export function entityRuleSelectors(er: EntityRule | undefined, policyNamespace: string | undefined): EntitySelectors {
  if (!er) return { positive: '', negated: '' };
  let nsSelector = '';
  if (er.namespaceSelector) {
    nsSelector = attachPrefix(er.namespaceSelector, NAMESPACE_PREFIX);
    // all() = any namespaced endpoint; global() = only non-namespaced ones (host endpoints, global sets).
    nsSelector = replaceAll(nsSelector, 'all()', `has(${NAMESPACE_LABEL})`);
    nsSelector = replaceAll(nsSelector, 'global()', `!has(${NAMESPACE_LABEL})`);
  } else if (policyNamespace !== undefined) {
    nsSelector = `${NAMESPACE_LABEL} == '${policyNamespace}'`;
  }

  const parts = [serviceAccountSelector(er), er.selector ?? ''].filter((s) => s !== '');
  let selector = parts.length === 1 ? parts[0]! : parts.length > 1 ? `(${parts.join(') && (')})` : '';

  const negated = er.notSelector ?? '';
  // §1.8 step 4: the namespace clause joins as soon as any selector field is used, notSelector included.
  if (nsSelector && (selector || negated || er.namespaceSelector)) {
    selector = selector ? `(${nsSelector}) && (${selector})` : nsSelector;
  }

  // rule_scanner.go: with a positive selector the negated one folds into it, so one IP set does both jobs.
  if (selector && negated) return { positive: `(${selector}) && (!(${negated}))`, negated: '' };
  return { positive: selector, negated };
}
