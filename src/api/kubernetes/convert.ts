// networking.k8s.io/v1 NetworkPolicy (and StagedKubernetesNetworkPolicy) → Calico NetworkPolicy, exactly as
// libcalico-go's K8sNetworkPolicyToCalico writes it (calico-semantics.md §4.1): the same selector text, rule
// grouping, port merging and CIDR re-masking, so a converted policy prints and evaluates as Calico's does.
// The namespace restriction of the selectors is not added here; it is the NetworkPolicy rewrite of §1.8,
// applied to every namespaced policy alike. Calico converts objects the API server has already defaulted, so a
// NetworkPolicy is defaulted first (./defaults.ts: policyTypes, port protocols); a StagedKubernetesNetworkPolicy
// is a Calico CRD that no API-server defaulting touches, and is converted as written.

import {
  CALICO_API_VERSION,
  K8S_NETWORKING_API_VERSION,
  type EntityRule,
  type K8sNetworkPolicy,
  type K8sNetworkPolicyPeer,
  type K8sNetworkPolicyPort,
  type LabelSelector,
  type NetworkPolicy,
  type NetworkPolicySpec,
  type ObjectMeta,
  type PolicyType,
  type Rule,
  type StagedAction,
  type StagedKubernetesNetworkPolicy,
  type StagedNetworkPolicy,
} from '../types.js';
import { DEFAULT_TIER_NAME } from '../defaults.js';
import { formatCidr, parseCidr } from '../net.js';
import { defaultNetworkPolicy } from './defaults.js';
import { type CalicoPort, portFromString, portToManifest, simplifyPorts } from './ports.js';

/** `v3.32`: the k8s name is kept (Calico v3.32+); `knp.default`: `knp.default.<name>` (v3.31 and earlier). */
export type KubernetesPolicyNaming = 'v3.32' | 'knp.default';

export interface ConvertOptions {
  naming?: KubernetesPolicyNaming;
}

export interface ConvertedPolicy<P> {
  policy: P;
  /** Rules dropped (fail-closed) and other conversion notes, each naming the k8s field it concerns. */
  warnings: string[];
}

/**
 * Records which Kubernetes object a converted policy came from, as `<apiVersion> <kind> <namespace>/<name>`,
 * so traces and listings can report the policy as the user wrote it (KubernetesNetworkPolicy or
 * StagedKubernetesNetworkPolicy) rather than as its Calico form.
 */
export const CONVERTED_FROM_ANNOTATION = 'tabby.io/converted-from';

export type ConvertedFromKind = 'KubernetesNetworkPolicy' | 'StagedKubernetesNetworkPolicy';

export interface ConvertedFrom {
  /** The kind key (kinds.ts) of the original object. */
  kindKey: ConvertedFromKind;
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
}

export const ORCHESTRATOR_LABEL = 'projectcalico.org/orchestrator';
const ORCHESTRATOR_TERM = `${ORCHESTRATOR_LABEL} == 'k8s'`;
const K8S_POLICY_ORDER = 1000;
const KNP_NAME_PREFIX = 'knp.default.';

type Protocol = string;

// ---------------------------------------------------------------------------------------------------------------
// Selectors (k8sSelectorToCalico)

/**
 * A k8s label selector in Calico syntax, written as Calico writes it (not canonicalised). Pod selectors start
 * with `projectcalico.org/orchestrator == 'k8s'`; an absent namespace selector is `''` and an empty one is
 * `all()`.
 */
export function labelSelectorToCalico(selector: LabelSelector | undefined, kind: 'pod' | 'namespace'): string {
  const terms: string[] = kind === 'pod' ? [ORCHESTRATOR_TERM] : [];
  if (selector === undefined || selector === null) return terms.join(' && ');
  const matchLabels = isRecord(selector.matchLabels) ? selector.matchLabels : {};
  const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions : [];
  if (kind === 'namespace' && Object.keys(matchLabels).length === 0 && expressions.length === 0) return 'all()';
  // Go's sort.Strings: byte order, which for label keys (ASCII) is code-unit order.
  for (const key of Object.keys(matchLabels).sort(compareStrings)) {
    terms.push(`${key} == '${String(matchLabels[key])}'`);
  }
  for (const e of expressions) {
    if (!isRecord(e)) continue;
    const values = Array.isArray(e.values) ? e.values.map(String).join("', '") : '';
    switch (e.operator) {
      case 'In':
        terms.push(`${String(e.key)} in { '${values}' }`);
        break;
      case 'NotIn':
        terms.push(`${String(e.key)} not in { '${values}' }`);
        break;
      case 'Exists':
        terms.push(`has(${String(e.key)})`);
        break;
      case 'DoesNotExist':
        terms.push(`! has(${String(e.key)})`);
        break;
      default:
        // Calico skips unknown operators; the API server never lets one through.
        break;
    }
  }
  return terms.join(' && ');
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------------------------
// Ports and protocols (k8sPortToCalicoFields)

const CALICO_PROTOCOL_NAMES = ['UDP', 'TCP', 'ICMP', 'ICMPv6', 'SCTP', 'UDPLite'];

/** numorstring.ProtocolFromString: known names in Calico's case, matched case-insensitively. */
function protocolFromString(p: string): Protocol {
  return CALICO_PROTOCOL_NAMES.find((n) => n.toLowerCase() === p.toLowerCase()) ?? p;
}

/** One k8s port → (protocol, ports), ports undefined meaning every port of the protocol. */
function convertPort(port: K8sNetworkPolicyPort): { protocol: Protocol; ports?: CalicoPort[] } | string {
  const rawProtocol: unknown = port.protocol;
  if (rawProtocol !== undefined && rawProtocol !== null && typeof rawProtocol !== 'string') {
    return `invalid protocol ${JSON.stringify(rawProtocol)}`;
  }
  // TCP: SetDefaults_NetworkPolicyPort, already applied to a NetworkPolicy. A staged k8s policy (a CRD the API
  // server does not default) gets it here too: a Calico port match needs a protocol, and TCP is what the same
  // policy gets once it is enforced.
  const protocol = protocolFromString(typeof rawProtocol === 'string' ? rawProtocol : 'TCP');
  const raw: unknown = port.port;
  if (raw === undefined || raw === null) return { protocol };
  let text: string;
  if (typeof raw === 'string') text = raw;
  else if (typeof raw === 'number' && Number.isInteger(raw)) text = String(raw);
  else return `invalid port ${JSON.stringify(raw)}`;
  const endPort: unknown = port.endPort;
  if (endPort !== undefined && endPort !== null) {
    if (typeof endPort !== 'number' || !Number.isInteger(endPort)) return `invalid endPort ${JSON.stringify(endPort)}`;
    text = `${text}:${endPort}`;
  }
  const parsed = portFromString(text);
  if (!parsed.ok) return `invalid port ${text}: ${parsed.error}`;
  return { protocol, ports: [parsed.port] };
}

// ---------------------------------------------------------------------------------------------------------------
// Peers (k8sPeerToCalicoFields)

interface PeerFields {
  selector?: string;
  namespaceSelector?: string;
  nets?: string[];
  notNets?: string[];
}

function remask(cidrText: unknown): string | undefined {
  if (typeof cidrText !== 'string') return undefined;
  const cidr = parseCidr(cidrText);
  return cidr ? formatCidr(cidr) : undefined;
}

/** Undefined peer: no constraint. A string: why the peer cannot be converted. */
function convertPeer(peer: K8sNetworkPolicyPeer | undefined): PeerFields | string {
  if (peer === undefined) return {};
  if (!isRecord(peer)) return 'invalid peer';
  const ipBlock: unknown = peer.ipBlock;
  if (ipBlock !== undefined && ipBlock !== null) {
    // Calico logs a CIDR it cannot parse and leaves the peer unconstrained (fail-open); the API server never
    // admits one, but when it happens here the rule is dropped instead (fail-closed).
    const block = isRecord(ipBlock) ? ipBlock : {};
    const cidr = remask(block.cidr);
    if (cidr === undefined) return `invalid ipBlock cidr ${JSON.stringify(block.cidr)}`;
    const notNets: string[] = [];
    for (const except of Array.isArray(block.except) ? (block.except as unknown[]) : []) {
      const net = remask(except);
      if (net === undefined) return `invalid ipBlock except ${JSON.stringify(except)}`;
      notNets.push(net);
    }
    return notNets.length > 0 ? { nets: [cidr], notNets } : { nets: [cidr] };
  }
  const podSelector: unknown = peer.podSelector;
  const nsSelector: unknown = peer.namespaceSelector;
  const fields: PeerFields = { selector: labelSelectorToCalico(isRecord(podSelector) ? podSelector : undefined, 'pod') };
  const namespaceSelector = labelSelectorToCalico(isRecord(nsSelector) ? nsSelector : undefined, 'namespace');
  if (namespaceSelector !== '') fields.namespaceSelector = namespaceSelector;
  return fields;
}

// ---------------------------------------------------------------------------------------------------------------
// Rules (k8sRuleToCalico)

function entityRule(peer: PeerFields, ports: CalicoPort[] | undefined): EntityRule {
  // Fields in the order of Calico's EntityRule struct, so printed output reads like calicoctl's.
  const rule: EntityRule = {};
  if (peer.nets) rule.nets = peer.nets;
  if (peer.selector) rule.selector = peer.selector;
  if (peer.namespaceSelector) rule.namespaceSelector = peer.namespaceSelector;
  if (ports && ports.length > 0) rule.ports = ports.map(portToManifest);
  if (peer.notNets) rule.notNets = peer.notNets;
  return rule;
}

/**
 * One k8s rule → Calico Allow rules: one per (protocol, peer), protocols in sorted order, each protocol's
 * ports merged. Returns the reason when the rule cannot be converted.
 */
function convertRule(
  peersIn: unknown,
  portsIn: unknown,
  direction: 'ingress' | 'egress',
): Rule[] | string {
  const peers: Array<K8sNetworkPolicyPeer | undefined> =
    Array.isArray(peersIn) && peersIn.length > 0 ? (peersIn as K8sNetworkPolicyPeer[]) : [undefined];
  const ports = Array.isArray(portsIn) ? (portsIn as K8sNetworkPolicyPort[]) : [];

  // Protocol → ports; undefined means all ports of that protocol, and '' (no ports at all) any protocol.
  const byProtocol = new Map<Protocol, CalicoPort[] | undefined>();
  if (ports.length === 0) byProtocol.set('', undefined);
  for (const port of ports) {
    const converted = isRecord(port) ? convertPort(port) : 'invalid port entry';
    if (typeof converted === 'string') return `failed to parse k8s port: ${converted}`;
    const { protocol, ports: calicoPorts } = converted;
    if (calicoPorts === undefined) {
      byProtocol.set(protocol, undefined);
    } else if (!byProtocol.has(protocol) || (byProtocol.get(protocol)?.length ?? 0) > 0) {
      // An earlier "all ports" for this protocol wins over specific ports.
      byProtocol.set(protocol, [...(byProtocol.get(protocol) ?? []), ...calicoPorts]);
    }
  }

  const peerFields: PeerFields[] = [];
  for (const peer of peers) {
    const fields = convertPeer(peer);
    if (typeof fields === 'string') return fields;
    peerFields.push(fields);
  }

  const rules: Rule[] = [];
  for (const protocol of [...byProtocol.keys()].sort(compareStrings)) {
    const merged = simplifyPorts(byProtocol.get(protocol) ?? []);
    for (const peer of peerFields) {
      const rule: Rule = { action: 'Allow' };
      if (protocol !== '') rule.protocol = protocol;
      if (direction === 'ingress') {
        rule.source = entityRule(peer, undefined);
        rule.destination = entityRule({}, merged);
      } else {
        rule.source = {};
        rule.destination = entityRule(peer, merged);
      }
      rules.push(rule);
    }
  }
  return rules;
}

// ---------------------------------------------------------------------------------------------------------------
// Policies (K8sNetworkPolicyToCalico)

function isStaged(np: K8sNetworkPolicy | StagedKubernetesNetworkPolicy): np is StagedKubernetesNetworkPolicy {
  return np.kind === 'StagedKubernetesNetworkPolicy';
}

/** Reads the origin annotation back; undefined for policies that were not converted from k8s objects. */
export function convertedFromOf(policy: { metadata: ObjectMeta }): ConvertedFrom | undefined {
  const value = policy.metadata.annotations?.[CONVERTED_FROM_ANNOTATION];
  if (value === undefined) return undefined;
  const match = /^(\S+) (\S+) ([^/\s]+)\/(\S+)$/.exec(value);
  if (!match) return undefined;
  const [, apiVersion = '', kind = '', namespace = '', name = ''] = match;
  const kindKey: ConvertedFromKind | undefined =
    apiVersion === K8S_NETWORKING_API_VERSION && kind === 'NetworkPolicy' ? 'KubernetesNetworkPolicy'
      : apiVersion === CALICO_API_VERSION && kind === 'StagedKubernetesNetworkPolicy' ? 'StagedKubernetesNetworkPolicy'
        : undefined;
  return kindKey ? { kindKey, apiVersion, kind, namespace, name } : undefined;
}

function convertedMetadata(np: K8sNetworkPolicy | StagedKubernetesNetworkPolicy, naming: KubernetesPolicyNaming): ObjectMeta {
  const source: Partial<ObjectMeta> = isRecord(np.metadata) ? np.metadata : {};
  const name = String(source.name ?? '');
  // kubectl puts an object without a namespace in `default`.
  const namespace = typeof source.namespace === 'string' && source.namespace !== '' ? source.namespace : 'default';
  const meta: ObjectMeta = {
    name: naming === 'knp.default' ? `${KNP_NAME_PREFIX}${name}` : name,
    namespace,
    annotations: { [CONVERTED_FROM_ANNOTATION]: `${np.apiVersion} ${np.kind} ${namespace}/${name}` },
  };
  // uid, creationTimestamp, resourceVersion and the rest are the source store's (api/metadata-strip.ts): a
  // converted policy is a new object, and carrying them would make its apply a conflict (issue 12 §2).
  return meta;
}

function convertSpec(
  spec: K8sNetworkPolicy['spec'],
  warnings: string[],
): NetworkPolicySpec {
  const s: K8sNetworkPolicy['spec'] = isRecord(spec) ? spec : {};
  const convertDirection = (direction: 'ingress' | 'egress'): Rule[] => {
    const out: Rule[] = [];
    const k8sRules: unknown = s[direction];
    (Array.isArray(k8sRules) ? k8sRules : []).forEach((r: unknown, i) => {
      const rule = isRecord(r) ? r : {};
      const converted = convertRule(direction === 'ingress' ? rule.from : rule.to, rule.ports, direction);
      if (typeof converted === 'string') {
        // §4.1: a rule that cannot be converted is dropped; for allow rules that fails closed.
        warnings.push(`spec.${direction}[${i}]: k8s rule couldn't be converted: ${converted}; rule dropped`);
      } else {
        out.push(...converted);
      }
    });
    return out;
  };
  const ingress = convertDirection('ingress');
  const egress = convertDirection('egress');

  const declared: unknown[] = Array.isArray(s.policyTypes) ? s.policyTypes : [];
  const types: PolicyType[] = [];
  if (declared.includes('Ingress')) types.push('Ingress');
  if (declared.includes('Egress')) types.push('Egress');
  else if (egress.length > 0) {
    warnings.push("spec.policyTypes: K8s PolicyTypes don't include 'egress', but NetworkPolicy has egress rules.");
  }
  // No (known) policyTypes: Calico's fallback for API servers from before the field existed, ingress-only. A
  // NetworkPolicy always has them by now (defaulted); a staged k8s policy written without them lands here.
  if (types.length === 0) types.push('Ingress');

  // Fields in the order of Calico's NetworkPolicySpec struct, as calicoctl prints them.
  const out: NetworkPolicySpec = { tier: DEFAULT_TIER_NAME, order: K8S_POLICY_ORDER };
  if (ingress.length > 0) out.ingress = ingress;
  if (egress.length > 0) out.egress = egress;
  out.selector = labelSelectorToCalico(isRecord(s.podSelector) ? s.podSelector : {}, 'pod');
  out.types = types;
  return out;
}

export function convertKubernetesPolicy(np: K8sNetworkPolicy, options?: ConvertOptions): ConvertedPolicy<NetworkPolicy>;
export function convertKubernetesPolicy(
  np: StagedKubernetesNetworkPolicy,
  options?: ConvertOptions,
): ConvertedPolicy<StagedNetworkPolicy>;
export function convertKubernetesPolicy(
  np: K8sNetworkPolicy | StagedKubernetesNetworkPolicy,
  options?: ConvertOptions,
): ConvertedPolicy<NetworkPolicy | StagedNetworkPolicy>;
/**
 * Converts a k8s NetworkPolicy, or a StagedKubernetesNetworkPolicy, to the Calico policy Felix would see
 * (§4.1): tier default, order 1000, Allow rules only. Never throws on malformed input: what cannot be
 * converted is dropped and reported in `warnings`.
 */
export function convertKubernetesPolicy(
  np: K8sNetworkPolicy | StagedKubernetesNetworkPolicy,
  options: ConvertOptions = {},
): ConvertedPolicy<NetworkPolicy | StagedNetworkPolicy> {
  const warnings: string[] = [];
  if (!isStaged(np)) np = defaultNetworkPolicy(np);
  const metadata = convertedMetadata(np, options.naming ?? 'v3.32');
  const spec = convertSpec(np.spec, warnings);
  if (isStaged(np)) {
    // §2.4: the CRD defaults stagedAction to Set.
    const stagedAction: StagedAction = (isRecord(np.spec) ? np.spec.stagedAction as StagedAction | undefined : undefined) ?? 'Set';
    return {
      policy: { apiVersion: CALICO_API_VERSION, kind: 'StagedNetworkPolicy', metadata, spec: { stagedAction, ...spec } },
      warnings,
    };
  }
  return { policy: { apiVersion: CALICO_API_VERSION, kind: 'NetworkPolicy', metadata, spec }, warnings };
}
