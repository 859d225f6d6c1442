// A packet's kernel verdict (packet-verdicts.ts) as a flow key (flow-record.ts): the reporting end, the two
// endpoints as the engine knows them, the decision and trace the kernel's rule IDs name, and the pending verdict
// — the engine's evaluation with staged policies enforced (§3.6, Calico's audit mode), for the endpoints as they
// are now, when the flow's first packet is read.

import { cidrContains, parseCidr, parseIp } from '../../api/index.js';
import type { Decision, EndVerdict, PolicyEngine, PolicyId, TraceStep } from '../../engine/index.js';
import type { FlowEndpoint, FlowKey, PolicyHit } from './flow-record.js';
import { protocolName } from './packet-headers.js';
import type { KernelHit, PacketVerdict } from './packet-verdicts.js';

export class FlowAttribution {
  constructor(private readonly engine: PolicyEngine) {}

  key(v: PacketVerdict): FlowKey {
    const reporter = v.direction === 'egress' ? 'Src' : 'Dst';
    const p = v.packet;
    const source = this.endpoint(p.src);
    const destination = this.endpoint(p.dst, p.dstPort);
    const local = reporter === 'Src' ? source : destination;
    const localRef = refOf(local);
    const pending = this.pending(v, source, destination, reporter);
    return {
      reporter, protocol: protocolName(p.protocol), source, destination, action: v.action,
      decision: this.decision(v.hits, v.action, localRef, v.direction),
      trace: v.hits.map((h) => this.hit(h, localRef, v.direction)),
      pendingAction: pending?.verdict ?? v.action,
      pendingDecision: pending?.decision ?? null,
      pendingTrace: pending ? stepsToHits(pending.trace) : [],
    };
  }

  /** The endpoint owning `ip`: a workload or host endpoint, else the most specific network set, else `Net`. */
  endpoint(ip: string, port?: number): FlowEndpoint {
    const withPort = port !== undefined ? { port } : {};
    const ep = this.engine.endpointsWithAddress(ip)[0];
    if (ep) {
      return { kind: ep.kind, ...(ep.namespace !== undefined ? { namespace: ep.namespace } : {}), name: ep.name, ip, ...withPort, labels: { ...ep.labels } };
    }
    const addr = parseIp(ip);
    let best: { len: number; set: ReturnType<PolicyEngine['networkSets']>[number] } | undefined;
    if (addr) {
      for (const set of this.engine.networkSets()) {
        for (const text of set.nets) {
          const net = parseCidr(text);
          if (net && net.family === addr.family && cidrContains(net, addr) && (!best || net.prefixLength > best.len)) best = { len: net.prefixLength, set };
        }
      }
    }
    if (best) {
      const s = best.set;
      return { kind: s.kind, ...(s.namespace !== undefined ? { namespace: s.namespace } : {}), name: s.name, ip, ...withPort, labels: { ...s.labels } };
    }
    return { kind: 'Net', ip, ...withPort };
  }

  private decision(hits: readonly KernelHit[], action: 'Allow' | 'Deny', local: string | undefined, dir: 'ingress' | 'egress'): Decision | null {
    const m = hits[hits.length - 1]?.meaning;
    if (!m) return null;
    switch (m.what) {
      case 'policy-rule':
        return { action, tier: m.tier!, kind: m.policy!.kind, policy: m.policy!.ref, rule: m.index! };
      case 'end-of-tier': {
        const first = this.firstPolicy(local, dir, m.tier!);
        return first ? { action, tier: m.tier!, kind: first.id.kind, policy: first.id.ref, rule: -1 } : null;
      }
      case 'profile-rule':
        return { action, profile: m.profile!, rule: m.index! };
      case 'no-profile':
        return { action, profile: '__PROFILE__', rule: -1 };
      default:
        return null;
    }
  }

  private hit(h: KernelHit, local: string | undefined, dir: 'ingress' | 'egress'): PolicyHit {
    const m = h.meaning;
    if (m?.what === 'policy-rule' && m.policy) {
      return {
        kind: m.policy.kind, ...(m.policy.namespace !== undefined ? { namespace: m.policy.namespace } : {}), name: m.policy.name,
        tier: m.tier!, action: h.action, policyIndex: this.firstPolicy(local, dir, m.tier!, m.policy)?.index ?? -1, ruleIndex: m.index!,
      };
    }
    if (m?.what === 'end-of-tier') {
      const first = this.firstPolicy(local, dir, m.tier!);
      return {
        kind: 'EndOfTier', name: m.tier!, tier: m.tier!, action: h.action, policyIndex: -1, ruleIndex: -1,
        ...(first ? { trigger: idOf(first.id) } : {}),
      };
    }
    if (m?.what === 'profile-rule' || m?.what === 'no-profile') {
      return { kind: 'Profile', name: m.profile ?? '__PROFILE__', action: h.action, policyIndex: -1, ruleIndex: m.index ?? -1 };
    }
    // A rule ID the agent no longer knows: the hit is kept, unnamed, so the trace still counts it.
    return { kind: 'Profile', name: `unknown:${h.ruleId}`, action: h.action, policyIndex: -1, ruleIndex: -1 };
  }

  /** The first enforced policy of `tier` for the endpoint (or, with `want`, that policy) and its index. */
  private firstPolicy(local: string | undefined, dir: 'ingress' | 'egress', tier: string, want?: { kind: string; ref: string }): { id: PolicyId; index: number } | undefined {
    if (local === undefined) return undefined;
    const t = this.engine.policiesFor(local)?.[dir].find((x) => x.tier === tier);
    if (!t) return undefined;
    const index = t.policies.findIndex((p) => !p.staged && (!want || (p.id.kind === want.kind && p.id.ref === want.ref)));
    return index < 0 ? undefined : { id: t.policies[index]!.id, index };
  }

  private pending(v: PacketVerdict, source: FlowEndpoint, destination: FlowEndpoint, reporter: 'Src' | 'Dst'): EndVerdict | undefined {
    const p = v.packet;
    const peer = (e: FlowEndpoint) => refOf(e) ?? { ip: e.ip };
    const r = this.engine.evaluate({
      from: peer(source), to: peer(destination), protocol: p.protocol, ipVersion: p.ipVersion,
      ...(p.dstPort !== undefined ? { port: p.dstPort } : {}), ...(p.srcPort !== undefined ? { srcPort: p.srcPort } : {}),
      ...(p.icmpType !== undefined ? { icmp: { type: p.icmpType, ...(p.icmpCode !== undefined ? { code: p.icmpCode } : {}) } } : {}),
    });
    if (!r.ok) return undefined;
    return (reporter === 'Src' ? r.value.pending.egress : r.value.pending.ingress) ?? undefined;
  }
}

/** The engine's reference of a workload or host endpoint (`namespace/name`, `hep:<name>`). */
function refOf(e: FlowEndpoint): string | undefined {
  if (e.kind === 'WorkloadEndpoint') return `${e.namespace}/${e.name}`;
  if (e.kind === 'HostEndpoint') return `hep:${e.name}`;
  return undefined;
}

function idOf(id: PolicyId): { kind: PolicyId['kind']; namespace?: string; name: string } {
  return { kind: id.kind, ...(id.namespace !== undefined ? { namespace: id.namespace } : {}), name: id.name };
}

/** The engine's trace as PolicyHits: the steps that hit (Allow, Deny, Pass, Log), not NoMatch or Skip. */
export function stepsToHits(steps: readonly TraceStep[]): PolicyHit[] {
  const out: PolicyHit[] = [];
  for (const s of steps) {
    if (s.action === 'NoMatch' || s.action === 'Skip') continue;
    if (s.profile !== undefined) {
      out.push({ kind: 'Profile', name: s.profile, action: s.action, policyIndex: -1, ruleIndex: s.rule });
    } else if (s.kind !== undefined && s.policy !== undefined && s.rule >= 0) {
      const slash = s.policy.indexOf('/');
      const ns = slash >= 0 ? { namespace: s.policy.slice(0, slash) } : {};
      out.push({ kind: s.kind, ...ns, name: slash >= 0 ? s.policy.slice(slash + 1) : s.policy, ...(s.tier !== undefined ? { tier: s.tier } : {}),
        action: s.action, policyIndex: -1, ruleIndex: s.rule });
    } else if (s.tier !== undefined) {
      out.push({ kind: 'EndOfTier', name: s.tier, tier: s.tier, action: s.action, policyIndex: -1, ruleIndex: -1 });
    }
  }
  return out;
}
