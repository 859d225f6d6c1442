// The selector tokenizer: text → tokens ending in TokEOF, exactly as Calico's tokenizer.go lexes (§1.1).
// Token kinds keep Calico's Go names so token streams compare one to one with Calico's tests.
import { MAX_LABEL_LENGTH, SelectorError, type SelectorErrorCode } from './diagnostics.js';

export type TokenKind =
  | 'TokLabel'
  | 'TokStringLiteral'
  | 'TokLBrace'
  | 'TokRBrace'
  | 'TokComma'
  | 'TokEq'
  | 'TokNe'
  | 'TokIn'
  | 'TokNot'
  | 'TokNotIn'
  | 'TokContains'
  | 'TokStartsWith'
  | 'TokEndsWith'
  | 'TokAll'
  | 'TokHas'
  | 'TokLParen'
  | 'TokRParen'
  | 'TokAnd'
  | 'TokOr'
  | 'TokGlobal'
  | 'TokEOF';

export interface Token {
  readonly kind: TokenKind;
  /** The label of TokLabel and TokHas, the unquoted text of TokStringLiteral; '' for the others. */
  readonly value: string;
  /** Where the token's text starts and how long it is (UTF-16 code units); TokEOF is empty at the end. */
  readonly offset: number;
  readonly length: number;
}

/** Calico's `Token.String()`: `Kind(value)`, as parser errors print tokens. */
export function tokenToString(token: Token): string {
  return `${token.kind}(${token.value})`;
}

// §1.1: identifier characters are ASCII a-z A-Z 0-9 _ . / - and nothing else.
const IDENT = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[a-zA-Z0-9_./-]/.test(ch)) IDENT[c] = 1;
}

function isIdentChar(code: number): boolean {
  return code < 128 && IDENT[code] === 1;
}

/** §1.1: only space and TAB are whitespace; newline, CR, NBSP and the rest are not. */
function isWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/** True when `label` is a label name a selector can contain: 1 to 512 label characters (§1.1). */
export function isValidLabel(label: string): boolean {
  return label.length <= MAX_LABEL_LENGTH && hasOnlyLabelChars(label);
}

/** True when `label` is non-empty and made only of label characters, whatever its length. */
export function hasOnlyLabelChars(label: string): boolean {
  if (label.length === 0) return false;
  for (let i = 0; i < label.length; i++) if (!isIdentChar(label.charCodeAt(i))) return false;
  return true;
}

/** Operator words are looked for only right after a label, in this order (tokenizer.go). */
const OPERATOR_WORDS: ReadonlyArray<{ readonly words: readonly string[]; readonly kind: TokenKind }> = [
  { words: ['contains'], kind: 'TokContains' },
  { words: ['starts', 'with'], kind: 'TokStartsWith' },
  { words: ['ends', 'with'], kind: 'TokEndsWith' },
  { words: ['not', 'in'], kind: 'TokNotIn' },
  { words: ['in'], kind: 'TokIn' },
];

/** Tokenizes a selector. Throws SelectorError (Calico's tokenizer message, plus where) on invalid input. */
export function tokenize(text: string): Token[] {
  return new Tokenizer(text).run();
}

class Tokenizer {
  private readonly tokens: Token[] = [];
  private pos = 0;

  constructor(private readonly text: string) {}

  run(): Token[] {
    const { text, tokens } = this;
    const n = text.length;
    for (;;) {
      this.pos = this.skipWhitespace(this.pos);
      const start = this.pos;
      if (start >= n) {
        tokens.push({ kind: 'TokEOF', value: '', offset: n, length: 0 });
        return tokens;
      }
      const c = text.charCodeAt(start);
      switch (c) {
        case 0x28: // (
          this.push('TokLParen', '', start, 1);
          break;
        case 0x29: // )
          this.push('TokRParen', '', start, 1);
          break;
        case 0x7b: // {
          this.push('TokLBrace', '', start, 1);
          break;
        case 0x7d: // }
          this.push('TokRBrace', '', start, 1);
          break;
        case 0x2c: // ,
          this.push('TokComma', '', start, 1);
          break;
        case 0x22: // "
        case 0x27: {
          // §1.1: a literal runs to the next occurrence of its own quote; there are no escapes.
          const close = text.indexOf(text[start]!, start + 1);
          if (close < 0) {
            const other = c === 0x22 ? "'" : '"';
            const hint = text.includes(other, start + 1)
              ? `a string opened with ${text[start]} must close with the same quote`
              : undefined;
            throw this.error('unterminated-string', start, n - start, {}, hint);
          }
          this.push('TokStringLiteral', text.slice(start + 1, close), start, close + 1 - start);
          break;
        }
        case 0x3d: // =
          if (text.charCodeAt(start + 1) !== 0x3d) throw this.error('expected-eq', start, 1, {}, "did you mean '=='?");
          this.push('TokEq', '', start, 2);
          break;
        case 0x21: // !
          if (text.charCodeAt(start + 1) === 0x3d) this.push('TokNe', '', start, 2);
          else this.push('TokNot', '', start, 1);
          break;
        case 0x26: // &
          if (text.charCodeAt(start + 1) !== 0x26) throw this.error('expected-and', start, 1, {}, "did you mean '&&'?");
          this.push('TokAnd', '', start, 2);
          break;
        case 0x7c: // |
          if (text.charCodeAt(start + 1) !== 0x7c) throw this.error('expected-or', start, 1, {}, "did you mean '||'?");
          this.push('TokOr', '', start, 2);
          break;
        default:
          this.word(start);
      }
    }
  }

  /** Everything that is not punctuation: an operator word after a label, has(/all(/global(, or a label. */
  private word(start: number): void {
    const last = this.tokens[this.tokens.length - 1];
    if (last !== undefined && last.kind === 'TokLabel') {
      for (const op of OPERATOR_WORDS) {
        const end = this.cutWords(start, op.words);
        if (end >= 0) {
          this.push(op.kind, '', start, end - start);
          return;
        }
      }
      const run = this.identEnd(start) - start;
      const hint = KEYWORD_AS_LABEL[last.value.toLowerCase()] ?? operatorHint(this.text, start, run);
      throw this.error('expected-operator', start, Math.max(run, 1), { label: last.value }, hint);
    }
    if (this.text.startsWith('has(', start)) {
      let at = this.skipWhitespace(start + 4);
      const label = this.cutIdentifier(at);
      at = this.skipWhitespace(at + label.length);
      if (this.text.charCodeAt(at) !== 0x29) throw this.error('unclosed-has', at, this.spanAt(at));
      this.push('TokHas', label, start, at + 1 - start);
      return;
    }
    for (const [fn, kind, code] of FUNCTIONS) {
      if (!this.text.startsWith(fn, start)) continue;
      const at = this.skipWhitespace(start + fn.length);
      if (this.text.charCodeAt(at) !== 0x29) throw this.error(code, at, this.spanAt(at));
      this.push(kind, '', start, at + 1 - start);
      return;
    }
    const label = this.cutIdentifier(start);
    this.push('TokLabel', label, start, label.length);
  }

  /**
   * tokenizer.go cutMultiWordPrefixCheckBreak: each word in turn with optional whitespace after it, then a word
   * boundary (end of input or a non-identifier character). Returns where the operator ends, or -1.
   */
  private cutWords(start: number, words: readonly string[]): number {
    let at = start;
    for (const word of words) {
      if (!this.text.startsWith(word, at)) return -1;
      at = words.length > 1 ? this.skipWhitespace(at + word.length) : at + word.length;
    }
    if (at < this.text.length && isIdentChar(this.text.charCodeAt(at))) return -1;
    // The operator token ends at its last letter, not at the whitespace skipped after it.
    return words.length > 1 ? this.trimBack(at) : at;
  }

  /** A label: a run of identifier characters, 1 to 512 long (cutIdentifier). */
  private cutIdentifier(start: number): string {
    const end = this.identEnd(start);
    if (end === start) {
      const c = this.text.charCodeAt(start);
      const hint =
        c === 0x0a || c === 0x0d
          ? 'only spaces and tabs may separate tokens; remove the line break'
          : Number.isNaN(c)
            ? undefined
            : 'label names may contain only a-z A-Z 0-9 _ . / -';
      throw this.error('expected-identifier', start, this.spanAt(start), {}, hint);
    }
    const label = this.text.slice(start, end);
    if (label.length > MAX_LABEL_LENGTH) {
      throw this.error('label-too-long', start, label.length, { label }, `label names are at most ${MAX_LABEL_LENGTH} characters`);
    }
    return label;
  }

  private identEnd(start: number): number {
    let end = start;
    while (end < this.text.length && isIdentChar(this.text.charCodeAt(end))) end++;
    return end;
  }

  private skipWhitespace(at: number): number {
    while (at < this.text.length && isWhitespace(this.text.charCodeAt(at))) at++;
    return at;
  }

  private trimBack(at: number): number {
    while (at > 0 && isWhitespace(this.text.charCodeAt(at - 1))) at--;
    return at;
  }

  /** One character at `at`, or nothing at the end of input. */
  private spanAt(at: number): number {
    return at < this.text.length ? 1 : 0;
  }

  private push(kind: TokenKind, value: string, offset: number, length: number): void {
    this.tokens.push({ kind, value, offset, length });
    this.pos = offset + length;
  }

  private error(
    code: SelectorErrorCode,
    offset: number,
    length: number,
    args: Record<string, string> = {},
    hint?: string,
  ): SelectorError {
    return new SelectorError({ code, selector: this.text, offset, length, args, hint });
  }
}

const FUNCTIONS: ReadonlyArray<readonly [string, TokenKind, SelectorErrorCode]> = [
  ['all(', 'TokAll', 'unclosed-all'],
  ['global(', 'TokGlobal', 'unclosed-global'],
];

/** Words from other languages' selectors that lex as a label here (`a == "b" and c == "d"`). */
const KEYWORD_AS_LABEL: Readonly<Record<string, string>> = {
  and: "selectors combine with '&&', not 'and'",
  or: "selectors combine with '||', not 'or'",
  not: "selectors negate with '!', not 'not'",
};

/** The spellings a user most likely meant when an operator word is wrong. */
const OPERATOR_SPELLINGS = ['contains', 'starts with', 'ends with', 'not in', 'in'];
const WORD_OPERATORS: Readonly<Record<string, string>> = {
  and: "selectors combine with '&&', not 'and'",
  or: "selectors combine with '||', not 'or'",
  is: "did you mean '=='?",
  eq: "did you mean '=='?",
  ne: "did you mean '!='?",
};

/** A did-you-mean for a bad word after a label (`inf`, `starts foo`, `ends withs`, `and`). */
function operatorHint(text: string, start: number, run: number): string | undefined {
  const word = text.slice(start, start + run);
  if (word === '') {
    const c = text[start];
    if (c === '<' || c === '>' || c === '~') return "the comparisons are ==, !=, in, not in, contains, starts with and ends with";
    return undefined;
  }
  const known = WORD_OPERATORS[word.toLowerCase()];
  if (known !== undefined) return known;
  for (const [first, full] of [
    ['starts', 'starts with'],
    ['ends', 'ends with'],
    ['not', 'not in'],
  ] as const) {
    if (word === first || word.startsWith(first + 'with') || word.startsWith(first + 'in')) return `did you mean '${full}'?`;
  }
  const squashed = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = 3;
  for (const spelling of OPERATOR_SPELLINGS) {
    const d = editDistance(squashed, spelling.replace(' ', ''));
    if (d < bestDistance && d < Math.max(spelling.length - 1, 2)) {
      best = spelling;
      bestDistance = d;
    }
  }
  return best === undefined ? undefined : `did you mean '${best}'?`;
}

/** Levenshtein distance, for short words only. */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3 || a.length > 32) return 99;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    prev = cur;
  }
  return prev[b.length]!;
}
