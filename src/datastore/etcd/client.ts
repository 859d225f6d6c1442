// The etcd v3 client as the store configures it, and how its failures become datastore errors.
//
// Fault handling (etcd3 runs every call through a global policy, then a per-host one):
// - global: retry a recoverable failure (connection refused, unavailable, timed out) on the next host, so a
//   cluster with a dead member keeps serving; a few quick attempts, then UnavailableError. A CLI call against
//   a stopped etcd fails within a second instead of hanging.
// - host: no circuit breaker. etcd3's default opens it for 5 s after three failures, which would keep a
//   restarted single-member etcd unusable for seconds after it is back.
// - watches reconnect on their own with a short capped backoff (the default caps at 30 s).

import { ConstantBackoff, ExponentialBackoff, handleWhen, noop, retry, type IBackoff } from 'cockatiel';
import { Etcd3, isRecoverableError } from 'etcd3';

import { CompactedError, StorageError, UnavailableError, isDatastoreError } from '../errors.js';

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
}

export function hostUrls(endpoints: string[]): string[] {
  return endpoints.map((e) => (/^https?:\/\//.test(e) ? e : `http://${e}`));
}

export function createEtcdClient(options: EtcdStoreOptions): Etcd3 {
  const callTimeoutMs = options.callTimeoutMs ?? 5_000;
  const hosts = hostUrls(options.endpoints);
  return new Etcd3({
    hosts,
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
  return text.replace(/^\d+ [A-Z_]+: /, '').split(/\. /)[0]!.replace(/\.$/, '');
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
  if (isConnectionError(err)) return new UnavailableError(endpoint, connectionReason(err), { cause: err });
  return err;
}
