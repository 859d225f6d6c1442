// The chains of the node's own host endpoints (calico-semantics.md §3.8, dataplane.md §1.11–1.12, §5.7):
//
//   in-hep    iifname vmap @hep-in     → goto hni-<iface>  (traffic to the host itself: normal ingress)
//   out-hep   oifname vmap @hep-out    → goto hne-<iface>  (traffic from the host itself: normal egress)
//   fwd-hep-in  iifname vmap @hepfw-in  → goto hfi-<iface> (forwarded, arriving on it: applyOnForward ingress)
//   fwd-hep-out oifname vmap @hepfw-out → goto hfe-<iface> (forwarded, leaving on it: applyOnForward egress)
//   each then `goto *-any`, which holds `goto h…​.all` while an all-interfaces (`*`) host endpoint exists.
//
//   hni-/hne-: ct established,related accept · ct invalid drop · jump failsafe-in/-out (Felix failsafeInChain,
//              before any policy) · jump thn…-<tier> per tier · jump ri-/re-<profile> per profile · drop
//              ("no profile matched": a host endpoint with no policy and no profile drops all but failsafe).
//   hfi-/hfe-: ct established,related accept · ct invalid drop · jump thf…-<tier> per tier; no profiles, no final
//              drop, no failsafes; written (and dispatched to) only when an applyOnForward policy applies — "if no
//              forward policy applies, forwarded traffic is allowed". A named interface whose forward, preDNAT or
//              untracked stage has no policy still gets its map element, a bare `accept`, so the `*` endpoint's
//              chain of that stage never polices an interface a named endpoint owns.
//
// Which host endpoint governs an interface (endpoint_mgr.go resolveHostEndpoints, calico-semantics.md §3.8): the
// endpoints naming it, and those with no interface name whose expectedIPs include an address the interface holds
// (the node's interfaces and addresses come from the agent, setInterfaces); the alphabetically first ref wins. The
// all-interfaces endpoint likewise. An endpoint with expectedIPs that no interface holds governs nothing (Felix
// leaves it unresolved). Workload interfaces (cali*) and lo never take a host endpoint (the dispatch accepts them
// first, skeleton.ts).

import { formatIp, isInterfaceName, parseIp } from '../../api/index.js';
import type { DirectionalPolicies, EndpointInfo, EndpointRef, FailsafePort } from '../../engine/index.js';
import type { Chain } from '../nft/index.js';
import { policyKey, type FeedState } from './feed-state.js';
import {
  CHAIN_FAILSAFE_IN, CHAIN_FAILSAFE_OUT, CHAIN_FAILSAFE_RAW_IN, CHAIN_FAILSAFE_RAW_OUT, CHAIN_HEP_IN_ANY, CHAIN_HEP_OUT_ANY,
  CHAIN_HEP_PRE_ANY, CHAIN_HEP_RAW_IN_ANY, CHAIN_HEP_RAW_OUT_ANY, CHAIN_HEPFW_IN_ANY, CHAIN_HEPFW_OUT_ANY, HEP_ACCEPT_MARK,
  MAP_HEP_PRE, MAP_HEP_RAW_IN, MAP_HEP_RAW_OUT, WORKLOAD_IFACE_PREFIX,
  hostEndpointChain, hostTierChain, MAP_HEP_IN, MAP_HEP_OUT, MAP_HEPFW_IN, MAP_HEPFW_OUT, profileChain, type Dir, type HostStage,
} from './names.js';
import type { Settings } from './options.js';
import type { RuleWriter } from './policy-rules.js';
import { kindRef, policyRef, type RuleIds } from './rule-ids.js';
import type { Ruleset } from './ruleset.js';
import { emptyBody, type ChainBody, type SetReferences } from './set-references.js';
import { sharedPolicyChain, type SharedChains, type SharedSource } from './shared-chains.js';
import type { Verdicts } from './verdicts.js';

const DIRS: readonly Dir[] = ['egress', 'ingress'];

export interface LocalHostEndpoint {
  info: EndpointInfo;
  normal: DirectionalPolicies;
  forward: DirectionalPolicies;
  preDNAT: DirectionalPolicies;
  untracked: DirectionalPolicies;
}

const STAGES: readonly HostStage[] = ['untracked', 'preDNAT', 'normal', 'forward'];

interface Services {
  opts: Settings;
  feed: FeedState;
  ruleset: Ruleset;
  refs: SetReferences;
  shared: SharedChains;
  writer: RuleWriter;
  ids: RuleIds;
  verdicts: Verdicts;
}

/** What one governing interface ("*" for all) holds and uses, to undo it when it changes. */
interface InterfaceUse {
  ref: EndpointRef;
  own: Set<string>;
  shared: Map<string, SharedSource>;
  policies: Set<string>;
  /** Dispatch map → the verdict of this interface's element: `goto <chain>`, or `accept` for a stage it owns empty. */
  maps: Array<{ map: string; verdict: string }>;
}

// preDNAT has no egress (§3.8: egress rules are ignored); its entries are never used.
const ANY: Record<HostStage, Record<Dir, string>> = {
  normal: { ingress: CHAIN_HEP_IN_ANY, egress: CHAIN_HEP_OUT_ANY },
  forward: { ingress: CHAIN_HEPFW_IN_ANY, egress: CHAIN_HEPFW_OUT_ANY },
  preDNAT: { ingress: CHAIN_HEP_PRE_ANY, egress: '' },
  untracked: { ingress: CHAIN_HEP_RAW_IN_ANY, egress: CHAIN_HEP_RAW_OUT_ANY },
};
const MAP: Record<HostStage, Record<Dir, string>> = {
  normal: { ingress: MAP_HEP_IN, egress: MAP_HEP_OUT },
  forward: { ingress: MAP_HEPFW_IN, egress: MAP_HEPFW_OUT },
  preDNAT: { ingress: MAP_HEP_PRE, egress: '' },
  untracked: { ingress: MAP_HEP_RAW_IN, egress: MAP_HEP_RAW_OUT },
};
const SET_MARK = `meta mark set meta mark or ${HEP_ACCEPT_MARK}`;
const CLEAR_MARK = `meta mark set meta mark and 0xfffeffff`;

/** One failsafe entry as nft matches: `ip saddr 10.0.0.0/8 tcp dport 22` (the CIDR on the remote side). */
function failsafeMatch(fp: FailsafePort, remote: 'saddr' | 'daddr'): string {
  const port = `${fp.protocol} dport ${fp.port}`;
  if (fp.net === undefined) return port;
  return `${fp.net.includes(':') ? 'ip6' : 'ip'} ${remote} ${fp.net} ${port}`;
}

export class HostEndpointChains {
  private readonly endpoints = new Map<EndpointRef, LocalHostEndpoint>();
  /** Governing interface ('*' = all) → what is rendered for it. */
  private readonly uses = new Map<string, InterfaceUse>();
  private readonly policyUsers = new Map<string, Set<string>>();
  private readonly chainOwner = new Map<string, string>();
  /** The node's interfaces (not lo, not cali*) → their addresses, canonical: for endpoints given by expectedIPs. */
  private interfaces = new Map<string, Set<string>>();
  private dirty = false;

  constructor(private readonly s: Services) {
    this.renderFailsafes();
  }

  has(ref: EndpointRef): boolean {
    return this.endpoints.has(ref);
  }

  set(ref: EndpointRef, ep: LocalHostEndpoint | undefined): void {
    if (ep) this.endpoints.set(ref, ep);
    else this.endpoints.delete(ref);
    this.dirty = true;
  }

  policyChanged(key: string): void {
    if (this.policyUsers.get(key)?.size) this.dirty = true;
  }

  chainChanged(name: string): boolean {
    if (!this.chainOwner.has(name)) return false;
    this.dirty = true;
    return true;
  }

  /** The failsafe chains, from the settings (FailsafeInboundHostPorts / FailsafeOutboundHostPorts); again when they change. */
  renderFailsafes(): void {
    const { opts, ids, ruleset } = this.s;
    const chain = (name: string, ports: readonly FailsafePort[], remote: 'saddr' | 'daddr', dir: 'inbound' | 'outbound'): void => {
      ruleset.setChain({ type: 'chain', name }, ports.map((fp) => {
        const label = `failsafe ${dir} ${fp.protocol}:${fp.port}${fp.net ? ` from ${fp.net}` : ''}`;
        return ids.rule(name, `${failsafeMatch(fp, remote)} counter accept`, { what: 'failsafe', action: 'Allow', label }, `fs|${dir}|${fp.protocol}|${fp.port}|${fp.net ?? ''}`);
      }));
    };
    chain(CHAIN_FAILSAFE_IN, opts.failsafeInboundHostPorts, 'saddr', 'inbound');
    chain(CHAIN_FAILSAFE_OUT, opts.failsafeOutboundHostPorts, 'daddr', 'outbound');
    // The raw table runs before conntrack: a reply is not "established" there, so the raw copies also accept the
    // replies of the other direction's failsafe flows by source port (static.go failsafeInChain, §1.11).
    const reverse = (fp: FailsafePort, remote: 'saddr' | 'daddr'): string => failsafeMatch(fp, remote).replace(' dport ', ' sport ');
    const raw = (name: string, own: readonly FailsafePort[], other: readonly FailsafePort[], remote: 'saddr' | 'daddr', dir: 'inbound' | 'outbound'): void => {
      ruleset.setChain({ type: 'chain', name }, [
        ...own.map((fp) => ids.rule(name, `${failsafeMatch(fp, remote)} counter accept`,
          { what: 'failsafe', action: 'Allow', label: `failsafe ${dir} ${fp.protocol}:${fp.port}${fp.net ? ` from ${fp.net}` : ''}` },
          `fs|${dir}|${fp.protocol}|${fp.port}|${fp.net ?? ''}`)),
        ...other.map((fp) => ids.rule(name, `${reverse(fp, remote)} counter accept`,
          { what: 'failsafe', action: 'Allow', label: `failsafe ${dir} reply from ${fp.protocol}:${fp.port}` },
          `fs-rev|${dir}|${fp.protocol}|${fp.port}|${fp.net ?? ''}`)),
      ]);
    };
    raw(CHAIN_FAILSAFE_RAW_IN, opts.failsafeInboundHostPorts, opts.failsafeOutboundHostPorts, 'saddr', 'inbound');
    raw(CHAIN_FAILSAFE_RAW_OUT, opts.failsafeOutboundHostPorts, opts.failsafeInboundHostPorts, 'daddr', 'outbound');
  }

  /**
   * The node's interfaces and their addresses. Marks the host endpoints for re-rendering only when an endpoint
   * without an interface name could be affected and the interfaces or addresses changed.
   */
  setInterfaces(interfaces: ReadonlyMap<string, readonly string[]>): void {
    const next = new Map<string, Set<string>>();
    for (const [iface, addresses] of interfaces) {
      // Names are quoted into map elements: only those a stored interfaceName may be.
      if (iface === 'lo' || iface.startsWith(WORKLOAD_IFACE_PREFIX) || !isInterfaceName(iface)) continue;
      next.set(iface, new Set(addresses.flatMap((a) => {
        const ip = parseIp(a);
        return ip ? [formatIp(ip)] : [];
      })));
    }
    const same = next.size === this.interfaces.size && [...next].every(([i, as]) => {
      const had = this.interfaces.get(i);
      return had !== undefined && had.size === as.size && [...as].every((a) => had.has(a));
    });
    if (same) return;
    this.interfaces = next;
    if ([...this.endpoints.values()].some((ep) => !ep.info.interfaceName)) this.dirty = true;
  }

  /** The governing endpoint of each interface: the lowest ref among those naming it or holding its address. */
  private governing(): Map<string, EndpointRef> {
    const out = new Map<string, EndpointRef>();
    for (const ref of [...this.endpoints.keys()].sort()) {
      const info = this.endpoints.get(ref)!.info;
      const ifaces = info.interfaceName ? [info.interfaceName]
        : [...this.interfaces].filter(([, addresses]) => info.ips.some((ip) => addresses.has(ip))).map(([iface]) => iface);
      for (const iface of ifaces) if (!out.has(iface)) out.set(iface, ref);
    }
    return out;
  }

  render(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const { ruleset, refs, shared } = this.s;
    const next = new Map<string, InterfaceUse>();
    const written: Array<{ chain: Chain; body: ChainBody }> = [];
    for (const [iface, ref] of this.governing()) {
      const ep = this.endpoints.get(ref)!;
      const use: InterfaceUse = { ref, own: new Set(), shared: new Map(), policies: new Set(), maps: [] };
      for (const stage of STAGES) {
        for (const dir of DIRS) written.push(...this.stageChains(ep, iface, stage, dir, use));
      }
      next.set(iface, use);
    }
    // Shared chains first (acquire before release, so a chain kept across the change is never removed).
    for (const use of next.values()) for (const [name, source] of use.shared) shared.acquire(name, source);
    for (const { chain, body } of written) refs.writeChain(chain, body);
    const anyRules: Record<string, string | undefined> = {};
    for (const [iface, use] of next) {
      for (const { map, verdict } of use.maps) {
        if (iface === '*') anyRules[map] = verdict;
        else ruleset.setMapElement(map, `"${iface}"`, verdict);
      }
    }
    for (const stage of STAGES) {
      for (const dir of DIRS) {
        if (ANY[stage][dir] === '') continue;
        const target = anyRules[MAP[stage][dir]];
        const name = ANY[stage][dir];
        ruleset.setChain({ type: 'chain', name }, target === undefined ? [] : [
          this.s.ids.rule(name, `counter ${target}`, { what: 'dispatch', direction: dir, label: 'all-interfaces host endpoint' }, `hep-any|${stage}|${dir}`),
        ]);
      }
    }
    // Undo what the previous rendering had and this one does not.
    for (const [iface, old] of this.uses) {
      const now = next.get(iface);
      if (iface !== '*') {
        for (const { map } of old.maps) if (!now?.maps.some((m) => m.map === map)) ruleset.setMapElement(map, `"${iface}"`, undefined);
      }
      for (const name of old.own) {
        if (now?.own.has(name)) continue;
        refs.deleteChain(name);
      }
      for (const name of old.shared.keys()) shared.release(name);
    }
    this.uses.clear();
    this.policyUsers.clear();
    this.chainOwner.clear();
    for (const [iface, use] of next) {
      this.uses.set(iface, use);
      for (const key of use.policies) {
        let users = this.policyUsers.get(key);
        if (!users) this.policyUsers.set(key, (users = new Set()));
        users.add(iface);
      }
      for (const name of use.own) this.chainOwner.set(name, iface);
    }
  }

  private stageChains(ep: LocalHostEndpoint, iface: string, stage: HostStage, dir: Dir, use: InterfaceUse): Array<{ chain: Chain; body: ChainBody }> {
    const { feed, writer, ids, verdicts } = this.s;
    const tiers = ep[stage][dir];
    // §3.8: preDNAT policies have no egress; untracked policy on an all-interfaces endpoint is ignored
    // (endpoint_mgr.go), as the engine says.
    if (stage === 'preDNAT' && dir === 'egress') return [];
    if (stage === 'untracked' && iface === '*') return [];
    // Forward, preDNAT and untracked chains exist only while a policy of theirs applies: without one, forwarded
    // traffic is allowed and the other two fall through to the later stages. A named interface still gets its
    // map element, `accept` (which ends only this stage's base chain): its host endpoint owns the interface in
    // every stage (endpoint_mgr.go resolves an interface to one endpoint, the engine's primaryHostEndpoint), so
    // the all-interfaces endpoint's chain of that stage must not police it.
    if (stage !== 'normal' && !tiers.some((t) => t.policies.some((p) => !p.staged))) {
      if (iface !== '*') use.maps.push({ map: MAP[stage][dir], verdict: 'accept' });
      return [];
    }
    const out: Array<{ chain: Chain; body: ChainBody }> = [];
    const epChain = hostEndpointChain(stage, dir, iface);
    const body = emptyBody();
    const rules = body.rules;
    const sk = `hep|${stage}`;
    if (stage !== 'untracked') {
      rules.push(
        ids.rule(epChain, 'ct state established,related counter accept', { what: 'conntrack', label: 'conntrack established,related' }, 'ct|est'),
        ids.rule(epChain, 'ct state invalid counter drop', { what: 'conntrack', label: 'conntrack invalid' }, 'ct|inv'),
      );
    }
    if (stage !== 'forward') {
      // Failsafes before any policy (static.go failsafeInChain / failsafeOutChain), never for forwarded traffic.
      // In the preDNAT and untracked stages their accept ends only that table's chain, unmarked: the filter
      // stage polices the packet again, and its failsafes let it through.
      const fs = stage === 'untracked' ? (dir === 'ingress' ? CHAIN_FAILSAFE_RAW_IN : CHAIN_FAILSAFE_RAW_OUT)
        : dir === 'ingress' ? CHAIN_FAILSAFE_IN : CHAIN_FAILSAFE_OUT;
      rules.push(ids.rule(epChain, `counter jump ${fs}`, { what: 'failsafe', direction: dir, label: 'failsafe ports' }, `${sk}|fs|${dir}`));
    }
    const marking = stage === 'preDNAT' || stage === 'untracked';
    if (marking) {
      // An Allow below accepts with the mark set: the later stages of this endpoint accept the packet, and the
      // raw-notrack chains untrack it (Allow = NOTRACK + ACCEPT in the raw table). No verdict: the mark is
      // cleared again and the packet falls through (the tiers' defaultAction is Pass here, §3.8).
      rules.push(ids.rule(epChain, `counter ${SET_MARK}`, { what: 'dispatch', direction: dir, label: `${stage} policy: mark an Allow` }, `${sk}|mark|${dir}`));
    }
    for (const tier of tiers) {
      const enforced = tier.policies.filter((p) => !p.staged);
      if (enforced.length === 0) continue;
      const tChain = hostTierChain(stage, dir, iface, tier.tier);
      const tBody = emptyBody();
      for (const p of enforced) {
        const key = policyKey(p.id);
        use.policies.add(key);
        const compiled = feed.policies.get(key);
        if (compiled && compiled.rules[dir].some((r) => r.action === 'Pass')) {
          for (const r of compiled.rules[dir]) writer.policyRule(tBody, tChain, compiled, dir, r, tier.tier);
        } else {
          const pChain = sharedPolicyChain(p.id, dir);
          use.shared.set(pChain, { type: 'policy', id: p.id, dir });
          tBody.rules.push(ids.rule(tChain, `counter jump ${pChain}`,
            { what: 'policy-jump', direction: dir, tier: tier.tier, policy: policyRef(p.id), label: `policy ${kindRef(p.id)}` },
            `pj|${key}|${dir}`));
        }
      }
      if (tier.defaultAction !== 'Pass') {
        const key = `eot|${tier.tier}|${dir}`;
        tBody.rules.push(ids.rule(tChain, verdicts.drop(dir, key),
          { what: 'end-of-tier', direction: dir, tier: tier.tier, action: 'Deny', label: `end of tier ${tier.tier}` }, key));
      }
      use.own.add(tChain);
      out.push({ chain: { type: 'chain', name: tChain }, body: tBody });
      rules.push(ids.rule(epChain, `counter jump ${tChain}`,
        { what: 'tier-jump', direction: dir, tier: tier.tier, label: `tier ${tier.tier}` }, `tj|${tier.tier}|${dir}`));
    }
    if (marking) {
      rules.push(ids.rule(epChain, `counter ${CLEAR_MARK}`, { what: 'dispatch', direction: dir, label: `${stage} policy: no verdict, fall through` }, `${sk}|unmark|${dir}`));
    }
    if (stage === 'normal') {
      for (const profile of ep.info.profiles) {
        const pChain = profileChain(dir, profile);
        use.shared.set(pChain, { type: 'profile', name: profile, dir });
        rules.push(ids.rule(epChain, `counter jump ${pChain}`,
          { what: 'profile-jump', direction: dir, profile, label: `profile ${profile}` }, `rj|${profile}|${dir}`));
      }
      rules.push(ids.rule(epChain, verdicts.drop(dir, `nop|${dir}`),
        { what: 'no-profile', direction: dir, action: 'Deny', label: 'no profile matched' }, `nop|${dir}`));
    }
    use.own.add(epChain);
    use.maps.push({ map: MAP[stage][dir], verdict: `goto ${epChain}` });
    out.unshift({ chain: { type: 'chain', name: epChain }, body });
    return out;
  }
}
