// The lockout check (issue 17 §4): does a change cut a host's critical flows? For every node with a host endpoint
// (before or after the change), every interface its host endpoints govern and every critical flow
// (lockout-flows.ts), the engine decides the flow with its full host path — failsafe ports first, then the
// untracked (doNotTrack), pre-DNAT and normal stages, applyOnForward policies on the forwarded leg to a pod,
// DefaultEndpointToHostAction for the node's own pods — on both resource sets, and reports each flow allowed
// before and denied after, with the rule that now denies it and the trace.
//
// Who talks to the host, in groups (a group is open when any of its members gets through):
//   * outside: one representative address of every outside class the host endpoints' rules of either side tell
//     apart (outsideClasses; failsafe `net` entries are classes too). Restricting SSH to an admin network is not a
//     lockout — the admin network still gets in — but denying it from every class is.
//   * the other nodes, at their host endpoints' expectedIPs, one verdict per node: losing one kubelet, etcd peer
//     or BGP session is a cut. Inbound, only the node's own ingress end is judged (the other node's egress is its
//     own outbound flow).
// Each node is evaluated with its own FelixConfiguration (the engine applies `node.<name>` over `default`).
//   * the node's own workloads (inbound): the part the host decides, DefaultEndpointToHostAction (§3.7); a pod's
//     own egress policy is the pod's business, not a host lockout.
//   * the cluster DNS pods (k8s-app=kube-dns), for outbound DNS, when the input has them.
// An interface is what its host endpoint names (`eth0`), `*` (all others), or the host endpoint itself when it
// names only expectedIPs; the host endpoint that governs an interface on one side is the one naming it, else the
// node's `*` one, else none (unpoliced: allowed).
//
// Not modelled: replies (a doNotTrack egress allow whose replies no untracked ingress rule allows still counts as
// open), staged policies (enforced verdicts only), source ports. Pure: no I/O.

import { formatProtoPort, type ProtoPort, type Resource } from '../api/index.js';
import {
  PolicyEngine,
  type Decision,
  type EndVerdict,
  type EndpointInfo,
  type EngineOptions,
  type Flow,
  type FlowPeer,
  type TraceStep,
  type Verdict,
} from '../engine/index.js';
import { externalPeersOf } from './external-peers.js';
import { criticalFlows, mergeFlows, type CriticalFlow } from './lockout-flows.js';
import { HostVerdictMemo } from './lockout-memo.js';

export interface LockoutOptions {
  /** The flows to check (default: criticalFlows(), Tabby's defaults). */
  flows?: readonly CriticalFlow[];
  /**
   * The failsafe ports the FelixConfigurations of either side list become critical flows too. (Each node is
   * always evaluated with its own FelixConfiguration, `node.<name>` over `default`: the engine applies them.)
   */
  felixConfiguration?: boolean;
  /** Engine options: they override the FelixConfigurations, as `tabby agent` flags do. */
  engine?: EngineOptions;
}

const isFelixConfiguration = (r: Resource): boolean => r.kind === 'FelixConfiguration';

/** The failsafe ports FelixConfigurations list (not the built-in ones): the user's own critical flows. */
function felixListedFlows(sides: ReadonlyArray<readonly Resource[]>): CriticalFlow[] {
  const out: CriticalFlow[] = [];
  for (const resources of sides) {
    for (const r of resources) {
      if (!isFelixConfiguration(r)) continue;
      const spec = (r as { spec?: { failsafeInboundHostPorts?: ProtoPort[]; failsafeOutboundHostPorts?: ProtoPort[] } }).spec ?? {};
      const origin = `FelixConfiguration ${r.metadata.name}`;
      for (const [list, direction] of [[spec.failsafeInboundHostPorts, 'inbound'], [spec.failsafeOutboundHostPorts, 'outbound']] as const) {
        for (const p of list ?? []) {
          out.push({ name: `failsafe ${formatProtoPort(p)}`, direction, protocol: p.protocol ?? 'TCP', port: p.port, origin });
        }
      }
    }
  }
  return out;
}

function flowsFor(options: LockoutOptions, sides: ReadonlyArray<readonly Resource[]>): CriticalFlow[] {
  const base = options.flows ? [...options.flows] : criticalFlows();
  return options.felixConfiguration ? mergeFlows(base, felixListedFlows(sides)) : base;
}

export type LockoutPeerKind = 'outside' | 'node' | 'workloads' | 'dns-pods';

/** Which flow of which node, interface and peer group a status or finding is about. */
export interface CriticalFlowPlace {
  node: string;
  /** `eth0`, `*` (every interface no host endpoint names), or `hep:<name>` for an expectedIPs-only endpoint. */
  interface: string;
  /** The host endpoint governing the interface (after the change, for a finding); null when none does (not policed). */
  hostEndpoint: string | null;
  flow: CriticalFlow;
  peerKind: LockoutPeerKind;
  /** `outside (every outside address class)`, `node n2 (172.31.0.3)`, `the node's workloads (e.g. ns/pod)`, … */
  peer: string;
  /** For the `node` group: the other nodes the status or finding is about (denied, or cut), by name. */
  peerNodes?: string[];
  /** The member flow shown: the one that got through (before, for a finding), or the first tried when none did. */
  from: string;
  to: string;
}

/** One critical flow of one node's interface, decided on one side. */
export interface CriticalFlowStatus extends CriticalFlowPlace {
  verdict: Verdict;
  /** The deciding step of the end that decided (the host's end for host rules). */
  decision: Decision;
  trace: TraceStep[];
}

/** A critical flow the change cuts: allowed before, denied after. */
export interface LockoutFinding extends CriticalFlowPlace {
  before: { verdict: 'Allow'; decision: Decision };
  after: { verdict: 'Deny'; decision: Decision; trace: TraceStep[] };
}

export interface LockoutReport {
  /** Nodes with a host endpoint on either side, sorted. */
  nodes: string[];
  flows: CriticalFlow[];
  /** (node, interface, flow, peer group) compared on both sides. */
  checked: number;
  cut: LockoutFinding[];
}

const UNPOLICED: Decision = { action: 'Allow', hostRule: 'no-policy', rule: -1, detail: 'no host endpoint: the host is not policed' };

/** One side: its resources and its engine (which applies each node's FelixConfiguration itself). */
class Side {
  private engine: PolicyEngine | undefined;

  constructor(
    readonly resources: readonly Resource[], private readonly options: LockoutOptions, base?: PolicyEngine, endpoints?: readonly EndpointInfo[],
  ) {
    this.engine = base;
    this.listed = endpoints;
  }

  get policy(): PolicyEngine {
    if (!this.engine) {
      this.engine = new PolicyEngine(this.options.engine ?? {});
      this.engine.load(this.resources);
    }
    return this.engine;
  }

  private index: EndpointIndex | undefined;
  private listed: readonly EndpointInfo[] | undefined;

  /** Every endpoint, once (or as the caller already listed them). */
  list(): readonly EndpointInfo[] {
    return (this.listed ??= this.policy.endpoints());
  }

  /** The endpoints the check reads, indexed once (engine.endpoints() builds every endpoint's info afresh). */
  endpoints(): EndpointIndex {
    if (this.index) return this.index;
    const index: EndpointIndex = { hosts: new Map(), nodePeers: [], firstPod: new Map(), dnsPods: [] };
    for (const e of this.list()) {
      if (e.node === undefined) continue;
      if (e.kind === 'HostEndpoint') index.hosts.set(e.node, [...(index.hosts.get(e.node) ?? []), e]);
      else if (!index.firstPod.has(e.node)) index.firstPod.set(e.node, e);
      if (e.kind === 'WorkloadEndpoint' && e.labels['k8s-app'] === 'kube-dns') index.dnsPods.push(e);
    }
    for (const [node, heps] of [...index.hosts].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const ips = [...new Set(heps.flatMap((h) => h.ips))];
      if (ips.length > 0) index.nodePeers.push({ node, label: `node ${node} (${ips.join(', ')})`, members: ips.map((ip) => ({ ip })) });
    }
    return (this.index = index);
  }
}

interface EndpointIndex {
  /** Host endpoints by node. */
  hosts: Map<string, EndpointInfo[]>;
  /** Each node with addresses (its host endpoints' expectedIPs), sorted by node: the peers of the other nodes. */
  nodePeers: Array<{ node: string; label: string; members: FlowPeer[] }>;
  /** One workload per node (DefaultEndpointToHostAction is the same for all of them). */
  firstPod: Map<string, EndpointInfo>;
  dnsPods: EndpointInfo[];
}

function byName(a: EndpointInfo, b: EndpointInfo): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function interfaceKey(hep: EndpointInfo): string {
  return hep.interfaceName ?? hep.ref;
}

/** The host endpoint governing an interface: the one naming it, else the node's `*` one (header). */
function governing(heps: readonly EndpointInfo[], iface: string): EndpointInfo | undefined {
  const exact = heps.filter((h) => interfaceKey(h) === iface).sort(byName)[0];
  if (exact) return exact;
  if (iface.startsWith('hep:')) return undefined;
  return heps.filter((h) => h.interfaceName === '*').sort(byName)[0];
}

function familiesOf(heps: readonly EndpointInfo[]): Array<4 | 6> {
  const fams = new Set<4 | 6>();
  for (const h of heps) for (const ip of h.ips) fams.add(ip.includes(':') ? 6 : 4);
  return fams.size === 0 ? [4] : [...fams].sort();
}

interface Group {
  key: string;
  kind: LockoutPeerKind;
  label: string;
  /** The other end of each member flow. */
  members: readonly FlowPeer[];
  /** Judge only the host's end (inbound from a node or a local pod). */
  hostEndOnly: boolean;
}

function peerText(p: FlowPeer): string {
  return typeof p === 'string' ? p : p.ip;
}

interface Member {
  verdict: Verdict;
  from: string;
  to: string;
  decision: Decision;
  trace: TraceStep[];
}

function evaluateMember(engine: PolicyEngine, hep: EndpointInfo, flow: CriticalFlow, peer: FlowPeer, hostEndOnly: boolean): Member | undefined {
  const inbound = flow.direction === 'inbound';
  const f: Flow = { from: inbound ? peer : hep.ref, to: inbound ? hep.ref : peer, protocol: flow.protocol, port: flow.port };
  const result = engine.evaluate(f);
  if (!result.ok) return undefined; // no common family: this member cannot carry the flow
  const v = result.value;
  const hostEnd = inbound ? v.ingress : v.egress;
  const ends = hostEndOnly ? [hostEnd] : [v.egress, v.ingress];
  const denying = ends.find((e): e is EndVerdict => e !== null && e.verdict === 'Deny');
  const deciding = denying ?? hostEnd!;
  return {
    verdict: denying ? 'Deny' : 'Allow',
    from: peerText(f.from),
    to: peerText(f.to),
    decision: deciding.decision,
    trace: ends.flatMap((e) => (e ? e.trace : [])),
  };
}

function groupsFor(side: Side, node: string, flow: CriticalFlow, outside: readonly FlowPeer[]): Group[] {
  const groups: Group[] = [];
  if (outside.length > 0) {
    groups.push({ key: 'outside', kind: 'outside', label: 'outside (every outside address class)', members: outside, hostEndOnly: false });
  }
  const index = side.endpoints();
  if (index.nodePeers.some((p) => p.node !== node)) {
    // Each other node is a peer of its own (statuses keeps one verdict per node): no members here.
    groups.push({ key: 'nodes', kind: 'node', label: 'other nodes', members: [], hostEndOnly: flow.direction === 'inbound' });
  }
  if (flow.direction === 'inbound') {
    // DefaultEndpointToHostAction is the same for every pod of the node: one pod stands for all.
    const pod = index.firstPod.get(node);
    if (pod) groups.push({ key: 'workloads', kind: 'workloads', label: `the node's workloads (e.g. ${pod.ref})`, members: [pod.ref], hostEndOnly: true });
  } else if (flow.name === 'DNS' && flow.port === 53) {
    const dns = index.dnsPods;
    if (dns.length > 0) groups.push({ key: 'dns-pods', kind: 'dns-pods', label: 'the cluster DNS pods (k8s-app=kube-dns)', members: dns.map((d) => d.ref), hostEndOnly: false });
  }
  return groups;
}

interface GroupVerdict {
  verdict: Verdict;
  /** The member that got through, or the first one that could carry the flow; undefined when none could. */
  shown: FlowPeer | undefined;
}

/** Open when any member gets through (the header). */
function decideGroup(members: readonly FlowPeer[], decide: (peer: FlowPeer) => Verdict | undefined): GroupVerdict {
  let out: GroupVerdict = { verdict: 'Deny', shown: undefined };
  for (const peer of members) {
    const v = decide(peer);
    if (v === undefined) continue;
    if (v === 'Allow') return { verdict: 'Allow', shown: peer };
    if (out.shown === undefined) out = { verdict: v, shown: peer };
  }
  return out;
}

/** The other nodes' verdicts, by node: the member each was decided on, and whether it got through. */
interface NodeVerdicts {
  peers: Map<string, { label: string; peer: FlowPeer; verdict: Verdict }>;
}

/** A status whose decision and trace are evaluated only when reported (most statuses are only compared). */
interface LazyStatus extends CriticalFlowPlace {
  verdict: Verdict;
  /** For the `node` group: each other node's verdict. */
  nodes?: NodeVerdicts;
  /** The member shown (or `peer`), decided in full. */
  resolve(peer?: FlowPeer): Member;
}

const MAX_NAMED_NODES = 3;

/** `node n2 (172.31.0.3)`, or `3 other nodes: n2 (…), n3 (…), n4 (…)`, `… and 96 more`. */
function nodesLabel(labels: readonly string[]): string {
  if (labels.length === 1) return `node ${labels[0]}`;
  const more = labels.length > MAX_NAMED_NODES ? ` and ${labels.length - MAX_NAMED_NODES} more` : '';
  return `${labels.length} other nodes: ${labels.slice(0, MAX_NAMED_NODES).join(', ')}${more}`;
}

/**
 * One representative of every outside class the host endpoints of both sides can tell apart: the nets their rules
 * and the failsafe ports name, and the network-set nets in the IP sets their rules name (lockout-memo.ts says why
 * nothing else matters). Both sides' classes, so before and after are compared on the same addresses; far fewer
 * than all the cluster's classes (the lint bench: 2,515 there, a handful here).
 */
function outsideClasses(sides: ReadonlyArray<readonly [Side, PolicyEngine, HostVerdictMemo]>, families: ReadonlyArray<4 | 6>): FlowPeer[] {
  const owned = new Set<string>();
  for (const [side] of sides) for (const e of side.list()) for (const ip of e.ips) owned.add(ip);
  const cidrs: Array<[string, string]> = [];
  for (const [side, engine, memo] of sides) {
    for (const heps of side.endpoints().hosts.values()) {
      for (const hep of heps) {
        const { nets, ipSets } = memo.relevantTo(hep);
        for (const net of nets) cidrs.push([net, hep.ref]);
        for (const id of ipSets) {
          for (const member of engine.ipSetMembers(id) ?? []) {
            // Endpoint addresses are never outside; a network set's nets are.
            const address = member.replace(/\/(32|128)$/, '');
            if (!owned.has(address)) cidrs.push([member, `IP set ${id}`]);
          }
        }
      }
    }
  }
  return externalPeersOf(cidrs, owned, families).map((p) => ({ ip: p.address }));
}

/** The status of every (node, interface, flow, peer group) on one side, keyed for comparison. */
function statuses(side: Side, other: Side, flows: readonly CriticalFlow[], nodes: readonly string[]): Map<string, LazyStatus> {
  const out = new Map<string, LazyStatus>();
  const outsideCache = new Map<string, FlowPeer[]>();
  const engine = side.policy;
  const otherEngine = other.policy;
  const memo = new HostVerdictMemo(engine);
  const otherMemo = other === side ? memo : new HostVerdictMemo(otherEngine);
  // Host endpoints with the same host key decide alike towards bare addresses (lockout-memo.ts): the outside
  // group and the vector over every node's addresses are computed once per key.
  const outsideVerdicts = new Map<string, GroupVerdict>();
  const nodeVectors = new Map<string, GroupVerdict[]>();
  const nodePeers = side.endpoints().nodePeers;
  for (const node of nodes) {
    const hepsHere = side.endpoints().hosts.get(node) ?? [];
    const hepsThere = other.endpoints().hosts.get(node) ?? [];
    const interfaces = [...new Set([...hepsHere, ...hepsThere].map(interfaceKey))].sort();
    const families = familiesOf([...hepsHere, ...hepsThere]);
    const cacheKey = families.join(',');
    let outside = outsideCache.get(cacheKey);
    if (!outside) {
      outside = outsideClasses([[side, engine, memo], [other, otherEngine, otherMemo]], families);
      outsideCache.set(cacheKey, outside);
    }
    for (const iface of interfaces) {
      const hep = governing(hepsHere, iface);
      for (const flow of flows) {
        const flowKey = `${flow.direction}/${flow.protocol}/${flow.port}`;
        for (const group of groupsFor(side, node, flow, outside)) {
          const key = `${node}\u0000${iface}\u0000${flowKey}\u0000${group.key}`;
          const inbound = flow.direction === 'inbound';
          const place = (peer: FlowPeer | undefined, label: string) => {
            const p = peer === undefined ? '' : peerText(peer);
            const host = hep?.ref ?? `node ${node}`;
            return {
              node, interface: iface, hostEndpoint: hep?.ref ?? null, flow, peerKind: group.kind, peer: label,
              from: inbound ? p : host, to: inbound ? host : p,
            };
          };
          const others = group.kind === 'node' ? nodePeers.filter((p) => p.node !== node) : [];
          if (!hep) {
            const first = group.kind === 'node' ? others[0]!.members[0]! : group.members[0]!;
            const base = place(first, group.kind === 'node' ? nodesLabel(others.map((o) => o.label.slice('node '.length))) : group.label);
            const unpoliced = (peer?: FlowPeer): Member => {
              const p = place(peer ?? first, base.peer);
              return { verdict: 'Allow', from: p.from, to: p.to, decision: UNPOLICED, trace: [] };
            };
            const status: LazyStatus = { ...base, verdict: 'Allow', resolve: unpoliced };
            if (group.kind === 'node') {
              status.nodes = { peers: new Map(others.map((o) => [o.node, { label: o.label, peer: o.members[0]!, verdict: 'Allow' as Verdict }])) };
            }
            out.set(key, status);
            continue;
          }
          const decide = (peer: FlowPeer): Verdict | undefined => {
            const full = () => evaluateMember(engine, hep, flow, peer, group.hostEndOnly)?.verdict;
            // Bare addresses are decided by the host endpoint alone: remembered by what its rules tell apart.
            return typeof peer === 'string' ? full() : memo.verdict(hep, flow, peer.ip, full);
          };
          const resolve = (peer: FlowPeer): Member => evaluateMember(engine, hep, flow, peer, group.hostEndOnly)!;
          if (group.kind === 'node') {
            const vectorKey = `${flowKey}|${group.hostEndOnly}|${memo.hostKey(hep, flow)}`;
            let vector = nodeVectors.get(vectorKey);
            if (!vector) nodeVectors.set(vectorKey, (vector = nodePeers.map((p) => decideGroup(p.members, decide))));
            const peers = new Map<string, { label: string; peer: FlowPeer; verdict: Verdict }>();
            nodePeers.forEach((p, i) => {
              const v = vector![i]!;
              if (p.node !== node && v.shown !== undefined) peers.set(p.node, { label: p.label, peer: v.shown, verdict: v.verdict });
            });
            const denied = [...peers.values()].filter((p) => p.verdict === 'Deny');
            const shown = denied[0] ?? [...peers.values()][0];
            if (!shown) continue;
            const label = nodesLabel((denied.length > 0 ? denied : [...peers.values()]).map((p) => p.label.slice('node '.length)));
            out.set(key, {
              ...place(shown.peer, label), verdict: denied.length > 0 ? 'Deny' : 'Allow', nodes: { peers },
              resolve: (peer) => resolve(peer ?? shown.peer),
            });
            continue;
          }
          // The outside group is the same list for every node on these engines: decided once per host key.
          const groupKey = group.kind === 'outside' ? `${flowKey}|${memo.hostKey(hep, flow)}` : undefined;
          let found = groupKey === undefined ? undefined : outsideVerdicts.get(groupKey);
          if (!found) {
            found = decideGroup(group.members, decide);
            if (groupKey !== undefined) outsideVerdicts.set(groupKey, found);
          }
          const member = found.shown;
          if (!member) continue;
          let resolved: Member | undefined;
          out.set(key, {
            ...place(member, group.label), verdict: found.verdict,
            resolve: (peer) => (peer !== undefined ? resolve(peer) : (resolved ??= resolve(member))),
          });
        }
      }
    }
  }
  return out;
}

function materialize(s: LazyStatus): CriticalFlowStatus {
  const m = s.resolve();
  return {
    node: s.node, interface: s.interface, hostEndpoint: s.hostEndpoint, flow: s.flow, peerKind: s.peerKind, peer: s.peer,
    ...(s.nodes && { peerNodes: [...s.nodes.peers].filter(([, p]) => p.verdict === s.verdict).map(([n]) => n) }),
    from: s.from, to: s.to, verdict: s.verdict, decision: m.decision, trace: m.trace,
  };
}

function nodesWithHostEndpoints(...sides: Side[]): string[] {
  const nodes = new Set<string>();
  for (const s of sides) for (const node of s.endpoints().hosts.keys()) nodes.add(node);
  return [...nodes].sort();
}

const isHostEndpoint = (r: Resource): boolean => r.kind === 'HostEndpoint';

/** The critical flows the change from `before` to `after` cuts (see the header). */
export function lockoutCheck(before: readonly Resource[], after: readonly Resource[], options: LockoutOptions = {}): LockoutReport {
  const flows = flowsFor(options, [before, after]);
  // No host endpoint on either side: no host is policed, nothing to build engines for.
  if (!before.some(isHostEndpoint) && !after.some(isHostEndpoint)) return { nodes: [], flows, checked: 0, cut: [] };
  const b = new Side(before, options);
  const a = new Side(after, options);
  const nodes = nodesWithHostEndpoints(b, a);
  const was = statuses(b, a, flows, nodes);
  const now = statuses(a, b, flows, nodes);
  const cut: LockoutFinding[] = [];
  let checked = 0;
  for (const [key, old] of was) {
    const cur = now.get(key);
    if (!cur) continue;
    checked++;
    if (old.nodes && cur.nodes) {
      // Per node: those that got through before and not after.
      const lost = [...old.nodes.peers].filter(([n, p]) => p.verdict === 'Allow' && cur.nodes!.peers.get(n)?.verdict === 'Deny');
      if (lost.length === 0) continue;
      const [, was0] = lost[0]!;
      const now0 = cur.nodes.peers.get(lost[0]![0])!;
      const after = cur.resolve(now0.peer);
      cut.push({
        node: old.node, interface: old.interface, hostEndpoint: cur.hostEndpoint, flow: old.flow, peerKind: 'node',
        peer: nodesLabel(lost.map(([n]) => cur.nodes!.peers.get(n)!.label.slice('node '.length))), peerNodes: lost.map(([n]) => n),
        from: after.from, to: after.to,
        before: { verdict: 'Allow', decision: old.resolve(was0.peer).decision },
        after: { verdict: 'Deny', decision: after.decision, trace: after.trace },
      });
      continue;
    }
    if (old.verdict !== 'Allow' || cur.verdict !== 'Deny') continue;
    // The member that got through before, decided again on the after side, names the rule that now stops it.
    const again = redecide(a, old, cur);
    cut.push({
      node: old.node, interface: old.interface, hostEndpoint: cur.hostEndpoint, flow: old.flow, peerKind: old.peerKind,
      peer: old.peer, from: again.from, to: again.to,
      before: { verdict: 'Allow', decision: old.resolve().decision },
      after: { verdict: 'Deny', decision: again.decision, trace: again.trace },
    });
  }
  return { nodes, flows, checked, cut };
}

function redecide(after: Side, old: LazyStatus, cur: LazyStatus): Member {
  const fallback = (): Member => cur.resolve();
  if (cur.hostEndpoint === null) return fallback();
  const engine = after.policy;
  const inbound = old.flow.direction === 'inbound';
  const peer = inbound ? old.from : old.to;
  const asPeer: FlowPeer = engine.endpoint(peer) ? peer : { ip: peer };
  const m = cur.resolve(asPeer);
  return m && m.verdict === 'Deny' ? m : fallback();
}

/**
 * The critical flows already cut in one resource set (what `tabby lint` warns about): every (node, interface,
 * flow, peer group) that no member gets through, and every other node that does not get through. `engine` is
 * reused when the options are uniform.
 */
export function cutCriticalFlows(
  resources: readonly Resource[], options: LockoutOptions = {}, engine?: PolicyEngine, endpoints?: readonly EndpointInfo[],
): CriticalFlowStatus[] {
  const flows = flowsFor(options, [resources]);
  if (!resources.some(isHostEndpoint)) return [];
  const side = new Side(resources, options, engine, engine ? endpoints : undefined);
  const nodes = nodesWithHostEndpoints(side);
  return [...statuses(side, side, flows, nodes).values()].filter((s) => s.verdict === 'Deny').map(materialize);
}
