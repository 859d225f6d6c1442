// The datastore's error vocabulary: a few typed classes, each with a stable `code` and a predicate, so callers
// branch on the kind of failure and never on message text (knftables error.go, vitest node/errors.ts). Each one
// carries the resource it concerns, and the messages keep Calico's wording (libcalico-go lib/errors/errors.go:
// "resource does not exist: NetworkPolicy(ns/name)"). The CLI maps the codes to exit codes and the server maps
// them to HTTP statuses, each in one place.

import { displayText, formatIssue, type Issue, type ResourceKey } from '../api/index.js';

export type DatastoreErrorCode =
  | 'not-found'
  | 'already-exists'
  | 'conflict'
  | 'invalid'
  | 'unavailable'
  | 'compacted'
  | 'not-supported'
  | 'damaged'
  | 'storage'
  | 'unreadable'
  | 'unauthorized';

/** `Kind(namespace/name)` or `Kind(name)`: Calico's model.ResourceKey.String() form. */
export function describeKey(key: ResourceKey): string {
  // Names come from the command line or the store: quoted if they hold control or bidi characters.
  const name = displayText(key.name);
  return key.namespace ? `${key.kind}(${displayText(key.namespace)}/${name})` : `${key.kind}(${name})`;
}

export abstract class DatastoreError extends Error {
  abstract readonly code: DatastoreErrorCode;
}

export class NotFoundError extends DatastoreError {
  readonly code = 'not-found' as const;
  constructor(readonly key: ResourceKey) {
    super(`resource does not exist: ${describeKey(key)}`);
    this.name = 'NotFoundError';
  }
}

export class AlreadyExistsError extends DatastoreError {
  readonly code = 'already-exists' as const;
  constructor(readonly key: ResourceKey) {
    super(`resource already exists: ${describeKey(key)}`);
    this.name = 'AlreadyExistsError';
  }
}

/**
 * A policy's tier does not exist, so the policy cannot be created (libcalico-go clientv3/networkpolicy.go Create
 * gets the tier first and returns its not-found error). `key` is the tier's; `referrer` the policy's.
 */
export class MissingTierError extends NotFoundError {
  constructor(readonly tier: string, readonly referrer: ResourceKey) {
    super({ kind: 'Tier', name: tier });
    this.message = `resource does not exist: Tier(${tier}): ${describeKey(referrer)} is in tier ${tier}, ` +
      'which must be created first';
    this.name = 'MissingTierError';
  }
}

/** An update or delete carried a resourceVersion (or uid) that is no longer the stored one. */
export class ConflictError extends DatastoreError {
  readonly code = 'conflict' as const;
  constructor(
    readonly key: ResourceKey,
    /** What the caller based the change on. */
    readonly expected: { resourceVersion?: string; uid?: string },
    /** What is stored now; undefined when the object is gone. */
    readonly actual: { resourceVersion: string; uid?: string } | undefined,
  ) {
    const why = actual === undefined
      ? 'the object no longer exists'
      : expected.uid !== undefined && expected.uid !== actual.uid
        ? `uid ${expected.uid} does not match the stored uid ${actual.uid ?? '(none)'}`
        : `resourceVersion ${expected.resourceVersion ?? '(none)'} is stale, the stored one is ${actual.resourceVersion}`;
    super(`update conflict: ${describeKey(key)}: ${why}`);
    this.name = 'ConflictError';
  }
}

/** The object failed validation; nothing was written. */
export class InvalidError extends DatastoreError {
  readonly code = 'invalid' as const;
  constructor(readonly issues: Issue[], readonly key?: ResourceKey) {
    const first = issues[0];
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    super(`invalid resource${key ? ` ${describeKey(key)}` : ''}: ${first ? formatIssue(first) : 'unknown problem'}${more}`);
    this.name = 'InvalidError';
  }
}

/** The store could not be reached or could not be opened; `endpoint` is what was tried. */
export class UnavailableError extends DatastoreError {
  readonly code = 'unavailable' as const;
  constructor(readonly endpoint: string, readonly reason: string, options?: { cause?: unknown }) {
    super(`datastore unavailable at ${endpoint}: ${reason}`, options);
    this.name = 'UnavailableError';
  }
}

/**
 * The store was reached and refused the caller: etcd's user/password authentication failed, or the user may not
 * touch the keys (etcd's ErrGRPCAuthFailed / ErrGRPCPermissionDenied). Not a connection problem: retrying will not help.
 */
export class UnauthorizedError extends DatastoreError {
  readonly code = 'unauthorized' as const;
  constructor(readonly endpoint: string, readonly reason: string, options?: { cause?: unknown }) {
    super(`datastore at ${endpoint} refused access: ${reason}`, options);
    this.name = 'UnauthorizedError';
  }
}

/** A watch asked to start from a revision whose history is gone (Kubernetes' 410 Gone); list again instead. */
export class CompactedError extends DatastoreError {
  readonly code = 'compacted' as const;
  /** `compactRevision` is the oldest revision still watchable when the store says so (etcd's range does not). */
  constructor(readonly requested: number, readonly compactRevision: number | undefined) {
    super(`revision ${requested} has been compacted` +
      `${compactRevision !== undefined ? ` (history starts after ${compactRevision})` : ''}; list again and ` +
      'watch from the list revision');
    this.name = 'CompactedError';
  }
}

/**
 * An operation Calico refuses whatever the object's state: deleting a built-in or a non-empty tier. The message is
 * libcalico-go's ErrorOperationNotSupported: `operation Delete is not supported on default: Cannot delete default
 * tier`.
 */
export class NotSupportedError extends DatastoreError {
  readonly code = 'not-supported' as const;
  constructor(readonly key: ResourceKey, readonly operation: string, readonly reason: string) {
    super(`operation ${operation} is not supported on ${describeKey(key)}: ${reason}`);
    this.name = 'NotSupportedError';
  }
}

/**
 * A store file is damaged (a record fails its checksum or framing somewhere other than an unfinished last append):
 * the store refuses to serve anything rather than serve a prefix of its history, and changes nothing on disk.
 */
export class DamagedStoreError extends DatastoreError {
  readonly code = 'damaged' as const;
  constructor(
    readonly endpoint: string,
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`datastore ${endpoint} is damaged: ${file} at byte ${offset}: ${reason}; nothing was read or changed ` +
      `(tabby datastore check --datastore ${endpoint} shows the damage; tabby datastore repair --datastore ${endpoint} ` +
      'keeps a copy of the damaged files and rebuilds the store from every intact record)');
    this.name = 'DamagedStoreError';
  }
}

/**
 * The file system refused an operation: no space (ENOSPC), no permission (EACCES, EPERM), a read-only file
 * system (EROFS), an I/O error (EIO), a path that is not a usable directory (ENOTDIR, ENOENT under /proc, …).
 * `committed` says whether the change the caller asked for was stored: false for a write that failed (nothing
 * stored), undefined for reads and opens.
 */
export class StorageError extends DatastoreError {
  readonly code = 'storage' as const;
  constructor(
    readonly endpoint: string,
    /** The errno code, e.g. ENOSPC. */
    readonly errno: string,
    readonly path: string,
    readonly operation: string,
    readonly committed?: boolean,
    options?: { cause?: unknown },
  ) {
    const what = ERRNO_TEXT[errno] ?? errno;
    super(`cannot ${operation} ${path}: ${errno} (${what})${committed === false ? '; nothing was written' : ''}`, options);
    this.name = 'StorageError';
  }
}

const ERRNO_TEXT: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EIO: 'input/output error',
  ENOTDIR: 'not a directory',
  ENOENT: 'no such file or directory',
  EISDIR: 'is a directory',
  EEXIST: 'file exists',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many symbolic links',
};

/**
 * The stored object at a key cannot be served: it was written behind Tabby's back and is undecodable or invalid
 * (stored-object.ts). Reads skip it; reading it by name fails with this. Deleting it works.
 */
export class UnreadableObjectError extends DatastoreError {
  readonly code = 'unreadable' as const;
  constructor(readonly key: ResourceKey, readonly storeKey: string, readonly reason: string) {
    super(`stored object ${describeKey(key)} at ${storeKey} cannot be served: ${reason}`);
    this.name = 'UnreadableObjectError';
  }
}

export function isDamaged(err: unknown): err is DamagedStoreError {
  return err instanceof DamagedStoreError;
}
export function isStorageError(err: unknown): err is StorageError {
  return err instanceof StorageError;
}

export function isDatastoreError(err: unknown): err is DatastoreError {
  return err instanceof DatastoreError;
}
export function isNotFound(err: unknown): err is NotFoundError {
  return err instanceof NotFoundError;
}
export function isAlreadyExists(err: unknown): err is AlreadyExistsError {
  return err instanceof AlreadyExistsError;
}
export function isConflict(err: unknown): err is ConflictError {
  return err instanceof ConflictError;
}
export function isInvalid(err: unknown): err is InvalidError {
  return err instanceof InvalidError;
}
export function isUnauthorized(err: unknown): err is UnauthorizedError {
  return err instanceof UnauthorizedError;
}
export function isUnavailable(err: unknown): err is UnavailableError {
  return err instanceof UnavailableError;
}
export function isCompacted(err: unknown): err is CompactedError {
  return err instanceof CompactedError;
}
export function isMissingTier(err: unknown): err is MissingTierError {
  return err instanceof MissingTierError;
}
export function isNotSupported(err: unknown): err is NotSupportedError {
  return err instanceof NotSupportedError;
}
