// Issue 10 §4 under a running agent, on real namespaces, once on real etcd and once on a real file store: random
// bytes, random JSON and almost-valid objects written behind Tabby's back at random keys — new keys, and the
// keys of the objects the agent enforces — while the agent runs. The agent stays in sync, reports every key it
// was given garbage at, keeps the last valid version of what it enforced (a blocked flow stays blocked, an allowed
// one allowed), and a restarted agent does the same from its first listing (no crash, no loop).
//
// How garbage gets in, per store — the way a foreign writer could act:
// - etcd: etcd's own client puts the raw bytes under the Calico prefix (what etcdctl does).
// - file store: a well-framed journal record (framing.ts encodeFrame: valid length and CRC-32) at the next
//   revision, whose value is the garbage (JSON if it parses, else the bytes as a string), appended and fdatasynced
//   while holding the store's writer lock (lock.ts) — exactly what a FileStore write does, minus the validation.
//   Writing without the lock is not something another writer can do safely: the store's own writers take the
//   lock for every append and, under it, cut any bytes past the last record they read (a torn tail), so an
//   unlocked append could be cut or interleaved; that is damage, tested separately below. The next revision is
//   read, under the lock, from the journal's framing (journal.ts decodeJournal: no value is decoded, so the
//   writer does not depend on the decoder under test). The agent runs on its own FileStore opened on the
//   directory, as a separate agent process would; the test's valid writes go through another one.
// Raw damage (file store only): a record with one byte flipped in the middle of the journal, intact records after
// it. The running agent reports the store as damaged and keeps the kernel as it is; after `tabby datastore
// repair` it recovers and enforces the records after the damage. The flipped record is appended (under the lock,
// as a byte flipped on its way to disk) rather than flipped in place in bytes already written: a running FileStore
// checked those bytes when it read them and reads only what is appended, so damage there shows only on a reload —
// a new agent process, which agent-rollback.test.ts covers (with a store that went back in time); not repeated.
//
// The seed is printed; TABBY_FUZZ_SEED=<n> replays a run.

import fc from 'fast-check';
import { appendFileSync, closeSync, fdatasyncSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { IPPool, NetworkPolicy, Resource } from '../../src/api/index.js';
import {
  CALICO_ETCD_PREFIX, EtcdStore, FileStore, isDamaged, keyOf, keyPath, parseKeyPath, type Datastore,
} from '../../src/datastore/index.js';
import { encodeFrame } from '../../src/datastore/file/framing.js';
import { decodeJournal, type JournalRecord } from '../../src/datastore/file/journal.js';
import { FileLock } from '../../src/datastore/file/lock.js';
import { Agent, type AgentOptions } from '../../src/dataplane/agent.js';
import { Workloads } from '../../src/dataplane/workloads.js';
import { captureCli } from '../cli/captureCli.js';
import { EtcdCluster, etcdSkipReason } from '../datastore/etcd-process.js';
import { TestCluster } from './cluster.js';
import { KERNEL_SKIP_REASON, sweepPrefix, sweepStaleTestNamespaces, uniquePrefix } from './support.js';
import { sleep, until } from '../poll.js';

const SEED = Number(process.env.TABBY_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const PUTS = 150;

const pool: IPPool = { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'v4' }, spec: { cidr: '10.1.0.0/16' } };
const denyB: NetworkPolicy = {
  apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy', metadata: { name: 'deny-b', namespace: 'x' },
  spec: { selector: "pod == 'b'", types: ['Ingress'] },
};
const denyBPath = keyPath({ kind: 'NetworkPolicy', namespace: 'x', name: 'deny-b' });
/** Valid on its own, and it would block everything: it must never be enforced from a key that is not its own. */
const denyAll = { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'deny-all' }, spec: { selector: 'all()', types: ['Ingress', 'Egress'] } };
const allowAllB = { ...denyB, metadata: { name: 'allow-b', namespace: 'x' }, spec: { selector: "pod == 'b'", types: ['Ingress'], ingress: [{ action: 'Allow' }] } };
const netSet = (name: string, net: string): Resource =>
  ({ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkSet', metadata: { name }, spec: { nets: [net] } }) as Resource;

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

/** A store path (the key without the etcd prefix): an object key (new, or one the agent enforces), foreign text, or raw bytes. */
function pathArb(enforced: readonly string[]): fc.Arbitrary<Buffer> {
  const name = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/);
  return fc.oneof(
    { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...KIND_PATHS), name).map(([k, n]) => Buffer.from(k + n)) },
    { weight: 2, arbitrary: fc.constantFrom(...enforced).map((p) => Buffer.from(p)) },
    { weight: 1, arbitrary: fc.array(fc.string({ minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 5 }).map((parts) => Buffer.from(parts.join('/'))) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 30 }).map((b) => Buffer.from(b)) },
  );
}

/** A store under test, with a way to write behind its back. */
interface Target {
  /** The store valid objects are written with. */
  store: Datastore;
  workloads: Workloads;
  /** What an agent is given: the shared client (etcd), or how a separate agent process opens the store (file). */
  agentStore: AgentOptions['store'];
  /** Writes `value` at `path` as a foreign writer would; returns the key the store reports it under, if any. */
  putRaw(path: Buffer, value: Buffer): Promise<string | undefined>;
  /** Deletes `path` as a foreign writer would. */
  deleteRaw(path: string): Promise<void>;
  close(): Promise<void>;
}

interface TargetKind {
  name: string;
  skip: string | undefined;
  open(c: TestCluster): Promise<Target>;
}

async function etcdTarget(c: TestCluster): Promise<Target> {
  const etcd = await EtcdCluster.start(1);
  const store = await EtcdStore.open({ endpoints: etcd.endpoints });
  return {
    store,
    workloads: new Workloads({ store, prefix: c.prefix }),
    agentStore: store,
    putRaw: async (path, value) => {
      await store.client.put(Buffer.concat([Buffer.from(CALICO_ETCD_PREFIX), path])).value(value);
      // etcd keys are bytes; the store reads object keys as UTF-8 and ignores keys that are not object keys.
      const text = path.toString();
      return parseKeyPath(text) && Buffer.from(text).equals(path) ? text : undefined;
    },
    deleteRaw: async (path) => { await store.client.delete().key(CALICO_ETCD_PREFIX + path); },
    close: async () => {
      await store.close().catch(() => undefined);
      await etcd.destroy();
    },
  };
}

/** Appends journal records the way FileStore does (under its writer lock, at the next revision, synced). */
class ForeignJournalWriter {
  private readonly lock: FileLock;
  constructor(private readonly dir: string) {
    this.lock = new FileLock(join(dir, 'lock'), { timeoutMs: 10_000 });
  }

  /** Appends what `frames` makes of the next revision, in one write; returns that revision. */
  async append(frames: (rev: number) => Buffer): Promise<number> {
    await this.lock.acquire();
    try {
      const path = join(this.dir, 'journal.log');
      // The next revision, from the journal's framing alone (no value is decoded): its last record, or its base.
      const journal = decodeJournal(readFileSync(path), 0);
      if (journal.damage || !journal.header) throw new Error(`${path} is damaged: ${journal.damage?.reason ?? 'no header'}`);
      const rev = (journal.records.at(-1)?.record.rev ?? journal.header.base) + 1;
      const fd = openSync(path, 'a');
      try {
        appendFileSync(fd, frames(rev));
        fdatasyncSync(fd);
      } finally {
        closeSync(fd);
      }
      return rev;
    } finally {
      this.lock.release();
    }
  }
}

/** A journal record's value from raw bytes, as malformed-objects.test.ts's fileRaw makes it. */
function storedValue(value: Buffer): unknown {
  try {
    return JSON.parse(value.toString('utf8')) as unknown;
  } catch {
    return value.toString('latin1');
  }
}

async function fileTarget(c: TestCluster): Promise<Target> {
  const foreign = new ForeignJournalWriter(c.dir);
  const record = (r: JournalRecord): Buffer => encodeFrame(r);
  return {
    store: c.store,
    workloads: c.workloads,
    agentStore: () => FileStore.open({ dir: c.dir, pollIntervalMs: 50 }),
    putRaw: async (path, value) => {
      const key = path.toString('utf8');
      await foreign.append((rev) => record({ rev, op: 'put', key, value: storedValue(value) }));
      // A journal key that is no object key is left out of list and watch, as etcd leaves out other tools' keys.
      return parseKeyPath(key) ? key : undefined;
    },
    deleteRaw: async (key) => { await foreign.append((rev) => record({ rev, op: 'del', key })); },
    close: async () => undefined,
  };
}

const TARGETS: TargetKind[] = [
  { name: 'etcd', skip: KERNEL_SKIP_REASON ?? etcdSkipReason(), open: etcdTarget },
  { name: 'file store', skip: KERNEL_SKIP_REASON, open: fileTarget },
];

/** Workloads x/a (10.1.0.1) and x/b (10.1.0.2) serving TCP 80, and deny-b: a → b blocked, b → a allowed. */
async function denyBetween(c: TestCluster, t: Target): Promise<void> {
  await t.store.apply(pool);
  for (const name of ['a', 'b']) {
    const res = await t.workloads.create({ namespace: 'x', name, node: c.node, labels: { pod: name } });
    if (!res.ok) throw new Error(res.issues[0]!.message);
    await c.startProbe(`x/${name}`, (await t.workloads.get('x', name))!.netns);
    await c.serve(`x/${name}`, 'tcp', 80);
  }
  await t.store.apply(denyB as Resource);
}

const reach = async (c: TestCluster, from: string, ip: string): Promise<boolean> => (await c.connect(from, 'tcp', ip, 80, { timeoutMs: 700 })).ok;
async function expectVerdicts(c: TestCluster, when: string): Promise<void> {
  expect(await reach(c, 'x/a', '10.1.0.2'), `a → b stays blocked ${when} (seed ${SEED})`).toBe(false);
  expect(await reach(c, 'x/b', '10.1.0.1'), `b → a stays allowed ${when} (seed ${SEED})`).toBe(true);
}


beforeAll(async () => {
  if (KERNEL_SKIP_REASON) return;
  await sweepStaleTestNamespaces();
  process.stderr.write(`agent fuzz seed: ${SEED} (TABBY_FUZZ_SEED=${SEED} replays it)\n`);
});

for (const kind of TARGETS) {
  describe.skipIf(kind.skip !== undefined)(`malformed stored objects under a running agent (${kind.name})`, () => {
    const prefix = uniquePrefix();
    afterAll(async () => {
      await sweepPrefix(prefix);
    });

    it(`keeps enforcing, stays in sync and reports the keys (seed ${SEED})`, async () => {
      const c = await TestCluster.create(`${prefix}fuzz-`);
      const t = await kind.open(c);
      const { store } = t;
      let agent: Agent | undefined;
      const logs: string[] = [];
      const startAgent = async (): Promise<Agent> => {
        const a = new Agent({ node: c.node, store: t.agentStore, nft: c.nft(), healthCheckMs: 500, log: (l) => logs.push(l) });
        await a.start();
        return a;
      };
      try {
        await denyBetween(c, t);
        agent = await startAgent();
        await agent.waitForRevision(await store.revision());
        await expectVerdicts(c, 'before the burst');
        const enforcedObjects = (await store.list()).items;
        const enforced = enforcedObjects.map((r) => keyPath(keyOf(r)));

        // The burst, while the agent runs.
        const puts = fc.sample(fc.tuple(pathArb(enforced), fc.string({ minLength: 1, maxLength: 8 }).chain((n) => valueArb(n.replace(/[^a-z]/g, 'x')))), { seed: SEED, numRuns: PUTS });
        const garbageAt = new Set<string>();
        for (const [path, value] of puts) {
          const reportedAt = await t.putRaw(path, value);
          if (reportedAt !== undefined) garbageAt.add(reportedAt);
        }
        // A valid write after the burst: once it is enforced, everything before it has been through the loop.
        const sentinel = await store.apply(netSet('sentinel', '192.0.2.0/24'));
        await agent.waitForRevision(Number(sentinel.resource.metadata.resourceVersion), 60_000);

        process.stderr.write(`agent fuzz (${kind.name}): ${garbageAt.size} keys given garbage, ${enforced.filter((p) => garbageAt.has(p)).length} ` +
          `of them enforced objects${garbageAt.has(denyBPath) ? ' (deny-b among them)' : ''}\n`);
        expect(garbageAt.size).toBeGreaterThan(PUTS / 4);
        const s = agent.status();
        expect(s, `seed ${SEED}`).toMatchObject({ state: 'in-sync', datastore: 'connected', failures: 0 });
        expect(s.lastError, `seed ${SEED}`).toBeUndefined();
        const reported = (keys: readonly { key: string }[]) => new Set(keys.map((k) => [...garbageAt].find((p) => k.key.endsWith(p)) ?? k.key));
        expect(s.skippedCount, `seed ${SEED}: ${JSON.stringify(s.skipped.slice(0, 5))}`).toBe(garbageAt.size);
        for (const k of reported(s.skipped)) expect(garbageAt.has(k), `reported ${JSON.stringify(k)} (seed ${SEED})`).toBe(true);
        await expectVerdicts(c, 'after the burst');

        // Deleting garbage clears its report (a delete of an object key is a delete, garbage or not). Half of it
        // goes; the rest stays for the restart.
        const gone = [...garbageAt].filter((_, i) => i % 2 === 0);
        for (const path of gone) {
          await t.deleteRaw(path);
          garbageAt.delete(path);
        }
        const after = await store.apply(netSet('sentinel-2', '198.51.100.0/24'));
        await agent.waitForRevision(Number(after.resource.metadata.resourceVersion), 60_000);
        expect(agent.status(), `seed ${SEED}`).toMatchObject({ state: 'in-sync', skippedCount: garbageAt.size, failures: 0 });

        // A restarted agent starts from a listing that holds the same garbage: it must neither crash nor loop. It
        // has no last valid version of an object overwritten with garbage (that object is skipped and reported, as
        // Calico ignores an object it cannot parse), and deleted objects are gone, so the verdicts are checked
        // only where their objects are untouched.
        await agent.stop();
        agent = await startAgent();
        await agent.waitForRevision(await store.revision(), 60_000);
        const r = agent.status();
        expect(r, `seed ${SEED}`).toMatchObject({ state: 'in-sync', datastore: 'connected', failures: 0, skippedCount: garbageAt.size });
        const touched = (p: string): boolean => garbageAt.has(p) || gone.includes(p);
        if (!touched(denyBPath)) {
          expect(await reach(c, 'x/a', '10.1.0.2'), `a → b stays blocked after a restart (seed ${SEED})`).toBe(false);
        }
        if (enforced.every((p) => !touched(p))) {
          expect(await reach(c, 'x/b', '10.1.0.1'), `b → a stays allowed after a restart (seed ${SEED})`).toBe(true);
        }

        // Most seeds hit every enforced object, so the checks above rarely run: the operator writes the enforced
        // objects back over their garbage (apply writes a valid object over a skipped one), the rest of the garbage
        // stays, and an agent restarted on that must enforce exactly as before the burst.
        for (const r of enforcedObjects.filter((o) => touched(keyPath(keyOf(o))))) {
          const { resourceVersion: _rv, uid: _uid, ...metadata } = r.metadata; // no preconditions: it is gone or garbage
          await store.apply({ ...r, metadata } as Resource);
          garbageAt.delete(keyPath(keyOf(r)));
        }
        await agent.waitForRevision(await store.revision(), 60_000);
        expect(agent.status(), `seed ${SEED}`).toMatchObject({ state: 'in-sync', failures: 0, skippedCount: garbageAt.size });
        await agent.stop();
        agent = await startAgent();
        await agent.waitForRevision(await store.revision(), 60_000);
        expect(agent.status(), `seed ${SEED}`).toMatchObject({ state: 'in-sync', datastore: 'connected', failures: 0, skippedCount: garbageAt.size });
        await expectVerdicts(c, 'after a restart on the remaining garbage');
      } catch (err) {
        process.stderr.write(`agent fuzz (${kind.name}) failed with seed ${SEED}; agent log:\n${logs.slice(-30).join('\n')}\n`);
        throw err;
      } finally {
        await agent?.stop();
        await t.close();
        await c.close();
      }
    }, 240_000);
  });
}

describe.skipIf(KERNEL_SKIP_REASON)('a flipped byte in the middle of the journal under a running agent (file store)', () => {
  const prefix = uniquePrefix();
  afterAll(async () => {
    await sweepPrefix(prefix);
  });

  it('reports the store as damaged, keeps enforcing, and recovers after tabby datastore repair', async () => {
    const c = await TestCluster.create(`${prefix}dmg-`);
    const t = await fileTarget(c);
    const foreign = new ForeignJournalWriter(c.dir);
    let agent: Agent | undefined;
    const logs: string[] = [];
    const startAgent = async (): Promise<Agent> => {
      const a = new Agent({ node: c.node, store: t.agentStore, nft: c.nft(), healthCheckMs: 200, retryMs: { first: 50, max: 500 }, log: (l) => logs.push(l) });
      await a.start();
      return a;
    };
    try {
      await denyBetween(c, t);
      agent = await startAgent();
      const enforced = await c.store.revision();
      await agent.waitForRevision(enforced);
      await expectVerdicts(c, 'before the damage');
      const syncs = agent.status().syncs;

      // Three records, the middle one with a byte of its body flipped (its CRC-32 fails), the others intact: damage
      // with good records after it, which no torn append can leave.
      let damagedAt = 0;
      const first = await foreign.append((rev) => {
        const frames = [netSet('before-flip', '192.0.2.0/24'), netSet('flipped', '192.0.2.64/26'), netSet('after-flip', '198.51.100.0/24')]
          .map((r, i) => encodeFrame({ rev: rev + i, op: 'put', key: keyPath(keyOf(r)), value: r }));
        const middle = frames[1]!;
        const at = Math.floor(middle.length / 2);
        middle[at] = middle[at]! ^ 0x04;
        damagedAt = statSync(join(c.dir, 'journal.log')).size + frames[0]!.length;
        return Buffer.concat(frames);
      });
      const last = first + 2;

      await until('the damage to be reported', () => agent!.status().datastore === 'damaged', 30_000);
      expect(agent.status(), `agent log:\n${logs.join('\n')}`).toMatchObject({
        state: 'error', datastore: 'damaged', enforcedRevision: enforced, failures: 0,
        lastError: expect.stringMatching(new RegExp(`^datastore: datastore file:.* is damaged: .*journal\\.log.*\\b${damagedAt}\\b`)),
      });
      await expectVerdicts(c, 'while the store is damaged');
      await sleep(500); // retries meanwhile: still nothing programmed, no crash
      expect(agent.status()).toMatchObject({ state: 'error', datastore: 'damaged', enforcedRevision: enforced, syncs, failures: 0 });
      // The store refuses writes too: nothing is written after damage.
      const refused = await c.store.apply(netSet('while-damaged', '203.0.113.0/24')).catch((e: unknown) => e);
      expect(isDamaged(refused), String(refused)).toBe(true);

      const repair = await captureCli(['datastore', 'repair', '--datastore', `file:${c.dir}`, '-o', 'json']);
      expect(repair.code, repair.stderr).toBe(0);
      const report = JSON.parse(repair.stdout) as { repaired: boolean; missingRevisions: Array<[number, number]>; revision: number };
      expect(report).toMatchObject({ repaired: true, missingRevisions: [[first + 1, first + 1]], revision: last });

      // The running agent recovers on its own: the records around the damage are enforced, the flipped one is gone.
      await agent.waitForRevision(last, 30_000);
      expect(agent.status()).toMatchObject({ state: 'in-sync', datastore: 'connected', failures: 0, skippedCount: 0 });
      expect(agent.status().lastError).toBeUndefined();
      const names = (await c.store.list({ kind: 'GlobalNetworkSet' })).items.map((r) => r.metadata.name);
      expect(names).toEqual(['after-flip', 'before-flip']);
      await expectVerdicts(c, 'after the repair');

      await agent.stop();
      agent = await startAgent();
      await agent.waitForRevision(last, 30_000);
      expect(agent.status()).toMatchObject({ state: 'in-sync', datastore: 'connected', failures: 0 });
      await expectVerdicts(c, 'after the repair and a restart');
    } catch (err) {
      process.stderr.write(`agent damage test failed; agent log:\n${logs.slice(-30).join('\n')}\n`);
      throw err;
    } finally {
      await agent?.stop();
      await t.close();
      await c.close();
    }
  }, 120_000);
});
