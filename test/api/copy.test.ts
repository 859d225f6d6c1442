import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { copyResource } from '../../src/api/index.js';

describe('copyResource', () => {
  it('copies any JSON value deeply: equal, and sharing no object with the original', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const copy = copyResource(value);
        expect(copy).toStrictEqual(value);
        const shared = (a: unknown, b: unknown): boolean =>
          typeof a === 'object' && a !== null &&
          (a === b || Object.keys(a).some((k) => shared((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])));
        expect(shared(copy, value)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a __proto__ key as data, as JSON.parse made it', () => {
    const value = JSON.parse('{"metadata":{"labels":{"__proto__":{"polluted":"yes"}}}}') as { metadata: { labels: Record<string, unknown> } };
    const copy = copyResource(value);
    expect(Object.getPrototypeOf(copy.metadata.labels)).toBe(Object.prototype);
    expect(Object.keys(copy.metadata.labels)).toEqual(['__proto__']);
    expect((copy.metadata.labels as { polluted?: string }).polluted).toBeUndefined();
  });

  it('copies what is not plain data with structuredClone', () => {
    const when = new Date(0);
    const copy = copyResource({ at: when });
    expect(copy.at).toBeInstanceOf(Date);
    expect(copy.at).not.toBe(when);
    expect(copy.at.getTime()).toBe(0);
  });
});
