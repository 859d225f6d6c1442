// The engine's internal model: endpoints, network sets, profiles, tiers and policies in the shape the
// calculation graph works with, after the dispatcher has converted and defaulted the resources. Keys are
// strings so they can sit in maps and sets.

import { kindInfo, type IpAddr, type Labels } from '../api/index.js';
import type { Selector } from '../selector/index.js';
import type { IpSetDefinition } from './rule-scanner.js';
import type { CompiledPolicy, CompiledRules, EndpointInfo, NamedPort, PolicyId, PolicyKind } from './types.js';

/** `WorkloadEndpoint|ns/name` or `HostEndpoint|hep:name`: unique across kinds, derived from the ref. */
export type EndpointKey = string;
/** `NetworkSet|ns/name` or `GlobalNetworkSet|name`. */
export type NetworkSetKey = string;
/** Items of the IP-set label index: endpoints and network sets. */
export type ItemKey = EndpointKey | NetworkSetKey;
/** `<kind>|<namespace>|<name>`. */
export type PolicyKey = string;

export interface EndpointModel {
  key: EndpointKey;
  /** Everything but the effective labels, which the label inheritance computes. */
  info: Omit<EndpointInfo, 'labels'>;
  ownLabels: Labels;
  addresses: IpAddr[];
  /** The addresses as single-address CIDRs, for IP sets. */
  nets: string[];
}

export interface NetworkSetModel {
  key: NetworkSetKey;
  ownLabels: Labels;
  /** `kns.<ns>` for a namespaced NetworkSet (§1.7); none for a GlobalNetworkSet. */
  parents: string[];
  nets: string[];
}

export interface ProfileModel {
  name: string;
  labelsToApply?: Labels;
  rules: CompiledRules;
  ipSets: IpSetDefinition[];
}

export interface TierModel {
  name: string;
  order?: number;
  defaultAction: 'Deny' | 'Pass';
}

export interface PolicyModel {
  key: PolicyKey;
  compiled: CompiledPolicy;
  /** The parsed effective selector of `compiled.selector`. */
  subject: Selector;
  ipSets: IpSetDefinition[];
}

export function endpointKey(kind: 'WorkloadEndpoint' | 'HostEndpoint', ref: string): EndpointKey {
  return `${kind}|${ref}`;
}

const keyCache = new WeakMap<object, PolicyKey>();

/** The key of a policy id; cached per id object, since verdicts look policies up by id in their inner loop. */
export function policyKeyOf(id: Pick<PolicyId, 'kind' | 'namespace' | 'name'>): PolicyKey {
  let key = keyCache.get(id);
  if (key === undefined) keyCache.set(id, (key = `${id.kind}|${id.namespace ?? ''}|${id.name}`));
  return key;
}

export function policyIdOf(kind: PolicyKind, namespace: string | undefined, name: string): PolicyId {
  return namespace !== undefined ? { kind, namespace, name, ref: `${namespace}/${name}` } : { kind, name, ref: name };
}

/** Staged is a kind trait (api/kinds.ts, §3.6); every PolicyKind is a KindKey. */
export function isStagedKind(kind: PolicyKind): boolean {
  return kindInfo(kind).staged;
}

export function namedPortsEqual(a: readonly NamedPort[], b: readonly NamedPort[]): boolean {
  return a.length === b.length && a.every((p, i) => p.name === b[i]!.name && p.protocol === b[i]!.protocol && p.port === b[i]!.port);
}
