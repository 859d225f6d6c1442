// Turning a datastore location into a store: `file:PATH` (or a bare path) for the embedded file store,
// `etcd://host:port[,host:port...]` for etcd. The CLI, the server and the daemon all open stores through here.

import type { Issue, Result } from '../api/index.js';
import type { Datastore } from './datastore.js';
import { EtcdStore } from './etcd/store.js';
import type { EtcdStoreOptions } from './etcd/client.js';
import { FileStore, type FileStoreOptions } from './file/store.js';

export type DatastoreLocation =
  | { type: 'file'; dir: string }
  | { type: 'etcd'; endpoints: string[] };

function invalid(text: string, message: string): Result<DatastoreLocation> {
  const issue: Issue = { code: 'datastore.location', path: [], message, value: text };
  return { ok: false, issues: [issue] };
}

/** Parses `file:PATH`, `etcd://h:p,h:p` (also `etcd+http://`, `http://`). */
export function parseDatastoreLocation(text: string): Result<DatastoreLocation> {
  const t = text.trim();
  if (t === '') return invalid(text, 'empty datastore location (expected file:PATH or etcd://HOST:PORT[,HOST:PORT])');
  const etcd = /^(?:etcds?|etcd\+https?|https?):\/\/(.*)$/.exec(t);
  if (etcd) {
    const scheme = /^(?:https|etcd\+https|etcds):/.test(t) ? 'https' : 'http';
    const hosts = etcd[1]!.split(',').map((h) => h.trim().replace(/\/+$/, '')).filter((h) => h !== '');
    if (hosts.length === 0) return invalid(text, `no etcd endpoint in '${text}' (expected etcd://HOST:PORT[,HOST:PORT])`);
    for (const h of hosts) {
      if (!/^[A-Za-z0-9.\-_]+:\d{1,5}$|^\[[0-9A-Fa-f:.]+\]:\d{1,5}$/.test(h)) {
        return invalid(text, `etcd endpoint '${h}' is not HOST:PORT`);
      }
    }
    return { ok: true, value: { type: 'etcd', endpoints: hosts.map((h) => (scheme === 'https' ? `https://${h}` : h)) } };
  }
  if (t.startsWith('file:')) {
    const dir = t.slice('file:'.length).replace(/^\/\/(?=\/)/, '');
    if (dir === '') return invalid(text, "file: needs a directory (file:PATH)");
    return { ok: true, value: { type: 'file', dir } };
  }
  // `etcd:127.0.0.1:2379` or `foo:/x` used to become a local directory named after the typo; a word followed by
  // ':' is a scheme, and the only one without '//' is file:.
  if (/^[a-z][a-z0-9+.-]*:/i.test(t)) {
    return invalid(text, `unsupported datastore scheme in '${text}' (expected file:PATH, etcd://HOST:PORT[,HOST:PORT], etcds://…, http(s)://HOST:PORT)`);
  }
  return { ok: true, value: { type: 'file', dir: t } };
}

export function formatDatastoreLocation(loc: DatastoreLocation): string {
  return loc.type === 'file' ? `file:${loc.dir}` : `etcd://${loc.endpoints.join(',')}`;
}

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
