// What both stores do to an object before it is written: validate and default it through the api part (an
// invalid object is never stored), check the caller's optimistic-concurrency preconditions against the stored
// object, and stamp the server-owned metadata. Keeping this in one place is what makes the file store and etcd
// behave identically; the stores only decide *where* bytes go.
//
// metadata.resourceVersion is never stored inside an object: it is the revision of the object's last change,
// known only once the store assigns it (etcd's mod_revision), and is filled in on every read.

import { randomUUID } from 'node:crypto';

import { validateResource, type Resource, type ResourceKey } from '../api/index.js';
import type { Preconditions } from './datastore.js';
import { AlreadyExistsError, ConflictError, InvalidError, NotFoundError } from './errors.js';
import { keyOf } from './keys.js';

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

/** Throws ConflictError when a given precondition does not match the stored object (or there is none). */
export function checkPreconditions(key: ResourceKey, pre: Preconditions, current: StoredObject | undefined): void {
  if (pre.resourceVersion === undefined && pre.uid === undefined) return;
  const actual = current && { resourceVersion: String(current.modRevision), uid: current.value.metadata.uid };
  if (!actual) throw new ConflictError(key, pre, undefined);
  if (pre.resourceVersion !== undefined && pre.resourceVersion !== actual.resourceVersion) {
    throw new ConflictError(key, pre, actual);
  }
  if (pre.uid !== undefined && pre.uid !== actual.uid) throw new ConflictError(key, pre, actual);
}

/**
 * Decides what a write stores, given what is stored now. Throws AlreadyExists (create over an existing object),
 * NotFound (update of a missing one), Conflict (stale preconditions) or Invalid (resourceVersion on a create).
 * The returned value has uid and creationTimestamp set (kept from the stored object on replace) and no
 * resourceVersion.
 */
export function planWrite(
  mode: WriteMode,
  admitted: { resource: Resource; key: ResourceKey },
  current: StoredObject | undefined,
  now: () => Date,
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
  if (mode === 'update' && !current) throw new NotFoundError(key);
  if (mode !== 'create') checkPreconditions(key, pre, current);
  const value = structuredClone(resource);
  const meta = value.metadata;
  delete meta.resourceVersion;
  meta.uid = current?.value.metadata.uid ?? randomUUID();
  meta.creationTimestamp = current?.value.metadata.creationTimestamp ?? now().toISOString().replace(/\.\d+Z$/, 'Z');
  return { value, created: current === undefined };
}

/** Fills in resourceVersion on a value the caller owns (freshly decoded), without copying it. */
export function stampResourceVersion(value: Resource, modRevision: number): Resource {
  value.metadata.resourceVersion = String(modRevision);
  return value;
}

/** The object as callers see it: a copy of the stored value with its resourceVersion filled in. */
export function withResourceVersion(value: Resource, modRevision: number): Resource {
  const out = structuredClone(value);
  out.metadata.resourceVersion = String(modRevision);
  return out;
}

/**
 * What a write would store, without writing: the same checks and stamping as a real write against `current`
 * (a resource as read from the store, with its resourceVersion). For --dry-run. Throws as the write would.
 */
export function previewWrite(mode: WriteMode, resource: Resource, current: Resource | undefined, now: () => Date = () => new Date()): { resource: Resource; created: boolean } {
  const admitted = admit(resource);
  const stored = current && { value: current, modRevision: Number(current.metadata.resourceVersion) };
  const { value, created } = planWrite(mode, admitted, stored, now);
  return { resource: value, created };
}

/** Whether a delete would succeed against `current`; throws NotFound or Conflict as the delete would. */
export function previewDelete(key: ResourceKey, preconditions: Preconditions, current: Resource | undefined): void {
  if (!current) throw new NotFoundError(key);
  checkPreconditions(key, preconditions, { value: current, modRevision: Number(current.metadata.resourceVersion) });
}
