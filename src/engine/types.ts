// The engine's public vocabulary: flows and verdicts (what `tabby explain` / `tabby test` print), the
// per-endpoint tier and policy lists, compiled rules and IP sets (what the nftables renderer consumes), and the
// change feed. Everything here is plain data that serialises to JSON unchanged; the verdict JSON is a stable
// contract (calico-eval's `egress` / `ingress` / `staged` fields read it directly).

import type { Labels } from '../api/index.js';

// ---------------------------------------------------------------------------------------------------------------
// Names

/** The policy kinds as Calico v3.32 reports them in traces (§3.6); k8s policies keep their Kubernetes kind. */
export type PolicyKind =
  | 'NetworkPolicy'
  | 'GlobalNetworkPolicy'
  | 'StagedNetworkPolicy'
  | 'StagedGlobalNetworkPolicy'
  | 'StagedKubernetesNetworkPolicy'
  | 'KubernetesNetworkPolicy';

/**
 * A policy's identity. `ref` is the trace form: `name` for cluster-scoped kinds, `namespace/name` for
 * namespaced ones. Two policies may share a ref when their kinds differ (a GNP and an SGNP named alike).
 */
export interface PolicyId {
  kind: PolicyKind;
  namespace?: string;
  name: string;
  ref: string;
}

/**
 * How a flow names an endpoint: `namespace/name` for a Pod or a namespaced WorkloadEndpoint, `hep:<name>` for a
 * HostEndpoint.
 */
export type EndpointRef = string;

/**
 * The four processing stages of §3.8. Workload endpoints have only `normal`; host endpoints have all four
 * (`untracked` = doNotTrack policies, `preDNAT` = preDNAT policies, ingress only, `forward` = the
 * applyOnForward subset of the normal policies, for traffic forwarded through the host endpoint).
 */
export type Stage = 'normal' | 'untracked' | 'preDNAT' | 'forward';
export const STAGES: readonly Stage[] = ['normal', 'untracked', 'preDNAT', 'forward'];

export type Direction = 'ingress' | 'egress';

// ---------------------------------------------------------------------------------------------------------------
// Endpoints

export interface NamedPort {
  name: string;
  /** `tcp`, `udp` or `sctp`. */
  protocol: 'tcp' | 'udp' | 'sctp';
  port: number;
}

export interface EndpointInfo {
  ref: EndpointRef;
  kind: 'WorkloadEndpoint' | 'HostEndpoint';
  /** The resource the endpoint came from (a Pod becomes a WorkloadEndpoint, §3.9). */
  source: 'Pod' | 'WorkloadEndpoint' | 'HostEndpoint';
  name: string;
  namespace?: string;
  node?: string;
  /** Workload: the host-side veth; host endpoint: the interface (`*` = all interfaces), if given. */
  interfaceName?: string;
  /** Workload: the addresses of `ipNetworks`; host endpoint: `expectedIPs`. Canonical text, no prefix. */
  ips: string[];
  /** Effective labels (§1.7): the endpoint's own, then each profile's `labelsToApply`. */
  labels: Labels;
  profiles: string[];
  namedPorts: NamedPort[];
}

/** A NetworkSet or GlobalNetworkSet as rule selectors see it: its nets and effective labels (§1.7). */
export interface NetworkSetInfo {
  kind: 'NetworkSet' | 'GlobalNetworkSet';
  namespace?: string;
  name: string;
  /** Canonical CIDRs. */
  nets: string[];
  /** Own labels, plus `projectcalico.org/namespace` and the `kns.<ns>` profile's labels for a NetworkSet. */
  labels: Labels;
}

/** One tier of an endpoint's ordered policy list for one direction and stage. */
export interface AppliedTier {
  tier: string;
  /**
   * What happens when no policy of the tier decides: the tier's defaultAction (`Deny` when the Tier resource is
   * missing, §3.2), forced to `Pass` in the untracked and preDNAT stages (§3.8).
   */
  defaultAction: 'Deny' | 'Pass';
  policies: AppliedPolicy[];
}

export interface AppliedPolicy {
  id: PolicyId;
  /** Staged policies are listed in order but never enforced (§3.6). */
  staged: boolean;
}

export interface DirectionalPolicies {
  ingress: AppliedTier[];
  egress: AppliedTier[];
}

// ---------------------------------------------------------------------------------------------------------------
// Compiled rules: what a renderer turns into nftables (see src/engine/README.md)

export interface PortRange {
  first: number;
  last: number;
}

/** An ICMP match: type, and code when given. Rendered as `icmp` in IPv4 and `icmpv6` in IPv6 (§3.10). */
export interface IcmpMatch {
  type: number;
  code?: number;
}

/**
 * One rule after Calico's rewrites (§1.8) and Felix's rule scanning (`rule_scanner.go`): selectors are replaced
 * by IP set IDs, named ports by IP+port set IDs. Every present field must match (AND); list fields match when
 * any element matches (OR), `not*` lists when none does. Absent or empty fields match everything.
 */
export interface CompiledRule {
  /** Index in the policy's (or profile's) rule list for this direction: what traces report. */
  index: number;
  action: 'Allow' | 'Deny' | 'Pass' | 'Log';
  /** Render only in this family: set explicitly, or implied by protocol `ICMP` (4) / `ICMPv6` (6) (§3.1). */
  ipVersion?: 4 | 6;
  /** IP protocol number (`TCP` = 6, `UDP` = 17, `ICMP` = 1, `ICMPv6` = 58, `SCTP` = 132, `UDPLite` = 136). */
  protocol?: number;
  notProtocol?: number;
  src: EntityMatch;
  dst: EntityMatch;
  icmp?: IcmpMatch;
  notIcmp?: IcmpMatch;
  /**
   * Set when the rule can never match: a `services` clause (Tabby has no Service resources, so the service IP
   * set is empty). A renderer omits the rule.
   */
  neverMatches?: 'services';
}

export interface EntityMatch {
  /** Canonical masked CIDRs of both families; a renderer keeps those of the family it renders (§3.1). */
  nets: string[];
  notNets: string[];
  /** The address must be in every one of these IP sets. At most one in practice. */
  ipSets: string[];
  /** The address must be in none of these IP sets. */
  notIpSets: string[];
  ports: PortRange[];
  notPorts: PortRange[];
  /** IP+port sets (address, protocol, port): the packet's (address, protocol, port) must be in one of them. */
  namedPortIpSets: string[];
  notNamedPortIpSets: string[];
}

export interface CompiledRules {
  ingress: CompiledRule[];
  egress: CompiledRule[];
}

export interface CompiledPolicy {
  id: PolicyId;
  tier: string;
  /** Missing order sorts as +∞ (§3.2). */
  order?: number;
  types: Direction[];
  staged: boolean;
  doNotTrack: boolean;
  preDNAT: boolean;
  applyOnForward: boolean;
  /** The effective selector after §1.8 (namespace clause, service accounts, namespaceSelector). */
  selector: string;
  rules: CompiledRules;
}

export interface CompiledProfile {
  name: string;
  /** False for a profile an endpoint names but nobody defined: Felix gives it one Deny rule each way. */
  defined: boolean;
  rules: CompiledRules;
}

// ---------------------------------------------------------------------------------------------------------------
// IP sets

/**
 * `net`: members are canonical CIDRs (`10.0.0.1/32`, `10.64.0.0/24`, `fd00::1/128`).
 * `ip-port`: members are `<address>,<protocol>:<port>` (`10.0.0.1,tcp:8080`), as ipset's hash:ip,port writes them.
 */
export type IpSetKind = 'net' | 'ip-port';

export interface IpSetInfo {
  id: string;
  kind: IpSetKind;
  /** The canonical selector whose matching endpoints and network sets fill the set. */
  selector: string;
  namedPort?: { name: string; protocol: 'tcp' | 'udp' | 'sctp' };
  /** A `services` clause: always empty here. */
  service?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Change feed

/**
 * What changed since the previous `flush()`, in an order a dataplane can apply one by one without dangling
 * references (Felix's event sequencer): IP sets and their members, then profiles and policies, then endpoints,
 * then removals of endpoints, policies, profiles and finally IP sets. Nothing is emitted before in-sync.
 */
export type EngineChange =
  | { type: 'ipset-added'; ipSet: IpSetInfo; members: string[] }
  | { type: 'ipset-members'; id: string; added: string[]; removed: string[] }
  | { type: 'ipset-removed'; id: string }
  | { type: 'profile-updated'; profile: CompiledProfile }
  | { type: 'profile-removed'; name: string }
  | { type: 'policy-updated'; policy: CompiledPolicy }
  | { type: 'policy-removed'; id: PolicyId }
  | { type: 'endpoint-updated'; endpoint: EndpointInfo; stages: Partial<Record<Stage, DirectionalPolicies>> }
  | { type: 'endpoint-removed'; ref: EndpointRef };

// ---------------------------------------------------------------------------------------------------------------
// Flows and verdicts

/** A flow's end: an endpoint reference, or a bare address that no endpoint owns (no policy of its own). */
export type FlowPeer = EndpointRef | { ip: string };

export interface Flow {
  from: FlowPeer;
  to: FlowPeer;
  /** A name (`TCP`, `UDP`, `SCTP`, `UDPLite`, `ICMP`, `ICMPv6`, any case) or a number 0–255. */
  protocol: string | number;
  /** Destination port (TCP, UDP, SCTP, UDPLite). */
  port?: number;
  srcPort?: number;
  icmp?: { type?: number; code?: number };
  /** Address family; by default the one both ends have (IPv4 first). */
  ipVersion?: 4 | 6;
}

export type Verdict = 'Allow' | 'Deny';

/** A policy decided: the rule that matched, or rule −1 for the tier's end-of-tier action (§3.3). */
export interface PolicyDecision {
  action: Verdict;
  tier: string;
  kind: PolicyKind;
  /** `name` or `namespace/name`; for rule −1 the first applicable policy of the tier that did not match. */
  policy: string;
  rule: number;
  /** Set when the decision was taken at another stage than the end's own evaluation (host endpoints). */
  stage?: Stage;
  /** Set when the decision was taken at another endpoint than the end's own (the host endpoint of a node). */
  endpoint?: EndpointRef;
}

/** A profile decided; `__PROFILE__` with rule −1 is the drop when no profile allowed (the checker's name). */
export interface ProfileDecision {
  action: Verdict;
  profile: string;
  rule: number;
  stage?: Stage;
  endpoint?: EndpointRef;
}

/**
 * A fixed dataplane rule decided, not a policy (§3.7, §3.8, §3.3):
 * `failsafe` (a failsafe port), `host-to-local-workload` (host → its own pod is not policed),
 * `endpoint-to-host` (DefaultEndpointToHostAction for a pod → its own host), `forward-unpoliced` (no
 * applyOnForward policy applies), `workload-encap` (VXLAN/IP-in-IP from a workload is dropped),
 * `icmpv6-router` (ICMPv6 neighbour/router messages from a workload to its host), `no-policy` (nothing on the
 * path polices this end).
 */
export interface HostRuleDecision {
  action: Verdict;
  hostRule: HostRule;
  rule: -1;
  /** What exactly matched, e.g. `inbound tcp:22`. */
  detail: string;
  stage?: Stage;
  endpoint?: EndpointRef;
}

export type HostRule =
  | 'failsafe'
  | 'host-to-local-workload'
  | 'endpoint-to-host'
  | 'forward-unpoliced'
  | 'workload-encap'
  | 'icmpv6-router'
  | 'no-policy';

export type Decision = PolicyDecision | ProfileDecision | HostRuleDecision;

/** One thing the evaluation did, in order. */
export interface TraceStep {
  /** The endpoint and stage whose evaluation this step belongs to. */
  endpoint: EndpointRef;
  stage: Stage;
  /**
   * `Allow` / `Deny` / `Pass` / `Log`: a rule (or end-of-tier, rule −1) with that action matched.
   * `NoMatch`: a policy or profile had no matching rule. `Skip`: a staged policy skipped by enforcement.
   */
  action: 'Allow' | 'Deny' | 'Pass' | 'Log' | 'NoMatch' | 'Skip';
  tier?: string;
  kind?: PolicyKind;
  policy?: string;
  profile?: string;
  hostRule?: HostRule;
  rule: number;
  note?: string;
}

/** One end of a flow: the egress of `from` or the ingress of `to`, with every stage that polices it. */
export interface EndVerdict {
  endpoint: EndpointRef;
  verdict: Verdict;
  /** The decisive step: the first Deny, or the end's own Allow. Never Pass (Pass leads on to a later one). */
  decision: Decision;
  trace: TraceStep[];
}

export interface FlowVerdict {
  /** Allow when both ends (and everything on the path) allow. */
  verdict: Verdict;
  /** The source side: null when `from` is a bare address. */
  egress: EndVerdict | null;
  /** The destination side: null when `to` is a bare address. */
  ingress: EndVerdict | null;
  /** The same evaluation with staged policies treated as enforced (§3.6). */
  pending: { verdict: Verdict; egress: EndVerdict | null; ingress: EndVerdict | null };
}
