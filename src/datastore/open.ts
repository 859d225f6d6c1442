// Turning a datastore location (location.ts) into a store: the embedded file store, or etcd with the TLS
// material and credentials in `options.etcd`. The CLI, the server and the daemon all open stores through here.

import type { Datastore } from './datastore.js';
import { EtcdStore } from './etcd/store.js';
import type { EtcdStoreOptions } from './etcd/client.js';
import { FileStore, type FileStoreOptions } from './file/store.js';
import type { DatastoreLocation } from './location.js';

export {
  ACCEPTED_LOCATIONS, formatDatastoreLocation, isTlsLocation, parseDatastoreLocation, parseEtcdEndpoints, type DatastoreLocation,
} from './location.js';

export interface OpenOptions {
  file?: Omit<FileStoreOptions, 'dir'>;
  etcd?: Omit<EtcdStoreOptions, 'endpoints'>;
}

/** Opens a store. Throws UnavailableError when a file store cannot be opened; etcd connects on first use. */
export function openDatastore(loc: DatastoreLocation, options: OpenOptions = {}): Promise<Datastore> {
  return loc.type === 'file'
    ? FileStore.open({ ...options.file, dir: loc.dir })
    : EtcdStore.open({ ...options.etcd, endpoints: loc.endpoints });
}
