// The datastore behaviour suite: one set of cases that every store must pass (Hono's router common.case.test.ts
// pattern). Each store's test file supplies a harness — how to get a fresh backing store, open clients on it,
// and (when it can) cut a watcher off from it — and lists the cases it skips, each with a reason.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { Resource } from '../../src/api/types.js';
import {
  isAlreadyExists, isCompacted, isConflict, isInvalid, isMissingTier, isNotFound, isNotSupported, type Datastore,
  type WatchEvent, type WatchOptions,
} from '../../src/datastore/index.js';
import { Collector, brief, foldEvents, gnp, knp, np, specOf, stateOf, tier } from './fixtures.js';

/** A watch running somewhere the test can cut off from the store and reconnect. */
export interface PartitionedWatch {
  until(pred: (events: WatchEvent[]) => boolean, timeoutMs?: number): Promise<WatchEvent[]>;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export interface Backend {
  /**
   * A new client of this backing store (another process, as far as the store can tell); `crossObjectChecks:
   * false` opens it as Calico's backend client (no checks between objects).
   */
  open(options?: { crossObjectChecks?: boolean }): Promise<Datastore>;
  /** A watch behind a link the test controls, when the harness can build one. */
  partitioned?(options: WatchOptions): Promise<PartitionedWatch>;
  dispose(): Promise<void>;
}

export const CASES = [
  'crud', 'defaults', 'create-conflicts', 'invalid', 'update', 'update-conflict', 'apply', 'delete', 'delete-conflict',
  'list-filters', 'revisions', 'kinds-share-names', 'watch-initial', 'watch-live', 'watch-from-revision',
  'watch-kind-filter', 'watch-other-client', 'compaction', 'compaction-resync', 'concurrent-writers',
  'builtin-tiers', 'policy-needs-tier', 'tier-delete-refused', 'tier-delete-races-policy-create', 'unchecked-backend',
] as const;
export type CaseId = (typeof CASES)[number];

export interface StoreHarness {
  name: string;
  /** Why the whole suite cannot run here (e.g. etcd missing), or undefined. */
  skipReason?: string;
  fresh(): Promise<Backend>;
  /** Cases this store does not run, each with the reason. */
  skips?: Partial<Record<CaseId, string>>;
}

const withRv = (r: Resource, rv: string | undefined): Resource => ({ ...r, metadata: { ...r.metadata, resourceVersion: rv } }) as Resource;

export function datastoreSuite(h: StoreHarness): void {
  if (h.skipReason) console.warn(`[${h.name}] skipping the datastore suite: ${h.skipReason}`);
  for (const [id, why] of Object.entries(h.skips ?? {})) console.warn(`[${h.name}] skipping case ${id}: ${why}`);

  describe.skipIf(h.skipReason !== undefined)(`datastore behaviour: ${h.name}`, () => {
    let backend: Backend;
    let store: Datastore;
    const extra: Array<{ close(): Promise<void> }> = [];

    beforeEach(async () => {
      backend = await h.fresh();
      store = await backend.open();
    });
    afterEach(async () => {
      for (const c of extra.splice(0)) await c.close().catch(() => undefined);
      await store.close();
      await backend.dispose();
    });

    const open = async (options?: { crossObjectChecks?: boolean }) => {
      const s = await backend.open(options);
      extra.push(s);
      return s;
    };
    const collect = (s: Datastore, options?: WatchOptions) => {
      const c = new Collector(s.watch(options));
      extra.unshift(c);
      return c;
    };
    const run = (id: CaseId, fn: () => Promise<void>) => it.skipIf(h.skips?.[id] !== undefined)(id, fn);

    run('crud', async () => {
      const created = await store.create(gnp('a'));
      expect(created.metadata.resourceVersion).toMatch(/^\d+$/);
      expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(created.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      const got = await store.get({ kind: 'GlobalNetworkPolicy', name: 'a' });
      expect(got).toEqual(created);
      const deleted = await store.delete({ kind: 'GlobalNetworkPolicy', name: 'a' });
      expect(deleted).toEqual(created);
      const err = await store.get({ kind: 'GlobalNetworkPolicy', name: 'a' }).catch((e: unknown) => e);
      expect(isNotFound(err)).toBe(true);
      expect(err).toMatchObject({ code: 'not-found', key: { kind: 'GlobalNetworkPolicy', name: 'a' } });
      expect(String((err as Error).message)).toBe('resource does not exist: GlobalNetworkPolicy(a)');
    });

    run('defaults', async () => {
      // Stored objects are the api part's defaulted form: tier default, types inferred, namespace filled.
      const created = await store.create(np('', 'web'));
      expect(created.metadata.namespace).toBe('default');
      expect(specOf(created)).toMatchObject({ tier: 'default', types: ['Egress'] });
      const got = await store.get({ kind: 'NetworkPolicy', name: 'web' });
      expect(got.metadata.namespace).toBe('default');
    });

    run('create-conflicts', async () => {
      await store.create(gnp('a'));
      const err = await store.create(gnp('a')).catch((e: unknown) => e);
      expect(isAlreadyExists(err)).toBe(true);
      expect((err as Error).message).toBe('resource already exists: GlobalNetworkPolicy(a)');
      const withVersion = await store.create(withRv(gnp('b'), '7')).catch((e: unknown) => e);
      expect(isInvalid(withVersion)).toBe(true);
      expect((await store.list()).items.map((r) => r.metadata.name)).toEqual(['a']);
    });

    run('invalid', async () => {
      const before = await store.revision();
      const bad = gnp('Bad_Name');
      specOf(bad).selector = 'role == ';
      const err = await store.apply(bad).catch((e: unknown) => e);
      expect(isInvalid(err)).toBe(true);
      const issues = (err as { issues: Array<{ path: unknown[] }> }).issues;
      expect(issues.length).toBeGreaterThanOrEqual(2); // every issue, not just the first
      expect(issues.map((i) => i.path[0])).toEqual(expect.arrayContaining(['metadata', 'spec']));
      expect(await store.revision()).toBe(before);
      expect((await store.list()).items).toEqual([]);
    });

    run('update', async () => {
      const missing = await store.update(gnp('a')).catch((e: unknown) => e);
      expect(isNotFound(missing)).toBe(true);
      const v1 = await store.create(gnp('a', { order: 1 }));
      const v2 = await store.update({ ...gnp('a', { order: 2 }), metadata: { ...v1.metadata } });
      expect(Number(v2.metadata.resourceVersion)).toBeGreaterThan(Number(v1.metadata.resourceVersion));
      expect(v2.metadata.uid).toBe(v1.metadata.uid);
      expect(v2.metadata.creationTimestamp).toBe(v1.metadata.creationTimestamp);
      expect(specOf(v2)).toMatchObject({ order: 2 });
      // No resourceVersion: an unconditional replace (last writer wins), uid kept.
      const v3 = await store.update(gnp('a', { order: 3 }));
      expect(v3.metadata.uid).toBe(v1.metadata.uid);
      expect(specOf(await store.get({ kind: 'GlobalNetworkPolicy', name: 'a' }))).toMatchObject({ order: 3 });
    });

    run('update-conflict', async () => {
      const v1 = await store.create(gnp('a', { order: 1 }));
      await store.update({ ...gnp('a', { order: 2 }), metadata: { ...v1.metadata } });
      const before = await store.get({ kind: 'GlobalNetworkPolicy', name: 'a' });
      const rev = await store.revision();
      const stale = await store.update({ ...gnp('a', { order: 9 }), metadata: { ...v1.metadata } }).catch((e: unknown) => e);
      expect(isConflict(stale)).toBe(true);
      expect((stale as Error).message).toMatch(/^update conflict: GlobalNetworkPolicy\(a\): resourceVersion \d+ is stale/);
      const wrongUid = await store.update({ ...gnp('a'), metadata: { name: 'a', uid: '00000000-0000-0000-0000-000000000000' } })
        .catch((e: unknown) => e);
      expect(isConflict(wrongUid)).toBe(true);
      expect(await store.get({ kind: 'GlobalNetworkPolicy', name: 'a' })).toEqual(before);
      expect(await store.revision()).toBe(rev);
    });

    run('apply', async () => {
      const first = await store.apply(gnp('a', { order: 1 }));
      expect(first.created).toBe(true);
      const second = await store.apply(gnp('a', { order: 2 }));
      expect(second.created).toBe(false);
      expect(second.resource.metadata.uid).toBe(first.resource.metadata.uid);
      const stale = await store.apply(withRv(gnp('a', { order: 3 }), first.resource.metadata.resourceVersion))
        .catch((e: unknown) => e);
      expect(isConflict(stale)).toBe(true);
      // A version for an object this store does not hold is another store's (issue 12 §2, calicoctl's Apply
      // clears it for its Create): the apply creates the object with this store's own version and uid.
      const foreign = await store.apply({ ...withRv(gnp('zzz'), '1'), metadata: { name: 'zzz', resourceVersion: '1', uid: 'from-elsewhere' } });
      expect(foreign.created).toBe(true);
      expect(foreign.resource.metadata.uid).not.toBe('from-elsewhere');
      const ok = await store.apply(withRv(gnp('a', { order: 4 }), second.resource.metadata.resourceVersion));
      expect(specOf(ok.resource)).toMatchObject({ order: 4 });
    });

    run('delete', async () => {
      const missing = await store.delete({ kind: 'NetworkPolicy', namespace: 'x', name: 'nope' }).catch((e: unknown) => e);
      expect(isNotFound(missing)).toBe(true);
      expect((missing as Error).message).toBe('resource does not exist: NetworkPolicy(x/nope)');
      const created = await store.create(np('x', 'p'));
      const deleted = await store.delete({ kind: 'NetworkPolicy', namespace: 'x', name: 'p' },
        { resourceVersion: created.metadata.resourceVersion!, uid: created.metadata.uid! });
      expect(deleted.metadata.uid).toBe(created.metadata.uid);
      expect((await store.list()).items).toEqual([]);
    });

    run('delete-conflict', async () => {
      const v1 = await store.create(gnp('a'));
      const v2 = await store.update(gnp('a', { order: 5 }));
      const stale = await store.delete({ kind: 'GlobalNetworkPolicy', name: 'a' }, { resourceVersion: v1.metadata.resourceVersion! })
        .catch((e: unknown) => e);
      expect(isConflict(stale)).toBe(true);
      const wrongUid = await store.delete({ kind: 'GlobalNetworkPolicy', name: 'a' }, { uid: 'not-the-uid' }).catch((e: unknown) => e);
      expect(isConflict(wrongUid)).toBe(true);
      expect(await store.get({ kind: 'GlobalNetworkPolicy', name: 'a' })).toEqual(v2);
    });

    run('list-filters', async () => {
      await store.create(np('prod', 'b', { app: 'web', env: 'prod' }));
      await store.create(np('prod', 'a', { app: 'db', env: 'prod' }));
      await store.create(np('dev', 'c', { app: 'web' }));
      await store.create(gnp('g', { labels: { app: 'web' } }));
      const names = async (o: Parameters<Datastore['list']>[0]) =>
        (await store.list(o)).items.map((r) => `${r.metadata.namespace ?? ''}/${r.metadata.name}`);
      expect(await names({ kind: 'NetworkPolicy' })).toEqual(['dev/c', 'prod/a', 'prod/b']);
      expect(await names({ kind: 'NetworkPolicy', namespace: 'prod' })).toEqual(['prod/a', 'prod/b']);
      expect(await names({ kind: 'NetworkPolicy', labelSelector: 'app=web' })).toEqual(['dev/c', 'prod/b']);
      expect(await names({ labelSelector: 'app in (web),env!=prod' })).toEqual(['dev/c', '/g']);
      expect(await names({ labelSelector: '!env' })).toEqual(['dev/c', '/g']);
      // A namespace given for a cluster-scoped kind is ignored, as kubectl does.
      expect(await names({ kind: 'GlobalNetworkPolicy', namespace: 'prod' })).toEqual(['/g']);
      // Everything, in kind-registry order (NetworkPolicy before GlobalNetworkPolicy), then namespace, then name.
      expect(await names({})).toEqual(['dev/c', 'prod/a', 'prod/b', '/g']);
      const bad = await store.list({ labelSelector: 'app in web' }).catch((e: unknown) => e);
      expect(isInvalid(bad)).toBe(true);
    });

    run('revisions', async () => {
      const r0 = await store.revision();
      const a = await store.create(gnp('a'));
      const r1 = await store.revision();
      expect(r1).toBeGreaterThan(r0);
      expect(Number(a.metadata.resourceVersion)).toBe(r1);
      await store.create(gnp('a')).catch(() => undefined); // failed writes do not advance the revision
      expect(await store.revision()).toBe(r1);
      const b = await store.apply(gnp('b'));
      expect(Number(b.resource.metadata.resourceVersion)).toBeGreaterThan(r1);
      const list = await store.list();
      expect(list.revision).toBe(await store.revision());
    });

    run('kinds-share-names', async () => {
      // A Calico NetworkPolicy and a Kubernetes NetworkPolicy with the same namespace/name are different objects.
      await store.create(np('x', 'same'));
      await store.create(knp('x', 'same'));
      const calico = await store.get({ kind: 'NetworkPolicy', namespace: 'x', name: 'same' });
      const k8s = await store.get({ kind: 'KubernetesNetworkPolicy', namespace: 'x', name: 'same' });
      expect(calico.apiVersion).toBe('projectcalico.org/v3');
      expect(k8s.apiVersion).toBe('networking.k8s.io/v1');
      await store.delete({ kind: 'KubernetesNetworkPolicy', namespace: 'x', name: 'same' });
      expect((await store.list({ kind: 'NetworkPolicy' })).items).toHaveLength(1);
    });

    run('watch-initial', async () => {
      await store.create(gnp('b'));
      await store.create(np('ns1', 'a'));
      const rev = await store.revision();
      const c = collect(store);
      const events = await c.until((e) => e.some((x) => x.type === 'synced'));
      expect(events.map(brief)).toEqual([
        `add NetworkPolicy/ns1/a@${rev}`, `add GlobalNetworkPolicy//b@${rev}`, `synced@${rev}`,
      ]);
    });

    run('watch-live', async () => {
      const c = collect(store);
      await c.until((e) => e.some((x) => x.type === 'synced'));
      const a1 = await store.create(gnp('a'));
      const a2 = await store.update(gnp('a', { order: 3 }));
      await store.delete({ kind: 'GlobalNetworkPolicy', name: 'a' });
      const events = await c.until((e) => e.some((x) => x.type === 'delete'));
      const rv = (r: Resource) => r.metadata.resourceVersion;
      expect(events.slice(1).map(brief)).toEqual([
        `add GlobalNetworkPolicy//a@${rv(a1)}`, `update GlobalNetworkPolicy//a@${rv(a2)}`,
        `delete GlobalNetworkPolicy//a@${Number(rv(a2)) + 1}`,
      ]);
      const del = events[3]!;
      expect(del.type === 'delete' && del.previous).toEqual(a2);
      const upd = events[2]!;
      expect(upd.type === 'upsert' && upd.resource).toEqual(a2);
    });

    run('watch-from-revision', async () => {
      await store.create(gnp('a'));
      const from = await store.revision();
      const b = await store.create(gnp('b'));
      const a2 = await store.update(gnp('a', { order: 1 }));
      const del = await store.delete({ kind: 'GlobalNetworkPolicy', name: 'b' });
      const c = collect(store, { fromRevision: from });
      const events = await c.until((e) => e.length >= 3);
      expect(events.map(brief)).toEqual([
        `add GlobalNetworkPolicy//b@${b.metadata.resourceVersion}`,
        `update GlobalNetworkPolicy//a@${a2.metadata.resourceVersion}`,
        `delete GlobalNetworkPolicy//b@${Number(a2.metadata.resourceVersion) + 1}`,
      ]);
      expect(events[2]!.type === 'delete' && events[2]!.previous).toEqual(del);
      // ...and continues live, with nothing repeated.
      const c2 = await store.create(gnp('c'));
      await c.until((e) => e.length >= 4);
      expect(brief(c.events[3]!)).toBe(`add GlobalNetworkPolicy//c@${c2.metadata.resourceVersion}`);
      await new Promise((r) => setTimeout(r, 300));
      expect(c.events).toHaveLength(4);
    });

    run('watch-kind-filter', async () => {
      const c = collect(store, { kind: 'NetworkPolicy', namespace: 'keep' });
      await c.until((e) => e.some((x) => x.type === 'synced'));
      await store.create(gnp('g'));
      await store.create(np('drop', 'p'));
      await store.create(knp('keep', 'k'));
      const kept = await store.create(np('keep', 'p'));
      await c.until((e) => e.length >= 2);
      await new Promise((r) => setTimeout(r, 300));
      expect(c.events.map(brief)).toEqual([
        expect.stringMatching(/^synced@/), `add NetworkPolicy/keep/p@${kept.metadata.resourceVersion}`,
      ]);
    });

    run('watch-other-client', async () => {
      const other = await open();
      const c = collect(other);
      await c.until((e) => e.some((x) => x.type === 'synced'));
      const a = await store.create(gnp('a'));
      await c.until((e) => e.length >= 2);
      expect(brief(c.events[1]!)).toBe(`add GlobalNetworkPolicy//a@${a.metadata.resourceVersion}`);
      // Reads through the other client see the write too.
      expect(await other.get({ kind: 'GlobalNetworkPolicy', name: 'a' })).toEqual(a);
    });

    run('compaction', async () => {
      await store.create(gnp('a'));
      const old = await store.revision();
      await store.update(gnp('a', { order: 2 }));
      await store.create(gnp('b'));
      const now = await store.revision();
      await store.compact(now);
      const c = collect(store, { fromRevision: old });
      await expect(c.until(() => false, 10_000)).rejects.toSatisfy(isCompacted);
      // State is intact and a watch from the compaction point works.
      expect((await store.list()).items.map((r) => r.metadata.name)).toEqual(['a', 'b']);
      const c2 = collect(store, { fromRevision: now });
      const d = await store.delete({ kind: 'GlobalNetworkPolicy', name: 'a' });
      await c2.until((e) => e.length >= 1);
      expect(c2.events[0]).toMatchObject({ type: 'delete', previous: { metadata: { name: 'a', resourceVersion: d.metadata.resourceVersion } } });
    });

    run('compaction-resync', async () => {
      // A watcher is cut off; meanwhile objects are added, changed and deleted and history is compacted. When it
      // reconnects it cannot replay, so it lists again: its final state must equal the store's, and no change may
      // be reported twice.
      for (const n of ['keep', 'change', 'remove']) await store.create(gnp(n));
      const w = await backend.partitioned!({});
      extra.unshift(w);
      await w.until((e) => e.some((x) => x.type === 'synced'));
      await store.create(gnp('before-cut'));
      await w.until((e) => e.some((x) => x.type === 'upsert' && x.resource.metadata.name === 'before-cut'));
      await w.cut();
      await store.update(gnp('change', { order: 7 }));
      await store.delete({ kind: 'GlobalNetworkPolicy', name: 'remove' });
      await store.create(gnp('added'));
      await store.create(gnp('transient'));
      await store.delete({ kind: 'GlobalNetworkPolicy', name: 'transient' });
      await store.compact();
      await w.restore();
      const after = await store.create(gnp('after-restore'));
      const events = await w.until((e) => e.some((x) => x.type === 'upsert' && x.resource.metadata.name === 'after-restore'));
      const final = await store.list();
      expect(foldEvents(events)).toEqual(stateOf(final.items));
      const seen = events.filter((e) => e.type === 'upsert' || e.type === 'delete').map((e) => (e.type === 'upsert'
        ? `${e.resource.metadata.name}@${e.resource.metadata.resourceVersion}`
        : `-${e.key.name}`));
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.filter((s) => s.startsWith('transient'))).toEqual([]); // it never existed for the watcher
      expect(seen.filter((s) => s.startsWith('keep'))).toHaveLength(1); // unchanged: reported once, at the start
      // Written after the restore: reported live, or folded into the resync if the watcher caught up after it.
      expect(seen).toContain(`after-restore@${after.metadata.resourceVersion}`);
    });

    // --- checks between objects (libcalico-go clientv3, admission.ts) ------------------------------------------

    const inTier = (r: Resource, t: string): Resource => ({ ...r, spec: { ...specOf(r), tier: t } }) as Resource;
    const failure = (p: Promise<unknown>): Promise<unknown> => p.then(() => undefined, (e: unknown) => e);

    run('builtin-tiers', async () => {
      // Every cluster has them (EnsureInitialized); a list of kind Tier shows them, sorted with stored tiers.
      await store.create(tier('security', 100));
      const tiers = (await store.list({ kind: 'Tier' })).items;
      expect(tiers.map((t) => t.metadata.name)).toEqual(['default', 'kube-admin', 'kube-baseline', 'security']);
      expect(tiers[0]).toEqual({
        apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name: 'default' }, spec: { order: 1_000_000, defaultAction: 'Deny' },
      });
      expect(await store.get({ kind: 'Tier', name: 'kube-admin' })).toMatchObject({ spec: { order: 1000, defaultAction: 'Pass' } });
      expect((await store.list({ kind: 'Tier', labelSelector: 'team=x' })).items).toEqual([]);
      // Only what is stored is in a list of every kind and in watches.
      expect((await store.list()).items.map((r) => r.metadata.name)).toEqual(['security']);
      // Cannot be deleted, stored or not; the message is libcalico-go's.
      const del = await failure(store.delete({ kind: 'Tier', name: 'default' }));
      expect(isNotSupported(del)).toBe(true);
      expect((del as Error).message).toBe('operation Delete is not supported on Tier(default): Cannot delete default tier');
      expect(isNotSupported(await failure(store.delete({ kind: 'Tier', name: 'kube-baseline' })))).toBe(true);
      // Replacing one that was never stored stores it (calicoctl replace / label on a fresh cluster works).
      const labelled = await store.update({ ...(await store.get({ kind: 'Tier', name: 'default' })), metadata: { name: 'default', labels: { team: 'x' } } } as Resource);
      expect(labelled.metadata.resourceVersion).toMatch(/^\d+$/);
      expect((await store.list({ kind: 'Tier', labelSelector: 'team=x' })).items.map((t) => t.metadata.name)).toEqual(['default']);
      expect(isNotSupported(await failure(store.delete({ kind: 'Tier', name: 'default' })))).toBe(true);
      expect(await store.get({ kind: 'Tier', name: 'default' })).toEqual(labelled);
    });

    run('policy-needs-tier', async () => {
      const before = await store.revision();
      for (const write of [() => store.create(inTier(gnp('security.block'), 'security')),
        () => store.apply(inTier(np('shop', 'p'), 'security'))]) {
        const err = await failure(write());
        expect(isNotFound(err) && isMissingTier(err)).toBe(true);
        expect(err).toMatchObject({ code: 'not-found', key: { kind: 'Tier', name: 'security' }, tier: 'security' });
        expect((err as Error).message).toMatch(/^resource does not exist: Tier\(security\): (GlobalNetworkPolicy\(security\.block\)|NetworkPolicy\(shop\/p\)) is in tier security/);
      }
      expect(await store.revision()).toBe(before);
      // Built-in tiers always exist; a policy with no tier is in `default`.
      await store.create(inTier(gnp('admin-rule'), 'kube-admin'));
      await store.create(np('shop', 'plain'));
      await store.create(tier('security', 100));
      const created = await store.create(inTier(gnp('security.block'), 'security'));
      // Staged policies are checked too.
      const staged = { ...inTier(gnp('later'), 'ops'), kind: 'StagedGlobalNetworkPolicy' } as Resource;
      expect(isMissingTier(await failure(store.create(staged)))).toBe(true);
      // An update does not check (Calico does not): the object already exists.
      await store.create(tier('ops', 200));
      await store.create(inTier(gnp('moving'), 'ops'));
      await store.update(inTier(gnp('moving', { order: 3 }), 'nowhere'));
      expect(specOf(await store.get({ kind: 'GlobalNetworkPolicy', name: 'security.block' }))).toMatchObject({ tier: 'security' });
      expect(created.metadata.resourceVersion).toMatch(/^\d+$/);
    });

    run('tier-delete-refused', async () => {
      await store.create(tier('security', 100));
      await store.create(tier('empty', 300));
      await store.create(inTier(np('shop', 'a'), 'security'));
      await store.create({ ...inTier(np('shop', 'b'), 'security'), kind: 'StagedNetworkPolicy' } as Resource);
      await store.create(inTier(gnp('c'), 'security'));
      await store.create(inTier(gnp('d'), 'security'));
      const err = await failure(store.delete({ kind: 'Tier', name: 'security' }));
      expect(isNotSupported(err)).toBe(true);
      expect((err as Error).message).toBe('operation delete is not supported on Tier(security): Cannot delete a non-empty tier ' +
        '(it holds NetworkPolicy(shop/a), GlobalNetworkPolicy(c), GlobalNetworkPolicy(d) and 1 more; delete them first)');
      expect(await store.get({ kind: 'Tier', name: 'security' })).toMatchObject({ metadata: { name: 'security' } });
      await store.delete({ kind: 'Tier', name: 'empty' });
      for (const k of [{ kind: 'NetworkPolicy', namespace: 'shop', name: 'a' }, { kind: 'StagedNetworkPolicy', namespace: 'shop', name: 'b' },
        { kind: 'GlobalNetworkPolicy', name: 'c' }, { kind: 'GlobalNetworkPolicy', name: 'd' }] as const) await store.delete(k);
      await store.delete({ kind: 'Tier', name: 'security' });
      expect(isNotFound(await failure(store.delete({ kind: 'Tier', name: 'security' })))).toBe(true);
    });

    run('tier-delete-races-policy-create', async () => {
      // One client deletes a tier while another creates policies in it: whatever the interleaving, no policy
      // may end up in a tier that does not exist.
      const other = await open();
      for (let round = 0; round < 6; round++) {
        const t = `race${round}`;
        await store.create(tier(t, 100 + round));
        const results = await Promise.allSettled([
          store.delete({ kind: 'Tier', name: t }),
          ...[0, 1, 2].map((i) => other.create(inTier(gnp(`${t}.p${i}`), t))),
        ]);
        for (const r of results) {
          if (r.status === 'rejected' && !isNotSupported(r.reason) && !isMissingTier(r.reason)) throw r.reason;
        }
        const tierExists = (await store.list({ kind: 'Tier' })).items.some((x) => x.metadata.name === t);
        const members = (await store.list({ kind: 'GlobalNetworkPolicy' })).items.filter((p) => specOf(p).tier === t);
        if (!tierExists) expect(members).toEqual([]);
        else expect(results[0]!.status).toBe('rejected');
      }
    });

    run('unchecked-backend', async () => {
      // Opened as Calico's backend client: no checks between objects and no unstored built-in tiers, so a state
      // Felix must handle (a policy whose tier does not exist) can be set up.
      const raw = await open({ crossObjectChecks: false });
      await raw.create(inTier(gnp('orphan'), 'gone'));
      expect(isNotFound(await failure(raw.get({ kind: 'Tier', name: 'default' })))).toBe(true);
      expect((await raw.list({ kind: 'Tier' })).items).toEqual([]);
      await raw.create(tier('default', 1_000_000));
      await raw.delete({ kind: 'Tier', name: 'default' });
      // The checking client still sees the orphan, and still refuses to delete a tier holding it.
      expect(specOf(await store.get({ kind: 'GlobalNetworkPolicy', name: 'orphan' }))).toMatchObject({ tier: 'gone' });
      expect(isNotSupported(await failure(store.delete({ kind: 'Tier', name: 'gone' })))).toBe(true);
    });

    run('concurrent-writers', async () => {
      // Two clients increment one counter with read-modify-write; conflicts are retried. No increment is lost.
      await store.create(gnp('counter', { order: 0 }));
      const other = await open();
      const bump = async (s: Datastore, times: number) => {
        for (let i = 0; i < times; i++) {
          for (;;) {
            const cur = await s.get({ kind: 'GlobalNetworkPolicy', name: 'counter' });
            const order = Number(specOf(cur).order) + 1;
            try {
              await s.update({ ...cur, spec: { ...specOf(cur), order } } as Resource);
              break;
            } catch (err) {
              if (!isConflict(err)) throw err;
            }
          }
        }
      };
      await Promise.all([bump(store, 25), bump(other, 25)]);
      const final = await store.get({ kind: 'GlobalNetworkPolicy', name: 'counter' });
      expect(specOf(final).order).toBe(50);
    });
  });
}
