// The datastore part: one interface (datastore.ts), two stores (file/, etcd/), typed errors (errors.ts).
// Other parts import only this file.

export type {
  ApplyResult, Datastore, ListOptions, Preconditions, ResourceList, SkippedObject, Watch, WatchEvent, WatchOptions,
} from './datastore.js';
export { toResourceUpdate } from './datastore.js';
export {
  isBuiltinTierKey, previewDelete, previewWrite, referenceViewOfMap, TIERED_KINDS, tierOf, type ReferenceView, type WriteMode,
} from './admission.js';
export { builtinTierObject } from './builtin-tiers.js';
export {
  AlreadyExistsError, CompactedError, ConflictError, DamagedStoreError, DatastoreError, InvalidError, StorageError,
  UnreadableObjectError, isDamaged, isStorageError, MissingTierError, NotFoundError,
  NotSupportedError, UnauthorizedError, UnavailableError, describeKey, isAlreadyExists, isCompacted, isConflict, isDatastoreError, isInvalid,
  isMissingTier, isNotFound, isNotSupported, isUnauthorized, isUnavailable,
  type DatastoreErrorCode,
} from './errors.js';
export { CALICO_ETCD_PREFIX, DEFAULT_NAMESPACE, keyOf, keyPath, normaliseKey, parseKeyPath } from './keys.js';
export {
  decodeStoredObject, describeSkipped, MAX_STORED_OBJECT_BYTES, type DecodeContext, type DecodedObject,
} from './stored-object.js';
export { parseLabelSelector, type LabelMatcher } from './label-selector.js';
export { FileStore, type FileStoreOptions, type StoreWarning } from './file/store.js';
// The store's writer lock, also the lock that lets one agent at a time run for a node (dataplane/agent/lock.ts).
export { FileLock, LockTimeoutError, lockOwner } from './file/lock.js';
export {
  checkFileStore, repairFileStore, REVISION_MARGIN, type FileReport, type IntegrityReport, type RepairReport,
} from './file/integrity.js';
export { errnoOf } from './errno.js';
export { EtcdStore } from './etcd/store.js';
export type { EtcdAuth, EtcdStoreOptions, EtcdTlsMaterial } from './etcd/client.js';
export {
  ACCEPTED_LOCATIONS, formatDatastoreLocation, isTlsLocation, openDatastore, parseDatastoreLocation, parseEtcdEndpoints,
  type DatastoreLocation, type OpenOptions,
} from './open.js';
