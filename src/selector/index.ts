// Calico's selector language (spec §1): parse, validate, canonicalise, evaluate, and build selectors from an
// AST for the rewrites of §1.8. This part imports nothing else of Tabby's.
//
//   text ──tokenize──▶ tokens ──parse──▶ AST ──compile──▶ matches(labels)
//                                          └──print──▶ canonical text ──SHA-224──▶ uniqueId
import {
  CompiledSelector,
  canonicalText,
  groupDepth,
  prefixNode,
  type HasNode,
  type LabelSetNode,
  type LabelValueNode,
  type Selector,
  type SelectorNode,
} from './ast.js';
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
  // Depth first, iteratively, so that nothing below recurses through an unbounded tree.
  const stack: Array<[SelectorNode, number]> = [[root, 0]];
  const leaves: Array<HasNode | LabelValueNode | LabelSetNode> = [];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (depth > MAX_AST_DEPTH) throw astError('nested-too-deeply', '');
    switch (node.kind) {
      case 'not':
        stack.push([node.operand, depth + 1]);
        break;
      case 'and':
      case 'or':
        for (const op of node.operands) stack.push([op, depth + 1]);
        break;
      case 'all':
      case 'global':
        break;
      default:
        leaves.push(node);
    }
  }
  if (groupDepth(root) > MAX_NESTING_DEPTH) throw astError('nested-too-deeply', '');
  for (const leaf of leaves) {
    if (!hasOnlyLabelChars(leaf.label)) throw astError('invalid-label', canonicalText(root), { label: JSON.stringify(leaf.label) });
    const values = 'values' in leaf ? leaf.values : 'value' in leaf ? [leaf.value] : [];
    for (const value of values) {
      if (value.includes('"') && value.includes("'")) {
        throw astError('unquotable-value', canonicalText(root), { value: JSON.stringify(value) });
      }
    }
  }
}

/** An invalid AST has no source text; the error shows the (unparseable) canonical text instead. */
function astError(code: 'invalid-label' | 'unquotable-value' | 'nested-too-deeply', text: string, args: Record<string, string> = {}) {
  return new SelectorError({ code, selector: text, offset: 0, length: text.length, args });
}
