// tabby server against the datastore it serves, each row against a baseline measured in the same run:
//   get one policy           HTTPS GET (keep-alive), RBAC on                 store.get of the same object
//   list N policies          HTTPS GET of the collection (JSON), RBAC on     store.list of the kind
//   create a policy          HTTPS POST, RBAC on                             store.create (both fsync)
//   one change → watchers    p99 delivery to each of 100 watch streams       p99 delivery to a single stream
// "RBAC on": the caller is the security engineer of test/server/identities.ts, whose every request goes through
// the Kubernetes RBAC check and Calico's tier check (system:masters would bypass both). The policies live in the
// tier `security` that identity owns, so the list returns all N. N defaults to 10,000 (TABBY_BENCH_N).

import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';

import { parseAllDocuments } from 'yaml';

import { validateResource, type Resource } from '../src/api/index.js';
import { FileStore } from '../src/datastore/index.js';
import { startServer } from '../src/server/index.js';
import { IDENTITIES, IDENTITY_RBAC_YAML, SECURITY_TIER_YAML, TOKEN_AUTH_FILE } from '../test/server/identities.js';

const N = Number(process.env.TABBY_BENCH_N ?? 10_000);
const GETS = 1000;
const LISTS = 5;
const CREATES = 300;
const CHANGES = 50;
const WATCHERS = 100;
const GNP = '/apis/projectcalico.org/v3/globalnetworkpolicies';

function policy(name: string, i: number): Resource {
  return {
    apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy',
    metadata: { name, labels: { team: `t${i % 17}` } },
    spec: {
      tier: 'security', order: i % 1000, selector: `app == "svc-${i}"`, types: ['Ingress'],
      ingress: [{ action: 'Allow', protocol: 'TCP', source: { selector: `role == "client-${i % 50}"` }, destination: { ports: [80, 443] } }],
    },
  } as Resource;
}

const now = () => performance.now();
function pct(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const fmtMs = (n: number) => `${n < 1 ? n.toFixed(3) : n < 10 ? n.toFixed(2) : Math.round(n)} ms`;

const dir = await mkdtemp(join(tmpdir(), 'tabby-bench-server-'));
const store = await FileStore.open({ dir: join(dir, 'store') });
for (const doc of parseAllDocuments(`${SECURITY_TIER_YAML}---\n${IDENTITY_RBAC_YAML}`)) {
  const r = validateResource(doc.toJS());
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  await store.create(r.value);
}
const tokenFile = join(dir, 'tokens.csv');
await writeFile(tokenFile, TOKEN_AUTH_FILE);
process.stdout.write(`server: storing ${N} policies…\n`);
for (let i = 0; i < N; i++) await store.create(policy(`security.p-${i}`, i));

const server = await startServer({ store, host: '127.0.0.1', port: 0, stateDir: join(dir, 'state'), tokenAuthFile: tokenFile, tabbyVersion: 'bench' });
const url = new URL(server.url);
const agent = new Agent({ keepAlive: true, ca: server.ca!, maxSockets: WATCHERS + 8 });
const token = IDENTITIES.security.token;

function call(method: string, path: string, body?: string, contentType = 'application/json'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) Object.assign(headers, { 'content-type': contentType, 'content-length': String(Buffer.byteLength(body)) });
    const req = request({ host: url.hostname, port: url.port, method, path, agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Mean milliseconds of `n` sequential runs of `fn`, after a few warm-up runs. */
async function mean(n: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(20, n); i++) await fn(n + i); // warm-up, on other indices (creates need new names)
  const t0 = now();
  for (let i = 0; i < n; i++) await fn(i);
  return (now() - t0) / n;
}

interface Row { measure: string; api: string; store: string; ratio: string }
const rows: Row[] = [];

const apiGet = await mean(GETS, async (i) => {
  const r = await call('GET', `${GNP}/security.p-${i % N}`);
  if (r.status !== 200) throw new Error(`get: ${r.status} ${r.body}`);
});
const storeGet = await mean(GETS, (i) => store.get({ kind: 'GlobalNetworkPolicy', name: `security.p-${i % N}` }));
rows.push({ measure: 'get one policy', api: fmtMs(apiGet), store: fmtMs(storeGet), ratio: `${(apiGet / storeGet).toFixed(1)}×` });

const apiList = await mean(LISTS, async () => {
  const r = await call('GET', GNP);
  if (r.status !== 200) throw new Error(`list: ${r.status}`);
  if (JSON.parse(r.body).items.length !== N) throw new Error('list: not every policy was readable');
});
const storeList = await mean(LISTS, () => store.list({ kind: 'GlobalNetworkPolicy' }));
rows.push({ measure: `list ${N.toLocaleString('en-US')} policies`, api: fmtMs(apiList), store: fmtMs(storeList), ratio: `${(apiList / storeList).toFixed(1)}×` });

const apiCreate = await mean(CREATES, async (i) => {
  const r = await call('POST', GNP, JSON.stringify(policy(`security.api-${i}`, i)));
  if (r.status !== 201) throw new Error(`create: ${r.status} ${r.body}`);
});
const storeCreate = await mean(CREATES, (i) => store.create(policy(`security.direct-${i}`, i)));
rows.push({ measure: 'create a policy', api: fmtMs(apiCreate), store: fmtMs(storeCreate), ratio: `${(apiCreate / storeCreate).toFixed(2)}×` });

/** Opens `n` watch streams; each change's delivery time to each stream, measured from just before the write. */
async function watchLatencies(n: number): Promise<number[]> {
  const rv = JSON.parse((await call('GET', `${GNP}?fieldSelector=metadata.name%3Dsecurity.p-0`)).body).metadata.resourceVersion as string;
  const waiting: Array<Map<number, () => void>> = [];
  const streams = await Promise.all(Array.from({ length: n }, (_, w) => new Promise<import('node:http').ClientRequest>((resolve, reject) => {
    waiting[w] = new Map();
    const req = request({
      host: url.hostname, port: url.port, agent, headers: { authorization: `Bearer ${token}` },
      path: `${GNP}?watch=true&resourceVersion=${rv}&fieldSelector=metadata.name%3Dsecurity.p-0`,
    }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const e = JSON.parse(buf.slice(0, nl)) as { object: { spec: { order: number } } };
          buf = buf.slice(nl + 1);
          waiting[w]!.get(e.object.spec.order)?.();
        }
      });
      resolve(req);
    });
    req.on('error', reject);
    req.end();
  })));
  const latencies: number[] = [];
  for (let c = 0; c < CHANGES; c++) {
    const order = 5000 + c;
    const arrived = Array.from({ length: n }, (_, w) => new Promise<number>((resolve) => {
      waiting[w]!.set(order, () => resolve(now()));
    }));
    const t0 = now();
    const r = await call('PATCH', `${GNP}/security.p-0`, JSON.stringify({ spec: { order } }), 'application/merge-patch+json');
    if (r.status !== 200) throw new Error(`patch: ${r.status} ${r.body}`);
    for (const t of await Promise.all(arrived)) latencies.push(t - t0);
  }
  for (const s of streams) s.destroy();
  return latencies;
}

const one = await watchLatencies(1);
const many = await watchLatencies(WATCHERS);
rows.push({
  measure: `one change → ${WATCHERS} watchers, p99 (p50)`, api: `${fmtMs(pct(many, 99))} (${fmtMs(pct(many, 50))})`,
  store: `1 watcher: ${fmtMs(pct(one, 99))} (${fmtMs(pct(one, 50))})`, ratio: `${(pct(many, 99) / pct(one, 99)).toFixed(1)}×`,
});

await server.close();
agent.destroy();
await store.close();
await rm(dir, { recursive: true, force: true });

const header: Row = { measure: 'measure', api: 'through the API (RBAC on)', store: 'baseline', ratio: 'ratio' };
const cols = ['measure', 'api', 'store', 'ratio'] as const;
const widths = cols.map((c) => Math.max(...[header, ...rows].map((r) => r[c].length)));
console.log(`server: ${N} GlobalNetworkPolicies in tier security; caller ${IDENTITIES.security.user} (RBAC + tier check); ${CHANGES} changes per watch row`);
for (const r of [header, ...rows]) console.log(cols.map((c, i) => r[c].padEnd(widths[i]!)).join('  ').trimEnd());
