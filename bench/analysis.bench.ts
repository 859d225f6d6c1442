// Analysis: `matrix` on a synthetic cluster of 5,000 pods (250 namespaces, ~1,000 policies: Kubernetes
// NetworkPolicies, Calico NetworkPolicies and GlobalNetworkPolicies in tiers, staged policies, network sets,
// host endpoints with expectedIPs, some nodes with applyOnForward host policy) against naive pairwise
// evaluation — the engine's evaluate() for each pair — timed on a random sample of pairs and extrapolated to
// all N² pairs, in the same run (target: ≥ 100×). The matrix time includes reading every cell.
//
// Second row: the shape an attack session fed `tabby matrix` (bench/matrix-shape.ts: 2,000 pods, 40 policies ×
// 1,500 rules naming peers by /32, label and port), against the engine build of the same input (target: the
// same order of time).
// Run: npx vite-node bench/analysis.bench.ts

import { reachabilityMatrix } from '../src/analysis/index.js';
import type { Resource } from '../src/api/index.js';
import { PolicyEngine } from '../src/engine/index.js';
import { HOSTILE_MATRIX_SHAPE, matrixShape } from './matrix-shape.js';
import { prng, ms } from './support.js';

const NAMESPACES = 250;
const PODS_PER_NS = 20;
const NODES = 50;
const POLICED_NODES = 2;
const SAMPLE = 20_000;
const TIERS = ['security', 'platform', 'apps'];
const V3 = 'projectcalico.org/v3';

const rand = prng(7);

const ns = (i: number): string => `ns-${String(i).padStart(3, '0')}`;
const APPS = ['web', 'api', 'db', 'cache', 'worker'];

function buildCluster(): Resource[] {
  const out: Resource[] = [];
  TIERS.forEach((name, i) => out.push({ apiVersion: V3, kind: 'Tier', metadata: { name }, spec: { order: (i + 1) * 100, defaultAction: i === 1 ? 'Pass' : 'Deny' } } as Resource));
  for (let n = 0; n < NAMESPACES; n++) {
    out.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns(n), labels: { 'kubernetes.io/metadata.name': ns(n), team: `t${n % 10}`, env: n % 3 ? 'prod' : 'dev' } } } as Resource);
    out.push({ apiVersion: V3, kind: 'NetworkSet', metadata: { name: 'partners', namespace: ns(n), labels: { partner: 'true' } }, spec: { nets: [`172.20.${n % 256}.0/24`] } } as Resource);
  }
  for (let i = 0; i < NAMESPACES * PODS_PER_NS; i++) {
    const n = Math.floor(i / PODS_PER_NS);
    out.push({
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: `pod-${i}`, namespace: ns(n), labels: { app: APPS[i % 5]!, tier: i % 5 < 2 ? 'fe' : 'be', version: `v${i % 3}` } },
      spec: {
        nodeName: `node-${i % NODES}`, serviceAccountName: `sa-${i % 2}`,
        containers: [{ name: 'main', ports: [{ name: 'http', containerPort: 8080 }, { name: 'metrics', containerPort: 9090 }] }],
      },
      status: { phase: 'Running', podIP: `10.1.${Math.floor(i / 256)}.${i % 256}` },
    } as Resource);
  }
  for (let h = 0; h < NODES; h++) {
    out.push({ apiVersion: V3, kind: 'HostEndpoint', metadata: { name: `node-${h}-eth0`, labels: { 'host-endpoint': 'true', policed: h < POLICED_NODES ? 'yes' : 'no' } }, spec: { node: `node-${h}`, interfaceName: 'eth0', expectedIPs: [`192.0.2.${h + 1}`] } } as Resource);
  }
  for (let g = 0; g < 20; g++) {
    out.push({ apiVersion: V3, kind: 'GlobalNetworkSet', metadata: { name: `feed-${g}`, labels: { feed: `f${g % 5}` } }, spec: { nets: Array.from({ length: 10 }, (_, k) => `100.${g}.${k}.0/24`) } } as Resource);
  }
  // Two Kubernetes NetworkPolicies per namespace: ingress to one app from front-end pods or the team's
  // namespaces on the named port, and egress within the cluster CIDR but not a quarantined block, plus DNS.
  for (let n = 0; n < NAMESPACES; n++) {
    for (let k = 0; k < 2; k++) {
      out.push({
        apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: `knp-${k}`, namespace: ns(n) },
        spec: {
          podSelector: { matchLabels: { app: APPS[(n + k) % 5]! } }, policyTypes: ['Ingress', 'Egress'],
          ingress: [{ from: [{ podSelector: { matchLabels: { tier: 'fe' } } }, { namespaceSelector: { matchLabels: { team: `t${n % 10}` } } }], ports: [{ port: 'http' }, { port: 9090 }] }],
          egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: [`10.1.${n % 20}.0/24`] } }] }, { ports: [{ protocol: 'UDP', port: 53 }] }],
        },
      } as Resource);
    }
  }
  // Calico NetworkPolicies in the tiers: one per namespace.
  for (let n = 0; n < NAMESPACES; n++) {
    out.push({
      apiVersion: V3, kind: 'NetworkPolicy', metadata: { name: 'tiered', namespace: ns(n) },
      spec: {
        tier: TIERS[n % 3], order: (n % 10) * 10, selector: `app == '${APPS[n % 5]}'`,
        ingress: [
          { action: 'Deny', source: { selector: "partner == 'true'" } },
          { action: 'Allow', protocol: 'TCP', source: { selector: "tier == 'fe'" }, destination: { ports: ['http', 8443] } },
          { action: 'Pass' },
        ],
        egress: [{ action: 'Deny', destination: { selector: "app == 'db'", namespaceSelector: "env == 'dev'" } }, { action: 'Pass' }],
      },
    } as Resource);
  }
  // GlobalNetworkPolicies: feeds denied by team, host endpoint policy, forwarded-traffic policy on a few nodes.
  for (let i = 0; i < 100; i++) {
    const spec: Record<string, unknown> = { tier: TIERS[i % 3], order: i };
    if (i === 0) {
      spec.selector = "host-endpoint == 'true'";
      spec.ingress = [{ action: 'Allow', protocol: 'TCP', destination: { ports: [10250] } }];
    } else if (i === 1) {
      spec.selector = "policed == 'yes'";
      spec.applyOnForward = true;
      spec.ingress = [{ action: 'Deny', protocol: 'TCP', destination: { ports: [9090] } }, { action: 'Allow' }];
      spec.egress = [{ action: 'Allow' }];
    } else {
      spec.selector = `tier == '${i % 2 ? 'fe' : 'be'}'`;
      spec.namespaceSelector = `team == 't${i % 10}'`;
      spec.egress = [{ action: 'Deny', destination: { selector: `feed == 'f${i % 5}'` } }, { action: 'Pass' }];
    }
    out.push({ apiVersion: V3, kind: 'GlobalNetworkPolicy', metadata: { name: `gnp-${i}` }, spec } as Resource);
  }
  for (let i = 0; i < 50; i++) {
    out.push({
      apiVersion: V3, kind: 'StagedNetworkPolicy', metadata: { name: `snp-${i}`, namespace: ns(i * 5) },
      spec: { tier: 'apps', order: 1, selector: 'all()', ingress: [{ action: 'Deny', source: { notSelector: "app == 'web'" } }] },
    } as Resource);
  }
  return out;
}

const resources = buildCluster();
const policies = resources.filter((r) => r.kind.includes('NetworkPolicy')).length;
const tb = process.hrtime.bigint();
const engine = new PolicyEngine();
engine.load(resources);
const buildMs = ms(tb);
const heapBefore = process.memoryUsage().heapUsed;

// The matrix: compute, then read every cell (what printing it does).
const results: Array<{ probe: string; matrixMs: number; allowed: number; n: number; stats: string }> = [];
for (const probe of [{ protocol: 'TCP', port: 8080 }, { protocol: 'TCP', port: 'http' }, { protocol: 'UDP', port: 53 }]) {
  const t = process.hrtime.bigint();
  const result = reachabilityMatrix(engine, probe);
  if (!result.ok) throw new Error(result.issues.map((i) => i.message).join('; '));
  const m = result.value;
  let allowed = 0;
  for (let i = 0; i < m.endpoints.length; i++) for (const a of m.row(i)) if (a) allowed++;
  const s = m.stats;
  results.push({
    probe: `${probe.protocol}/${probe.port}`, matrixMs: ms(t), allowed, n: m.endpoints.length,
    stats: `${s.sourceClasses}/${s.destinationClasses} source/destination classes, ${s.rowGroups} row and ` +
      `${s.columnGroups} column groups, ${s.engineEvaluations} engine evaluations (${(100 * s.engineEvaluations / (m.endpoints.length ** 2)).toFixed(3)}% of the cells)`,
  });
}
const heapAfter = process.memoryUsage().heapUsed;

// Naive: engine.evaluate for each pair, on a random sample of pairs, extrapolated to N².
const refs = engine.endpoints().filter((e) => e.ips.length > 0).map((e) => e.ref);
const pairs = Array.from({ length: SAMPLE }, () => [refs[Math.floor(rand() * refs.length)]!, refs[Math.floor(rand() * refs.length)]!] as const);
const tn = process.hrtime.bigint();
let naiveAllowed = 0;
for (const [from, to] of pairs) {
  const r = engine.evaluate({ from, to, protocol: 'TCP', port: 8080 });
  if (r.ok && r.value.verdict === 'Allow') naiveAllowed++;
}
const perPairMs = ms(tn) / SAMPLE;

console.log(`cluster: ${resources.filter((r) => r.kind === 'Pod').length} pods, ${NAMESPACES} namespaces, ${policies} policies, ` +
  `${NODES} host endpoints (${POLICED_NODES} nodes police forwarded traffic); engine build ${buildMs.toFixed(0)} ms`);
console.log(`naive: engine.evaluate per pair ${(perPairMs * 1000).toFixed(1)} µs (sample of ${SAMPLE}, ${(100 * naiveAllowed / SAMPLE).toFixed(0)}% allowed)`);
console.log('');
console.log('probe          endpoints   matrix ms   naive ms (N², extrapolated)     ratio   target ≥ 100×');
for (const r of results) {
  const naive = perPairMs * r.n * r.n;
  const ratio = naive / r.matrixMs;
  console.log(`${r.probe.padEnd(14)} ${String(r.n).padStart(9)} ${r.matrixMs.toFixed(0).padStart(11)} ${naive.toFixed(0).padStart(29)} ` +
    `${ratio.toFixed(0).padStart(8)}×   ${ratio >= 100 ? 'ok' : 'UNDER'}`);
}
console.log('');
for (const r of results) console.log(`${r.probe}: ${r.allowed} of ${r.n * r.n} pairs allowed; ${r.stats}`);
console.log(`heap: ${(heapBefore / 2 ** 20).toFixed(0)} MiB after the engine build, ${(heapAfter / 2 ** 20).toFixed(0)} MiB after the matrices`);

// The attack shape: engine build as the baseline, then the matrix (and every cell read).
{
  const shape = matrixShape();
  const t0 = process.hrtime.bigint();
  const e = new PolicyEngine();
  e.load(shape);
  const build = ms(t0);
  const t1 = process.hrtime.bigint();
  const result = reachabilityMatrix(e, { protocol: 'TCP', port: 8080 });
  if (!result.ok) throw new Error(result.issues.map((i) => i.message).join('; '));
  let cells = 0;
  for (let i = 0; i < result.value.endpoints.length; i++) for (const a of result.value.row(i)) if (a) cells++;
  const matrix = ms(t1);
  const s = result.value.stats;
  const { pods, policies, rulesPerPolicy } = HOSTILE_MATRIX_SHAPE;
  console.log('');
  console.log(`attack shape: ${pods} pods, ${policies} policies × ${rulesPerPolicy} rules; engine build ${build.toFixed(0)} ms, ` +
    `matrix TCP/8080 ${matrix.toFixed(0)} ms (${(matrix / build).toFixed(2)}× the build; target: same order) ` +
    `${matrix <= 10 * build ? 'ok' : 'OVER'}; ${cells} of ${s.endpoints ** 2} pairs allowed; ${s.rowGroups}/${s.columnGroups} ` +
    `row/column groups, ${s.sweptGroups} swept, ${s.engineEvaluations} engine evaluations`);
}
