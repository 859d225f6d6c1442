// kubectl's JSONPath dialect (k8s.io/client-go/util/jsonpath, https://kubernetes.io/docs/reference/kubectl/jsonpath/)
// for `tabby get -o jsonpath=…` and the paths of `-o custom-columns=…`. A small evaluator of our own rather than an
// npm library: the JSONPath packages on npm (jsonpath, jsonpath-plus) implement Goessner's dialect — `$.a.b`
// expressions, no `{…}` template text, no `{range}…{end}`, no kubectl quoting of `{"\n"}` — so a user's
// kubectl template would not run unchanged; this one is ~300 lines, has no dependencies and parses the template
// once, before the store is read, so a bad template is a usage error naming the problem (exit 2).
//
// Supported, as kubectl: text outside braces, `{"literal\n"}`, `{.a.b}`, `{$.a}`, `{@}`, `{.a\.b}` (an escaped dot
// in a key), `{.a['b.c']}`, `{.items[*].metadata.name}`, `[n]`, `[-1]`, `[a:b:c]`, unions `[0,2]` / `['a','b']`,
// `.*`, recursive descent `..name`, filters `[?(@.spec.order > 100)]` (==, !=, <, <=, >, >= against a number,
// a quoted string or another path; `[?(@.x)]` for "has x"), and `{range PATH}…{end}`, nested. As kubectl
// (whose --allow-missing-template-keys defaults to true) a missing key prints nothing. Several results of one
// expression print space-separated; strings print as they are, other values as compact JSON (as kubectl ≥ 1.19).

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

type Index =
  | { type: 'number'; value: number }
  | { type: 'slice'; start?: number; end?: number; step?: number }
  | { type: 'key'; value: string }
  | { type: 'all' };

type Operand = { type: 'path'; path: Path } | { type: 'literal'; value: JsonValue };

interface Filter {
  left: Operand;
  op?: '==' | '!=' | '<' | '<=' | '>' | '>=';
  right?: Operand;
}

type Step =
  | { type: 'field'; name: string }
  | { type: 'wildcard' }
  | { type: 'recursive' }
  | { type: 'index'; indexes: Index[] }
  | { type: 'filter'; filter: Filter };

interface Path {
  start: 'root' | 'current';
  steps: Step[];
}

type Node =
  | { type: 'text'; text: string }
  | { type: 'path'; path: Path }
  | { type: 'range'; path: Path; body: Node[] };

export interface JsonPathTemplate {
  readonly source: string;
  readonly nodes: readonly Node[];
}

/** A template that does not parse: `message` names the problem and where (a column counted from 1). */
export class JsonPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonPathError';
  }
}

/** Where an action ends: its closing brace, skipping quoted strings and brackets. */
function actionEnd(text: string, open: number): number {
  let quote: string | undefined;
  for (let i = open + 1; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '}') {
      return i;
    }
  }
  throw new JsonPathError(quote ? `unterminated quoted string in the action at column ${open + 1}` : `unclosed action: '{' at column ${open + 1} has no '}'`);
}

/** A quoted literal as Go's strconv.Unquote reads it (kubectl's `{"\n"}`); single quotes hold raw text. */
function unquote(text: string, column: number): string {
  if (text.startsWith("'")) return text.slice(1, -1).replace(/\\'/g, "'");
  try {
    return JSON.parse(text.replace(/\\([abfv])/g, (_m, c: string) => ({ a: '\\u0007', b: '\\b', f: '\\f', v: '\\u000b' })[c]!)) as string;
  } catch {
    throw new JsonPathError(`invalid quoted string ${text} at column ${column}`);
  }
}

class PathParser {
  private pos = 0;

  constructor(private readonly text: string, private readonly column: number) {}

  private fail(what: string): never {
    throw new JsonPathError(`${what} at column ${this.column + this.pos}`);
  }

  parse(): Path {
    const path = this.path();
    if (this.pos < this.text.length) this.fail(`unrecognized character ${JSON.stringify(this.text[this.pos])}`);
    return path;
  }

  /** A path up to the end of the text or a character that cannot continue it (in a filter: space, ')', op). */
  path(): Path {
    let start: Path['start'] = 'current';
    if (this.text[this.pos] === '$') { start = 'root'; this.pos++; } else if (this.text[this.pos] === '@') this.pos++;
    const steps: Step[] = [];
    for (;;) {
      const c = this.text[this.pos];
      if (c === '.') {
        if (this.text[this.pos + 1] === '.') {
          this.pos += 2;
          steps.push({ type: 'recursive' });
          if (this.text[this.pos] === '[') continue;
        } else {
          this.pos++;
        }
        const name = this.name();
        if (name === '*') steps.push({ type: 'wildcard' });
        else if (name !== '') steps.push({ type: 'field', name });
        else if (steps.at(-1)?.type === 'recursive') this.fail("'..' must be followed by a name");
      } else if (c === '[') {
        steps.push(this.bracket());
      } else {
        return { start, steps };
      }
    }
  }

  /** A key after '.': up to the next '.', '[' or a character ending a path; `\.` escapes a dot. */
  private name(): string {
    let out = '';
    while (this.pos < this.text.length) {
      const c = this.text[this.pos]!;
      if (c === '\\' && this.pos + 1 < this.text.length) {
        out += this.text[this.pos + 1];
        this.pos += 2;
        continue;
      }
      if ('.[]() \t!=<>,\'"'.includes(c)) break;
      out += c;
      this.pos++;
    }
    return out;
  }

  private bracket(): Step {
    const open = this.pos;
    let depth = 0;
    let quote: string | undefined;
    let close = -1;
    for (let i = open; i < this.text.length; i++) {
      const c = this.text[i]!;
      if (quote) {
        if (c === '\\') i++;
        else if (c === quote) quote = undefined;
      } else if (c === '"' || c === "'") quote = c;
      else if (c === '[' || c === '(') depth++;
      else if (c === ']' || c === ')') {
        depth--;
        if (depth === 0) { close = i; break; }
      }
    }
    if (close < 0 || this.text[close] !== ']') this.fail("unterminated '['");
    const inner = this.text.slice(open + 1, close).trim();
    const innerColumn = this.column + open + 1;
    this.pos = close + 1;
    if (inner.startsWith('?')) {
      const body = inner.slice(1).trim();
      if (!body.startsWith('(') || !body.endsWith(')')) this.fail("a filter is written [?(…)]");
      return { type: 'filter', filter: parseFilter(body.slice(1, -1).trim(), innerColumn) };
    }
    if (inner === '*') return { type: 'index', indexes: [{ type: 'all' }] };
    if (inner === '') this.fail('empty []');
    return { type: 'index', indexes: splitOutsideQuotes(inner, ',').map((part) => parseIndex(part.trim(), innerColumn)) };
  }
}

function splitOutsideQuotes(text: string, sep: string): string[] {
  const out: string[] = [];
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === sep) { out.push(text.slice(start, i)); start = i + 1; }
  }
  out.push(text.slice(start));
  return out;
}

function parseIndex(part: string, column: number): Index {
  if (part.startsWith('"') || part.startsWith("'")) {
    if (part.length < 2 || !part.endsWith(part[0]!)) throw new JsonPathError(`unterminated quoted string in [] at column ${column}`);
    return { type: 'key', value: unquote(part, column) };
  }
  const int = (s: string | undefined): number | undefined => {
    if (s === undefined || s.trim() === '') return undefined;
    if (!/^-?\d+$/.test(s.trim())) throw new JsonPathError(`invalid array index '${part}' at column ${column}`);
    return Number(s);
  };
  if (part.includes(':')) {
    const [a, b, c, extra] = part.split(':');
    if (extra !== undefined) throw new JsonPathError(`invalid array slice '${part}' at column ${column}`);
    const step = int(c);
    if (step === 0) throw new JsonPathError(`array slice step cannot be 0 at column ${column}`);
    return { type: 'slice', ...definedOnly({ start: int(a), end: int(b), step }) };
  }
  return { type: 'number', value: int(part)! };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function parseFilter(text: string, column: number): Filter {
  const m = /^(.*?)\s*(==|!=|<=|>=|<|>)\s*(.*)$/s.exec(text);
  const operand = (s: string): Operand => {
    const t = s.trim();
    if (t.startsWith('@') || t.startsWith('$')) return { type: 'path', path: new PathParser(t, column).parse() };
    if (t.startsWith('"') || t.startsWith("'")) return { type: 'literal', value: unquote(t, column) };
    if (/^-?\d+(\.\d+)?$/.test(t)) return { type: 'literal', value: Number(t) };
    if (t === 'true' || t === 'false') return { type: 'literal', value: t === 'true' };
    throw new JsonPathError(`unrecognized filter operand '${t}' at column ${column} (a path from @, a number or a quoted string)`);
  };
  if (!m) return { left: operand(text) };
  return { left: operand(m[1]!), op: m[2] as Filter['op'] & string, right: operand(m[3]!) };
}

/** Parses a kubectl JSONPath template; throws JsonPathError naming the problem. */
export function parseJsonPath(source: string): JsonPathTemplate {
  try {
    return parseTemplate(source);
  } catch (err) {
    // Nesting deep enough to exhaust the stack (filters in filters) is a bad template, not a bug.
    if (err instanceof RangeError) throw new JsonPathError('the template nests too deeply');
    throw err;
  }
}

function parseTemplate(source: string): JsonPathTemplate {
  const stack: Node[][] = [[]];
  let i = 0;
  while (i < source.length) {
    const open = source.indexOf('{', i);
    const textEnd = open < 0 ? source.length : open;
    if (textEnd > i) stack.at(-1)!.push({ type: 'text', text: source.slice(i, textEnd) });
    if (open < 0) break;
    const close = actionEnd(source, open);
    const raw = source.slice(open + 1, close);
    const action = raw.trim();
    const column = open + 2 + (raw.length - raw.trimStart().length);
    if (action === 'end') {
      if (stack.length === 1) throw new JsonPathError(`{end} at column ${open + 1} closes no {range}`);
      const body = stack.pop()!;
      const range = stack.at(-1)!.at(-1) as Extract<Node, { type: 'range' }>;
      range.body = body;
    } else if (/^range\s/.test(action)) {
      const pathText = action.slice(5).trimStart();
      const path = new PathParser(pathText, column + action.length - pathText.length).parse();
      stack.at(-1)!.push({ type: 'range', path, body: [] });
      stack.push([]);
    } else if (action.startsWith('"') || action.startsWith("'")) {
      if (action.length < 2 || !action.endsWith(action[0]!)) throw new JsonPathError(`unterminated quoted string at column ${column}`);
      stack.at(-1)!.push({ type: 'text', text: unquote(action, column) });
    } else if (action === '') {
      throw new JsonPathError(`empty action {} at column ${open + 1}`);
    } else {
      stack.at(-1)!.push({ type: 'path', path: new PathParser(action, column).parse() });
    }
    i = close + 1;
  }
  if (stack.length > 1) throw new JsonPathError('{range} without {end}');
  return { source, nodes: stack[0]! };
}

const isObject = (v: JsonValue): v is { [key: string]: JsonValue } => typeof v === 'object' && v !== null && !Array.isArray(v);

function children(v: JsonValue): JsonValue[] {
  return Array.isArray(v) ? v : isObject(v) ? Object.values(v) : [];
}

function descendants(v: JsonValue, out: JsonValue[]): JsonValue[] {
  out.push(v);
  for (const c of children(v)) descendants(c, out);
  return out;
}

function sliceOf(a: JsonValue[], s: Extract<Index, { type: 'slice' }>): JsonValue[] {
  const n = a.length;
  const step = s.step ?? 1;
  const norm = (x: number) => (x < 0 ? Math.max(n + x, step > 0 ? 0 : -1) : Math.min(x, step > 0 ? n : n - 1));
  const start = s.start === undefined ? (step > 0 ? 0 : n - 1) : norm(s.start);
  const end = s.end === undefined ? (step > 0 ? n : -1) : norm(s.end);
  const out: JsonValue[] = [];
  for (let i = start; step > 0 ? i < end : i > end; i += step) out.push(a[i]!);
  return out;
}

function applyStep(step: Step, values: JsonValue[], root: JsonValue): JsonValue[] {
  switch (step.type) {
    case 'field':
      return values.flatMap((v) => (isObject(v) && Object.hasOwn(v, step.name) ? [v[step.name]!] : []));
    case 'wildcard':
      return values.flatMap(children);
    case 'recursive':
      return values.flatMap((v) => descendants(v, []));
    case 'index':
      return values.flatMap((v) => step.indexes.flatMap((ix): JsonValue[] => {
        if (ix.type === 'all') return children(v);
        if (ix.type === 'key') return isObject(v) && Object.hasOwn(v, ix.value) ? [v[ix.value]!] : [];
        if (!Array.isArray(v)) return [];
        if (ix.type === 'slice') return sliceOf(v, ix);
        const i = ix.value < 0 ? v.length + ix.value : ix.value;
        return i >= 0 && i < v.length ? [v[i]!] : [];
      }));
    case 'filter':
      return values.flatMap((v) => children(v).filter((item) => holds(step.filter, item, root)));
  }
}

function evaluate(path: Path, root: JsonValue, current: JsonValue): JsonValue[] {
  let values = [path.start === 'root' ? root : current];
  for (const step of path.steps) values = applyStep(step, values, root);
  return values;
}

function holds(filter: Filter, item: JsonValue, root: JsonValue): boolean {
  const value = (o: Operand): JsonValue[] => (o.type === 'literal' ? [o.value] : evaluate(o.path, root, item));
  const left = value(filter.left);
  if (!filter.op || !filter.right) return left.length > 0 && left[0] !== false && left[0] !== null;
  const right = value(filter.right);
  if (left.length === 0 || right.length === 0) return filter.op === '!=' && left.length !== right.length;
  const [a, b] = [left[0]!, right[0]!];
  switch (filter.op) {
    case '==': return JSON.stringify(a) === JSON.stringify(b);
    case '!=': return JSON.stringify(a) !== JSON.stringify(b);
    default: {
      if (!((typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string'))) return false;
      return filter.op === '<' ? a < b : filter.op === '<=' ? a <= b : filter.op === '>' ? a > b : a >= b;
    }
  }
}

/** One value as kubectl prints it: strings as they are, everything else as compact JSON. */
export function valueText(v: JsonValue): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** The values one path finds in `data` (custom-columns prints them comma-separated). */
export function findValues(template: JsonPathTemplate, data: JsonValue): JsonValue[] {
  return template.nodes.flatMap((n) => (n.type === 'path' ? evaluate(n.path, data, data) : []));
}

/**
 * The template's text for `data`. `printable` is applied to every value taken from the data (not to the template's
 * own text, whose `{"\n"}` is meant), so a stored string cannot forge a line or a terminal sequence.
 */
export function executeJsonPath(template: JsonPathTemplate, data: JsonValue, printable: (s: string) => string = (s) => s): string {
  const run = (nodes: readonly Node[], current: JsonValue): string => nodes.map((n) => {
    switch (n.type) {
      case 'text': return n.text;
      case 'path': return evaluate(n.path, data, current).map((v) => printable(valueText(v))).join(' ');
      case 'range': return evaluate(n.path, data, current)
        .flatMap((v) => (Array.isArray(v) ? v : [v]))
        .map((item) => run(n.body, item)).join('');
    }
  }).join('');
  return run(template.nodes, data);
}
