// The nftables object model: plain objects for a table's contents (table, chain, rule, set, map, element),
// added to a Transaction that renders them as one `nft -f -` script (knftables `types.go`). An `Nft` is bound
// to one family and table when constructed, so objects carry neither; they are filled in when rendered.
//
// Every field says when it is required and its default. Everything here works on nft ≥ 1.0.1 (Debian 12 ships
// 1.0.6, the version Tabby is tested with); nothing needs `destroy` (nft ≥ 1.0.8).

export type Family = 'ip' | 'ip6' | 'inet' | 'arp' | 'bridge' | 'netdev';

export type ChainHook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress';
export type ChainType = 'filter' | 'nat' | 'route';

export interface Table {
  type: 'table';
  /** Optional; at most 128 characters, no double quotes. Shown by `nft list`. */
  comment?: string;
}

export interface Chain {
  type: 'chain';
  /** Required: an nft identifier (letters, digits, `_`, `-`, `.`), at most 255 characters. */
  name: string;
  /**
   * Base chains only: set `chainType`, `hook` and `priority` together, or none of them (a regular chain
   * reached by jump/goto).
   */
  chainType?: ChainType;
  hook?: ChainHook;
  /** A number or a symbolic expression such as `filter - 10` (nft ≥ 0.9.6 for symbolic priorities). */
  priority?: number | string;
  /** Base chains only; nft's default is `accept`. */
  policy?: 'accept' | 'drop';
  /** Optional; at most 128 characters. Not reported by `nft -j` on 1.0.6, so drift checks ignore it. */
  comment?: string;
}

export interface Rule {
  type: 'rule';
  /** Required: the chain the rule is appended to (or inserted at the head of, with `insert`). */
  chain: string;
  /**
   * Required: the rule body in nft syntax, without the comment, e.g. `ip saddr @s4-x counter accept`.
   * One line: no newline, `;` or `#`.
   */
  rule: string;
  /** Optional; at most 128 characters, no double quotes. Tabby puts the stable rule ID here. */
  comment?: string;
}

export type SetFlag = 'interval' | 'constant' | 'timeout' | 'dynamic';

export interface NftSet {
  type: 'set';
  /** Required: an nft identifier. */
  name: string;
  /** Required: the key type, e.g. `ipv4_addr` or `ipv4_addr . inet_proto . inet_service`. */
  keyType: string;
  /** Optional. Never `auto-merge` in Tabby: merged elements cannot be deleted one by one (dataplane.md §2.5). */
  flags?: SetFlag[];
  comment?: string;
}

export interface NftMap {
  type: 'map';
  /** Required: an nft identifier. */
  name: string;
  /** Required: the key type, e.g. `ifname`. */
  keyType: string;
  /** Required: the value type, e.g. `verdict`. */
  valueType: string;
  flags?: SetFlag[];
  comment?: string;
}

export interface Element {
  type: 'element';
  /** Required: the set or map holding the element. */
  set: string;
  /**
   * Required: the key as nft prints it, e.g. `10.0.0.1`, `10.1.0.0/16`, `10.0.0.1 . tcp . 80`, `"cali12"`.
   * Use the canonical form (a /32 or /128 prefix written as a bare address, names of protocols) so that a
   * read-back compares equal; `canonicalElementKey` produces it.
   */
  key: string;
  /** Required for map elements, absent for set elements, e.g. `goto we-cali12`. */
  value?: string;
}

/**
 * Many elements of one set or map at once — what a sync writes for a whole set: one operation instead of one
 * per element (a 2,000 × 100 full sync would otherwise allocate 200,000 operations). Rendered like consecutive
 * Element operations.
 */
export interface Elements {
  type: 'elements';
  /** Required: the set or map. */
  set: string;
  /** Required: the keys, in canonical form (see Element.key). */
  keys: readonly string[];
  /** Map elements only: one value per key. */
  values?: readonly string[];
}

/**
 * A flowtable (software fast path for established flows, `flow add @<name>` in a forward rule; kernel
 * CONFIG_NF_FLOW_TABLE). Devices are hooked by name:
 *   add     creates it (hook ingress, `priority`) or, when it exists, hooks `devices` as well (kernel ≥ 5.8);
 *   delete  with `devices`: unhooks only those (the flowtable stays); without: removes the flowtable, which no
 *           rule may refer to any more.
 */
export interface Flowtable {
  type: 'flowtable';
  /** Required: an nft identifier. */
  name: string;
  /** add/create: the ingress hook priority, a number (nft 1.0.6 takes no symbolic one here). Default 0. */
  priority?: number;
  /** Interface names; each at most 15 characters of letters, digits, `_`, `.`, `-`. */
  devices?: readonly string[];
}

export type NftObject = Table | Chain | Rule | NftSet | NftMap | Element | Elements | Flowtable;

/** A table's whole contents, as the fake holds it and as a read-back of the kernel returns it. */
export interface TableState {
  table: Table;
  /** Flowtable name → its hooked devices. */
  flowtables: Map<string, Set<string>>;
  /** Chains in creation order, each with its rules in order. */
  chains: Map<string, { chain: Chain; rules: Rule[] }>;
  sets: Map<string, { set: NftSet; elements: Map<string, Element> }>;
  maps: Map<string, { map: NftMap; elements: Map<string, Element> }>;
}

export function emptyTableState(table: Table = { type: 'table' }): TableState {
  return { table, flowtables: new Map(), chains: new Map(), sets: new Map(), maps: new Map() };
}

export function isBaseChain(chain: Chain): boolean {
  return chain.hook !== undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Validation: the first problem found is kept by the transaction and reported by run().

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_.\-]*$/;
const NAME_MAX = 255;
const COMMENT_MAX = 128;

export function validateName(what: string, name: string): string | undefined {
  if (name === '') return `${what} name is empty`;
  if (name.length > NAME_MAX) return `${what} name '${name.slice(0, 40)}…' is longer than ${NAME_MAX} characters`;
  if (!IDENTIFIER.test(name)) return `${what} name '${name}' is not an nft identifier ([A-Za-z_][A-Za-z0-9_.-]*)`;
  return undefined;
}

export function validateComment(comment: string | undefined): string | undefined {
  if (comment === undefined) return undefined;
  if (comment.length > COMMENT_MAX) return `comment '${comment.slice(0, 40)}…' is longer than ${COMMENT_MAX} characters`;
  if (/["\n\\]/.test(comment)) return `comment '${comment}' contains a double quote, backslash or newline`;
  return undefined;
}

function validateFragment(what: string, text: string): string | undefined {
  if (text.trim() === '') return `${what} is empty`;
  // One statement per line: a `;`, newline or `#` would end the statement early or hide the rest (inside a
  // quoted string they are text; most fragments hold no quotes, and need no copy without them).
  if (/[;\n#]/.test(text.includes('"') ? text.replace(/"[^"]*"/g, '""') : text)) return `${what} '${text}' contains ';', '#' or a newline`;
  return undefined;
}

/** Checks the fields `verb` needs; undefined when the object may be rendered. */
export function validateObject(verb: Verb, obj: NftObject): string | undefined {
  switch (obj.type) {
    case 'table':
      return validateComment(obj.comment);
    case 'chain': {
      const bad = validateName('chain', obj.name);
      if (bad) return bad;
      if (verb === 'add' || verb === 'create') {
        const base = [obj.chainType, obj.hook, obj.priority].filter((v) => v !== undefined).length;
        if (base !== 0 && base !== 3) return `chain ${obj.name}: set chainType, hook and priority together`;
        if (obj.policy !== undefined && base === 0) return `chain ${obj.name}: policy needs a base chain`;
      }
      return validateComment(obj.comment);
    }
    case 'rule': {
      const bad = validateName('chain', obj.chain);
      if (bad) return bad;
      if (verb === 'delete' || verb === 'flush') return `rules cannot be ${verb}d by content; flush their chain`;
      return validateFragment(`rule in ${obj.chain}`, obj.rule) ?? validateComment(obj.comment);
    }
    case 'set':
    case 'map': {
      const bad = validateName(obj.type, obj.name);
      if (bad) return bad;
      if (verb === 'add' || verb === 'create') {
        const kt = validateFragment(`${obj.type} ${obj.name} key type`, obj.keyType);
        if (kt) return kt;
        if (obj.type === 'map') {
          const vt = validateFragment(`map ${obj.name} value type`, obj.valueType);
          if (vt) return vt;
        }
      }
      return validateComment(obj.comment);
    }
    case 'elements': {
      const bad = validateName('set', obj.set);
      if (bad) return bad;
      if (verb !== 'add' && verb !== 'create' && verb !== 'delete') return `elements cannot be ${verb}ed`;
      if (obj.values && obj.values.length !== obj.keys.length) return `elements of ${obj.set}: ${obj.keys.length} keys but ${obj.values.length} values`;
      for (const key of obj.keys) {
        if (key === '' || ELEMENT_UNSAFE.test(key)) return `element key '${key}' in ${obj.set} is empty or holds '{', '}', ',', ';', '#' or a newline`;
      }
      for (const v of obj.values ?? []) if (v === '' || ELEMENT_UNSAFE.test(v)) return `element value '${v}' in ${obj.set} is not valid`;
      return undefined;
    }
    case 'flowtable': {
      const bad = validateName('flowtable', obj.name);
      if (bad) return bad;
      if (verb === 'insert' || verb === 'flush') return `flowtables cannot be ${verb}ed`;
      if (obj.priority !== undefined && !Number.isInteger(obj.priority)) return `flowtable ${obj.name}: priority must be an integer`;
      for (const d of obj.devices ?? []) if (!IFNAME.test(d)) return `flowtable ${obj.name}: '${d}' is not an interface name`;
      if (verb !== 'delete' && obj.devices?.length === 0) return `flowtable ${obj.name}: an empty device list is written by leaving devices out`;
      return undefined;
    }
    case 'element': {
      const bad = validateName('set', obj.set);
      if (bad) return bad;
      if (verb === 'flush' || verb === 'insert') return `elements cannot be ${verb}ed`;
      const key = validateFragment(`element key in ${obj.set}`, obj.key);
      if (key) return key;
      if (/[{},]/.test(obj.key.replace(/"[^"]*"/g, '""'))) return `element key '${obj.key}' contains '{', '}' or ','`;
      if (obj.value !== undefined) return validateFragment(`element value in ${obj.set}`, obj.value);
      return undefined;
    }
  }
}

/** A Linux interface name (IFNAMSIZ − 1 characters) that nft takes unquoted. */
const IFNAME = /^[A-Za-z0-9_.\-]{1,15}$/;

/** What may not appear in an element key or value outside quotes (quoted interface names are allowed). */
const ELEMENT_UNSAFE = /[{},;#\n]/;

/** The transaction verbs, named as nft names them. */
export type Verb = 'add' | 'create' | 'insert' | 'delete' | 'flush';

// ---------------------------------------------------------------------------------------------------------------
// Canonical element keys: what `nft list` prints for an element, so a model compares equal to a read-back.

/** `10.0.0.1/32` → `10.0.0.1`, `FD00::0/128` → `fd00::`, `10.1.0.0/16` unchanged; non-addresses pass through. */
export function canonicalAddress(text: string): string {
  const [addr, len] = text.split('/');
  if (addr === undefined) return text;
  if (addr.includes(':')) {
    const canon = canonicalIPv6(addr);
    if (canon === undefined) return text;
    return len === undefined || len === '128' ? canon : `${canon}/${len}`;
  }
  if (/^\d+\.\d+\.\d+\.\d+$/.test(addr)) {
    const canon = addr.split('.').map((o) => String(Number(o))).join('.');
    return len === undefined || len === '32' ? canon : `${canon}/${len}`;
  }
  return text;
}

/** RFC 5952 form (lower case, longest zero run compressed), as nft prints IPv6 addresses. */
export function canonicalIPv6(addr: string): string | undefined {
  const groups = expandIPv6(addr);
  if (!groups) return undefined;
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Eight 16-bit groups, or undefined when `addr` is not an IPv6 address (an embedded IPv4 tail is accepted). */
export function expandIPv6(addr: string): number[] | undefined {
  let text = addr.toLowerCase();
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const o = v4.slice(1).map(Number);
    if (o.some((n) => n > 255)) return undefined;
    text = text.slice(0, v4.index) + `${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (s: string): number[] | undefined => {
    if (s === '') return [];
    const parts = s.split(':');
    const out: number[] = [];
    for (const p of parts) {
      if (!/^[0-9a-f]{1,4}$/.test(p)) return undefined;
      out.push(parseInt(p, 16));
    }
    return out;
  };
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  if (!head || !tail) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const fill = 8 - head.length - tail.length;
  if (fill < 1) return undefined;
  return [...head, ...new Array<number>(fill).fill(0), ...tail];
}

// Only names: a bare number may be a port as well as a protocol, and only the set's type could tell.
const PROTO_NAMES: Record<string, string> = { icmpv6: 'ipv6-icmp' };

/** The canonical form of each part of a (possibly concatenated) element key. */
export function canonicalElementKey(key: string): string {
  return key
    .split(' . ')
    .map((part) => {
      const p = part.trim();
      if (p.startsWith('"')) return p;
      const lower = p.toLowerCase();
      return PROTO_NAMES[lower] ?? canonicalAddress(lower);
    })
    .join(' . ');
}
