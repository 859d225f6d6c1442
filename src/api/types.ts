// Resource types: projectcalico.org/v3 (Calico's policy model), networking.k8s.io/v1 NetworkPolicy and the
// core v1 objects (Namespace, Pod, ServiceAccount) that Calico derives endpoints and profiles from, and the
// rbac.authorization.k8s.io/v1 objects (Role, ClusterRole, RoleBinding, ClusterRoleBinding) that `tabby server`
// authorizes requests with.
// Field names and shapes follow Calico's Go API (api/pkg/apis/projectcalico/v3, calico-semantics.md §2) so a
// manifest that calicoctl accepts loads here unchanged. Optional fields stay optional: defaults are applied by
// api/defaults.ts, never assumed by readers of these types.

export const CALICO_API_VERSION = 'projectcalico.org/v3';
export const K8S_NETWORKING_API_VERSION = 'networking.k8s.io/v1';
export const K8S_CORE_API_VERSION = 'v1';
export const K8S_RBAC_API_VERSION = 'rbac.authorization.k8s.io/v1';
/** The API group of the RBAC kinds, also the `apiGroup` of a roleRef and of User and Group subjects. */
export const RBAC_GROUP = 'rbac.authorization.k8s.io';

export type Labels = Record<string, string>;

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Labels;
  annotations?: Record<string, string>;
  /** Set by the datastore: an opaque string compared for optimistic concurrency. */
  resourceVersion?: string;
  uid?: string;
  creationTimestamp?: string;
  generation?: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Rules (policy_common.go, §2.1)

/** A protocol name in exact case (`TCP`, `UDP`, `ICMP`, `ICMPv6`, `SCTP`, `UDPLite`) or a number 1–255. */
export type Protocol = string | number;

/** A port: a number, a `"min:max"` range, a numeric string, or a named port. */
export type Port = number | string;

export type RuleAction = 'Allow' | 'Deny' | 'Log' | 'Pass';

export interface ICMPFields {
  type?: number;
  code?: number;
}

export interface ServiceAccountMatch {
  names?: string[];
  selector?: string;
}

export interface ServiceMatch {
  name?: string;
  namespace?: string;
}

export interface EntityRule {
  nets?: string[];
  notNets?: string[];
  selector?: string;
  notSelector?: string;
  namespaceSelector?: string;
  ports?: Port[];
  notPorts?: Port[];
  serviceAccounts?: ServiceAccountMatch;
  services?: ServiceMatch;
}

export interface HTTPPath {
  exact?: string;
  prefix?: string;
}

export interface HTTPMatch {
  methods?: string[];
  paths?: HTTPPath[];
}

export interface Rule {
  action: RuleAction;
  ipVersion?: 4 | 6;
  protocol?: Protocol;
  notProtocol?: Protocol;
  icmp?: ICMPFields;
  notICMP?: ICMPFields;
  source?: EntityRule;
  destination?: EntityRule;
  http?: HTTPMatch;
  metadata?: { annotations?: Record<string, string> };
}

export type PolicyType = 'Ingress' | 'Egress';
export type PerformanceHint = 'AssumeNeededOnEveryNode';
export type StagedAction = 'Set' | 'Delete' | 'Learn' | 'Ignore';

// ---------------------------------------------------------------------------------------------------------------
// Policies (§2.2–§2.4)

export interface NetworkPolicySpec {
  tier?: string;
  /** Missing order sorts as +∞ (§3.2). */
  order?: number;
  selector?: string;
  types?: PolicyType[];
  ingress?: Rule[];
  egress?: Rule[];
  serviceAccountSelector?: string;
  performanceHints?: PerformanceHint[];
}

export interface GlobalNetworkPolicySpec extends NetworkPolicySpec {
  namespaceSelector?: string;
  doNotTrack?: boolean;
  preDNAT?: boolean;
  applyOnForward?: boolean;
}

export interface StagedNetworkPolicySpec extends NetworkPolicySpec {
  stagedAction?: StagedAction;
}

export interface StagedGlobalNetworkPolicySpec extends GlobalNetworkPolicySpec {
  stagedAction?: StagedAction;
}

export interface NetworkPolicy {
  apiVersion: typeof CALICO_API_VERSION;
  kind: 'NetworkPolicy';
  metadata: ObjectMeta;
  spec: NetworkPolicySpec;
}

export interface GlobalNetworkPolicy {
  apiVersion: typeof CALICO_API_VERSION;
  kind: 'GlobalNetworkPolicy';
  metadata: ObjectMeta;
  spec: GlobalNetworkPolicySpec;
}

export interface StagedNetworkPolicy {
  apiVersion: typeof CALICO_API_VERSION;
  kind: 'StagedNetworkPolicy';
  metadata: ObjectMeta;
  spec: StagedNetworkPolicySpec;
}

export interface StagedGlobalNetworkPolicy {
  apiVersion: typeof CALICO_API_VERSION;
  kind: 'StagedGlobalNetworkPolicy';
  metadata: ObjectMeta;
  spec: StagedGlobalNetworkPolicySpec;
}

export interface StagedKubernetesNetworkPolicySpec extends K8sNetworkPolicySpec {
  stagedAction?: StagedAction;
}

export interface StagedKubernetesNetworkPolicy {
  apiVersion: typeof CALICO_API_VERSION;
  kind: 'StagedKubernetesNetworkPolicy';
  metadata: ObjectMeta;
  spec: StagedKubernetesNetworkPolicySpec;
}

// ---------------------------------------------------------------------------------------------------------------
// Tiers, sets, endpoints, profiles, pools (§2.5–§2.9)

export type TierDefaultAction = 'Deny' | 'Pass';

export interface TierSpec {
  order?: number;
  defaultAction?: TierDefaultAction;
}

export interface Tier {
  apiVersion: typeof CALICO_API_VERSION;
  kind: 'Tier';
  metadata: ObjectMeta;
  spec: TierSpec;
}

export interface NetworkSetSpec {
  nets?: string[];
}

export interface NetworkSet {
  apiVersion: typeof CALICO_API_VERSION;
  kind: 'NetworkSet';
  metadata: ObjectMeta;
  spec: NetworkSetSpec;
}

export interface GlobalNetworkSet {
  apiVersion: typeof CALICO_API_VERSION;
  kind: 'GlobalNetworkSet';
  metadata: ObjectMeta;
  spec: NetworkSetSpec;
}

export interface EndpointPort {
  name: string;
  protocol: Protocol;
  port: number;
}

export interface HostEndpointSpec {
  node?: string;
  interfaceName?: string;
  expectedIPs?: string[];
  profiles?: string[];
  ports?: EndpointPort[];
}

export interface HostEndpoint {
  apiVersion: typeof CALICO_API_VERSION;
  kind: 'HostEndpoint';
  metadata: ObjectMeta;
  spec: HostEndpointSpec;
}

export interface WorkloadEndpointPort {
  name?: string;
  protocol: Protocol;
  port: number;
  hostPort?: number;
  hostIP?: string;
}

export interface IPNAT {
  internalIP: string;
  externalIP: string;
}

export interface WorkloadEndpointSpec {
  orchestrator?: string;
  workload?: string;
  node?: string;
  containerID?: string;
  pod?: string;
  endpoint?: string;
  serviceAccountName?: string;
  ipNetworks?: string[];
  ipNATs?: IPNAT[];
  ipv4Gateway?: string;
  ipv6Gateway?: string;
  profiles?: string[];
  interfaceName?: string;
  mac?: string;
  ports?: WorkloadEndpointPort[];
  allowSpoofedSourcePrefixes?: string[];
  qosControls?: Record<string, unknown>;
}

export interface WorkloadEndpoint {
  apiVersion: typeof CALICO_API_VERSION;
  kind: 'WorkloadEndpoint';
  metadata: ObjectMeta;
  spec: WorkloadEndpointSpec;
}

export interface ProfileSpec {
  ingress?: Rule[];
  egress?: Rule[];
  labelsToApply?: Labels;
}

export interface Profile {
  apiVersion: typeof CALICO_API_VERSION;
  kind: 'Profile';
  metadata: ObjectMeta;
  spec: ProfileSpec;
}

export interface IPPoolSpec {
  cidr: string;
  blockSize?: number;
  ipipMode?: 'Never' | 'Always' | 'CrossSubnet';
  vxlanMode?: 'Never' | 'Always' | 'CrossSubnet';
  natOutgoing?: boolean;
  disabled?: boolean;
  nodeSelector?: string;
  allowedUses?: Array<'Workload' | 'Tunnel' | 'LoadBalancer'>;
  assignmentMode?: 'Automatic' | 'Manual';
}

export interface IPPool {
  apiVersion: typeof CALICO_API_VERSION;
  kind: 'IPPool';
  metadata: ObjectMeta;
  spec: IPPoolSpec;
}

// ---------------------------------------------------------------------------------------------------------------
// FelixConfiguration (felixconfig.go): the per-cluster (`default`) and per-node (`node.<name>`) settings of the
// dataplane. Tabby applies the fields named in api/felix-configuration.ts; the rest of Calico's spec is accepted
// and stored unchanged (typed below as an open record), so a manifest calicoctl accepts round-trips.

/** ProtoPort: a failsafe entry. calicoctl's validator wants the protocol in upper case. */
export interface ProtoPort {
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  port: number;
  /** A CIDR: only traffic from (inbound) or to (outbound) it. */
  net?: string;
}

export interface FelixConfigurationSpec {
  failsafeInboundHostPorts?: ProtoPort[];
  failsafeOutboundHostPorts?: ProtoPort[];
  defaultEndpointToHostAction?: 'Drop' | 'Accept' | 'Return';
  allowVXLANPacketsFromWorkloads?: boolean;
  allowIPIPPacketsFromWorkloads?: boolean;
  vxlanPort?: number;
  /** Flow-log settings, stored for the flow-log work (Go metav1.Duration: `15s`, `1m30s`). */
  flowLogsFlushInterval?: string;
  flowLogsCollectorDebugTrace?: boolean;
  flowLogsGoldmaneServer?: string;
  flowLogsLocalReporter?: 'Disabled' | 'Enabled';
  flowLogsPolicyEvaluationMode?: 'None' | 'Continuous';
  /** Every other FelixConfigurationSpec field, as validated (validate/felixConfiguration.ts). */
  [field: string]: unknown;
}

export interface FelixConfiguration {
  apiVersion: typeof CALICO_API_VERSION;
  kind: 'FelixConfiguration';
  metadata: ObjectMeta;
  spec: FelixConfigurationSpec;
}

// ---------------------------------------------------------------------------------------------------------------
// Kubernetes objects (networking.k8s.io/v1 and core v1)

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface K8sIPBlock {
  cidr: string;
  except?: string[];
}

export interface K8sNetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: K8sIPBlock;
}

export interface K8sNetworkPolicyPort {
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  port?: number | string;
  endPort?: number;
}

export interface K8sNetworkPolicyIngressRule {
  from?: K8sNetworkPolicyPeer[];
  ports?: K8sNetworkPolicyPort[];
}

export interface K8sNetworkPolicyEgressRule {
  to?: K8sNetworkPolicyPeer[];
  ports?: K8sNetworkPolicyPort[];
}

export interface K8sNetworkPolicySpec {
  podSelector?: LabelSelector;
  policyTypes?: PolicyType[];
  ingress?: K8sNetworkPolicyIngressRule[];
  egress?: K8sNetworkPolicyEgressRule[];
}

export interface K8sNetworkPolicy {
  apiVersion: typeof K8S_NETWORKING_API_VERSION;
  kind: 'NetworkPolicy';
  metadata: ObjectMeta;
  spec: K8sNetworkPolicySpec;
}

export interface Namespace {
  apiVersion: typeof K8S_CORE_API_VERSION;
  kind: 'Namespace';
  metadata: ObjectMeta;
  spec?: Record<string, unknown>;
}

export interface ServiceAccount {
  apiVersion: typeof K8S_CORE_API_VERSION;
  kind: 'ServiceAccount';
  metadata: ObjectMeta;
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  hostPort?: number;
  hostIP?: string;
}

export interface Container {
  name: string;
  image?: string;
  ports?: ContainerPort[];
}

export interface PodSpec {
  nodeName?: string;
  serviceAccountName?: string;
  /** Deprecated alias of serviceAccountName that old manifests still carry. */
  serviceAccount?: string;
  hostNetwork?: boolean;
  containers?: Container[];
  initContainers?: Container[];
}

export interface PodStatus {
  podIP?: string;
  podIPs?: Array<{ ip: string }>;
  phase?: string;
}

export interface Pod {
  apiVersion: typeof K8S_CORE_API_VERSION;
  kind: 'Pod';
  metadata: ObjectMeta;
  spec?: PodSpec;
  status?: PodStatus;
}

// ---------------------------------------------------------------------------------------------------------------
// rbac.authorization.k8s.io/v1 (k8s.io/api/rbac/v1 types.go). Stored and validated as the API server does; what
// they allow is decided by src/server/rbac/.

/**
 * One rule: the verbs allowed on resources of some API groups (optionally only the objects named), or on
 * non-resource URLs (cluster roles only). `*` is every verb, group or resource; a resource `*` slash `sub` is
 * every resource's subresource `sub`.
 */
export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** ClusterRoles whose rules an aggregated ClusterRole collects (stored and validated; not evaluated here). */
export interface AggregationRule {
  clusterRoleSelectors?: LabelSelector[];
}

export interface Role {
  apiVersion: typeof K8S_RBAC_API_VERSION;
  kind: 'Role';
  metadata: ObjectMeta;
  rules?: PolicyRule[];
}

export interface ClusterRole {
  apiVersion: typeof K8S_RBAC_API_VERSION;
  kind: 'ClusterRole';
  metadata: ObjectMeta;
  rules?: PolicyRule[];
  aggregationRule?: AggregationRule;
}

/** Who a binding grants to: a User or Group (apiGroup rbac.authorization.k8s.io) or a ServiceAccount (apiGroup ""). */
export interface Subject {
  kind: 'User' | 'Group' | 'ServiceAccount';
  apiGroup?: string;
  name: string;
  /** A ServiceAccount's namespace; in a RoleBinding it defaults to the binding's own when empty. */
  namespace?: string;
}

/** The role a binding grants; immutable once the binding exists. */
export interface RoleRef {
  apiGroup: string;
  kind: 'Role' | 'ClusterRole';
  name: string;
}

export interface RoleBinding {
  apiVersion: typeof K8S_RBAC_API_VERSION;
  kind: 'RoleBinding';
  metadata: ObjectMeta;
  subjects?: Subject[];
  roleRef: RoleRef;
}

export interface ClusterRoleBinding {
  apiVersion: typeof K8S_RBAC_API_VERSION;
  kind: 'ClusterRoleBinding';
  metadata: ObjectMeta;
  subjects?: Subject[];
  roleRef: RoleRef;
}

export type RbacResource = Role | ClusterRole | RoleBinding | ClusterRoleBinding;

// ---------------------------------------------------------------------------------------------------------------
// Unions

export type CalicoPolicy =
  | NetworkPolicy
  | GlobalNetworkPolicy
  | StagedNetworkPolicy
  | StagedGlobalNetworkPolicy
  | StagedKubernetesNetworkPolicy;

export type CalicoResource =
  | CalicoPolicy
  | Tier
  | NetworkSet
  | GlobalNetworkSet
  | HostEndpoint
  | WorkloadEndpoint
  | Profile
  | IPPool
  | FelixConfiguration;

export type KubernetesResource = K8sNetworkPolicy | Namespace | ServiceAccount | Pod | RbacResource;

/** Every resource Tabby loads, stores and evaluates. */
export type Resource = CalicoResource | KubernetesResource;

/** The kind names, qualified where Calico and Kubernetes share one (`NetworkPolicy`). */
export type ResourceKindName = Resource['kind'];
