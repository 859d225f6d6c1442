// The renderer: the engine's change feed (src/engine types.ts EngineChange) → the desired nftables table for
// one node's workload endpoints (dataplane.md §5). Pure: it never runs nft; the agent plans, runs and commits.
//
//   EngineChange[] ──apply()──▶ ipsets / policies / profiles / local endpoints  (+ dirty sets)
//                                     │ settle(), at plan time
//                                     ▼
//        endpoint chains  we-/wi-  ─jump▶ tier chains te-/ti- ─jump▶ policy chains pe-/pi- (shared)
//                                  ─jump▶ profile chains re-/ri- (shared)
//        dispatch maps wl-from / wl-to: "cali…" : goto we-/wi-
//        nft sets s4-/s6- (addresses), n4-/n6- (address . protocol . port), only those some rule refers to
//                                     │
//                                     ▼
//                              Ruleset (desired vs applied) ──plan()──▶ one Transaction
//
// Semantics follow calico-semantics.md §3.3 exactly, encoded with jump/return/accept/drop only (§5.5):
// - per endpoint chain: conntrack established/related accept, invalid drop; (egress) VXLAN/IP-in-IP drop;
//   one jump per tier that has a non-staged policy; one jump per profile; "no profile matched" drop;
// - per tier chain: each non-staged policy as a jump to its shared chain, or inlined when it has Pass rules
//   in this direction (Pass = return, which skips the rest of the tier); end-of-tier drop unless the tier's
//   defaultAction is Pass. Staged policies are never programmed (§3.6).
// - Allow = accept (ends this direction's base chain; the other direction's base chain still runs), Deny =
//   drop, Log = NFLOG (group 3) and continue.
// Only chains and sets that a local endpoint needs are programmed (Felix programs only referenced chains).
//
// What it does not do: host endpoints (phase 2), reading the kernel, deciding when to sync.

import type {
  CompiledPolicy,
  CompiledProfile,
  CompiledRule,
  DirectionalPolicies,
  EndpointInfo,
  EndpointRef,
  EngineChange,
  PolicyId,
  PolicyKind,
} from '../../engine/index.js';
import { intervalOf, type Chain, type Rule } from '../nft/index.js';
import {
  CHAIN_FWD_EGRESS,
  CHAIN_FWD_INGRESS,
  CHAIN_FWD_OFFLOAD,
  CHAIN_IN_EGRESS,
  CHAIN_IN_HOST,
  CHAIN_OUT_HOST,
  CHAIN_PRE_RAW,
  endpointChain,
  FLOWTABLE,
  ipSetName,
  MAP_WL_FROM,
  MAP_WL_TO,
  policyChain,
  profileChain,
  ruleIdHash,
  tierChain,
  WORKLOAD_IFACE_PREFIX,
  type Dir,
} from './names.js';
import { nftAddress, renderRuleMatches, type Family, type SetRef } from './rules.js';
import { Ruleset } from './ruleset.js';

export interface RenderOptions {
  /** The node whose workload endpoints are rendered (EndpointInfo.node). */
  node: string;
  /** FelixConfiguration DefaultEndpointToHostAction (§3.7); Tabby's default is Accept, as calico.yaml sets it. */
  defaultEndpointToHostAction?: 'Drop' | 'Accept' | 'Return';
  allowVXLANPacketsFromWorkloads?: boolean;
  allowIPIPPacketsFromWorkloads?: boolean;
  vxlanPort?: number;
  /** Strict reverse-path check on workload sources (Felix's raw-PREROUTING anti-spoofing). Default true. */
  antiSpoofing?: boolean;
  /** Also send every policy verdict to NFLOG (group 1 ingress, 2 egress), for flow logs. Default false. */
  flowLogs?: boolean;
  /** NFLOG group of the Log action. Default 3. */
  logGroup?: number;
  /**
   * Felix's NFTablesFlowTableOffload: a flowtable (devices set by the agent: ruleset.setFlowtableDevices) and a
   * `fwd-offload` base chain after both policy chains that offloads established TCP and UDP flows. Default false.
   */
  flowtableOffload?: boolean;
}

/** What a rule ID stands for: `tabby agent rules` and flow logs map IDs back through these. */
export interface RuleMeaning {
  id: string;
  what:
    | 'policy-rule' | 'profile-rule' | 'end-of-tier' | 'no-profile' | 'tier-jump' | 'policy-jump' | 'profile-jump'
    | 'missing-profile' | 'conntrack' | 'workload-encap' | 'dispatch' | 'unknown-interface' | 'anti-spoofing'
    | 'endpoint-to-host' | 'host-to-workload' | 'icmpv6-router' | 'flow-offload';
  direction?: Dir;
  tier?: string;
  policy?: { kind: PolicyKind; namespace?: string; name: string; ref: string };
  profile?: string;
  /** The rule's index in its policy or profile for this direction. */
  index?: number;
  action?: string;
  /** A short human label, also written into the rule comment. */
  label: string;
}

const SHORT_KIND: Record<PolicyKind, string> = {
  NetworkPolicy: 'np',
  GlobalNetworkPolicy: 'gnp',
  KubernetesNetworkPolicy: 'knp',
  StagedNetworkPolicy: 'snp',
  StagedGlobalNetworkPolicy: 'sgnp',
  StagedKubernetesNetworkPolicy: 'sknp',
};

const DIRS: readonly Dir[] = ['egress', 'ingress'];
const NDP_MLD_TYPES = '{ 130, 131, 132, 133, 135, 136 }';

function policyKey(id: PolicyId): string {
  return `${id.kind}|${id.namespace ?? ''}|${id.name}`;
}

interface LocalEndpoint {
  info: EndpointInfo;
  policies: DirectionalPolicies;
}

/** What one rendered endpoint holds and uses, to undo it when the endpoint changes. */
interface EndpointUse {
  iface: string;
  own: Set<string>;
  shared: Set<string>;
  policies: Set<string>;
  profiles: Set<string>;
}

type SharedSource = { type: 'policy'; key: string; dir: Dir } | { type: 'profile'; name: string; dir: Dir };

export class Renderer {
  readonly ruleset: Ruleset;
  readonly meanings = new Map<string, RuleMeaning>();
  private readonly opts: Required<RenderOptions>;

  /**
   * Engine IP set members: the feed's list as it came (a full sync hands over 200,000 of them), made a Set only
   * when a member delta arrives for that set.
   */
  private readonly ipsets = new Map<string, readonly string[] | Set<string>>();
  private readonly policies = new Map<string, CompiledPolicy>();
  private readonly profiles = new Map<string, CompiledProfile>();
  private readonly endpoints = new Map<EndpointRef, LocalEndpoint>();
  /** Interface → endpoints claiming it; the lowest ref wins, as in Felix (§3.3 of dataplane.md). */
  private readonly ifaceClaims = new Map<string, Set<EndpointRef>>();

  private readonly uses = new Map<EndpointRef, EndpointUse>();
  /** Endpoint chains and interfaces → the endpoint that rendered them (two may share one interface name). */
  private readonly chainOwner = new Map<string, EndpointRef>();
  private readonly ifaceOwner = new Map<string, EndpointRef>();
  private readonly sharedUsers = new Map<string, number>();
  private readonly sharedSource = new Map<string, SharedSource>();
  private readonly policyUsers = new Map<string, Set<EndpointRef>>();
  private readonly profileUsers = new Map<string, Set<EndpointRef>>();
  private readonly chainSets = new Map<string, SetRef[]>();
  private readonly setUsers = new Map<string, number>();
  private readonly setsById = new Map<string, Set<SetRef>>();

  private readonly dirtyEndpoints = new Set<EndpointRef>();
  private readonly dirtyPolicies = new Set<string>();
  private readonly dirtyProfiles = new Set<string>();
  private readonly dirtyIpsets = new Set<string>();
  /** An IP set's nft elements per family, computed once per change of its members (s4- and s6- both need them). */
  private readonly elementCache = new Map<string, { 4: Set<string>; 6: Set<string> }>();

  constructor(options: RenderOptions) {
    this.opts = {
      defaultEndpointToHostAction: 'Accept',
      allowVXLANPacketsFromWorkloads: false,
      allowIPIPPacketsFromWorkloads: false,
      vxlanPort: 4789,
      antiSpoofing: true,
      flowLogs: false,
      logGroup: 3,
      flowtableOffload: false,
      ...options,
    };
    this.ruleset = new Ruleset();
    if (this.opts.flowtableOffload) this.ruleset.setFlowtable({ name: FLOWTABLE, priority: 0 });
    for (const { chain, rules } of this.skeleton()) this.ruleset.setChain(chain, rules);
    this.ruleset.setMap({ type: 'map', name: MAP_WL_FROM, keyType: 'ifname', valueType: 'verdict' });
    this.ruleset.setMap({ type: 'map', name: MAP_WL_TO, keyType: 'ifname', valueType: 'verdict' });
  }

  /** Takes in one flush of the engine's change feed. Cheap: the work happens in settle(). */
  apply(changes: readonly EngineChange[]): void {
    for (const c of changes) {
      switch (c.type) {
        case 'ipset-added':
          this.ipsets.set(c.ipSet.id, c.members);
          this.elementCache.delete(c.ipSet.id);
          this.dirtyIpsets.add(c.ipSet.id);
          break;
        case 'ipset-members': {
          const had = this.ipsets.get(c.id);
          const members = had instanceof Set ? had : new Set(had);
          this.ipsets.set(c.id, members);
          for (const m of c.removed) members.delete(m);
          for (const m of c.added) members.add(m);
          this.elementCache.delete(c.id);
          this.dirtyIpsets.add(c.id);
          break;
        }
        case 'ipset-removed':
          this.ipsets.delete(c.id);
          this.elementCache.delete(c.id);
          this.dirtyIpsets.add(c.id);
          break;
        case 'policy-updated':
          this.policies.set(policyKey(c.policy.id), c.policy);
          this.dirtyPolicies.add(policyKey(c.policy.id));
          break;
        case 'policy-removed':
          this.policies.delete(policyKey(c.id));
          this.dirtyPolicies.add(policyKey(c.id));
          break;
        case 'profile-updated':
          this.profiles.set(c.profile.name, c.profile);
          this.dirtyProfiles.add(c.profile.name);
          break;
        case 'profile-removed':
          this.profiles.delete(c.name);
          this.dirtyProfiles.add(c.name);
          break;
        case 'endpoint-updated': {
          const ep = c.endpoint;
          const local = ep.kind === 'WorkloadEndpoint' && ep.node === this.opts.node && ep.interfaceName;
          if (local) {
            this.setEndpoint(ep.ref, { info: ep, policies: c.stages.normal ?? { ingress: [], egress: [] } });
          } else if (this.endpoints.has(ep.ref)) {
            this.setEndpoint(ep.ref, undefined);
          }
          break;
        }
        case 'endpoint-removed':
          if (this.endpoints.has(c.ref)) this.setEndpoint(c.ref, undefined);
          break;
      }
    }
  }

  /** Local workload endpoints currently rendered: interface → endpoint ref. */
  localInterfaces(): Map<string, EndpointRef> {
    const out = new Map<string, EndpointRef>();
    for (const [ref, use] of this.uses) out.set(use.iface, ref);
    return out;
  }

  /** Brings the desired table up to date with everything applied so far. */
  settle(): void {
    for (const key of this.dirtyPolicies) {
      for (const dir of DIRS) {
        const name = this.policyChainName(key, dir);
        if (name && (this.sharedUsers.get(name) ?? 0) > 0) this.renderShared(name);
      }
      for (const ref of this.policyUsers.get(key) ?? []) this.dirtyEndpoints.add(ref);
    }
    this.dirtyPolicies.clear();
    for (const name of this.dirtyProfiles) {
      for (const dir of DIRS) {
        const chain = profileChain(dir, name);
        if ((this.sharedUsers.get(chain) ?? 0) > 0) this.renderShared(chain);
      }
    }
    this.dirtyProfiles.clear();
    for (const ref of this.dirtyEndpoints) this.renderEndpoint(ref);
    this.dirtyEndpoints.clear();
    for (const id of this.dirtyIpsets) {
      for (const ref of this.setsById.get(id) ?? []) if (ref.kind !== 'literal') this.refreshSet(ref);
    }
    this.dirtyIpsets.clear();
  }

  // -------------------------------------------------------------------------------------------------------------
  // Endpoints

  private setEndpoint(ref: EndpointRef, ep: LocalEndpoint | undefined): void {
    const old = this.endpoints.get(ref);
    const oldIface = old?.info.interfaceName;
    const newIface = ep?.info.interfaceName;
    if (oldIface && oldIface !== newIface) this.unclaim(oldIface, ref);
    if (ep) this.endpoints.set(ref, ep);
    else this.endpoints.delete(ref);
    if (newIface) {
      let claims = this.ifaceClaims.get(newIface);
      if (!claims) this.ifaceClaims.set(newIface, (claims = new Set()));
      claims.add(ref);
      for (const other of claims) this.dirtyEndpoints.add(other);
    }
    this.dirtyEndpoints.add(ref);
  }

  private unclaim(iface: string, ref: EndpointRef): void {
    const claims = this.ifaceClaims.get(iface);
    if (!claims) return;
    claims.delete(ref);
    if (claims.size === 0) this.ifaceClaims.delete(iface);
    for (const other of claims) this.dirtyEndpoints.add(other);
  }

  private ownsInterface(ref: EndpointRef, iface: string): boolean {
    const claims = [...(this.ifaceClaims.get(iface) ?? [])].sort();
    return claims[0] === ref;
  }

  private renderEndpoint(ref: EndpointRef): void {
    const ep = this.endpoints.get(ref);
    const old = this.uses.get(ref);
    const iface = ep?.info.interfaceName;
    let use: EndpointUse | undefined;
    if (ep && iface && this.ownsInterface(ref, iface)) {
      use = { iface, own: new Set(), shared: new Set(), policies: new Set(), profiles: new Set() };
      const chains: Array<{ chain: Chain; rules: Rule[] }> = [];
      for (const dir of DIRS) chains.push(...this.endpointChains(ep, iface, dir, use));
      // Shared chains first, so every jump below has its target in the model.
      for (const name of use.shared) if (!old?.shared.has(name)) this.incShared(name);
      for (const { chain, rules } of chains) {
        this.setChainTracked(chain, rules);
        this.chainOwner.set(chain.name, ref);
      }
      this.ruleset.setMapElement(MAP_WL_FROM, `"${iface}"`, `goto ${endpointChain('egress', iface)}`);
      this.ruleset.setMapElement(MAP_WL_TO, `"${iface}"`, `goto ${endpointChain('ingress', iface)}`);
      this.ifaceOwner.set(iface, ref);
    }
    if (old) {
      // Leave alone what another endpoint has rendered since (it took over a shared interface name).
      if (old.iface !== use?.iface && this.ifaceOwner.get(old.iface) === ref) {
        this.ruleset.setMapElement(MAP_WL_FROM, `"${old.iface}"`, undefined);
        this.ruleset.setMapElement(MAP_WL_TO, `"${old.iface}"`, undefined);
        this.ifaceOwner.delete(old.iface);
      }
      for (const name of old.own) {
        if (use?.own.has(name) || this.chainOwner.get(name) !== ref) continue;
        this.chainOwner.delete(name);
        this.deleteChainTracked(name);
      }
      for (const name of old.shared) if (!use?.shared.has(name)) this.decShared(name);
      for (const key of old.policies) this.policyUsers.get(key)?.delete(ref);
      for (const name of old.profiles) this.profileUsers.get(name)?.delete(ref);
    }
    if (use) {
      this.uses.set(ref, use);
      for (const key of use.policies) {
        let users = this.policyUsers.get(key);
        if (!users) this.policyUsers.set(key, (users = new Set()));
        users.add(ref);
      }
      for (const name of use.profiles) {
        let users = this.profileUsers.get(name);
        if (!users) this.profileUsers.set(name, (users = new Set()));
        users.add(ref);
      }
    } else {
      this.uses.delete(ref);
    }
  }

  private endpointChains(ep: LocalEndpoint, iface: string, dir: Dir, use: EndpointUse): Array<{ chain: Chain; rules: Rule[] }> {
    const out: Array<{ chain: Chain; rules: Rule[] }> = [];
    const epChain = endpointChain(dir, iface);
    const rules: Rule[] = [
      this.rule(epChain, 'ct state established,related counter accept',
        { what: 'conntrack', label: 'conntrack established,related' }, 'ct|est'),
      this.rule(epChain, 'ct state invalid counter drop', { what: 'conntrack', label: 'conntrack invalid' }, 'ct|inv'),
    ];
    if (dir === 'egress') {
      // §3.3: encapsulated packets from a workload are dropped unless FelixConfiguration allows them.
      if (!this.opts.allowVXLANPacketsFromWorkloads) {
        rules.push(this.rule(epChain, `meta l4proto udp th dport ${this.opts.vxlanPort} counter drop`,
          { what: 'workload-encap', label: 'VXLAN from workload' }, 'encap|vxlan'));
      }
      if (!this.opts.allowIPIPPacketsFromWorkloads) {
        rules.push(this.rule(epChain, 'meta l4proto 4 counter drop',
          { what: 'workload-encap', label: 'IP-in-IP from workload' }, 'encap|ipip'));
      }
    }
    for (const tier of ep.policies[dir]) {
      const enforced = tier.policies.filter((p) => !p.staged);
      // §3.6: a tier whose applicable policies are all staged takes no part (no end-of-tier drop).
      if (enforced.length === 0) continue;
      const tChain = tierChain(dir, iface, tier.tier);
      const tRules: Rule[] = [];
      for (const p of enforced) {
        const key = policyKey(p.id);
        use.policies.add(key);
        const compiled = this.policies.get(key);
        if (compiled && compiled.rules[dir].some((r) => r.action === 'Pass')) {
          // Pass must leave the tier chain, so the policy is inlined here, with Pass as `return`.
          for (const r of compiled.rules[dir]) tRules.push(...this.policyRules(tChain, compiled, dir, r, tier.tier));
        } else {
          const pChain = policyChain(dir, SHORT_KIND[p.id.kind], p.id.namespace, p.id.name);
          this.sharedSource.set(pChain, { type: 'policy', key, dir });
          use.shared.add(pChain);
          tRules.push(this.rule(tChain, `counter jump ${pChain}`,
            { what: 'policy-jump', direction: dir, tier: tier.tier, policy: policyRef(p.id), label: `policy ${kindRef(p.id)}` },
            `pj|${key}|${dir}`));
        }
      }
      if (tier.defaultAction !== 'Pass') {
        tRules.push(this.rule(tChain, `counter${this.flowLog('D', dir, `eot|${tier.tier}|${dir}`)} drop`,
          { what: 'end-of-tier', direction: dir, tier: tier.tier, action: 'Deny', label: `end of tier ${tier.tier}` },
          `eot|${tier.tier}|${dir}`));
      }
      use.own.add(tChain);
      out.push({ chain: { type: 'chain', name: tChain }, rules: tRules });
      rules.push(this.rule(epChain, `counter jump ${tChain}`,
        { what: 'tier-jump', direction: dir, tier: tier.tier, label: `tier ${tier.tier}` }, `tj|${tier.tier}|${dir}`));
    }
    for (const profile of ep.info.profiles) {
      const pChain = profileChain(dir, profile);
      this.sharedSource.set(pChain, { type: 'profile', name: profile, dir });
      use.shared.add(pChain);
      use.profiles.add(profile);
      rules.push(this.rule(epChain, `counter jump ${pChain}`,
        { what: 'profile-jump', direction: dir, profile, label: `profile ${profile}` }, `rj|${profile}|${dir}`));
    }
    rules.push(this.rule(epChain, `counter${this.flowLog('D', dir, `nop|${dir}`)} drop`,
      { what: 'no-profile', direction: dir, action: 'Deny', label: 'no profile matched' }, `nop|${dir}`));
    use.own.add(epChain);
    out.unshift({ chain: { type: 'chain', name: epChain }, rules });
    return out;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Shared policy and profile chains

  private policyChainName(key: string, dir: Dir): string | undefined {
    const [kind, ns, name] = key.split('|') as [PolicyKind, string, string];
    return policyChain(dir, SHORT_KIND[kind], ns || undefined, name);
  }

  private incShared(name: string): void {
    const n = this.sharedUsers.get(name) ?? 0;
    this.sharedUsers.set(name, n + 1);
    if (n === 0) this.renderShared(name);
  }

  private decShared(name: string): void {
    const n = (this.sharedUsers.get(name) ?? 0) - 1;
    if (n > 0) {
      this.sharedUsers.set(name, n);
      return;
    }
    this.sharedUsers.delete(name);
    this.sharedSource.delete(name);
    this.deleteChainTracked(name);
  }

  private renderShared(name: string): void {
    const src = this.sharedSource.get(name);
    if (!src) return;
    const rules: Rule[] = [];
    if (src.type === 'policy') {
      const compiled = this.policies.get(src.key);
      // A policy the engine no longer has contributes nothing until the endpoint is re-rendered without it.
      if (compiled) for (const r of compiled.rules[src.dir]) rules.push(...this.policyRules(name, compiled, src.dir, r));
    } else {
      const profile = this.profiles.get(src.name);
      if (!profile) {
        // §1.9: a profile that is referenced but missing denies (Felix's DummyDropRules): fail closed.
        rules.push(this.rule(name, `counter drop`,
          { what: 'missing-profile', direction: src.dir, profile: src.name, action: 'Deny', label: `missing profile ${src.name}` },
          `rmiss|${src.name}|${src.dir}`));
      } else {
        for (const r of profile.rules[src.dir]) rules.push(...this.profileRules(name, profile, src.dir, r));
      }
    }
    this.setChainTracked({ type: 'chain', name }, rules);
  }

  private policyRules(chain: string, p: CompiledPolicy, dir: Dir, r: CompiledRule, tier = p.tier): Rule[] {
    const key = `p|${policyKey(p.id)}|${dir}|${r.index}`;
    const meaning: Omit<RuleMeaning, 'id'> = {
      what: 'policy-rule', direction: dir, tier, policy: policyRef(p.id), index: r.index, action: r.action,
      label: `${kindRef(p.id)} ${dir} ${r.index} ${r.action}`,
    };
    return this.ruleVariants(chain, r, key, meaning, dir);
  }

  private profileRules(chain: string, p: CompiledProfile, dir: Dir, r: CompiledRule): Rule[] {
    const key = `r|${p.name}|${dir}|${r.index}`;
    const meaning: Omit<RuleMeaning, 'id'> = {
      what: 'profile-rule', direction: dir, profile: p.name, index: r.index, action: r.action,
      label: `profile ${p.name} ${dir} ${r.index} ${r.action}`,
    };
    return this.ruleVariants(chain, r, key, meaning, dir);
  }

  private ruleVariants(chain: string, r: CompiledRule, key: string, meaning: Omit<RuleMeaning, 'id'>, dir: Dir): Rule[] {
    const id = this.ruleId(key, meaning);
    const verdict = this.verdict(r.action, id, dir);
    const text = comment(id, meaning.label);
    const out: Rule[] = [];
    for (const m of renderRuleMatches(r)) {
      const body = m.match === '' ? verdict : `${m.match} ${verdict}`;
      out.push({ type: 'rule', chain, rule: body, comment: text });
      this.noteSets(chain, m.sets);
    }
    return out;
  }

  private verdict(action: CompiledRule['action'], id: string, dir: Dir): string {
    switch (action) {
      case 'Allow': return `counter${this.flowLog('A', dir, id)} accept`;
      case 'Deny': return `counter${this.flowLog('D', dir, id)} drop`;
      // Only reached inlined in a tier chain (skip the rest of the tier) or in a profile chain (next profile).
      case 'Pass': return `counter${this.flowLog('P', dir, id)} return`;
      case 'Log': return `counter log prefix "L ${id}" group ${this.opts.logGroup}`;
    }
  }

  private flowLog(code: string, dir: Dir, idOrKey: string): string {
    if (!this.opts.flowLogs) return '';
    const id = /^[0-9a-f]{10}$/.test(idOrKey) ? idOrKey : ruleIdHash(idOrKey);
    return ` log prefix "${code} ${id}" group ${dir === 'ingress' ? 1 : 2}`;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Chains and sets, with the references between them counted

  /** Chain → sets its rules refer to; collected while rules are rendered, then swapped in by setChainTracked. */
  private pendingSets = new Map<string, SetRef[]>();

  private noteSets(chain: string, refs: SetRef[]): void {
    if (refs.length === 0) return;
    let list = this.pendingSets.get(chain);
    if (!list) this.pendingSets.set(chain, (list = []));
    list.push(...refs);
  }

  private setChainTracked(chain: Chain, rules: Rule[]): void {
    const refs = this.pendingSets.get(chain.name) ?? [];
    this.pendingSets.delete(chain.name);
    const old = this.chainSets.get(chain.name) ?? [];
    for (const r of refs) this.incSet(r);
    this.ruleset.setChain(chain, rules);
    for (const r of old) this.decSet(r);
    if (refs.length > 0) this.chainSets.set(chain.name, refs);
    else this.chainSets.delete(chain.name);
  }

  private deleteChainTracked(name: string): void {
    this.pendingSets.delete(name);
    const old = this.chainSets.get(name) ?? [];
    this.chainSets.delete(name);
    this.ruleset.deleteChain(name);
    for (const r of old) this.decSet(r);
  }

  private incSet(ref: SetRef): void {
    const n = this.setUsers.get(ref.name) ?? 0;
    this.setUsers.set(ref.name, n + 1);
    if (n > 0) return;
    let byId = this.setsById.get(ref.id);
    if (!byId) this.setsById.set(ref.id, (byId = new Set()));
    byId.add(ref);
    this.refreshSet(ref);
  }

  private decSet(ref: SetRef): void {
    const n = (this.setUsers.get(ref.name) ?? 0) - 1;
    if (n > 0) {
      this.setUsers.set(ref.name, n);
      return;
    }
    this.setUsers.delete(ref.name);
    const byId = this.setsById.get(ref.id);
    if (byId) {
      for (const r of byId) if (r.name === ref.name) byId.delete(r);
      if (byId.size === 0) this.setsById.delete(ref.id);
    }
    this.ruleset.deleteSet(ref.name);
  }

  private refreshSet(ref: SetRef): void {
    if (ref.kind === 'literal') {
      this.ruleset.setSet({ type: 'set', name: ref.name, keyType: ref.keyType, flags: ['interval'] }, new Set(ref.elements));
      return;
    }
    const members = this.ipsets.get(ref.id) ?? [];
    let elements: Set<string>;
    if (ref.kind === 'net') {
      let cached = this.elementCache.get(ref.id);
      if (!cached) this.elementCache.set(ref.id, (cached = netElementsByFamily(members)));
      elements = cached[ref.family];
    } else {
      elements = ipPortElements(members, ref.family);
    }
    const keyType = ref.kind === 'net'
      ? (ref.family === 4 ? 'ipv4_addr' : 'ipv6_addr')
      : `${ref.family === 4 ? 'ipv4_addr' : 'ipv6_addr'} . inet_proto . inet_service`;
    this.ruleset.setSet(
      { type: 'set', name: ipSetName(ref.kind, ref.family, ref.id), keyType, ...(ref.kind === 'net' ? { flags: ['interval' as const] } : {}) },
      elements,
    );
  }

  // -------------------------------------------------------------------------------------------------------------
  // Rule IDs

  private ruleId(key: string, meaning: Omit<RuleMeaning, 'id'>): string {
    const id = ruleIdHash(key);
    if (!this.meanings.has(id)) this.meanings.set(id, { id, ...meaning });
    return id;
  }

  private rule(chain: string, body: string, meaning: Omit<RuleMeaning, 'id'>, key: string): Rule {
    const id = this.ruleId(key, meaning);
    return { type: 'rule', chain, rule: body, comment: comment(id, meaning.label) };
  }

  // -------------------------------------------------------------------------------------------------------------
  // The static skeleton (§5.2): installed before anything else and kept while the agent is away.

  skeleton(): Array<{ chain: Chain; rules: Rule[] }> {
    const cali = `"${WORKLOAD_IFACE_PREFIX}*"`;
    const base = (name: string, hook: Chain['hook'], priority: string): Chain =>
      ({ type: 'chain', name, chainType: 'filter', hook, priority, policy: 'accept' });
    const r = (chain: string, body: string, key: string, meaning: Omit<RuleMeaning, 'id'>): Rule =>
      this.rule(chain, body, meaning, `sk|${key}`);
    const out: Array<{ chain: Chain; rules: Rule[] }> = [];

    const preRaw: Rule[] = [];
    if (this.opts.antiSpoofing) {
      // Strict RPF: a workload may only send from addresses routed back through its own interface. IPv6
      // link-local and unspecified sources (NDP, DAD) are left to the input chains.
      preRaw.push(r(CHAIN_PRE_RAW, `iifname ${cali} ip6 saddr { ::, fe80::/10 } counter accept`, 'rpf-ll',
        { what: 'anti-spoofing', label: 'IPv6 link-local source' }));
      preRaw.push(r(CHAIN_PRE_RAW, `iifname ${cali} fib saddr . iif oif missing counter drop`, 'rpf',
        { what: 'anti-spoofing', label: 'spoofed workload source' }));
    }
    out.push({ chain: base(CHAIN_PRE_RAW, 'prerouting', 'raw'), rules: preRaw });

    // Workload → anywhere (forward): the source's egress policy; an unknown cali* interface is dropped.
    out.push({ chain: base(CHAIN_FWD_EGRESS, 'forward', 'filter - 10'), rules: [
      r(CHAIN_FWD_EGRESS, `iifname ${cali} counter iifname vmap @${MAP_WL_FROM}`, 'fwd-e-dispatch', { what: 'dispatch', direction: 'egress', label: 'to workload egress chain' }),
      r(CHAIN_FWD_EGRESS, `iifname ${cali} counter drop`, 'fwd-e-unknown', { what: 'unknown-interface', direction: 'egress', label: 'unknown workload interface' }),
    ] });
    // Anywhere → workload (forward): the destination's ingress policy, after the egress base chain accepted.
    out.push({ chain: base(CHAIN_FWD_INGRESS, 'forward', 'filter'), rules: [
      r(CHAIN_FWD_INGRESS, `oifname ${cali} counter oifname vmap @${MAP_WL_TO}`, 'fwd-i-dispatch', { what: 'dispatch', direction: 'ingress', label: 'to workload ingress chain' }),
      r(CHAIN_FWD_INGRESS, `oifname ${cali} counter drop`, 'fwd-i-unknown', { what: 'unknown-interface', direction: 'ingress', label: 'unknown workload interface' }),
    ] });
    if (this.opts.flowtableOffload) {
      // NFTablesFlowTableOffload (dataplane.md §1.3). A base chain after both policy chains (filter + 10): only a
      // packet that fwd-egress and fwd-ingress both accepted gets here, so every new connection is still decided
      // by policy, egress then ingress. An established flow has had packets from its workload side, and the first
      // of them seen here moves the flow into the flowtable, whose ingress hook then forwards it past the forward
      // chains — as the `ct state established,related accept` at the head of every workload chain would have.
      out.push({ chain: base(CHAIN_FWD_OFFLOAD, 'forward', 'filter + 10'), rules: [
        r(CHAIN_FWD_OFFLOAD, `iifname ${cali} meta l4proto { tcp, udp } ct state established counter flow add @${FLOWTABLE}`,
          'fwd-offload', { what: 'flow-offload', label: 'offload established flow' }),
      ] });
    }
    // Workload → its host (input): egress policy first (Felix cali-wl-to-host), NDP/MLD always allowed.
    out.push({ chain: base(CHAIN_IN_EGRESS, 'input', 'filter - 10'), rules: [
      r(CHAIN_IN_EGRESS, `iifname ${cali} icmpv6 type ${NDP_MLD_TYPES} counter accept`, 'in-e-ndp', { what: 'icmpv6-router', label: 'ICMPv6 NDP/MLD' }),
      r(CHAIN_IN_EGRESS, `iifname ${cali} counter iifname vmap @${MAP_WL_FROM}`, 'in-e-dispatch', { what: 'dispatch', direction: 'egress', label: 'to workload egress chain' }),
      r(CHAIN_IN_EGRESS, `iifname ${cali} counter drop`, 'in-e-unknown', { what: 'unknown-interface', direction: 'egress', label: 'unknown workload interface' }),
    ] });
    // Then DefaultEndpointToHostAction (§3.7): a later base chain on the same hook, so an accept above does not
    // skip it.
    const inHost: Rule[] = [
      r(CHAIN_IN_HOST, `iifname ${cali} ct state established,related counter accept`, 'in-h-ct', { what: 'conntrack', label: 'conntrack established,related' }),
      r(CHAIN_IN_HOST, `iifname ${cali} icmpv6 type ${NDP_MLD_TYPES} counter accept`, 'in-h-ndp', { what: 'icmpv6-router', label: 'ICMPv6 NDP/MLD' }),
    ];
    const toHost = this.opts.defaultEndpointToHostAction;
    if (toHost !== 'Return') {
      inHost.push(r(CHAIN_IN_HOST, `iifname ${cali} counter ${toHost === 'Drop' ? 'drop' : 'accept'}`, `in-h-${toHost}`,
        { what: 'endpoint-to-host', action: toHost, label: `DefaultEndpointToHostAction ${toHost}` }));
    }
    out.push({ chain: base(CHAIN_IN_HOST, 'input', 'filter'), rules: inHost });
    // Host → local workload is not policed (Calico: kubelet probes depend on it, §3.7).
    out.push({ chain: base(CHAIN_OUT_HOST, 'output', 'filter'), rules: [
      r(CHAIN_OUT_HOST, `oifname ${cali} counter accept`, 'out-h', { what: 'host-to-workload', label: 'host to local workload' }),
    ] });
    return out;
  }
}

function policyRef(id: PolicyId): NonNullable<RuleMeaning['policy']> {
  return { kind: id.kind, ...(id.namespace !== undefined ? { namespace: id.namespace } : {}), name: id.name, ref: id.ref };
}

function kindRef(id: PolicyId): string {
  return `${SHORT_KIND[id.kind]}:${id.ref}`;
}

const UNQUOTABLE = /["\\\n]/;

/** `<id> <label>`, at most 128 characters, without characters a comment cannot hold. */
function comment(id: string, label: string): string {
  const text = `${id} ${UNQUOTABLE.test(label) ? label.replace(/["\\\n]/g, "'") : label}`;
  return text.length <= 128 ? text : text.slice(0, 127) + '…';
}

// ---------------------------------------------------------------------------------------------------------------
// Set elements

/** netElements for both families, reading the members once (a set of host addresses needs no sorting). */
export function netElementsByFamily(members: Iterable<string>): { 4: Set<string>; 6: Set<string> } {
  const out = { 4: new Set<string>(), 6: new Set<string>() };
  for (const m of members) {
    const slash = m.indexOf('/');
    const v6 = m.includes(':');
    const len = slash < 0 ? -1 : m.length - slash - 1;
    // A prefix shorter than the host length may cover others: leave that family to the general path.
    if (slash >= 0 && !(v6 ? len === 3 && m.endsWith('/128') : len === 2 && m.endsWith('/32'))) {
      return { 4: netElements(members, 4), 6: netElements(members, 6) };
    }
    out[v6 ? 6 : 4].add(slash < 0 ? m : m.slice(0, slash));
  }
  return out;
}

/**
 * The elements of an address set for one family. nft interval sets reject overlapping elements, so members
 * covered by a broader member are left out (Felix's nft-mode member deduplicator, dataplane.md §2.5).
 */
export function netElements(members: Iterable<string>, family: Family): Set<string> {
  const cidrs: string[] = [];
  let allHosts = true;
  const host = family === 4 ? '/32' : '/128';
  for (const m of members) {
    if (m.includes(':') !== (family === 6)) continue;
    cidrs.push(m);
    if (m.includes('/') && !m.endsWith(host)) allHosts = false;
  }
  if (allHosts) {
    const out = new Set<string>();
    for (const m of cidrs) out.add(m.endsWith(host) ? m.slice(0, -host.length) : m);
    return out;
  }
  const ranges = cidrs
    .map((c) => ({ c, r: intervalOf(c) }))
    .filter((x): x is { c: string; r: NonNullable<ReturnType<typeof intervalOf>> } => x.r !== undefined)
    .sort((a, b) => (a.r.lo < b.r.lo ? -1 : a.r.lo > b.r.lo ? 1 : a.r.hi > b.r.hi ? -1 : a.r.hi < b.r.hi ? 1 : 0));
  const out = new Set<string>();
  let coverHi = -1n;
  for (const { c, r } of ranges) {
    // CIDRs either nest or are disjoint: sorted by start (widest first), a member inside the last kept one is covered.
    if (r.hi <= coverHi) continue;
    out.add(nftAddress(c));
    coverHi = r.hi;
  }
  return out;
}

/** `10.0.0.1,tcp:8080` → `10.0.0.1 . tcp . 8080`, for one family. */
export function ipPortElements(members: Iterable<string>, family: Family): Set<string> {
  const out = new Set<string>();
  for (const m of members) {
    const match = /^(.+),(\w+):(\d+)$/.exec(m);
    if (!match) continue;
    const addr = match[1]!;
    if (addr.includes(':') !== (family === 6)) continue;
    out.add(`${nftAddress(addr)} . ${match[2]!.toLowerCase()} . ${match[3]}`);
  }
  return out;
}
