// Finding a member's text inside JSON text that has already parsed, without parsing it again: how an unreadable
// stored value is written back verbatim (issue 10 review). JSON.parse accepts a value nested 100,000 deep that
// JSON.stringify then overflows the stack on, so a value kept "as it was" must be kept as the bytes it was read
// as. The scan is iterative (a depth counter, never recursion) and linear; it trusts its input to be valid JSON,
// which every caller has just checked with JSON.parse (so a malformed input only gives a wrong answer, never a
// hang: every step advances).

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function skipSpace(text: string, pos: number): number {
  let p = pos;
  while (p < text.length && isSpace(text.charCodeAt(p))) p++;
  return p;
}

/** The end of the string starting at `pos` (a quote), just past its closing quote. */
function skipString(text: string, pos: number): number {
  let p = pos + 1;
  while (p < text.length) {
    const c = text.charCodeAt(p);
    if (c === BACKSLASH) p += 2;
    else if (c === QUOTE) return p + 1;
    else p++;
  }
  return p;
}

/** The end of the JSON value starting at `pos`. */
function skipValue(text: string, pos: number): number {
  const c = text.charCodeAt(pos);
  if (c === QUOTE) return skipString(text, pos);
  if (c !== 0x7b && c !== 0x5b) {
    let p = pos;
    while (p < text.length && !',}] \t\n\r'.includes(text[p]!)) p++;
    return Math.max(p, pos + 1);
  }
  let depth = 0;
  let p = pos;
  while (p < text.length) {
    const d = text.charCodeAt(p);
    if (d === QUOTE) {
      p = skipString(text, p);
      continue;
    }
    if (d === 0x7b || d === 0x5b) depth++;
    else if (d === 0x7d || d === 0x5d) {
      depth--;
      if (depth === 0) return p + 1;
    }
    p++;
  }
  return p;
}

/** The text of every element of the top-level array in `text`. */
export function elementTexts(text: string): string[] {
  const out: string[] = [];
  let p = skipSpace(text, 0);
  if (text[p] !== '[') return out;
  p = skipSpace(text, p + 1);
  if (text[p] === ']') return out;
  while (p < text.length) {
    const end = skipValue(text, p);
    out.push(text.slice(p, end));
    p = skipSpace(text, end);
    if (text[p] !== ',') break;
    p = skipSpace(text, p + 1);
  }
  return out;
}

/** The text of member `name` of the top-level object in `text` (the last one, as JSON.parse keeps). */
export function memberText(text: string, name: string): string | undefined {
  let found: string | undefined;
  let p = skipSpace(text, 0);
  if (text[p] !== '{') return undefined;
  p = skipSpace(text, p + 1);
  while (p < text.length && text[p] === '"') {
    const keyEnd = skipString(text, p);
    const key = JSON.parse(text.slice(p, keyEnd)) as string;
    p = skipSpace(text, keyEnd);
    if (text[p] !== ':') return found;
    p = skipSpace(text, p + 1);
    const end = skipValue(text, p);
    if (key === name) found = text.slice(p, end);
    p = skipSpace(text, end);
    if (text[p] !== ',') break;
    p = skipSpace(text, p + 1);
  }
  return found;
}
