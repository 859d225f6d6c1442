// Engine: a synthetic cluster of pods in 500 namespaces with 2,000 policies (Kubernetes NetworkPolicies,
// Calico NetworkPolicies and GlobalNetworkPolicies in five tiers, staged policies), network sets and host
// endpoints. Measures the full build, then one label change and one policy change applied incrementally
// (apply + flush) against a full rebuild measured in the same run, flow evaluation throughput, and memory.
//
// Two sizes, each in its own process so that one's heap does not count against the other's RSS:
//   10,000 pods    targets: change p99 < 5 ms and ≥ 1000× faster than a rebuild
//   100,000 pods   Felix's design envelope (issue 11 §6): full build < 10 s, RSS < 1.5 GB, change p99 < 10 ms and
//                  ≥ 1000× faster than a rebuild
// The policy count stays 2,000 at every size (two Kubernetes policies per namespace, 600 Calico, 300 global,
// 100 staged); pods per namespace and nodes (one host endpoint each, 100 pods per node) grow with the size.
//
// Run: npx vite-node bench/engine.bench.ts                      (both sizes)
//      TABBY_BENCH_PODS=100000 npx vite-node bench/engine.bench.ts   (one size, any multiple of 500)

import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

import type { Resource } from '../src/api/index.js';
import { PolicyEngine, type Flow } from '../src/engine/index.js';
import { prng, ms } from './support.js';

interface Size {
  pods: number;
  /** Targets for this size: change p99 (ms), full build (ms), RSS (MiB); undefined where none is set. */
  p99Ms: number;
  buildMs?: number;
  rssMiB?: number;
}
const SIZES: readonly Size[] = [
  { pods: 10_000, p99Ms: 5 },
  { pods: 100_000, p99Ms: 10, buildMs: 10_000, rssMiB: 1536 },
];

const knob = process.env.TABBY_BENCH_PODS;
if (knob === undefined) {
  // No size asked for: every size, each in a fresh process (vite-node, as run-benches starts this file).
  const self = fileURLToPath(import.meta.url);
  const viteNode = fileURLToPath(new URL('../node_modules/.bin/vite-node', import.meta.url));
  let failed = 0;
  for (const size of SIZES) {
    console.log(`\n--- ${size.pods.toLocaleString('en')} pods ---`);
    // --expose-gc: the previous build's engine is collected before the next, so RSS is one engine's.
    const r = spawnSync(process.execPath, ['--expose-gc', viteNode, self], {
      stdio: 'inherit', env: { ...process.env, TABBY_BENCH_PODS: String(size.pods) },
    });
    if (r.status !== 0) failed++;
  }
  process.exit(failed === 0 ? 0 : 1);
}

const PODS = Number(knob);
const NAMESPACES = 500;
if (!Number.isInteger(PODS) || PODS < NAMESPACES || PODS % NAMESPACES !== 0 || PODS > 1_000_000) {
  console.error(`TABBY_BENCH_PODS must be a multiple of ${NAMESPACES} between ${NAMESPACES} and 1000000, not '${knob}'`);
  process.exit(2);
}
const SIZE: Size = SIZES.find((s) => s.pods === PODS) ?? { pods: PODS, p99Ms: 10 };
const PODS_PER_NS = PODS / NAMESPACES;
const NODES = Math.max(1, Math.floor(PODS / 100));
const TIERS = ['security', 'platform', 'apps', 'observability', 'baseline'];
const CHANGES = 300;

const rand = prng(42);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

const ns = (i: number): string => `ns-${String(i).padStart(3, '0')}`;
const V3 = 'projectcalico.org/v3';

function podResource(i: number, app: string): Resource {
  const n = Math.floor(i / PODS_PER_NS);
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: `pod-${i}`, namespace: ns(n), labels: { app, tier: i % 2 ? 'fe' : 'be', version: `v${i % 3}` } },
    spec: {
      nodeName: `node-${i % NODES}`, serviceAccountName: `sa-${i % 4}`,
      containers: [{ name: 'main', ports: [{ name: 'http', containerPort: 8080 }, { name: 'metrics', containerPort: 9090 }] }],
    },
    status: { phase: 'Running', podIP: `10.${Math.floor(i / 65536) + 1}.${Math.floor(i / 256) % 256}.${i % 256}` },
  } as Resource;
}

function calicoPolicy(i: number, variant: number): Resource {
  const n = i % NAMESPACES;
  return {
    apiVersion: V3, kind: 'NetworkPolicy',
    metadata: { name: `np-${i}`, namespace: ns(n) },
    spec: {
      tier: TIERS[i % TIERS.length], order: (i % 10) * 10,
      selector: `app == 'app${(i + variant) % 5}'`,
      ingress: [
        { action: 'Allow', protocol: 'TCP', source: { selector: `tier == 'fe'` }, destination: { ports: ['http', 8443] } },
        { action: 'Deny', source: { nets: [`192.168.${i % 256}.0/24`] } },
        { action: 'Pass' },
      ],
      egress: [{ action: 'Allow', destination: { selector: `app == 'app${(i + 1 + variant) % 5}'` } }, { action: 'Pass' }],
    },
  } as Resource;
}

function buildCluster(): { resources: Resource[]; pods: Resource[]; calicoPolicies: number } {
  const resources: Resource[] = [];
  for (const [i, name] of TIERS.entries()) {
    resources.push({ apiVersion: V3, kind: 'Tier', metadata: { name }, spec: { order: (i + 1) * 100, defaultAction: i % 2 ? 'Pass' : 'Deny' } } as Resource);
  }
  for (let n = 0; n < NAMESPACES; n++) {
    resources.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns(n), labels: { 'kubernetes.io/metadata.name': ns(n), team: `t${n % 20}`, env: n % 3 ? 'prod' : 'dev' } } } as Resource);
    for (let s = 0; s < 4; s++) resources.push({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: `sa-${s}`, namespace: ns(n), labels: { role: `r${s}` } } } as Resource);
    resources.push({ apiVersion: V3, kind: 'NetworkSet', metadata: { name: 'egress-ok', namespace: ns(n), labels: { 'egress-ok': 'true' } }, spec: { nets: [`172.20.${n % 256}.0/24`] } } as Resource);
  }
  const pods: Resource[] = [];
  for (let i = 0; i < NAMESPACES * PODS_PER_NS; i++) pods.push(podResource(i, `app${i % 5}`));
  resources.push(...pods);
  for (let h = 0; h < NODES; h++) {
    resources.push({ apiVersion: V3, kind: 'HostEndpoint', metadata: { name: `node-${h}-eth0`, labels: { 'host-endpoint': 'true', rack: `r${h % 10}` } }, spec: { node: `node-${h}`, interfaceName: 'eth0', expectedIPs: [`192.${Math.floor(h / 62_500)}.${Math.floor(h / 250) % 250}.${h % 250 + 1}`] } } as Resource);
  }
  for (let g = 0; g < 200; g++) {
    resources.push({ apiVersion: V3, kind: 'GlobalNetworkSet', metadata: { name: `feed-${g}`, labels: { feed: `f${g % 20}` } }, spec: { nets: Array.from({ length: 10 }, (_, k) => `100.${g % 256}.${k}.0/24`) } } as Resource);
  }
  // 1,000 Kubernetes NetworkPolicies: two per namespace.
  for (let n = 0; n < NAMESPACES; n++) {
    for (let k = 0; k < 2; k++) {
      resources.push({
        apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: `knp-${k}`, namespace: ns(n) },
        spec: {
          podSelector: { matchLabels: { app: `app${(n + k) % 5}` } }, policyTypes: ['Ingress', 'Egress'],
          ingress: [{ from: [{ podSelector: { matchLabels: { tier: 'fe' } } }, { namespaceSelector: { matchLabels: { team: `t${n % 20}` } } }], ports: [{ port: 8080 }, { port: 'metrics' }] }],
          egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.99.0.0/16'] } }] }, { ports: [{ protocol: 'UDP', port: 53 }] }],
        },
      } as Resource);
    }
  }
  // 600 Calico NetworkPolicies in five tiers.
  const calicoPolicies = 600;
  for (let i = 0; i < calicoPolicies; i++) resources.push(calicoPolicy(i, 0));
  // 300 GlobalNetworkPolicies: namespace selectors, network sets, host endpoints.
  for (let i = 0; i < 300; i++) {
    const spec: Record<string, unknown> = { tier: TIERS[i % TIERS.length], order: i };
    if (i % 10 === 0) {
      spec.selector = "host-endpoint == 'true'";
      spec.ingress = [{ action: 'Allow', protocol: 'TCP', destination: { ports: [10250] } }];
    } else {
      spec.selector = `tier == '${i % 2 ? 'fe' : 'be'}'`;
      spec.namespaceSelector = `team == 't${i % 20}'`;
      spec.egress = [{ action: 'Deny', destination: { selector: `feed == 'f${i % 20}'` } }, { action: 'Pass' }];
    }
    resources.push({ apiVersion: V3, kind: 'GlobalNetworkPolicy', metadata: { name: `gnp-${i}` }, spec } as Resource);
  }
  // 100 staged policies.
  for (let i = 0; i < 100; i++) {
    resources.push({
      apiVersion: V3, kind: 'StagedNetworkPolicy', metadata: { name: `snp-${i}`, namespace: ns(i * 5) },
      spec: { tier: 'apps', order: 1, selector: 'all()', ingress: [{ action: 'Deny', source: { notSelector: "app == 'app0'" } }] },
    } as Resource);
  }
  return { resources, pods, calicoPolicies };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function summarise(times: number[]): { p50: number; p99: number; max: number } {
  const sorted = [...times].sort((a, b) => a - b);
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted[sorted.length - 1]! };
}

const { resources, pods, calicoPolicies } = buildCluster();
const policies = resources.filter((r) => r.kind.includes('NetworkPolicy')).length;
// Latency tails on a shared machine include time the process waits for a CPU; the load tells how much.
console.log(`machine: ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(`cluster: ${pods.length} pods, ${NAMESPACES} namespaces, ${policies} policies, ${resources.length} resources`);

let peakHeap = 0;
let peakRss = 0;
const sampleHeap = (): void => {
  const m = process.memoryUsage();
  peakHeap = Math.max(peakHeap, m.heapUsed);
  peakRss = Math.max(peakRss, m.rss);
};

// GC pauses, to tell the engine's own work from collector pauses in the change latencies (both are reported).
const gcPauses: Array<{ start: number; end: number }> = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcPauses.push({ start: e.startTime, end: e.startTime + e.duration });
}).observe({ entryTypes: ['gc'] });
type Window = { start: number; end: number };
const labelWindows: Window[] = [];
const policyWindows: Window[] = [];
function timed(windows: Window[], fn: () => void): number {
  const start = performance.now();
  fn();
  const end = performance.now();
  windows.push({ start, end });
  return end - start;
}
function withoutGc(windows: Window[]): number[] {
  return windows.map((w) => {
    let gc = 0;
    for (const p of gcPauses) gc += Math.max(0, Math.min(w.end, p.end) - Math.max(w.start, p.start));
    return w.end - w.start - gc;
  });
}

// Full build (the baseline), measured three times; the median counts.
const builds: number[] = [];
/** CPU time of each build (user + system, this process): on a shared machine the wall time includes waiting. */
const buildCpu: number[] = [];
let engine = new PolicyEngine();
/** Present when node runs with --expose-gc (as the size runner starts this file). */
const collect = (globalThis as { gc?: () => void }).gc;
let rssAfterFirstBuild = 0;
for (let run = 0; run < 3; run++) {
  // The previous build's engine is garbage now; collect it, so that the RSS figures hold one engine.
  engine = new PolicyEngine();
  collect?.();
  const t = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  engine.load(resources);
  const changes = engine.flush();
  builds.push(ms(t));
  const used = process.cpuUsage(cpu);
  buildCpu.push((used.user + used.system) / 1000);
  sampleHeap();
  if (run === 0) rssAfterFirstBuild = process.memoryUsage().rss;
  if (run === 0) console.log(`first flush: ${changes.length} changes, ${engine.ipSets().length} IP sets, issues: ${engine.issues().filter((i) => i.code !== 'engine.conversion-warning').length}`);
}
const fullBuild = summarise(builds).p50;

// One label change: a pod moves to another app (its policies and IP set memberships change).
const labelTimes: number[] = [];
for (let k = 0; k < CHANGES; k++) {
  const i = Math.floor(rand() * pods.length);
  const resource = podResource(i, `app${Math.floor(rand() * 5)}`);
  labelTimes.push(timed(labelWindows, () => {
    engine.apply({ type: 'upsert', resource });
    engine.flush();
  }));
}
sampleHeap();

// One policy change: a Calico NetworkPolicy changes its selector and rules.
const policyTimes: number[] = [];
for (let k = 0; k < CHANGES; k++) {
  const resource = calicoPolicy(Math.floor(rand() * calicoPolicies), 1 + Math.floor(rand() * 4));
  policyTimes.push(timed(policyWindows, () => {
    engine.apply({ type: 'upsert', resource });
    engine.flush();
  }));
}
sampleHeap();

// Flow evaluation throughput (both ends and the pending verdict, with traces).
const refs = engine.endpoints().map((e) => e.ref);
const flows: Flow[] = Array.from({ length: 20_000 }, () => ({ from: pick(refs), to: pick(refs), protocol: 'TCP', port: pick([8080, 443, 9090]) }));
let allowed = 0;
const te = process.hrtime.bigint();
for (const f of flows) {
  const r = engine.evaluate(f);
  if (r.ok && r.value.verdict === 'Allow') allowed++;
}
const evalMs = ms(te);
sampleHeap();

// Let the observer deliver the GC entries of the change phases.
await new Promise((resolve) => setTimeout(resolve, 50));
const label = summarise(labelTimes);
const policy = summarise(policyTimes);
const labelNoGc = summarise(withoutGc(labelWindows));
const policyNoGc = summarise(withoutGc(policyWindows));
const row = (name: string, s: { p50: number; p99: number; max: number }): string =>
  `${name.padEnd(16)} ${s.p50.toFixed(3).padStart(9)} ${s.p99.toFixed(3).padStart(9)} ${s.max.toFixed(3).padStart(9)}` +
  `   ${(fullBuild / s.p99).toFixed(0).padStart(7)}× ${fullBuild / s.p99 >= 1000 ? 'ok  ' : 'LOW '}` +
  `  ${s.p99 < SIZE.p99Ms ? 'ok' : `OVER ${SIZE.p99Ms} ms`}`;
console.log('');
console.log(`full build (load + first flush, median of 3): ${fullBuild.toFixed(0)} ms  [${builds.map((b) => b.toFixed(0)).join(', ')}]` +
  (SIZE.buildMs === undefined ? '' : `   (target < ${SIZE.buildMs} ms: ${fullBuild < SIZE.buildMs ? 'ok' : 'OVER'})`));
console.log(`  cpu time of the builds: [${buildCpu.map((b) => b.toFixed(0)).join(', ')}] ms (user + system; wall time above ` +
  'includes waiting for a CPU on a shared machine)');
console.log('');
console.log(`change (apply+flush)   p50 ms    p99 ms    max ms   rebuild/p99 ≥ 1000×  p99 < ${SIZE.p99Ms} ms   ("no GC": collector pauses subtracted)`);
console.log(row('label change', label));
console.log(row('policy change', policy));
console.log(row('  label, no GC', labelNoGc));
console.log(row('  policy, no GC', policyNoGc));
console.log('');
console.log(`evaluate: ${flows.length} flows in ${evalMs.toFixed(0)} ms (${(flows.length / (evalMs / 1000)).toFixed(0)} flows/s, ${allowed} allowed)`);
console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
const rssMiB = peakRss / 2 ** 20;
// Without --expose-gc the peak can hold a discarded engine the collector has not reclaimed yet.
console.log(`peak heap: ${(peakHeap / 2 ** 20).toFixed(0)} MiB, rss after the first build: ` +
  `${(rssAfterFirstBuild / 2 ** 20).toFixed(0)} MiB, peak rss: ${rssMiB.toFixed(0)} MiB${collect ? '' : ' (no --expose-gc)'}` +
  (SIZE.rssMiB === undefined ? '' : `   (target < ${SIZE.rssMiB} MiB: ${rssMiB < SIZE.rssMiB ? 'ok' : 'OVER'})`));
