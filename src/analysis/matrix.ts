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
// memoised per (row group, projection of the peer's class, same node). Where an end's path is its own hook
// alone — a workload end whose node's host endpoint does not police forwarded traffic, towards a workload or an
// outside address (or any workload on its own node) — the rule sweep (rule-sweep.ts) fills a whole group's
// verdicts at once, every rule asked once for all peers through the engine's rule matcher; the engine's
// evaluate() is asked for every other combination not seen yet, with the pair at hand. 2,000 pods under 40
// policies of 1,500 rules that name peers by /32 took hours as one evaluate() per (group, peer); swept, seconds.
//
// Outside addresses (`external`, external-peers.ts): one representative per class, as a peer of every endpoint:
// endpoint → address is the endpoint's egress end, address → endpoint its ingress end (nothing polices the
// other end of such a flow).
//
// Endpoints: workload endpoints (Pods, WorkloadEndpoints) and host endpoints with expectedIPs — a host endpoint
// with only an interface name has no address to connect to. An endpoint without any address is left out, as
// Calico makes no endpoint for a pod without an IP. `namespaces` keeps only the workloads of those namespaces
// (host endpoints are not namespaced, so they are left out then); `selector` keeps the endpoints whose effective
// labels (§1.7) it matches. A flow uses the first address family both ends have (IPv4 first; IPv6 first for
// ICMPv6), as the engine does; none in common, no connection. The diagonal is computed like any pair: a pod
// connecting to its own address through its interface.
//
// A named port resolves on each destination (its named port of that name and protocol); an endpoint without
// it cannot be reached (its column is all false, and `targetPorts` shows null).

import type { IpAddr, Issue, Result } from '../api/index.js';
import { parseIp } from '../api/index.js';
import { protocolName, protocolNumber, type EndpointInfo, type PolicyEngine } from '../engine/index.js';
import { trySelector, type Selector } from '../selector/index.js';
import { ClassTable, FeatureIndex } from './address-classes.js';
import { BitSet } from './bitset.js';
import { EndModels, failsafeCidrs, type EndModel, type Mode } from './end-features.js';
import type { ExternalPeer } from './external-peers.js';
import { sweepHook } from './rule-sweep.js';

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
  /** Only the endpoints whose effective labels (§1.7) this selector matches (Calico syntax, as `tabby select`). */
  selector?: string;
  /** `pending`: staged policies treated as enforced (§3.6). Default `enforced`. */
  mode?: Mode;
  /** Outside addresses to decide too (externalPeers()): endpoint → address and address → endpoint. */
  external?: readonly ExternalPeer[];
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
  /** End groups whose verdicts the rule sweep decided at once. */
  sweptGroups: number;
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
  /** The outside addresses decided (as given in the options). */
  external: readonly ExternalPeer[];
  /** From endpoints[from] to external[x]: the endpoint's egress end allows it. */
  toExternal(from: number, x: number): boolean;
  /** From external[x] to endpoints[to]: the endpoint's ingress end allows it. */
  fromExternal(x: number, to: number): boolean;
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
  /** Its first address of each family. */
  address: { 4?: IpAddr; 6?: IpAddr };
  port: number | undefined;
  reachable: boolean;
}

/** An end group: a signature with the projection of its own class; verdicts per (peer projection, same node). */
interface EndGroup {
  /** The peer classes' projection ids onto this end's peer features. */
  peer: Int32Array;
  /** How many projection ids there are. */
  projections: number;
  /** Per projection id, a class that has it. */
  rep: Int32Array;
  /** The subject that opened the group, and the family of its own class. */
  subject: number;
  family: 4 | 6;
  end: EndModel;
}

function issue(code: string, path: string, message: string): Issue {
  return { code, path: [path], message };
}

/** Workloads first (by namespace/name), then host endpoints, as the engine sorts refs. */
function selectEndpoints(engine: PolicyEngine, namespaces: readonly string[] | undefined, selector: Selector | undefined): EndpointInfo[] {
  const only = namespaces && namespaces.length > 0 ? new Set(namespaces) : undefined;
  const all = engine.endpoints().filter((e) => e.ips.length > 0 && (!selector || selector.matches(e.labels)));
  const workloads = all.filter((e) => e.kind === 'WorkloadEndpoint' && (!only || only.has(e.namespace ?? '')));
  const hosts = only ? [] : all.filter((e) => e.kind === 'HostEndpoint');
  return [...workloads, ...hosts];
}

function checkOptions(options: MatrixOptions): Result<{ protocol: number; namedPortProtocol: string | undefined; selector: Selector | undefined }> {
  const protocol = protocolNumber(options.protocol ?? 'TCP');
  if (protocol === undefined) {
    return { ok: false, issues: [issue('matrix.protocol', 'protocol', `unknown protocol ${JSON.stringify(options.protocol)}: use TCP, UDP, SCTP, UDPLite, ICMP, ICMPv6 or a number 0–255`)] };
  }
  const namedPortProtocol = NAMED_PORT_PROTOCOLS[protocol];
  const port = options.port;
  let selector: Selector | undefined;
  if (options.selector !== undefined) {
    const parsed = trySelector(options.selector);
    if (!parsed.ok) {
      // One line (what is wrong and where), as the validator words it — not the caret picture of the message.
      const e = parsed.error;
      const hint = e.hint !== undefined ? `; ${e.hint}` : '';
      return {
        ok: false,
        issues: [issue('matrix.selector', 'selector', `invalid selector ${JSON.stringify(options.selector)}: ${e.reason} (at character ${e.offset})${hint}`)],
      };
    }
    selector = parsed.selector;
  }
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
  return { ok: true, value: { protocol, namedPortProtocol, selector } };
}

export function reachabilityMatrix(engine: PolicyEngine, options: MatrixOptions = {}): Result<ReachabilityMatrix> {
  const checked = checkOptions(options);
  if (!checked.ok) return checked;
  const { protocol, namedPortProtocol, selector } = checked.value;
  const port = options.port;
  const mode = options.mode ?? 'enforced';
  const progress = options.onProgress ?? (() => {});

  const endpoints = selectEndpoints(engine, options.namespaces, selector);
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
      index: i, info, node: -1, src: { 4: -1, 6: -1 }, dst: { 4: -1, 6: -1 }, address: {},
      port: target, reachable: typeof port !== 'string' || target !== undefined,
    };
    if (info.node !== undefined) {
      if (!nodeIds.has(info.node)) nodeIds.set(info.node, nodeIds.size);
      s.node = nodeIds.get(info.node)!;
    }
    for (const text of info.ips) {
      const ip = parseIp(text);
      if (!ip || s.src[ip.family] >= 0) continue;
      s.address[ip.family] = ip;
      s.src[ip.family] = srcTable.intern(ip, info.kind, undefined, index.addressFeatures(ip));
      s.dst[ip.family] = dstTable.intern(ip, info.kind, target, index.destinationFeatures(ip, namedPortProtocol, target));
    }
    progress({ phase: 'classes', done: i + 1, total: n });
    return s;
  });
  // An outside address has no named ports: a named-port matrix cannot reach it.
  const externalPort = typeof port === 'number' ? port : undefined;
  const externals = (options.external ?? []).flatMap((peer) => {
    const ip = parseIp(peer.address);
    if (!ip) return [];
    return [{
      peer, ip,
      src: srcTable.intern(ip, 'External', undefined, index.addressFeatures(ip)),
      dst: dstTable.intern(ip, 'External', externalPort, index.destinationFeatures(ip, namedPortProtocol, externalPort)),
    }];
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
      const ownOut = projections.of(egress, 'own', srcTable).ids[s.src[f]]!;
      rowOf[f][s.index] = rows.group(egress, ownOut, () => projections.of(egress, 'peer', dstTable), s.index, f);
      const ownIn = projections.of(ingress, 'own', dstTable).ids[s.dst[f]]!;
      colOf[f][s.index] = cols.group(ingress, ownIn, () => projections.of(ingress, 'peer', srcTable), s.index, f);
    }
  }

  const rv = verdictSlots(rows.list);
  const cv = verdictSlots(cols.list);
  // The sweep: whole groups at once where the path is the end's own hook.
  // Per node: a workload's node's FelixConfiguration decides its encapsulation checks (the signature keys on them).
  const encapDenied = (node: string | undefined, p: number | undefined): boolean => {
    const settings = engine.nodeSettings(node);
    return (!settings.allowVXLANPacketsFromWorkloads && protocol === 17 && p === settings.vxlanPort) ||
      (!settings.allowIPIPPacketsFromWorkloads && protocol === 4);
  };
  let sweptGroups = 0;
  for (const [groups, slots, peerTable] of [[rows, rv, dstTable], [cols, cv, srcTable]] as const) {
    groups.list.forEach((g, k) => {
      const s = subjects[g.subject]!;
      if (s.info.kind !== 'WorkloadEndpoint') return;
      const policed = ends.isPoliced(s.info.node);
      const peers = Array.from(g.rep, (c) => peerTable.classes[c]!);
      const eligible = new BitSet(peers.length);
      const base = slots.offset[k]!;
      peers.forEach((c, q) => {
        // Host peers have paths of their own (endpoint-to-host, host-to-local-workload, failsafe): the engine's.
        if (c.family !== g.family || c.kind === 'HostEndpoint' || (c.kind === 'External' && policed)) return;
        if (g.end.direction === 'egress' && encapDenied(s.info.node, c.port)) {
          // §3.3: the workload's egress chain drops the encapsulation before any policy.
          slots.verdicts[base + q * 2] = 0;
          slots.verdicts[base + q * 2 + 1] = 0;
          return;
        }
        eligible.add(q);
      });
      if (eligible.isEmpty()) return;
      const direction = g.end.direction;
      const allowed = sweepHook(engine, index, {
        direction,
        tiers: engine.policiesFor(s.info.ref)?.[direction] ?? [],
        profiles: s.info.profiles,
        address: s.address[g.family]!,
        port: direction === 'ingress' ? s.port : undefined,
        peerFeatures: g.end.peer,
      }, peers, eligible, protocol, mode);
      sweptGroups++;
      eligible.forEach((q) => {
        const v = allowed.has(q) ? 1 : 0;
        // Same node: no host endpoint on the path; another node (or outside): only where the node is unpoliced.
        if (peers[q]!.kind === 'WorkloadEndpoint') slots.verdicts[base + q * 2 + 1] = v;
        if (!policed) slots.verdicts[base + q * 2] = v;
      });
    });
  }

  const [first, second] = (protocol === ICMPV6 ? [6, 4] : [4, 6]) as [4 | 6, 4 | 6];
  const words = Math.ceil(n / 32);
  const evaluateEnds = (from: string | { ip: string }, to: string | { ip: string }, toPort: number | undefined): [boolean, boolean] => {
    const result = engine.evaluate({ from, to, protocol, ...(toPort !== undefined && { port: toPort }) });
    const view = result.ok ? (mode === 'pending' ? result.value.pending : result.value) : undefined;
    return [view?.egress?.verdict === 'Allow', view?.ingress?.verdict === 'Allow'];
  };
  const { bits, evaluations } = decideAll({
    n, words, subjects, rows: rows.list, cols: cols.list, rowOf, colOf, families: [first, second], rv, cv,
    evaluate: (a, b) => evaluateEnds(a.info.ref, b.info.ref, b.port),
    progress: (done) => progress({ phase: 'pairs', done, total: n }),
  });

  // Outside addresses: each endpoint's egress towards them and ingress from them, memoised in the same slots.
  const x = externals.length;
  const toExt = new Uint8Array(n * x);
  const fromExt = new Uint8Array(n * x);
  let externalEvaluations = 0;
  for (const s of subjects) {
    externals.forEach((e, k) => {
      const f = e.ip.family;
      if (s.src[f] < 0) return;
      const row = rowOf[f][s.index]!;
      const ei = rv.offset[row]! + rows.list[row]!.peer[e.dst]! * 2;
      if (externalPort !== undefined || port === undefined) {
        if (rv.verdicts[ei]! < 0) {
          externalEvaluations++;
          rv.verdicts[ei] = evaluateEnds(s.info.ref, { ip: e.peer.address }, externalPort)[0] ? 1 : 0;
        }
        toExt[s.index * x + k] = rv.verdicts[ei]!;
      }
      if (!s.reachable) return;
      const col = colOf[f][s.index]!;
      const ii = cv.offset[col]! + cols.list[col]!.peer[e.src]! * 2;
      if (cv.verdicts[ii]! < 0) {
        externalEvaluations++;
        cv.verdicts[ii] = evaluateEnds({ ip: e.peer.address }, s.info.ref, s.port)[1] ? 1 : 0;
      }
      fromExt[k * n + s.index] = cv.verdicts[ii]!;
    });
  }

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
      external: externals.map((e) => e.peer),
      toExternal: (from, k) => toExt[from * x + k] === 1,
      fromExternal: (k, to) => fromExt[k * n + to] === 1,
      stats: {
        endpoints: n,
        sourceClasses: srcTable.classes.length,
        destinationClasses: dstTable.classes.length,
        rowGroups: rows.list.length,
        columnGroups: cols.list.length,
        engineEvaluations: evaluations + externalEvaluations,
        sweptGroups,
      },
    },
  };
}

interface Slots {
  /** Per group: where its verdicts begin (projection × 2 + same node). */
  offset: Int32Array;
  /** −1 unknown, 0 deny, 1 allow. */
  verdicts: Int8Array;
}

function verdictSlots(groups: readonly EndGroup[]): Slots {
  const offset = new Int32Array(groups.length);
  let total = 0;
  groups.forEach((g, k) => {
    offset[k] = total;
    total += g.projections * 2;
  });
  return { offset, verdicts: new Int8Array(total).fill(-1) };
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
  rv: Slots;
  cv: Slots;
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
  const { rv, cv } = input;
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

/** Per end signature, role and class table: each class's projection onto the end's features, as small ids. */
class Projections {
  private readonly cache = new Map<string, { ids: Int32Array; count: number; rep: Int32Array }>();

  constructor(private readonly featureCount: number) {}

  of(end: EndModel, role: 'own' | 'peer', table: ClassTable): { ids: Int32Array; count: number; rep: Int32Array } {
    const cacheKey = `${end.signature}|${role}|${table.side}`;
    let hit = this.cache.get(cacheKey);
    if (hit) return hit;
    const n = table.classes.length;
    const masks = end[role].map((f) => table.withFeature(f, this.featureCount));
    // The key: the class's family, kind and port (meta), and which of the end's features it has — a number
    // while the features fit in 24 bits, else the list of the ones it has.
    const numeric = masks.length <= 24;
    const keys = new Map<number | string, number>();
    const ids = new Int32Array(n);
    const rep: number[] = [];
    const has: number[][] = numeric ? [] : Array.from({ length: n }, () => []);
    if (!numeric) masks.forEach((m, k) => m.forEach((c) => has[c]!.push(k)));
    for (let c = 0; c < n; c++) {
      let key: number | string;
      if (numeric) {
        let mask = 0;
        for (let k = 0; k < masks.length; k++) if (masks[k]!.has(c)) mask |= 1 << k;
        key = table.classes[c]!.meta * 0x1000000 + mask;
      } else {
        key = `${table.classes[c]!.meta}:${has[c]!.join(',')}`;
      }
      let id = keys.get(key);
      if (id === undefined) {
        keys.set(key, (id = keys.size));
        rep.push(c);
      }
      ids[c] = id;
    }
    hit = { ids, count: keys.size, rep: Int32Array.from(rep) };
    this.cache.set(cacheKey, hit);
    return hit;
  }
}

/** End groups keyed by (signature, own projection). */
class EndGroups {
  readonly list: EndGroup[] = [];
  private readonly ids = new Map<string, number>();

  group(end: EndModel, own: number, peers: () => { ids: Int32Array; count: number; rep: Int32Array }, subject: number, family: 4 | 6): number {
    const key = `${end.signature}|${own}`;
    let id = this.ids.get(key);
    if (id === undefined) {
      const p = peers();
      id = this.list.length;
      this.ids.set(key, id);
      this.list.push({ peer: p.ids, projections: p.count, rep: p.rep, subject, family, end });
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

/**
 * The members of `tabby matrix -o json` before `allowed` (whose rows are m.row(i)): what the CLI streams and the
 * server's /tabby/v1/matrix answers, built in one place.
 */
export function matrixJsonHead(m: ReachabilityMatrix): Record<string, unknown> {
  const head: Record<string, unknown> = { protocol: m.protocol, port: m.port ?? null, endpoints: m.endpoints.map((e) => e.ref) };
  if (typeof m.port === 'string') head.targetPorts = m.targetPorts.map((p) => p ?? null);
  const n = m.endpoints.length;
  const x = m.external.length;
  if (x > 0) {
    head.external = m.external.map((e) => ({ address: e.address, cidr: e.cidr, namedBy: e.namedBy, class: e.label }));
    head.toExternal = Array.from({ length: n }, (_, i) => Array.from({ length: x }, (_, k) => m.toExternal(i, k)));
    head.fromExternal = Array.from({ length: x }, (_, k) => Array.from({ length: n }, (_, j) => m.fromExternal(k, j)));
  }
  return head;
}
