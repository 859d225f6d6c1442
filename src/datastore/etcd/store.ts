// The etcd v3 store: Calico's etcdv3 key layout (keys.ts), etcd's own revisions, and optimistic concurrency
// through transactions that compare mod_revision (libcalico-go lib/backend/etcdv3/etcdv3.go does the same).
//
// Each write is read → decide (admission.ts) → txn(compare the revision we read; put) . When the compare fails
// someone changed the object in between: with a caller-given resourceVersion that is a Conflict; without one
// the write is decided again against the new value (last writer wins, as calicoctl replace without a version).
//
// Values hold the object without resourceVersion; reads fill it in from the key's mod_revision.
//
// Cross-object checks (admission.ts) are atomic here, which libcalico-go's are not: creating a policy in a tier
// also compares that the tier key exists; deleting a tier reads the tiered kinds at one revision R and compares
// that no key under their prefixes changed after R (a compare over a key range), so a policy created in the tier
// meanwhile makes the delete decide again.

import type { Etcd3, ICompare, IKeyValue, IRequestOp } from 'etcd3';

import type { Resource, ResourceKey } from '../../api/index.js';
import {
  admit, checkDelete, checkResourceVersionSyntax, isBuiltinTierKey, planWrite, referenceViewOfMap, stampResourceVersion,
  tierToCheck, TIERED_KINDS, unreadableStub, type ReferenceView, type StoredObject, type WriteMode,
} from '../admission.js';
import { builtinTierObject, withBuiltinTiers } from '../builtin-tiers.js';
import type {
  ApplyResult, Datastore, ListOptions, Preconditions, ResourceList, SkippedObject, Watch, WatchOptions,
} from '../datastore.js';
import { ConflictError, NotFoundError, UnreadableObjectError, isDatastoreError } from '../errors.js';
import { decodeStoredObject } from '../stored-object.js';
import { CALICO_ETCD_PREFIX, compareKeys, keyPath, kindPath, normaliseKey } from '../keys.js';
import { compileQuery } from '../query.js';
import { formatDatastoreLocation } from '../location.js';
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

/** A key under our prefix whose value cannot be served (stored-object.ts). */
export interface SkippedKv {
  path: string;
  key: ResourceKey;
  skipped: SkippedObject;
  modRevision: number;
}

/** What is stored at one key: the object when it can be served; its mod_revision either way. */
interface Current {
  obj: StoredObject | undefined;
  modRevision: number;
  skipped?: SkippedObject;
}

export class EtcdStore implements Datastore {
  readonly endpoint: string;
  readonly client: Etcd3;
  readonly prefix: string;
  private readonly now: () => Date;
  private readonly crossObjectChecks: boolean;
  private readonly watches = new Set<EtcdWatch>();

  constructor(options: EtcdStoreOptions) {
    this.endpoint = formatDatastoreLocation({ type: 'etcd', endpoints: options.endpoints });
    this.prefix = options.prefix ?? CALICO_ETCD_PREFIX;
    this.now = options.now ?? (() => new Date());
    this.crossObjectChecks = options.crossObjectChecks ?? true;
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
      if (found?.skipped) throw new UnreadableObjectError(k, found.skipped.key, found.skipped.reason);
      if (!found?.obj) {
        const builtin = this.crossObjectChecks ? builtinTierObject(k) : undefined;
        if (builtin) return builtin;
        throw new NotFoundError(k);
      }
      // Values decoded from etcd are fresh objects: stamp them in place instead of copying.
      return stampResourceVersion(found.obj.value, found.obj.modRevision);
    });
  }

  list(options: ListOptions = {}): Promise<ResourceList> {
    return this.guard(async () => {
      const query = compileQuery(options);
      const { entries, skipped, revision } = await this.rangeAll(query.prefix);
      const items = entries
        .filter((e) => query.matches(e.key, e.obj.value))
        .sort((a, b) => compareKeys(a.key, b.key))
        .map((e) => stampResourceVersion(e.obj.value, e.obj.modRevision));
      const bad = skipped.filter((e) => query.keyMatches(e.key)).map((e) => e.skipped);
      return {
        items: this.crossObjectChecks ? withBuiltinTiers(items, options, query) : items, revision,
        ...(bad.length > 0 && { skipped: bad }),
      };
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
      const tierDelete = this.crossObjectChecks && k.kind === 'Tier';
      let current = tierDelete ? undefined : await this.readOne(path);
      for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
        let references: ReferenceView | undefined;
        let guards: ICompare[] = [];
        if (tierDelete) ({ current, references, guards } = await this.tierDeleteState(k, path));
        let result: Resource;
        if (current && !current.obj) {
          // An unreadable object can be deleted (that is how it is cleaned up); only its revision can be checked.
          checkResourceVersionSyntax(k, preconditions.resourceVersion);
          const actual = { resourceVersion: String(current.modRevision) };
          if (preconditions.uid !== undefined ||
            (preconditions.resourceVersion !== undefined && preconditions.resourceVersion !== actual.resourceVersion)) {
            throw new ConflictError(k, preconditions, actual);
          }
          result = unreadableStub(k, current.modRevision);
        } else {
          const obj = current?.obj;
          checkDelete(k, preconditions, obj, references);
          result = stampResourceVersion(obj.value, obj.modRevision);
        }
        const res = await this.client.kv.txn({
          compare: [{ key: etcdKey, target: 'Mod', result: 'Equal', mod_revision: current!.modRevision }, ...guards],
          success: [{ request_delete_range: { key: etcdKey } }],
          failure: [{ request_range: { key: etcdKey } }],
        });
        if (res.succeeded) return result;
        current = this.decodeOne(res.responses[0]?.response_range.kvs[0]);
      }
      throw new Error(`delete of ${path} lost the compare ${MAX_WRITE_ATTEMPTS} times in a row`);
    });
  }

  /**
   * What a tier delete is checked against, read at one revision R: the tier, the policies of the tiered kinds,
   * and compares that fail if any of those policies changed after R. Built-in tiers need no reads (refused).
   */
  private async tierDeleteState(key: ResourceKey, path: string): Promise<{
    current: Current | undefined; references: ReferenceView; guards: ICompare[];
  }> {
    if (isBuiltinTierKey(key)) return { current: undefined, references: referenceViewOfMap(new Map()), guards: [] };
    const tier = await this.client.kv.range({ key: Buffer.from(this.prefix + path) });
    const revision = Number(tier.header.revision);
    const objects = new Map<string, { value: Resource }>();
    const guards: ICompare[] = [];
    for (const kind of TIERED_KINDS) {
      const { entries } = await this.rangeAll(kindPath(kind), revision);
      for (const e of entries) objects.set(e.path, e.obj);
      const start = Buffer.from(this.prefix + kindPath(kind));
      guards.push({ key: start, range_end: prefixEnd(start), target: 'Mod', result: 'Less', mod_revision: revision + 1 });
    }
    return { current: this.decodeOne(tier.kvs[0]), references: referenceViewOfMap(objects), guards };
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
  async rangeAll(path: string, atRevision?: number): Promise<{ entries: DecodedKv[]; skipped: SkippedKv[]; revision: number }> {
    const start = Buffer.from(this.prefix + path);
    const end = prefixEnd(start);
    let key = start;
    let revision = atRevision;
    const entries: DecodedKv[] = [];
    const skipped: SkippedKv[] = [];
    for (;;) {
      const res = await this.client.kv.range({
        key, range_end: end, limit: PAGE_SIZE, ...(revision !== undefined && { revision }),
      });
      // The first page fixes the revision, so every page shows the same moment.
      revision ??= Number(res.header.revision);
      for (const kv of res.kvs) {
        const d = this.decode(kv);
        if (d && 'obj' in d) entries.push(d);
        else if (d) skipped.push(d);
      }
      const last = res.kvs[res.kvs.length - 1];
      if (!res.more || !last) break;
      key = Buffer.concat([last.key, Buffer.from([0])]);
    }
    return { entries, skipped, revision };
  }

  /**
   * Decodes a key-value under our prefix through the shared decoder (stored-object.ts): the object, or what was
   * skipped and why; undefined for keys that are not object keys (other tools' data under the prefix).
   */
  decode(kv: IKeyValue): DecodedKv | SkippedKv | undefined {
    const full = kv.key.toString();
    if (!full.startsWith(this.prefix)) return undefined;
    const path = full.slice(this.prefix.length);
    const modRevision = Number(kv.mod_revision);
    const d = decodeStoredObject(kv.value, { path, where: full, revision: modRevision });
    if (!d) return undefined;
    if (!d.ok) return { path, key: d.skipped.resource!, skipped: d.skipped, modRevision };
    return { path, key: d.key, obj: { value: d.value, modRevision } };
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
      // A policy the write may create must find its tier: read it now, and compare at commit that it still exists.
      const tier = this.crossObjectChecks && mode !== 'update' ? tierToCheck(admitted) : undefined;
      const tierKey = tier === undefined ? undefined : Buffer.from(this.prefix + keyPath({ kind: 'Tier', name: tier }));
      let tierStored = tierKey !== undefined && (await this.readOne(keyPath({ kind: 'Tier', name: tier! }))) !== undefined;
      const references: ReferenceView | undefined = this.crossObjectChecks
        ? { tierStored: (name) => name === tier && tierStored, policiesInTier: () => [] }
        : undefined;
      let ownUid: string | undefined;
      for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
        // A create whose reply was lost (etcd3 retried it) finds its own object: that is success, not a clash.
        if (current?.obj && ownUid !== undefined && current.obj.value.metadata.uid === ownUid) {
          return { resource: stampResourceVersion(current.obj.value, current.modRevision), created: true };
        }
        // An unreadable stored value is replaced as if absent (apply and create write a valid object over it).
        const { value, created } = planWrite(mode, admitted, current?.obj, this.now, references);
        if (created) ownUid = value.metadata.uid;
        const compare: ICompare[] = [current
          ? { key: etcdKey, target: 'Mod', result: 'Equal', mod_revision: current.modRevision }
          : { key: etcdKey, target: 'Create', result: 'Equal', create_revision: 0 }];
        const failure: IRequestOp[] = [{ request_range: { key: etcdKey } }];
        if (created && tierKey) {
          compare.push({ key: tierKey, target: 'Version', result: 'Greater', version: 0 });
          failure.push({ request_range: { key: tierKey } });
        }
        const res = await this.client.kv.txn({
          compare,
          success: [{ request_put: { key: etcdKey, value: Buffer.from(JSON.stringify(value)) } }],
          failure,
        });
        if (res.succeeded) return { resource: stampResourceVersion(value, Number(res.header.revision)), created };
        current = this.decodeOne(res.responses[0]?.response_range.kvs[0]);
        if (failure.length > 1) tierStored = (res.responses[1]?.response_range.kvs.length ?? 0) > 0;
      }
      throw new Error(`write of ${path} lost the compare ${MAX_WRITE_ATTEMPTS} times in a row`);
    });
  }

  private async readOne(path: string): Promise<Current | undefined> {
    const res = await this.client.kv.range({ key: Buffer.from(this.prefix + path) });
    return this.decodeOne(res.kvs[0]);
  }

  private decodeOne(kv: IKeyValue | undefined): Current | undefined {
    if (!kv) return undefined;
    const d = this.decode(kv);
    const modRevision = Number(kv.mod_revision);
    if (!d) return { obj: undefined, modRevision, skipped: { key: kv.key.toString(), reason: 'not a Tabby object key', revision: modRevision } };
    return 'obj' in d ? { obj: d.obj, modRevision } : { obj: undefined, modRevision, skipped: d.skipped };
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
