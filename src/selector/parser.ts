// The selector parser: tokens → AST, recursive descent with one function per precedence level, as Calico's
// parser.go (§1.2): `||` lowest, then `&&`, then a single, possibly negated, operation. Error reasons are
// Calico's; the location is ours.
import {
  ALL,
  GLOBAL,
  and,
  contains,
  endsWith,
  eq,
  groupDepth,
  hasLabel,
  inSet,
  ne,
  not,
  notInSet,
  or,
  startsWith,
  type SelectorNode,
} from './ast.js';
import { MAX_NESTING_DEPTH, MAX_SELECTOR_LENGTH, SelectorError, type RelatedSpan, type SelectorErrorCode } from './diagnostics.js';
import { tokenize, tokenToString, type Token, type TokenKind } from './tokenizer.js';

/** Parses selector text into its AST. Throws SelectorError on invalid input. */
export function parseAst(text: string): SelectorNode {
  if (text.length > MAX_SELECTOR_LENGTH) {
    throw new SelectorError({
      code: 'selector-too-long',
      selector: text,
      offset: MAX_SELECTOR_LENGTH,
      length: text.length - MAX_SELECTOR_LENGTH,
    });
  }
  return new Parser(text, tokenize(text)).parseRoot();
}

const COMPARISONS: Partial<Record<TokenKind, (label: string, value: string) => SelectorNode>> = {
  TokEq: eq,
  TokNe: ne,
  TokContains: contains,
  TokStartsWith: startsWith,
  TokEndsWith: endsWith,
};

/** parser.go prints at most this many leftover tokens after "unexpected content at end of selector". */
const MAX_LISTED_TOKENS = 32;

class Parser {
  private pos = 0;
  /** Parentheses currently open. */
  private depth = 0;

  constructor(
    private readonly text: string,
    private readonly tokens: readonly Token[],
  ) {}

  parseRoot(): SelectorNode {
    // §1.3: an empty (or blank) selector means all().
    if (this.peek().kind === 'TokEOF') return ALL;
    const node = this.parseOr();
    const rest = this.peek();
    if (rest.kind !== 'TokEOF') {
      const remaining = this.tokens.slice(this.pos);
      const listed = remaining.slice(0, MAX_LISTED_TOKENS).map(tokenToString);
      if (remaining.length > MAX_LISTED_TOKENS) listed.push('…');
      const end = this.tokens[this.tokens.length - 2]!;
      throw this.error('unexpected-content', rest, { tokens: `[${listed.join(' ')}]` }, {
        length: end.offset + end.length - rest.offset,
        hint: rest.kind === 'TokRParen' ? "this ')' has no matching '('" : 'join expressions with && or ||',
      });
    }
    // The canonical text parenthesises every &&/|| group, so bound that depth too: the canonical form of
    // every accepted selector must parse again.
    if (groupDepth(node) > MAX_NESTING_DEPTH) {
      throw new SelectorError({ code: 'nested-too-deeply', selector: this.text, offset: 0, length: this.text.length });
    }
    return node;
  }

  /** or_expr := and_expr ( "||" and_expr )* */
  private parseOr(): SelectorNode {
    const first = this.parseAnd();
    if (this.peek().kind !== 'TokOr') return first;
    const operands = [first];
    while (this.peek().kind === 'TokOr') {
      this.pos++;
      operands.push(this.parseAnd());
    }
    return or(...operands);
  }

  /** and_expr := operation ( "&&" operation )* */
  private parseAnd(): SelectorNode {
    const first = this.parseOperation();
    if (this.peek().kind !== 'TokAnd') return first;
    const operands = [first];
    while (this.peek().kind === 'TokAnd') {
      this.pos++;
      operands.push(this.parseOperation());
    }
    return and(...operands);
  }

  /** operation := "!"* ( has | all | global | label op value | "(" or_expr ")" ) */
  private parseOperation(): SelectorNode {
    // §1.2: leading `!`s collapse; an odd number negates once.
    let negated = false;
    while (this.peek().kind === 'TokNot') {
      negated = !negated;
      this.pos++;
    }
    const node = this.parseOperand();
    return negated ? not(node) : node;
  }

  private parseOperand(): SelectorNode {
    const tok = this.next();
    switch (tok.kind) {
      case 'TokHas':
        return hasLabel(tok.value);
      case 'TokAll':
        return ALL;
      case 'TokGlobal':
        return GLOBAL;
      case 'TokLabel':
        return this.parseLabelOperation(tok);
      case 'TokLParen': {
        if (this.depth >= MAX_NESTING_DEPTH) throw this.error('nested-too-deeply', tok);
        this.depth++;
        const inner = this.parseOr();
        this.depth--;
        const close = this.peek();
        if (close.kind !== 'TokRParen') {
          const related: RelatedSpan = { offset: tok.offset, length: 1, reason: "'(' opened here" };
          throw this.error('expected-rparen', close, {}, { related });
        }
        this.pos++;
        return inner;
      }
      default:
        throw this.error('unexpected-token', tok, { token: tokenToString(tok) }, { hint: unexpectedTokenHint(tok) });
    }
  }

  /** label == "v" | label != "v" | label contains/starts with/ends with "v" | label (not) in {…} */
  private parseLabelOperation(labelTok: Token): SelectorNode {
    const op = this.next();
    // parser.go: a label needs two more tokens; the tokenizer's EOF counts as one of them.
    if (op.kind === 'TokEOF') throw this.error('unexpected-eof', op, {}, { hint: `"${labelTok.value}" needs an operator and a value` });
    const comparison = COMPARISONS[op.kind];
    if (comparison !== undefined) {
      const value = this.next();
      if (value.kind !== 'TokStringLiteral') {
        throw this.error('expected-string', value, {}, { hint: value.kind === 'TokLabel' ? 'quote the value' : undefined });
      }
      return comparison(labelTok.value, value.value);
    }
    if (op.kind === 'TokIn' || op.kind === 'TokNotIn') {
      const brace = this.next();
      if (brace.kind !== 'TokLBrace') {
        throw this.error('expected-set-literal', brace, {}, { hint: 'a set is written {"a", "b"}' });
      }
      const values: string[] = [];
      // §1.2: `{}` and a trailing comma are allowed; `{,}` and `{"a" "b"}` are not.
      while (this.peek().kind === 'TokStringLiteral') {
        values.push(this.next().value);
        if (this.peek().kind !== 'TokComma') break;
        this.pos++;
      }
      const close = this.next();
      if (close.kind !== 'TokRBrace') {
        const related: RelatedSpan = { offset: brace.offset, length: 1, reason: "'{' opened here" };
        throw this.error('expected-rbrace', close, {}, { related });
      }
      return op.kind === 'TokIn' ? inSet(labelTok.value, values) : notInSet(labelTok.value, values);
    }
    const fn = ['has', 'all', 'global'].includes(labelTok.value) && op.kind === 'TokLParen';
    throw this.error('expected-comparison', op, { token: tokenToString(op) }, {
      hint: fn ? `write ${labelTok.value}( with no space before the '('` : undefined,
    });
  }

  private peek(): Token {
    return this.tokens[this.pos]!;
  }

  /** The current token, moving past it; TokEOF is never moved past. */
  private next(): Token {
    const tok = this.tokens[this.pos]!;
    if (tok.kind !== 'TokEOF') this.pos++;
    return tok;
  }

  private error(
    code: SelectorErrorCode,
    at: Token,
    args: Record<string, string> = {},
    extra: { length?: number; hint?: string | undefined; related?: RelatedSpan } = {},
  ): SelectorError {
    return new SelectorError({
      code,
      selector: this.text,
      offset: at.offset,
      length: extra.length ?? at.length,
      args,
      hint: extra.hint,
      related: extra.related,
    });
  }
}

function unexpectedTokenHint(tok: Token): string | undefined {
  switch (tok.kind) {
    case 'TokEOF':
      return 'the selector ends where an expression was expected';
    case 'TokStringLiteral':
      return 'a selector compares a label with a value: label == "value"';
    case 'TokRParen':
      return 'empty parentheses, or a ")" with no expression before it';
    default:
      return undefined;
  }
}
