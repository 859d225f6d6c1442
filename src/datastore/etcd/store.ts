// The etcd v3 store: Calico's etcdv3 key layout (keys.ts), etcd's own revisions, and optimistic concurrency
// through transactions that compare mod_revision (libcalico-go lib/backend/etcdv3/etcdv3.go does the same).
//
// Each write is read → decide (admission.ts) → txn(compare the revision we read; put) . When the compare fails
// someone changed the object in between: with a caller-given resourceVersion that is a Conflict; without one
// the write is decided again against the new value (last writer wins, as calicoctl replace without a version).
//
// Values hold the object without resourceVersion; reads fill it in from the key's mod_revision.

import type { Etcd3, IKeyValue } from 'etcd3';

import type { Resource, ResourceKey } from '../../api/index.js';
import {
  admit, checkPreconditions, planWrite, stampResourceVersion, type StoredObject, type WriteMode,
} from '../admission.js';
import type {
  ApplyResult, Datastore, ListOptions, Preconditions, ResourceList, Watch, WatchOptions,
} from '../datastore.js';
import { NotFoundError, isDatastoreError } from '../errors.js';
import { CALICO_ETCD_PREFIX, compareKeys, keyPath, normaliseKey, parseKeyPath } from '../keys.js';
import { compileQuery } from '../query.js';
import { createEtcdClient, isCompactedError, toDatastoreError, type EtcdStoreOptions } from './client.js';
import { EtcdWatch } from './watch.js';

/** Writes retried when other writers keep winning the compare; a livelock guard, never hit in practice. */
const MAX_WRITE_ATTEMPTS = 20;
const PAGE_SIZE = 1000;

/** The first key after every key that starts with `prefix` (etcd's range_end for a prefix scan). */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

export interface DecodedKv {
  path: string;
  key: ResourceKey;
  obj: StoredObject;
}

export class EtcdStore implements Datastore {
  readonly endpoint: string;
  readonly client: Etcd3;
  readonly prefix: string;
  private readonly now: () => Date;
  private readonly watches = new Set<EtcdWatch>();

  constructor(options: EtcdStoreOptions) {
    this.endpoint = `etcd://${options.endpoints.join(',')}`;
    this.prefix = options.prefix ?? CALICO_ETCD_PREFIX;
    this.now = options.now ?? (() => new Date());
    this.client = createEtcdClient(options);
  }

  /** Connects lazily; the first call that cannot reach etcd fails with UnavailableError. */
  static async open(options: EtcdStoreOptions): Promise<EtcdStore> {
    return new EtcdStore(options);
  }

  // --- Datastore -------------------------------------------------------------------------------------------

  get(key: ResourceKey): Promise<Resource> {
    return this.guard(async () => {
      const k = normaliseKey(key);
      const found = await this.readOne(keyPath(k));
      if (!found) throw new NotFoundError(k);
      // Values decoded from etcd are fresh objects: stamp them in place instead of copying.
      return stampResourceVersion(found.value, found.modRevision);
    });
  }

  list(options: ListOptions = {}): Promise<ResourceList> {
    return this.guard(async () => {
      const query = compileQuery(options);
      const { entries, revision } = await this.rangeAll(query.prefix);
      const items = entries
        .filter((e) => query.matches(e.key, e.obj.value))
        .sort((a, b) => compareKeys(a.key, b.key))
        .map((e) => stampResourceVersion(e.obj.value, e.obj.modRevision));
      return { items, revision };
    });
  }

  async create(resource: Resource): Promise<Resource> {
    return (await this.put('create', resource)).resource;
  }

  async update(resource: Resource): Promise<Resource> {
    return (await this.put('update', resource)).resource;
  }

  apply(resource: Resource): Promise<ApplyResult> {
    return this.put('apply', resource);
  }

  delete(key: ResourceKey, preconditions: Preconditions = {}): Promise<Resource> {
    return this.guard(async () => {
      const k = normaliseKey(key);
      const path = keyPath(k);
      const etcdKey = Buffer.from(this.prefix + path);
      let current = await this.readOne(path);
      for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
        if (!current) throw new NotFoundError(k);
        checkPreconditions(k, preconditions, current);
        const res = await this.client.kv.txn({
          compare: [{ key: etcdKey, target: 'Mod', result: 'Equal', mod_revision: current.modRevision }],
          success: [{ request_delete_range: { key: etcdKey } }],
          failure: [{ request_range: { key: etcdKey } }],
        });
        if (res.succeeded) return stampResourceVersion(current.value, current.modRevision);
        current = this.decodeOne(res.responses[0]?.response_range.kvs[0]);
      }
      throw new Error(`delete of ${path} lost the compare ${MAX_WRITE_ATTEMPTS} times in a row`);
    });
  }

  watch(options: WatchOptions = {}): Watch {
    const w = new EtcdWatch(this, options, () => this.watches.delete(w));
    this.watches.add(w);
    w.start();
    return w.queue;
  }

  revision(): Promise<number> {
    return this.guard(async () => {
      const res = await this.client.kv.range({ key: Buffer.from(this.prefix), count_only: true });
      return Number(res.header.revision);
    });
  }

  compact(revision?: number): Promise<void> {
    return this.guard(async () => {
      const rev = revision ?? (await this.revision());
      try {
        await this.client.kv.compact({ revision: rev, physical: true });
      } catch (err) {
        if (!isCompactedError(err)) throw err; // already compacted at or beyond `rev`: nothing to do
      }
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.watches].map((w) => w.queue.close()));
    this.client.close();
  }

  // --- used by the watch -----------------------------------------------------------------------------------

  /** Every object under `path` (a keys.ts prefix), read page by page at one revision. */
  async rangeAll(path: string, atRevision?: number): Promise<{ entries: DecodedKv[]; revision: number }> {
    const start = Buffer.from(this.prefix + path);
    const end = prefixEnd(start);
    let key = start;
    let revision = atRevision;
    const entries: DecodedKv[] = [];
    for (;;) {
      const res = await this.client.kv.range({
        key, range_end: end, limit: PAGE_SIZE, ...(revision !== undefined && { revision }),
      });
      // The first page fixes the revision, so every page shows the same moment.
      revision ??= Number(res.header.revision);
      for (const kv of res.kvs) {
        const d = this.decode(kv);
        if (d) entries.push(d);
      }
      const last = res.kvs[res.kvs.length - 1];
      if (!res.more || !last) break;
      key = Buffer.concat([last.key, Buffer.from([0])]);
    }
    return { entries, revision };
  }

  /** Decodes a key-value under our prefix; undefined for foreign keys or values (other tools' data). */
  decode(kv: IKeyValue): DecodedKv | undefined {
    const full = kv.key.toString();
    if (!full.startsWith(this.prefix)) return undefined;
    const path = full.slice(this.prefix.length);
    const key = parseKeyPath(path);
    if (!key) return undefined;
    try {
      const value = JSON.parse(kv.value.toString()) as Resource;
      if (typeof value !== 'object' || value === null || typeof value.metadata !== 'object') return undefined;
      return { path, key, obj: { value, modRevision: Number(kv.mod_revision) } };
    } catch {
      return undefined;
    }
  }

  // --- writes ----------------------------------------------------------------------------------------------

  private put(mode: WriteMode, resource: Resource): Promise<ApplyResult> {
    return this.guard(async () => {
      const admitted = admit(resource);
      const path = keyPath(admitted.key);
      const etcdKey = Buffer.from(this.prefix + path);
      // Creating is the common case: without preconditions, try it straight away (one round trip); if the key
      // exists, the failed compare returns the current value and the loop decides again.
      const pre = admitted.resource.metadata;
      const optimistic = mode !== 'update' && !pre.resourceVersion && !pre.uid;
      let current = optimistic ? undefined : await this.readOne(path);
      let ownUid: string | undefined;
      for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
        // A create whose reply was lost (etcd3 retried it) finds its own object: that is success, not a clash.
        if (current && ownUid !== undefined && current.value.metadata.uid === ownUid) {
          return { resource: stampResourceVersion(current.value, current.modRevision), created: true };
        }
        const { value, created } = planWrite(mode, admitted, current, this.now);
        if (created) ownUid = value.metadata.uid;
        const compare = current
          ? { key: etcdKey, target: 'Mod' as const, result: 'Equal' as const, mod_revision: current.modRevision }
          : { key: etcdKey, target: 'Create' as const, result: 'Equal' as const, create_revision: 0 };
        const res = await this.client.kv.txn({
          compare: [compare],
          success: [{ request_put: { key: etcdKey, value: Buffer.from(JSON.stringify(value)) } }],
          failure: [{ request_range: { key: etcdKey } }],
        });
        if (res.succeeded) return { resource: stampResourceVersion(value, Number(res.header.revision)), created };
        current = this.decodeOne(res.responses[0]?.response_range.kvs[0]);
      }
      throw new Error(`write of ${path} lost the compare ${MAX_WRITE_ATTEMPTS} times in a row`);
    });
  }

  private async readOne(path: string): Promise<StoredObject | undefined> {
    const res = await this.client.kv.range({ key: Buffer.from(this.prefix + path) });
    return this.decodeOne(res.kvs[0]);
  }

  private decodeOne(kv: IKeyValue | undefined): StoredObject | undefined {
    return kv ? this.decode(kv)?.obj : undefined;
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isDatastoreError(err)) throw err;
      throw toDatastoreError(err, this.endpoint);
    }
  }
}
