// Where each object lives: `<group>/<plural>/<namespace>/<name>` for namespaced kinds and `<group>/<plural>/<name>`
// for cluster-scoped ones — Calico's etcdv3 layout below `/calico/resources/v3/` (libcalico-go
// lib/backend/etcdv3/conversion: /calico/resources/v3/projectcalico.org/networkpolicies/<ns>/<name>). Kubernetes
// kinds follow the same pattern under their own API group (`networking.k8s.io/networkpolicies/...`,
// `core/pods/...`). The file store uses the same relative paths as its keys, so both stores agree.

import {
  KINDS, kindInfo, kindInfoOf, type KindInfo, type KindKey, type Resource, type ResourceKey,
} from '../api/index.js';

/** Calico's etcdv3 prefix; every key the etcd store writes starts with it. */
export const CALICO_ETCD_PREFIX = '/calico/resources/v3/';

/** Namespaced objects without a namespace live in `default`, as calicoctl and kubectl assume. */
export const DEFAULT_NAMESPACE = 'default';

const BY_GROUP_PLURAL = new Map<string, KindInfo>(KINDS.map((k) => [`${k.group}/${k.plural}`, k]));

export function keyOf(resource: Resource): ResourceKey {
  const info = kindInfoOf(resource);
  return info.namespaced
    ? { kind: info.key, namespace: resource.metadata.namespace || DEFAULT_NAMESPACE, name: resource.metadata.name }
    : { kind: info.key, name: resource.metadata.name };
}

/** Drops a namespace given for a cluster-scoped kind and fills the default one for namespaced kinds. */
export function normaliseKey(key: ResourceKey): ResourceKey {
  const info = kindInfo(key.kind);
  return info.namespaced
    ? { kind: key.kind, namespace: key.namespace || DEFAULT_NAMESPACE, name: key.name }
    : { kind: key.kind, name: key.name };
}

/** `<group>/<plural>/` — the prefix of every key of one kind. */
export function kindPath(kind: KindKey): string {
  const info = kindInfo(kind);
  return `${info.group}/${info.plural}/`;
}

/** `<group>/<plural>/<namespace>/` — the prefix of one namespace's objects of a namespaced kind. */
export function namespacePath(kind: KindKey, namespace: string): string {
  return `${kindPath(kind)}${namespace}/`;
}

export function keyPath(key: ResourceKey): string {
  const k = normaliseKey(key);
  return k.namespace !== undefined ? `${kindPath(k.kind)}${k.namespace}/${k.name}` : `${kindPath(k.kind)}${k.name}`;
}

/** The inverse of keyPath; undefined for paths that are not object keys (foreign data under the prefix). */
export function parseKeyPath(path: string): ResourceKey | undefined {
  const parts = path.split('/');
  if (parts.length < 3) return undefined;
  const info = BY_GROUP_PLURAL.get(`${parts[0]}/${parts[1]}`);
  if (!info) return undefined;
  if (info.namespaced) {
    return parts.length === 4 && parts[2] && parts[3] ? { kind: info.key, namespace: parts[2], name: parts[3] } : undefined;
  }
  return parts.length === 3 && parts[2] ? { kind: info.key, name: parts[2] } : undefined;
}

/** Orders keys by kind (registry order), namespace, name: the order lists are returned in. */
export function compareKeys(a: ResourceKey, b: ResourceKey): number {
  const ka = KIND_ORDER.get(a.kind)! - KIND_ORDER.get(b.kind)!;
  if (ka !== 0) return ka;
  const na = (a.namespace ?? '').localeCompare(b.namespace ?? '');
  if (na !== 0) return na;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

const KIND_ORDER = new Map<KindKey, number>(KINDS.map((k, i) => [k.key, i]));

export function sameKey(a: ResourceKey, b: ResourceKey): boolean {
  return a.kind === b.kind && (a.namespace ?? '') === (b.namespace ?? '') && a.name === b.name;
}
