// Selector fields (§5.3, §5.4): each must parse as a Calico selector, and `global()` is allowed only as the whole
// of an EntityRule namespaceSelector. Calico checks `global(` by plain substring (CEL `contains('global(')`), so a
// string literal containing it is rejected too (§7.5); we match that.

import { trySelector } from '../../selector/index.js';
import type { Path, ValidationContext } from './context.js';
import { msg } from './messages.js';

/**
 * Where a selector sits decides what `global()` may do there:
 * - `subject`: a policy's selector, serviceAccountSelector or GNP namespaceSelector, or an EntityRule selector:
 *   no `global()` at all;
 * - `entityNamespace`: an EntityRule namespaceSelector: `global()` only on its own;
 * - `plain`: anything else (notSelector, serviceAccounts.selector, pool nodeSelector): just the syntax.
 */
export type SelectorPlace = 'subject' | 'entityNamespace' | 'plain';

// tokenizer.go: only space and tab are whitespace; `global(` ws* `)` is one token.
const GLOBAL_ALONE = /^[ \t]*global\([ \t]*\)[ \t]*$/;

export function checkSelector(ctx: ValidationContext, text: string, path: Path, place: SelectorPlace): void {
  const parsed = trySelector(text);
  if (!parsed.ok) {
    const e = parsed.error;
    ctx.report('selector.invalid', path, msg.selectorInvalid(text, e.reason, e.offset, e.hint), text);
  }
  if (!text.includes('global(')) return;
  if (place === 'subject') {
    ctx.report('selector.global', path, msg.globalOnlyInEntityNamespaceSelector(), text);
  } else if (place === 'entityNamespace' && !GLOBAL_ALONE.test(text)) {
    ctx.report('selector.globalCombined', path, msg.globalCombined(), text);
  }
}
