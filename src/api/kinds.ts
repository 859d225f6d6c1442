// Each resource kind declares its own traits here (scope, group, plural, CLI names); shared code asks these
// traits instead of switching on kind names. Plurals match Calico's etcdv3 key layout
// (/calico/resources/v3/projectcalico.org/<plural>/...) and CLI names follow calicoctl and kubectl.

import {
  CALICO_API_VERSION,
  K8S_CORE_API_VERSION,
  K8S_NETWORKING_API_VERSION,
  K8S_RBAC_API_VERSION,
  RBAC_GROUP,
  type Resource,
} from './types.js';

/**
 * A kind key names one resource type unambiguously. The Kubernetes NetworkPolicy is
 * `KubernetesNetworkPolicy`, the name Calico v3.32 gives its converted form (`knp`).
 */
export type KindKey =
  | 'NetworkPolicy'
  | 'GlobalNetworkPolicy'
  | 'StagedNetworkPolicy'
  | 'StagedGlobalNetworkPolicy'
  | 'StagedKubernetesNetworkPolicy'
  | 'Tier'
  | 'NetworkSet'
  | 'GlobalNetworkSet'
  | 'HostEndpoint'
  | 'WorkloadEndpoint'
  | 'Profile'
  | 'IPPool'
  | 'FelixConfiguration'
  | 'KubernetesNetworkPolicy'
  | 'Namespace'
  | 'ServiceAccount'
  | 'Pod'
  | 'Role'
  | 'ClusterRole'
  | 'RoleBinding'
  | 'ClusterRoleBinding';

export interface KindInfo {
  key: KindKey;
  /** The `kind:` written in manifests. */
  kind: string;
  apiVersion: string;
  /** API group used in store keys (`projectcalico.org`, `networking.k8s.io`, `rbac.authorization.k8s.io`, `core`). */
  group: string;
  plural: string;
  namespaced: boolean;
  /** Whether the kind is a policy (has tiers, orders and rules, or k8s policy rules). */
  policy: boolean;
  /** Staged kinds are evaluated only for pending verdicts (§3.6). */
  staged: boolean;
  /** Names accepted on the command line, lower case: singular, plural and short names. */
  cliNames: string[];
  /** Short kind used in Log prefixes and chain names (`np`, `gnp`, `knp`, ...), §3.4. */
  shortKind: string;
}

const CALICO = { apiVersion: CALICO_API_VERSION, group: 'projectcalico.org' } as const;
const RBAC = { apiVersion: K8S_RBAC_API_VERSION, group: RBAC_GROUP } as const;

export const KINDS: readonly KindInfo[] = [
  {
    ...CALICO, key: 'NetworkPolicy', kind: 'NetworkPolicy', plural: 'networkpolicies', namespaced: true,
    policy: true, staged: false, shortKind: 'np',
    cliNames: ['networkpolicy', 'networkpolicies', 'policy', 'policies', 'np', 'nps', 'pol', 'pols',
      'networkpolicy.projectcalico.org', 'networkpolicies.projectcalico.org'],
  },
  {
    ...CALICO, key: 'GlobalNetworkPolicy', kind: 'GlobalNetworkPolicy', plural: 'globalnetworkpolicies',
    namespaced: false, policy: true, staged: false, shortKind: 'gnp',
    cliNames: ['globalnetworkpolicy', 'globalnetworkpolicies', 'gnp', 'gnps', 'globalpolicy', 'globalpolicies'],
  },
  {
    ...CALICO, key: 'StagedNetworkPolicy', kind: 'StagedNetworkPolicy', plural: 'stagednetworkpolicies',
    namespaced: true, policy: true, staged: true, shortKind: 'snp',
    cliNames: ['stagednetworkpolicy', 'stagednetworkpolicies', 'snp', 'snps'],
  },
  {
    ...CALICO, key: 'StagedGlobalNetworkPolicy', kind: 'StagedGlobalNetworkPolicy',
    plural: 'stagedglobalnetworkpolicies', namespaced: false, policy: true, staged: true, shortKind: 'sgnp',
    cliNames: ['stagedglobalnetworkpolicy', 'stagedglobalnetworkpolicies', 'sgnp', 'sgnps'],
  },
  {
    ...CALICO, key: 'StagedKubernetesNetworkPolicy', kind: 'StagedKubernetesNetworkPolicy',
    plural: 'stagedkubernetesnetworkpolicies', namespaced: true, policy: true, staged: true, shortKind: 'sknp',
    cliNames: ['stagedkubernetesnetworkpolicy', 'stagedkubernetesnetworkpolicies', 'sknp', 'sknps'],
  },
  {
    ...CALICO, key: 'Tier', kind: 'Tier', plural: 'tiers', namespaced: false, policy: false, staged: false,
    shortKind: 'tier', cliNames: ['tier', 'tiers'],
  },
  {
    ...CALICO, key: 'NetworkSet', kind: 'NetworkSet', plural: 'networksets', namespaced: true, policy: false,
    staged: false, shortKind: 'ns', cliNames: ['networkset', 'networksets', 'netset', 'netsets'],
  },
  {
    ...CALICO, key: 'GlobalNetworkSet', kind: 'GlobalNetworkSet', plural: 'globalnetworksets', namespaced: false,
    policy: false, staged: false, shortKind: 'gns',
    cliNames: ['globalnetworkset', 'globalnetworksets', 'gns', 'globalnetset', 'globalnetsets'],
  },
  {
    ...CALICO, key: 'HostEndpoint', kind: 'HostEndpoint', plural: 'hostendpoints', namespaced: false,
    policy: false, staged: false, shortKind: 'hep', cliNames: ['hostendpoint', 'hostendpoints', 'hep', 'heps'],
  },
  {
    ...CALICO, key: 'WorkloadEndpoint', kind: 'WorkloadEndpoint', plural: 'workloadendpoints', namespaced: true,
    policy: false, staged: false, shortKind: 'wep',
    cliNames: ['workloadendpoint', 'workloadendpoints', 'wep', 'weps'],
  },
  {
    ...CALICO, key: 'Profile', kind: 'Profile', plural: 'profiles', namespaced: false, policy: false,
    staged: false, shortKind: 'pro', cliNames: ['profile', 'profiles', 'pro', 'pros'],
  },
  {
    ...CALICO, key: 'IPPool', kind: 'IPPool', plural: 'ippools', namespaced: false, policy: false,
    staged: false, shortKind: 'ippool', cliNames: ['ippool', 'ippools', 'pool', 'pools'],
  },
  {
    // calicoctl's aliases (resourcemgr/felixconfig.go): felixconfiguration, felixconfig and their plurals.
    ...CALICO, key: 'FelixConfiguration', kind: 'FelixConfiguration', plural: 'felixconfigurations', namespaced: false,
    policy: false, staged: false, shortKind: 'felixconfig',
    cliNames: ['felixconfiguration', 'felixconfigurations', 'felixconfig', 'felixconfigs'],
  },
  {
    key: 'KubernetesNetworkPolicy', kind: 'NetworkPolicy', apiVersion: K8S_NETWORKING_API_VERSION,
    group: 'networking.k8s.io', plural: 'networkpolicies', namespaced: true, policy: true, staged: false,
    shortKind: 'knp',
    cliNames: ['netpol', 'netpols', 'knp', 'knps', 'kubernetesnetworkpolicy', 'kubernetesnetworkpolicies',
      'networkpolicy.networking.k8s.io', 'networkpolicies.networking.k8s.io'],
  },
  {
    key: 'Namespace', kind: 'Namespace', apiVersion: K8S_CORE_API_VERSION, group: 'core', plural: 'namespaces',
    namespaced: false, policy: false, staged: false, shortKind: 'namespace',
    cliNames: ['namespace', 'namespaces', 'ns'],
  },
  {
    key: 'ServiceAccount', kind: 'ServiceAccount', apiVersion: K8S_CORE_API_VERSION, group: 'core',
    plural: 'serviceaccounts', namespaced: true, policy: false, staged: false, shortKind: 'serviceaccount',
    cliNames: ['serviceaccount', 'serviceaccounts', 'sa'],
  },
  {
    key: 'Pod', kind: 'Pod', apiVersion: K8S_CORE_API_VERSION, group: 'core', plural: 'pods', namespaced: true,
    policy: false, staged: false, shortKind: 'pod', cliNames: ['pod', 'pods', 'po'],
  },
  // kubectl has no short names for the RBAC kinds.
  {
    ...RBAC, key: 'Role', kind: 'Role', plural: 'roles', namespaced: true, policy: false, staged: false,
    shortKind: 'role', cliNames: ['role', 'roles'],
  },
  {
    ...RBAC, key: 'ClusterRole', kind: 'ClusterRole', plural: 'clusterroles', namespaced: false, policy: false,
    staged: false, shortKind: 'clusterrole', cliNames: ['clusterrole', 'clusterroles'],
  },
  {
    ...RBAC, key: 'RoleBinding', kind: 'RoleBinding', plural: 'rolebindings', namespaced: true, policy: false,
    staged: false, shortKind: 'rolebinding', cliNames: ['rolebinding', 'rolebindings'],
  },
  {
    ...RBAC, key: 'ClusterRoleBinding', kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', namespaced: false,
    policy: false, staged: false, shortKind: 'clusterrolebinding', cliNames: ['clusterrolebinding', 'clusterrolebindings'],
  },
];

const BY_KEY = new Map<KindKey, KindInfo>(KINDS.map((k) => [k.key, k]));
const BY_CLI_NAME = new Map<string, KindInfo>(KINDS.flatMap((k) => k.cliNames.map((n) => [n, k] as const)));
const BY_API = new Map<string, KindInfo>(KINDS.map((k) => [`${k.apiVersion}|${k.kind}`, k]));

export function kindInfo(key: KindKey): KindInfo {
  const info = BY_KEY.get(key);
  if (!info) throw new Error(`unknown kind key ${key}`);
  return info;
}

/** Looks a kind up by `apiVersion` and `kind`, as written in a manifest. */
export function kindFromManifest(apiVersion: string, kind: string): KindInfo | undefined {
  return BY_API.get(`${apiVersion}|${kind}`);
}

/** Looks a kind up by a command-line name (case-insensitive), as calicoctl and kubectl accept them. */
export function kindFromCliName(name: string): KindInfo | undefined {
  return BY_CLI_NAME.get(name.toLowerCase());
}

export function kindKeyOf(resource: Resource): KindKey {
  const info = kindFromManifest(resource.apiVersion, resource.kind);
  if (!info) throw new Error(`resource has unknown kind ${resource.apiVersion}/${resource.kind}`);
  return info.key;
}

export function kindInfoOf(resource: Resource): KindInfo {
  return kindInfo(kindKeyOf(resource));
}

/** `ns/name` for namespaced resources, `name` otherwise: the form used in traces, errors and flows. */
export function resourceRef(resource: Resource): string {
  const ns = resource.metadata.namespace;
  return kindInfoOf(resource).namespaced && ns ? `${ns}/${resource.metadata.name}` : resource.metadata.name;
}

/** Every apiVersion/kind pair a manifest may carry, for error messages. */
export function knownManifestKinds(): string[] {
  return KINDS.map((k) => `${k.apiVersion} ${k.kind}`);
}
