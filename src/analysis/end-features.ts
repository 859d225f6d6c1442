// Ends: one endpoint's side of a flow — the source's egress or the destination's ingress — with everything the
// engine evaluates for it on the way (§3.7, §3.8: for a workload, its own hook and, when its node's host
// endpoint polices forwarded traffic, that host endpoint's stages; for a host endpoint, its stages and failsafe
// ports). An end's verdict depends on:
//
//   its signature   the ordered tiers and policies of its hooks and its profiles' rules (by content, so every
//                   kns.<ns> profile is the same); a host endpoint is its own signature
//   its features    which features (address-classes.ts) of its own and the peer's address the rules on its
//                   path read: the IP sets, named-port sets and CIDRs they reference, and failsafe CIDRs
//   the peer's      family, kind and port, and whether the two ends are on one node
//
// The features are split by the address they are asked of. Every hook on a flow's path sees the flow's source
// as the packet's source, so a rule's `source` features read the source end's address and its `destination`
// features the destination's: for an egress end, `own` = the source sides of its rules and `peer` = their
// destination sides; for an ingress end the other way round. Host endpoint stages and failsafe CIDRs go into
// both (a conservative superset). Two ends with the same signature see only their features, so the matrix keys
// each end's verdicts by the projection of its own class onto `own` and of the peer's class onto `peer`: a
// policy of 1,500 rules naming 1,500 peers by /32 still puts every end that applies it in one group.
//
// What it does not do: evaluate (the engine does, in matrix.ts).

import type { AppliedTier, CompiledRule, Direction, EndpointInfo, PolicyEngine, Stage } from '../engine/index.js';
import { STAGES } from '../engine/index.js';
import type { FeatureIndex } from './address-classes.js';

export type Mode = 'enforced' | 'pending';

export interface EndModel {
  /** Interned signature. */
  signature: number;
  direction: Direction;
  /** Sorted feature numbers the end's rules read of its own address. */
  own: readonly number[];
  /** Sorted feature numbers the end's rules read of the peer's address. */
  peer: readonly number[];
}

/** The stages a host endpoint adds to forwarded workload traffic (§3.8); the normal stage is the host's own. */
const FORWARD_PATH_STAGES: ReadonlyArray<[Stage, Direction]> = [
  ['untracked', 'ingress'], ['untracked', 'egress'], ['preDNAT', 'ingress'], ['forward', 'ingress'], ['forward', 'egress'],
];

/**
 * Nodes whose host endpoints police forwarded workload traffic: any of them has an untracked, pre-DNAT or
 * applyOnForward policy. Elsewhere a host endpoint lets workload traffic through untouched (the stages it adds
 * are empty), so a workload's node matters only on these nodes; a conservative superset, checked against the
 * engine by the property test.
 */
export function policedNodes(engine: PolicyEngine): Set<string> {
  const policed = new Set<string>();
  for (const ep of engine.endpoints()) {
    if (ep.kind !== 'HostEndpoint' || ep.node === undefined) continue;
    const stages = engine.stagesFor(ep.ref) ?? {};
    if (FORWARD_PATH_STAGES.some(([stage, dir]) => (stages[stage]?.[dir].length ?? 0) > 0)) policed.add(ep.node);
  }
  return policed;
}

export class EndModels {
  private readonly bySignature = new Map<string, EndModel>();
  private readonly profileContent = new Map<string, number>();
  private readonly profileIds = new Map<string, number>();
  private readonly cache = new Map<string, EndModel>();
  private readonly hostsByNode = new Map<string, EndpointInfo[]>();
  private readonly policed: Set<string>;
  private readonly failsafeCidrs: string[];

  constructor(private readonly engine: PolicyEngine, private readonly index: FeatureIndex, private readonly mode: Mode) {
    for (const ep of engine.endpoints()) {
      if (ep.kind !== 'HostEndpoint' || ep.node === undefined) continue;
      const list = this.hostsByNode.get(ep.node) ?? [];
      list.push(ep);
      this.hostsByNode.set(ep.node, list);
    }
    this.policed = policedNodes(engine);
    this.failsafeCidrs = failsafeCidrs(engine);
  }

  /** Whether a workload on this node has host endpoint stages on its path. */
  isPoliced(node: string | undefined): boolean {
    return node !== undefined && this.policed.has(node);
  }

  of(info: EndpointInfo, direction: Direction): EndModel {
    const cacheKey = `${info.ref}\u0000${direction}`;
    const hit = this.cache.get(cacheKey);
    if (hit) return hit;
    // The signature first (policy ids, profile contents): the features are read once per signature, not once per
    // endpoint — 2,000 endpoints applying the same 60,000 rules read them once.
    let text: string;
    let tiers: readonly AppliedTier[] = [];
    const node = info.kind === 'WorkloadEndpoint' && this.isPoliced(info.node) ? info.node! : '';
    if (info.kind === 'HostEndpoint') {
      text = `host|${direction}|${info.ref}`;
    } else {
      tiers = this.engine.policiesFor(info.ref)?.[direction] ?? [];
      const tierText = tiers.map((t) => `${t.tier}:${t.defaultAction}:` + t.policies
        // Staged policies are skipped when enforcing (§3.6): they change nothing then.
        .filter((p) => this.mode === 'pending' || !p.staged)
        .map((p) => `${p.id.kind}|${p.id.namespace ?? ''}|${p.id.name}`).join(',')).join(';');
      const profiles = info.profiles.map((name) => this.profileId(name, direction));
      // The workload's node's encapsulation checks (§3.3) are part of its egress path: FelixConfiguration is per node.
      const s = this.engine.nodeSettings(info.node);
      const encap = direction === 'egress' ? `${s.allowVXLANPacketsFromWorkloads}:${s.vxlanPort}:${s.allowIPIPPacketsFromWorkloads}` : '';
      text = `workload|${direction}|${tierText}#${profiles.join(',')}@${node}~${encap}`;
    }
    let model = this.bySignature.get(text);
    if (!model) {
      const own = new Set<number>();
      const peer = new Set<number>();
      // Egress: the endpoint is the packet's source; ingress: its destination.
      const addRule = (rule: CompiledRule): void => {
        this.index.entityFeatures(direction === 'egress' ? rule.src : rule.dst, own);
        this.index.entityFeatures(direction === 'egress' ? rule.dst : rule.src, peer);
      };
      const addHost = (host: EndpointInfo): void => {
        this.hostFeatures(host, own);
        this.hostFeatures(host, peer);
      };
      if (info.kind === 'HostEndpoint') addHost(info);
      else {
        for (const t of tiers) {
          for (const p of t.policies) {
            if (this.mode === 'pending' || !p.staged) for (const rule of this.engine.policy(p.id)?.rules[direction] ?? []) addRule(rule);
          }
        }
        for (const name of info.profiles) for (const rule of this.engine.profile(name).rules[direction]) addRule(rule);
        if (node !== '') for (const host of this.hostsByNode.get(node) ?? []) addHost(host);
      }
      const sorted = (xs: Set<number>): number[] => [...xs].sort((a, b) => a - b);
      model = { signature: this.bySignature.size, direction, own: sorted(own), peer: sorted(peer) };
      this.bySignature.set(text, model);
    }
    this.cache.set(cacheKey, model);
    return model;
  }

  /** Profiles with the same rules (every `kns.<ns>` of unlabelled namespaces) share an id. */
  private profileId(name: string, direction: Direction): number {
    const key = `${name}\u0000${direction}`;
    let id = this.profileIds.get(key);
    if (id === undefined) {
      const content = JSON.stringify(this.engine.profile(name).rules[direction]);
      id = this.profileContent.get(content);
      if (id === undefined) this.profileContent.set(content, (id = this.profileContent.size));
      this.profileIds.set(key, id);
    }
    return id;
  }

  get signatureCount(): number {
    return this.bySignature.size;
  }

  /** Everything a host endpoint's stages read, both directions, and the failsafe CIDRs checked before them. */
  private hostFeatures(host: EndpointInfo, out: Set<number>): void {
    const stages = this.engine.stagesFor(host.ref) ?? {};
    for (const stage of STAGES) {
      for (const direction of ['ingress', 'egress'] as const) {
        for (const tier of stages[stage]?.[direction] ?? []) {
          for (const p of tier.policies) for (const rule of this.rulesOf(this.engine.policy(p.id)?.rules)) this.index.ruleFeatures(rule, out);
        }
      }
    }
    for (const name of host.profiles) for (const rule of this.rulesOf(this.engine.profile(name).rules)) this.index.ruleFeatures(rule, out);
    for (const c of this.failsafeCidrs) this.index.cidrFeatureInto(c, out);
  }

  private rulesOf(rules: { ingress: CompiledRule[]; egress: CompiledRule[] } | undefined): CompiledRule[] {
    return rules ? [...rules.ingress, ...rules.egress] : [];
  }
}

/**
 * The source / destination CIDRs of failsafe entries (§3.8): features of the hosts' ends. Failsafes are per node
 * (FelixConfiguration node.<name>), so this is every host endpoint's node's, a superset for each.
 */
export function failsafeCidrs(engine: PolicyEngine): string[] {
  const nodes = new Set<string | undefined>([undefined]);
  for (const e of engine.endpoints()) if (e.kind === 'HostEndpoint') nodes.add(e.node);
  const out = new Set<string>();
  for (const node of nodes) {
    const s = engine.nodeSettings(node);
    for (const fp of [...s.failsafeInboundHostPorts, ...s.failsafeOutboundHostPorts]) if (fp.net !== undefined) out.add(fp.net);
  }
  return [...out];
}
