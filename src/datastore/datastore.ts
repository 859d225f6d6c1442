// The one interface every store implements (the embedded file store and etcd), and the shapes it trades in.
// A store holds validated, defaulted resources keyed by (kind, namespace, name); every change gets the next
// store-wide revision, and each object carries the revision of its last change as metadata.resourceVersion, so
// optimistic concurrency works the same way as with kubectl and calicoctl (a stale resourceVersion → Conflict).
//
// A store validates each object, through the api part, before writing, and makes the few checks between objects
// that Calico's client makes (a policy's tier must exist on create; built-in and non-empty tiers cannot be
// deleted; the built-in tiers exist without being stored — admission.ts). It does not convert Kubernetes kinds to
// Calico ones or evaluate anything.

import type { KindKey, Resource, ResourceKey, ResourceUpdate } from '../api/index.js';

export interface ListOptions {
  /** One kind; every kind when absent. */
  kind?: KindKey;
  /** Only objects in this namespace (namespaced kinds); cluster-scoped objects never match a namespace. */
  namespace?: string;
  /** A Kubernetes label selector (`app=web,tier!=db,env in (prod,stage),!legacy`), as `kubectl get -l`. */
  labelSelector?: string;
}

export interface ResourceList {
  /** Sorted by kind, namespace, name. */
  items: Resource[];
  /** The store revision the list was read at; watch from it to see every later change exactly once. */
  revision: number;
  /** Stored objects that could not be decoded or failed validation: left where they are, never served. */
  skipped?: SkippedObject[];
}

/**
 * A stored object a store could not decode or that failed validation (written behind Tabby's back: etcdctl, a
 * damaged file). It is never served as a resource; readers report it (tabby get, agent status) and go on.
 */
export interface SkippedObject {
  /** The store's own key: the etcd key, or the file store's file and offset. */
  key: string;
  /** The resource it claims to be, when that much could be read. */
  resource?: ResourceKey;
  /** What is wrong with it, one line. */
  reason: string;
  /** The store revision of the write that stored it, when known. */
  revision?: number;
}

/** Optimistic-concurrency preconditions: each one given must match the stored object or the change fails. */
export interface Preconditions {
  resourceVersion?: string;
  uid?: string;
}

export interface ApplyResult {
  resource: Resource;
  /** Whether the object was created (true) or replaced (false). */
  created: boolean;
}

export interface WatchOptions {
  kind?: KindKey;
  namespace?: string;
  /**
   * Report only changes after this revision. When absent, the watch first reports every current object as an
   * `add`, then a `synced` marker, then changes. A revision whose history was compacted fails with
   * CompactedError (list again and watch from the list's revision).
   */
  fromRevision?: number;
}

/**
 * One change, in revision order. `upsert`/`delete` events are ResourceUpdates (what the engine consumes); `op`
 * says whether an upsert created the object. After a store lost history while a watch was disconnected
 * (compaction), the watch lists again and reports only the differences from what it had reported, so no change
 * is lost and none is reported twice; those events carry the revision of that list.
 */
export type WatchEvent =
  | { type: 'upsert'; op: 'add' | 'update'; resource: Resource; revision: number }
  | { type: 'delete'; op: 'delete'; key: ResourceKey; previous: Resource | undefined; revision: number }
  /** The initial listing is complete (only when the watch started without `fromRevision`). */
  | { type: 'synced'; op: 'synced'; revision: number }
  /**
   * A stored object was written that cannot be served (see SkippedObject). When it replaced an object that was
   * served, consumers keep the last valid version (fail closed) and report the key.
   */
  | { type: 'skipped'; op: 'skipped'; skipped: SkippedObject; revision: number };

export interface Watch extends AsyncIterable<WatchEvent> {
  /** Stops the watch; a pending iteration ends. */
  close(): Promise<void>;
}

export interface Datastore {
  /** `file:/path` or `etcd://host:port,...`: what error messages and `tabby` output name. */
  readonly endpoint: string;
  /** Throws NotFoundError. */
  get(key: ResourceKey): Promise<Resource>;
  list(options?: ListOptions): Promise<ResourceList>;
  /** Throws AlreadyExistsError, InvalidError. */
  create(resource: Resource): Promise<Resource>;
  /**
   * Replaces an existing object. A metadata.resourceVersion / uid on the given object is a precondition.
   * Throws NotFoundError, ConflictError, InvalidError.
   */
  update(resource: Resource): Promise<Resource>;
  /** Creates or replaces; a given resourceVersion is a precondition, as for update. */
  apply(resource: Resource): Promise<ApplyResult>;
  /** Deletes and returns the deleted object. Throws NotFoundError, ConflictError. */
  delete(key: ResourceKey, preconditions?: Preconditions): Promise<Resource>;
  watch(options?: WatchOptions): Watch;
  /** The current store revision. */
  revision(): Promise<number>;
  /** Forgets history up to `revision` (default: the current revision); watches from older revisions fail. */
  compact(revision?: number): Promise<void>;
  close(): Promise<void>;
}

/** The engine's view of a watch event; undefined for markers. */
export function toResourceUpdate(event: WatchEvent): ResourceUpdate | undefined {
  switch (event.type) {
    case 'upsert':
      return { type: 'upsert', resource: event.resource, revision: event.revision };
    case 'delete':
      return { type: 'delete', key: event.key, revision: event.revision };
    case 'synced':
    case 'skipped':
      return undefined;
  }
}
