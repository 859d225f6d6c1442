// The etcd v3 client as the store configures it, and how its failures become datastore errors.
//
// Fault handling (etcd3 runs every call through a global policy, then a per-host one):
// - global: retry a recoverable failure (connection refused, unavailable, timed out) on the next host, so a
//   cluster with a dead member keeps serving; a few quick attempts, then UnavailableError. A CLI call against
//   a stopped etcd fails within a second instead of hanging.
// - host: no circuit breaker. etcd3's default opens it for 5 s after three failures, which would keep a
//   restarted single-member etcd unusable for seconds after it is back.
// - watches reconnect on their own with a short capped backoff (the default caps at 30 s).
//
// TLS and authentication (calicoctl's etcdCACertFile/etcdCertFile/etcdKeyFile and etcdUsername/etcdPassword): the
// PEM bytes and the credentials arrive here already read and checked by the caller (the CLI's settings); etcd3
// hands them to gRPC's createSsl for every endpoint, and exchanges the user and password for a token on first use.
// A TLS failure surfaces as UNAVAILABLE whose text holds Node's verification error ("unable to verify the first
// certificate", "self-signed certificate in certificate chain", an alert from a server that wanted a client
// certificate): it becomes UnavailableError naming the endpoints and that problem. A refused password or a missing
// permission becomes UnauthorizedError.

import { rootCertificates } from 'node:tls';

import { ConstantBackoff, ExponentialBackoff, handleWhen, noop, retry, type IBackoff } from 'cockatiel';
import {
  Etcd3, EtcdAuthenticationFailedError, EtcdInvalidAuthTokenError, EtcdPermissionDeniedError, isRecoverableError,
  type IOptions,
} from 'etcd3';

import { CompactedError, StorageError, UnauthorizedError, UnavailableError, isDatastoreError } from '../errors.js';

/** PEM bytes for etcd's client TLS; a missing `ca` means the system's roots (Node's bundled list). */
export interface EtcdTlsMaterial {
  ca?: Buffer;
  /** Client certificate chain and its private key: both or neither. */
  cert?: Buffer;
  key?: Buffer;
}

export interface EtcdAuth {
  username: string;
  password: string;
}

export interface EtcdStoreOptions {
  /** `host:port` or `http://host:port`, one per member. */
  endpoints: string[];
  /** Key prefix; Calico's etcdv3 layout by default. */
  prefix?: string;
  /** Deadline of each unary call. Default 5 s. */
  callTimeoutMs?: number;
  /** Clock for creationTimestamp (a test seam). */
  now?: () => Date;
  /** Calico's client-side checks between objects and its built-in tiers (admission.ts). Default true. */
  crossObjectChecks?: boolean;
  /** Client TLS for `https://` endpoints. */
  tls?: EtcdTlsMaterial;
  /** etcd user/password authentication. */
  auth?: EtcdAuth;
}

/**
 * gRPC passes the endpoint's host as the TLS server name, and for `https://127.0.0.1:2379` Node then warns once per
 * process (DEP0123: an IP is no SNI name, RFC 6066) on the process's stderr, around the CLI's own output. Node
 * ignores the name for SNI and checks the certificate's IP SAN all the same, so the warning carries nothing for a
 * user: this drops exactly that one warning, and only once an IP endpoint with TLS is configured.
 */
let ipServerNameWarningDropped = false;
function dropIpServerNameWarning(): void {
  if (ipServerNameWarningDropped) return;
  ipServerNameWarningDropped = true;
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const code = typeof rest[0] === 'object' && rest[0] !== null ? (rest[0] as { code?: unknown }).code : rest[1];
    if (code === 'DEP0123') return;
    emit(warning, ...rest);
  }) as typeof process.emitWarning;
}

function channelCredentials(tls: EtcdTlsMaterial | undefined): IOptions['credentials'] {
  if (tls === undefined) return undefined;
  return {
    // etcd3 declares the root certificate required; without one, the roots Node trusts by default.
    rootCertificate: tls.ca ?? Buffer.from(rootCertificates.join('\n')),
    ...(tls.key && { privateKey: tls.key }),
    ...(tls.cert && { certChain: tls.cert }),
  };
}

export function hostUrls(endpoints: string[]): string[] {
  return endpoints.map((e) => (/^https?:\/\//.test(e) ? e : `http://${e}`));
}

export function createEtcdClient(options: EtcdStoreOptions): Etcd3 {
  const callTimeoutMs = options.callTimeoutMs ?? 5_000;
  const hosts = hostUrls(options.endpoints);
  const secure = hosts.some((h) => h.startsWith('https://'));
  if (secure && hosts.some((h) => /^https:\/\/(?:\d+\.\d+\.\d+\.\d+|\[[0-9a-f:.]+\]):/i.test(h))) dropIpServerNameWarning();
  const credentials = secure ? channelCredentials(options.tls ?? {}) : undefined;
  return new Etcd3({
    hosts,
    ...(credentials && { credentials }),
    ...(options.auth && { auth: { ...options.auth } }),
    dialTimeout: callTimeoutMs,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    grpcOptions: {
      // Reconnect quickly after a member restarts (gRPC's default backoff grows to two minutes).
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1_000,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    },
    faultHandling: {
      host: () => noop,
      global: retry(handleWhen(isRecoverableError), {
        maxAttempts: Math.max(2, hosts.length),
        backoff: new ConstantBackoff(100),
      }),
      // etcd3 declares an IBackoff but calls .next() on it first, as on cockatiel's backoff factories (its own
      // default is `new ExponentialBackoff()` too).
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1_000 }) as unknown as IBackoff<unknown>,
    },
  });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A short reason for a connection failure; gRPC's messages run to several sentences. */
function connectionReason(err: unknown): string {
  const text = messageOf(err);
  const refused = /connect (ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT) ([^\s.]+(?:\.[^\s.]+)*:\d+)/.exec(text);
  if (refused) return `${refused[1] === 'ECONNREFUSED' ? 'connection refused' : refused[1]} (${refused[2]})`;
  if (/deadline/i.test(text)) return 'no answer before the deadline';
  const tls = tlsProblem(text);
  if (tls) return tls;
  // gRPC's "No connection established. Last error: Error: <why> (<timestamp>). Resolution note: …": keep the why.
  const last = /No connection established\. Last error: (?:Error: )?(.*?)(?: \(\d{4}-[^)]*\))?\.? Resolution note/s.exec(text);
  if (last && last[1]) {
    const why = last[1].trim().replace(/\.$/, '');
    const plainToTls = why === 'Failed to connect' ? ' (if that etcd serves TLS, use https:// or etcds://)' : '';
    return `no connection established: ${why.charAt(0).toLowerCase()}${why.slice(1)}${plainToTls}`;
  }
  return text.replace(/^\d+ [A-Z_]+: /, '').split(/\. /)[0]!.replace(/\.$/, '');
}

/**
 * The certificate problem in a gRPC connection failure, in words a user can act on; undefined when the failure
 * is not about TLS. Node's verification errors (X509_V_ERR_* texts) are kept as they are: they are what openssl
 * and curl print too.
 */
function tlsProblem(text: string): string | undefined {
  const verify = /(unable to verify the first certificate|self[- ]signed certificate(?: in certificate chain)?|unable to get (?:local )?issuer certificate|certificate has expired|certificate is not yet valid|Hostname\/IP does not match certificate's altnames[^.]*|ERR_TLS_CERT_ALTNAME_INVALID)/i.exec(text);
  if (verify) return `TLS: the server's certificate was not accepted: ${verify[1]} (is spec.etcdCACertFile / ETCD_CA_CERT_FILE the CA that signed it?)`;
  const alert = /alert (bad certificate|certificate required|unknown ca|handshake failure|certificate unknown)/i.exec(text);
  if (alert) return `TLS: the server rejected the client certificate (alert ${alert[1]}); it needs a certificate its trusted CA signed (etcdCertFile/etcdKeyFile, ETCD_CERT_FILE/ETCD_KEY_FILE)`;
  if (/wrong version number|packet length too long|http_request|disconnected before secure TLS connection/i.test(text)) {
    return 'TLS: the server does not speak TLS on this port (use http:// or etcd:// for a plain-text etcd)';
  }
  return undefined;
}

/** Whether an etcd3 error means "could not talk to etcd" rather than "etcd said no". */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return isRecoverableError(err) || /deadline|unavailable|ECONNREFUSED|connect|closed|circuit/i.test(
    `${err.name} ${err.message}`,
  );
}

/** etcd's ErrCompacted, as it surfaces through gRPC ("mvcc: required revision has been compacted"). */
export function isCompactedError(err: unknown): boolean {
  return err instanceof Error && /required revision has been compacted/.test(err.message);
}

/** Maps a client failure to a datastore error naming the endpoints tried; datastore errors pass through. */
export function toDatastoreError(err: unknown, endpoint: string, context?: { revision?: number }): unknown {
  if (isDatastoreError(err)) return err;
  if (isCompactedError(err) && context?.revision !== undefined) return new CompactedError(context.revision, undefined);
  // etcd's space quota (ErrGRPCNoSpace, "etcdserver: mvcc: database space exceeded"): the write was refused and
  // nothing was stored; etcd stays read-only until compacted, defragmented and its NOSPACE alarm disarmed.
  if (err instanceof Error && /database space exceeded/.test(err.message)) {
    return new StorageError(endpoint, 'ENOSPC', `${endpoint} (etcd's backend database)`, 'write to', false, { cause: err });
  }
  if (err instanceof EtcdAuthenticationFailedError) {
    return new UnauthorizedError(endpoint, 'authentication failed: invalid user name or password (etcdUsername/etcdPassword, ETCD_USERNAME/ETCD_PASSWORD)', { cause: err });
  }
  if (err instanceof EtcdPermissionDeniedError || err instanceof EtcdInvalidAuthTokenError) {
    return new UnauthorizedError(endpoint, `${connectionReason(err).replace(/^etcdserver: /, '')} (etcd's authentication is on: give etcdUsername/etcdPassword or ETCD_USERNAME/ETCD_PASSWORD of a user with access to the keys)`, { cause: err });
  }
  // etcd with authentication on, asked without a user ("etcdserver: user name is empty").
  if (err instanceof Error && /etcdserver: user name is empty/.test(err.message)) {
    return new UnauthorizedError(endpoint, "etcd's authentication is on and no user was given (etcdUsername/etcdPassword, ETCD_USERNAME/ETCD_PASSWORD)", { cause: err });
  }
  if (isConnectionError(err)) return new UnavailableError(endpoint, connectionReason(err), { cause: err });
  return err;
}
