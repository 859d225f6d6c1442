// Validation of the Kubernetes objects Tabby reads (networking.k8s.io/v1 NetworkPolicy, v1 Namespace, Pod and
// ServiceAccount, and the rbac.authorization.k8s.io/v1 kinds of ./rbac-validate.ts) as the Kubernetes API server does it: apimachinery's name, label and selector checks and
// pkg/apis/networking/validation. Messages use the API server's wording (`Invalid value: 0: must be between 1
// and 65535, inclusive`) so that a manifest rejected here is rejected by `kubectl apply` for the same reason.
// Wrong JSON types, which the API server reports while decoding, become issues too; nothing here throws on
// bad input. As in the API server, the object is defaulted (./defaults.ts) before it is validated. Unknown fields are reported as kubectl's default strict field validation does, except in Pods
// and object metadata, whose many fields Tabby does not model.

import type { Issue, PathSegment, Result } from '../issues.js';
import { fail, ok } from '../issues.js';
import {
  K8S_CORE_API_VERSION,
  K8S_NETWORKING_API_VERSION,
  K8S_RBAC_API_VERSION,
  type KubernetesResource,
} from '../types.js';
import { cidrCovers, parseCidr, parseIp } from '../net.js';
import { applyKubernetesDefaults } from './defaults.js';
import {
  checkKnownFields, forbidden, goValue, invalid, isObject, notSupported, readArray, readBoolean, readInteger,
  readObject, readString, required, validateLabelSelector, validateObjectMeta, withoutNulls, wrongType, type JsonObject,
} from './fields.js';
import { RBAC_VALIDATORS } from './rbac-validate.js';
import {
  isDns1123Label,
  isDns1123Subdomain,
  isPortName,
  isPortNumber,
} from './names.js';

const PEER_PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
const POLICY_TYPES = ['Ingress', 'Egress'] as const;

// ---------------------------------------------------------------------------------------------------------------
// NetworkPolicy (pkg/apis/networking/validation ValidateNetworkPolicySpec and friends).

function validatePolicyPort(value: unknown, path: PathSegment[], issues: Issue[]): void {
  const port = readObject(value, path, issues);
  if (!port) return;
  checkKnownFields(port, ['protocol', 'port', 'endPort'], path, issues);
  const protocol = readString(port.protocol, [...path, 'protocol'], issues);
  if (protocol !== undefined && !(PEER_PROTOCOLS as readonly string[]).includes(protocol)) {
    issues.push(notSupported('protocol.unsupported', [...path, 'protocol'], protocol, PEER_PROTOCOLS));
  }
  const endPort = readInteger(port.endPort, [...path, 'endPort'], issues);
  const raw = port.port;
  if (raw === undefined || raw === null) {
    if (endPort !== undefined) {
      issues.push(invalid('port.endPort', [...path, 'endPort'], endPort,
        'may not be specified when `port` is not specified'));
    }
  } else if (typeof raw === 'number' && Number.isInteger(raw)) {
    for (const msg of isPortNumber(raw)) issues.push(invalid('port.range', [...path, 'port'], raw, msg));
    if (endPort !== undefined) {
      // The API server reports the start port as the value here.
      if (endPort < raw) {
        issues.push(invalid('port.endPort', [...path, 'endPort'], raw, 'must be greater than or equal to `port`'));
      }
      for (const msg of isPortNumber(endPort)) issues.push(invalid('port.range', [...path, 'endPort'], endPort, msg));
    }
  } else if (typeof raw === 'string') {
    if (endPort !== undefined) {
      issues.push(invalid('port.endPort', [...path, 'endPort'], endPort,
        'may not be specified when `port` is non-numeric'));
    }
    for (const msg of isPortName(raw)) issues.push(invalid('port.name', [...path, 'port'], raw, msg));
  } else {
    issues.push(wrongType([...path, 'port'], raw, 'integer or string'));
  }
}

function validateIPBlock(value: unknown, path: PathSegment[], issues: Issue[]): void {
  const block = readObject(value, path, issues);
  if (!block) return;
  checkKnownFields(block, ['cidr', 'except'], path, issues);
  const cidrText = readString(block.cidr, [...path, 'cidr'], issues);
  const excepts = readArray(block.except, [...path, 'except'], issues) ?? [];
  if (cidrText === undefined || cidrText === '') {
    if (block.cidr === undefined || block.cidr === null || block.cidr === '') {
      issues.push(required('field.required', [...path, 'cidr']));
    }
    return;
  }
  // Host bits are allowed (`10.1.0.1/4`): the API server only parses.
  const cidr = parseCidr(cidrText);
  if (!cidr) {
    issues.push(invalid('cidr.invalid', [...path, 'cidr'], cidrText,
      'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'));
    return;
  }
  excepts.forEach((raw, i) => {
    const exceptPath = [...path, 'except', i];
    const text = readString(raw, exceptPath, issues);
    if (text === undefined) return;
    const except = parseCidr(text);
    if (!except) {
      issues.push(invalid('cidr.invalid', exceptPath, text,
        'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'));
      return;
    }
    if (!cidrCovers(cidr, except) || cidr.prefixLength >= except.prefixLength) {
      issues.push(invalid('cidr.except', exceptPath, text, 'must be a strict subset of `cidr`'));
    }
  });
}

function validatePeer(value: unknown, path: PathSegment[], issues: Issue[]): void {
  const peer = readObject(value, path, issues);
  if (!peer && value !== null && value !== undefined) return;
  const p = peer ?? {};
  checkKnownFields(p, ['podSelector', 'namespaceSelector', 'ipBlock'], path, issues);
  let count = 0;
  if (p.podSelector !== undefined && p.podSelector !== null) {
    count++;
    issues.push(...validateLabelSelector(p.podSelector, [...path, 'podSelector']));
  }
  if (p.namespaceSelector !== undefined && p.namespaceSelector !== null) {
    count++;
    issues.push(...validateLabelSelector(p.namespaceSelector, [...path, 'namespaceSelector']));
  }
  const hasIPBlock = p.ipBlock !== undefined && p.ipBlock !== null;
  if (hasIPBlock) {
    count++;
    validateIPBlock(p.ipBlock, [...path, 'ipBlock'], issues);
  }
  if (count === 0) issues.push(required('peer.required', path, 'must specify a peer'));
  else if (count > 1 && hasIPBlock) {
    issues.push(forbidden('peer.forbidden', path, 'may not specify both ipBlock and another peer'));
  }
}

function validateRules(value: unknown, path: PathSegment[], peerField: 'from' | 'to', issues: Issue[]): void {
  const rules = readArray(value, path, issues) ?? [];
  rules.forEach((raw, i) => {
    const rulePath = [...path, i];
    const rule = readObject(raw, rulePath, issues);
    if (!rule) return;
    checkKnownFields(rule, ['ports', peerField], rulePath, issues);
    const ports = readArray(rule.ports, [...rulePath, 'ports'], issues) ?? [];
    ports.forEach((p, j) => validatePolicyPort(p, [...rulePath, 'ports', j], issues));
    const peers = readArray(rule[peerField], [...rulePath, peerField], issues) ?? [];
    peers.forEach((p, j) => validatePeer(p, [...rulePath, peerField, j], issues));
  });
}

/**
 * Checks a networking.k8s.io/v1 NetworkPolicySpec. Fields outside the k8s spec are left to the caller, so
 * StagedKubernetesNetworkPolicy (which adds `stagedAction`) can reuse this.
 */
export function validateK8sNetworkPolicySpec(spec: unknown, path: PathSegment[]): Issue[] {
  const issues: Issue[] = [];
  const s = readObject(spec, path, issues);
  if (!s) return issues;
  issues.push(...validateLabelSelector(s.podSelector, [...path, 'podSelector']));
  validateRules(s.ingress, [...path, 'ingress'], 'from', issues);
  validateRules(s.egress, [...path, 'egress'], 'to', issues);
  const types = readArray(s.policyTypes, [...path, 'policyTypes'], issues) ?? [];
  if (types.length > POLICY_TYPES.length) {
    issues.push(invalid('policyTypes.count', [...path, 'policyTypes'], types, 'may not specify more than two policyTypes'));
    return issues;
  }
  types.forEach((raw, i) => {
    const t = readString(raw, [...path, 'policyTypes', i], issues);
    if (t !== undefined && !(POLICY_TYPES as readonly string[]).includes(t)) {
      issues.push(notSupported('policyTypes.unsupported', [...path, 'policyTypes', i], t, POLICY_TYPES));
    }
  });
  return issues;
}

const NETWORK_POLICY_SPEC_FIELDS = ['podSelector', 'policyTypes', 'ingress', 'egress'] as const;

function validateNetworkPolicy(obj: JsonObject, issues: Issue[]): void {
  checkKnownFields(obj, ['apiVersion', 'kind', 'metadata', 'spec', 'status'], [], issues);
  validateObjectMeta(obj.metadata, ['metadata'], { namespaced: true, nameCheck: isDns1123Subdomain }, issues);
  // The spec's type is checked by validateK8sNetworkPolicySpec; only its extra fields are ours to report.
  if (isObject(obj.spec)) checkKnownFields(obj.spec, NETWORK_POLICY_SPEC_FIELDS, ['spec'], issues);
  issues.push(...validateK8sNetworkPolicySpec(obj.spec, ['spec']));
}

// ---------------------------------------------------------------------------------------------------------------
// Namespace, ServiceAccount, Pod (pkg/apis/core/validation, the parts Tabby reads).

function validateNamespace(obj: JsonObject, issues: Issue[]): void {
  validateObjectMeta(obj.metadata, ['metadata'], { namespaced: false, nameCheck: isDns1123Label }, issues);
  readObject(obj.spec, ['spec'], issues);
}

function validateServiceAccount(obj: JsonObject, issues: Issue[]): void {
  validateObjectMeta(obj.metadata, ['metadata'], { namespaced: true, nameCheck: isDns1123Subdomain }, issues);
}

function validateContainerPorts(value: unknown, path: PathSegment[], issues: Issue[]): void {
  const ports = readArray(value, path, issues) ?? [];
  const names = new Set<string>();
  ports.forEach((raw, i) => {
    const portPath = [...path, i];
    const port = readObject(raw, portPath, issues);
    if (!port) return;
    const name = readString(port.name, [...portPath, 'name'], issues);
    if (name !== undefined && name !== '') {
      const msgs = isPortName(name);
      for (const msg of msgs) issues.push(invalid('port.name', [...portPath, 'name'], name, msg));
      if (msgs.length === 0 && names.has(name)) {
        issues.push({ code: 'port.duplicate', path: [...portPath, 'name'], value: name,
          message: `Duplicate value: ${goValue(name)}` });
      }
      names.add(name);
    }
    const containerPort = readInteger(port.containerPort, [...portPath, 'containerPort'], issues);
    if (containerPort === undefined || containerPort === 0) {
      if (port.containerPort === undefined || port.containerPort === null || port.containerPort === 0) {
        issues.push(required('field.required', [...portPath, 'containerPort']));
      }
    } else {
      for (const msg of isPortNumber(containerPort)) {
        issues.push(invalid('port.range', [...portPath, 'containerPort'], containerPort, msg));
      }
    }
    const hostPort = readInteger(port.hostPort, [...portPath, 'hostPort'], issues);
    if (hostPort !== undefined && hostPort !== 0) {
      for (const msg of isPortNumber(hostPort)) issues.push(invalid('port.range', [...portPath, 'hostPort'], hostPort, msg));
    }
    // Defaulting (./defaults.ts) has already turned an absent or empty protocol into TCP.
    const protocol = readString(port.protocol, [...portPath, 'protocol'], issues);
    if (protocol !== undefined && !(PEER_PROTOCOLS as readonly string[]).includes(protocol)) {
      issues.push(notSupported('protocol.unsupported', [...portPath, 'protocol'], protocol, ['SCTP', 'TCP', 'UDP']));
    }
    const hostIP = readString(port.hostIP, [...portPath, 'hostIP'], issues);
    if (hostIP !== undefined && hostIP !== '' && !parseIp(hostIP)) {
      issues.push(invalid('ip.invalid', [...portPath, 'hostIP'], hostIP, 'must be a valid IP address'));
    }
  });
}

function validateContainers(value: unknown, path: PathSegment[], seen: Set<string>, issues: Issue[]): void {
  const containers = readArray(value, path, issues) ?? [];
  containers.forEach((raw, i) => {
    const cPath = [...path, i];
    const container = readObject(raw, cPath, issues);
    if (!container) return;
    const name = readString(container.name, [...cPath, 'name'], issues);
    if (name === undefined || name === '') {
      if (container.name === undefined || container.name === null || container.name === '') {
        issues.push(required('field.required', [...cPath, 'name']));
      }
    } else {
      for (const msg of isDns1123Label(name)) issues.push(invalid('name.invalid', [...cPath, 'name'], name, msg));
      if (seen.has(name)) {
        issues.push({ code: 'name.duplicate', path: [...cPath, 'name'], value: name,
          message: `Duplicate value: ${goValue(name)}` });
      }
      seen.add(name);
    }
    readString(container.image, [...cPath, 'image'], issues);
    validateContainerPorts(container.ports, [...cPath, 'ports'], issues);
  });
}

function validatePodIPs(status: JsonObject, path: PathSegment[], issues: Issue[]): void {
  const podIP = readString(status.podIP, [...path, 'podIP'], issues);
  if (podIP !== undefined && podIP !== '' && !parseIp(podIP)) {
    issues.push(invalid('ip.invalid', [...path, 'podIP'], podIP, 'must be a valid IP address'));
  }
  const podIPs = readArray(status.podIPs, [...path, 'podIPs'], issues) ?? [];
  const families = new Set<number>();
  const ips: string[] = [];
  podIPs.forEach((raw, i) => {
    const entryPath = [...path, 'podIPs', i];
    const entry = readObject(raw, entryPath, issues);
    if (!entry) return;
    const ip = readString(entry.ip, [...entryPath, 'ip'], issues);
    if (ip === undefined) return;
    const parsed = parseIp(ip);
    if (!parsed) {
      issues.push(invalid('ip.invalid', [...entryPath, 'ip'], ip, 'must be a valid IP address'));
      return;
    }
    ips.push(ip);
    families.add(parsed.family);
  });
  if (ips.length > 1 && (ips.length > 2 || families.size !== 2)) {
    issues.push(invalid('ip.dualStack', [...path, 'podIPs'], ips,
      'may specify no more than one IP for each IP family'));
  }
  // podIP mirrors podIPs[0] (the kubelet writes both).
  if (podIP && ips.length > 0 && ips[0] !== podIP) {
    issues.push(invalid('ip.mismatch', [...path, 'podIPs', 0, 'ip'], ips[0], 'must match `podIP`'));
  }
}

function validatePod(obj: JsonObject, issues: Issue[]): void {
  validateObjectMeta(obj.metadata, ['metadata'], { namespaced: true, nameCheck: isDns1123Subdomain }, issues);
  const spec = readObject(obj.spec, ['spec'], issues);
  if (spec) {
    for (const field of ['serviceAccountName', 'serviceAccount'] as const) {
      const sa = readString(spec[field], ['spec', field], issues);
      if (sa !== undefined && sa !== '') {
        for (const msg of isDns1123Subdomain(sa)) issues.push(invalid('name.invalid', ['spec', field], sa, msg));
      }
    }
    const nodeName = readString(spec.nodeName, ['spec', 'nodeName'], issues);
    if (nodeName !== undefined && nodeName !== '') {
      for (const msg of isDns1123Subdomain(nodeName)) {
        issues.push(invalid('name.invalid', ['spec', 'nodeName'], nodeName, msg));
      }
    }
    readBoolean(spec.hostNetwork, ['spec', 'hostNetwork'], issues);
    const seen = new Set<string>();
    validateContainers(spec.containers, ['spec', 'containers'], seen, issues);
    validateContainers(spec.initContainers, ['spec', 'initContainers'], seen, issues);
  }
  const status = readObject(obj.status, ['status'], issues);
  if (status) {
    readString(status.phase, ['status', 'phase'], issues);
    validatePodIPs(status, ['status'], issues);
  }
}

// ---------------------------------------------------------------------------------------------------------------

const VALIDATORS: Record<string, { apiVersion: string; check: (obj: JsonObject, issues: Issue[]) => void }> = {
  NetworkPolicy: { apiVersion: K8S_NETWORKING_API_VERSION, check: validateNetworkPolicy },
  Namespace: { apiVersion: K8S_CORE_API_VERSION, check: validateNamespace },
  ServiceAccount: { apiVersion: K8S_CORE_API_VERSION, check: validateServiceAccount },
  Pod: { apiVersion: K8S_CORE_API_VERSION, check: validatePod },
  ...Object.fromEntries(Object.entries(RBAC_VALIDATORS).map(([kind, check]) => [kind, { apiVersion: K8S_RBAC_API_VERSION, check }])),
};

/**
 * Validates a decoded manifest as one of the Kubernetes kinds Tabby reads, after the API server's defaults
 * (./defaults.ts). Returns every issue found; on success the value is the defaulted object, a copy with YAML
 * nulls removed.
 */
export function validateKubernetesResource(value: unknown): Result<KubernetesResource> {
  const issues: Issue[] = [];
  const obj = readObject(value, [], issues);
  if (!obj) {
    if (value === null || value === undefined) issues.push(required('field.required', [], 'empty document'));
    return fail(issues);
  }
  const apiVersion = readString(obj.apiVersion, ['apiVersion'], issues);
  const kind = readString(obj.kind, ['kind'], issues);
  const validator = kind === undefined ? undefined : VALIDATORS[kind];
  if (!validator || apiVersion !== validator.apiVersion) {
    if (issues.length === 0) {
      issues.push({
        code: 'kind.unsupported',
        path: kind === undefined ? ['kind'] : ['apiVersion'],
        value: `${apiVersion ?? ''} ${kind ?? ''}`.trim(),
        message: `unsupported Kubernetes kind ${JSON.stringify(`${apiVersion ?? ''}/${kind ?? ''}`)}: expected ` +
          Object.entries(VALIDATORS).map(([k, v]) => `${v.apiVersion} ${k}`).join(', '),
      });
    }
    return fail(issues);
  }
  // Decode (nulls read as absent), default, then validate — the API server's order. The defaults only add fields
  // the validator accepts, so every issue still points at what the manifest says.
  const defaulted = applyKubernetesDefaults(withoutNulls(obj) as JsonObject);
  validator.check(defaulted, issues);
  if (issues.length > 0) return fail(issues);
  return ok(defaulted as unknown as KubernetesResource);
}
