// The engine: given resources, decides every flow exactly as Calico's dataplane would, with a trace; keeps
// that state incrementally; and publishes a change feed a dataplane renders from. Read graph.ts first for how
// the parts fit; README.md documents the compiled rules and the change feed for renderers.
//
//   const engine = new PolicyEngine();
//   engine.load(resources);                       // upserts everything and declares in-sync
//   engine.evaluate({ from: 'default/a', to: 'default/b', protocol: 'TCP', port: 80 });
//   engine.apply({ type: 'upsert', resource });   // one change at a time, as a datastore watch delivers them
//   engine.flush();                               // what changed since the last flush, in apply order

import {
  parseIp, type EffectiveFelixConfiguration, type IpAddr, type Issue, type Resource, type ResourceUpdate, type Result,
} from '../api/index.js';
import { Dispatcher } from './dispatcher.js';
import { resolveFlow } from './flow.js';
import { CalculationGraph } from './graph.js';
import { evaluatePath, type PathView } from './host-path.js';
import { endpointKey, policyKeyOf, type EndpointKey, type EndpointModel } from './model.js';
import { FelixSettingsIndex, type NodeSettings } from './felix-settings.js';
import { resolveOptions, type EngineOptions, type ResolvedOptions } from './options.js';
import type {
  CompiledPolicy,
  CompiledProfile,
  DirectionalPolicies,
  EndpointInfo,
  EndpointRef,
  EngineChange,
  Flow,
  FlowVerdict,
  IpSetInfo,
  NetworkSetInfo,
  PolicyId,
  Stage,
} from './types.js';

export * from './types.js';
export type { EngineOptions, FailsafePort, FelixOptionName, ResolvedOptions } from './options.js';
export type { NodeSettings } from './felix-settings.js';
export { DEFAULT_FAILSAFE_INBOUND, DEFAULT_FAILSAFE_OUTBOUND, engineOptionsFromFelix, failsafePortOf } from './options.js';
export { ruleForFamily, ruleMatches, type Packet, type IpSetMembership } from './rule-match.js';
export { compareTiers, comparePolicies, type TierMeta } from './policy-sorter.js';
export { protocolName, protocolNumber } from './protocol.js';

export type ChangeListener = (changes: EngineChange[]) => void;

function keyOfRef(ref: EndpointRef): EndpointKey {
  return endpointKey(ref.startsWith('hep:') ? 'HostEndpoint' : 'WorkloadEndpoint', ref);
}

export class PolicyEngine {
  private readonly options: ResolvedOptions;
  private readonly felix: FelixSettingsIndex;
  private readonly graph = new CalculationGraph();
  private readonly dispatcher: Dispatcher;
  private readonly listeners = new Set<ChangeListener>();
  private readonly view: PathView;

  constructor(options: EngineOptions = {}) {
    this.options = resolveOptions(options);
    this.felix = new FelixSettingsIndex(options);
    this.dispatcher = new Dispatcher(this.graph, this.options, this.felix);
    const felix = this.felix;
    const graph = this.graph;
    this.view = {
      policy: (id) => graph.policy(policyKeyOf(id)),
      profile: (name) => graph.profile(name),
      containsAddress: (id, ip) => graph.ipSets.containsAddress(id, ip),
      containsIpPort: (id, ip, protocol, port) => graph.ipSets.containsIpPort(id, ip, protocol, port),
      stages: (endpoint) => graph.stagesOf(endpoint.key) ?? {},
      hostEndpointsOn: (node) => graph.hostEndpointsOn(node),
      settings: (node) => felix.forNode(node),
    };
  }

  /**
   * The cluster-wide settings in force, defaults filled in (failsafe ports, endpoint-to-host action, …): the
   * options given, over FelixConfiguration `default`. A node's own are felixSettings(node).
   */
  get settings(): Readonly<ResolvedOptions> {
    const f = this.felix.forNode(undefined);
    return {
      ...this.options,
      failsafeInboundHostPorts: [...f.failsafeInboundHostPorts], failsafeOutboundHostPorts: [...f.failsafeOutboundHostPorts],
      defaultEndpointToHostAction: f.defaultEndpointToHostAction, allowVXLANPacketsFromWorkloads: f.allowVXLANPacketsFromWorkloads,
      allowIPIPPacketsFromWorkloads: f.allowIPIPPacketsFromWorkloads, vxlanPort: f.vxlanPort,
    };
  }

  /**
   * The FelixConfiguration settings in force on a node, each with its source: an engine option, FelixConfiguration
   * node.<node>, default, or the built-in default (api/felix-configuration.ts). `overrides: false` leaves the engine
   * options out: what the stored FelixConfigurations alone say.
   */
  felixSettings(node?: string, options: { overrides?: boolean } = {}): EffectiveFelixConfiguration {
    return this.felix.effective(node, options.overrides ?? true);
  }

  /** The settings verdicts use on a node (undefined: the cluster-wide ones), in the engine's form. */
  nodeSettings(node?: string): NodeSettings {
    return this.felix.forNode(node);
  }

  /** Changes whenever a FelixConfiguration the engine holds changes (callers that cache settings compare it). */
  get felixRevision(): number {
    return this.felix.revision;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Input

  /** Applies one datastore change. Invalid resources are left out and reported by issues(). */
  apply(update: ResourceUpdate): void {
    this.dispatcher.apply(update);
  }

  /** Upserts every resource, then declares the datastore in sync. */
  load(resources: readonly Resource[]): void {
    for (const resource of resources) this.dispatcher.apply({ type: 'upsert', resource });
    this.markInSync();
  }

  /** The initial snapshot is complete: from now on flush() reports changes (the first flush: everything). */
  markInSync(): void {
    this.graph.markInSync();
  }

  get inSync(): boolean {
    return this.graph.isInSync;
  }

  /** Resources the engine had to leave out, and conversion warnings, one list per resource. */
  issues(): Issue[] {
    return this.dispatcher.issues();
  }

  // -------------------------------------------------------------------------------------------------------------
  // Change feed

  /** The changes since the last flush (none before in-sync); listeners hear them too. */
  flush(): EngineChange[] {
    const changes = this.graph.flush();
    if (changes.length > 0) for (const l of this.listeners) l(changes);
    return changes;
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Queries

  endpoints(): EndpointInfo[] {
    const out: EndpointInfo[] = [];
    for (const key of this.graph.endpointKeys()) out.push(this.graph.endpointInfo(key)!);
    return out.sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
  }

  endpoint(ref: EndpointRef): EndpointInfo | undefined {
    return this.graph.endpointInfo(keyOfRef(ref));
  }

  /** Endpoints that own an address (a flow from that address is their traffic). */
  endpointsWithAddress(address: string): EndpointInfo[] {
    const ip = parseIp(address);
    if (!ip) return [];
    return this.graph.endpointsWithAddress(ip).map((m) => this.graph.endpointInfo(m.key)!);
  }

  /**
   * The ordered tiers and policies that apply to an endpoint per direction, for one stage (default `normal`;
   * workload endpoints have no other). Undefined for an unknown endpoint.
   */
  policiesFor(ref: EndpointRef, options: { stage?: Stage } = {}): DirectionalPolicies | undefined {
    const key = keyOfRef(ref);
    if (!this.graph.endpointModel(key)) return undefined;
    const stages = this.graph.stagesOf(key) ?? {};
    return stages[options.stage ?? 'normal'] ?? { ingress: [], egress: [] };
  }

  /** Every stage the endpoint has: `normal` for workloads, all four for host endpoints. */
  stagesFor(ref: EndpointRef): Partial<Record<Stage, DirectionalPolicies>> | undefined {
    const key = keyOfRef(ref);
    return this.graph.endpointModel(key) ? this.graph.stagesOf(key) : undefined;
  }

  policies(): CompiledPolicy[] {
    return [...this.graph.policyKeys()].map((k) => this.graph.policy(k)!);
  }

  policy(id: Pick<PolicyId, 'kind' | 'namespace' | 'name'>): CompiledPolicy | undefined {
    return this.graph.policy(policyKeyOf(id));
  }

  /** The endpoints a policy's effective selector matches (in any stage). */
  endpointsSelectedBy(id: Pick<PolicyId, 'kind' | 'namespace' | 'name'>): EndpointInfo[] {
    return [...this.graph.endpointsMatching(policyKeyOf(id))].map((k) => this.graph.endpointInfo(k)!);
  }

  profile(name: string): CompiledProfile {
    return this.graph.profile(name);
  }

  ipSets(): IpSetInfo[] {
    return this.graph.ipSets.ids().sort().map((id) => this.graph.ipSets.info(id)!);
  }

  ipSetMembers(id: string): string[] | undefined {
    return this.graph.ipSets.members(id);
  }

  /** Whether a selector IP set holds the address (what a rule selector matches, §3.1): an IpSetMembership. */
  containsAddress(id: string, ip: IpAddr): boolean {
    return this.view.containsAddress(id, ip);
  }

  /** Whether a named-port IP set holds (address, protocol, port). */
  containsIpPort(id: string, ip: IpAddr, protocol: string, port: number): boolean {
    return this.view.containsIpPort(id, ip, protocol, port);
  }

  /** NetworkSets and GlobalNetworkSets with their effective labels, sorted by kind, namespace and name. */
  networkSets(): NetworkSetInfo[] {
    const key = (s: NetworkSetInfo): string => `${s.kind}\u0000${s.namespace ?? ''}\u0000${s.name}`;
    return this.graph.networkSetInfos().sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  }

  // -------------------------------------------------------------------------------------------------------------
  // Verdicts

  /**
   * Decides a flow as the dataplane would: the egress end (the source's evaluation and, when the traffic leaves
   * its node, the node's host endpoint), the ingress end, and the pending verdict with staged policies enforced.
   */
  evaluate(flow: Flow): Result<FlowVerdict> {
    const resolved = resolveFlow(flow, (ref) => this.endpointModel(ref));
    if (!resolved.ok) return resolved;
    const { src, dst, packet } = resolved.value;
    const { enforced, pending } = evaluatePath(src, dst, packet, this.view);
    const verdictOf = (ends: typeof enforced) =>
      (ends.egress?.verdict ?? 'Allow') === 'Allow' && (ends.ingress?.verdict ?? 'Allow') === 'Allow' ? 'Allow' : 'Deny';
    return {
      ok: true,
      value: {
        verdict: verdictOf(enforced),
        egress: enforced.egress,
        ingress: enforced.ingress,
        pending: { verdict: verdictOf(pending), egress: pending.egress, ingress: pending.ingress },
      },
    };
  }

  private endpointModel(ref: EndpointRef): EndpointModel | undefined {
    return this.graph.endpointModel(keyOfRef(ref));
  }
}

export {
  parsePolicyTestDocument,
  runPolicyTest,
  type AppliedExpectation,
  type AppliedResult,
  type ExpectedDecision,
  type FlowExpectation,
  type FlowResult,
  type PolicyTestDocument,
  type PolicyTestReport,
} from './policy-test.js';
