// HostPath: which evaluations a flow crosses on its way, in packet order, and how their results combine into
// the flow's two ends (§3.7, §3.8; felix/rules/static.go, endpoints.go, endpoint_mgr.go).
//
//   source side (egress end)                             destination side (ingress end)
//   ─────────────────────────                            ──────────────────────────────
//   pod:  pod egress (normal)                            pod:  [node HEP: untracked in, preDNAT in, forward in]
//         + node HEP forward egress when it leaves             + pod ingress (normal)
//           the node                                           (the HEP part only when it arrives from off-node)
//   host: HEP untracked egress, HEP normal egress        host: HEP untracked in, preDNAT in, normal in
//         (failsafe outbound ports first)                      (failsafe inbound ports first)
//
// Special paths: host → its own pod is not policed at all; pod → its own host is the pod's egress and then
// DefaultEndpointToHostAction; host → itself is loopback (not policed). An untracked or pre-DNAT Allow at a host
// endpoint accepts the packet for that host endpoint's later stages (the filter chains accept what raw/mangle
// accepted), but the pod behind it still applies its own policy.
//
// Each end is evaluated as if the packet reached it, so both decisions are reported even when the egress end
// denies. A node's traffic to and from other nodes and outside addresses is taken to use the interface of its
// primary host endpoint: the alphabetically first one with a named interface or expected IPs, else its
// all-interfaces (`*`) host endpoint.
//
// What it does not do: it does not evaluate rules itself (verdict.ts), nor resolve names (the engine does).

import type { IpAddr } from '../api/index.js';
import { cidrContains, parseCidrOrIp } from '../api/index.js';
import type { EndpointModel } from './model.js';
import type { NodeSettings } from './felix-settings.js';
import type { FailsafePort } from './options.js';
import type { EndpointStages } from './policy-resolver.js';
import { ICMPV6, IPIP, UDP, namedPortProtocolOf } from './protocol.js';
import type { Packet } from './rule-match.js';
import { evaluateHook, type HookResult, type Mode, type VerdictView } from './verdict.js';
import type { Decision, Direction, EndVerdict, HostRule, HostRuleDecision, Stage, TraceStep } from './types.js';

export interface PathView extends VerdictView {
  stages(endpoint: EndpointModel): EndpointStages;
  hostEndpointsOn(node: string): EndpointModel[];
  /** The FelixConfiguration settings in force on a node (felix-settings.ts). */
  settings(node: string | undefined): NodeSettings;
}

/** A flow end: an endpoint, or a bare address. */
export type Peer = { endpoint: EndpointModel } | { address: IpAddr };

type Step =
  | { type: 'policy'; endpoint: EndpointModel; stage: Stage; direction: Direction; group?: string; encapCheck?: boolean }
  | { type: 'fixed'; endpoint: EndpointModel; stage: Stage; action: 'Allow' | 'Deny'; hostRule: HostRule; detail: string };

const ROUTER_ICMPV6_TYPES = new Set([130, 131, 132, 133, 135, 136]);

function nodeOf(peer: Peer): string | undefined {
  return 'endpoint' in peer ? peer.endpoint.info.node : undefined;
}

function isHost(peer: Peer): peer is { endpoint: EndpointModel } {
  return 'endpoint' in peer && peer.endpoint.info.kind === 'HostEndpoint';
}

function isWorkload(peer: Peer): peer is { endpoint: EndpointModel } {
  return 'endpoint' in peer && peer.endpoint.info.kind === 'WorkloadEndpoint';
}

function sameNode(a: Peer, b: Peer): boolean {
  const na = nodeOf(a);
  return na !== undefined && na === nodeOf(b);
}

/** The host endpoint a node's off-node traffic crosses (see the header). */
export function primaryHostEndpoint(view: PathView, node: string | undefined): EndpointModel | undefined {
  if (node === undefined) return undefined;
  const heps = view.hostEndpointsOn(node).sort((a, b) => (a.info.name < b.info.name ? -1 : a.info.name > b.info.name ? 1 : 0));
  return heps.find((h) => h.info.interfaceName !== '*') ?? heps[0];
}

function hepIngressSteps(hep: EndpointModel, final: 'normal' | 'forward'): Step[] {
  const group = `in:${hep.key}`;
  return [
    { type: 'policy', endpoint: hep, stage: 'untracked', direction: 'ingress', group },
    { type: 'policy', endpoint: hep, stage: 'preDNAT', direction: 'ingress', group },
    { type: 'policy', endpoint: hep, stage: final, direction: 'ingress', group },
  ];
}

function egressSteps(src: Peer, dst: Peer, packet: Packet, view: PathView): Step[] | null {
  if (!('endpoint' in src)) return null;
  const ep = src.endpoint;
  if (isHost(src)) {
    if (sameNode(src, dst) && isWorkload(dst)) {
      return [{ type: 'fixed', endpoint: ep, stage: 'normal', action: 'Allow', hostRule: 'host-to-local-workload', detail: 'host to its own workload: not policed' }];
    }
    if (sameNode(src, dst) && isHost(dst)) {
      return [{ type: 'fixed', endpoint: ep, stage: 'normal', action: 'Allow', hostRule: 'no-policy', detail: 'host to itself (loopback): not policed' }];
    }
    const group = `out:${ep.key}`;
    return [
      { type: 'policy', endpoint: ep, stage: 'untracked', direction: 'egress', group },
      { type: 'policy', endpoint: ep, stage: 'normal', direction: 'egress', group },
    ];
  }
  if (isHost(dst) && sameNode(src, dst) && isRouterIcmpv6(packet)) {
    return [{ type: 'fixed', endpoint: ep, stage: 'normal', action: 'Allow', hostRule: 'icmpv6-router', detail: `ICMPv6 type ${packet.icmpType} from a workload to its host` }];
  }
  const steps: Step[] = [{ type: 'policy', endpoint: ep, stage: 'normal', direction: 'egress', encapCheck: true }];
  if (!sameNode(src, dst)) {
    const hep = primaryHostEndpoint(view, ep.info.node);
    if (hep) steps.push({ type: 'policy', endpoint: hep, stage: 'forward', direction: 'egress' });
  }
  return steps;
}

function ingressSteps(src: Peer, dst: Peer, packet: Packet, view: PathView): Step[] | null {
  if (!('endpoint' in dst)) return null;
  const ep = dst.endpoint;
  if (isWorkload(dst)) {
    if (isHost(src) && sameNode(src, dst)) {
      return [{ type: 'fixed', endpoint: ep, stage: 'normal', action: 'Allow', hostRule: 'host-to-local-workload', detail: 'host to its own workload: not policed' }];
    }
    const steps: Step[] = [];
    if (!sameNode(src, dst)) {
      const hep = primaryHostEndpoint(view, ep.info.node);
      if (hep) steps.push(...hepIngressSteps(hep, 'forward'));
    }
    steps.push({ type: 'policy', endpoint: ep, stage: 'normal', direction: 'ingress' });
    return steps;
  }
  if (sameNode(src, dst) && isWorkload(src)) {
    if (isRouterIcmpv6(packet)) {
      return [{ type: 'fixed', endpoint: ep, stage: 'normal', action: 'Allow', hostRule: 'icmpv6-router', detail: `ICMPv6 type ${packet.icmpType} from a workload to its host` }];
    }
    // The host's own setting: FelixConfiguration node.<its node> over default.
    const settings = view.settings(ep.info.node);
    const action = settings.defaultEndpointToHostAction;
    return [{
      type: 'fixed', endpoint: ep, stage: 'normal', action: action === 'Drop' ? 'Deny' : 'Allow', hostRule: 'endpoint-to-host',
      detail: `workload to its own host: DefaultEndpointToHostAction ${action}${from(settings, 'defaultEndpointToHostAction')}`,
    }];
  }
  if (sameNode(src, dst) && isHost(src)) {
    return [{ type: 'fixed', endpoint: ep, stage: 'normal', action: 'Allow', hostRule: 'no-policy', detail: 'host to itself (loopback): not policed' }];
  }
  return hepIngressSteps(ep, 'normal');
}

/** ` per FelixConfiguration node.n1` when a setting is not the built-in default: the trace says where it came from. */
function from(settings: NodeSettings, name: keyof NodeSettings['sourceOf']): string {
  const source = settings.sourceOf[name];
  return source === undefined ? '' : ` per ${source}`;
}

function isRouterIcmpv6(packet: Packet): boolean {
  return packet.family === 6 && packet.protocol === ICMPV6 && packet.icmpType !== undefined && ROUTER_ICMPV6_TYPES.has(packet.icmpType);
}

function failsafeMatches(fp: FailsafePort, packet: Packet, port: number | undefined, netAddress: IpAddr | undefined): boolean {
  if (namedPortProtocolOf(packet.protocol) !== fp.protocol || port !== fp.port) return false;
  if (fp.net === undefined) return true;
  const net = parseCidrOrIp(fp.net);
  // An entry of the other family is not rendered in this family's chain.
  if (!net || net.family !== packet.family) return false;
  return netAddress !== undefined && cidrContains(net, netAddress);
}

/** §3.8: failsafe ports, checked before any policy at a host endpoint (not for forwarded traffic). */
function failsafe(stage: Stage, direction: Direction, packet: Packet, options: NodeSettings): string | undefined {
  if (stage === 'forward') return undefined;
  const inbound = options.failsafeInboundHostPorts;
  const outbound = options.failsafeOutboundHostPorts;
  if (direction === 'ingress') {
    for (const fp of inbound) if (failsafeMatches(fp, packet, packet.dstPort, packet.src)) return `inbound ${fp.protocol}:${fp.port}${from(options, 'failsafeInboundHostPorts')}`;
    // In the raw table, replies from outbound failsafe ports are let through too (static.go failsafeInChain).
    if (stage === 'untracked') {
      for (const fp of outbound) if (failsafeMatches(fp, packet, packet.srcPort, packet.src)) return `reply from outbound ${fp.protocol}:${fp.port}${from(options, 'failsafeOutboundHostPorts')}`;
    }
    return undefined;
  }
  for (const fp of outbound) if (failsafeMatches(fp, packet, packet.dstPort, packet.dst)) return `outbound ${fp.protocol}:${fp.port}${from(options, 'failsafeOutboundHostPorts')}`;
  if (stage === 'untracked') {
    for (const fp of inbound) if (failsafeMatches(fp, packet, packet.srcPort, packet.dst)) return `reply from inbound ${fp.protocol}:${fp.port}${from(options, 'failsafeInboundHostPorts')}`;
  }
  return undefined;
}

/** §3.3: a workload's egress chain drops VXLAN and IP-in-IP it originates, before any policy. */
function workloadEncap(packet: Packet, options: NodeSettings): string | undefined {
  if (!options.allowVXLANPacketsFromWorkloads && packet.protocol === UDP && packet.dstPort === options.vxlanPort) {
    return `VXLAN (UDP ${options.vxlanPort}) from a workload`;
  }
  if (!options.allowIPIPPacketsFromWorkloads && packet.protocol === IPIP) return 'IP-in-IP from a workload';
  return undefined;
}

function runStep(step: Step, packet: Packet, mode: Mode, view: PathView): HookResult {
  // The settings of the node the step runs on (a workload's or a host endpoint's own node).
  const options = view.settings(step.endpoint.info.node);
  const ref = step.endpoint.info.ref;
  const fixed = (action: 'Allow' | 'Deny', hostRule: HostRule, detail: string): HookResult => ({
    outcome: action,
    decision: { action, hostRule, rule: -1, detail },
    trace: [{ endpoint: ref, stage: step.stage, hostRule, action, rule: -1, note: detail }],
  });
  if (step.type === 'fixed') return fixed(step.action, step.hostRule, step.detail);
  if (step.encapCheck) {
    const encap = workloadEncap(packet, options);
    if (encap) return fixed('Deny', 'workload-encap', encap);
  }
  const isHep = step.endpoint.info.kind === 'HostEndpoint';
  if (isHep && step.stage === 'untracked' && step.endpoint.info.interfaceName === '*') {
    // endpoint_mgr.go: doNotTrack policy on an all-interfaces host endpoint is not supported and ignored.
    return {
      outcome: 'Fallthrough',
      trace: [{ endpoint: ref, stage: step.stage, action: 'Skip', rule: -1, note: 'untracked policy is ignored on an all-interfaces (*) host endpoint' }],
    };
  }
  if (isHep) {
    const fs = failsafe(step.stage, step.direction, packet, options);
    if (fs && step.stage === 'normal') return fixed('Allow', 'failsafe', `failsafe ${fs}`);
    if (fs) {
      // A raw or mangle failsafe rule accepts the packet for that table only (no accept mark): its policies are
      // skipped, and the filter table polices the packet again.
      return {
        outcome: 'Fallthrough',
        trace: [{ endpoint: ref, stage: step.stage, hostRule: 'failsafe', action: 'Allow', rule: -1, note: `failsafe ${fs}: accepted by this table only` }],
      };
    }
  }
  const stages = view.stages(step.endpoint);
  const tiers = stages[step.stage]?.[step.direction] ?? [];
  return evaluateHook(
    { endpoint: ref, stage: step.stage, direction: step.direction, tiers, profiles: step.endpoint.info.profiles, packet, mode },
    view,
  );
}

function annotate(decision: Decision, step: Step, endRef: string): Decision {
  const otherStage = step.stage !== 'normal';
  const otherEndpoint = step.endpoint.info.ref !== endRef;
  if (!otherStage && !otherEndpoint) return decision;
  const out: Decision = { ...decision };
  if (otherStage) out.stage = step.stage;
  if (otherEndpoint) out.endpoint = step.endpoint.info.ref;
  return out;
}

function evaluateEnd(endRef: string, steps: Step[], packet: Packet, mode: Mode, view: PathView): EndVerdict {
  const trace: TraceStep[] = [];
  let own: Decision | undefined;
  let last: Decision | undefined;
  let acceptedGroup: string | undefined;
  for (const step of steps) {
    if (step.type === 'policy' && step.group !== undefined && step.group === acceptedGroup) {
      trace.push({ endpoint: step.endpoint.info.ref, stage: step.stage, action: 'Skip', rule: -1, note: 'already accepted at an earlier stage of this host endpoint' });
      continue;
    }
    const result = runStep(step, packet, mode, view);
    trace.push(...result.trace);
    if (result.outcome === 'Fallthrough') continue;
    const decision = annotate(result.decision!, step, endRef);
    if (result.outcome === 'Deny') return { endpoint: endRef, verdict: 'Deny', decision, trace };
    last = decision;
    if (step.endpoint.info.ref === endRef) own = decision;
    if (step.type === 'policy' && (step.stage === 'untracked' || step.stage === 'preDNAT')) acceptedGroup = step.group;
  }
  const decision: Decision = own ?? last ?? ({ action: 'Allow', hostRule: 'no-policy', rule: -1, detail: 'nothing polices this end' } satisfies HostRuleDecision);
  return { endpoint: endRef, verdict: 'Allow', decision, trace };
}

function hasStaged(steps: readonly Step[], view: PathView): boolean {
  for (const step of steps) {
    if (step.type !== 'policy') continue;
    const tiers = view.stages(step.endpoint)[step.stage]?.[step.direction] ?? [];
    if (tiers.some((t) => t.policies.some((p) => p.staged))) return true;
  }
  return false;
}

export interface PathVerdicts {
  enforced: { egress: EndVerdict | null; ingress: EndVerdict | null };
  /** With staged policies enforced (§3.6); the same objects as `enforced` where no staged policy is on the path. */
  pending: { egress: EndVerdict | null; ingress: EndVerdict | null };
}

/** Both ends of one flow, enforced and pending. */
export function evaluatePath(src: Peer, dst: Peer, packet: Packet, view: PathView): PathVerdicts {
  const ends = [
    { ref: 'endpoint' in src ? src.endpoint.info.ref : undefined, steps: egressSteps(src, dst, packet, view) },
    { ref: 'endpoint' in dst ? dst.endpoint.info.ref : undefined, steps: ingressSteps(src, dst, packet, view) },
  ].map(({ ref, steps }) => {
    if (!steps || ref === undefined) return { enforced: null, pending: null };
    const enforced = evaluateEnd(ref, steps, packet, 'enforced', view);
    const pending = hasStaged(steps, view) ? evaluateEnd(ref, steps, packet, 'pending', view) : enforced;
    return { enforced, pending };
  });
  return {
    enforced: { egress: ends[0]!.enforced, ingress: ends[1]!.enforced },
    pending: { egress: ends[0]!.pending, ingress: ends[1]!.pending },
  };
}
