// Property tests (fast-check). Random text and bytes never crash the parser (only SelectorError); generated
// selectors evaluate as an independent reference model says (§1.3); the canonical form re-parses to a
// selector that evaluates identically and is stable after one more round (§1.4, §7.4); label restrictions
// are sound (§1.6); prefixing commutes with prefixing the labels.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SelectorError, parseSelector, prefixLabels, trySelector, type Selector } from '../../src/selector/index.js';

type Labels = Record<string, string>;

/** Generated selector text together with what it must mean, computed without the parser. */
interface Generated {
  readonly text: string;
  readonly expected: (labels: Labels) => boolean;
}

// Label names include Object.prototype members, which must never look like labels.
const LABELS = ['a', 'b', 'app', 'k8s-app', 'x.y/z', 'constructor', '__proto__', 'toString'] as const;
const VALUES = ['', 'x', 'y', 'xy', 'yx', '"', "'", 'é', 'x y'] as const;

const present = (l: Labels, k: string): boolean => Object.hasOwn(l, k);

const labelArb = fc.constantFrom(...LABELS);
const valueArb = fc.constantFrom(...VALUES);
const sep = fc.constantFrom(' ', '\t', '  ');
const optSep = fc.constantFrom('', ' ', '\t');

/** A value literal in whichever quotes can hold it. */
const literal = (v: string): fc.Arbitrary<string> => {
  if (v.includes('"')) return fc.constant(`'${v}'`);
  if (v.includes("'")) return fc.constant(`"${v}"`);
  return fc.constantFrom(`"${v}"`, `'${v}'`);
};

const comparisons: Record<string, (v: string | undefined, x: string) => boolean> = {
  '==': (v, x) => v === x,
  '!=': (v, x) => v !== x,
  contains: (v, x) => v !== undefined && v.includes(x),
  'starts with': (v, x) => v !== undefined && v.startsWith(x),
  startswith: (v, x) => v !== undefined && v.startsWith(x),
  'ends  with': (v, x) => v !== undefined && v.endsWith(x),
};

const comparisonArb: fc.Arbitrary<Generated> = fc
  .tuple(labelArb, fc.constantFrom(...Object.keys(comparisons)), valueArb, sep, sep)
  .chain(([k, op, x, s1, s2]) =>
    literal(x).map((lit) => ({
      text: `${k}${s1}${op}${s2}${lit}`,
      expected: (l: Labels) => comparisons[op]!(present(l, k) ? l[k] : undefined, x),
    })),
  );

const setArb: fc.Arbitrary<Generated> = fc
  .tuple(labelArb, fc.constantFrom('in', 'not in', 'notin'), fc.array<string>(valueArb, { maxLength: 6 }), fc.boolean(), optSep)
  .chain(([k, op, xs, trailingComma, s]) =>
    (xs.length === 0 ? fc.constant([] as string[]) : fc.tuple(...xs.map(literal))).map((lits) => {
      const inside = lits.join(`,${s}`) + (trailingComma && lits.length > 0 ? ',' : '');
      const isIn = op === 'in';
      return {
        text: `${k} ${op} {${s}${inside}${s}}`,
        expected: (l: Labels) => (present(l, k) && xs.includes(l[k]!)) === isIn,
      };
    }),
  );

const leafArb: fc.Arbitrary<Generated> = fc.oneof(
  comparisonArb,
  setArb,
  labelArb.chain((k) => optSep.map((s) => ({ text: `has(${s}${k}${s})`, expected: (l: Labels) => present(l, k) }))),
  fc.constantFrom<Generated>({ text: 'all()', expected: () => true }, { text: 'global( )', expected: () => true }),
);

// Grammar levels, so that the generated text means what the generated model says: `!` applies to one
// operation or a parenthesised group, && binds tighter than ||.
const { expr } = fc.letrec<{ expr: Generated; andExpr: Generated; operation: Generated }>((tie) => ({
  operation: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leafArb,
    fc.tuple(fc.integer({ min: 1, max: 3 }), optSep, tie('operation')).map(([n, s, op]) => ({
      text: `${'!'.repeat(n)}${s}${op.text}`,
      expected: (l: Labels) => (n % 2 === 1 ? !op.expected(l) : op.expected(l)),
    })),
    fc.tuple(optSep, tie('expr')).map(([s, e]) => ({ text: `(${s}${e.text}${s})`, expected: e.expected })),
  ),
  andExpr: fc.array(tie('operation'), { minLength: 1, maxLength: 3 }).chain((ops) =>
    optSep.map((s) => ({
      text: ops.map((o) => o.text).join(`${s}&&${s}`),
      expected: (l: Labels) => ops.every((o) => o.expected(l)),
    })),
  ),
  expr: fc.array(tie('andExpr'), { minLength: 1, maxLength: 3 }).chain((ands) =>
    optSep.map((s) => ({
      text: ands.map((a) => a.text).join(`${s}||${s}`),
      expected: (l: Labels) => ands.some((a) => a.expected(l)),
    })),
  ),
}));

/** Label maps as JSON would produce them: own properties, `__proto__` included. */
const labelsArb: fc.Arbitrary<Labels> = fc
  .uniqueArray(fc.tuple(labelArb, valueArb), { selector: ([k]) => k, maxLength: LABELS.length })
  .map((entries) => Object.fromEntries(entries) as Labels);

const RUNS = { numRuns: 400 };

/** Parses, or returns the SelectorError; anything else thrown fails the property. */
function parseOrError(text: string): Selector | SelectorError {
  const r = trySelector(text);
  return r.ok ? r.selector : r.error;
}

describe('selector robustness', () => {
  it('random text gives a selector or a SelectorError with an offset inside the text', () => {
    const selectorish = fc
      .array(
        fc.constantFrom('a', 'b', ' ', '\t', '\n', '=', '==', '!', '!=', '&&', '||', '&', '|', '(', ')', '{', '}', ',', '"', "'",
          'x"', "'y'", 'has(', 'all(', 'global(', 'in', 'not', 'contains', 'starts', 'with', 'ends', '%', 'é', '😀'),
        { maxLength: 30 },
      )
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme-ascii' }), selectorish), (text) => {
        const r = parseOrError(text);
        if (r instanceof SelectorError) {
          expect(r.offset).toBeGreaterThanOrEqual(0);
          expect(r.offset).toBeLessThanOrEqual(text.length);
          expect(r.offset + r.length).toBeLessThanOrEqual(text.length);
          expect(r.message.startsWith(`${r.reason}\n`)).toBe(true);
        } else {
          expect(parseSelector(r.toString()).toString()).toBe(parseSelector(parseSelector(r.toString()).toString()).toString());
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('random bytes, read as UTF-8 or Latin-1, never crash', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        for (const encoding of ['utf8', 'latin1'] as const) parseOrError(Buffer.from(bytes).toString(encoding));
      }),
      { numRuns: 2000 },
    );
  });

  it('deep nesting and huge inputs fail with the bounded errors, quickly', () => {
    const cases: Array<[string, string]> = [
      ['('.repeat(100_000), 'selector-too-long'],
      ['!'.repeat(100_000), 'selector-too-long'],
      ['!'.repeat(60_000), 'unexpected-token'],
      ['('.repeat(60_000), 'nested-too-deeply'],
      [`${'('.repeat(5000)}a == "b"${')'.repeat(5000)}`, 'nested-too-deeply'],
      [`${'!('.repeat(5000)}a == "b"${')'.repeat(5000)}`, 'nested-too-deeply'],
      ['"'.repeat(1) + 'x'.repeat(65_000), 'unterminated-string'],
      ['a'.repeat(65_536), 'label-too-long'],
      [`${'a == "b" && '.repeat(5000)}`, 'unexpected-token'],
      [`${'a == "b" '.repeat(8000)}`, 'selector-too-long'],
      [`${'a == "b" )'.repeat(6000)}`, 'unexpected-content'],
    ];
    for (const [text, code] of cases) {
      const r = parseOrError(text);
      expect(r instanceof SelectorError && r.code).toBe(code);
      if (r instanceof SelectorError) expect(r.message.length).toBeLessThan(2000);
    }
    // Long but legal: a wide selector and 60,000 collapsing negations.
    expect(parseSelector(`${'a == "b" || '.repeat(5000)}all()`).matches({})).toBe(true);
    expect(parseSelector(`${'!'.repeat(60_000)}has(a)`).matches({ a: '' })).toBe(true);
  });
});

describe('selector semantics', () => {
  it('evaluates generated selectors as the reference model does (§1.3)', () => {
    fc.assert(
      fc.property(expr, fc.array(labelsArb, { minLength: 1, maxLength: 8 }), (g, maps) => {
        const sel = parseSelector(g.text);
        for (const l of maps) expect(sel.matches(l), `${g.text} on ${JSON.stringify(l)}`).toBe(g.expected(l));
      }),
      RUNS,
    );
  });

  it('re-parses its canonical form to a selector that evaluates identically, stable after one more round', () => {
    fc.assert(
      fc.property(expr, fc.array(labelsArb, { minLength: 1, maxLength: 8 }), (g, maps) => {
        const sel = parseSelector(g.text);
        const once = parseSelector(sel.toString());
        const twice = parseSelector(once.toString());
        // §7.4: `!(!a == "b")` prints `!!a == "b"`, which re-parses to `a == "b"`; after that it is stable.
        expect(parseSelector(twice.toString()).toString()).toBe(twice.toString());
        for (const l of maps) {
          expect(once.matches(l)).toBe(sel.matches(l));
          expect(twice.matches(l)).toBe(sel.matches(l));
        }
      }),
      RUNS,
    );
  });

  it('has sound label restrictions: whatever matches satisfies them (§1.6)', () => {
    fc.assert(
      fc.property(expr, fc.array(labelsArb, { minLength: 1, maxLength: 8 }), (g, maps) => {
        const sel = parseSelector(g.text);
        const r = sel.labelRestrictions();
        for (const l of maps) {
          if (!sel.matches(l)) continue;
          expect(r.impossible).toBe(false);
          for (const [k, lr] of r.labels) {
            if (lr.mustBePresent) expect(present(l, k)).toBe(true);
            if (lr.mustBeAbsent) expect(present(l, k)).toBe(false);
            if (lr.values !== undefined) expect(lr.values.has(l[k]!)).toBe(true);
          }
        }
      }),
      RUNS,
    );
  });

  it('prefixLabels(sel) on prefixed labels agrees with sel on the plain ones', () => {
    fc.assert(
      fc.property(expr, labelsArb, (g, l) => {
        const sel = parseSelector(g.text);
        const prefixed = Object.fromEntries(Object.entries(l).map(([k, v]) => [`pcns.${k}`, v]));
        expect(prefixLabels(sel, 'pcns.').matches(prefixed)).toBe(sel.matches(l));
      }),
      RUNS,
    );
  });
});
