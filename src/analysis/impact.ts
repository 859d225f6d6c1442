// Reachability impact of a change: given the resources before and after it, the flows between endpoints that
// exist on both sides, and between them and the outside world, whose verdict changes — newly allowed, newly denied, and (with staged policies) pending
// verdicts that change — each with the decisions that made it, as `tabby apply --dry-run` reports them.
//
// Which flows: every pair of distinct endpoints present before and after (an endpoint that appears or disappears
// has no "before" to compare; they are listed apart; a pod's traffic to itself never leaves it), on a set of probes, (protocol, destination port) pairs that stand
// for every packet the policies tell apart:
//
//   * A rule's port condition only asks whether the port is in some ranges (named ports resolve, per endpoint,
//     to numbers: the members of their IP sets). So the ports 0–65535 fall into cells — maximal intervals inside
//     which every range of every rule answers alike — and one port per cell decides the whole cell. Ports no rule
//     names form one cell, probed by one "other" port (avoiding Felix's failsafe ports and the VXLAN port, which
//     host paths treat specially).
//   * Protocols: TCP always (its other-port cell is "any traffic" for most policies), every protocol a rule names,
//     and for protocols without ports one probe each.
//
// Outside addresses: every address class the policies of either side can tell apart (external-peers.ts: each
// network set's nets and each rule's nets / notNets, split where they nest, plus "anywhere else" per family),
// one representative each, compared in both directions: endpoint → address (the endpoint's egress end) and
// address → endpoint (its ingress end). Both sides are compared on the same classes, so a deleted network set
// or policy still has its addresses compared.
//
// Cells named by the changed policies and profiles come first, then the other-port probes, then cells only
// unchanged policies name (a new deny-all can change flows on ports only an existing allow names); `maxProbes`
// caps the total and the rest is reported as left out. What the probes cannot show is said in `notes`: ICMP
// type/code rules (probed without a type) and source-port rules (probed without a source port).
//
// The judge of every cell is the engine, through the reachability matrix (matrix.ts), built on both resource
// sets; the listed flows are evaluated again on both sides for their decisions. Pure: no I/O.

import type { Resource } from '../api/index.js';
import {
  PolicyEngine,
  protocolName,
  type CompiledRule,
  type Decision,
  type EngineOptions,
  type EndVerdict,
  type PortRange,
  type Verdict,
} from '../engine/index.js';
import type { Mode } from './end-features.js';
import { externalPeers, type ExternalPeer } from './external-peers.js';
import { reachabilityMatrix, type ReachabilityMatrix } from './matrix.js';

const TCP = 6;
const UDP = 17;
const SCTP = 132;
const UDPLITE = 136;
const PORT_PROTOCOLS = new Set([TCP, UDP, SCTP, UDPLITE]);
const NAMED_PORT_PROTOCOL: Readonly<Record<string, number>> = { tcp: TCP, udp: UDP, sctp: SCTP };
/** The first port an "other" probe tries: above the well-known ports, where no convention makes it special. */
const OTHER_PORT_FROM = 1024;

export interface ImpactOptions {
  /** How many changed flows are listed with their decisions (all are counted). Default 1000. */
  limit?: number;
  /** How many probes at most. Default 24. */
  maxProbes?: number;
  /** The FelixConfiguration settings both sides are evaluated with. */
  engine?: EngineOptions;
}

/** One (protocol, port) the impact is computed on. */
export interface ImpactProbe {
  /** Calico's protocol name (`TCP`, `UDP`, `SCTP`, `ICMP`, …) or its number. */
  protocol: string;
  /** Destination port, for protocols with ports. */
  port?: number;
  /**
   * `named`: a port some rule names (for a range, its first port; the probe stands for the cell it starts).
   * `other`: stands for every port (or, without ports, every packet of the protocol) no rule tells apart.
   */
  stands: 'named' | 'other';
}

/** A verdict with each end's decisive decision (null: that end is not an endpoint). */
export interface VerdictSummary {
  verdict: Verdict;
  egress: Decision | null;
  ingress: Decision | null;
}

export interface VerdictChange {
  before: VerdictSummary;
  after: VerdictSummary;
}

/** An outside address class as the impact reports it (a stable JSON contract). */
export interface ExternalClass {
  /** The representative address the class was compared on. */
  address: string;
  cidr: string;
  namedBy: string[];
  /** `203.0.113.0/24 (GlobalNetworkSet feed)`, `0.0.0.0/0 outside every named net`. */
  class: string;
}

/** One flow whose verdict changes. */
export interface FlowImpact {
  /** An endpoint ref, or the representative address of an outside class (then `external` says which). */
  from: string;
  to: string;
  /** Set when one end is an outside address: which end, and its class. */
  external?: ExternalClass & { end: 'from' | 'to' };
  protocol: string;
  port?: number;
  stands: ImpactProbe['stands'];
  /** The enforced verdict's change; null when it does not change. */
  enforced: VerdictChange | null;
  /** The pending verdict's change (staged policies enforced, §3.6); null when it does not change. */
  pending: VerdictChange | null;
}

export interface ImpactCounts {
  /** Flows (endpoint pair × probe) whose enforced verdict goes from Deny to Allow. */
  allowed: number;
  /** … from Allow to Deny. */
  denied: number;
  pendingAllowed: number;
  pendingDenied: number;
}

export interface ReachabilityImpact {
  /** Whether the resources differ at all (apart from server-owned metadata). */
  changed: boolean;
  probes: ImpactProbe[];
  /** Probes beyond maxProbes, not computed. */
  probesLeftOut: number;
  /** Whether pending verdicts were compared (some staged policy exists before or after). */
  pendingCompared: boolean;
  endpoints: {
    /** Endpoints with an address on both sides: the ones whose flows are compared. */
    compared: number;
    added: string[];
    removed: string[];
  };
  /** The outside address classes compared with every compared endpoint, both directions. */
  external: ExternalClass[];
  counts: ImpactCounts;
  /** Changed flows ordered by from, to, probe; at most `limit`. */
  flows: FlowImpact[];
  /** Changed flows not listed. */
  flowsLeftOut: number;
  notes: string[];
}

// ---------------------------------------------------------------------------------------------------------------
// Probes

/** What a set of rules asks of packets: port ranges per protocol, protocols, and what the probes cannot show. */
class RuleFacts {
  readonly ranges = new Map<number, PortRange[]>();
  readonly protocols = new Set<number>();
  icmpTypes = false;
  sourcePorts = false;

  add(rule: CompiledRule, engines: readonly PolicyEngine[]): void {
    if (rule.icmp || rule.notIcmp) this.icmpTypes = true;
    const { src, dst } = rule;
    if (src.ports.length + src.notPorts.length + src.namedPortIpSets.length + src.notNamedPortIpSets.length > 0) {
      this.sourcePorts = true;
    }
    if (rule.protocol !== undefined) this.protocols.add(rule.protocol);
    const numeric = [...dst.ports, ...dst.notPorts];
    if (numeric.length > 0) {
      // Ports need TCP, UDP, SCTP or UDPLite; validation requires a protocol, k8s conversion defaults to TCP.
      const protocol = rule.protocol ?? TCP;
      if (PORT_PROTOCOLS.has(protocol)) for (const r of numeric) this.range(protocol, r);
    }
    for (const id of [...dst.namedPortIpSets, ...dst.notNamedPortIpSets]) {
      for (const engine of engines) {
        for (const member of engine.ipSetMembers(id) ?? []) {
          // `<address>,<tcp|udp|sctp>:<port>`
          const m = /,([a-z]+):(\d+)$/.exec(member);
          const protocol = m ? NAMED_PORT_PROTOCOL[m[1]!] : undefined;
          if (protocol !== undefined) this.range(protocol, { first: Number(m![2]), last: Number(m![2]) });
        }
      }
    }
  }

  private range(protocol: number, r: PortRange): void {
    this.protocols.add(protocol);
    let list = this.ranges.get(protocol);
    if (!list) this.ranges.set(protocol, (list = []));
    list.push(r);
  }
}

/** One port per cell some range covers: the cell's first port, ascending. */
function cellStarts(ranges: readonly PortRange[]): number[] {
  const bounds = [...new Set(ranges.flatMap((r) => [r.first, r.last + 1]))].sort((a, b) => a - b);
  return bounds.filter((b) => b <= 65535 && ranges.some((r) => r.first <= b && b <= r.last));
}

/** The first port from OTHER_PORT_FROM (then from 1) that no range covers; undefined when every port is. */
function otherPort(covered: readonly PortRange[]): number | undefined {
  const sorted = [...covered].sort((a, b) => a.first - b.first);
  const firstFree = (from: number, to: number): number | undefined => {
    let p = from;
    for (const r of sorted) {
      if (r.last < p) continue;
      if (r.first > p) break;
      p = r.last + 1;
    }
    return p <= to ? p : undefined;
  };
  return firstFree(OTHER_PORT_FROM, 65535) ?? firstFree(1, OTHER_PORT_FROM - 1);
}

function factsOf(rules: Iterable<CompiledRule>, engines: readonly PolicyEngine[]): RuleFacts {
  const facts = new RuleFacts();
  for (const rule of rules) facts.add(rule, engines);
  return facts;
}

/** Every rule of every policy and of every profile an endpoint names, keyed by what it belongs to. */
function rulesByOwner(engine: PolicyEngine): Map<string, CompiledRule[]> {
  const out = new Map<string, CompiledRule[]>();
  for (const p of engine.policies()) out.set(`policy ${p.id.kind} ${p.id.ref}`, [...p.rules.ingress, ...p.rules.egress]);
  for (const name of new Set(engine.endpoints().flatMap((e) => e.profiles))) {
    const profile = engine.profile(name);
    out.set(`profile ${name}`, [...profile.rules.ingress, ...profile.rules.egress]);
  }
  return out;
}

const probeKey = (p: ImpactProbe): string => `${p.protocol}/${p.port ?? ''}`;

function protocolRank(protocol: number): number {
  return protocol === TCP ? -1 : protocol;
}

function chooseProbes(
  before: PolicyEngine,
  after: PolicyEngine,
  maxProbes: number,
): { probes: ImpactProbe[]; leftOut: number; changedFacts: RuleFacts } {
  const engines = [before, after];
  const ownersBefore = rulesByOwner(before);
  const ownersAfter = rulesByOwner(after);
  const changed: CompiledRule[] = [];
  const all: CompiledRule[] = [];
  for (const owner of new Set([...ownersBefore.keys(), ...ownersAfter.keys()])) {
    const b = ownersBefore.get(owner) ?? [];
    const a = ownersAfter.get(owner) ?? [];
    all.push(...b, ...a);
    if (JSON.stringify(b) !== JSON.stringify(a)) changed.push(...b, ...a);
  }
  const changedFacts = factsOf(changed, engines);
  const allFacts = factsOf(all, engines);

  const named = (facts: RuleFacts): ImpactProbe[] =>
    [...facts.ranges].sort(([a], [b]) => protocolRank(a) - protocolRank(b)).flatMap(([protocol, ranges]) =>
      cellStarts(ranges).map((port): ImpactProbe => ({ protocol: protocolName(protocol), port, stands: 'named' })));

  // The other-port probe of each port protocol avoids every port a rule names and the ports host paths treat
  // specially, so it stands only for "any other port".
  const settings = after.settings;
  const special = (protocol: number): PortRange[] => [
    ...[...settings.failsafeInboundHostPorts, ...settings.failsafeOutboundHostPorts]
      .filter((f) => NAMED_PORT_PROTOCOL[f.protocol.toLowerCase()] === protocol).map((f) => ({ first: f.port, last: f.port })),
    ...(protocol === UDP ? [{ first: settings.vxlanPort, last: settings.vxlanPort }] : []),
  ];
  const others: ImpactProbe[] = [];
  for (const protocol of [...new Set([TCP, ...allFacts.protocols])].sort((a, b) => protocolRank(a) - protocolRank(b))) {
    if (PORT_PROTOCOLS.has(protocol)) {
      const port = otherPort([...(allFacts.ranges.get(protocol) ?? []), ...special(protocol)]);
      if (port !== undefined) others.push({ protocol: protocolName(protocol), port, stands: 'other' });
    } else {
      others.push({ protocol: protocolName(protocol), stands: 'other' });
    }
  }

  const chosen = new Map<string, ImpactProbe>();
  const take = (list: readonly ImpactProbe[], room: number): void => {
    for (const p of list) {
      if (chosen.size >= room) return;
      if (!chosen.has(probeKey(p))) chosen.set(probeKey(p), p);
    }
  };
  take(named(changedFacts), Math.max(1, maxProbes - others.length));
  take(others, maxProbes);
  take(named(allFacts), maxProbes);
  const wanted = new Set([...named(changedFacts), ...others, ...named(allFacts)].map(probeKey));
  const order = (p: ImpactProbe): [number, number] => {
    const n = PROTOCOL_ORDER.indexOf(p.protocol);
    return [n < 0 ? PROTOCOL_ORDER.length + Number(p.protocol) : n, p.stands === 'other' ? 65536 : p.port ?? 0];
  };
  const probes = [...chosen.values()].sort((a, b) => {
    const [pa, qa] = order(a);
    const [pb, qb] = order(b);
    return pa - pb || qa - qb;
  });
  return { probes, leftOut: wanted.size - probes.length, changedFacts };
}

const PROTOCOL_ORDER = ['TCP', 'UDP', 'SCTP', 'UDPLite', 'ICMP', 'ICMPv6'];

// ---------------------------------------------------------------------------------------------------------------
// Comparison

/** Resources without the fields the store owns, keyed by identity: equal maps mean nothing changed. */
function canonical(resources: readonly Resource[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of resources) {
    const { resourceVersion: _rv, uid: _uid, creationTimestamp: _ct, ...meta } = r.metadata;
    out.set(`${r.apiVersion}/${r.kind}/${r.metadata.namespace ?? ''}/${r.metadata.name}`, JSON.stringify({ ...r, metadata: meta }));
  }
  return out;
}

function sameResources(before: readonly Resource[], after: readonly Resource[]): boolean {
  const a = canonical(before);
  const b = canonical(after);
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

function summary(verdict: Verdict, egress: EndVerdict | null, ingress: EndVerdict | null): VerdictSummary {
  return { verdict, egress: egress?.decision ?? null, ingress: ingress?.decision ?? null };
}

/** Per probe: the changed pairs, first `limit` of them in (from, to) order, and the total. */
interface ProbeChanges {
  probe: ImpactProbe;
  /** [from index, to index, enforced changed, pending changed], indexes into `compared`, then n + k for external k. */
  listed: Array<[number, number, boolean, boolean]>;
  total: number;
}

interface MatrixPair {
  before: ReachabilityMatrix;
  after: ReachabilityMatrix;
}

function matrices(before: PolicyEngine, after: PolicyEngine, probe: ImpactProbe, mode: Mode, external: readonly ExternalPeer[]): MatrixPair {
  const options = { protocol: probe.protocol, ...(probe.port !== undefined && { port: probe.port }), mode, external };
  const b = reachabilityMatrix(before, options);
  const a = reachabilityMatrix(after, options);
  // The probes are built from protocols and ports the engine itself reported, so the matrix accepts them.
  if (!b.ok) throw new Error(`impact probe ${probeKey(probe)} rejected: ${JSON.stringify(b.issues)}`);
  if (!a.ok) throw new Error(`impact probe ${probeKey(probe)} rejected: ${JSON.stringify(a.issues)}`);
  return { before: b.value, after: a.value };
}

/** Index of each compared endpoint in a matrix (the matrix's order of endpoints is fixed per engine). */
function indexesIn(m: ReachabilityMatrix, refs: readonly string[]): Int32Array {
  const at = new Map(m.endpoints.map((e, i) => [e.ref, i]));
  return Int32Array.from(refs, (r) => at.get(r)!);
}

function compareProbe(
  before: PolicyEngine,
  after: PolicyEngine,
  probe: ImpactProbe,
  compared: readonly string[],
  external: readonly ExternalPeer[],
  withPending: boolean,
  limit: number,
  counts: ImpactCounts,
): ProbeChanges {
  const enforced = matrices(before, after, probe, 'enforced', external);
  const pending = withPending ? matrices(before, after, probe, 'pending', external) : undefined;
  const eb = indexesIn(enforced.before, compared);
  const ea = indexesIn(enforced.after, compared);
  const pb = pending && indexesIn(pending.before, compared);
  const pa = pending && indexesIn(pending.after, compared);
  const out: ProbeChanges = { probe, listed: [], total: 0 };
  const n = compared.length;
  const eBefore = enforced.before;
  const eAfter = enforced.after;
  for (let i = 0; i < n; i++) {
    const ebi = eb[i]!;
    const eai = ea[i]!;
    const pbi = pb ? pb[i]! : 0;
    const pai = pa ? pa[i]! : 0;
    for (let j = 0; j < n; j++) {
      // A pod's traffic to its own address never leaves it: no policy sees it.
      if (j === i) continue;
      const e1 = eAfter.allowed(eai, ea[j]!);
      const eChanged = eBefore.allowed(ebi, eb[j]!) !== e1;
      if (eChanged) {
        if (e1) counts.allowed++;
        else counts.denied++;
      }
      let pChanged = false;
      if (pending) {
        const p1 = pending.after.allowed(pai, pa![j]!);
        pChanged = pending.before.allowed(pbi, pb![j]!) !== p1;
        if (pChanged) {
          if (p1) counts.pendingAllowed++;
          else counts.pendingDenied++;
        }
      }
      if (!eChanged && !pChanged) continue;
      out.total++;
      if (out.listed.length < limit) out.listed.push([i, j, eChanged, pChanged]);
    }
  }
  // With the outside classes: endpoint i → class k (row i, column n + k) and class k → endpoint i.
  const count = (was: boolean, now: boolean, allowed: 'allowed' | 'pendingAllowed', denied: 'denied' | 'pendingDenied'): boolean => {
    if (was === now) return false;
    counts[now ? allowed : denied]++;
    return true;
  };
  const record = (from: number, to: number, e: boolean, p: boolean): void => {
    if (!e && !p) return;
    out.total++;
    if (out.listed.length < limit) out.listed.push([from, to, e, p]);
  };
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < external.length; k++) {
      const eOut = count(eBefore.toExternal(eb[i]!, k), eAfter.toExternal(ea[i]!, k), 'allowed', 'denied');
      const pOut = pending ? count(pending.before.toExternal(pb![i]!, k), pending.after.toExternal(pa![i]!, k), 'pendingAllowed', 'pendingDenied') : false;
      record(i, n + k, eOut, pOut);
    }
  }
  for (let k = 0; k < external.length; k++) {
    for (let i = 0; i < n; i++) {
      const eIn = count(eBefore.fromExternal(k, eb[i]!), eAfter.fromExternal(k, ea[i]!), 'allowed', 'denied');
      const pIn = pending ? count(pending.before.fromExternal(k, pb![i]!), pending.after.fromExternal(k, pa![i]!), 'pendingAllowed', 'pendingDenied') : false;
      record(n + k, i, eIn, pIn);
    }
  }
  return out;
}

function externalClass(peer: ExternalPeer): ExternalClass {
  return { address: peer.address, cidr: peer.cidr, namedBy: peer.namedBy, class: peer.label };
}

type End = { ref: string } | { peer: ExternalPeer };

function explain(
  before: PolicyEngine,
  after: PolicyEngine,
  source: End,
  destination: End,
  probe: ImpactProbe,
  modes: { enforced: boolean; pending: boolean },
): FlowImpact {
  const peerOf = (e: End): string | { ip: string } => ('ref' in e ? e.ref : { ip: e.peer.address });
  const textOf = (e: End): string => ('ref' in e ? e.ref : e.peer.address);
  const from = textOf(source);
  const to = textOf(destination);
  const outside = 'peer' in source ? { ...externalClass(source.peer), end: 'from' as const }
    : 'peer' in destination ? { ...externalClass(destination.peer), end: 'to' as const } : undefined;
  const flow = { from: peerOf(source), to: peerOf(destination), protocol: probe.protocol, ...(probe.port !== undefined && { port: probe.port }) };
  const b = before.evaluate(flow);
  const a = after.evaluate(flow);
  if (!b.ok || !a.ok) throw new Error(`impact flow ${from} → ${to} ${probeKey(probe)} could not be evaluated`);
  const enforced = (v: typeof b.value): VerdictSummary => summary(v.verdict, v.egress, v.ingress);
  const pending = (v: typeof b.value): VerdictSummary => summary(v.pending.verdict, v.pending.egress, v.pending.ingress);
  return {
    from, to, ...(outside && { external: outside }), protocol: probe.protocol, ...(probe.port !== undefined && { port: probe.port }), stands: probe.stands,
    enforced: modes.enforced ? { before: enforced(b.value), after: enforced(a.value) } : null,
    pending: modes.pending ? { before: pending(b.value), after: pending(a.value) } : null,
  };
}

function notesOf(facts: RuleFacts, leftOut: number, maxProbes: number): string[] {
  const notes: string[] = [];
  if (leftOut > 0) {
    notes.push(`${leftOut} more port${leftOut === 1 ? '' : 's'} named by the policies ${leftOut === 1 ? 'was' : 'were'} not probed ` +
      `(at most ${maxProbes} probes); tabby matrix --port N compares one`);
  }
  if (facts.icmpTypes) notes.push('rules on ICMP types were probed without a type; tabby explain --icmp-type T checks one flow');
  if (facts.sourcePorts) notes.push('rules on source ports were probed without a source port; tabby explain --src-port N checks one flow');
  return notes;
}

/** The flows between existing endpoints whose verdict differs between `before` and `after`. */
export function reachabilityImpact(
  before: readonly Resource[],
  after: readonly Resource[],
  options: ImpactOptions = {},
): ReachabilityImpact {
  const limit = options.limit ?? 1000;
  const maxProbes = Math.max(1, options.maxProbes ?? 24);
  const empty: ReachabilityImpact = {
    changed: false, probes: [], probesLeftOut: 0, pendingCompared: false, endpoints: { compared: 0, added: [], removed: [] }, external: [],
    counts: { allowed: 0, denied: 0, pendingAllowed: 0, pendingDenied: 0 }, flows: [], flowsLeftOut: 0, notes: [],
  };
  if (sameResources(before, after)) return empty;

  const engineB = new PolicyEngine(options.engine);
  engineB.load(before);
  const engineA = new PolicyEngine(options.engine);
  engineA.load(after);

  const refsB = new Set(engineB.endpoints().map((e) => e.ref));
  const refsA = new Set(engineA.endpoints().map((e) => e.ref));
  const addressedB = new Set(engineB.endpoints().filter((e) => e.ips.length > 0).map((e) => e.ref));
  // The after side's order (workloads, then host endpoints, as the matrix lists them) for those on both sides.
  const compared = engineA.endpoints()
    .filter((e) => e.ips.length > 0 && addressedB.has(e.ref))
    .sort((x, y) => (x.kind === y.kind ? 0 : x.kind === 'WorkloadEndpoint' ? -1 : 1))
    .map((e) => e.ref);
  const added = [...refsA].filter((r) => !refsB.has(r)).sort();
  const removed = [...refsB].filter((r) => !refsA.has(r)).sort();

  const { probes, leftOut, changedFacts } = chooseProbes(engineB, engineA, maxProbes);
  const withPending = [engineB, engineA].some((e) => e.policies().some((p) => p.staged));
  const counts: ImpactCounts = { allowed: 0, denied: 0, pendingAllowed: 0, pendingDenied: 0 };
  const external = externalPeers([engineB, engineA]);
  const perProbe = compared.length === 0
    ? []
    : probes.map((p) => compareProbe(engineB, engineA, p, compared, external, withPending, limit, counts));

  // The first `limit` flows in (from, to, probe) order: each lies within the first `limit` of its own probe.
  const candidates = perProbe.flatMap((pc, k) => pc.listed.map(([i, j, e, p]) => ({ i, j, k, e, p })));
  candidates.sort((x, y) => x.i - y.i || x.j - y.j || x.k - y.k);
  const endOf = (i: number): End => (i < compared.length ? { ref: compared[i]! } : { peer: external[i - compared.length]! });
  const flows = candidates.slice(0, limit).map((c) =>
    explain(engineB, engineA, endOf(c.i), endOf(c.j), perProbe[c.k]!.probe, { enforced: c.e, pending: c.p }));
  const total = perProbe.reduce((s, pc) => s + pc.total, 0);

  return {
    changed: true,
    probes,
    probesLeftOut: leftOut,
    pendingCompared: withPending,
    endpoints: { compared: compared.length, added, removed },
    external: compared.length === 0 ? [] : external.map(externalClass),
    counts,
    flows,
    flowsLeftOut: total - flows.length,
    notes: notesOf(changedFacts, leftOut, maxProbes),
  };
}
