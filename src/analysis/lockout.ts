// The lockout check (issue 17 §4): does a change cut a host's critical flows? For every node with a host endpoint
// (before or after the change), every interface its host endpoints govern and every critical flow
// (lockout-flows.ts), the engine decides the flow with its full host path — failsafe ports first, then the
// untracked (doNotTrack), pre-DNAT and normal stages, applyOnForward policies on the forwarded leg to a pod,
// DefaultEndpointToHostAction for the node's own pods — on both resource sets, and reports each flow allowed
// before and denied after, with the rule that now denies it and the trace.
//
// Who talks to the host, in groups (a group is open when any of its members gets through):
//   * outside: one representative address of every outside class the policies of either side tell apart
//     (external-peers.ts; failsafe `net` entries are classes too). Restricting SSH to an admin network is not a
//     lockout — the admin network still gets in — but denying it from every class is.
//   * each other node, at its host endpoints' expectedIPs: losing one kubelet, etcd peer or BGP session is a cut.
//     Inbound, only the node's own ingress end is judged (the other node's egress is its own outbound flow).
//   * the node's own workloads (inbound): the part the host decides, DefaultEndpointToHostAction (§3.7); a pod's
//     own egress policy is the pod's business, not a host lockout.
//   * the cluster DNS pods (k8s-app=kube-dns), for outbound DNS, when the input has them.
// An interface is what its host endpoint names (`eth0`), `*` (all others), or the host endpoint itself when it
// names only expectedIPs; the host endpoint that governs an interface on one side is the one naming it, else the
// node's `*` one, else none (unpoliced: allowed).
//
// Not modelled: replies (a doNotTrack egress allow whose replies no untracked ingress rule allows still counts as
// open), staged policies (enforced verdicts only), source ports. Pure: no I/O.

import { effectiveFelixConfiguration, formatProtoPort, type ProtoPort, type Resource } from '../api/index.js';
import {
  PolicyEngine,
  type Decision,
  type EndVerdict,
  type EndpointInfo,
  type EngineOptions,
  type FailsafePort,
  type Flow,
  type FlowPeer,
  type TraceStep,
  type Verdict,
} from '../engine/index.js';
import { externalPeers } from './external-peers.js';
import { criticalFlows, mergeFlows, type CriticalFlow } from './lockout-flows.js';

export interface LockoutOptions {
  /** The flows to check (default: criticalFlows(), Tabby's defaults). */
  flows?: readonly CriticalFlow[];
  /**
   * Read each side's FelixConfigurations (`default`, `node.<name>`): every node is evaluated with its own failsafe
   * ports and DefaultEndpointToHostAction, and the failsafe ports they list become critical flows too.
   */
  felixConfiguration?: boolean;
  /** The FelixConfiguration settings a node is evaluated with, per side (default: `engine` for every node). */
  engineOptionsFor?: (resources: readonly Resource[], node: string) => EngineOptions;
  /** The settings when neither felixConfiguration nor engineOptionsFor applies. */
  engine?: EngineOptions;
}

const isFelixConfiguration = (r: Resource): boolean => r.kind === 'FelixConfiguration';

function failsafePort(p: ProtoPort): FailsafePort {
  // Felix's ProtoPort protocol defaults to TCP.
  const protocol = (p.protocol ?? 'TCP').toLowerCase() as FailsafePort['protocol'];
  return p.net !== undefined ? { protocol, port: p.port, net: p.net } : { protocol, port: p.port };
}

/** The engine settings a node's effective FelixConfiguration gives (src/api/felix-configuration.ts). */
export function felixEngineOptions(resources: readonly Resource[], node: string): EngineOptions {
  const fc = effectiveFelixConfiguration(resources, node);
  return {
    failsafeInboundHostPorts: fc.failsafeInboundHostPorts.value.map(failsafePort),
    failsafeOutboundHostPorts: fc.failsafeOutboundHostPorts.value.map(failsafePort),
    defaultEndpointToHostAction: fc.defaultEndpointToHostAction.value,
    allowVXLANPacketsFromWorkloads: fc.allowVXLANPacketsFromWorkloads.value,
    allowIPIPPacketsFromWorkloads: fc.allowIPIPPacketsFromWorkloads.value,
    vxlanPort: fc.vxlanPort.value,
  };
}

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

/** One side: its resources and an engine per distinct option set (most clusters: one). */
class Side {
  private readonly engines = new Map<string, PolicyEngine>();
  private base: PolicyEngine | undefined;

  constructor(readonly resources: readonly Resource[], private readonly options: LockoutOptions, base?: PolicyEngine) {
    this.base = base;
  }

  engineFor(node: string): PolicyEngine {
    // Without a FelixConfiguration on this side its nodes run on the defaults: one engine for all.
    const perNode = this.options.engineOptionsFor ??
      (this.options.felixConfiguration && this.resources.some(isFelixConfiguration) ? felixEngineOptions : undefined);
    if (!perNode) return (this.base ??= this.load(this.options.engine ?? {}));
    const opts = perNode(this.resources, node);
    const key = JSON.stringify(opts);
    let engine = this.engines.get(key);
    if (!engine) this.engines.set(key, (engine = this.load(opts)));
    return engine;
  }

  /** An engine for reading endpoints (which do not depend on options). */
  any(): PolicyEngine {
    return this.base ?? this.engines.values().next().value ?? this.engineFor('');
  }

  private load(opts: EngineOptions): PolicyEngine {
    const engine = new PolicyEngine(opts);
    engine.load(this.resources);
    return engine;
  }
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
  members: FlowPeer[];
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
    groups.push({ key: 'outside', kind: 'outside', label: 'outside (every outside address class)', members: [...outside], hostEndOnly: false });
  }
  const endpoints = side.any().endpoints();
  const others = new Map<string, string[]>();
  for (const e of endpoints) {
    if (e.kind !== 'HostEndpoint' || e.node === undefined || e.node === node) continue;
    others.set(e.node, [...(others.get(e.node) ?? []), ...e.ips]);
  }
  for (const [other, ips] of [...others].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const unique = [...new Set(ips)];
    if (unique.length === 0) continue;
    groups.push({
      key: `node:${other}`, kind: 'node', label: `node ${other} (${unique.join(', ')})`,
      members: unique.map((ip) => ({ ip })), hostEndOnly: flow.direction === 'inbound',
    });
  }
  if (flow.direction === 'inbound') {
    // DefaultEndpointToHostAction is the same for every pod of the node: one pod stands for all.
    const pod = endpoints.find((e) => e.kind === 'WorkloadEndpoint' && e.node === node);
    if (pod) groups.push({ key: 'workloads', kind: 'workloads', label: `the node's workloads (e.g. ${pod.ref})`, members: [pod.ref], hostEndOnly: true });
  } else if (flow.name === 'DNS' && flow.port === 53) {
    const dns = endpoints.filter((e) => e.kind === 'WorkloadEndpoint' && e.labels['k8s-app'] === 'kube-dns');
    if (dns.length > 0) groups.push({ key: 'dns-pods', kind: 'dns-pods', label: 'the cluster DNS pods (k8s-app=kube-dns)', members: dns.map((d) => d.ref), hostEndOnly: false });
  }
  return groups;
}

/** The status of every (node, interface, flow, peer group) on one side, keyed for comparison. */
function statuses(side: Side, other: Side, flows: readonly CriticalFlow[], nodes: readonly string[]): Map<string, CriticalFlowStatus> {
  const out = new Map<string, CriticalFlowStatus>();
  const outsideCache = new Map<string, FlowPeer[]>();
  for (const node of nodes) {
    const engine = side.engineFor(node);
    const hepsHere = engine.endpoints().filter((e) => e.kind === 'HostEndpoint' && e.node === node);
    const hepsThere = other.any().endpoints().filter((e) => e.kind === 'HostEndpoint' && e.node === node);
    const interfaces = [...new Set([...hepsHere, ...hepsThere].map(interfaceKey))].sort();
    const families = familiesOf([...hepsHere, ...hepsThere]);
    const famKey = `${families.join(',')}|${node}`;
    let outside = outsideCache.get(famKey);
    if (!outside) {
      // Both sides' classes, so before and after are compared on the same addresses.
      outside = externalPeers([engine, other.engineFor(node)], families).map((p) => ({ ip: p.address }));
      outsideCache.set(famKey, outside);
    }
    for (const iface of interfaces) {
      const hep = governing(hepsHere, iface);
      for (const flow of flows) {
        for (const group of groupsFor(side, node, flow, outside)) {
          const key = `${node}\u0000${iface}\u0000${flow.direction}/${flow.protocol}/${flow.port}\u0000${group.key}`;
          const base = { node, interface: iface, hostEndpoint: hep?.ref ?? null, flow, peerKind: group.kind, peer: group.label };
          if (!hep) {
            const member = peerText(group.members[0]!);
            const [from, to] = flow.direction === 'inbound' ? [member, `node ${node}`] : [`node ${node}`, member];
            out.set(key, { ...base, verdict: 'Allow', from, to, decision: UNPOLICED, trace: [] });
            continue;
          }
          let first: Member | undefined;
          let open: Member | undefined;
          for (const peer of group.members) {
            const m = evaluateMember(engine, hep, flow, peer, group.hostEndOnly);
            if (!m) continue;
            first ??= m;
            if (m.verdict === 'Allow') {
              open = m;
              break;
            }
          }
          const shown = open ?? first;
          if (!shown) continue;
          out.set(key, { ...base, verdict: shown.verdict, from: shown.from, to: shown.to, decision: shown.decision, trace: shown.trace });
        }
      }
    }
  }
  return out;
}

function nodesWithHostEndpoints(...sides: Side[]): string[] {
  const nodes = new Set<string>();
  for (const s of sides) for (const e of s.any().endpoints()) if (e.kind === 'HostEndpoint' && e.node !== undefined) nodes.add(e.node);
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
    if (old.verdict !== 'Allow' || cur.verdict !== 'Deny') continue;
    // The member that got through before, decided again on the after side, names the rule that now stops it.
    const again = redecide(a, old, cur);
    cut.push({
      node: old.node, interface: old.interface, hostEndpoint: cur.hostEndpoint, flow: old.flow, peerKind: old.peerKind,
      peer: old.peer, from: again.from, to: again.to,
      before: { verdict: 'Allow', decision: old.decision },
      after: { verdict: 'Deny', decision: again.decision, trace: again.trace },
    });
  }
  return { nodes, flows, checked, cut };
}

function redecide(after: Side, old: CriticalFlowStatus, cur: CriticalFlowStatus): Member {
  if (cur.hostEndpoint === null) return cur;
  const engine = after.engineFor(old.node);
  const hep = engine.endpoint(cur.hostEndpoint);
  const inbound = old.flow.direction === 'inbound';
  const peer = inbound ? old.from : old.to;
  if (!hep) return cur;
  const asPeer: FlowPeer = engine.endpoint(peer) ? peer : { ip: peer };
  const hostEndOnly = (old.peerKind === 'node' || old.peerKind === 'workloads') && inbound;
  const m = evaluateMember(engine, hep, old.flow, asPeer, hostEndOnly);
  return m && m.verdict === 'Deny' ? m : cur;
}

/**
 * The critical flows already cut in one resource set (what `tabby lint` warns about): every (node, interface,
 * flow, peer group) that no member gets through. `engine` is reused when the options are uniform.
 */
export function cutCriticalFlows(resources: readonly Resource[], options: LockoutOptions = {}, engine?: PolicyEngine): CriticalFlowStatus[] {
  const flows = flowsFor(options, [resources]);
  if (!resources.some(isHostEndpoint)) return [];
  const side = new Side(resources, options, engine);
  const nodes = nodesWithHostEndpoints(side);
  return [...statuses(side, side, flows, nodes).values()].filter((s) => s.verdict === 'Deny');
}
