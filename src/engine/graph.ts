// The calculation graph: every engine component, wired in one place (felix/calc/calc_graph.go). Start reading
// here. Updates enter through the dispatcher and flow down; each stage keeps its own index and tells the next
// one only what changed. Nothing is emitted until the owner declares the datastore in sync, and then only on
// flush().
//
//   ResourceUpdate
//        │
//        ▼
//   ┌────────────┐  converts Pods, Namespaces, ServiceAccounts, k8s policies; defaults; drops staged Delete
//   │ Dispatcher │
//   └─────┬──────┘
//         │ endpoints, network sets, profiles, tiers, policies (ModelSink)
//         ▼
//   ┌──────────────────┐ own labels + profile labelsToApply = effective labels (§1.7)
//   │ LabelInheritance │───────────────────────────┐
//   └────────┬─────────┘                           │ endpoints and network sets
//            │ endpoints only                      ▼
//            ▼                               ┌─────────────────────┐   match start/stop
//   ┌────────────────────┐ policy selectors  │ LabelIndex (IP sets)│──────────────────┐
//   │ LabelIndex (policy │◀── policies       └─────────────────────┘                  ▼
//   │ → endpoints)       │                        ▲ selectors of active IP sets  ┌────────────┐
//   └────────┬───────────┘                        └──────────────────────────────│ IpSetIndex │◀─ RuleScanner
//            │ match start/stop → endpoint dirty                                  └─────┬──────┘  (compiled rules
//            ▼                                                                          │          of policies
//   ┌────────────────┐ tiers + PolicySorter                                             │          and profiles)
//   │ PolicyResolver │ per endpoint, stage, direction: ordered tiers and policies       │
//   └────────┬───────┘                                                                  │
//            │                                                                          │
//            ▼                                                                          ▼
//        flush(): change feed (ipset-added/members, profile/policy-updated, endpoint-updated, removals)
//        verdict.ts: flows evaluated against the same state (policy lists, compiled rules, IP set members)

import { BUILTIN_TIERS as API_BUILTIN_TIERS, type IpAddr, type Labels } from '../api/index.js';
import type { Selector } from '../selector/index.js';
import { IpSetIndex, type ItemData } from './ipset-index.js';
import { ItemIndex, LabelIndex } from './label-index.js';
import { LabelInheritance } from './label-inheritance.js';
import {
  namedPortsEqual,
  type EndpointKey,
  type EndpointModel,
  type ItemKey,
  type NetworkSetKey,
  type NetworkSetModel,
  type PolicyKey,
  type PolicyModel,
  type ProfileModel,
  type TierModel,
} from './model.js';
import type { ModelSink } from './dispatcher.js';
import type { TierMeta } from './policy-sorter.js';
import { PolicyResolver, type EndpointStages } from './policy-resolver.js';
import { missingProfileRules } from './rule-scanner.js';
import type { CompiledPolicy, CompiledProfile, EndpointInfo, EngineChange, IpSetInfo, NetworkSetInfo, PolicyId } from './types.js';
import { addTo, removeFrom } from './multimap.js';

/** Tiers that exist in every v3.32 cluster without a Tier resource (§2.5): api/defaults.ts lists them. */
const BUILTIN_TIERS: ReadonlyMap<string, TierMeta> = new Map(
  API_BUILTIN_TIERS.map((t) => [t.name, { name: t.name, order: t.order, defaultAction: t.defaultAction, exists: true }]),
);

const policyUser = (key: PolicyKey): string => `policy:${key}`;
const profileUser = (name: string): string => `profile:${name}`;

/** Whether two policies sort and apply identically (everything the resolver reads). */
function samePlacement(a: CompiledPolicy, b: CompiledPolicy): boolean {
  return a.tier === b.tier && a.order === b.order && a.staged === b.staged && a.doNotTrack === b.doNotTrack &&
    a.preDNAT === b.preDNAT && a.applyOnForward === b.applyOnForward && a.types.join() === b.types.join() &&
    a.id.name === b.id.name && a.id.namespace === b.id.namespace && a.id.kind === b.id.kind;
}

export class CalculationGraph implements ModelSink {
  private readonly endpoints = new Map<EndpointKey, EndpointModel>();
  private readonly networkSets = new Map<NetworkSetKey, NetworkSetModel>();
  private readonly profiles = new Map<string, ProfileModel>();
  private readonly tiers = new Map<string, TierModel>();
  private readonly policies = new Map<PolicyKey, PolicyModel>();
  private readonly policiesByTier = new Map<string, Set<PolicyKey>>();
  private readonly hostEndpointsByNode = new Map<string, Set<EndpointKey>>();
  private readonly profileUsers = new Map<string, Set<EndpointKey>>();

  private readonly inheritance: LabelInheritance<ItemKey>;
  /** Effective labels of endpoints and network sets, shared by both label indexes. */
  private readonly items = new ItemIndex<ItemKey>();
  private readonly policyIndex: LabelIndex<PolicyKey, EndpointKey>;
  private readonly ipSetLabels: LabelIndex<string, ItemKey>;
  readonly ipSets: IpSetIndex<ItemKey>;
  private readonly resolver: PolicyResolver;

  // Change feed state.
  private inSync = false;
  private readonly dirtyEndpoints = new Set<EndpointKey>();
  private readonly removedEndpoints = new Map<EndpointKey, string>();
  /** What the feed last said about each endpoint, compared by reference first and by value when that fails. */
  private readonly emittedEndpoints = new Map<EndpointKey, { model: EndpointModel; labels: Labels; stages: EndpointStages }>();
  private readonly dirtyPolicies = new Set<PolicyKey>();
  private readonly removedPolicies = new Map<PolicyKey, PolicyId>();
  private readonly emittedPolicies = new Set<PolicyKey>();
  private readonly dirtyProfiles = new Set<string>();
  private readonly emittedProfiles = new Set<string>();

  constructor() {
    // Policies apply to endpoints only; IP sets also hold network sets.
    this.policyIndex = new LabelIndex<PolicyKey, EndpointKey>(this.items, {
      onMatchStarted: (_policy, ep) => this.endpointPoliciesChanged(ep),
      onMatchStopped: (_policy, ep) => this.endpointPoliciesChanged(ep),
    }, (item) => this.endpoints.has(item));
    this.ipSetLabels = new LabelIndex<string, ItemKey>(this.items, {
      onMatchStarted: (selectorId, item) => this.ipSets.onMatch(selectorId, item, +1),
      onMatchStopped: (selectorId, item) => this.ipSets.onMatch(selectorId, item, -1),
    });
    this.ipSets = new IpSetIndex<ItemKey>({
      itemsMatching: (selectorId) => this.ipSetLabels.itemsMatching(selectorId),
      watchSelector: (selectorId: string, selector: Selector) => this.ipSetLabels.updateSelector(selectorId, selector),
      unwatchSelector: (selectorId) => this.ipSetLabels.deleteSelector(selectorId),
    });
    this.inheritance = new LabelInheritance<ItemKey>((item, labels) => this.effectiveLabelsChanged(item, labels));
    this.resolver = new PolicyResolver({
      endpointKind: (ep) => this.endpoints.get(ep)?.info.kind,
      policiesMatching: (ep) => this.policyIndex.selectorsMatching(ep),
      policy: (key) => this.policies.get(key)?.compiled,
      tier: (name) => this.tierMeta(name),
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // ModelSink: the dispatcher's output

  upsertEndpoint(m: EndpointModel): void {
    const old = this.endpoints.get(m.key);
    this.endpoints.set(m.key, m);
    if (old?.info.kind === 'HostEndpoint' && old.info.node) removeFrom(this.hostEndpointsByNode, old.info.node, m.key);
    if (m.info.kind === 'HostEndpoint' && m.info.node) addTo(this.hostEndpointsByNode, m.info.node, m.key);
    const before = new Set(old?.info.profiles ?? []);
    const after = new Set(m.info.profiles);
    for (const p of before) if (!after.has(p)) this.releaseProfile(p, m.key);
    for (const p of after) if (!before.has(p)) this.useProfile(p, m.key);
    if (!old || old.nets.join() !== m.nets.join() || !namedPortsEqual(old.info.namedPorts, m.info.namedPorts)) {
      this.ipSets.updateItemData(m.key, itemDataOfEndpoint(m), this.ipSetLabels.selectorsMatching(m.key));
    }
    this.removedEndpoints.delete(m.key);
    this.inheritance.updateItem(m.key, m.ownLabels, m.info.profiles);
    this.dirtyEndpoints.add(m.key);
  }

  removeEndpoint(key: EndpointKey): void {
    const old = this.endpoints.get(key);
    if (!old) return;
    this.ipSets.updateItemData(key, undefined, this.ipSetLabels.selectorsMatching(key));
    this.ipSetLabels.deleteItem(key);
    this.policyIndex.deleteItem(key);
    this.items.delete(key);
    this.inheritance.deleteItem(key);
    this.resolver.forget(key);
    this.endpoints.delete(key);
    if (old.info.kind === 'HostEndpoint' && old.info.node) removeFrom(this.hostEndpointsByNode, old.info.node, key);
    for (const p of new Set(old.info.profiles)) this.releaseProfile(p, key);
    this.dirtyEndpoints.delete(key);
    if (this.emittedEndpoints.has(key)) this.removedEndpoints.set(key, old.info.ref);
  }

  upsertNetworkSet(m: NetworkSetModel): void {
    const old = this.networkSets.get(m.key);
    this.networkSets.set(m.key, m);
    if (!old || old.nets.join() !== m.nets.join()) {
      this.ipSets.updateItemData(m.key, { nets: m.nets, addresses: [], namedPorts: [] }, this.ipSetLabels.selectorsMatching(m.key));
    }
    this.inheritance.updateItem(m.key, m.ownLabels, m.parents);
  }

  removeNetworkSet(key: NetworkSetKey): void {
    if (!this.networkSets.has(key)) return;
    this.ipSets.updateItemData(key, undefined, this.ipSetLabels.selectorsMatching(key));
    this.ipSetLabels.deleteItem(key);
    this.items.delete(key);
    this.inheritance.deleteItem(key);
    this.networkSets.delete(key);
  }

  upsertProfile(m: ProfileModel): void {
    this.profiles.set(m.name, m);
    this.ipSets.setUser(profileUser(m.name), m.ipSets);
    this.inheritance.updateParent(m.name, m.labelsToApply ?? {});
    this.dirtyProfiles.add(m.name);
  }

  removeProfile(name: string): void {
    if (!this.profiles.delete(name)) return;
    this.ipSets.setUser(profileUser(name), []);
    this.inheritance.updateParent(name, undefined);
    this.dirtyProfiles.add(name);
  }

  upsertTier(t: TierModel): void {
    this.tiers.set(t.name, t);
    this.tierChanged(t.name);
  }

  removeTier(name: string): void {
    if (this.tiers.delete(name)) this.tierChanged(name);
  }

  upsertPolicy(p: PolicyModel): void {
    const old = this.policies.get(p.key);
    this.policies.set(p.key, p);
    if (old && old.compiled.tier !== p.compiled.tier) removeFrom(this.policiesByTier, old.compiled.tier, p.key);
    addTo(this.policiesByTier, p.compiled.tier, p.key);
    this.ipSets.setUser(policyUser(p.key), p.ipSets);
    if (old && !samePlacement(old.compiled, p.compiled)) {
      for (const ep of this.policyIndex.itemsMatching(p.key)) this.endpointPoliciesChanged(ep);
    }
    this.policyIndex.updateSelector(p.key, p.subject);
    this.removedPolicies.delete(p.key);
    this.dirtyPolicies.add(p.key);
  }

  removePolicy(key: PolicyKey): void {
    const old = this.policies.get(key);
    if (!old) return;
    this.policyIndex.deleteSelector(key);
    this.ipSets.setUser(policyUser(key), []);
    this.policies.delete(key);
    removeFrom(this.policiesByTier, old.compiled.tier, key);
    this.dirtyPolicies.delete(key);
    if (this.emittedPolicies.has(key)) this.removedPolicies.set(key, old.compiled.id);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Internal propagation

  private effectiveLabelsChanged(item: ItemKey, labels: Labels): void {
    this.items.set(item, labels);
    if (this.endpoints.has(item)) {
      this.policyIndex.updateItem(item);
      this.dirtyEndpoints.add(item);
    }
    this.ipSetLabels.updateItem(item);
  }

  /** A profile is in the feed while it is defined or some endpoint names it; only that transition matters. */
  private useProfile(name: string, ep: EndpointKey): void {
    if (!this.profileUsers.has(name)) this.dirtyProfiles.add(name);
    addTo(this.profileUsers, name, ep);
  }

  private releaseProfile(name: string, ep: EndpointKey): void {
    removeFrom(this.profileUsers, name, ep);
    if (!this.profileUsers.has(name)) this.dirtyProfiles.add(name);
  }

  private endpointPoliciesChanged(ep: EndpointKey): void {
    this.resolver.markDirty(ep);
    this.dirtyEndpoints.add(ep);
  }

  private tierChanged(name: string): void {
    for (const key of this.policiesByTier.get(name) ?? []) {
      for (const ep of this.policyIndex.itemsMatching(key)) this.endpointPoliciesChanged(ep);
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Queries (verdicts, the public API)

  tierMeta(name: string): TierMeta {
    const t = this.tiers.get(name);
    if (t) return { name, ...(t.order !== undefined && { order: t.order }), defaultAction: t.defaultAction, exists: true };
    // A tier only policies name: sorted last, enforced with an empty default action, i.e. Deny (§3.2).
    return BUILTIN_TIERS.get(name) ?? { name, defaultAction: 'Deny', exists: false };
  }

  endpointModel(key: EndpointKey): EndpointModel | undefined {
    return this.endpoints.get(key);
  }

  endpointKeys(): IterableIterator<EndpointKey> {
    return this.endpoints.keys();
  }

  endpointInfo(key: EndpointKey): EndpointInfo | undefined {
    const m = this.endpoints.get(key);
    if (!m) return undefined;
    return { ...m.info, labels: this.inheritance.effectiveLabels(key) ?? m.ownLabels };
  }

  stagesOf(key: EndpointKey): EndpointStages | undefined {
    return this.resolver.stagesOf(key);
  }

  networkSetInfos(): NetworkSetInfo[] {
    return [...this.networkSets.values()].map((m) => {
      const [kind, id] = m.key.split('|') as ['NetworkSet' | 'GlobalNetworkSet', string];
      const slash = id.indexOf('/');
      const named = kind === 'NetworkSet' ? { namespace: id.slice(0, slash), name: id.slice(slash + 1) } : { name: id };
      return { kind, ...named, nets: [...m.nets], labels: this.inheritance.effectiveLabels(m.key) ?? m.ownLabels };
    });
  }

  /** Policies whose selector matches the endpoint, in no particular order. */
  policiesMatching(key: EndpointKey): ReadonlySet<PolicyKey> {
    return this.policyIndex.selectorsMatching(key);
  }

  /** Endpoints a policy's selector matches. */
  endpointsMatching(key: PolicyKey): ReadonlySet<EndpointKey> {
    return this.policyIndex.itemsMatching(key);
  }

  policy(key: PolicyKey): CompiledPolicy | undefined {
    return this.policies.get(key)?.compiled;
  }

  policyKeys(): IterableIterator<PolicyKey> {
    return this.policies.keys();
  }

  /** A profile's rules; one an endpoint names but nobody defined denies everything (DummyDropRules). */
  profile(name: string): CompiledProfile {
    const p = this.profiles.get(name);
    return p ? { name, defined: true, rules: p.rules } : { name, defined: false, rules: missingProfileRules() };
  }

  hostEndpointsOn(node: string): EndpointModel[] {
    return [...(this.hostEndpointsByNode.get(node) ?? [])].map((k) => this.endpoints.get(k)!);
  }

  /** The endpoints whose addresses include `ip`. */
  endpointsWithAddress(ip: IpAddr): EndpointModel[] {
    const out: EndpointModel[] = [];
    for (const m of this.endpoints.values()) {
      if (m.addresses.some((a) => a.family === ip.family && a.value === ip.value)) out.push(m);
    }
    return out;
  }

  ipSetInfo(id: string): IpSetInfo | undefined {
    return this.ipSets.info(id);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Change feed

  /** Declares the datastore in sync: the next flush reports the whole state. */
  markInSync(): void {
    if (this.inSync) return;
    this.inSync = true;
    for (const k of this.endpoints.keys()) this.dirtyEndpoints.add(k);
    for (const k of this.policies.keys()) this.dirtyPolicies.add(k);
    for (const k of this.profiles.keys()) this.dirtyProfiles.add(k);
    for (const k of this.profileUsers.keys()) this.dirtyProfiles.add(k);
    this.removedEndpoints.clear();
    this.removedPolicies.clear();
    this.ipSets.resetChanges();
  }

  get isInSync(): boolean {
    return this.inSync;
  }

  flush(): EngineChange[] {
    if (!this.inSync) return [];
    const ipSetChanges = this.ipSets.takeChanges();
    const out: EngineChange[] = [...ipSetChanges.added];

    const profileRemovals: EngineChange[] = [];
    for (const name of [...this.dirtyProfiles].sort()) {
      const active = this.profiles.has(name) || this.profileUsers.has(name);
      if (active) {
        out.push({ type: 'profile-updated', profile: this.profile(name) });
        this.emittedProfiles.add(name);
      } else if (this.emittedProfiles.delete(name)) {
        profileRemovals.push({ type: 'profile-removed', name });
      }
    }
    this.dirtyProfiles.clear();

    for (const key of [...this.dirtyPolicies].sort()) {
      const p = this.policies.get(key);
      if (!p) continue;
      out.push({ type: 'policy-updated', policy: p.compiled });
      this.emittedPolicies.add(key);
    }
    this.dirtyPolicies.clear();

    for (const key of [...this.dirtyEndpoints].sort()) {
      const model = this.endpoints.get(key);
      const stages = this.resolver.stagesOf(key);
      if (!model || !stages) continue;
      const labels = this.inheritance.effectiveLabels(key) ?? model.ownLabels;
      const prev = this.emittedEndpoints.get(key);
      this.emittedEndpoints.set(key, { model, labels, stages });
      if (prev && (prev.model === model || jsonEqual(prev.model.info, model.info)) &&
        (prev.labels === labels || jsonEqual(prev.labels, labels)) && (prev.stages === stages || jsonEqual(prev.stages, stages))) {
        continue;
      }
      out.push({ type: 'endpoint-updated', endpoint: { ...model.info, labels }, stages });
    }
    this.dirtyEndpoints.clear();

    for (const [key, ref] of [...this.removedEndpoints].sort(([a], [b]) => (a < b ? -1 : 1))) {
      this.emittedEndpoints.delete(key);
      out.push({ type: 'endpoint-removed', ref });
    }
    this.removedEndpoints.clear();
    for (const [key, id] of [...this.removedPolicies].sort(([a], [b]) => (a < b ? -1 : 1))) {
      this.emittedPolicies.delete(key);
      out.push({ type: 'policy-removed', id });
    }
    this.removedPolicies.clear();
    out.push(...profileRemovals, ...ipSetChanges.removed);
    return out;
  }
}

/** Structural equality of JSON-like values (plain objects, arrays, primitives). */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => jsonEqual(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  let n = 0;
  for (const k in ao) {
    if (!jsonEqual(ao[k], bo[k])) return false;
    n++;
  }
  for (const _ in bo) n--;
  return n === 0;
}

function itemDataOfEndpoint(m: EndpointModel): ItemData {
  return { nets: m.nets, addresses: m.info.ips, namedPorts: m.info.namedPorts };
}
