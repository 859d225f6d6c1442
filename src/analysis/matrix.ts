// The reachability matrix: for every endpoint pair, whether a connection from one to the other (one protocol,
// one destination port) is allowed with both ends applied (§3.7) — what `tabby matrix` prints and what the
// Kubernetes e2e truth tables assert.
//
//   endpoints ──▶ address classes (address-classes.ts: IP set and rule CIDR memberships)
//             ──▶ workload pairs off policed host paths: class evaluation (class-evaluation.ts), per family
//             ──▶ pairs with a host endpoint on the path: the engine, per pair of groups (host-pairs.ts)
//
// Endpoints: workload endpoints (Pods, WorkloadEndpoints) and host endpoints with expectedIPs — a host endpoint
// with only an interface name has no address to connect to. An endpoint without any address is left out, as
// Calico makes no endpoint for a pod without an IP. `namespaces` keeps only the workloads of those namespaces
// (host endpoints are not namespaced, so they are left out then). The diagonal is computed like any pair: a
// pod connecting to its own address through its interface.
//
// A named port resolves on each destination (its named ports of that name and protocol); an endpoint without
// it cannot be reached (its column is all false, and `targetPorts` shows null).

import type { Issue, Result } from '../api/index.js';
import { parseIp } from '../api/index.js';
import { protocolName, protocolNumber, type EndpointInfo, type PolicyEngine } from '../engine/index.js';
import { AddressClassifier } from './address-classes.js';
import { evaluateFamily, HookSignatures, type FamilyTables, type Subject } from './class-evaluation.js';
import type { Mode } from './hook-vector.js';
import { HostPairs, policedNodes } from './host-pairs.js';

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
  phase: 'classes' | 'groups' | 'host paths';
  done: number;
  total: number;
}

export interface MatrixStats {
  endpoints: number;
  /** Endpoints that reach and are reached identically, as the grouping found them. */
  groups: number;
  sourceClasses: number;
  destinationClasses: number;
  rowGroups: number;
  columnGroups: number;
  /** Rule halves matched against one class (the unit of work of the class evaluation). */
  ruleHalvesMatched: number;
  /** Flows the engine evaluated for pairs with a host endpoint on the path. */
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
  /** Per endpoint, its group: endpoints of one group have identical rows and columns. */
  groupOf: Int32Array;
  stats: MatrixStats;
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

export function reachabilityMatrix(engine: PolicyEngine, options: MatrixOptions = {}): Result<ReachabilityMatrix> {
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
  const mode = options.mode ?? 'enforced';
  const progress = options.onProgress ?? (() => {});

  const endpoints = selectEndpoints(engine, options.namespaces);
  const subjects: Subject[] = endpoints.map((info, index) => {
    const addresses: Subject['addresses'] = {};
    for (const text of info.ips) {
      const ip = parseIp(text);
      if (ip && addresses[ip.family] === undefined) addresses[ip.family] = ip;
    }
    let target: number | undefined;
    if (typeof port === 'number') target = port;
    else if (typeof port === 'string') {
      target = info.namedPorts.find((p) => p.name === port && p.protocol === namedPortProtocol)?.port;
    }
    return { index, info, addresses, port: target, reachable: typeof port !== 'string' || target !== undefined };
  });

  const rules = engine.policies().flatMap((p) => [...p.rules.ingress, ...p.rules.egress]);
  for (const name of new Set(endpoints.flatMap((e) => e.profiles))) {
    const profile = engine.profile(name);
    rules.push(...profile.rules.ingress, ...profile.rules.egress);
  }
  const classifier = new AddressClassifier(engine, rules);
  const signatures = new HookSignatures(engine);
  const { withHosts, policed } = policedNodes(engine);
  const onHostPath = (s: Subject): boolean => s.info.kind === 'HostEndpoint' || (s.info.node !== undefined && policed.has(s.info.node));

  const dropsBeforePolicy = workloadPreFilter(engine, subjects.find((s) => !onHostPath(s)), protocol);
  const families = (protocol === ICMPV6 ? [6, 4] : [4, 6]) as Array<4 | 6>;
  const tables: Array<{ family: 4 | 6; t: FamilyTables }> = [];
  families.forEach((family, k) => {
    const t = evaluateFamily({
      engine, subjects, handles: (s) => !onHostPath(s), family, protocol, namedPortProtocol, mode, classifier,
      dropsBeforePolicy, signatures,
      progress: (done, total) => progress({ phase: 'groups', done: k * total + done, total: 2 * total }),
    });
    tables.push({ family, t });
  });

  const hostSubjects = subjects.filter(onHostPath);
  const hostPairs = hostSubjects.length > 0
    ? new HostPairs({ engine, subjects, protocol, namedPortProtocol, mode, classifier, signatures, nodesWithHosts: withHosts })
    : undefined;
  const hostFlag = Uint8Array.from(subjects, (s) => (onHostPath(s) ? 1 : 0));

  const allowed = (from: number, to: number): boolean => {
    const a = subjects[from]!;
    const b = subjects[to]!;
    if (!b.reachable) return false;
    if (hostFlag[from] || hostFlag[to]) return hostPairs!.allowed(a, b);
    for (const { t } of tables) {
      const r = t.rowOf[from]!;
      const c = t.colOf[to]!;
      if (r < 0 || c < 0) continue;
      return t.egress[r]!.has(t.dstClassOf[to]!) && t.ingress[c]!.has(t.srcClassOf[from]!);
    }
    // The engine's family rule: the first family both ends have; none in common, no connection.
    return false;
  };

  // Decide the host pairs now, so that reading the matrix is cheap and progress is reported where the work is.
  if (hostPairs) {
    const total = hostSubjects.length;
    hostSubjects.forEach((h, k) => {
      for (const s of subjects) {
        allowed(h.index, s.index);
        allowed(s.index, h.index);
      }
      progress({ phase: 'host paths', done: k + 1, total });
    });
  }

  const groupOf = groupsOf(subjects, tables.map((x) => x.t), hostPairs);
  const t4 = tables.map((x) => x.t);
  const stats: MatrixStats = {
    endpoints: endpoints.length,
    groups: groupOf.count,
    sourceClasses: sum(t4.map((t) => t.sourceClasses)),
    destinationClasses: sum(t4.map((t) => t.destinationClasses)),
    rowGroups: sum(t4.map((t) => t.egress.length)),
    columnGroups: sum(t4.map((t) => t.ingress.length)),
    ruleHalvesMatched: sum(t4.map((t) => t.ruleHalvesMatched)),
    engineEvaluations: hostPairs?.evaluations ?? 0,
  };

  return {
    ok: true,
    value: {
      protocol: protocolName(protocol),
      port,
      endpoints,
      targetPorts: subjects.map((s) => (typeof port === 'string' ? (s.port ?? null) : s.port)),
      allowed,
      row: (from) => subjects.map((_, to) => allowed(from, to)),
      groupOf: groupOf.ids,
      stats,
    },
  };
}

/**
 * Whether a workload's egress chain drops traffic to a destination port before any policy (VXLAN or IP-in-IP
 * from a workload, §3.3). This depends only on the protocol and port, so the engine is asked once per port,
 * for a flow from a workload to a bare address.
 */
function workloadPreFilter(engine: PolicyEngine, workload: Subject | undefined, protocol: number): (port: number | undefined) => boolean {
  const answers = new Map<number | undefined, boolean>();
  return (port) => {
    if (!workload) return false;
    const cached = answers.get(port);
    if (cached !== undefined) return cached;
    const result = engine.evaluate({
      from: workload.info.ref, to: { ip: workload.info.ips[0]! }, protocol, ...(port !== undefined && { port }),
    });
    const decision = result.ok ? result.value.egress?.decision : undefined;
    const drops = decision !== undefined && 'hostRule' in decision && decision.hostRule === 'workload-encap';
    answers.set(port, drops);
    return drops;
  };
}

function groupsOf(subjects: readonly Subject[], tables: readonly FamilyTables[], host: HostPairs | undefined): { ids: Int32Array; count: number } {
  const ids = new Int32Array(subjects.length);
  const keys = new Map<string, number>();
  for (const s of subjects) {
    const i = s.index;
    const parts = tables.map((t) => `${t.rowOf[i]},${t.colOf[i]},${t.srcClassOf[i]},${t.dstClassOf[i]}`);
    const key = `${parts.join(';')};${s.reachable};${host ? host.groupKey(s) : ''}`;
    let id = keys.get(key);
    if (id === undefined) keys.set(key, (id = keys.size));
    ids[i] = id;
  }
  return { ids, count: keys.size };
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}
