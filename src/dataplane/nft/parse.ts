// Reading nft text back into the object model, in the two forms nft text comes in:
// - scripts: one statement per line (`add chain inet tabby x`, `add element … { a, b }`), which is what a
//   Transaction renders and what FakeNft.dump() prints (knftables ParseDump);
// - listings: the block form `nft list table` prints, with kernel-canonical rule text and counter values.
// Only the shapes nft itself writes are recognised; anything else is reported with its line number.

import {
  canonicalElementKey,
  emptyTableState,
  type Chain,
  type ChainHook,
  type ChainType,
  type Element,
  type Family,
  type NftMap,
  type NftObject,
  type NftSet,
  type Rule,
  type SetFlag,
  type TableState,
  type Verb,
} from './objects.js';
import type { Operation } from './transaction.js';

/** A parse problem: the 1-based line and what was wrong there. */
export interface ParseIssue {
  line: number;
  message: string;
}

/** Parsers return every problem, not only the first; a result with problems carries no value. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; issues: ParseIssue[] };

export interface ParsedStatement extends Operation {
  family: Family;
  table: string;
  line: number;
}

const VERBS = new Set<Verb>(['add', 'create', 'insert', 'delete', 'flush']);
const NAME = '[A-Za-z_][A-Za-z0-9_.\\-]*';

function issue(line: number, message: string): ParseIssue {
  return { line, message };
}

/** Splits `a, b, "c, d" : goto x` at top-level commas (outside quotes and braces). */
export function splitTopLevel(text: string, sep = ','): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === '{') depth++;
    else if (!quoted && c === '}') depth--;
    else if (!quoted && depth === 0 && c === sep) {
      out.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = text.slice(start).trim();
  if (last !== '') out.push(last);
  return out;
}

/** `{ type filter hook forward priority filter - 10 ; policy accept ; comment "x" ; }` → fields. */
function parseSpecBlock(block: string): Map<string, string> {
  const fields = new Map<string, string>();
  const inner = block.trim().replace(/^\{/, '').replace(/\}$/, '');
  for (const part of splitTopLevel(inner, ';')) {
    const m = /^(\w+)\s+(.*)$/.exec(part.trim());
    if (m) fields.set(m[1]!, m[2]!.trim());
  }
  return fields;
}

function unquote(text: string): string {
  return text.startsWith('"') && text.endsWith('"') ? text.slice(1, -1) : text;
}

function chainFromSpec(name: string, spec: string): Chain {
  const chain: Chain = { type: 'chain', name };
  // `type filter hook forward priority filter - 10` arrives as one field "type" when written on one line.
  const typeLine = /type\s+(\w+)\s+hook\s+(\w+)\s+(?:device\s+\S+\s+)?priority\s+([^;]+?)\s*(?:;|$)/.exec(spec);
  if (typeLine) {
    chain.chainType = typeLine[1] as ChainType;
    chain.hook = typeLine[2] as ChainHook;
    const prio = typeLine[3]!.trim();
    chain.priority = /^-?\d+$/.test(prio) ? Number(prio) : prio;
  }
  const policy = /policy\s+(accept|drop)/.exec(spec);
  if (policy) chain.policy = policy[1] as 'accept' | 'drop';
  const comment = /comment\s+"([^"]*)"/.exec(spec);
  if (comment) chain.comment = comment[1]!;
  return chain;
}

function setFromSpec(kind: 'set' | 'map', name: string, fields: Map<string, string>): NftSet | NftMap {
  const type = fields.get('type') ?? '';
  const flags = fields.get('flags')?.split(/\s*,\s*/).filter((f) => f !== '') as SetFlag[] | undefined;
  const comment = fields.has('comment') ? unquote(fields.get('comment')!) : undefined;
  const base = { name, ...(flags && flags.length > 0 ? { flags } : {}), ...(comment !== undefined ? { comment } : {}) };
  if (kind === 'map') {
    const [keyType, valueType] = type.split(/\s+:\s+/);
    return { type: 'map', ...base, keyType: (keyType ?? '').trim(), valueType: (valueType ?? '').trim() };
  }
  return { type: 'set', ...base, keyType: type.trim() };
}

function parseElements(set: string, items: string, isMap: boolean): Element[] {
  return splitTopLevel(items).map((item) => {
    if (isMap) {
      const idx = item.indexOf(' : ');
      return { type: 'element', set, key: canonicalElementKey(item.slice(0, idx).trim()), value: item.slice(idx + 3).trim() };
    }
    return { type: 'element', set, key: canonicalElementKey(item) };
  });
}

/** Splits a rule line into its body and trailing `comment "…"`. */
export function splitRuleComment(text: string): { rule: string; comment?: string } {
  const m = /^(.*?)\s+comment\s+"([^"]*)"\s*$/.exec(text);
  return m ? { rule: m[1]!.trim(), comment: m[2]! } : { rule: text.trim() };
}

/**
 * Parses a script of nft statements, one per line, as Transaction.toString() writes them. Map elements are
 * recognised by their ` : value` part.
 */
export function parseScript(text: string): ParseResult<ParsedStatement[]> {
  const out: ParsedStatement[] = [];
  const issues: ParseIssue[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = i + 1;
    const s = raw.trim();
    if (s === '' || s.startsWith('#')) return;
    const head = new RegExp(`^(\\w+)\\s+(table|chain|rule|set|map|element)\\s+(\\w+)\\s+(${NAME})\\s*(.*)$`).exec(s);
    if (!head || !VERBS.has(head[1] as Verb)) {
      issues.push(issue(line, `not an nft statement this parser knows: ${s}`));
      return;
    }
    const verb = head[1] as Verb;
    const kind = head[2]!;
    const family = head[3] as Family;
    const table = head[4]!;
    const rest = head[5]!;
    const push = (object: NftObject): void => {
      out.push({ verb, object, family, table, line });
    };
    switch (kind) {
      case 'table': {
        const c = /comment\s+"([^"]*)"/.exec(rest);
        push(c ? { type: 'table', comment: c[1]! } : { type: 'table' });
        return;
      }
      case 'chain': {
        const m = new RegExp(`^(${NAME})\\s*(\\{.*\\})?$`).exec(rest);
        if (!m) { issues.push(issue(line, `bad chain statement: ${s}`)); return; }
        push(chainFromSpec(m[1]!, m[2] ?? ''));
        return;
      }
      case 'rule': {
        const m = new RegExp(`^(${NAME})\\s+(.+)$`).exec(rest);
        if (!m) { issues.push(issue(line, `bad rule statement: ${s}`)); return; }
        const { rule, comment } = splitRuleComment(m[2]!);
        push({ type: 'rule', chain: m[1]!, rule, ...(comment !== undefined ? { comment } : {}) });
        return;
      }
      case 'set':
      case 'map': {
        const m = new RegExp(`^(${NAME})\\s*(\\{.*\\})?$`).exec(rest);
        if (!m) { issues.push(issue(line, `bad ${kind} statement: ${s}`)); return; }
        const obj = setFromSpec(kind, m[1]!, parseSpecBlock(m[2] ?? ''));
        push(obj);
        return;
      }
      case 'element': {
        const m = new RegExp(`^(${NAME})\\s*\\{(.*)\\}$`).exec(rest);
        if (!m) { issues.push(issue(line, `bad element statement: ${s}`)); return; }
        const items = m[2]!.trim();
        if (items === '') return;
        const isMap = splitTopLevel(items).some((it) => it.includes(' : '));
        for (const e of parseElements(m[1]!, items, isMap)) push(e);
        return;
      }
    }
  });
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: out };
}

export interface ListedRule extends Rule {
  /** Counter values when the rule has a `counter` statement. */
  packets?: number;
  bytes?: number;
  handle?: number;
}

/** A listing's table: rules carry counters and handles when the listing had them. */
export interface ListedTable extends TableState {
  family: Family;
  name: string;
  chains: Map<string, { chain: Chain; rules: ListedRule[] }>;
}

/**
 * Parses the block form `nft list table` (optionally with `-a`) prints. Rule text keeps nft's canonical
 * spelling; counter values are lifted out of the text (`counter packets 3 bytes 180` → `counter`).
 */
export function parseListing(text: string): ParseResult<ListedTable[]> {
  const tables: ListedTable[] = [];
  const issues: ParseIssue[] = [];
  const lines = text.split('\n');
  let table: ListedTable | undefined;
  let block: { kind: BlockKind; name: string; lines: string[]; start: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (!table) {
      const m = new RegExp(`^table\\s+(\\w+)\\s+(${NAME})\\s*\\{(?:\\s*#\\s*handle\\s+\\d+)?$`).exec(line);
      if (!m) { issues.push(issue(i + 1, `expected 'table <family> <name> {', got: ${line}`)); continue; }
      table = { ...emptyTableState(), family: m[1] as Family, name: m[2]! };
      continue;
    }
    if (!block) {
      if (line === '}') { tables.push(table); table = undefined; continue; }
      const c = /^comment\s+"([^"]*)"$/.exec(line);
      if (c) { table.table = { type: 'table', comment: c[1]! }; continue; }
      const m = new RegExp(`^(chain|set|map|flowtable)\\s+(${NAME})\\s*\\{(?:\\s*#\\s*handle\\s+\\d+)?$`).exec(line);
      if (!m) { issues.push(issue(i + 1, `unexpected line in table: ${line}`)); continue; }
      block = { kind: m[1] as BlockKind, name: m[2]!, lines: [], start: i + 1 };
      continue;
    }
    if (line === '}') {
      finishBlock(table, block, issues);
      block = undefined;
      continue;
    }
    if (block.kind !== 'chain' && /^(elements|devices)\s*=\s*\{/.test(line)) {
      // Elements may span lines; gather up to the brace that closes the list.
      let acc = line;
      while (!balanced(acc) && i + 1 < lines.length) acc += ' ' + lines[++i]!.trim();
      block.lines.push(acc);
      continue;
    }
    block.lines.push(line);
  }
  if (table) issues.push(issue(lines.length, `table ${table.name} is not closed`));
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: tables };
}

function balanced(text: string): boolean {
  let depth = 0;
  let quoted = false;
  for (const c of text) {
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === '{') depth++;
    else if (!quoted && c === '}') depth--;
  }
  return depth === 0;
}

type BlockKind = 'chain' | 'set' | 'map' | 'flowtable';

function finishBlock(
  table: ListedTable,
  block: { kind: BlockKind; name: string; lines: string[]; start: number },
  issues: ParseIssue[],
): void {
  if (block.kind === 'flowtable') {
    // Only the hooked devices matter to Tabby; the hook and priority are what it wrote.
    const devices = new Set<string>();
    for (const l of block.lines) {
      const d = /^devices\s*=\s*\{(.*)\}$/.exec(l);
      if (d) for (const name of d[1]!.split(',')) if (name.trim() !== '') devices.add(name.trim().replace(/^"|"$/g, ''));
    }
    table.flowtables.set(block.name, devices);
    return;
  }
  if (block.kind === 'chain') {
    let chain: Chain = { type: 'chain', name: block.name };
    const rules: ListedRule[] = [];
    for (const l of block.lines) {
      if (/^type\s+\w+\s+hook\s/.test(l)) {
        chain = { ...chainFromSpec(block.name, l), ...(chain.comment !== undefined ? { comment: chain.comment } : {}) };
        continue;
      }
      const c = /^comment\s+"([^"]*)"$/.exec(l);
      if (c) { chain.comment = c[1]!; continue; }
      rules.push(listedRule(block.name, l));
    }
    table.chains.set(block.name, { chain, rules });
    return;
  }
  const fields = new Map<string, string>();
  let elements = '';
  for (const l of block.lines) {
    const e = /^elements\s*=\s*\{(.*)\}$/.exec(l);
    if (e) { elements = e[1]!; continue; }
    const m = /^(\w+)\s+(.*)$/.exec(l);
    if (m) fields.set(m[1]!, m[2]!.replace(/;$/, '').trim());
    else issues.push(issue(block.start, `unexpected line in ${block.kind} ${block.name}: ${l}`));
  }
  const obj = setFromSpec(block.kind, block.name, fields);
  const map = new Map<string, Element>();
  for (const el of parseElements(block.name, elements, block.kind === 'map')) map.set(el.key, el);
  if (obj.type === 'map') table.maps.set(obj.name, { map: obj, elements: map });
  else table.sets.set(obj.name, { set: obj, elements: map });
}

function listedRule(chain: string, line: string): ListedRule {
  let text = line;
  let handle: number | undefined;
  const h = /\s+#\s*handle\s+(\d+)\s*$/.exec(text);
  if (h) { handle = Number(h[1]); text = text.slice(0, h.index); }
  const { rule, comment } = splitRuleComment(text);
  let packets: number | undefined;
  let bytes: number | undefined;
  const body = rule.replace(/\bcounter packets (\d+) bytes (\d+)/, (_m, p: string, b: string) => {
    packets = Number(p);
    bytes = Number(b);
    return 'counter';
  });
  return {
    type: 'rule', chain, rule: body,
    ...(comment !== undefined ? { comment } : {}),
    ...(packets !== undefined ? { packets, bytes: bytes! } : {}),
    ...(handle !== undefined ? { handle } : {}),
  };
}
