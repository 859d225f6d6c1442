// Line diffs in unified format (`@@ -a,b +c,d @@`, then ' ', '-', '+' lines with 3 lines of context), for the
// per-object diffs of --dry-run. Objects are small, so a longest-common-subsequence table is fine; past a size
// bound it degrades to "all old lines removed, all new added", which is still a correct diff.

const CONTEXT = 3;
const MAX_CELLS = 4_000_000;

type Op = { kind: ' ' | '-' | '+'; text: string };

function diffOps(a: readonly string[], b: readonly string[]): Op[] {
  // Trim the common prefix and suffix first: most edits touch a few lines of a long object.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const head: Op[] = a.slice(0, start).map((text) => ({ kind: ' ', text }));
  const tail: Op[] = a.slice(endA).map((text) => ({ kind: ' ', text }));
  const x = a.slice(start, endA);
  const y = b.slice(start, endB);
  const n = x.length;
  const m = y.length;
  let middle: Op[];
  if (n * m > MAX_CELLS) {
    middle = [...x.map((text) => ({ kind: '-' as const, text })), ...y.map((text) => ({ kind: '+' as const, text }))];
  } else {
    // lcs[i][j] = LCS length of x[i..] and y[j..]
    const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i]![j] = x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
      }
    }
    middle = [];
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && x[i] === y[j]) {
        middle.push({ kind: ' ', text: x[i]! });
        i++;
        j++;
      } else if (i < n && (j === m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
        // Removals before additions, as diff(1) prints them.
        middle.push({ kind: '-', text: x[i]! });
        i++;
      } else {
        middle.push({ kind: '+', text: y[j]! });
        j++;
      }
    }
  }
  return [...head, ...middle, ...tail];
}

/** A unified diff of two texts; '' when they are equal. */
export function unifiedDiff(oldText: string, newText: string): string {
  const split = (t: string) => (t === '' ? [] : t.replace(/\n$/, '').split('\n'));
  const ops = diffOps(split(oldText), split(newText));
  if (ops.every((o) => o.kind === ' ')) return '';
  const out: string[] = [];
  let i = 0;
  // Line numbers (1-based) of ops[i] in the old and new text.
  const oldLine: number[] = [];
  const newLine: number[] = [];
  let ol = 1;
  let nl = 1;
  for (const o of ops) {
    oldLine.push(ol);
    newLine.push(nl);
    if (o.kind !== '+') ol++;
    if (o.kind !== '-') nl++;
  }
  while (i < ops.length) {
    if (ops[i]!.kind === ' ') {
      i++;
      continue;
    }
    // A hunk: from CONTEXT lines before this change to CONTEXT lines after the last change that is within
    // 2*CONTEXT of the previous one.
    const from = Math.max(0, i - CONTEXT);
    let to = i;
    for (let k = i; k < ops.length; k++) {
      if (ops[k]!.kind !== ' ') to = k;
      else if (k - to > 2 * CONTEXT) break;
    }
    const end = Math.min(ops.length, to + CONTEXT + 1);
    const hunk = ops.slice(from, end);
    const oldCount = hunk.filter((o) => o.kind !== '+').length;
    const newCount = hunk.filter((o) => o.kind !== '-').length;
    const oldStart = oldCount === 0 ? oldLine[from]! - 1 : oldLine[from]!;
    const newStart = newCount === 0 ? newLine[from]! - 1 : newLine[from]!;
    out.push(`@@ -${oldStart},${oldCount} +${newStart},${newCount} @@`);
    for (const o of hunk) out.push(`${o.kind}${o.text}`);
    i = end;
  }
  return out.join('\n');
}
