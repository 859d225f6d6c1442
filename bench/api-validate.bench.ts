// Validation throughput: validateResource over realistic policies, against a baseline measured in the same run —
// a structured clone of the same objects (the least any validator returning a fresh defaulted copy must do) and
// the selector parses those policies contain (the part of the work that belongs to the selector part).
// Run: npx vite-node bench/api-validate.bench.ts
import { trySelector } from '../src/selector/index.js';
import { validateResource } from '../src/api/validate/index.js';

function policy(i: number): Record<string, unknown> {
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'NetworkPolicy',
    metadata: { name: `policy-${i}`, namespace: `ns-${i % 17}`, labels: { team: `t${i % 5}` } },
    spec: {
      tier: 'default',
      order: i,
      selector: `app == "app-${i}" && tier in {"web", "api"}`,
      ingress: [
        { action: 'Allow', protocol: 'TCP', source: { selector: `role == "client-${i}"`, namespaceSelector: 'env == "prod"' },
          destination: { ports: [80, 443, '8000:8100'] } },
        { action: 'Allow', protocol: 'UDP', source: { nets: ['10.0.0.0/8', '192.168.0.0/16'] }, destination: { ports: [53] } },
        { action: 'Deny', source: { notNets: ['172.16.0.0/12'] } },
      ],
      egress: [
        { action: 'Allow', protocol: 'TCP', destination: { selector: 'app == "db"', ports: ['postgres', 5432] } },
        { action: 'Pass' },
      ],
    },
  };
}

const N = 2000;
const docs = Array.from({ length: N }, (_, i) => policy(i));
const selectors = docs.flatMap((d) => {
  const s = d.spec as { selector: string; ingress: { source?: { selector?: string; namespaceSelector?: string } }[]; egress: { destination?: { selector?: string } }[] };
  return [s.selector, ...s.ingress.flatMap((r) => [r.source?.selector, r.source?.namespaceSelector]), ...s.egress.map((r) => r.destination?.selector)]
    .filter((x): x is string => x !== undefined);
});

function time(label: string, rounds: number, fn: () => void): number {
  fn(); // warm up
  const start = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) fn();
  const ms = Number(process.hrtime.bigint() - start) / 1e6 / rounds;
  return ms;
}

const rounds = 10;
const clone = time('structuredClone', rounds, () => { for (const d of docs) structuredClone(d); });
const parse = time('selector parse', rounds, () => { for (const s of selectors) trySelector(s); });
let invalid = 0;
const validate = time('validateResource', rounds, () => { for (const d of docs) if (!validateResource(d).ok) invalid++; });
if (invalid > 0) throw new Error(`bench policies should be valid (${invalid} invalid)`);

const rows: [string, number][] = [
  ['structuredClone (baseline)', clone],
  [`selector parse (${selectors.length / N} per policy)`, parse],
  ['validateResource', validate],
];
console.log(`${N} NetworkPolicies (3 ingress + 2 egress rules each), mean of ${rounds} rounds`);
console.log('what'.padEnd(36), 'ms/batch'.padStart(10), 'µs/policy'.padStart(10), 'vs clone'.padStart(9));
for (const [what, ms] of rows) {
  console.log(what.padEnd(36), ms.toFixed(2).padStart(10), ((ms * 1000) / N).toFixed(1).padStart(10), `${(ms / clone).toFixed(1)}×`.padStart(9));
}
