// The selector AST (Calico's parser/ast.go). Nodes are named after what they test and are immutable.
// Each node kind owns its behaviour in one place (NODE_BEHAVIOUR below): its canonical text (§1.4), its
// label restrictions (§1.6) and its compiled matcher (§1.3). The Selector class at the end ties them together.
import { createHash } from 'node:crypto';

export type LabelComparison = 'eq' | 'ne' | 'contains' | 'startsWith' | 'endsWith';

export interface AllNode {
  readonly kind: 'all';
}
/** `global()`: true as a label predicate; its meaning comes from the rewrites of §1.8. */
export interface GlobalNode {
  readonly kind: 'global';
}
export interface HasNode {
  readonly kind: 'has';
  readonly label: string;
}
/** `k == "v"`, `k != "v"`, `k contains "v"`, `k starts with "v"`, `k ends with "v"`. */
export interface LabelValueNode {
  readonly kind: LabelComparison;
  readonly label: string;
  readonly value: string;
}
/** `k in {…}` / `k not in {…}`; `values` sorted by code point (= Go byte order) and de-duplicated. */
export interface LabelSetNode {
  readonly kind: 'in' | 'notIn';
  readonly label: string;
  readonly values: readonly string[];
}
export interface NotNode {
  readonly kind: 'not';
  readonly operand: SelectorNode;
}
/** `&&` / `||` groups; the parser makes them n-ary and never with fewer than two operands. */
export interface GroupNode {
  readonly kind: 'and' | 'or';
  readonly operands: readonly SelectorNode[];
}

export type SelectorNode = AllNode | GlobalNode | HasNode | LabelValueNode | LabelSetNode | NotNode | GroupNode;
export type SelectorNodeKind = SelectorNode['kind'];

// ---------------------------------------------------------------------------------------------------------------
// Constructors. These are what the parser uses, and what api/engine use to build rewritten selectors (§1.8).

export const ALL: AllNode = Object.freeze({ kind: 'all' });
export const GLOBAL: GlobalNode = Object.freeze({ kind: 'global' });

export function hasLabel(label: string): HasNode {
  return Object.freeze({ kind: 'has', label });
}
function labelValue(kind: LabelComparison, label: string, value: string): LabelValueNode {
  return Object.freeze({ kind, label, value });
}
export const eq = (label: string, value: string): LabelValueNode => labelValue('eq', label, value);
export const ne = (label: string, value: string): LabelValueNode => labelValue('ne', label, value);
export const contains = (label: string, value: string): LabelValueNode => labelValue('contains', label, value);
export const startsWith = (label: string, value: string): LabelValueNode => labelValue('startsWith', label, value);
export const endsWith = (label: string, value: string): LabelValueNode => labelValue('endsWith', label, value);

/** `label in {values}`; the values are sorted and de-duplicated as Calico's StringSet does. */
export function inSet(label: string, values: Iterable<string>): LabelSetNode {
  return Object.freeze({ kind: 'in', label, values: toStringSet(values) });
}
export function notInSet(label: string, values: Iterable<string>): LabelSetNode {
  return Object.freeze({ kind: 'notIn', label, values: toStringSet(values) });
}
export function not(operand: SelectorNode): NotNode {
  return Object.freeze({ kind: 'not', operand });
}
/**
 * `(a && b && …)`. One operand is returned as is. Operands are not flattened: `and(x, y)` where `x` is
 * itself an `&&` group prints `((…) && y)`, exactly what Calico gets from its textual `(<sel>) && …` rewrite.
 */
export function and(...operands: SelectorNode[]): SelectorNode {
  return group('and', operands);
}
export function or(...operands: SelectorNode[]): SelectorNode {
  return group('or', operands);
}
function group(kind: 'and' | 'or', operands: SelectorNode[]): SelectorNode {
  if (operands.length === 0) throw new TypeError(`${kind}() needs at least one operand`);
  if (operands.length === 1) return operands[0]!;
  return Object.freeze({ kind, operands: Object.freeze(operands.slice()) });
}

/** Go's string order is byte order on UTF-8, which is code point order; JS `<` compares UTF-16 units. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Only surrogates (U+D800–DFFF) sort differently in UTF-16; compare the whole code points there.
    if ((x >= 0xd800 && x <= 0xdfff) || (y >= 0xd800 && y <= 0xdfff)) return a.codePointAt(i)! - b.codePointAt(i)!;
    return x - y;
  }
  return a.length - b.length;
}

function toStringSet(values: Iterable<string>): readonly string[] {
  const sorted = [...new Set(values)].sort(compareCodePoints);
  return Object.freeze(sorted);
}

/**
 * Rebuilds a tree bottom-up: `fn` sees each node after its operands were mapped and returns the node to use.
 * For structural rewrites such as §1.8's `all()` → `has(projectcalico.org/namespace)`.
 */
export function mapNodes(node: SelectorNode, fn: (node: SelectorNode) => SelectorNode): SelectorNode {
  switch (node.kind) {
    case 'not': {
      const operand = mapNodes(node.operand, fn);
      return fn(operand === node.operand ? node : not(operand));
    }
    case 'and':
    case 'or': {
      const operands = node.operands.map((op) => mapNodes(op, fn));
      const same = operands.every((op, i) => op === node.operands[i]);
      return fn(same ? node : group(node.kind, operands));
    }
    default:
      return fn(node);
  }
}

/** Calico's PrefixVisitor: every label name gets `prefix` in front (`k == "v"` → `pcns.k == "v"`). */
export function prefixNode(node: SelectorNode, prefix: string): SelectorNode {
  return mapNodes(node, (n) => {
    switch (n.kind) {
      case 'has':
        return hasLabel(prefix + n.label);
      case 'eq':
      case 'ne':
      case 'contains':
      case 'startsWith':
      case 'endsWith':
        return labelValue(n.kind, prefix + n.label, n.value);
      case 'in':
      case 'notIn':
        return Object.freeze({ kind: n.kind, label: prefix + n.label, values: n.values });
      default:
        return n;
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Label restrictions (§1.6, ast.go LabelRestrictions): lower bounds on the labels a matching map must have.

export interface LabelRestriction {
  readonly mustBePresent: boolean;
  readonly mustBeAbsent: boolean;
  /** When set, the label must take one of these values. Empty means no value can satisfy the selector. */
  readonly values?: ReadonlySet<string>;
}

export interface LabelRestrictions {
  /** Per label name; labels the selector says nothing certain about are absent. Empty: no restriction. */
  readonly labels: ReadonlyMap<string, LabelRestriction>;
  /** Some label must be both present and absent, or take a value from an empty set: nothing can match. */
  readonly impossible: boolean;
}

/** Mutable working form while restrictions are combined up the tree. */
interface Restriction {
  mustBePresent: boolean;
  mustBeAbsent: boolean;
  values: Set<string> | undefined;
}
type RestrictionMap = Map<string, Restriction>;

function present(label: string, values?: Iterable<string>): RestrictionMap {
  return new Map([[label, { mustBePresent: true, mustBeAbsent: false, values: values && new Set(values) }]]);
}

/** AND: every operand's restrictions hold, so merge them and intersect the value sets. */
function restrictAnd(operands: readonly SelectorNode[]): RestrictionMap {
  const out: RestrictionMap = new Map();
  for (const op of operands) {
    for (const [label, r] of restrictionsOf(op)) {
      const base = out.get(label);
      if (base === undefined) {
        out.set(label, r);
        continue;
      }
      base.mustBePresent ||= r.mustBePresent;
      base.mustBeAbsent ||= r.mustBeAbsent;
      if (base.values === undefined) base.values = r.values;
      else if (r.values !== undefined) base.values = new Set([...base.values].filter((v) => r.values!.has(v)));
    }
  }
  return out;
}

/** OR: only what every operand requires survives; value sets are united when every side has one. */
function restrictOr(operands: readonly SelectorNode[]): RestrictionMap {
  const out = restrictionsOf(operands[0]!);
  for (const op of operands.slice(1)) {
    const other = restrictionsOf(op);
    for (const [label, r] of out) {
      const o = other.get(label);
      r.mustBePresent &&= o?.mustBePresent === true;
      if (!r.mustBePresent || r.values === undefined || o?.values === undefined) r.values = undefined;
      else r.values = new Set([...r.values, ...o.values]);
      r.mustBeAbsent &&= o?.mustBeAbsent === true;
      if (!r.mustBePresent && !r.mustBeAbsent) out.delete(label);
    }
  }
  return out;
}

function restrictionsOf(node: SelectorNode): RestrictionMap {
  return (NODE_BEHAVIOUR[node.kind].restrict as (n: SelectorNode) => RestrictionMap)(node);
}

export function labelRestrictionsOf(node: SelectorNode): LabelRestrictions {
  const labels = new Map<string, LabelRestriction>();
  let impossible = false;
  for (const [label, r] of restrictionsOf(node)) {
    const values = r.values === undefined ? undefined : (Object.freeze(r.values) as ReadonlySet<string>);
    labels.set(label, Object.freeze({ mustBePresent: r.mustBePresent, mustBeAbsent: r.mustBeAbsent, ...(values && { values }) }));
    if ((r.mustBePresent && r.mustBeAbsent) || r.values?.size === 0) impossible = true;
  }
  return Object.freeze({ labels, impossible });
}

// ---------------------------------------------------------------------------------------------------------------
// Compiled matchers (§1.3). A selector is compiled once into closures specialised per node kind; evaluation
// then never looks at the AST. Labels are read with a plain keyed load and never with hasOwn: a label is
// present exactly when its value is a string, which also keeps Object.prototype members (`constructor`,
// `__proto__`) from looking like labels.

export type Labels = Readonly<Record<string, string>>;
export type Matcher = (labels: Labels) => boolean;

const matchAlways: Matcher = () => true;
const matchNever: Matcher = () => false;

function compileNode(node: SelectorNode): Matcher {
  return (NODE_BEHAVIOUR[node.kind].compile as (n: SelectorNode) => Matcher)(node);
}

function compileEq(label: string, value: string): Matcher {
  return (l) => l[label] === value;
}
// §1.3: `!=` and `not in` match when the label is absent (undefined !== value).
function compileNe(label: string, value: string): Matcher {
  return (l) => l[label] !== value;
}
function compileHas(label: string): Matcher {
  return (l) => typeof l[label] === 'string';
}
function compileHasNot(label: string): Matcher {
  return (l) => typeof l[label] !== 'string';
}

function compileIn(label: string, values: readonly string[], negate: boolean): Matcher {
  // Small sets compare directly (faster than hashing); larger ones use a Set.
  switch (values.length) {
    case 0:
      return negate ? matchAlways : matchNever;
    case 1:
      return negate ? compileNe(label, values[0]!) : compileEq(label, values[0]!);
    case 2: {
      const [a, b] = values as [string, string];
      return negate
        ? (l) => {
            const v = l[label];
            return v !== a && v !== b;
          }
        : (l) => {
            const v = l[label];
            return v === a || v === b;
          };
    }
    case 3: {
      const [a, b, c] = values as [string, string, string];
      return negate
        ? (l) => {
            const v = l[label];
            return v !== a && v !== b && v !== c;
          }
        : (l) => {
            const v = l[label];
            return v === a || v === b || v === c;
          };
    }
    default: {
      const set = new Set(values);
      return negate ? (l) => !set.has(l[label]!) : (l) => set.has(l[label]!);
    }
  }
}

function compileNot(operand: SelectorNode): Matcher {
  // Fold the negation into the leaf where Calico's semantics allow it exactly: !(k == v) is k != v (both
  // are true for an absent label), !(k in S) is k not in S, and the reverse.
  switch (operand.kind) {
    case 'eq':
      return compileNe(operand.label, operand.value);
    case 'ne':
      return compileEq(operand.label, operand.value);
    case 'in':
      return compileIn(operand.label, operand.values, true);
    case 'notIn':
      return compileIn(operand.label, operand.values, false);
    case 'has':
      return compileHasNot(operand.label);
    case 'all':
    case 'global':
      return matchNever;
    case 'not':
      return compileNode(operand.operand);
    default: {
      const inner = compileNode(operand);
      if (inner === matchAlways) return matchNever;
      if (inner === matchNever) return matchAlways;
      return (l) => !inner(l);
    }
  }
}

function compileGroup(kind: 'and' | 'or', operands: readonly SelectorNode[]): Matcher {
  // An operand that is always true (all(), global()) cannot change an AND and decides an OR, and the
  // other way round for one that is never true.
  const neutral = kind === 'and' ? matchAlways : matchNever;
  const decisive = kind === 'and' ? matchNever : matchAlways;
  const parts: Matcher[] = [];
  for (const op of operands) {
    const m = compileNode(op);
    if (m === decisive) return decisive;
    if (m !== neutral) parts.push(m);
  }
  if (parts.length === 0) return neutral;
  if (parts.length === 1) return parts[0]!;
  if (kind === 'and') {
    if (parts.length === 2) {
      const [a, b] = parts as [Matcher, Matcher];
      return (l) => a(l) && b(l);
    }
    if (parts.length === 3) {
      const [a, b, c] = parts as [Matcher, Matcher, Matcher];
      return (l) => a(l) && b(l) && c(l);
    }
    return (l) => {
      for (let i = 0; i < parts.length; i++) if (!parts[i]!(l)) return false;
      return true;
    };
  }
  if (parts.length === 2) {
    const [a, b] = parts as [Matcher, Matcher];
    return (l) => a(l) || b(l);
  }
  if (parts.length === 3) {
    const [a, b, c] = parts as [Matcher, Matcher, Matcher];
    return (l) => a(l) || b(l) || c(l);
  }
  return (l) => {
    for (let i = 0; i < parts.length; i++) if (parts[i]!(l)) return true;
    return false;
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Canonical text (§1.4, ast.go collectFragments).

/** `"v"` unless the value contains `"`, then `'v'` (§1.4). There are no escapes. */
export function quote(value: string): string {
  return value.includes('"') ? `'${value}'` : `"${value}"`;
}

const COMPARISON_SPELLING: Readonly<Record<LabelComparison, string>> = {
  eq: ' == ',
  ne: ' != ',
  contains: ' contains ',
  startsWith: ' starts with ',
  endsWith: ' ends with ',
};

function printNode(node: SelectorNode, out: string[]): void {
  (NODE_BEHAVIOUR[node.kind].print as (n: SelectorNode, out: string[]) => void)(node, out);
}

function printGroup(node: GroupNode, out: string[]): void {
  const joiner = node.kind === 'and' ? ' && ' : ' || ';
  out.push('(');
  node.operands.forEach((op, i) => {
    if (i > 0) out.push(joiner);
    printNode(op, out);
  });
  out.push(')');
}

function printSet(node: LabelSetNode, out: string[]): void {
  out.push(node.label, node.kind === 'in' ? ' in {' : ' not in {', node.values.map(quote).join(', '), '}');
}

export function canonicalText(node: SelectorNode): string {
  const out: string[] = [];
  printNode(node, out);
  return out.join('');
}

// ---------------------------------------------------------------------------------------------------------------
// What each node kind does, in one table (ast.go gives each node type these same methods).

interface NodeBehaviour<N extends SelectorNode> {
  print(node: N, out: string[]): void;
  restrict(node: N): RestrictionMap;
  compile(node: N): Matcher;
}
type BehaviourTable = { readonly [K in SelectorNodeKind]: NodeBehaviour<Extract<SelectorNode, { kind: K }>> };

const comparison: NodeBehaviour<LabelValueNode> = {
  print: (n, out) => void out.push(n.label, COMPARISON_SPELLING[n.kind], quote(n.value)),
  // §1.6: == pins the value; contains/starts with/ends with only need the label; != restricts nothing.
  restrict: (n) => (n.kind === 'eq' ? present(n.label, [n.value]) : n.kind === 'ne' ? new Map() : present(n.label)),
  compile: (n) => {
    const { label, value } = n;
    switch (n.kind) {
      case 'eq':
        return compileEq(label, value);
      case 'ne':
        return compileNe(label, value);
      case 'contains':
        return (l) => {
          const v = l[label];
          return typeof v === 'string' && v.includes(value);
        };
      case 'startsWith':
        return (l) => {
          const v = l[label];
          return typeof v === 'string' && v.startsWith(value);
        };
      case 'endsWith':
        return (l) => {
          const v = l[label];
          return typeof v === 'string' && v.endsWith(value);
        };
    }
  },
};

const labelSet: NodeBehaviour<LabelSetNode> = {
  print: printSet,
  restrict: (n) => (n.kind === 'in' ? present(n.label, n.values) : new Map()),
  compile: (n) => compileIn(n.label, n.values, n.kind === 'notIn'),
};

const groupBehaviour: NodeBehaviour<GroupNode> = {
  print: printGroup,
  restrict: (n) => (n.kind === 'and' ? restrictAnd(n.operands) : restrictOr(n.operands)),
  compile: (n) => compileGroup(n.kind, n.operands),
};

const NODE_BEHAVIOUR: BehaviourTable = {
  all: { print: (_, out) => void out.push('all()'), restrict: () => new Map(), compile: () => matchAlways },
  global: { print: (_, out) => void out.push('global()'), restrict: () => new Map(), compile: () => matchAlways },
  has: {
    print: (n, out) => void out.push('has(', n.label, ')'),
    restrict: (n) => present(n.label),
    compile: (n) => compileHas(n.label),
  },
  eq: comparison,
  ne: comparison,
  contains: comparison,
  startsWith: comparison,
  endsWith: comparison,
  in: labelSet,
  notIn: labelSet,
  not: {
    // §1.4: `!` then the operand, with no parentheses added (`!(a == "b")` prints `!a == "b"`).
    print: (n, out) => {
      out.push('!');
      printNode(n.operand, out);
    },
    // §1.6: a negation says nothing about presence, except that !has(k) means k must be absent.
    restrict: (n) =>
      n.operand.kind === 'has'
        ? new Map([[n.operand.label, { mustBePresent: false, mustBeAbsent: true, values: undefined }]])
        : new Map(),
    compile: (n) => compileNot(n.operand),
  },
  and: groupBehaviour,
  or: groupBehaviour,
};

// ---------------------------------------------------------------------------------------------------------------
// The Selector: an AST with its compiled matcher, canonical text and unique ID.

export interface Selector {
  /** Evaluates against a label map; a label is present when its value is a string. Never throws. */
  matches(labels: Labels): boolean;
  /** Calico's canonical form (`Selector.String()`), byte for byte. */
  toString(): string;
  /** `'s:' + base64url-nopad(SHA-224('s:' + canonical))` (§1.4, lib/hash/unique_id.go). */
  uniqueId(): string;
  readonly ast: SelectorNode;
  labelRestrictions(): LabelRestrictions;
  /** Every label name the selector reads, sorted, without duplicates. */
  labelNames(): string[];
}

export class CompiledSelector implements Selector {
  /** Assigned per instance so that `sel.matches(l)` is a direct call of the compiled closure. */
  readonly matches: (labels: Labels) => boolean;
  private canonical: string | undefined;
  private id: string | undefined;
  private restrictions: LabelRestrictions | undefined;

  constructor(readonly ast: SelectorNode) {
    this.matches = compileNode(ast);
  }

  toString(): string {
    return (this.canonical ??= canonicalText(this.ast));
  }

  uniqueId(): string {
    return (this.id ??= 's:' + createHash('sha224').update('s:' + this.toString(), 'utf8').digest('base64url'));
  }

  labelRestrictions(): LabelRestrictions {
    return (this.restrictions ??= labelRestrictionsOf(this.ast));
  }

  labelNames(): string[] {
    const names = new Set<string>();
    const visit = (n: SelectorNode): void => {
      if (n.kind === 'not') visit(n.operand);
      else if (n.kind === 'and' || n.kind === 'or') n.operands.forEach(visit);
      else if ('label' in n) names.add(n.label);
    };
    visit(this.ast);
    return [...names].sort(compareCodePoints);
  }
}

/** `&&`/`||` groups nested in one another, i.e. the parenthesis depth of the canonical text. */
export function groupDepth(node: SelectorNode): number {
  switch (node.kind) {
    case 'not':
      return groupDepth(node.operand);
    case 'and':
    case 'or': {
      let deepest = 0;
      for (const op of node.operands) deepest = Math.max(deepest, groupDepth(op));
      return 1 + deepest;
    }
    default:
      return 0;
  }
}
