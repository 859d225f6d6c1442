// Dispatcher: routes each resource update by kind to the conversion that turns it into the engine's model, and
// hands the result to the calculation graph (felix/dispatcher + the libcalico-go update processors):
//
//   Pod            → workload endpoint (§3.9)         Namespace      → profile kns.<ns> (§3.5)
//   WorkloadEndpoint → workload endpoint               ServiceAccount → profile ksa.<ns>.<sa>
//   HostEndpoint   → host endpoint                     Profile        → profile
//   NetworkSet / GlobalNetworkSet → network set         Tier           → tier
//   NetworkPolicy, GlobalNetworkPolicy, Staged*, Kubernetes NetworkPolicy (converted, §4.1) → policy
//
// Defaults are applied here (§2.10), staged policies with `stagedAction: Delete` are dropped (§2.4), and a
// resource that cannot be converted is reported as an issue and left out. It remembers what each source
// resource produced, so a delete (which carries only a key) removes the right model object.
//
// What it does not do: it keeps no indexes and computes nothing about matching; that is the graph's job.

import {
  applyDefaults,
  convertKubernetesPolicy,
  convertedFromOf,
  formatCidr,
  formatIp,
  kindFromManifest,
  kindInfo,
  namespaceProfile,
  NAMESPACE_LABEL,
  parseCidrOrIp,
  podToWorkloadEndpoint,
  resourceKeyString,
  SERVICE_ACCOUNT_LABEL,
  serviceAccountProfile,
  type EndpointPort,
  type FelixConfiguration,
  type HostEndpoint,
  type IpAddr,
  type Issue,
  type KindKey,
  type Labels,
  type NetworkSet,
  type GlobalNetworkSet,
  type Profile,
  type Resource,
  type ResourceKey,
  type ResourceUpdate,
  type Tier,
  type WorkloadEndpoint,
  type WorkloadEndpointPort,
} from '../api/index.js';
import { compilePolicy, compileProfile, type PolicyInput } from './policy-compiler.js';
import { SelectorCache } from './selector-cache.js';
import {
  endpointKey,
  type EndpointKey,
  type EndpointModel,
  type NetworkSetKey,
  type NetworkSetModel,
  type PolicyKey,
  type PolicyModel,
  type ProfileModel,
  type TierModel,
} from './model.js';
import type { FelixSettingsIndex } from './felix-settings.js';
import type { ResolvedOptions } from './options.js';
import type { NamedPort, PolicyKind } from './types.js';

/** What the dispatcher needs from the graph (declared here, by the consumer of these calls). */
export interface ModelSink {
  upsertEndpoint(m: EndpointModel): void;
  removeEndpoint(key: EndpointKey): void;
  upsertNetworkSet(m: NetworkSetModel): void;
  removeNetworkSet(key: NetworkSetKey): void;
  upsertProfile(m: ProfileModel): void;
  removeProfile(name: string): void;
  upsertTier(t: TierModel): void;
  removeTier(name: string): void;
  upsertPolicy(p: PolicyModel): void;
  removePolicy(key: PolicyKey): void;
}

type Produced =
  | { type: 'endpoint'; key: EndpointKey }
  | { type: 'netset'; key: NetworkSetKey }
  | { type: 'profile'; name: string }
  | { type: 'tier'; name: string }
  | { type: 'policy'; key: PolicyKey }
  | { type: 'felix'; name: string };

const ORCHESTRATOR_LABEL = 'projectcalico.org/orchestrator';

function sourceKeyOf(key: ResourceKey): string {
  // Scope is a kind trait: kinds.ts says which kinds are namespaced, nothing here repeats it.
  const namespace = kindInfo(key.kind).namespaced ? key.namespace || 'default' : undefined;
  return resourceKeyString({ kind: key.kind, name: key.name, ...(namespace !== undefined && { namespace }) });
}

function namedPortOf(p: EndpointPort | WorkloadEndpointPort): NamedPort | undefined {
  if (!p.name) return undefined;
  const proto = String(p.protocol).toLowerCase();
  const protocol = proto === '6' ? 'tcp' : proto === '17' ? 'udp' : proto === '132' ? 'sctp' : proto;
  if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'sctp') return undefined;
  return { name: p.name, protocol, port: p.port };
}

/** Endpoint addresses: Felix takes the address of each ipNetworks entry and ignores its prefix. */
function parseAddresses(texts: readonly string[] | undefined): IpAddr[] | string {
  const out: IpAddr[] = [];
  for (const t of texts ?? []) {
    const net = parseCidrOrIp(t);
    if (!net) return `invalid address ${JSON.stringify(t)}`;
    out.push({ family: net.family, value: net.addr });
  }
  return out;
}

function singleNets(addresses: readonly IpAddr[]): string[] {
  return addresses.map((a) => `${formatIp(a)}/${a.family === 4 ? 32 : 128}`);
}

export class Dispatcher {
  private readonly produced = new Map<string, Produced>();
  private readonly selectors = new SelectorCache();
  private readonly issuesBySource = new Map<string, Issue[]>();
  /** profile name → source key → the Profile that source defines, with its rank (see ProfileRank). */
  private readonly profileSources = new Map<string, Map<string, { rank: ProfileRank; profile: Profile }>>();
  /** Profiles pods name (kns.<ns>, ksa.<ns>.<sa>) → the pods naming them, for implied Namespaces/ServiceAccounts. */
  private readonly impliedUsers = new Map<string, Set<string>>();
  private readonly podProfiles = new Map<string, string[]>();

  constructor(private readonly sink: ModelSink, private readonly options: ResolvedOptions, private readonly felix: FelixSettingsIndex) {}

  issues(): Issue[] {
    return [...this.issuesBySource.values()].flat();
  }

  apply(update: ResourceUpdate): void {
    if (update.type === 'delete') {
      const source = sourceKeyOf(update.key);
      this.retract(source);
      this.issuesBySource.delete(source);
      return;
    }
    const resource = update.resource;
    const info = kindFromManifest(resource.apiVersion, resource.kind);
    if (!info || typeof resource.metadata?.name !== 'string') {
      this.issuesBySource.set(`?/${String(resource.kind)}/${String(resource.metadata?.name)}`, [{
        code: 'engine.unknown-kind',
        path: [],
        message: `${String(resource.apiVersion)} ${String(resource.kind)} is not a kind the engine knows`,
      }]);
      return;
    }
    const key: ResourceKey = { kind: info.key, name: resource.metadata.name };
    if (info.namespaced) key.namespace = resource.metadata.namespace || 'default';
    const source = sourceKeyOf(key);
    this.issuesBySource.delete(source);
    const label = `${info.kind} ${key.namespace ? `${key.namespace}/` : ''}${key.name}`;
    const next = this.convert(info.key, resource, key, source, label);
    const prev = this.produced.get(source);
    // A source whose product changed identity (or vanished) retracts the old one first.
    if (prev && (!next || !sameProduct(prev, next))) this.retract(source);
    if (next) this.produced.set(source, next);
  }

  private report(source: string, label: string, code: string, message: string): void {
    const list = this.issuesBySource.get(source) ?? [];
    list.push({ code, path: [], message, resource: label });
    this.issuesBySource.set(source, list);
  }

  private retract(source: string): void {
    const prev = this.produced.get(source);
    if (!prev) return;
    this.produced.delete(source);
    switch (prev.type) {
      case 'endpoint':
        this.setPodProfiles(source, []);
        return this.sink.removeEndpoint(prev.key);
      case 'netset':
        return this.sink.removeNetworkSet(prev.key);
      case 'tier':
        return this.sink.removeTier(prev.name);
      case 'policy':
        return this.sink.removePolicy(prev.key);
      case 'felix':
        return this.felix.set(prev.name, undefined);
      case 'profile': {
        const sources = this.profileSources.get(prev.name);
        sources?.delete(source);
        if (sources?.size === 0) this.profileSources.delete(prev.name);
        return this.publishProfile(prev.name);
      }
    }
  }

  private convert(kind: KindKey, resource: Resource, key: ResourceKey, source: string, label: string): Produced | undefined {
    const fail = (message: string): undefined => {
      this.report(source, label, 'engine.invalid-resource', message);
      return undefined;
    };
    switch (kind) {
      case 'Pod': {
        const wep = podToWorkloadEndpoint(resource as Extract<Resource, { kind: 'Pod' }>);
        // No endpoint for host-networked pods and pods without an address (Calico makes none either).
        if (!wep) {
          this.setPodProfiles(source, []);
          return undefined;
        }
        this.setPodProfiles(source, wep.spec.profiles ?? []);
        return this.endpoint(workloadModel(wep, 'Pod', key.name), fail);
      }
      case 'WorkloadEndpoint':
        return this.endpoint(workloadModel(resource as WorkloadEndpoint, 'WorkloadEndpoint', key.name), fail);
      case 'HostEndpoint':
        return this.endpoint(hostModel(resource as HostEndpoint), fail);
      case 'NetworkSet':
      case 'GlobalNetworkSet': {
        const model = networkSetModel(resource as NetworkSet | GlobalNetworkSet, key);
        if (typeof model === 'string') return fail(model);
        this.sink.upsertNetworkSet(model);
        return { type: 'netset', key: model.key };
      }
      case 'Namespace':
        return this.profile(namespaceProfile(resource as Extract<Resource, { kind: 'Namespace' }>), 'derived', source);
      case 'ServiceAccount':
        return this.profile(serviceAccountProfile(resource as Extract<Resource, { kind: 'ServiceAccount' }>), 'derived', source);
      case 'Profile':
        return this.profile(resource as Profile, 'explicit', source);
      case 'Tier': {
        const tier = applyDefaults(resource) as Tier;
        const model: TierModel = { name: tier.metadata.name, defaultAction: tier.spec.defaultAction === 'Pass' ? 'Pass' : 'Deny' };
        if (typeof tier.spec.order === 'number') model.order = tier.spec.order;
        this.sink.upsertTier(model);
        return { type: 'tier', name: model.name };
      }
      case 'NetworkPolicy':
      case 'GlobalNetworkPolicy':
      case 'StagedNetworkPolicy':
      case 'StagedGlobalNetworkPolicy':
        return this.calicoPolicy(kind, applyDefaults(resource), fail);
      case 'KubernetesNetworkPolicy':
      case 'StagedKubernetesNetworkPolicy':
        return this.kubernetesPolicy(resource, source, label, fail);
      case 'IPPool':
      // Who may read and write policy is the server's business (src/server/rbac/), not the dataplane's.
      case 'Role':
      case 'ClusterRole':
      case 'RoleBinding':
      case 'ClusterRoleBinding':
        return undefined;
      case 'FelixConfiguration': {
        // Settings, not part of the policy model: verdicts read them per node (felix-settings.ts).
        const c = resource as FelixConfiguration;
        this.felix.set(c.metadata.name, c.spec ?? {});
        return { type: 'felix', name: c.metadata.name };
      }
    }
  }

  private endpoint(model: EndpointModel | string, fail: (m: string) => undefined): Produced | undefined {
    if (typeof model === 'string') return fail(model);
    this.sink.upsertEndpoint(model);
    return { type: 'endpoint', key: model.key };
  }

  private calicoPolicy(kind: PolicyKind, resource: Resource, fail: (m: string) => undefined): Produced | undefined {
    const p = resource as Extract<Resource, { kind: 'NetworkPolicy' | 'GlobalNetworkPolicy' | 'StagedNetworkPolicy' | 'StagedGlobalNetworkPolicy' }>;
    // §2.4: staged Delete objects never reach Felix.
    if ('stagedAction' in p.spec && p.spec.stagedAction === 'Delete') return undefined;
    const input: PolicyInput = { kind, name: p.metadata.name, spec: p.spec as PolicyInput['spec'] };
    if (p.metadata.namespace !== undefined) input.namespace = p.metadata.namespace;
    return this.policy(input, fail);
  }

  private kubernetesPolicy(resource: Resource, source: string, label: string, fail: (m: string) => undefined): Produced | undefined {
    const np = resource as Extract<Resource, { kind: 'NetworkPolicy' | 'StagedKubernetesNetworkPolicy' }>;
    if (np.kind === 'StagedKubernetesNetworkPolicy' && np.spec?.stagedAction === 'Delete') return undefined;
    const { policy, warnings } = convertKubernetesPolicy(
      np as Parameters<typeof convertKubernetesPolicy>[0],
      { naming: this.options.kubernetesPolicyNaming },
    );
    for (const w of warnings) this.report(source, label, 'engine.conversion-warning', w);
    const kind: PolicyKind = convertedFromOf(policy)?.kindKey ?? 'KubernetesNetworkPolicy';
    return this.policy({ kind, namespace: policy.metadata.namespace ?? 'default', name: policy.metadata.name, spec: policy.spec as PolicyInput['spec'] }, fail);
  }

  private policy(input: PolicyInput, fail: (m: string) => undefined): Produced | undefined {
    const compiled = compilePolicy(input, this.selectors);
    if (!compiled.ok) return fail(compiled.message);
    this.sink.upsertPolicy(compiled.value);
    return { type: 'policy', key: compiled.value.key };
  }

  private profile(profile: Profile, rank: ProfileRank, source: string): Produced {
    const name = profile.metadata.name;
    let sources = this.profileSources.get(name);
    if (!sources) this.profileSources.set(name, (sources = new Map()));
    sources.set(source, { rank, profile });
    this.publishProfile(name);
    return { type: 'profile', name };
  }

  /**
   * A pod's namespace and service account always exist in a real cluster. When the resources given leave them
   * out, the pod still gets the profiles Calico would derive from an unlabelled Namespace or ServiceAccount
   * (kns.<ns> allows everything), instead of Felix's deny-all stand-in for an unknown profile; an issue says so.
   */
  private setPodProfiles(source: string, profiles: readonly string[]): void {
    const before = this.podProfiles.get(source) ?? [];
    if (before.join() === profiles.join()) return;
    if (profiles.length > 0) this.podProfiles.set(source, [...profiles]);
    else this.podProfiles.delete(source);
    for (const p of before) {
      const users = this.impliedUsers.get(p);
      users?.delete(source);
      if (users?.size === 0) {
        this.impliedUsers.delete(p);
        this.profileSources.get(p)?.delete(impliedSource(p));
        if (this.profileSources.get(p)?.size === 0) this.profileSources.delete(p);
        this.publishProfile(p);
      }
    }
    for (const p of profiles) {
      let users = this.impliedUsers.get(p);
      if (!users) {
        const implied = impliedProfile(p);
        if (!implied) continue;
        this.impliedUsers.set(p, (users = new Set()));
        let sources = this.profileSources.get(p);
        if (!sources) this.profileSources.set(p, (sources = new Map()));
        sources.set(impliedSource(p), { rank: 'implied', profile: implied });
        this.publishProfile(p);
      }
      users.add(source);
    }
  }

  /** The highest-ranked source of a profile wins: a Profile resource, then a Namespace/ServiceAccount, then implied. */
  private publishProfile(name: string): void {
    const sources = this.profileSources.get(name);
    this.issuesBySource.delete(impliedSource(name));
    if (!sources || sources.size === 0) {
      this.sink.removeProfile(name);
      return;
    }
    const [chosenSource, chosen] = [...sources].sort(([, a], [, b]) => PROFILE_RANKS[b.rank] - PROFILE_RANKS[a.rank])[0]!;
    if (chosen.rank === 'implied') {
      const what = name.startsWith('kns.') ? `Namespace ${name.slice(4)}` : `ServiceAccount of profile ${name}`;
      this.report(impliedSource(name), what, 'engine.implied-resource',
        `${what} is not among the resources; its pods get the profile ${name} it would give without labels`);
    }
    const compiled = compileProfile(chosen.profile, this.selectors);
    if (!compiled.ok) {
      this.report(chosenSource, `Profile ${name}`, 'engine.invalid-resource', compiled.message);
      this.sink.removeProfile(name);
      return;
    }
    this.sink.upsertProfile(compiled.value);
  }
}

type ProfileRank = 'explicit' | 'derived' | 'implied';
const PROFILE_RANKS: Record<ProfileRank, number> = { explicit: 2, derived: 1, implied: 0 };

function impliedSource(profile: string): string {
  return `implied/${profile}`;
}

/** The profile an unlabelled Namespace (kns.<ns>) or ServiceAccount (ksa.<ns>.<sa>) would give. */
function impliedProfile(name: string): Profile | undefined {
  if (name.startsWith('kns.')) {
    const ns = name.slice(4);
    return namespaceProfile({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns } } });
  }
  const sa = /^ksa\.([^.]+)\.(.+)$/.exec(name);
  if (sa) return serviceAccountProfile({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa[2]!, namespace: sa[1]! } });
  return undefined;
}

function sameProduct(a: Produced, b: Produced): boolean {
  if (a.type !== b.type) return false;
  switch (a.type) {
    case 'endpoint':
    case 'netset':
    case 'policy':
      return a.key === (b as typeof a).key;
    case 'profile':
    case 'tier':
    case 'felix':
      return a.name === (b as typeof a).name;
  }
}

function workloadModel(wep: WorkloadEndpoint, source: 'Pod' | 'WorkloadEndpoint', name: string): EndpointModel | string {
  const namespace = wep.metadata.namespace || 'default';
  const addresses = parseAddresses(wep.spec.ipNetworks);
  if (typeof addresses === 'string') return `spec.ipNetworks: ${addresses}`;
  // libcalico-go's workload endpoint client stores these labels with every endpoint; pods already have them.
  const ownLabels: Labels = { ...(wep.metadata.labels ?? {}), [NAMESPACE_LABEL]: namespace };
  if (wep.spec.orchestrator) ownLabels[ORCHESTRATOR_LABEL] = wep.spec.orchestrator;
  if (wep.spec.serviceAccountName) ownLabels[SERVICE_ACCOUNT_LABEL] = wep.spec.serviceAccountName;
  const ref = `${namespace}/${name}`;
  const info: EndpointModel['info'] = {
    ref,
    kind: 'WorkloadEndpoint',
    source,
    name,
    namespace,
    ips: addresses.map(formatIp),
    profiles: [...(wep.spec.profiles ?? [])],
    namedPorts: (wep.spec.ports ?? []).map(namedPortOf).filter((p): p is NamedPort => p !== undefined),
  };
  if (wep.spec.node) info.node = wep.spec.node;
  if (wep.spec.interfaceName) info.interfaceName = wep.spec.interfaceName;
  return { key: endpointKey('WorkloadEndpoint', ref), info, ownLabels, addresses, nets: singleNets(addresses) };
}

function hostModel(hep: HostEndpoint): EndpointModel | string {
  const addresses = parseAddresses(hep.spec.expectedIPs);
  if (typeof addresses === 'string') return `spec.expectedIPs: ${addresses}`;
  const ref = `hep:${hep.metadata.name}`;
  const info: EndpointModel['info'] = {
    ref,
    kind: 'HostEndpoint',
    source: 'HostEndpoint',
    name: hep.metadata.name,
    ips: addresses.map(formatIp),
    profiles: [...(hep.spec.profiles ?? [])],
    namedPorts: (hep.spec.ports ?? []).map(namedPortOf).filter((p): p is NamedPort => p !== undefined),
  };
  if (hep.spec.node) info.node = hep.spec.node;
  if (hep.spec.interfaceName) info.interfaceName = hep.spec.interfaceName;
  return {
    key: endpointKey('HostEndpoint', ref),
    info,
    ownLabels: { ...(hep.metadata.labels ?? {}) },
    addresses,
    nets: singleNets(addresses),
  };
}

function networkSetModel(set: NetworkSet | GlobalNetworkSet, key: ResourceKey): NetworkSetModel | string {
  const nets: string[] = [];
  for (const n of set.spec?.nets ?? []) {
    const net = parseCidrOrIp(n);
    if (!net) return `spec.nets: invalid CIDR ${JSON.stringify(n)}`;
    nets.push(formatCidr(net));
  }
  const labels: Labels = { ...(set.metadata.labels ?? {}) };
  if (set.kind === 'NetworkSet') {
    const ns = key.namespace ?? 'default';
    // networksetprocessor.go: namespaced sets carry their namespace and inherit the namespace profile (§1.7).
    labels[NAMESPACE_LABEL] = ns;
    return { key: `NetworkSet|${ns}/${key.name}`, ownLabels: labels, parents: [`kns.${ns}`], nets };
  }
  return { key: `GlobalNetworkSet|${key.name}`, ownLabels: labels, parents: [], nets };
}
