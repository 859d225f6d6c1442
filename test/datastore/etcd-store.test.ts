// The etcd store against a real etcd: the shared behaviour suite, then etcd's own faults — the key layout
// Calico uses, an unreachable etcd, a restart mid-watch, and a 3-member cluster losing members one at a time.

import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Resource } from '../../src/api/types.js';
import { EtcdStore, isUnavailable, type WatchEvent } from '../../src/datastore/index.js';
import { datastoreSuite } from './datastore.case.js';
import { EtcdCluster, etcdSkipReason, freePort } from './etcd-process.js';
import { Collector, foldEvents, gnp, knp, np, stateOf } from './fixtures.js';
import { TcpProxy } from './tcp-proxy.js';

const skipReason = etcdSkipReason();
if (skipReason) console.warn(`etcd tests skipped: ${skipReason}`);

let cluster: EtcdCluster | undefined;
beforeAll(async () => {
  if (!skipReason) cluster = await EtcdCluster.start(1);
});
afterAll(async () => {
  await cluster?.destroy();
});

let prefixes = 0;
datastoreSuite({
  name: 'etcd',
  ...(skipReason && { skipReason }),
  async fresh() {
    // Each case gets its own key prefix in the shared etcd; revisions and compaction stay store-wide, as they
    // are in a real cluster.
    const prefix = `/tabby-test-${process.pid}-${++prefixes}/calico/resources/v3/`;
    const proxies: TcpProxy[] = [];
    return {
      open: async (options) => new EtcdStore({ endpoints: cluster!.endpoints, prefix, ...options }),
      async partitioned(options) {
        const [host, port] = cluster!.endpoints[0]!.split(':');
        const proxy = await TcpProxy.start({ host: host!, port: Number(port) });
        proxies.push(proxy);
        const store = new EtcdStore({ endpoints: [proxy.endpoint], prefix });
        const c = new Collector(store.watch(options));
        return {
          until: (pred, timeoutMs) => c.until(pred, timeoutMs),
          cut: () => proxy.cut(),
          restore: () => proxy.restore(),
          close: async () => {
            await c.close();
            await store.close();
            await proxy.close();
          },
        };
      },
      dispose: async () => {
        for (const p of proxies) await p.close();
      },
    };
  },
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Retries a write while etcd is unreachable (the cluster is electing, a member restarting). */
async function eventually<T>(fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isUnavailable(err) || Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}

function uniqueUpserts(events: WatchEvent[]): boolean {
  const seen = events.filter((e) => e.type === 'upsert')
    .map((e) => (e.type === 'upsert' ? `${e.resource.metadata.name}@${e.resource.metadata.resourceVersion}` : ''));
  return new Set(seen).size === seen.length;
}

describe.skipIf(skipReason !== undefined)('etcd store faults', () => {
  it('keeps Calico\'s etcdv3 key layout', async () => {
    const store = new EtcdStore({ endpoints: cluster!.endpoints });
    const raw = new Etcd3({ hosts: cluster!.endpoints.map((e) => `http://${e}`) });
    try {
      await store.apply(np('layout-ns', 'p1'));
      await store.apply(gnp('layout-g'));
      await store.apply(knp('layout-ns', 'k1'));
      const keys = await raw.getAll().prefix('/calico/resources/v3/').keys();
      expect(keys).toEqual(expect.arrayContaining([
        '/calico/resources/v3/projectcalico.org/networkpolicies/layout-ns/p1',
        '/calico/resources/v3/projectcalico.org/globalnetworkpolicies/layout-g',
        '/calico/resources/v3/networking.k8s.io/networkpolicies/layout-ns/k1',
      ]));
      const value = JSON.parse((await raw.get('/calico/resources/v3/projectcalico.org/globalnetworkpolicies/layout-g').string())!) as Resource;
      expect(value.metadata.resourceVersion).toBeUndefined(); // it is the key's mod_revision, filled in on read
      expect(value.metadata.uid).toBeDefined();
    } finally {
      await raw.delete().prefix('/calico/resources/v3/');
      raw.close();
      await store.close();
    }
  });

  it('reports an unreachable etcd as Unavailable, naming the endpoint', async () => {
    const port = await freePort();
    const store = new EtcdStore({ endpoints: [`127.0.0.1:${port}`], callTimeoutMs: 2_000 });
    try {
      const err = await store.get({ kind: 'Tier', name: 'default' }).catch((e: unknown) => e);
      expect(isUnavailable(err)).toBe(true);
      expect((err as Error).message).toContain(`datastore unavailable at etcd://127.0.0.1:${port}`);
      expect((err as { endpoint: string }).endpoint).toBe(`etcd://127.0.0.1:${port}`);
    } finally {
      await store.close();
    }
  });

  it('reconnects after etcd restarts mid-watch: no event lost, none repeated', async () => {
    const prefix = `/tabby-restart-${process.pid}/calico/resources/v3/`;
    const store = new EtcdStore({ endpoints: cluster!.endpoints, prefix });
    const watcher = new EtcdStore({ endpoints: cluster!.endpoints, prefix });
    const c = new Collector(watcher.watch({}));
    try {
      await c.until((e) => e.some((x) => x.type === 'synced'));
      for (let i = 0; i < 5; i++) await store.apply(gnp(`before-${i}`));
      await c.until((e) => e.length >= 6);
      await cluster!.members[0]!.stop(); // kill -9
      const down = await store.apply(gnp('during')).catch((e: unknown) => e);
      expect(isUnavailable(down)).toBe(true);
      cluster!.members[0]!.start();
      await cluster!.members[0]!.waitHealthy();
      // The same client instances carry on by themselves.
      for (let i = 0; i < 5; i++) await eventually(() => store.apply(gnp(`after-${i}`, { order: i })));
      await eventually(() => store.delete({ kind: 'GlobalNetworkPolicy', name: 'before-0' }));
      const final = await store.list();
      const events = await c.until((e) => stateOf(final.items).size > 0 &&
        JSON.stringify([...foldEvents(e)].sort()) === JSON.stringify([...stateOf(final.items)].sort()));
      expect(uniqueUpserts(events)).toBe(true);
      const revs = events.map((e) => e.revision);
      expect(revs).toEqual([...revs].sort((a, b) => a - b));
    } finally {
      await c.close();
      await watcher.close();
      await store.close();
    }
  }, 90_000);
});

describe.skipIf(skipReason !== undefined)('etcd 3-member cluster', () => {
  let trio: EtcdCluster;
  beforeAll(async () => {
    trio = await EtcdCluster.start(3);
  }, 60_000);
  afterAll(async () => {
    await trio?.destroy();
  });

  it('keeps accepting writes and feeding watchers while any one member is down', async () => {
    const store = new EtcdStore({ endpoints: trio.endpoints });
    const watcherStore = new EtcdStore({ endpoints: trio.endpoints });
    const c = new Collector(watcherStore.watch({ kind: 'GlobalNetworkPolicy' }));
    try {
      await c.until((e) => e.some((x) => x.type === 'synced'));
      // Kill each member in turn, so whichever one serves the watch stream is killed at some point.
      for (let m = 0; m < 3; m++) {
        await trio.members[m]!.stop();
        for (let i = 0; i < 5; i++) await eventually(() => store.apply(gnp(`m${m}-p${i}`, { order: i })));
        const written = await eventually(() => store.list({ kind: 'GlobalNetworkPolicy' }));
        await c.until((e) => JSON.stringify([...foldEvents(e)].sort()) === JSON.stringify([...stateOf(written.items)].sort()));
        trio.members[m]!.start();
        await trio.members[m]!.waitHealthy();
      }
      expect(uniqueUpserts(c.events)).toBe(true);
      expect(c.events.filter((e) => e.type === 'upsert')).toHaveLength(15);
    } finally {
      await c.close();
      await watcherStore.close();
      await store.close();
    }
  }, 120_000);
});
