// The kubectl JSONPath evaluator (src/cli/output/jsonpath.ts) on its own: the cases the CLI suite
// (output-formats.test.ts) does not reach — nested ranges, negative slices, unions, root and current.
import { describe, expect, it } from 'vitest';

import { executeJsonPath, JsonPathError, parseJsonPath, type JsonValue } from '../../src/cli/output/jsonpath.js';

const data: JsonValue = { items: [{ n: 'a', xs: [1, 2] }, { n: 'b', xs: [3] }], m: { k: 'v', 'a.b': 'dotted' } };
const run = (template: string, printable?: (s: string) => string) => executeJsonPath(parseJsonPath(template), data, printable);

describe('kubectl JSONPath', () => {
  it.each([
    ['{range .items[*]}{.n}:{range .xs[*]}[{@}]{end};{end}', 'a:[1][2];b:[3];'],
    ['{$.m.k} {@.m.k}', 'v v'],
    ['{.items[*].xs[-1]}', '2 3'],
    ['{.items[::-1].n}', 'b a'],
    ['{.items[0,1].n}', 'a b'],
    ["{.m['k','a.b']}", 'v dotted'],
    ['{.m.a\\.b}', 'dotted'],
    ['{.m.*}', 'v dotted'],
    ['{..n}', 'a b'],
    ['{.items[?(@.xs[0] >= 2)].n}', 'b'],
    ['{.items[?(@.n != "a")].n}', 'b'],
    ['{.items[?(@.zz)].n}', ''],
    ['{ .m.k }', 'v'],
    ['plain text', 'plain text'],
    ['{"\\u00e9\\n"}', 'é\n'],
  ])('%s', (template, expected) => {
    expect(run(template)).toBe(expected);
  });

  it('passes values from the data, not the template text, through `printable`', () => {
    expect(run('{.m.k}{"\\n"}', (s) => `<${s}>`)).toBe('<v>\n');
  });

  it('rejects bad templates with a JsonPathError naming the column', () => {
    expect(() => parseJsonPath('ab{.x')).toThrow(JsonPathError);
    expect(() => parseJsonPath('ab{.x')).toThrow(/column 3/);
    expect(() => parseJsonPath('{.items[1:2:0]}')).toThrow(/step cannot be 0/);
    expect(() => parseJsonPath('{}')).toThrow(/empty action/);
    expect(() => parseJsonPath('{..}')).toThrow(/'\.\.' must be followed by a name/);
  });
});
