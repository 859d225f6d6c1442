// What both stores do to an object before it is written: validate and default it through the api part (an
// invalid object is never stored), check the caller's optimistic-concurrency preconditions against the stored
// object, and stamp the server-owned metadata. Keeping this in one place is what makes the file store and etcd
// behave identically; the stores only decide *where* bytes go.
//
// metadata.resourceVersion is never stored inside an object: it is the revision of the object's last change,
// known only once the store assigns it (etcd's mod_revision), and is filled in on every read.
//
// Checks between objects are the ones libcalico-go's client (what calicoctl uses) makes, and only those:
//   * creating a (staged) (global) network policy needs its tier to exist (clientv3/networkpolicy.go Create);
//     an update does not check, as Calico does not;
//   * a built-in tier (§2.5: default, kube-admin, kube-baseline) cannot be deleted, nor can a tier that still
//     holds a policy (clientv3/tier.go Delete);
//   * built-in tiers exist without a stored object (EnsureInitialized creates them in every Calico cluster):
//     reads of kind Tier show them (builtin-tiers.ts), and updating one that was never stored stores it.
// A binding's roleRef cannot change once stored (Kubernetes' update validation, not a check between objects).
// Calico checks nothing else between objects (a namespace, profile or service account a workload names need not
// exist). Stores opened with `crossObjectChecks: false` skip these checks, as Calico's backend client does: that
// is how a state Felix must still handle (a policy whose tier is gone) is set up.

import { randomUUID } from 'node:crypto';

import {
  builtinTier, copyResource, DEFAULT_TIER_NAME, kindInfo, rbacUpdateIssues, stripForeignServerFields, validateResource, type KindKey,
  type Resource, type ResourceKey,
} from '../api/index.js';
import type { Preconditions } from './datastore.js';
import { AlreadyExistsError, ConflictError, InvalidError, MissingTierError, NotFoundError, NotSupportedError } from './errors.js';
import { compareKeys, keyOf, keyPath, kindPath, parseKeyPath } from './keys.js';

export type WriteMode = 'create' | 'update' | 'apply';

/** A stored object as both stores keep it: the value (without resourceVersion) and its last-change revision. */
export interface StoredObject {
  value: Resource;
  modRevision: number;
}

/** Validates and defaults; throws InvalidError with every issue. */
export function admit(resource: Resource): { resource: Resource; key: ResourceKey } {
  const result = validateResource(resource);
  if (!result.ok) throw new InvalidError(result.issues, guessKey(resource));
  const key = keyOf(result.value);
  // Namespaced objects without a namespace are stored in the default one, as calicoctl does.
  if (key.namespace !== undefined && result.value.metadata.namespace !== key.namespace) {
    result.value.metadata.namespace = key.namespace;
  }
  return { resource: result.value, key };
}

function guessKey(value: unknown): ResourceKey | undefined {
  try {
    return keyOf(value as Resource);
  } catch {
    return undefined;
  }
}

export function preconditionsOf(resource: Resource): Preconditions {
  const out: Preconditions = {};
  if (resource.metadata.resourceVersion) out.resourceVersion = resource.metadata.resourceVersion;
  if (resource.metadata.uid) out.uid = resource.metadata.uid;
  return out;
}

/**
 * A resourceVersion is the decimal store revision a read returned (etcd's mod_revision, a positive int64). Anything
 * else cannot match a stored object: it is invalid input, not a stale version (kube-apiserver likewise answers
 * "Invalid value: ... must be a valid resourceVersion" rather than a conflict).
 */
export function checkResourceVersionSyntax(key: ResourceKey | undefined, rv: string | undefined): void {
  if (rv === undefined || /^[1-9][0-9]{0,18}$/.test(rv)) return;
  throw new InvalidError([{
    code: 'metadata.resourceVersion.syntax', path: ['metadata', 'resourceVersion'], value: rv,
    message: `${JSON.stringify(rv)} is not a resourceVersion (expected the decimal revision a read returned, e.g. "42")`,
  }], key);
}

/** Throws ConflictError when a given precondition does not match the stored object (or there is none). */
export function checkPreconditions(key: ResourceKey, pre: Preconditions, current: StoredObject | undefined): void {
  if (pre.resourceVersion === undefined && pre.uid === undefined) return;
  checkResourceVersionSyntax(key, pre.resourceVersion);
  const actual = current && { resourceVersion: String(current.modRevision), uid: current.value.metadata.uid };
  if (!actual) throw new ConflictError(key, pre, undefined);
  if (pre.resourceVersion !== undefined && pre.resourceVersion !== actual.resourceVersion) {
    throw new ConflictError(key, pre, actual);
  }
  if (pre.uid !== undefined && pre.uid !== actual.uid) throw new ConflictError(key, pre, actual);
}

/** The kinds that live in a tier: libcalico-go checks their tier on create and lists them before a tier delete. */
export const TIERED_KINDS: readonly KindKey[] = [
  'NetworkPolicy', 'GlobalNetworkPolicy', 'StagedNetworkPolicy', 'StagedGlobalNetworkPolicy',
];

/** What the cross-object checks read: the store's state at the moment of the write (see the header). */
export interface ReferenceView {
  /** Whether a Tier object of this name is stored (built-in tiers exist regardless). */
  tierStored(name: string): boolean;
  /** The stored objects of TIERED_KINDS whose spec.tier is `name`, in key order. */
  policiesInTier(name: string): ResourceKey[];
}

export function isBuiltinTierKey(key: ResourceKey): boolean {
  return key.kind === 'Tier' && builtinTier(key.name) !== undefined;
}

/** The tier an object belongs to when its kind lives in a tier; undefined otherwise. */
export function tierOf(resource: Resource, kind: KindKey): string | undefined {
  if (!TIERED_KINDS.includes(kind)) return undefined;
  const tier = (resource as { spec?: { tier?: unknown } }).spec?.tier;
  return typeof tier === 'string' && tier !== '' ? tier : DEFAULT_TIER_NAME;
}

/**
 * The tier whose existence a write must check: the policy's tier when the write creates a policy in a tier that
 * is not built in. Stores that read ahead (etcd) ask this before reading.
 */
export function tierToCheck(admitted: { resource: Resource; key: ResourceKey }): string | undefined {
  const tier = tierOf(admitted.resource, admitted.key.kind);
  return tier !== undefined && builtinTier(tier) === undefined ? tier : undefined;
}

/**
 * Decides what a write stores, given what is stored now. Throws AlreadyExists (create over an existing object),
 * NotFound (update of a missing one), Conflict (stale preconditions), Invalid (resourceVersion on a create) or,
 * given a reference view, MissingTier (a policy created in a tier that does not exist). The returned value has
 * uid and creationTimestamp set (kept from the stored object on replace) and no resourceVersion.
 */
export function planWrite(
  mode: WriteMode,
  admitted: { resource: Resource; key: ResourceKey },
  current: StoredObject | undefined,
  now: () => Date,
  references?: ReferenceView,
): { value: Resource; created: boolean } {
  const { resource, key } = admitted;
  const pre = preconditionsOf(resource);
  if (mode === 'create') {
    // libcalico-go clientv3 rejects a resourceVersion on Create ("field must not be set for a Create request").
    if (pre.resourceVersion !== undefined) {
      throw new InvalidError([{
        code: 'metadata.resourceVersion.set', path: ['metadata', 'resourceVersion'], value: pre.resourceVersion,
        message: 'must not be set when creating a resource (remove it, or use apply/replace to change an existing one)',
      }], key);
    }
    if (current) throw new AlreadyExistsError(key);
  }
  // A built-in tier exists before anyone stores it, so replacing it works on a fresh store too.
  if (mode === 'update' && !current && !(references && isBuiltinTierKey(key))) throw new NotFoundError(key);
  // An apply that creates drops the preconditions, as calicoctl's resourcemgr Apply clears resourceVersion for
  // its Create attempt and restores it only for the Update: a resourceVersion or uid read from another store
  // (`kubectl get -o yaml | tabby apply -f -`, issue 12 §2) checks nothing here. Against an object this store
  // holds, they are the optimistic-concurrency check they always were (stale → Conflict).
  if (mode === 'update' || (mode === 'apply' && current)) checkPreconditions(key, pre, current);
  else if (mode === 'apply') checkResourceVersionSyntax(key, pre.resourceVersion);
  // The API server's update validation of a binding (ValidateRoleBindingUpdate): its roleRef is fixed for life,
  // so a grant cannot silently become another; delete and recreate the binding instead.
  if (current) {
    const immutable = rbacUpdateIssues(current.value, resource);
    if (immutable.length > 0) throw new InvalidError(immutable, key);
  }
  if (!current && references) {
    const tier = tierToCheck(admitted);
    if (tier !== undefined && !references.tierStored(tier)) throw new MissingTierError(tier, key);
  }
  const value = structuredClone(resource);
  const meta = value.metadata;
  // Server-managed fields of another store are never kept (api/metadata-strip.ts); this store assigns its own.
  stripForeignServerFields(meta, { created: current === undefined });
  delete meta.resourceVersion;
  meta.uid = current?.value.metadata.uid ?? randomUUID();
  meta.creationTimestamp = current?.value.metadata.creationTimestamp ?? now().toISOString().replace(/\.\d+Z$/, 'Z');
  return { value, created: current === undefined };
}

/** How many policies a refusal names before it says "and N more". */
const NAMED_MEMBERS = 3;

/**
 * Whether a delete may go ahead: Calico refuses built-in tiers whatever their state, then tiers that hold a
 * policy (clientv3/tier.go, in that order); then the object must exist and match the preconditions. Throws
 * NotSupported, NotFound or Conflict. Without a reference view only the last two are checked.
 */
export function checkDelete(
  key: ResourceKey,
  preconditions: Preconditions,
  current: StoredObject | undefined,
  references?: ReferenceView,
): asserts current is StoredObject {
  if (references && key.kind === 'Tier') {
    if (isBuiltinTierKey(key)) throw new NotSupportedError(key, 'Delete', `Cannot delete ${key.name} tier`);
    const members = references.policiesInTier(key.name);
    if (members.length > 0) {
      const named = members.slice(0, NAMED_MEMBERS).map(describeMember).join(', ');
      const more = members.length > NAMED_MEMBERS ? ` and ${members.length - NAMED_MEMBERS} more` : '';
      throw new NotSupportedError(key, 'delete', `Cannot delete a non-empty tier (it holds ${named}${more}; delete them first)`);
    }
  }
  if (!current) throw new NotFoundError(key);
  checkPreconditions(key, preconditions, current);
}

function describeMember(key: ResourceKey): string {
  return key.namespace ? `${key.kind}(${key.namespace}/${key.name})` : `${key.kind}(${key.name})`;
}

/**
 * A reference view over objects keyed by their keyPath (the file store's state, a dry-run's planned state): the
 * tier lookup is one map read; only a tier delete scans.
 */
export function referenceViewOfMap(objects: ReadonlyMap<string, { value: Resource }>): ReferenceView {
  return {
    tierStored: (name) => objects.has(keyPath({ kind: 'Tier', name })),
    policiesInTier: (name) => {
      const found: ResourceKey[] = [];
      for (const kind of TIERED_KINDS) {
        const prefix = kindPath(kind);
        for (const [path, { value }] of objects) {
          if (!path.startsWith(prefix) || tierOf(value, kind) !== name) continue;
          const key = parseKeyPath(path);
          if (key) found.push(key);
        }
      }
      return found.sort(compareKeys);
    },
  };
}

/**
 * What a delete of an unreadable stored object (stored-object.ts) returns: its kind and name, nothing else being
 * trustworthy.
 */
export function unreadableStub(key: ResourceKey, modRevision: number): Resource {
  const info = kindInfo(key.kind);
  return {
    apiVersion: info.apiVersion, kind: info.kind,
    metadata: { name: key.name, ...(key.namespace !== undefined && { namespace: key.namespace }), resourceVersion: String(modRevision) },
  } as Resource;
}

/** Fills in resourceVersion on a value the caller owns (freshly decoded), without copying it. */
export function stampResourceVersion(value: Resource, modRevision: number): Resource {
  value.metadata.resourceVersion = String(modRevision);
  return value;
}

/** The object as callers see it: a copy of the stored value with its resourceVersion filled in. */
export function withResourceVersion(value: Resource, modRevision: number): Resource {
  const out = copyResource(value);
  out.metadata.resourceVersion = String(modRevision);
  return out;
}

/**
 * What a write would store, without writing: the same checks and stamping as a real write against `current`
 * (a resource as read from the store, with its resourceVersion) and, given a view of the store, the same
 * cross-object checks. For --dry-run. Throws as the write would.
 */
export function previewWrite(
  mode: WriteMode,
  resource: Resource,
  current: Resource | undefined,
  now: () => Date = () => new Date(),
  references?: ReferenceView,
): { resource: Resource; created: boolean } {
  const admitted = admit(resource);
  const stored = current && { value: current, modRevision: Number(current.metadata.resourceVersion) };
  const { value, created } = planWrite(mode, admitted, stored, now, references);
  return { resource: value, created };
}

/** Whether a delete would succeed against `current`; throws NotSupported, NotFound or Conflict as the delete would. */
export function previewDelete(
  key: ResourceKey,
  preconditions: Preconditions,
  current: Resource | undefined,
  references?: ReferenceView,
): void {
  const stored = current && { value: current, modRevision: Number(current.metadata.resourceVersion) };
  checkDelete(key, preconditions, stored, references);
}
