// Datastore throughput and latency, each against a baseline measured in the same run:
//   apply N policies       file: raw writeFile+rename of the same bytes      etcd: raw etcd3 put of the same bytes
//   watch latency p50/p99  file: fs.watch on a raw writeFile+rename           etcd: raw etcd3 watch on a raw put
//   list all N             file: readdir + readFile + JSON.parse of N files  etcd: raw etcd3 getAll + JSON.parse
// N defaults to 10,000 (TABBY_BENCH_N overrides). etcd rows need the etcd binary; without it they are skipped.

import { watch as fsWatch } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Etcd3 } from 'etcd3';

import type { Resource } from '../src/api/index.js';
import { EtcdStore, FileStore, type Datastore } from '../src/datastore/index.js';
import { EtcdCluster, etcdSkipReason } from '../test/datastore/etcd-process.js';

const N = Number(process.env.TABBY_BENCH_N ?? 10_000);
const LATENCY_SAMPLES = Math.min(500, N);

function policy(i: number): Resource {
  return {
    apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy',
    metadata: { name: `bench-${i}`, labels: { team: `t${i % 17}` } },
    spec: {
      order: i % 1000, selector: `app == "svc-${i}"`, types: ['Ingress', 'Egress'],
      ingress: [
        { action: 'Allow', protocol: 'TCP', source: { selector: `role == "client-${i % 50}"` }, destination: { ports: [80, 443, '8000:8100'] } },
        { action: 'Deny', source: { nets: ['10.0.0.0/8', '192.168.0.0/16'] } },
      ],
      egress: [{ action: 'Allow', protocol: 'UDP', destination: { ports: [53] } }],
    },
  };
}

const payloads = Array.from({ length: N }, (_, i) => policy(i));
const bytes = payloads.map((p) => JSON.stringify(p));
const avgBytes = Math.round(bytes.reduce((a, b) => a + b.length, 0) / N);

const now = () => performance.now();
function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

interface Row { store: string; measure: string; tabby: string; baseline: string; ratio: string }
const rows: Row[] = [];
const fmtRate = (n: number) => `${Math.round(n).toLocaleString('en-US')}/s`;
const fmtMs = (n: number) => `${n < 10 ? n.toFixed(2) : Math.round(n)} ms`;

async function measureApply(store: Datastore): Promise<number> {
  const t0 = now();
  for (const p of payloads) await store.apply(p);
  return N / ((now() - t0) / 1000);
}

/** write → event latency: one write at a time, waiting for its event before the next. */
async function measureWatch(writer: Datastore, watcher: Datastore): Promise<number[]> {
  const w = watcher.watch({ kind: 'GlobalNetworkPolicy', fromRevision: await writer.revision() });
  const it = w[Symbol.asyncIterator]();
  const lat: number[] = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const p = policy(i);
    (p as { spec: { order: number } }).spec.order = 5000 + i;
    const t0 = now();
    const pending = it.next();
    await writer.apply(p);
    await pending;
    lat.push(now() - t0);
  }
  await w.close();
  return lat;
}

async function measureList(store: Datastore): Promise<number> {
  const t0 = now();
  const { items } = await store.list({ kind: 'GlobalNetworkPolicy' });
  const ms = now() - t0;
  if (items.length !== N) throw new Error(`listed ${items.length}, expected ${N}`);
  return ms;
}

// --- file store ---------------------------------------------------------------------------------------------
{
  const root = await mkdtemp(join(tmpdir(), 'tabby-bench-ds-'));
  try {
    const rawDir = join(root, 'raw');
    await mkdir(rawDir);
    let t0 = now();
    for (let i = 0; i < N; i++) {
      const tmp = join(rawDir, `.bench-${i}.tmp`);
      await writeFile(tmp, bytes[i]!);
      await rename(tmp, join(rawDir, `bench-${i}.json`));
    }
    const rawRate = N / ((now() - t0) / 1000);

    const store = await FileStore.open({ dir: join(root, 'store') });
    const rate = await measureApply(store);
    rows.push({ store: 'file', measure: `apply ${N} objects`, tabby: fmtRate(rate), baseline: `${fmtRate(rawRate)} (writeFile+rename)`, ratio: `${(rate / rawRate).toFixed(2)}×` });

    // Raw baseline latency: fs.watch on the directory sees the rename.
    const rawLat: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const seen = new Promise<void>((resolve) => {
        const w = fsWatch(rawDir, (_e, name) => {
          if (name === `lat-${i}.json`) {
            w.close();
            resolve();
          }
        });
      });
      const s = now();
      await writeFile(join(rawDir, `.lat-${i}.tmp`), bytes[i]!);
      await rename(join(rawDir, `.lat-${i}.tmp`), join(rawDir, `lat-${i}.json`));
      await seen;
      rawLat.push(now() - s);
    }
    const watcher = await FileStore.open({ dir: join(root, 'store'), pollIntervalMs: 200 });
    const lat = await measureWatch(store, watcher);
    rows.push({
      store: 'file', measure: 'watch latency p50 / p99 (other client)', tabby: `${fmtMs(pct(lat, 50))} / ${fmtMs(pct(lat, 99))}`,
      baseline: `${fmtMs(pct(rawLat, 50))} / ${fmtMs(pct(rawLat, 99))} (fs.watch)`, ratio: `${(pct(lat, 50) / pct(rawLat, 50)).toFixed(1)}× p50`,
    });
    await watcher.close();

    t0 = now();
    const names = (await readdir(rawDir)).filter((n) => n.startsWith('bench-'));
    const parsed = await Promise.all(names.map(async (n) => JSON.parse(await readFile(join(rawDir, n), 'utf8')) as unknown));
    const rawList = now() - t0;
    if (parsed.length !== N) throw new Error(`raw list read ${parsed.length}`);
    const fresh = await FileStore.open({ dir: join(root, 'store') }); // a new process: load from disk, then list
    const listMs = await measureList(fresh);
    const warm = await measureList(fresh);
    rows.push({
      store: 'file', measure: `list ${N} (open + list / warm list)`, tabby: `${fmtMs(listMs)} / ${fmtMs(warm)}`,
      baseline: `${fmtMs(rawList)} (readdir+readFile+parse)`, ratio: `${(listMs / rawList).toFixed(2)}× time`,
    });
    await fresh.close();
    await store.close();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

// --- etcd ---------------------------------------------------------------------------------------------------
const skip = etcdSkipReason();
if (skip) {
  rows.push({ store: 'etcd', measure: 'skipped', tabby: skip, baseline: '', ratio: '' });
} else {
  const cluster = await EtcdCluster.start(1);
  // The same message-size limit the store's client uses, so the raw list of N objects fits in one reply.
  const raw = new Etcd3({
    hosts: cluster.endpoints.map((e) => `http://${e}`),
    grpcOptions: { 'grpc.max_receive_message_length': 64 * 1024 * 1024 },
  });
  try {
    let t0 = now();
    for (let i = 0; i < N; i++) await raw.put(`/bench/raw/${i}`).value(bytes[i]!);
    const rawRate = N / ((now() - t0) / 1000);
    const store = new EtcdStore({ endpoints: cluster.endpoints });
    const rate = await measureApply(store);
    rows.push({ store: 'etcd', measure: `apply ${N} objects`, tabby: fmtRate(rate), baseline: `${fmtRate(rawRate)} (etcd3 put)`, ratio: `${(rate / rawRate).toFixed(2)}×` });

    const rawLat: number[] = [];
    const rw = await raw.watch().prefix('/bench/lat/').create();
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const seen = new Promise<void>((r) => rw.once('put', () => r()));
      const s = now();
      await raw.put(`/bench/lat/${i}`).value(bytes[i]!);
      await seen;
      rawLat.push(now() - s);
    }
    await rw.cancel();
    const watcher = new EtcdStore({ endpoints: cluster.endpoints });
    const lat = await measureWatch(store, watcher);
    rows.push({
      store: 'etcd', measure: 'watch latency p50 / p99 (other client)', tabby: `${fmtMs(pct(lat, 50))} / ${fmtMs(pct(lat, 99))}`,
      baseline: `${fmtMs(pct(rawLat, 50))} / ${fmtMs(pct(rawLat, 99))} (etcd3 watch)`, ratio: `${(pct(lat, 50) / pct(rawLat, 50)).toFixed(1)}× p50`,
    });
    await watcher.close();

    t0 = now();
    const all = await raw.getAll().prefix('/bench/raw/').strings();
    const parsed = Object.values(all).map((v) => JSON.parse(v) as unknown);
    const rawList = now() - t0;
    if (parsed.length !== N) throw new Error(`raw list read ${parsed.length}`);
    const listMs = await measureList(store);
    rows.push({
      store: 'etcd', measure: `list ${N}`, tabby: fmtMs(listMs), baseline: `${fmtMs(rawList)} (etcd3 getAll+parse)`,
      ratio: `${(listMs / rawList).toFixed(2)}× time`,
    });
    await store.close();
  } finally {
    raw.close();
    await cluster.destroy();
  }
}

const header: Row = { store: 'store', measure: 'measure', tabby: 'tabby', baseline: 'baseline (same run)', ratio: 'ratio' };
const cols = (Object.keys(header) as Array<keyof Row>);
const widths = cols.map((c) => Math.max(...[header, ...rows].map((r) => r[c].length)));
console.log(`datastore: ${N} GlobalNetworkPolicies of ~${avgBytes} bytes; ${LATENCY_SAMPLES} latency samples`);
for (const r of [header, ...rows]) console.log(cols.map((c, i) => r[c].padEnd(widths[i]!)).join('  ').trimEnd());
