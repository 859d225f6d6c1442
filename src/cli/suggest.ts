// "Did you mean …?" for a mistyped command, resource type, flag or subcommand, as cobra (kubectl's and
// calicoctl's CLI library) suggests: a candidate is offered when it is within SUGGESTION_DISTANCE edits of what
// was typed (cobra's SuggestionsMinimumDistance = 2, compared case-insensitively) or when it starts with it
// (cobra's SuggestionsFor: `strings.HasPrefix(strings.ToLower(cmd.Name()), strings.ToLower(typed))`).
// Cobra counts plain Levenshtein edits; here a swap of two neighbours is one edit (Damerau-Levenshtein, the
// optimal-string-alignment form), because `aplpy` is as plainly `apply` as `aply` is.

/** cobra's SuggestionsMinimumDistance. */
export const SUGGESTION_DISTANCE = 2;

/** At most this many suggestions are named: more than that is no longer a suggestion. */
const MAX_SUGGESTIONS = 3;

/** Typed words longer than this are not compared (the table is O(n·m)); nobody mistypes a 200-letter name. */
const MAX_COMPARED = 100;

/** Edits (insert, delete, substitute, swap of neighbours) from `a` to `b`: optimal string alignment distance. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidates `typed` may have meant, nearest first (names it is the start of first of all), at most
 * MAX_SUGGESTIONS. `groups` maps each candidate to what it stands for (a kind's plural
 * and short names stand for one kind): only the nearest name of each group is offered.
 */
export function suggestionsFor(typed: string, candidates: Iterable<string>, groups?: (candidate: string) => string): string[] {
  const word = typed.toLowerCase();
  if (word === '' || word.length > MAX_COMPARED) return [];
  const best = new Map<string, { name: string; distance: number }>();
  for (const name of candidates) {
    const lower = name.toLowerCase();
    if (lower === word) continue;
    const distance = editDistance(word, lower);
    // A prefix is offered only from two characters on: `tabby a` should not list every command with an a.
    const prefix = word.length >= 2 && lower.startsWith(word);
    if (distance > SUGGESTION_DISTANCE && !prefix) continue;
    // A one-letter word is two edits from every two-letter name: only a prefix or a single edit is a suggestion.
    if (!prefix && distance >= word.length) continue;
    const group = groups ? groups(name) : name;
    // What was typed is the start of a name: the likeliest meaning (`desc` is describe before demo).
    const rank = prefix ? 0 : distance;
    const seen = best.get(group);
    if (!seen || rank < seen.distance || (rank === seen.distance && name.length < seen.name.length)) best.set(group, { name, distance: rank });
  }
  return [...best.values()]
    .sort((a, b) => a.distance - b.distance || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .slice(0, MAX_SUGGESTIONS)
    .map((s) => s.name);
}

/** `; did you mean 'apply'?`, `; did you mean 'get' or 'set'?`, or '' when nothing is near. */
export function didYouMean(typed: string, candidates: Iterable<string>, groups?: (candidate: string) => string, prefix = ''): string {
  const found = suggestionsFor(typed, candidates, groups).map((s) => `'${prefix}${s}'`);
  if (found.length === 0) return '';
  const list = found.length === 1 ? found[0]! : `${found.slice(0, -1).join(', ')} or ${found[found.length - 1]!}`;
  return `; did you mean ${list}?`;
}

/** `unknown subcommand 'stauts'; did you mean 'status'?: run, status or rules` — the subcommands in `list` order. */
export function unknownSubcommand(typed: string, subcommands: readonly string[], listed: string): string {
  return `unknown subcommand '${typed}'${didYouMean(typed, subcommands)}: ${listed}`;
}
