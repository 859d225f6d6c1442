// The Kubernetes API server's defaulting of the objects Tabby reads. In a cluster every object is defaulted as it
// is decoded, before validation and long before Calico sees it, so Calico only ever converts defaulted objects.
// Tabby applies the same defaults wherever a Kubernetes object enters it — loading (files, stdin, `kind: List`
// dumps), the datastore, `tabby convert`, and the engine's conversions — and this file is the one place they live:
//
//   networking.k8s.io/v1 NetworkPolicy   k8s.io/kubernetes pkg/apis/networking/v1/defaults.go
//     SetDefaults_NetworkPolicy:      no policyTypes (absent, null or []) → [Ingress], plus Egress when
//                                     len(spec.egress) != 0. `egress: []` stays ingress-only; `egress: [{}]`
//                                     (allow all egress) is an egress policy.
//     SetDefaults_NetworkPolicyPort:  a port without protocol (nil pointer: absent or null) gets TCP; an explicit
//                                     `protocol: ""` is not nil and is left to validation to reject.
//   v1 Pod                                pkg/apis/core/v1 zz_generated.defaults.go (`+default="TCP"`)
//     ContainerPort.protocol "" (absent, null or "") → TCP, in containers and initContainers. The deprecated
//     `serviceAccount` fills an empty `serviceAccountName` (Convert_v1_PodSpec_To_core_PodSpec), so the
//     endpoint's service account (and its `pcsa.*` labels) comes from one field.
//   v1 Namespace                          pkg/apis/core/v1/defaults.go SetDefaults_Namespace
//     label `kubernetes.io/metadata.name: <name>`, always (it overwrites a different value), so namespace
//     selectors on it — the usual way to name one namespace — select it.
//
// Defaults that cannot change a verdict (dnsPolicy, restartPolicy, namespace status phase, …) are left out, as
// is the ServiceAccount admission plugin (`serviceAccountName: default` on create): that is admission, not
// defaulting, and Tabby does not require a pod's service account to exist.
//
// Every function here is pure and copy-on-write: the input is never changed, parts the defaults leave alone are
// shared with it, and an object that needs no default comes back as the same object. Input is untrusted, so a
// field of the wrong shape is left as it is for validation to report (and for the converters to ignore).

import type { K8sNetworkPolicy, Namespace, Pod, PolicyType } from '../types.js';
import { K8S_CORE_API_VERSION, K8S_NETWORKING_API_VERSION, K8S_RBAC_API_VERSION, RBAC_GROUP } from '../types.js';

/** v1.LabelMetadataName, set on every Namespace by the API server (Kubernetes 1.21+). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Go's nil for an optional field: absent or JSON null. */
function isNil(value: unknown): boolean {
  return value === undefined || value === null;
}

/**
 * The policyTypes the API server stores for a NetworkPolicy spec (SetDefaults_NetworkPolicy): the declared ones
 * if any, else [Ingress] plus Egress when the spec has egress rules. Undefined when policyTypes is not a list
 * (a malformed object, which validation rejects).
 */
export function defaultedPolicyTypes(spec: { policyTypes?: unknown; egress?: unknown }): PolicyType[] | undefined {
  const declared = spec.policyTypes;
  if (Array.isArray(declared) && declared.length > 0) return declared as PolicyType[];
  if (!isNil(declared) && !Array.isArray(declared)) return undefined;
  return Array.isArray(spec.egress) && spec.egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}

/** A rule's `ports` with SetDefaults_NetworkPolicyPort applied; the same array when every port has a protocol. */
function defaultPolicyPorts(ports: unknown[]): unknown[] {
  let out: unknown[] | undefined;
  ports.forEach((port, i) => {
    // `ports: [~]` decodes to a zero NetworkPolicyPort in Go: all ports of the default protocol.
    const p = isNil(port) ? {} : port;
    if (!isObject(p) || !isNil(p.protocol)) return;
    out ??= [...ports];
    out[i] = { ...p, protocol: 'TCP' };
  });
  return out ?? ports;
}

function defaultPolicyRules(rules: unknown): unknown {
  if (!Array.isArray(rules)) return rules;
  let out: unknown[] | undefined;
  rules.forEach((rule, i) => {
    if (!isObject(rule) || !Array.isArray(rule.ports)) return;
    const ports = defaultPolicyPorts(rule.ports);
    if (ports === rule.ports) return;
    out ??= [...rules];
    out[i] = { ...rule, ports };
  });
  return out ?? rules;
}

/** A networking.k8s.io/v1 NetworkPolicy as the API server stores it. */
export function defaultNetworkPolicy(np: K8sNetworkPolicy): K8sNetworkPolicy {
  const rawSpec: unknown = np.spec;
  // Go decodes a missing spec as the zero spec, which defaults like any other.
  if (!isNil(rawSpec) && !isObject(rawSpec)) return np;
  const spec: JsonObject = isObject(rawSpec) ? rawSpec : {};
  const changes: JsonObject = {};
  const types = defaultedPolicyTypes(spec);
  if (types !== undefined && types !== spec.policyTypes) changes.policyTypes = types;
  for (const direction of ['ingress', 'egress'] as const) {
    const rules = defaultPolicyRules(spec[direction]);
    if (rules !== spec[direction]) changes[direction] = rules;
  }
  if (Object.keys(changes).length === 0 && rawSpec === spec) return np;
  return { ...np, spec: { ...spec, ...changes } as K8sNetworkPolicy['spec'] };
}

function defaultContainerPorts(containers: unknown): unknown {
  if (!Array.isArray(containers)) return containers;
  let out: unknown[] | undefined;
  containers.forEach((container, i) => {
    if (!isObject(container) || !Array.isArray(container.ports)) return;
    let ports: unknown[] | undefined;
    container.ports.forEach((port: unknown, j) => {
      // ContainerPort.protocol is a plain string in Go: absent, null and "" are all the zero value.
      if (!isObject(port) || !(isNil(port.protocol) || port.protocol === '')) return;
      ports ??= [...(container.ports as unknown[])];
      ports[j] = { ...port, protocol: 'TCP' };
    });
    if (!ports) return;
    out ??= [...containers];
    out[i] = { ...container, ports };
  });
  return out ?? containers;
}

/** A v1 Pod as the API server stores it (the defaults that bear on its endpoint). */
export function defaultPod(pod: Pod): Pod {
  const spec: unknown = pod.spec;
  if (!isObject(spec)) return pod;
  const changes: JsonObject = {};
  for (const field of ['containers', 'initContainers'] as const) {
    const containers = defaultContainerPorts(spec[field]);
    if (containers !== spec[field]) changes[field] = containers;
  }
  const sa = spec.serviceAccount;
  if ((isNil(spec.serviceAccountName) || spec.serviceAccountName === '') && typeof sa === 'string' && sa !== '') {
    changes.serviceAccountName = sa;
  }
  if (Object.keys(changes).length === 0) return pod;
  return { ...pod, spec: { ...spec, ...changes } as Pod['spec'] };
}

/** A v1 Namespace as the API server stores it: with its `kubernetes.io/metadata.name` label. */
export function defaultNamespace(ns: Namespace): Namespace {
  const meta: unknown = ns.metadata;
  if (!isObject(meta) || typeof meta.name !== 'string' || meta.name === '') return ns;
  const labels: unknown = meta.labels;
  if (!isNil(labels) && !isObject(labels)) return ns;
  if (isObject(labels) && labels[NAMESPACE_NAME_LABEL] === meta.name) return ns;
  return { ...ns, metadata: { ...ns.metadata, labels: { ...(isObject(labels) ? labels : {}), [NAMESPACE_NAME_LABEL]: meta.name } as Record<string, string> } };
}

/**
 * rbac/v1 defaults.go (SetDefaults_RoleBinding, SetDefaults_ClusterRoleBinding, SetDefaults_Subject): an empty
 * roleRef.apiGroup, and a User's or Group's empty apiGroup, become rbac.authorization.k8s.io; a ServiceAccount's
 * stays "". A copy; anything of the wrong JSON type is left for the validator to report.
 */
export function defaultRbacBinding<T extends Record<string, unknown>>(binding: T): T {
  const out: Record<string, unknown> = { ...binding };
  // roleRef is a struct in Go, so an absent one is the zero value and gets the default too.
  if (isNil(out.roleRef)) out.roleRef = { apiGroup: RBAC_GROUP };
  else if (isObject(out.roleRef) && (isNil(out.roleRef.apiGroup) || out.roleRef.apiGroup === '')) {
    out.roleRef = { ...out.roleRef, apiGroup: RBAC_GROUP };
  }
  if (Array.isArray(out.subjects)) {
    out.subjects = out.subjects.map((s: unknown) =>
      isObject(s) && (s.kind === 'User' || s.kind === 'Group') && (isNil(s.apiGroup) || s.apiGroup === '') ? { ...s, apiGroup: RBAC_GROUP } : s);
  }
  return out as T;
}

/**
 * Applies the API server's defaults to `value` if it is a Kubernetes object Tabby reads (by apiVersion and kind);
 * returns anything else unchanged. Never throws and never mutates `value`.
 */
export function applyKubernetesDefaults<T>(value: T): T {
  if (!isObject(value)) return value;
  const { apiVersion, kind } = value;
  if (apiVersion === K8S_NETWORKING_API_VERSION && kind === 'NetworkPolicy') {
    return defaultNetworkPolicy(value as unknown as K8sNetworkPolicy) as unknown as T;
  }
  if (apiVersion === K8S_CORE_API_VERSION && kind === 'Pod') return defaultPod(value as unknown as Pod) as unknown as T;
  if (apiVersion === K8S_CORE_API_VERSION && kind === 'Namespace') {
    return defaultNamespace(value as unknown as Namespace) as unknown as T;
  }
  if (apiVersion === K8S_RBAC_API_VERSION && (kind === 'RoleBinding' || kind === 'ClusterRoleBinding')) {
    return defaultRbacBinding(value) as unknown as T;
  }
  return value;
}
