// The chains of the node's own workload endpoints: per endpoint and direction `we-`/`wi-<iface>` (conntrack,
// encapsulation drops, one jump per tier and per profile, "no profile matched" drop) and `te-`/`ti-<iface>-<tier>`
// (one jump per enforced policy or the policy inlined when it has Pass rules, end-of-tier drop), plus its entries
// in the dispatch maps `wl-from` / `wl-to`. calico-semantics.md §3.3; dataplane.md §5.5.
//
// Host endpoints (next) get a module of their own beside this one: their chains hang off other hooks and stages
// (untracked, preDNAT, forward), and they share only the shared chains and set references with workloads.

import type { DirectionalPolicies, EndpointInfo, EndpointRef } from '../../engine/index.js';
import type { Chain } from '../nft/index.js';
import { policyKey, type FeedState } from './feed-state.js';
import { endpointChain, MAP_WL_FROM, MAP_WL_TO, profileChain, tierChain, type Dir } from './names.js';
import type { Settings } from './options.js';
import type { RuleWriter } from './policy-rules.js';
import { kindRef, policyRef, type RuleIds } from './rule-ids.js';
import type { Ruleset } from './ruleset.js';
import { emptyBody, type ChainBody, type SetReferences } from './set-references.js';
import { sharedPolicyChain, type SharedChains, type SharedSource } from './shared-chains.js';
import type { Verdicts } from './verdicts.js';

const DIRS: readonly Dir[] = ['egress', 'ingress'];

export interface LocalEndpoint {
  info: EndpointInfo;
  policies: DirectionalPolicies;
}

/** What one rendered endpoint holds and uses, to undo it when the endpoint changes. */
interface EndpointUse {
  iface: string;
  own: Set<string>;
  shared: Map<string, SharedSource>;
  policies: Set<string>;
}

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

export class WorkloadChains {
  private readonly endpoints = new Map<EndpointRef, LocalEndpoint>();
  /** Interface → endpoints claiming it; the lowest ref wins, as in Felix (§3.3 of dataplane.md). */
  private readonly ifaceClaims = new Map<string, Set<EndpointRef>>();
  private readonly uses = new Map<EndpointRef, EndpointUse>();
  /** Endpoint chains and interfaces → the endpoint that rendered them (two may share one interface name). */
  private readonly chainOwner = new Map<string, EndpointRef>();
  private readonly ifaceOwner = new Map<string, EndpointRef>();
  private readonly policyUsers = new Map<string, Set<EndpointRef>>();
  private readonly dirty = new Set<EndpointRef>();

  constructor(private readonly s: Services) {}

  has(ref: EndpointRef): boolean {
    return this.endpoints.has(ref);
  }

  /** Local workload endpoints currently rendered: interface → endpoint ref. */
  localInterfaces(): Map<string, EndpointRef> {
    const out = new Map<string, EndpointRef>();
    for (const [ref, use] of this.uses) out.set(use.iface, ref);
    return out;
  }

  /** Records an endpoint (or its removal, `undefined`); rendered by render(). */
  set(ref: EndpointRef, ep: LocalEndpoint | undefined): void {
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
      for (const other of claims) this.dirty.add(other);
    }
    this.dirty.add(ref);
  }

  /** A policy changed: its users' tier chains may jump to it or inline it now. */
  policyChanged(key: string): void {
    for (const ref of this.policyUsers.get(key) ?? []) this.dirty.add(ref);
  }

  /** A chain some endpoint owns must be written again; false when no endpoint owns it. */
  chainChanged(name: string): boolean {
    const owner = this.chainOwner.get(name);
    if (owner !== undefined) this.dirty.add(owner);
    return owner !== undefined;
  }

  /** Settings every endpoint chain reads changed (the encapsulation drops): all are written again. */
  invalidateAll(): void {
    for (const ref of this.endpoints.keys()) this.dirty.add(ref);
  }

  render(): void {
    for (const ref of this.dirty) this.renderEndpoint(ref);
    this.dirty.clear();
  }

  private unclaim(iface: string, ref: EndpointRef): void {
    const claims = this.ifaceClaims.get(iface);
    if (!claims) return;
    claims.delete(ref);
    if (claims.size === 0) this.ifaceClaims.delete(iface);
    for (const other of claims) this.dirty.add(other);
  }

  private ownsInterface(ref: EndpointRef, iface: string): boolean {
    const claims = [...(this.ifaceClaims.get(iface) ?? [])].sort();
    return claims[0] === ref;
  }

  private renderEndpoint(ref: EndpointRef): void {
    const { ruleset, refs, shared } = this.s;
    const ep = this.endpoints.get(ref);
    const old = this.uses.get(ref);
    const iface = ep?.info.interfaceName;
    let use: EndpointUse | undefined;
    if (ep && iface && this.ownsInterface(ref, iface)) {
      use = { iface, own: new Set(), shared: new Map(), policies: new Set() };
      const chains: Array<{ chain: Chain; body: ChainBody }> = [];
      for (const dir of DIRS) chains.push(...this.endpointChains(ep, iface, dir, use));
      // Shared chains first, so every jump below has its target in the model.
      for (const [name, source] of use.shared) if (!old?.shared.has(name)) shared.acquire(name, source);
      for (const { chain, body } of chains) {
        refs.writeChain(chain, body);
        this.chainOwner.set(chain.name, ref);
      }
      ruleset.setMapElement(MAP_WL_FROM, `"${iface}"`, `goto ${endpointChain('egress', iface)}`);
      ruleset.setMapElement(MAP_WL_TO, `"${iface}"`, `goto ${endpointChain('ingress', iface)}`);
      this.ifaceOwner.set(iface, ref);
    }
    if (old) {
      // Leave alone what another endpoint has rendered since (it took over a shared interface name).
      if (old.iface !== use?.iface && this.ifaceOwner.get(old.iface) === ref) {
        ruleset.setMapElement(MAP_WL_FROM, `"${old.iface}"`, undefined);
        ruleset.setMapElement(MAP_WL_TO, `"${old.iface}"`, undefined);
        this.ifaceOwner.delete(old.iface);
      }
      for (const name of old.own) {
        if (use?.own.has(name) || this.chainOwner.get(name) !== ref) continue;
        this.chainOwner.delete(name);
        refs.deleteChain(name);
      }
      for (const name of old.shared.keys()) if (!use?.shared.has(name)) shared.release(name);
      for (const key of old.policies) this.policyUsers.get(key)?.delete(ref);
    }
    if (use) {
      this.uses.set(ref, use);
      for (const key of use.policies) {
        let users = this.policyUsers.get(key);
        if (!users) this.policyUsers.set(key, (users = new Set()));
        users.add(ref);
      }
    } else {
      this.uses.delete(ref);
    }
  }

  private endpointChains(ep: LocalEndpoint, iface: string, dir: Dir, use: EndpointUse): Array<{ chain: Chain; body: ChainBody }> {
    const { opts, feed, writer, ids, verdicts } = this.s;
    const out: Array<{ chain: Chain; body: ChainBody }> = [];
    const epChain = endpointChain(dir, iface);
    const body = emptyBody();
    const rules = body.rules;
    rules.push(
      ids.rule(epChain, 'ct state established,related counter accept', { what: 'conntrack', label: 'conntrack established,related' }, 'ct|est'),
      ids.rule(epChain, 'ct state invalid counter drop', { what: 'conntrack', label: 'conntrack invalid' }, 'ct|inv'),
    );
    if (dir === 'egress') {
      // §3.3: encapsulated packets from a workload are dropped unless FelixConfiguration allows them.
      if (!opts.allowVXLANPacketsFromWorkloads) {
        rules.push(ids.rule(epChain, `meta l4proto udp th dport ${opts.vxlanPort} counter drop`,
          { what: 'workload-encap', label: 'VXLAN from workload' }, 'encap|vxlan'));
      }
      if (!opts.allowIPIPPacketsFromWorkloads) {
        rules.push(ids.rule(epChain, 'meta l4proto 4 counter drop', { what: 'workload-encap', label: 'IP-in-IP from workload' }, 'encap|ipip'));
      }
    }
    for (const tier of ep.policies[dir]) {
      const enforced = tier.policies.filter((p) => !p.staged);
      // §3.6: a tier whose applicable policies are all staged takes no part (no end-of-tier drop).
      if (enforced.length === 0) continue;
      const tChain = tierChain(dir, iface, tier.tier);
      const tBody = emptyBody();
      for (const p of enforced) {
        const key = policyKey(p.id);
        use.policies.add(key);
        const compiled = feed.policies.get(key);
        if (compiled && compiled.rules[dir].some((r) => r.action === 'Pass')) {
          // Pass must leave the tier chain, so the policy is inlined here, with Pass as `return`.
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
      } else {
        // Felix logs a Pass tier's fall-through (`PP<dir>|<tier>`) so the flow's trace shows the tier passed it on.
        const key = `eotp|${tier.tier}|${dir}`;
        const pass = verdicts.endOfTierPass(dir, key);
        if (pass) {
          tBody.rules.push(ids.rule(tChain, pass,
            { what: 'end-of-tier', direction: dir, tier: tier.tier, action: 'Pass', label: `end of tier ${tier.tier} (Pass)` }, key));
        }
      }
      use.own.add(tChain);
      out.push({ chain: { type: 'chain', name: tChain }, body: tBody });
      rules.push(ids.rule(epChain, `counter jump ${tChain}`,
        { what: 'tier-jump', direction: dir, tier: tier.tier, label: `tier ${tier.tier}` }, `tj|${tier.tier}|${dir}`));
    }
    for (const profile of ep.info.profiles) {
      const pChain = profileChain(dir, profile);
      use.shared.set(pChain, { type: 'profile', name: profile, dir });
      rules.push(ids.rule(epChain, `counter jump ${pChain}`,
        { what: 'profile-jump', direction: dir, profile, label: `profile ${profile}` }, `rj|${profile}|${dir}`));
    }
    rules.push(ids.rule(epChain, verdicts.drop(dir, `nop|${dir}`),
      { what: 'no-profile', direction: dir, action: 'Deny', label: 'no profile matched' }, `nop|${dir}`));
    use.own.add(epChain);
    out.unshift({ chain: { type: 'chain', name: epChain }, body });
    return out;
  }
}
