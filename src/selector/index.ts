// Calico's selector language (spec §1): parse, validate, canonicalise, evaluate, and build selectors from an
// AST for the rewrites of §1.8. This part imports nothing else of Tabby's.
//
//   text ──tokenize──▶ tokens ──parse──▶ AST ──compile──▶ matches(labels)
//                                          └──print──▶ canonical text ──SHA-224──▶ uniqueId
import { CompiledSelector, groupDepth, prefixNode, type Selector, type SelectorNode } from './ast.js';
import { MAX_NESTING_DEPTH, SelectorError } from './diagnostics.js';
import { parseAst } from './parser.js';
import { hasOnlyLabelChars } from './tokenizer.js';

export {
  ALL,
  GLOBAL,
  and,
  contains,
  endsWith,
  eq,
  hasLabel,
  inSet,
  mapNodes,
  ne,
  not,
  notInSet,
  or,
  startsWith,
  canonicalText,
  compareCodePoints,
  quote,
} from './ast.js';
export type {
  AllNode,
  GlobalNode,
  GroupNode,
  HasNode,
  LabelComparison,
  LabelRestriction,
  LabelRestrictions,
  LabelSetNode,
  LabelValueNode,
  Labels,
  NotNode,
  Selector,
  SelectorNode,
  SelectorNodeKind,
} from './ast.js';
export {
  MAX_LABEL_LENGTH,
  MAX_NESTING_DEPTH,
  MAX_SELECTOR_LENGTH,
  SELECTOR_DIAGNOSTICS,
  SelectorError,
  caretExcerpt,
} from './diagnostics.js';
export type { DiagnosticStage, RelatedSpan, SelectorErrorCode } from './diagnostics.js';
export { isValidLabel, tokenize, tokenToString } from './tokenizer.js';
export type { Token, TokenKind } from './tokenizer.js';

/** Parses and compiles a selector. Throws SelectorError (Calico's reason, plus offset and caret) if invalid. */
export function parseSelector(text: string): Selector {
  return new CompiledSelector(parseAst(text));
}

export type SelectorResult = { ok: true; selector: Selector } | { ok: false; error: SelectorError };

/** parseSelector for user input: the error is returned, not thrown. */
export function trySelector(text: string): SelectorResult {
  try {
    return { ok: true, selector: parseSelector(text) };
  } catch (error) {
    if (error instanceof SelectorError) return { ok: false, error };
    throw error;
  }
}

/** Calico's `Selector.String()` of `text`. Throws SelectorError if invalid. */
export function canonicalise(text: string): string {
  return parseSelector(text).toString();
}

/** Deepest tree selectorFromAst accepts (a parsed selector is at most about 2 × MAX_NESTING_DEPTH deep). */
const MAX_AST_DEPTH = 4 * MAX_NESTING_DEPTH;

/**
 * A selector from an AST built with the constructors (`and`, `or`, `not`, `eq`, `hasLabel`, `ALL`, …).
 * Checks that its canonical text would parse back to the same tree: label names are made of label
 * characters, no value holds both quote characters (§7.3: Calico cannot write one), and groups nest at most
 * MAX_NESTING_DEPTH deep. Label length is not checked, so a prefixed 512-character label stays usable.
 */
export function selectorFromAst(node: SelectorNode): Selector {
  checkAst(node);
  return new CompiledSelector(node);
}

/** Calico's PrefixVisitor (§1.8): every label name gets `prefix`, e.g. `pcns.` or `pcsa.`. */
export function prefixLabels(sel: Selector, prefix: string): Selector {
  return selectorFromAst(prefixNode(sel.ast, prefix));
}

function checkAst(root: SelectorNode): void {
  const fail = (code: 'invalid-label' | 'unquotable-value' | 'nested-too-deeply', args: Record<string, string> = {}) =>
    new SelectorError({ code, selector: '', offset: 0, length: 0, args });
  const visit = (node: SelectorNode, depth: number): void => {
    if (depth > MAX_AST_DEPTH) throw fail('nested-too-deeply');
    switch (node.kind) {
      case 'not':
        return visit(node.operand, depth + 1);
      case 'and':
      case 'or':
        for (const op of node.operands) visit(op, depth + 1);
        return;
      case 'all':
      case 'global':
        return;
      default:
        if (!hasOnlyLabelChars(node.label)) throw fail('invalid-label', { label: JSON.stringify(node.label) });
        for (const value of node.kind === 'in' || node.kind === 'notIn' ? node.values : 'value' in node ? [node.value] : []) {
          if (value.includes('"') && value.includes("'")) throw fail('unquotable-value', { value: JSON.stringify(value) });
        }
    }
  };
  visit(root, 0);
  if (groupDepth(root) > MAX_NESTING_DEPTH) throw fail('nested-too-deeply');
}
