// Error reasons (Calico's wording), offsets, lengths, caret rendering, hints and the hard limits.
import { describe, expect, it } from 'vitest';
import {
  MAX_NESTING_DEPTH,
  MAX_SELECTOR_LENGTH,
  SELECTOR_DIAGNOSTICS,
  SelectorError,
  parseSelector,
  trySelector,
  type SelectorErrorCode,
} from '../../src/selector/index.js';

function errorOf(text: string): SelectorError {
  const r = trySelector(text);
  if (r.ok) throw new Error(`expected ${JSON.stringify(text.slice(0, 80))}… to be invalid`);
  return r.error;
}

// selector, code, reason, offset, length — a bad input with the reason it is bad, as parser_test.go lists them.
const BAD: Array<[string, SelectorErrorCode, string, number, number]> = [
  ['a = "b"', 'expected-eq', 'expected ==', 2, 1],
  ['a == "b" & has(foo)', 'expected-and', 'expected &&', 9, 1],
  ['a == "b" | c', 'expected-or', 'expected ||', 9, 1],
  ["label == 'value", 'unterminated-string', 'unterminated string', 9, 6],
  ['"FOO\'', 'unterminated-string', 'unterminated string', 0, 5],
  ['label inf "value"', 'expected-operator', 'expected operator after label "label"', 6, 3],
  ['label starts foo "value"', 'expected-operator', 'expected operator after label "label"', 6, 6],
  ['a not in x', 'expected-operator', 'expected operator after label "a"', 2, 3], // word boundary after "in" + ws
  ['has()', 'expected-identifier', 'expected identifier', 4, 1],
  ['has(', 'expected-identifier', 'expected identifier', 4, 0],
  ['has(foo', 'unclosed-has', "no closing ')' after has(", 7, 0],
  ['has(a b)', 'unclosed-has', "no closing ')' after has(", 6, 1],
  ['all(x)', 'unclosed-all', "no closing ')' after all(", 4, 1],
  ['global( x', 'unclosed-global', "no closing ')' after global(", 8, 1],
  ['a == "b" && %', 'expected-identifier', 'expected identifier', 12, 1],
  ['a == "b"\n', 'expected-identifier', 'expected identifier', 8, 1],
  ['a == "b"\u00a0', 'expected-identifier', 'expected identifier', 8, 1],
  ['a', 'unexpected-eof', 'unexpected end of string looking for op', 1, 0],
  ['a ', 'unexpected-eof', 'unexpected end of string looking for op', 2, 0],
  ['a == b', 'expected-string', 'expected string', 5, 1],
  ['a ==', 'expected-string', 'expected string', 4, 0],
  ['a in "b"', 'expected-set-literal', 'expected set literal', 5, 3],
  ['a in {"b"', 'expected-rbrace', 'expected }', 9, 0],
  ['a in {,}', 'expected-rbrace', 'expected }', 6, 1],
  ['(a == "b"', 'expected-rparen', 'expected )', 9, 0],
  ['a "b"', 'expected-comparison', 'expected == or != not: TokStringLiteral(b)', 2, 3],
  ['all ()', 'expected-comparison', 'expected == or != not: TokLParen()', 4, 1],
  ['()', 'unexpected-token', 'unexpected token: TokRParen()', 1, 1],
  ['(', 'unexpected-token', 'unexpected token: TokEOF()', 1, 0],
  ["'b1' == b", 'unexpected-token', 'unexpected token: TokStringLiteral(b1)', 0, 4],
  ['a == "b" &&', 'unexpected-token', 'unexpected token: TokEOF()', 11, 0],
  ['a == "b" )', 'unexpected-content', 'unexpected content at end of selector [TokRParen() TokEOF()]', 9, 1],
  [
    'a == "b" c == "d"',
    'unexpected-content',
    'unexpected content at end of selector [TokLabel(c) TokEq() TokStringLiteral(d) TokEOF()]',
    9,
    8,
  ],
];

describe('selector errors', () => {
  it.each(BAD)('%j → %s', (text, code, reason, offset, length) => {
    const e = errorOf(text);
    expect(e).toBeInstanceOf(SelectorError);
    expect({ code: e.code, reason: e.reason, offset: e.offset, length: e.length }).toEqual({ code, reason, offset, length });
    expect(e.selector).toBe(text);
    expect(e.name).toBe('SelectorError');
    expect(SELECTOR_DIAGNOSTICS[e.code]).toBeDefined();
  });

  it('parseSelector throws the same error trySelector returns', () => {
    expect(() => parseSelector('a = "b"')).toThrowError(SelectorError);
    expect(() => parseSelector('a = "b"')).toThrow(/^expected ==\n/);
  });

  it('renders the reason, the selector and a caret under the offset', () => {
    expect(errorOf('a = "b"').message).toBe('expected ==\na = "b"\n  ^');
    expect(errorOf('a == b').message).toBe('expected string\na == b\n     ^');
    // At the end of the input the caret sits just past the last character.
    expect(errorOf('has(foo').message).toBe("no closing ')' after has(\nhas(foo\n       ^");
  });

  it('escapes line breaks in the excerpt and keeps the caret under them', () => {
    expect(errorOf('a == "b"\n').message).toBe('expected identifier\na == "b"\\n\n        ^');
    expect(errorOf('\r').message).toBe('expected identifier\n\\r\n^');
  });

  it('repeats a TAB in the caret line so the caret lines up', () => {
    expect(errorOf('a\t= "b"').message).toBe('expected ==\na\t= "b"\n \t^');
  });

  it('shows long selectors around the offset', () => {
    const text = `${'a == "b" && '.repeat(40)}a = "b"`;
    const e = errorOf(text);
    expect(e.offset).toBe(text.length - 5);
    const [, excerpt, caret] = e.message.split('\n') as [string, string, string];
    expect(excerpt.startsWith('…')).toBe(true);
    expect(excerpt.length).toBeLessThanOrEqual(125);
    expect(excerpt[caret.length - 1]).toBe('=');
  });

  it('points back at the bracket an "expected )" or "expected }" belongs to', () => {
    expect(errorOf('x == "1" && (a == "b" || c == "d"').related).toEqual({ offset: 12, length: 1, reason: "'(' opened here" });
    expect(errorOf('a in {"b", "c"').related).toEqual({ offset: 5, length: 1, reason: "'{' opened here" });
  });

  it('suggests what was probably meant', () => {
    expect(errorOf('label inf "value"').hint).toBe("did you mean 'in'?");
    expect(errorOf('label containz "value"').hint).toBe("did you mean 'contains'?");
    expect(errorOf('label starts foo "value"').hint).toBe("did you mean 'starts with'?");
    expect(errorOf('label ends withs "value"').hint).toBe("did you mean 'ends with'?");
    expect(errorOf('a not "x"').hint).toBe("did you mean 'not in'?");
    expect(errorOf('a = "b"').hint).toBe("did you mean '=='?");
    expect(errorOf('a == "b" and c == "d"').hint).toBe("selectors combine with '&&', not 'and'");
    expect(errorOf('not a == "b"').hint).toBe("selectors negate with '!', not 'not'");
    expect(errorOf('has (a)').hint).toBe("write has( with no space before the '('");
    expect(errorOf('a == "b"\n').hint).toMatch(/line break/);
    expect(errorOf('label squiggles "value"').hint).toBeUndefined();
  });

  it('quotes at most 1024 characters of a too-long label', () => {
    const e = errorOf(`${'a'.repeat(5000)} == "v"`);
    expect(e.code).toBe('label-too-long');
    expect(e.offset).toBe(0);
    expect(e.length).toBe(5000);
    expect(e.reason).toBe(`label too long: ${'a'.repeat(1024)}…`);
  });

  it('accepts a 512-character label and rejects 513 (§1.1)', () => {
    expect(trySelector(`${'a'.repeat(512)} == "v"`).ok).toBe(true);
    expect(trySelector(`has(${'a'.repeat(512)})`).ok).toBe(true);
    expect(errorOf(`${'a'.repeat(513)} == "v"`).code).toBe('label-too-long');
    expect(errorOf(`has(${'a'.repeat(513)})`).code).toBe('label-too-long');
  });
});

describe('selector limits', () => {
  it(`rejects selectors longer than ${MAX_SELECTOR_LENGTH} characters, saying the limit`, () => {
    const text = `a in {${'"x", '.repeat(20_000)}}`;
    const e = errorOf(text);
    expect(e.code).toBe('selector-too-long');
    expect(e.reason).toBe('selector too long (max 65536 characters)');
    expect(e.offset).toBe(MAX_SELECTOR_LENGTH);
    expect(e.message.length).toBeLessThan(400);
    // Just under the limit is fine.
    const fits = `a in {${'"x", '.repeat(13_000)}}`;
    expect(fits.length).toBeLessThanOrEqual(MAX_SELECTOR_LENGTH);
    expect(parseSelector(fits).toString()).toBe('a in {"x"}');
  });

  it(`rejects parentheses nested more than ${MAX_NESTING_DEPTH} deep, pointing at the first one too many`, () => {
    const ok = `${'('.repeat(MAX_NESTING_DEPTH)}a == "b"${')'.repeat(MAX_NESTING_DEPTH)}`;
    expect(parseSelector(ok).toString()).toBe('a == "b"');
    const e = errorOf(`${'('.repeat(MAX_NESTING_DEPTH + 1)}a == "b"${')'.repeat(MAX_NESTING_DEPTH + 1)}`);
    expect(e.code).toBe('nested-too-deeply');
    expect(e.reason).toBe('selector nested too deeply (max 128)');
    expect(e.offset).toBe(MAX_NESTING_DEPTH);
  });

  it('bounds the nesting of the canonical form too, so every accepted selector re-parses', () => {
    // n parenthesised alternations of && and || around an && group give n + 1 groups in the canonical text.
    const nested = (n: number): string => {
      let text = 'x == "1" && x == "1"';
      for (let i = 0; i < n; i++) text = `x == "1" ${i % 2 ? '&&' : '||'} (${text})`;
      return text;
    };
    const deepest = parseSelector(nested(MAX_NESTING_DEPTH - 1));
    expect(parseSelector(deepest.toString()).toString()).toBe(deepest.toString());
    expect(errorOf(nested(MAX_NESTING_DEPTH)).code).toBe('nested-too-deeply');
  });

  it('collapses any number of leading ! without recursion', () => {
    expect(parseSelector(`${'!'.repeat(60_000)}has(a)`).toString()).toBe('has(a)');
    expect(parseSelector(`${'!'.repeat(60_001)}has(a)`).toString()).toBe('!has(a)');
  });
});
