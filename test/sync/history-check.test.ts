// The "went back in time / lost objects / another store" rules (src/sync/history-check.ts), one case per clause.
import { describe, expect, it } from 'vitest';

import { checkBaseline, checkContinuation } from '../../src/sync/index.js';

const E = 'file:/s';
const known = new Map([['a', '5'], ['b', '9']]);

describe('checkContinuation', () => {
  it('accepts the first listing of a fresh syncer', () => {
    expect(checkContinuation(E, new Map(), -1, { revision: 0 }, new Map(), new Set())).toBeUndefined();
  });
  it('accepts the same state, and later changes (new objects, updates, deletions)', () => {
    expect(checkContinuation(E, known, 9, { revision: 9 }, new Map(known), new Set())).toBeUndefined();
    expect(checkContinuation(E, known, 9, { revision: 12 }, new Map([['a', '11'], ['c', '12']]), new Set())).toBeUndefined();
  });
  it('refuses a revision older than one already received', () => {
    expect(checkContinuation(E, known, 9, { revision: 8 }, new Map([['a', '5']]), new Set()))
      .toMatchObject({ kind: 'rolled-back', message: expect.stringMatching(/went back in time: file:\/s is at revision 8, older than revision 9/) });
  });
  it('refuses an object at a revision already passed that was never seen at it (a diverged history)', () => {
    expect(checkContinuation(E, known, 9, { revision: 15 }, new Map([['a', '5'], ['b', '9'], ['x', '7']]), new Set()))
      .toMatchObject({ kind: 'rolled-back', message: expect.stringMatching(/holds x at resourceVersion 7, which revision 9 never had/) });
    expect(checkContinuation(E, known, 9, { revision: 15 }, new Map([['a', '4'], ['b', '9']]), new Set()))
      .toMatchObject({ message: expect.stringMatching(/had at resourceVersion 5/) });
  });
  it('refuses objects lost at the same revision, unless the store reports them skipped', () => {
    expect(checkContinuation(E, known, 9, { revision: 9 }, new Map([['b', '9']]), new Set()))
      .toMatchObject({ kind: 'rolled-back', message: expect.stringMatching(/lost objects: .* no longer holds a/) });
    expect(checkContinuation(E, known, 9, { revision: 9 }, new Map([['b', '9']]), new Set(['a']))).toBeUndefined();
  });
});

describe('checkBaseline', () => {
  it('accepts no record, the same store at the recorded revision or later', () => {
    expect(checkBaseline(E, undefined, 3)).toBeUndefined();
    expect(checkBaseline(E, { endpoint: E, revision: 7 }, 7)).toBeUndefined();
    expect(checkBaseline(E, { endpoint: E, revision: 7 }, 70)).toBeUndefined();
  });
  it('refuses an older revision and another store', () => {
    expect(checkBaseline(E, { endpoint: E, revision: 7011 }, 8))
      .toMatchObject({ kind: 'rolled-back', message: expect.stringMatching(/revision 8, older than revision 7011 this node enforces/) });
    expect(checkBaseline(E, { endpoint: 'etcd://h:2379', revision: 1 }, 8))
      .toMatchObject({ kind: 'replaced', message: expect.stringMatching(/enforces revision 1 of etcd:\/\/h:2379, not file:\/s/) });
  });
});
