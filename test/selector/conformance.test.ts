// Runs every selector vector in conformance/selectors.json (spec §8.1): evaluation, invalid input,
// canonical form and unique ID, token streams, label restrictions and the code-derived edge cases. As Calico's
// parser_test.go does, every evaluation case is run again on the re-parsed canonical string.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSelector, tokenize, trySelector, type LabelRestrictions } from '../../src/selector/index.js';
import { corpusFile } from '../conformance-corpus.js';

const corpusPath = corpusFile('selectors.json');

interface EvalCase {
  selector: string;
  labels: Record<string, string>;
  matches: boolean;
  from?: string;
}
interface InvalidCase {
  selector: string;
  valid: false;
  from?: string;
}
interface CanonicalCase {
  selector: string;
  canonical: string;
  uniqueId?: string;
  from?: string;
}
type SelectorCase = EvalCase | InvalidCase | CanonicalCase;
interface TokenizerCase {
  input: string;
  tokens?: Array<{ kind: string; value?: string }>;
  error?: true;
}
interface ExpectedRestriction {
  mustBePresent?: boolean;
  mustBeAbsent?: boolean;
  mustHaveOneOfValues?: string[];
}
interface RestrictionCase {
  selector: string;
  restrictions: Record<string, ExpectedRestriction> | null;
}
interface Corpus {
  cases: SelectorCase[];
  tokenizerCases: TokenizerCase[];
  labelRestrictionCases: RestrictionCase[];
  codeDerivedCases: SelectorCase[];
}

const corpus = JSON.parse(readFileSync(corpusPath, 'utf8')) as Corpus;

/** Cases run per group and kind, printed at the end. */
const counts = new Map<string, number>();
const count = (key: string): void => void counts.set(key, (counts.get(key) ?? 0) + 1);

afterAll(() => {
  const lines = [...counts].map(([k, n]) => `  ${k.padEnd(42)} ${n}`);
  console.log(`selector conformance (${corpusPath}):\n${lines.join('\n')}`);
});

const label = (s: string): string => JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);

function runSelectorCases(group: string, cases: SelectorCase[]): void {
  describe(group, () => {
    cases.forEach((c, i) => {
      if ('matches' in c) {
        it(`#${i} ${label(c.selector)} ${c.matches ? 'matches' : 'does not match'} ${JSON.stringify(c.labels)}`, () => {
          const sel = parseSelector(c.selector);
          expect(sel.matches(c.labels)).toBe(c.matches);
          count(`${group}: evaluation`);
          // parser_test.go: the same verdict after re-parsing the canonical form.
          const again = parseSelector(sel.toString());
          expect(again.matches(c.labels)).toBe(c.matches);
          count(`${group}: evaluation (canonical)`);
        });
      } else if ('valid' in c) {
        it(`#${i} ${label(c.selector)} is invalid`, () => {
          const r = trySelector(c.selector);
          expect(r.ok).toBe(false);
          if (!r.ok) expect(r.error.selector).toBe(c.selector);
          count(`${group}: invalid`);
        });
      } else {
        it(`#${i} ${label(c.selector)} → ${c.canonical}`, () => {
          const sel = parseSelector(c.selector);
          expect(sel.toString()).toBe(c.canonical);
          count(`${group}: canonical`);
          if (c.uniqueId !== undefined) {
            expect(sel.uniqueId()).toBe(c.uniqueId);
            count(`${group}: uniqueId`);
          }
        });
      }
    });
  });
}

runSelectorCases('cases', corpus.cases);
runSelectorCases('codeDerivedCases', corpus.codeDerivedCases);

describe('tokenizerCases', () => {
  corpus.tokenizerCases.forEach((c, i) => {
    it(`#${i} ${label(c.input)}`, () => {
      if (c.error) {
        expect(() => tokenize(c.input)).toThrow();
        count('tokenizerCases: error');
        return;
      }
      const got = tokenize(c.input).map((t) => (t.value === '' ? { kind: t.kind } : { kind: t.kind, value: t.value }));
      const want = (c.tokens ?? []).map((t) => (t.value === undefined || t.value === '' ? { kind: t.kind } : t));
      expect(got).toEqual(want);
      count('tokenizerCases: tokens');
    });
  });
});

/** The corpus shape: null for no restriction, absent keys for false, sorted values. */
function asExpected(r: LabelRestrictions): Record<string, ExpectedRestriction> | null {
  if (r.labels.size === 0) return null;
  const out: Record<string, ExpectedRestriction> = {};
  for (const [name, lr] of r.labels) {
    const e: ExpectedRestriction = {};
    if (lr.mustBePresent) e.mustBePresent = true;
    if (lr.mustBeAbsent) e.mustBeAbsent = true;
    if (lr.values !== undefined) e.mustHaveOneOfValues = [...lr.values].sort();
    out[name] = e;
  }
  return out;
}

describe('labelRestrictionCases', () => {
  corpus.labelRestrictionCases.forEach((c, i) => {
    const want =
      c.restrictions === null
        ? null
        : Object.fromEntries(
            Object.entries(c.restrictions).map(([k, v]) => [
              k,
              { ...v, ...(v.mustHaveOneOfValues && { mustHaveOneOfValues: [...v.mustHaveOneOfValues].sort() }) },
            ]),
          );
    it(`#${i} ${label(c.selector)}`, () => {
      const sel = parseSelector(c.selector);
      expect(asExpected(sel.labelRestrictions())).toEqual(want);
      expect(asExpected(sel.labelRestrictions())).toEqual(want); // and again, from the cache
      count('labelRestrictionCases');
      // label_restriction_test.go also asserts the same restrictions for `all() && (<selector>)`, except for
      // the empty selector (`all() && ()` does not parse).
      if (c.selector === '') return;
      expect(asExpected(parseSelector(`all() && (${c.selector})`).labelRestrictions())).toEqual(want);
      count('labelRestrictionCases: all() && (…)');
    });
  });
});
