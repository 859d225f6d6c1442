// Kubernetes Pods, Namespaces and ServiceAccounts → the WorkloadEndpoints and Profiles Calico derives from
// them (libcalico-go k8s/conversion: workload_endpoint_default.go, conversion.go; calico-semantics.md §3.5,
// §3.9, §1.7). Names, labels and profile lists match Calico's, so selectors written against a Calico cluster
// (`pcns.*`, `projectcalico.org/namespace`, ...) select the same endpoints here. Pods and Namespaces are first
// given the API server's defaults (./defaults.ts), as Calico only ever sees defaulted objects.

import { createHash } from 'node:crypto';

import {
  CALICO_API_VERSION,
  type Container,
  type IPNAT,
  type Labels,
  type Namespace,
  type ObjectMeta,
  type Pod,
  type Profile,
  type ServiceAccount,
  type WorkloadEndpoint,
  type WorkloadEndpointPort,
  type WorkloadEndpointSpec,
} from '../types.js';
import { formatCidr, formatIp, isSingleAddress, parseCidr, parseCidrOrIp, type IpAddr } from '../net.js';
import { ORCHESTRATOR_LABEL } from './convert.js';
import { defaultNamespace, defaultPod } from './defaults.js';

export const NAMESPACE_LABEL = 'projectcalico.org/namespace';
export const SERVICE_ACCOUNT_LABEL = 'projectcalico.org/serviceaccount';
export const NAMESPACE_PROFILE_PREFIX = 'kns.';
export const SERVICE_ACCOUNT_PROFILE_PREFIX = 'ksa.';
export const NAMESPACE_LABEL_PREFIX = 'pcns.';
export const SERVICE_ACCOUNT_LABEL_PREFIX = 'pcsa.';
/** The label each profile adds for its object's own name: `pcns.projectcalico.org/name`, `pcsa.…/name`. */
export const NAME_LABEL = 'projectcalico.org/name';

const ORCHESTRATOR = 'k8s';
const ENDPOINT = 'eth0';
const INTERFACE_PREFIX = 'cali';
// Calico omits the service-account label when the name would not fit a label value.
const MAX_SERVICE_ACCOUNT_LABEL_LENGTH = 63;

// Calico CNI and AWS VPC CNI annotations, read when the pod status has no IP yet.
const ANNOTATION_POD_IP = 'cni.projectcalico.org/podIP';
const ANNOTATION_POD_IPS = 'cni.projectcalico.org/podIPs';
const ANNOTATION_AWS_POD_IPS = 'vpc.amazonaws.com/pod-ips';
const ANNOTATION_CONTAINER_ID = 'cni.projectcalico.org/containerID';
const ANNOTATION_FLOATING_IPS = 'cni.projectcalico.org/floatingIPs';
const ANNOTATION_ALLOWED_SOURCE_PREFIXES = 'cni.projectcalico.org/allowedSourcePrefixes';

const FINISHED_PHASES = new Set(['Failed', 'Succeeded', 'Completed']);

/** kubectl's namespace for objects that name none. */
function namespaceOf(meta: ObjectMeta): string {
  return meta.namespace || 'default';
}

export function namespaceProfileName(namespace: string): string {
  return `${NAMESPACE_PROFILE_PREFIX}${namespace}`;
}

export function serviceAccountProfileName(namespace: string, serviceAccount: string): string {
  return `${SERVICE_ACCOUNT_PROFILE_PREFIX}${namespace || 'default'}.${serviceAccount}`;
}

/** The host-side veth Calico CNI creates: `cali` + the first 11 hex digits of sha1(`<ns>.<pod>`). */
export function vethNameForWorkload(namespace: string, pod: string): string {
  const digest = createHash('sha1').update(`${namespace}.${pod}`).digest('hex');
  return `${INTERFACE_PREFIX}${digest.slice(0, 11)}`;
}

/**
 * `<node>-k8s-<pod>-eth0` with each `-` inside a field doubled, as Calico's WorkloadEndpointIdentifiers name
 * it. A pod not yet scheduled has no node part (Calico itself does not make endpoints of those).
 */
export function workloadEndpointName(node: string | undefined, pod: string, endpoint = ENDPOINT): string {
  const escape = (field: string): string => field.replace(/-/g, '--');
  const parts = [ORCHESTRATOR, pod, endpoint].map(escape);
  if (node) parts.unshift(escape(node));
  return parts.join('-');
}

function isFinished(pod: Pod): boolean {
  const meta = pod.metadata as ObjectMeta & { deletionTimestamp?: string };
  if (meta.deletionTimestamp) {
    // The CNI plugin blanks its IP annotation the moment the pod loses its address.
    if (meta.annotations?.[ANNOTATION_POD_IP] === '' || meta.annotations?.[ANNOTATION_AWS_POD_IPS] === '') return true;
  }
  return FINISHED_PHASES.has(pod.status?.phase ?? '');
}

/** The pod's addresses, from the status first and then the CNI annotations (getPodIPs). */
function podAddresses(pod: Pod): string[] | undefined {
  const annotations = pod.metadata.annotations ?? {};
  const splitList = (s: string): string[] => s.split(',');
  let texts: string[];
  const statusIPs = pod.status?.podIPs ?? [];
  if (statusIPs.length > 0) texts = statusIPs.map((p) => p.ip);
  else if (pod.status?.podIP) texts = [pod.status.podIP];
  else if (annotations[ANNOTATION_POD_IPS]) texts = splitList(annotations[ANNOTATION_POD_IPS]);
  else if (annotations[ANNOTATION_POD_IP]) texts = [annotations[ANNOTATION_POD_IP]];
  else if (annotations[ANNOTATION_AWS_POD_IPS]) texts = splitList(annotations[ANNOTATION_AWS_POD_IPS]);
  else return [];
  const nets: string[] = [];
  for (const text of texts) {
    // ParseCIDROrIP: a bare address is a /32 or /128; a CIDR is kept in network form.
    const net = parseCidrOrIp(text);
    if (!net) return undefined;
    nets.push(formatCidr(net));
  }
  return nets;
}

function parseJsonStringList(text: string): string[] | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The floating-IP annotation: each external IP NATs to the pod address of its family. */
function floatingIPs(annotation: string, ipNetworks: string[]): IPNAT[] | undefined {
  const externals = parseJsonStringList(annotation);
  if (!externals) return undefined;
  const byFamily = new Map<number, IpAddr>();
  for (const text of ipNetworks) {
    const net = parseCidr(text);
    if (!net) continue;
    // Calico refuses floating IPs for a pod address that is not a single host.
    if (!isSingleAddress(net)) return undefined;
    byFamily.set(net.family, { family: net.family, value: net.addr });
  }
  const nats: IPNAT[] = [];
  for (const external of externals) {
    const internal = byFamily.get(external.includes(':') ? 6 : 4);
    if (internal) nats.push({ internalIP: formatIp(internal), externalIP: external });
  }
  return nats;
}

function allowedSourcePrefixes(annotation: string): string[] | undefined {
  const prefixes = parseJsonStringList(annotation);
  if (!prefixes) return undefined;
  const out: string[] = [];
  for (const p of prefixes) {
    const net = parseCidr(p);
    if (!net) return undefined;
    out.push(formatCidr(net));
  }
  return out;
}

/** Named ports: container ports with a name or a host port; TCP, UDP or SCTP (defaulting made an unset one TCP). */
function endpointPorts(containers: Container[]): WorkloadEndpointPort[] {
  const ports: WorkloadEndpointPort[] = [];
  for (const container of containers) {
    for (const cp of container.ports ?? []) {
      if (!cp.containerPort || (!cp.hostPort && !cp.name)) continue;
      const protocol = cp.protocol;
      if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP') continue;
      const port: WorkloadEndpointPort = { protocol, port: cp.containerPort };
      if (cp.name) port.name = cp.name;
      if (cp.hostPort) port.hostPort = cp.hostPort;
      if (cp.hostIP) port.hostIP = cp.hostIP;
      ports.push(port);
    }
  }
  return ports;
}

/**
 * The WorkloadEndpoint Calico makes of a pod (§3.9). Undefined for host-networked pods (policy does not
 * apply to them), and for pods without a usable address: none yet, finished, or malformed.
 */
export function podToWorkloadEndpoint(input: Pod): WorkloadEndpoint | undefined {
  const pod = defaultPod(input);
  const spec = pod.spec ?? {};
  if (spec.hostNetwork === true) return undefined;
  const ipNetworks = isFinished(pod) ? [] : podAddresses(pod);
  if (!ipNetworks || ipNetworks.length === 0) return undefined;

  const namespace = namespaceOf(pod.metadata);
  const podName = pod.metadata.name;
  // Defaulting filled serviceAccountName from the deprecated serviceAccount field.
  const serviceAccount = spec.serviceAccountName || '';

  const profiles = [namespaceProfileName(namespace)];
  if (serviceAccount) profiles.push(serviceAccountProfileName(namespace, serviceAccount));

  // The pod's own labels, overridden by the three Calico adds.
  const labels: Labels = { ...(pod.metadata.labels ?? {}) };
  labels[NAMESPACE_LABEL] = namespace;
  labels[ORCHESTRATOR_LABEL] = ORCHESTRATOR;
  if (serviceAccount && serviceAccount.length < MAX_SERVICE_ACCOUNT_LABEL_LENGTH) {
    labels[SERVICE_ACCOUNT_LABEL] = serviceAccount;
  }

  const annotations = pod.metadata.annotations ?? {};
  const wepSpec: WorkloadEndpointSpec = { orchestrator: ORCHESTRATOR };
  if (spec.nodeName) wepSpec.node = spec.nodeName;
  wepSpec.pod = podName;
  if (annotations[ANNOTATION_CONTAINER_ID]) wepSpec.containerID = annotations[ANNOTATION_CONTAINER_ID];
  wepSpec.endpoint = ENDPOINT;
  wepSpec.interfaceName = vethNameForWorkload(namespace, podName);
  wepSpec.profiles = profiles;
  wepSpec.ipNetworks = ipNetworks;
  const ports = endpointPorts([...(spec.containers ?? []), ...(spec.initContainers ?? [])]);
  if (ports.length > 0) wepSpec.ports = ports;
  const floating = annotations[ANNOTATION_FLOATING_IPS];
  if (floating !== undefined) {
    const nats = floatingIPs(floating, ipNetworks);
    if (!nats) return undefined;
    if (nats.length > 0) wepSpec.ipNATs = nats;
  }
  if (serviceAccount) wepSpec.serviceAccountName = serviceAccount;
  const spoof = annotations[ANNOTATION_ALLOWED_SOURCE_PREFIXES];
  if (spoof) {
    const prefixes = allowedSourcePrefixes(spoof);
    if (!prefixes) return undefined;
    wepSpec.allowSpoofedSourcePrefixes = prefixes;
  }

  const metadata: ObjectMeta = { name: workloadEndpointName(spec.nodeName, podName), namespace, labels };
  if (pod.metadata.uid !== undefined) metadata.uid = pod.metadata.uid;
  if (pod.metadata.creationTimestamp !== undefined) metadata.creationTimestamp = pod.metadata.creationTimestamp;
  return { apiVersion: CALICO_API_VERSION, kind: 'WorkloadEndpoint', metadata, spec: wepSpec };
}

function profileMetadata(name: string, source: ObjectMeta): ObjectMeta {
  const meta: ObjectMeta = { name };
  if (source.uid !== undefined) meta.uid = source.uid;
  if (source.creationTimestamp !== undefined) meta.creationTimestamp = source.creationTimestamp;
  return meta;
}

function prefixedLabels(prefix: string, labels: Labels | undefined, name: string): Labels {
  const out: Labels = {};
  for (const [k, v] of Object.entries(labels ?? {})) out[`${prefix}${k}`] = v;
  out[`${prefix}${NAME_LABEL}`] = name;
  return out;
}

/** `kns.<ns>`: allows everything both ways (k8s default-allow, §3.5) and carries `pcns.*` labels. */
export function namespaceProfile(input: Namespace): Profile {
  const ns = defaultNamespace(input);
  const name = ns.metadata.name;
  return {
    apiVersion: CALICO_API_VERSION,
    kind: 'Profile',
    metadata: profileMetadata(namespaceProfileName(name), ns.metadata),
    spec: {
      ingress: [{ action: 'Allow' }],
      egress: [{ action: 'Allow' }],
      labelsToApply: prefixedLabels(NAMESPACE_LABEL_PREFIX, ns.metadata.labels, name),
    },
  };
}

/** `ksa.<ns>.<sa>`: no rules, only `pcsa.*` labels for serviceAccount selectors. */
export function serviceAccountProfile(sa: ServiceAccount): Profile {
  const name = sa.metadata.name;
  return {
    apiVersion: CALICO_API_VERSION,
    kind: 'Profile',
    metadata: profileMetadata(serviceAccountProfileName(namespaceOf(sa.metadata), name), sa.metadata),
    spec: { labelsToApply: prefixedLabels(SERVICE_ACCOUNT_LABEL_PREFIX, sa.metadata.labels, name) },
  };
}
