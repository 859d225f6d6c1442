// Issue 10 §4 under a running agent, on real etcd and real namespaces: random bytes, random JSON and almost-valid
// objects written with etcd's own client at random keys under the Calico prefix — new keys, and the keys of the
// objects the agent enforces — while the agent runs. The agent stays in sync, reports every object key it was
// given garbage at, keeps the last valid version of what it enforced (a blocked flow stays blocked, an allowed
// one allowed), and a restarted agent does the same from its first listing (no crash, no loop).
//
// The seed is printed; TABBY_FUZZ_SEED=<n> replays a run.

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { IPPool, NetworkPolicy, Resource } from '../../src/api/index.js';
import { CALICO_ETCD_PREFIX, EtcdStore, keyOf, keyPath, parseKeyPath } from '../../src/datastore/index.js';
import { Agent } from '../../src/dataplane/agent.js';
import { Workloads } from '../../src/dataplane/workloads.js';
import { EtcdCluster, etcdSkipReason } from '../datastore/etcd-process.js';
import { TestCluster } from './cluster.js';
import { KERNEL_SKIP_REASON, sweepPrefix, sweepStaleTestNamespaces, uniquePrefix } from './support.js';

const SKIP = KERNEL_SKIP_REASON ?? etcdSkipReason();
const SEED = Number(process.env.TABBY_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const PUTS = 150;

const pool: IPPool = { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'v4' }, spec: { cidr: '10.1.0.0/16' } };
const denyB: NetworkPolicy = {
  apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy', metadata: { name: 'deny-b', namespace: 'x' },
  spec: { selector: "pod == 'b'", types: ['Ingress'] },
};
/** Valid on its own, and it would block everything: it must never be enforced from a key that is not its own. */
const denyAll = { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'deny-all' }, spec: { selector: 'all()', types: ['Ingress', 'Egress'] } };
const allowAllB = { ...denyB, metadata: { name: 'allow-b', namespace: 'x' }, spec: { selector: "pod == 'b'", types: ['Ingress'], ingress: [{ action: 'Allow' }] } };

const KIND_PATHS = [
  'projectcalico.org/globalnetworkpolicies/', 'projectcalico.org/networkpolicies/x/', 'projectcalico.org/workloadendpoints/x/',
  'projectcalico.org/globalnetworksets/', 'projectcalico.org/tiers/', 'projectcalico.org/profiles/',
  'networking.k8s.io/networkpolicies/x/', 'core/namespaces/', 'projectcalico.org/hostendpoints/',
];

function nested(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

/** Values that must each be skipped wherever they are stored. */
function valueArb(name: string): fc.Arbitrary<Buffer> {
  const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
  return fc.oneof(
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
    fc.jsonValue({ maxDepth: 4 }).map(json),
    fc.constantFrom(
      json({ kind: 'GlobalNetworkPolicy', metadata: null }),
      json({ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name }, spec: { selector: '((' } }),
      json({ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name }, spec: { order: 'high' } }),
      json({ apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy', metadata: { name: 'Bad_Name!', namespace: 'x' }, spec: {} }),
      json({ ...denyAll, metadata: { name: `${name}-elsewhere` } }), // valid, but not the object its key names
      json(allowAllB), // valid, at another key than its own
      json({ apiVersion: 'projectcalico.org/v3', kind: 'WorkloadEndpoint', metadata: { name, namespace: 'x' }, spec: { ipNetworks: ['not-a-cidr'] } }),
      Buffer.from(nested(3000)),
      Buffer.from('{"kind": "GlobalNetworkPolicy", "metadata": {"name": "'),
      Buffer.from('null'),
      Buffer.alloc(0),
    ),
  );
}

/** A key under the prefix: an object key (new, or one the agent enforces), foreign text, or raw bytes. */
function keyArb(enforced: readonly string[]): fc.Arbitrary<Buffer> {
  const name = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/);
  return fc.oneof(
    { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...KIND_PATHS), name).map(([k, n]) => Buffer.from(CALICO_ETCD_PREFIX + k + n)) },
    { weight: 2, arbitrary: fc.constantFrom(...enforced).map((p) => Buffer.from(CALICO_ETCD_PREFIX + p)) },
    { weight: 1, arbitrary: fc.array(fc.string({ minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 5 }).map((parts) => Buffer.from(CALICO_ETCD_PREFIX + parts.join('/'))) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 30 }).map((b) => Buffer.concat([Buffer.from(CALICO_ETCD_PREFIX), Buffer.from(b)])) },
  );
}

describe.skipIf(SKIP)('malformed stored objects under a running agent (etcd)', () => {
  const prefix = uniquePrefix();
  beforeAll(async () => {
    await sweepStaleTestNamespaces();
    process.stderr.write(`agent fuzz seed: ${SEED} (TABBY_FUZZ_SEED=${SEED} replays it)\n`);
  });
  afterAll(async () => {
    await sweepPrefix(prefix);
  });

  it(`keeps enforcing, stays in sync and reports the keys (seed ${SEED})`, async () => {
    const etcd = await EtcdCluster.start(1);
    const store = await EtcdStore.open({ endpoints: etcd.endpoints });
    const c = await TestCluster.create(`${prefix}fuzz-`);
    const wl = new Workloads({ store, prefix: c.prefix });
    let agent: Agent | undefined;
    const logs: string[] = [];
    try {
      await store.apply(pool);
      for (const name of ['a', 'b']) {
        const res = await wl.create({ namespace: 'x', name, node: c.node, labels: { pod: name } });
        if (!res.ok) throw new Error(res.issues[0]!.message);
        await c.startProbe(`x/${name}`, (await wl.get('x', name))!.netns);
        await c.serve(`x/${name}`, 'tcp', 80);
      }
      await store.apply(denyB as Resource);
      const reach = async (from: string, ip: string): Promise<boolean> => (await c.connect(from, 'tcp', ip, 80, { timeoutMs: 700 })).ok;
      const expectVerdicts = async (): Promise<void> => {
        expect(await reach('x/a', '10.1.0.2'), `a → b stays blocked (seed ${SEED})`).toBe(false);
        expect(await reach('x/b', '10.1.0.1'), `b → a stays allowed (seed ${SEED})`).toBe(true);
      };
      agent = new Agent({ node: c.node, store, nft: c.nft(), healthCheckMs: 500, log: (l) => logs.push(l) });
      await agent.start();
      await agent.waitForRevision(await store.revision());
      await expectVerdicts();
      const enforced = (await store.list()).items.map((r) => keyPath(keyOf(r)));

      // The burst, while the agent runs.
      const puts = fc.sample(fc.tuple(keyArb(enforced), fc.string({ minLength: 1, maxLength: 8 }).chain((n) => valueArb(n.replace(/[^a-z]/g, 'x')))), { seed: SEED, numRuns: PUTS });
      const garbageAt = new Set<string>();
      for (const [key, value] of puts) {
        await store.client.put(key).value(value);
        const text = key.toString();
        const path = text.startsWith(CALICO_ETCD_PREFIX) ? text.slice(CALICO_ETCD_PREFIX.length) : undefined;
        if (path !== undefined && parseKeyPath(path) && Buffer.from(text).equals(key)) garbageAt.add(path);
      }
      // A valid write after the burst: once it is enforced, everything before it has been through the loop.
      const sentinel = await store.apply({ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkSet', metadata: { name: 'sentinel' }, spec: { nets: ['192.0.2.0/24'] } } as Resource);
      await agent.waitForRevision(Number(sentinel.resource.metadata.resourceVersion), 60_000);

      const denyBPath = keyPath({ kind: 'NetworkPolicy', namespace: 'x', name: 'deny-b' });
      process.stderr.write(`agent fuzz: ${garbageAt.size} object keys given garbage, ${enforced.filter((p) => garbageAt.has(p)).length} ` +
        `of them enforced objects${garbageAt.has(denyBPath) ? ' (deny-b among them)' : ''}\n`);
      expect(garbageAt.size).toBeGreaterThan(PUTS / 4);
      const s = agent.status();
      expect(s, `seed ${SEED}`).toMatchObject({ state: 'in-sync', datastore: 'connected', failures: 0 });
      expect(s.lastError, `seed ${SEED}`).toBeUndefined();
      const reported = (keys: readonly { key: string }[]) => new Set(keys.map((k) => [...garbageAt].find((p) => k.key.endsWith(p)) ?? k.key));
      expect(s.skippedCount, `seed ${SEED}: ${JSON.stringify(s.skipped.slice(0, 5))}`).toBe(garbageAt.size);
      for (const k of reported(s.skipped)) expect(garbageAt.has(k), `reported ${JSON.stringify(k)} (seed ${SEED})`).toBe(true);
      await expectVerdicts();

      // Deleting garbage clears its report (a delete of an object key is a delete, garbage or not). Half of it
      // goes; the rest stays for the restart.
      const gone = [...garbageAt].filter((_, i) => i % 2 === 0);
      for (const path of gone) {
        await store.client.delete().key(CALICO_ETCD_PREFIX + path);
        garbageAt.delete(path);
      }
      const after = await store.apply({ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkSet', metadata: { name: 'sentinel-2' }, spec: { nets: ['198.51.100.0/24'] } } as Resource);
      await agent.waitForRevision(Number(after.resource.metadata.resourceVersion), 60_000);
      expect(agent.status(), `seed ${SEED}`).toMatchObject({ state: 'in-sync', skippedCount: garbageAt.size, failures: 0 });

      // A restarted agent starts from a listing that holds the same garbage: it must neither crash nor loop. It has
      // no last valid version of an object overwritten with garbage (that object is skipped and reported, as
      // Calico ignores an object it cannot parse), and deleted objects are gone, so the verdicts are checked only
      // where their objects are untouched.
      await agent.stop();
      agent = new Agent({ node: c.node, store, nft: c.nft(), healthCheckMs: 500, log: (l) => logs.push(l) });
      await agent.start();
      await agent.waitForRevision(await store.revision(), 60_000);
      const r = agent.status();
      expect(r, `seed ${SEED}`).toMatchObject({ state: 'in-sync', datastore: 'connected', failures: 0, skippedCount: garbageAt.size });
      const touched = (p: string): boolean => garbageAt.has(p) || gone.includes(p);
      if (!touched(denyBPath)) {
        expect(await reach('x/a', '10.1.0.2'), `a → b stays blocked after a restart (seed ${SEED})`).toBe(false);
      }
      if (enforced.every((p) => !touched(p))) {
        expect(await reach('x/b', '10.1.0.1'), `b → a stays allowed after a restart (seed ${SEED})`).toBe(true);
      }

    } catch (err) {
      process.stderr.write(`agent fuzz failed with seed ${SEED}; agent log:\n${logs.slice(-30).join('\n')}\n`);
      throw err;
    } finally {
      await agent?.stop();
      await c.close();
      await store.close().catch(() => undefined);
      await etcd.destroy();
    }
  }, 240_000);
});
