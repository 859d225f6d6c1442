// "Did you mean": the closest existing name to a misspelt one — rule IDs, label keys and values.

/** The closest of `candidates` to `word`, when it is close enough to be a typo (and not `word` itself). */
export function nearest(word: string, candidates: Iterable<string>): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const c of candidates) {
    if (c === word) continue;
    const d = editDistance(word, c);
    if (!best || d < best.d || (d === best.d && c < best.name)) best = { name: c, d };
  }
  return best && best.d <= Math.max(1, Math.min(3, Math.floor(word.length / 4))) ? best.name : undefined;
}

/** Levenshtein distance. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
