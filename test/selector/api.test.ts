// The public surface others build on: AST constructors, selectorFromAst, prefixLabels (Calico's PrefixVisitor),
// mapNodes for the rewrites of §1.8, label restrictions, label names, and evaluation edge cases.
import { describe, expect, it } from 'vitest';
import {
  ALL,
  GLOBAL,
  SelectorError,
  and,
  canonicalise,
  compareCodePoints,
  eq,
  hasLabel,
  inSet,
  mapNodes,
  not,
  notInSet,
  or,
  parseSelector,
  prefixLabels,
  selectorFromAst,
  startsWith,
  trySelector,
  type SelectorNode,
} from '../../src/selector/index.js';

describe('building selectors from an AST', () => {
  it('prints what Calico prints for the equivalent textual rewrite (§1.8)', () => {
    // NetworkPolicy: (<selector>) && projectcalico.org/namespace == '<ns>'
    const user = parseSelector('app == "web" && tier in {"fe", "be"}');
    const built = selectorFromAst(and(user.ast, eq('projectcalico.org/namespace', 'prod')));
    const textual = parseSelector(`(${user.toString()}) && projectcalico.org/namespace == 'prod'`);
    expect(built.toString()).toBe(textual.toString());
    expect(built.toString()).toBe('((app == "web" && tier in {"be", "fe"}) && projectcalico.org/namespace == "prod")');
    expect(built.uniqueId()).toBe(textual.uniqueId());
  });

  it('has constructors for every node kind', () => {
    const sel = selectorFromAst(
      or(not(hasLabel('a')), and(inSet('b', ['y', 'x', 'y']), notInSet('c', []), startsWith('d', '"q')), ALL, GLOBAL),
    );
    expect(sel.toString()).toBe('(!has(a) || (b in {"x", "y"} && c not in {} && d starts with \'"q\') || all() || global())');
    expect(parseSelector(sel.toString()).toString()).toBe(sel.toString());
  });

  it('returns a single operand of and()/or() as is and refuses none', () => {
    const a = eq('a', 'b');
    expect(and(a)).toBe(a);
    expect(or(a)).toBe(a);
    expect(() => and()).toThrow(TypeError);
  });

  it('rejects trees whose canonical text could not be parsed back', () => {
    const codeOf = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        if (e instanceof SelectorError) return e.code;
        throw e;
      }
      return 'ok';
    };
    expect(codeOf(() => selectorFromAst(eq('a b', 'x')))).toBe('invalid-label');
    expect(codeOf(() => selectorFromAst(hasLabel('')))).toBe('invalid-label');
    expect(codeOf(() => selectorFromAst(eq('a', `"'`)))).toBe('unquotable-value');
    expect(codeOf(() => selectorFromAst(inSet('a', ['ok', `'"`])))).toBe('unquotable-value');
    let deep: SelectorNode = eq('a', 'b');
    for (let i = 0; i < 200; i++) deep = and(deep, eq('a', 'b'));
    expect(codeOf(() => selectorFromAst(deep))).toBe('nested-too-deeply');
    expect(codeOf(() => selectorFromAst(eq('a'.repeat(600), 'x')))).toBe('ok');
  });

  it('keeps nodes immutable', () => {
    const node = eq('a', 'b');
    expect(Object.isFrozen(node)).toBe(true);
    expect(Object.isFrozen(parseSelector('a in {"x"}').ast)).toBe(true);
  });
});

describe('prefixLabels (PrefixVisitor)', () => {
  it('prefixes every label name and nothing else', () => {
    const sel = parseSelector(`k == 'v' && !has(a) || b in {'x'} && c not in {'y'} && d contains "all()" && all()`);
    const prefixed = prefixLabels(sel, 'pcns.');
    expect(prefixed.toString()).toBe(
      '((pcns.k == "v" && !has(pcns.a)) || (pcns.b in {"x"} && pcns.c not in {"y"} && pcns.d contains "all()" && all()))',
    );
    expect(prefixed.labelNames()).toEqual(['pcns.a', 'pcns.b', 'pcns.c', 'pcns.d', 'pcns.k']);
    // The original is untouched.
    expect(sel.labelNames()).toEqual(['a', 'b', 'c', 'd', 'k']);
  });

  it('evaluates against prefixed labels as the original does against plain ones', () => {
    const sel = parseSelector('env != "prod" && team in {"a", "b"}');
    const prefixed = prefixLabels(sel, 'pcns.');
    expect(prefixed.matches({ 'pcns.team': 'a' })).toBe(true);
    expect(prefixed.matches({ team: 'a' })).toBe(false);
    expect(prefixed.matches({ 'pcns.team': 'a', 'pcns.env': 'prod' })).toBe(false);
  });
});

describe('mapNodes', () => {
  it("rewrites all() and global() structurally, as §1.8 does for entity namespaceSelectors", () => {
    const nsSel = prefixLabels(parseSelector('global() || all() && team == "all()"'), 'pcns.');
    const rewritten = selectorFromAst(
      mapNodes(nsSel.ast, (n) =>
        n.kind === 'all'
          ? hasLabel('projectcalico.org/namespace')
          : n.kind === 'global'
            ? not(hasLabel('projectcalico.org/namespace'))
            : n,
      ),
    );
    expect(rewritten.toString()).toBe(
      '(!has(projectcalico.org/namespace) || (has(projectcalico.org/namespace) && pcns.team == "all()"))',
    );
  });

  it('returns the same tree when nothing changes', () => {
    const ast = parseSelector('!(a == "b" || c == "d") && has(e)').ast;
    expect(mapNodes(ast, (n) => n)).toBe(ast);
  });
});

describe('label restrictions (§1.6)', () => {
  const restrictionsOf = (text: string) => parseSelector(text).labelRestrictions();

  it('flags selectors nothing can match', () => {
    expect(restrictionsOf("a == 'v1' && a == 'v2'").impossible).toBe(true);
    expect(restrictionsOf('has(a) && !has(a)').impossible).toBe(true);
    expect(restrictionsOf('a in {}').impossible).toBe(true);
    expect(restrictionsOf("a == 'v1' || a == 'v2'").impossible).toBe(false);
    expect(restrictionsOf('').impossible).toBe(false);
  });

  it('keeps only what both sides of || require', () => {
    const r = restrictionsOf("a == 'x' && b == 'y' || a == 'z' && has(c)");
    expect([...r.labels.keys()]).toEqual(['a']);
    expect([...r.labels.get('a')!.values!].sort()).toEqual(['x', 'z']);
    expect(restrictionsOf('!has(a) || !has(a) && b == "c"').labels.get('a')).toEqual({ mustBePresent: false, mustBeAbsent: true });
  });

  it('follows Calico in treating only !has(k) as a negation that restricts', () => {
    expect(restrictionsOf('!(has(a))').labels.get('a')?.mustBeAbsent).toBe(true);
    expect(restrictionsOf('!(!has(a))').labels.size).toBe(0);
    expect(restrictionsOf('!(a == "b" && has(c))').labels.size).toBe(0);
  });
});

describe('evaluation', () => {
  it('treats a label as present exactly when it is an own or inherited string value', () => {
    const sel = parseSelector('has(constructor) || has(toString) || has(__proto__)');
    expect(sel.matches({})).toBe(false);
    expect(sel.matches(Object.create(null) as Record<string, string>)).toBe(false);
    expect(sel.matches(JSON.parse('{"__proto__": "x"}') as Record<string, string>)).toBe(true);
    expect(sel.matches({ constructor: '' } as unknown as Record<string, string>)).toBe(true);
    expect(parseSelector('toString != "x"').matches({})).toBe(true);
    expect(parseSelector('toString not in {"a", "b", "c", "d"}').matches({})).toBe(true);
    expect(parseSelector('constructor contains "f"').matches({})).toBe(false);
    // Inherited labels count: the engine may layer profile labels under an endpoint's own with a prototype.
    const inherited = Object.assign(Object.create({ team: 'a' }) as Record<string, string>, { app: 'web' });
    expect(parseSelector('team == "a" && app == "web"').matches(inherited)).toBe(true);
  });

  it('matches sets of every size', () => {
    for (let n = 0; n <= 6; n++) {
      const values = Array.from({ length: n }, (_, i) => `v${i}`);
      const sel = parseSelector(`k in {${values.map((v) => `"${v}"`).join(', ')}}`);
      const notSel = parseSelector(`k not in {${values.map((v) => `"${v}"`).join(', ')}}`);
      for (const v of [...values, 'other']) {
        expect(sel.matches({ k: v })).toBe(values.includes(v));
        expect(notSel.matches({ k: v })).toBe(!values.includes(v));
      }
      expect(sel.matches({})).toBe(false);
      expect(notSel.matches({})).toBe(true);
    }
  });

  it('folds negations into leaves without changing their meaning for absent labels', () => {
    for (const text of ['!a == "b"', '!a != "b"', '!a in {"b"}', '!a not in {"b"}', '!has(a)', '!all()', '!(a == "b" || has(c))']) {
      const sel = parseSelector(text);
      const inner = parseSelector(text.slice(1));
      const maps: Array<Record<string, string>> = [{}, { a: 'b' }, { a: 'x' }, { c: '' }];
      for (const labels of maps) expect(sel.matches(labels)).toBe(!inner.matches(labels));
    }
  });
});

describe('canonical form and identity', () => {
  it('sorts set values by code point, as Go sorts UTF-8 bytes', () => {
    // U+FF5E (one UTF-16 unit) sorts before U+1F600 (a surrogate pair) in UTF-8 byte order.
    expect(canonicalise('a in {"😀", "～", "b"}')).toBe('a in {"b", "～", "😀"}');
    expect(compareCodePoints('😀', '～')).toBeGreaterThan(0);
  });

  it('computes the unique ID lazily and once', () => {
    const sel = parseSelector('all()');
    expect(sel.uniqueId()).toBe('s:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug');
    expect(sel.uniqueId()).toBe(sel.uniqueId());
  });

  it('hashes the UTF-8 bytes of the canonical text', () => {
    const a = parseSelector('a == "é"');
    const b = parseSelector("a == 'é'");
    expect(a.uniqueId()).toBe(b.uniqueId());
    expect(a.uniqueId()).not.toBe(parseSelector('a == "e"').uniqueId());
  });

  it('lists label names sorted and once each', () => {
    expect(parseSelector('b == "1" || a == "2" && has(b) || !c in {}').labelNames()).toEqual(['a', 'b', 'c']);
    expect(parseSelector('all()').labelNames()).toEqual([]);
  });

  it('trySelector reports success and failure without throwing', () => {
    const good = trySelector('a == "b"');
    expect(good.ok && good.selector.toString()).toBe('a == "b"');
    const bad = trySelector('a ==');
    expect(!bad.ok && bad.error.code).toBe('expected-string');
  });
});
