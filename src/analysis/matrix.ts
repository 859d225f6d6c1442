// The reachability matrix: for every endpoint pair, whether a connection from one to the other (one protocol,
// one destination port) is allowed with both ends applied (§3.7) — what `tabby matrix` prints and what the
// Kubernetes e2e truth tables assert. The engine is the judge of every cell; the matrix only avoids asking it
// the same question twice.
//
//   allowed(i → j) = egress end of i  ∧  ingress end of j          (the engine evaluates both ends of a flow)
//
//   egress end of i   depends on  i's end signature and i's address features it reads     = i's row group
//                                 + the peer's features it reads, family, kind and port    = a projection of
//                                 + whether i and j share a node                             j's class
//   ingress end of j  likewise, with the roles swapped                                     = j's column group
//
// (end-features.ts explains signatures and features, address-classes.ts classes.) So each end verdict is
// memoised per (row group, projection of the peer's class, same node), and the engine is asked only for
// combinations not seen yet — with the pair at hand, so every answer is the engine's own. A 5,000-pod cluster
// has a few thousand row and column groups, each reading a handful of features.
//
// Endpoints: workload endpoints (Pods, WorkloadEndpoints) and host endpoints with expectedIPs — a host endpoint
// with only an interface name has no address to connect to. An endpoint without any address is left out, as
// Calico makes no endpoint for a pod without an IP. `namespaces` keeps only the workloads of those namespaces
// (host endpoints are not namespaced, so they are left out then). A flow uses the first address family both
// ends have (IPv4 first; IPv6 first for ICMPv6), as the engine does; none in common, no connection. The
// diagonal is computed like any pair: a pod connecting to its own address through its interface.
//
// A named port resolves on each destination (its named port of that name and protocol); an endpoint without
// it cannot be reached (its column is all false, and `targetPorts` shows null).

import type { Issue, Result } from '../api/index.js';
import { parseIp } from '../api/index.js';
import { protocolName, protocolNumber, type EndpointInfo, type PolicyEngine } from '../engine/index.js';
import { ClassTable, FeatureIndex } from './address-classes.js';
import { EndModels, failsafeCidrs, type EndModel, type Mode } from './end-features.js';

const PORT_PROTOCOLS = new Set([6, 17, 132, 136]);
const NAMED_PORT_PROTOCOLS: Readonly<Record<number, 'tcp' | 'udp' | 'sctp'>> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };
const ICMPV6 = 58;

export interface MatrixOptions {
  /** A protocol name or number (default TCP). */
  protocol?: string | number;
  /** The destination port: a number, or a named port resolved on each destination. None for ICMP and the like. */
  port?: number | string;
  /** Only the workloads of these namespaces. */
  namespaces?: readonly string[];
  /** `pending`: staged policies treated as enforced (§3.6). Default `enforced`. */
  mode?: Mode;
  onProgress?: (progress: MatrixProgress) => void;
}

export interface MatrixProgress {
  phase: 'classes' | 'pairs';
  done: number;
  total: number;
}

export interface MatrixStats {
  endpoints: number;
  /** Distinct address classes (per family, sources and destinations). */
  sourceClasses: number;
  destinationClasses: number;
  /** Distinct egress ends (row groups) and ingress ends (column groups). */
  rowGroups: number;
  columnGroups: number;
  /** Flows the engine evaluated: the cells it was actually asked about. */
  engineEvaluations: number;
}

export interface ReachabilityMatrix {
  /** The protocol's Calico name (`TCP`, `UDP`, `SCTP`, …) or its number. */
  protocol: string;
  /** As given: a number, a port name, or undefined. */
  port: number | string | undefined;
  endpoints: EndpointInfo[];
  /** The port each endpoint is reached on as a destination; null where a named port does not resolve. */
  targetPorts: Array<number | null | undefined>;
  /** From endpoints[from] to endpoints[to]. */
  allowed(from: number, to: number): boolean;
  /** allowed(from, j) for every j. */
  row(from: number): boolean[];
  /** How many pairs are allowed. */
  allowedCount(): number;
  /** Endpoints with identical rows and identical columns share a group. */
  groups(): { of: Int32Array; count: number };
  stats: MatrixStats;
}

/** One endpoint as the matrix sees it. */
interface Subject {
  index: number;
  info: EndpointInfo;
  node: number;
  /** Per family: the class of its first address of that family as a source / as a destination (−1: none). */
  src: { 4: number; 6: number };
  dst: { 4: number; 6: number };
  port: number | undefined;
  reachable: boolean;
}

/** An end group: a signature with the projection of its own class; verdicts per (peer projection, same node). */
interface EndGroup {
  /** The peer classes' projection ids onto this end's features. */
  peer: Int32Array;
  /** How many projection ids there are. */
  projections: number;
}

function issue(code: string, path: string, message: string): Issue {
  return { code, path: [path], message };
}

/** Workloads first (by namespace/name), then host endpoints, as the engine sorts refs. */
function selectEndpoints(engine: PolicyEngine, namespaces: readonly string[] | undefined): EndpointInfo[] {
  const only = namespaces && namespaces.length > 0 ? new Set(namespaces) : undefined;
  const all = engine.endpoints().filter((e) => e.ips.length > 0);
  const workloads = all.filter((e) => e.kind === 'WorkloadEndpoint' && (!only || only.has(e.namespace ?? '')));
  const hosts = only ? [] : all.filter((e) => e.kind === 'HostEndpoint');
  return [...workloads, ...hosts];
}

function checkOptions(options: MatrixOptions): Result<{ protocol: number; namedPortProtocol: string | undefined }> {
  const protocol = protocolNumber(options.protocol ?? 'TCP');
  if (protocol === undefined) {
    return { ok: false, issues: [issue('matrix.protocol', 'protocol', `unknown protocol ${JSON.stringify(options.protocol)}: use TCP, UDP, SCTP, UDPLite, ICMP, ICMPv6 or a number 0–255`)] };
  }
  const namedPortProtocol = NAMED_PORT_PROTOCOLS[protocol];
  const port = options.port;
  if (port !== undefined) {
    if (!PORT_PROTOCOLS.has(protocol)) {
      return { ok: false, issues: [issue('matrix.port', 'port', `${protocolName(protocol)} has no ports; leave out the port`)] };
    }
    if (typeof port === 'number' && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
      return { ok: false, issues: [issue('matrix.port', 'port', `a port is an integer 0–65535, not ${port}`)] };
    }
    if (typeof port === 'string' && (port === '' || namedPortProtocol === undefined)) {
      return { ok: false, issues: [issue('matrix.port', 'port', 'a named port needs TCP, UDP or SCTP and a name')] };
    }
  }
  return { ok: true, value: { protocol, namedPortProtocol } };
}

export function reachabilityMatrix(engine: PolicyEngine, options: MatrixOptions = {}): Result<ReachabilityMatrix> {
  const checked = checkOptions(options);
  if (!checked.ok) return checked;
  const { protocol, namedPortProtocol } = checked.value;
  const port = options.port;
  const mode = options.mode ?? 'enforced';
  const progress = options.onProgress ?? (() => {});

  const endpoints = selectEndpoints(engine, options.namespaces);
  const n = endpoints.length;
  progress({ phase: 'classes', done: 0, total: n });

  const rules = engine.policies().flatMap((p) => [...p.rules.ingress, ...p.rules.egress]);
  for (const name of new Set(engine.endpoints().flatMap((e) => e.profiles))) {
    const profile = engine.profile(name);
    rules.push(...profile.rules.ingress, ...profile.rules.egress);
  }
  const index = new FeatureIndex(engine, rules, failsafeCidrs(engine));
  const ends = new EndModels(engine, index, mode);
  const srcTable = new ClassTable('source');
  const dstTable = new ClassTable('destination');
  const nodeIds = new Map<string, number>();

  const subjects: Subject[] = endpoints.map((info, i) => {
    let target: number | undefined;
    if (typeof port === 'number') target = port;
    else if (typeof port === 'string') target = info.namedPorts.find((p) => p.name === port && p.protocol === namedPortProtocol)?.port;
    const s: Subject = {
      index: i, info, node: -1, src: { 4: -1, 6: -1 }, dst: { 4: -1, 6: -1 },
      port: target, reachable: typeof port !== 'string' || target !== undefined,
    };
    if (info.node !== undefined) {
      if (!nodeIds.has(info.node)) nodeIds.set(info.node, nodeIds.size);
      s.node = nodeIds.get(info.node)!;
    }
    for (const text of info.ips) {
      const ip = parseIp(text);
      if (!ip || s.src[ip.family] >= 0) continue;
      s.src[ip.family] = srcTable.intern(ip.family, info.kind, undefined, index.addressFeatures(ip));
      s.dst[ip.family] = dstTable.intern(ip.family, info.kind, target, index.destinationFeatures(ip, namedPortProtocol, target));
    }
    progress({ phase: 'classes', done: i + 1, total: n });
    return s;
  });

  const projections = new Projections(index.size);
  const rows = new EndGroups();
  const cols = new EndGroups();
  const rowOf = { 4: new Int32Array(n).fill(-1), 6: new Int32Array(n).fill(-1) };
  const colOf = { 4: new Int32Array(n).fill(-1), 6: new Int32Array(n).fill(-1) };
  for (const s of subjects) {
    const egress = ends.of(s.info, 'egress');
    const ingress = ends.of(s.info, 'ingress');
    for (const f of [4, 6] as const) {
      if (s.src[f] < 0) continue;
      rowOf[f][s.index] = rows.group(egress, projections.of(egress, srcTable).ids[s.src[f]]!, () => projections.of(egress, dstTable));
      colOf[f][s.index] = cols.group(ingress, projections.of(ingress, dstTable).ids[s.dst[f]]!, () => projections.of(ingress, srcTable));
    }
  }

  const [first, second] = (protocol === ICMPV6 ? [6, 4] : [4, 6]) as [4 | 6, 4 | 6];
  const words = Math.ceil(n / 32);
  const { bits, evaluations } = decideAll({
    n, words, subjects, rows: rows.list, cols: cols.list, rowOf, colOf, families: [first, second],
    evaluate: (a, b) => {
      const result = engine.evaluate({ from: a.info.ref, to: b.info.ref, protocol, ...(b.port !== undefined && { port: b.port }) });
      const view = result.ok ? (mode === 'pending' ? result.value.pending : result.value) : undefined;
      return [view?.egress?.verdict === 'Allow', view?.ingress?.verdict === 'Allow'];
    },
    progress: (done) => progress({ phase: 'pairs', done, total: n }),
  });

  const allowed = (from: number, to: number): boolean => (bits[from * words + (to >>> 5)]! & (1 << (to & 31))) !== 0;
  let groups: { of: Int32Array; count: number } | undefined;
  return {
    ok: true,
    value: {
      protocol: protocolName(protocol),
      port,
      endpoints,
      targetPorts: subjects.map((s) => (typeof port === 'string' ? (s.port ?? null) : s.port)),
      allowed,
      row: (from) => {
        const out: boolean[] = [];
        const base = from * words;
        for (let to = 0; to < n; to++) out.push((bits[base + (to >>> 5)]! & (1 << (to & 31))) !== 0);
        return out;
      },
      allowedCount: () => popcount(bits),
      groups: () => (groups ??= groupsOf(bits, n, words)),
      stats: {
        endpoints: n,
        sourceClasses: srcTable.classes.length,
        destinationClasses: dstTable.classes.length,
        rowGroups: rows.list.length,
        columnGroups: cols.list.length,
        engineEvaluations: evaluations,
      },
    },
  };
}

interface DecideInput {
  n: number;
  words: number;
  subjects: readonly Subject[];
  rows: readonly EndGroup[];
  cols: readonly EndGroup[];
  rowOf: { 4: Int32Array; 6: Int32Array };
  colOf: { 4: Int32Array; 6: Int32Array };
  families: [4 | 6, 4 | 6];
  /** The engine's verdicts of the two ends of a flow: [egress allows, ingress allows]. */
  evaluate(a: Subject, b: Subject): [boolean, boolean];
  progress(done: number): void;
}

/**
 * Every cell, row by row: the two ends' memoised verdicts, and the engine for combinations not seen yet. This
 * loop runs N² times, so everything it reads is a flat typed array and what depends only on the row is hoisted:
 * verdicts of all groups sit in one array (−1 unknown, 0 deny, 1 allow) at offset + projection × 2 + same node.
 */
function decideAll(input: DecideInput): { bits: Uint32Array; evaluations: number } {
  const { n, words, subjects, rows, cols } = input;
  const [fa, fb] = input.families;
  const flat = (get: (s: Subject) => number): Int32Array => Int32Array.from(subjects, get);
  const offsets = (groups: readonly EndGroup[]): { offset: Int32Array; verdicts: Int8Array } => {
    const offset = new Int32Array(groups.length);
    let total = 0;
    groups.forEach((g, k) => {
      offset[k] = total;
      total += g.projections * 2;
    });
    return { offset, verdicts: new Int8Array(total).fill(-1) };
  };
  const rv = offsets(rows);
  const cv = offsets(cols);
  const node = flat((s) => s.node);
  const reachable = Uint8Array.from(subjects, (s) => (s.reachable ? 1 : 0));
  const srcA = flat((s) => s.src[fa]);
  const srcB = flat((s) => s.src[fb]);
  const dstA = flat((s) => s.dst[fa]);
  const dstB = flat((s) => s.dst[fb]);
  const colOfA = input.colOf[fa];
  const colOfB = input.colOf[fb];
  // Per row: where each column group's ingress verdicts for this row's source class begin.
  const colAtA = new Int32Array(cols.length);
  const colAtB = new Int32Array(cols.length);
  const bits = new Uint32Array(n * words);
  let evaluations = 0;

  for (let a = 0; a < n; a++) {
    const aNode = node[a]!;
    const base = a * words;
    const sa = srcA[a]!;
    const sb = srcB[a]!;
    const rowA = sa >= 0 ? rows[input.rowOf[fa][a]!]! : undefined;
    const rowB = sb >= 0 ? rows[input.rowOf[fb][a]!]! : undefined;
    const rowAtA = sa >= 0 ? rv.offset[input.rowOf[fa][a]!]! : 0;
    const rowAtB = sb >= 0 ? rv.offset[input.rowOf[fb][a]!]! : 0;
    for (let c = 0; c < cols.length; c++) {
      if (sa >= 0) colAtA[c] = cv.offset[c]! + cols[c]!.peer[sa]! * 2;
      if (sb >= 0) colAtB[c] = cv.offset[c]! + cols[c]!.peer[sb]! * 2;
    }
    for (let b = 0; b < n; b++) {
      if (reachable[b] === 0) continue;
      const same = aNode >= 0 && aNode === node[b] ? 1 : 0;
      let ei: number;
      let ii: number;
      if (rowA !== undefined && srcA[b]! >= 0) {
        ei = rowAtA + rowA.peer[dstA[b]!]! * 2 + same;
        ii = colAtA[colOfA[b]!]! + same;
      } else if (rowB !== undefined && srcB[b]! >= 0) {
        ei = rowAtB + rowB.peer[dstB[b]!]! * 2 + same;
        ii = colAtB[colOfB[b]!]! + same;
      } else {
        // No address family in common: no connection.
        continue;
      }
      let e = rv.verdicts[ei]!;
      let g = cv.verdicts[ii]!;
      if (e < 0 || g < 0) {
        evaluations++;
        const [egress, ingress] = input.evaluate(subjects[a]!, subjects[b]!);
        rv.verdicts[ei] = e = egress ? 1 : 0;
        cv.verdicts[ii] = g = ingress ? 1 : 0;
      }
      if ((e & g) === 1) bits[base + (b >>> 5)]! |= 1 << (b & 31);
    }
    input.progress(a + 1);
  }
  return { bits, evaluations };
}

/** Per end signature and class table: each class's projection onto the end's features, as small ids. */
class Projections {
  private readonly cache = new Map<string, { ids: Int32Array; count: number }>();

  constructor(private readonly featureCount: number) {}

  of(end: EndModel, table: ClassTable): { ids: Int32Array; count: number } {
    const cacheKey = `${end.signature}|${table.side}`;
    let hit = this.cache.get(cacheKey);
    if (hit) return hit;
    const n = table.classes.length;
    const masks = end.features.map((f) => table.withFeature(f, this.featureCount));
    // The key: the class's family, kind and port (meta), and which of the end's features it has — a number
    // while the features fit in 24 bits, text beyond.
    const numeric = masks.length <= 24;
    const keys = new Map<number | string, number>();
    const ids = new Int32Array(n);
    for (let c = 0; c < n; c++) {
      let key: number | string;
      if (numeric) {
        let mask = 0;
        for (let k = 0; k < masks.length; k++) if (masks[k]!.has(c)) mask |= 1 << k;
        key = table.classes[c]!.meta * 0x1000000 + mask;
      } else {
        key = `${table.classes[c]!.meta}:`;
        for (let k = 0; k < masks.length; k++) key += masks[k]!.has(c) ? '1' : '0';
      }
      let id = keys.get(key);
      if (id === undefined) keys.set(key, (id = keys.size));
      ids[c] = id;
    }
    hit = { ids, count: keys.size };
    this.cache.set(cacheKey, hit);
    return hit;
  }
}

/** End groups keyed by (signature, own projection). */
class EndGroups {
  readonly list: EndGroup[] = [];
  private readonly ids = new Map<string, number>();

  group(end: EndModel, own: number, peers: () => { ids: Int32Array; count: number }): number {
    const key = `${end.signature}|${own}`;
    let id = this.ids.get(key);
    if (id === undefined) {
      const p = peers();
      id = this.list.length;
      this.ids.set(key, id);
      this.list.push({ peer: p.ids, projections: p.count });
    }
    return id;
  }
}

function popcount(bits: Uint32Array): number {
  let count = 0;
  for (let w of bits) {
    w -= (w >>> 1) & 0x55555555;
    w = (w & 0x33333333) + ((w >>> 2) & 0x33333333);
    count += (((w + (w >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
  }
  return count;
}

/**
 * Groups of endpoints whose rows and columns are identical. Rows are compared exactly; columns by two
 * independent 32-bit hashes of the rows that reach them (a false merge needs both to collide).
 */
function groupsOf(bits: Uint32Array, n: number, words: number): { of: Int32Array; count: number } {
  const h1 = new Uint32Array(n);
  const h2 = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const k1 = Math.imul(i + 1, 0x9e3779b1);
    const k2 = Math.imul(i + 1, 0x85ebca77) ^ 0x5bd1e995;
    for (let w = 0; w < words; w++) {
      let x = bits[i * words + w]!;
      while (x !== 0) {
        const low = x & -x;
        const j = w * 32 + 31 - Math.clz32(low);
        x ^= low;
        h1[j] = Math.imul(h1[j]! ^ k1, 0x01000193) >>> 0;
        h2[j] = (Math.imul(h2[j]!, 31) + k2) >>> 0;
      }
    }
  }
  const of = new Int32Array(n);
  const keys = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const key = `${bits.subarray(i * words, (i + 1) * words).join(',')}|${h1[i]},${h2[i]}`;
    let id = keys.get(key);
    if (id === undefined) keys.set(key, (id = keys.size));
    of[i] = id;
  }
  return { of, count: keys.size };
}
