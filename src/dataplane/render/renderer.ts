// The renderer: the engine's change feed (src/engine types.ts EngineChange) → the desired nftables table for
// one node's workload endpoints (dataplane.md §5). Pure: it never runs nft; the agent plans, runs and commits.
//
//   EngineChange[] ──apply()──▶ FeedState (IP set members, policies, profiles) + local endpoints (+ dirty marks)
//                                     │ settle(), at plan time
//                                     ▼
//        skeleton.ts         base chains, dispatch and fail-closed rules (§5.2)
//        workload-chains.ts  endpoint chains we-/wi- ─jump▶ tier chains te-/ti- ; dispatch maps wl-from / wl-to
//        shared-chains.ts    ─jump▶ policy chains pe-/pi-, profile chains re-/ri- (shared by endpoints)
//        policy-rules.ts     a Calico rule → its nft rules (rules.ts matches, verdicts.ts, rule-ids.ts), a family's
//                            copy only while it can match
//        set-references.ts   nft sets s4-/s6- (addresses), n4-/n6- (address . protocol . port), l*- (literals),
//                            only those some rule refers to; elements from set-elements.ts
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
// Host endpoints of this node (host-endpoint-chains.ts; by interface name, `*`, or expectedIPs resolved to the
// interfaces holding them): the normal stage (to and from the host, failsafes first),
// the forward stage (applyOnForward), preDNAT (prerouting, before DNAT) and untracked (raw: notrack + accept).
//
// What it does not do: reading the kernel, deciding when to sync.

import type { EndpointRef, EngineChange } from '../../engine/index.js';
import { FeedState, policyKey } from './feed-state.js';
import { HostEndpointChains } from './host-endpoint-chains.js';
import {
  FLOWTABLE, MAP_HEP_IN, MAP_HEP_OUT, MAP_HEP_PRE, MAP_HEP_RAW_IN, MAP_HEP_RAW_OUT, MAP_HEPFW_IN, MAP_HEPFW_OUT, MAP_WL_FROM, MAP_WL_TO,
} from './names.js';
import { withDefaults, type FelixRenderSettings, type RenderOptions, type Settings } from './options.js';
import { RuleWriter } from './policy-rules.js';
import { RuleIds, type RuleMeaning } from './rule-ids.js';
import { Ruleset, type ChainContent } from './ruleset.js';
import { SetReferences } from './set-references.js';
import { SharedChains } from './shared-chains.js';
import { skeleton } from './skeleton.js';
import { Verdicts } from './verdicts.js';
import { WorkloadChains } from './workload-chains.js';

export type { FelixRenderSettings, RenderOptions } from './options.js';
export type { RuleMeaning } from './rule-ids.js';

export class Renderer {
  readonly ruleset: Ruleset;
  private readonly ids = new RuleIds();
  /** Rule ID → what the rule enforces, for every rule rendered so far. */
  readonly meanings: Map<string, RuleMeaning> = this.ids.meanings;
  private readonly opts: Settings;
  private readonly feed = new FeedState();
  private readonly refs: SetReferences;
  private readonly shared: SharedChains;
  private readonly workloads: WorkloadChains;
  private readonly hosts: HostEndpointChains;

  private readonly dirtyPolicies = new Set<string>();
  private readonly dirtyProfiles = new Set<string>();
  private readonly dirtyIpsets = new Set<string>();

  constructor(options: RenderOptions) {
    this.opts = withDefaults(options);
    this.ruleset = new Ruleset();
    const verdicts = new Verdicts(this.opts);
    const writer = new RuleWriter(this.feed, this.ids, verdicts);
    this.refs = new SetReferences(this.ruleset, this.feed);
    this.shared = new SharedChains(this.feed, writer, this.ids, this.refs);
    const services = {
      opts: this.opts, feed: this.feed, ruleset: this.ruleset, refs: this.refs, shared: this.shared, writer, ids: this.ids, verdicts,
    };
    this.workloads = new WorkloadChains(services);
    if (this.opts.flowtableOffload) this.ruleset.setFlowtable({ name: FLOWTABLE, priority: 0 });
    for (const { chain, rules } of this.skeleton()) this.ruleset.setChain(chain, rules);
    this.ruleset.setMap({ type: 'map', name: MAP_WL_FROM, keyType: 'ifname', valueType: 'verdict' });
    this.ruleset.setMap({ type: 'map', name: MAP_WL_TO, keyType: 'ifname', valueType: 'verdict' });
    for (const name of [MAP_HEP_IN, MAP_HEP_OUT, MAP_HEPFW_IN, MAP_HEPFW_OUT, MAP_HEP_PRE, MAP_HEP_RAW_IN, MAP_HEP_RAW_OUT]) {
      this.ruleset.setMap({ type: 'map', name, keyType: 'ifname', valueType: 'verdict' });
    }
    this.hosts = new HostEndpointChains(services);
  }


  /**
   * FelixConfiguration changed (the agent applies it live): the chains its fields shape are written again — the
   * skeleton's in-host chain (DefaultEndpointToHostAction), the failsafe chains, and every local workload's
   * egress chain (its VXLAN / IP-in-IP drops). The next plan carries them in one transaction. Returns the fields
   * that changed.
   */
  updateSettings(next: FelixRenderSettings): Array<keyof FelixRenderSettings> {
    const changed = (Object.keys(next) as Array<keyof FelixRenderSettings>)
      .filter((k) => JSON.stringify(this.opts[k]) !== JSON.stringify(next[k]));
    if (changed.length === 0) return changed;
    // One settings object is shared by every part of the renderer (services.opts, Verdicts): updated in place.
    Object.assign(this.opts, next);
    if (changed.includes('defaultEndpointToHostAction')) {
      for (const { chain, rules } of this.skeleton()) this.ruleset.setChain(chain, rules);
    }
    if (changed.includes('failsafeInboundHostPorts') || changed.includes('failsafeOutboundHostPorts')) this.hosts.renderFailsafes();
    if (changed.some((k) => k === 'allowVXLANPacketsFromWorkloads' || k === 'allowIPIPPacketsFromWorkloads' || k === 'vxlanPort')) {
      this.workloads.invalidateAll();
    }
    return changed;
  }

  /** The FelixConfiguration settings rendered now. */
  felixSettings(): FelixRenderSettings {
    const o = this.opts;
    return {
      defaultEndpointToHostAction: o.defaultEndpointToHostAction, allowVXLANPacketsFromWorkloads: o.allowVXLANPacketsFromWorkloads,
      allowIPIPPacketsFromWorkloads: o.allowIPIPPacketsFromWorkloads, vxlanPort: o.vxlanPort,
      failsafeInboundHostPorts: o.failsafeInboundHostPorts, failsafeOutboundHostPorts: o.failsafeOutboundHostPorts,
    };
  }

  /** The static skeleton (§5.2): installed before anything else and kept while the agent is away. */
  skeleton(): ChainContent[] {
    return skeleton(this.opts, this.ids);
  }

  /** Takes in one flush of the engine's change feed. Cheap: the work happens in settle(). */
  apply(changes: readonly EngineChange[]): void {
    for (const c of changes) {
      switch (c.type) {
        case 'ipset-added':
        case 'ipset-members':
        case 'ipset-removed':
          this.dirtyIpsets.add(this.feed.applyIpSet(c));
          break;
        case 'policy-updated':
          this.feed.policies.set(policyKey(c.policy.id), c.policy);
          this.dirtyPolicies.add(policyKey(c.policy.id));
          break;
        case 'policy-removed':
          this.feed.policies.delete(policyKey(c.id));
          this.dirtyPolicies.add(policyKey(c.id));
          break;
        case 'profile-updated':
          this.feed.profiles.set(c.profile.name, c.profile);
          this.dirtyProfiles.add(c.profile.name);
          break;
        case 'profile-removed':
          this.feed.profiles.delete(c.name);
          this.dirtyProfiles.add(c.name);
          break;
        case 'endpoint-updated': {
          const ep = c.endpoint;
          if (ep.kind === 'HostEndpoint') {
            // §3.8: this node's host endpoints with an interface name ('*' included) or expected IPs (resolved
            // to the interfaces holding them, setHostInterfaces); see host-endpoint-chains.ts.
            if (ep.node === this.opts.node && (ep.interfaceName || ep.ips.length > 0)) {
              const none = { ingress: [], egress: [] };
              this.hosts.set(ep.ref, {
                info: ep, normal: c.stages.normal ?? none, forward: c.stages.forward ?? none,
                preDNAT: c.stages.preDNAT ?? none, untracked: c.stages.untracked ?? none,
              });
            } else if (this.hosts.has(ep.ref)) {
              this.hosts.set(ep.ref, undefined);
            }
            break;
          }
          const local = ep.kind === 'WorkloadEndpoint' && ep.node === this.opts.node && ep.interfaceName;
          if (local) {
            this.workloads.set(ep.ref, { info: ep, policies: c.stages.normal ?? { ingress: [], egress: [] } });
          } else if (this.workloads.has(ep.ref)) {
            this.workloads.set(ep.ref, undefined);
          }
          break;
        }
        case 'endpoint-removed':
          if (this.workloads.has(c.ref)) this.workloads.set(c.ref, undefined);
          if (this.hosts.has(c.ref)) this.hosts.set(c.ref, undefined);
          break;
      }
    }
  }

  /**
   * The node's interfaces and their addresses (the agent reads them from the node): a host endpoint with
   * expectedIPs and no interface name governs the interfaces holding one of them (§3.8). Cheap when unchanged.
   */
  setHostInterfaces(interfaces: ReadonlyMap<string, readonly string[]>): void {
    this.hosts.setInterfaces(interfaces);
  }

  /** Local workload endpoints currently rendered: interface → endpoint ref. */
  localInterfaces(): Map<string, EndpointRef> {
    return this.workloads.localInterfaces();
  }

  /** Brings the desired table up to date with everything applied so far. */
  settle(): void {
    const sharedDirty = new Set<string>();
    // IP sets that gained their first element of a family or lost their last: the chains whose copies for that
    // family come or go (policy-rules.ts), in this same transaction.
    for (const id of this.dirtyIpsets) {
      for (const chain of this.refs.flips(id)) {
        if (this.shared.has(chain)) sharedDirty.add(chain);
        else if (!this.workloads.chainChanged(chain)) this.hosts.chainChanged(chain);
      }
    }
    for (const key of this.dirtyPolicies) {
      for (const chain of this.shared.chainsOfPolicy(key)) sharedDirty.add(chain);
      this.workloads.policyChanged(key);
      this.hosts.policyChanged(key);
    }
    this.dirtyPolicies.clear();
    for (const name of this.dirtyProfiles) for (const chain of this.shared.chainsOfProfile(name)) sharedDirty.add(chain);
    this.dirtyProfiles.clear();
    for (const chain of sharedDirty) this.shared.render(chain);
    this.workloads.render();
    this.hosts.render();
    for (const id of this.dirtyIpsets) this.refs.refresh(id);
    this.dirtyIpsets.clear();
  }
}
