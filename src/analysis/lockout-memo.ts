// Verdicts of a host endpoint's flows with bare addresses (outside classes, other nodes), remembered by what the
// host endpoint's rules can tell apart — so 100 nodes under the same policies, each probed from 2,500 outside
// classes and 99 other nodes, cost one evaluation per distinguishable case, not one per (node, peer).
//
// Why it is exact: a flow between a host endpoint and an address no endpoint's evaluation runs for is decided
// by the host endpoint's own stages alone (host-path.ts: untracked, preDNAT and normal, failsafe ports first).
// What those read of the packet's addresses is the rules' nets / notNets, the IP sets and named-port IP sets
// they name, and the failsafe nets — nothing else. So two flows whose host endpoints have the same policies per
// stage, the same profiles and the same node settings (the signature: the failsafe ports are the node's own),
// with the same flow (protocol, port, direction) and whose peer and own addresses fall in the same of those nets
// and sets, have the same verdict. Only the verdict is shared; the decision and trace a report shows are
// evaluated for the one flow shown (they name the endpoint).

import { parseCidrOrIp, parseIp, type IpAddr, type IpNet } from '../api/index.js';
import type { CompiledRule, EndpointInfo, PolicyEngine, Verdict } from '../engine/index.js';
import type { CriticalFlow } from './lockout-flows.js';

interface Relevant {
  /** Small: keys are built per peer, and a signature's JSON is kilobytes. */
  id: number;
  /** The nets as written (canonical CIDRs), beside their parsed form. */
  netTexts: string[];
  nets: IpNet[];
  ipSets: string[];
  namedPortSets: string[];
}

const BITS = { 4: 32n, 6: 128n } as const;

function contains(net: IpNet, ip: IpAddr): boolean {
  if (net.family !== ip.family) return false;
  const size = 1n << (BITS[net.family] - BigInt(net.prefixLength));
  return ip.value >= net.network && ip.value < net.network + size;
}

export class HostVerdictMemo {
  private readonly relevant = new Map<string, Relevant>();
  private readonly bySignature = new Map<string, Relevant>();
  private readonly verdicts = new Map<string, Verdict>();
  /** Address projections (nets and IP sets; not named ports, which depend on the flow) per signature, interned. */
  private readonly projections = new Map<string, number>();
  private readonly projectionIds = new Map<string, number>();

  constructor(private readonly engine: PolicyEngine) {}

  private relevantFor(hep: EndpointInfo): Relevant {
    const cached = this.relevant.get(hep.ref);
    if (cached) return cached;
    const stages = this.engine.stagesFor(hep.ref) ?? {};
    // The node's own FelixConfiguration settings (failsafe ports) decide too: part of the signature.
    const { sourceOf: _sources, ...settings } = this.engine.nodeSettings(hep.node);
    const signature = JSON.stringify([stages, hep.profiles, settings]);
    let rel = this.bySignature.get(signature);
    if (!rel) {
      const nets = new Map<string, IpNet>();
      const ipSets = new Set<string>();
      const namedPortSets = new Set<string>();
      const addNet = (text: string): void => {
        const net = parseCidrOrIp(text);
        if (net) nets.set(text, net);
      };
      const addRule = (rule: CompiledRule): void => {
        for (const e of [rule.src, rule.dst]) {
          for (const c of [...e.nets, ...e.notNets]) addNet(c);
          for (const id of [...e.ipSets, ...e.notIpSets]) ipSets.add(id);
          for (const id of [...e.namedPortIpSets, ...e.notNamedPortIpSets]) namedPortSets.add(id);
        }
      };
      for (const directional of Object.values(stages)) {
        for (const tier of [...directional.ingress, ...directional.egress]) {
          for (const applied of tier.policies) {
            const policy = this.engine.policy(applied.id);
            if (policy) for (const rule of [...policy.rules.ingress, ...policy.rules.egress]) addRule(rule);
          }
        }
      }
      for (const name of hep.profiles) {
        const profile = this.engine.profile(name);
        for (const rule of [...profile.rules.ingress, ...profile.rules.egress]) addRule(rule);
      }
      for (const fp of [...settings.failsafeInboundHostPorts, ...settings.failsafeOutboundHostPorts]) if (fp.net !== undefined) addNet(fp.net);
      rel = { id: this.bySignature.size, netTexts: [...nets.keys()], nets: [...nets.values()], ipSets: [...ipSets].sort(), namedPortSets: [...namedPortSets].sort() };
      this.bySignature.set(signature, rel);
    }
    this.relevant.set(hep.ref, rel);
    return rel;
  }

  /** The nets and IP sets a host endpoint's rules (and the failsafe nets) read of the peer's address. */
  relevantTo(hep: EndpointInfo): { nets: readonly string[]; ipSets: readonly string[] } {
    const rel = this.relevantFor(hep);
    return { nets: rel.netTexts, ipSets: rel.ipSets };
  }

  private project(rel: Relevant, ip: IpAddr | undefined, flow: CriticalFlow): string {
    if (!ip) return '-';
    const at = `${rel.id}:${ip.family}:${ip.value}`;
    let id = this.projections.get(at);
    if (id === undefined) {
      let bits = '';
      for (const net of rel.nets) bits += contains(net, ip) ? '1' : '0';
      bits += '|';
      for (const set of rel.ipSets) bits += this.engine.containsAddress(set, ip) ? '1' : '0';
      id = this.projectionIds.get(bits) ?? this.projectionIds.size;
      this.projectionIds.set(bits, id);
      this.projections.set(at, id);
    }
    if (rel.namedPortSets.length === 0) return String(id);
    const protocol = flow.protocol.toLowerCase();
    let named = '';
    for (const set of rel.namedPortSets) named += this.engine.containsIpPort(set, ip, protocol, flow.port) ? '1' : '0';
    return `${id}/${named}`;
  }

  /**
   * What decides a host endpoint's flows with bare addresses, apart from the peer: its signature and its own
   * addresses' projections. Two host endpoints with the same key decide every such flow alike.
   */
  hostKey(hep: EndpointInfo, flow: CriticalFlow): string {
    const rel = this.relevantFor(hep);
    return `${rel.id}:${hep.ips.map((t) => this.project(rel, parseIp(t), flow)).join(',')}`;
  }

  /**
   * The verdict of `flow` between `hep` and the bare address `peer`; `evaluate` runs the engine when this case has
   * not been decided yet (undefined: the flow cannot be formed, e.g. no common family — not remembered).
   */
  verdict(hep: EndpointInfo, flow: CriticalFlow, peer: string, evaluate: () => Verdict | undefined): Verdict | undefined {
    const ip = parseIp(peer);
    if (!ip) return evaluate();
    const rel = this.relevantFor(hep);
    const own = hep.ips.map(parseIp).find((a): a is IpAddr => a !== undefined && a.family === ip.family);
    const key = `${rel.id}|${flow.direction}/${flow.protocol}/${flow.port}|${this.project(rel, ip, flow)}|${this.project(rel, own, flow)}`;
    const known = this.verdicts.get(key);
    if (known !== undefined) return known;
    const v = evaluate();
    if (v !== undefined) this.verdicts.set(key, v);
    return v;
  }
}
