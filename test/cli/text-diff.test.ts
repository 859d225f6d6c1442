// Unified diffs for --dry-run.
import { describe, expect, it } from 'vitest';

import { unifiedDiff } from '../../src/cli/output/text-diff.js';

describe('unifiedDiff', () => {
  it('is empty for equal texts', () => {
    expect(unifiedDiff('a\nb\n', 'a\nb\n')).toBe('');
  });
  it('shows a change with three lines of context, removals first', () => {
    const old = ['1', '2', '3', '4', '5', '6', '7', '8', '9'].join('\n');
    const now = ['1', '2', '3', '4', 'five', '6', '7', '8', '9'].join('\n');
    expect(unifiedDiff(old, now)).toBe('@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8');
  });
  it('splits distant changes into hunks', () => {
    const old = Array.from({ length: 30 }, (_, i) => `l${i}`);
    const now = old.map((l, i) => (i === 2 || i === 25 ? `${l}!` : l));
    const d = unifiedDiff(old.join('\n'), now.join('\n'));
    expect(d.match(/^@@/gm)).toHaveLength(2);
    expect(d).toContain('-l2\n+l2!');
    expect(d).toContain('-l25\n+l25!');
  });
  it('diffs against nothing for creates and deletes', () => {
    expect(unifiedDiff('', 'a\nb\n')).toBe('@@ -0,0 +1,2 @@\n+a\n+b');
    expect(unifiedDiff('a\n', '')).toBe('@@ -1,1 +0,0 @@\n-a');
  });
});
