// Selector diagnostics: one catalog of every error the selector part can report, and the error type that
// carries it. Reasons keep Calico's wording (§1.5) so a message can be searched for in Calico's sources;
// what we add is the location (offset, length, a caret line) and, where it helps, a hint.

import { escapeControls } from './printable.js';

/** Hard limits. Calico has none; ours keep a hostile selector from costing more than a bounded amount. */
export const MAX_SELECTOR_LENGTH = 65_536;
/** Groups nested in one another: `(` in the text, or `&&`/`||` groups in the canonical form. */
export const MAX_NESTING_DEPTH = 128;
/** §1.1: tokenizer.go MaxLabelLength. */
export const MAX_LABEL_LENGTH = 512;

/**
 * The catalog. Each entry: the stage that reports it, and its reason template. `{name}` placeholders are
 * filled by `formatReason`. The code (the key) is stable; the reason text follows Calico.
 */
export const SELECTOR_DIAGNOSTICS = {
  // tokenizer.go
  'unterminated-string': { stage: 'tokenizer', reason: 'unterminated string' },
  'expected-eq': { stage: 'tokenizer', reason: 'expected ==' },
  'expected-and': { stage: 'tokenizer', reason: 'expected &&' },
  'expected-or': { stage: 'tokenizer', reason: 'expected ||' },
  'expected-operator': { stage: 'tokenizer', reason: 'expected operator after label "{label}"' },
  'expected-identifier': { stage: 'tokenizer', reason: 'expected identifier' },
  'label-too-long': { stage: 'tokenizer', reason: 'label too long: {label}' },
  'unclosed-has': { stage: 'tokenizer', reason: "no closing ')' after has(" },
  'unclosed-all': { stage: 'tokenizer', reason: "no closing ')' after all(" },
  'unclosed-global': { stage: 'tokenizer', reason: "no closing ')' after global(" },
  // parser.go
  'unexpected-eof': { stage: 'parser', reason: 'unexpected end of string looking for op' },
  'expected-string': { stage: 'parser', reason: 'expected string' },
  'expected-set-literal': { stage: 'parser', reason: 'expected set literal' },
  'expected-rbrace': { stage: 'parser', reason: 'expected }' },
  'expected-rparen': { stage: 'parser', reason: 'expected )' },
  'expected-comparison': { stage: 'parser', reason: 'expected == or != not: {token}' },
  'unexpected-token': { stage: 'parser', reason: 'unexpected token: {token}' },
  'unexpected-content': { stage: 'parser', reason: 'unexpected content at end of selector {tokens}' },
  // Tabby's own bounds (not in Calico).
  'selector-too-long': { stage: 'limit', reason: `selector too long (max ${MAX_SELECTOR_LENGTH} characters)` },
  'nested-too-deeply': { stage: 'limit', reason: `selector nested too deeply (max ${MAX_NESTING_DEPTH})` },
  // Selectors built from an AST rather than parsed (selectorFromAst): the canonical text must parse back.
  'invalid-label': { stage: 'ast', reason: 'invalid label name: {label}' },
  'unquotable-value': { stage: 'ast', reason: 'value contains both quote characters: {value}' },
} as const satisfies Record<string, { stage: DiagnosticStage; reason: string }>;

export type DiagnosticStage = 'tokenizer' | 'parser' | 'limit' | 'ast';
export type SelectorErrorCode = keyof typeof SELECTOR_DIAGNOSTICS;

/** Longest placeholder value quoted in a reason; Calico quotes whole labels, we stop at this. */
const MAX_QUOTED = 1024;

/** Fills a catalog reason's `{name}` placeholders. */
export function formatReason(code: SelectorErrorCode, args: Readonly<Record<string, string>> = {}): string {
  return SELECTOR_DIAGNOSTICS[code].reason.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = args[name];
    if (value === undefined) return whole;
    // Labels and tokens come from the selector text: escaped, so a reason is always one line of plain text.
    return escapeControls(value.length > MAX_QUOTED ? `${value.slice(0, MAX_QUOTED)}…` : value);
  });
}

/** A secondary location, e.g. the `(` that an `expected )` belongs to. */
export interface RelatedSpan {
  readonly offset: number;
  readonly length: number;
  readonly reason: string;
}

export interface SelectorErrorInit {
  readonly code: SelectorErrorCode;
  readonly selector: string;
  readonly offset: number;
  readonly length: number;
  readonly args?: Readonly<Record<string, string>>;
  readonly hint?: string;
  readonly related?: RelatedSpan;
}

/**
 * An invalid selector. `reason` is Calico's wording; `offset`/`length` locate the problem in `selector`
 * (UTF-16 code units, as JavaScript indexes strings). `message` is the reason, the selector and a caret
 * line under the offset:
 *
 *     expected ==
 *     a = "b"
 *       ^
 */
export class SelectorError extends Error {
  override readonly name = 'SelectorError';
  readonly code: SelectorErrorCode;
  readonly offset: number;
  readonly length: number;
  readonly reason: string;
  readonly selector: string;
  /** A suggestion for the user ("did you mean …"), when one is obvious. Not part of `message`. */
  readonly hint: string | undefined;
  readonly related: RelatedSpan | undefined;

  constructor(init: SelectorErrorInit) {
    const reason = formatReason(init.code, init.args);
    super(`${reason}\n${caretExcerpt(init.selector, init.offset)}`);
    this.code = init.code;
    this.offset = init.offset;
    this.length = init.length;
    this.reason = reason;
    this.selector = init.selector;
    this.hint = init.hint;
    this.related = init.related;
  }
}

/** Width of the selector excerpt shown in a message; longer selectors are shown around the offset. */
const EXCERPT_WIDTH = 120;

/**
 * Two lines: the selector (control characters escaped so the excerpt stays on one line) and a caret under
 * `offset`. A TAB before the offset is repeated in the caret line so the caret lines up in a terminal.
 */
export function caretExcerpt(selector: string, offset: number): string {
  const at = Math.max(0, Math.min(offset, selector.length));
  let start = 0;
  let end = selector.length;
  if (selector.length > EXCERPT_WIDTH) {
    start = Math.max(0, Math.min(at - EXCERPT_WIDTH / 2, selector.length - EXCERPT_WIDTH));
    end = Math.min(selector.length, start + EXCERPT_WIDTH);
  }
  let text = start > 0 ? '…' : '';
  let pad = start > 0 ? ' ' : '';
  for (let i = start; i < end; i++) {
    const code = selector.charCodeAt(i);
    const shown = displayChar(selector, i);
    text += shown;
    // The second half of a surrogate pair shares its column with the first.
    const lowSurrogate = code >= 0xdc00 && code <= 0xdfff && i > start;
    if (i < at && !lowSurrogate) pad += shown === '\t' ? '\t' : ' '.repeat(shown.length);
  }
  if (end < selector.length) text += '…';
  return `${text}\n${pad}^`;
}

/** The character at `i` as shown in the excerpt: a TAB stays (for the caret), other unsafe characters are escaped. */
function displayChar(selector: string, i: number): string {
  const code = selector.charCodeAt(i);
  if (code === 0x09) return '\t';
  // A surrogate pair is checked as a whole; a lone half is escaped.
  if (code >= 0xd800 && code <= 0xdbff) {
    const next = selector.charCodeAt(i + 1);
    return next >= 0xdc00 && next <= 0xdfff ? selector[i]! : escapeControls(selector[i]!);
  }
  if (code >= 0xdc00 && code <= 0xdfff) {
    const prev = selector.charCodeAt(i - 1);
    return prev >= 0xd800 && prev <= 0xdbff ? selector[i]! : escapeControls(selector[i]!);
  }
  return escapeControls(selector[i]!);
}
