// Datastore locations as the command line, the environment and config files write them, parsed without opening
// anything (so the CLI's settings can check them without loading a store): `file:PATH` (or a bare path) for the
// embedded file store; `etcd://h:p[,h:p]`, `etcds://…` (TLS), `http(s)://h:p[,http(s)://h:p]` for etcd — the last
// is calicoctl's ETCD_ENDPOINTS / spec.etcdEndpoints form, one scheme per endpoint.

import type { Issue, Result } from '../api/index.js';

export type DatastoreLocation =
  | { type: 'file'; dir: string }
  /** `endpoints`: `host:port` for plain etcd, `https://host:port` for TLS (every endpoint alike). */
  | { type: 'etcd'; endpoints: string[] };

export const ACCEPTED_LOCATIONS = 'file:PATH, etcd://HOST:PORT[,HOST:PORT], etcds://HOST:PORT[,…] (TLS), ' +
  'http(s)://HOST:PORT[,http(s)://HOST:PORT]';

function invalid<T>(text: string, message: string): Result<T> {
  const issue: Issue = { code: 'datastore.location', path: [], message, value: text };
  return { ok: false, issues: [issue] };
}

const HOST_PORT = /^[A-Za-z0-9.\-_]+:\d{1,5}$|^\[[0-9A-Fa-f:.]+\]:\d{1,5}$/;
const ENDPOINT_SCHEME = /^(etcds|etcd\+https|etcd\+http|etcd|https|http):\/\//i;

function isTlsScheme(scheme: string): boolean {
  return /^(etcds|etcd\+https|https)$/i.test(scheme);
}

/**
 * A comma-separated endpoint list: each `HOST:PORT`, optionally with a scheme (`http://`, `https://`, `etcd://`,
 * `etcds://`); the first endpoint's scheme is the default of the others. Mixed plain and TLS endpoints are refused:
 * the etcd client has one set of channel credentials for all of them.
 */
export function parseEtcdEndpoints(text: string): Result<{ endpoints: string[]; tls: boolean }> {
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) return invalid(text, `no etcd endpoint in '${text}' (expected ${ACCEPTED_LOCATIONS})`);
  let tls: boolean | undefined;
  const hosts: string[] = [];
  for (const part of parts) {
    const m = ENDPOINT_SCHEME.exec(part);
    const host = (m ? part.slice(m[0].length) : part).replace(/\/+$/, '');
    if (m) {
      const secure = isTlsScheme(m[1]!);
      if (tls !== undefined && secure !== tls) {
        return invalid(text, `etcd endpoints in '${text}' mix plain and TLS schemes (use one: http:// or https://)`);
      }
      tls = secure;
    } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(part)) {
      return invalid(text, `etcd endpoint '${part}' has an unsupported scheme (expected ${ACCEPTED_LOCATIONS})`);
    }
    if (host === '') continue;
    if (!HOST_PORT.test(host)) return invalid(text, `etcd endpoint '${host}' is not HOST:PORT (expected ${ACCEPTED_LOCATIONS})`);
    const port = Number(host.slice(host.lastIndexOf(':') + 1));
    if (port < 1 || port > 65535) return invalid(text, `etcd endpoint '${host}': port ${port} is out of range 1-65535`);
    hosts.push(host);
  }
  if (hosts.length === 0) return invalid(text, `no etcd endpoint in '${text}' (expected ${ACCEPTED_LOCATIONS})`);
  const secure = tls ?? false;
  return { ok: true, value: { endpoints: hosts.map((h) => (secure ? `https://${h}` : h)), tls: secure } };
}

/** Parses `file:PATH`, a bare path, or an etcd endpoint list (parseEtcdEndpoints) that starts with a scheme. */
export function parseDatastoreLocation(text: string): Result<DatastoreLocation> {
  const t = text.trim();
  if (t === '') return invalid(text, `empty datastore location (expected ${ACCEPTED_LOCATIONS})`);
  if (ENDPOINT_SCHEME.test(t)) {
    const parsed = parseEtcdEndpoints(t);
    return parsed.ok ? { ok: true, value: { type: 'etcd', endpoints: parsed.value.endpoints } } : parsed;
  }
  if (t.startsWith('file:')) {
    const dir = t.slice('file:'.length).replace(/^\/\/(?=\/)/, '');
    if (dir === '') return invalid(text, 'file: needs a directory (file:PATH)');
    return { ok: true, value: { type: 'file', dir } };
  }
  // `etcd:127.0.0.1:2379` or `foo:/x` used to become a local directory named after the typo; a word followed by
  // ':' is a scheme, and the only one without '//' is file:.
  if (/^[a-z][a-z0-9+.-]*:/i.test(t)) {
    return invalid(text, `unsupported datastore scheme in '${text}' (expected ${ACCEPTED_LOCATIONS})`);
  }
  return { ok: true, value: { type: 'file', dir: t } };
}

/** Whether an etcd location's endpoints use TLS. */
export function isTlsLocation(loc: DatastoreLocation): boolean {
  return loc.type === 'etcd' && loc.endpoints.some((e) => e.startsWith('https://'));
}

export function formatDatastoreLocation(loc: DatastoreLocation): string {
  if (loc.type === 'file') return `file:${loc.dir}`;
  return isTlsLocation(loc)
    ? `etcds://${loc.endpoints.map((e) => e.replace(/^https:\/\//, '')).join(',')}`
    : `etcd://${loc.endpoints.join(',')}`;
}
