// The reachability impact of a dry run (src/analysis/impact.ts) on a synthetic cluster, against what `tabby
// matrix` costs on the same cluster (one engine build and one matrix) measured in the same run. The impact builds
// two engines and two matrices per probe (four with staged policies), so its cost is a small multiple of the
// baseline per probe. `IMPACT_PODS=5000 npx vite-node bench/impact.bench.ts` for a larger cluster.

import { reachabilityImpact, reachabilityMatrix } from '../src/analysis/index.js';
import type { Resource } from '../src/api/index.js';
import { PolicyEngine } from '../src/engine/index.js';

const PODS = Number(process.env.IMPACT_PODS ?? 2000);
const NAMESPACES = 50;

function cluster(): Resource[] {
  const out: Resource[] = [];
  for (let n = 0; n < NAMESPACES; n++) {
    out.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `ns${n}`, labels: { team: `t${n % 5}` } } } as Resource);
    out.push({
      apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy', metadata: { name: 'db', namespace: `ns${n}` },
      spec: {
        selector: "tier == 'db'",
        ingress: [{ action: 'Allow', protocol: 'TCP', source: { selector: "tier == 'web'" }, destination: { ports: [5432, 'http'] } }],
      },
    } as Resource);
  }
  for (let i = 0; i < PODS; i++) {
    out.push({
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: `pod${i}`, namespace: `ns${i % NAMESPACES}`, labels: { app: `app${i % 20}`, tier: i % 3 === 0 ? 'db' : 'web' } },
      spec: { nodeName: `n${i % 10}`, containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080 + (i % 2) }] }] },
      status: { podIP: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` },
    } as Resource);
  }
  return out;
}

const CHANGES: Array<[string, (r: Resource[]) => Resource[]]> = [
  ['add a default deny (ns1*)', (r) => [...r, {
    apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'default-deny' },
    spec: { order: 1000, selector: "projectcalico.org/namespace starts with 'ns1'", types: ['Ingress'] },
  } as Resource]],
  ['stage a lock on db pods', (r) => [...r, {
    apiVersion: 'projectcalico.org/v3', kind: 'StagedGlobalNetworkPolicy', metadata: { name: 'lock-db' },
    spec: { order: 1, selector: "tier == 'db'", ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [5432] } }] },
  } as Resource]],
  ['delete one namespace policy', (r) => r.filter((x) => !(x.kind === 'NetworkPolicy' && x.metadata.namespace === 'ns7'))],
];

function time<T>(fn: () => T): { ms: number; value: T } {
  const t = performance.now();
  const value = fn();
  return { ms: performance.now() - t, value };
}

const base = cluster();
const baseline = time(() => {
  const e = new PolicyEngine();
  e.load(base);
  const m = reachabilityMatrix(e, { protocol: 'TCP', port: 5432 });
  if (!m.ok) throw new Error('matrix failed');
  return m.value.endpoints.length;
});
console.log(`${PODS} pods in ${NAMESPACES} namespaces; baseline (engine build + one matrix, as tabby matrix): ${baseline.ms.toFixed(0)} ms`);
console.log('change                              probes  changed flows   impact ms   × baseline');
for (const [name, change] of CHANGES) {
  const { ms, value } = time(() => reachabilityImpact(base, change(base)));
  const flows = value.counts.allowed + value.counts.denied + value.counts.pendingAllowed + value.counts.pendingDenied;
  console.log(`${name.padEnd(36)}${String(value.probes.length).padStart(6)}${String(flows).padStart(15)}` +
    `${ms.toFixed(0).padStart(12)}${(ms / baseline.ms).toFixed(1).padStart(13)}`);
}
