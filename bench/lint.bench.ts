// Lint: `tabby lint`'s analysis (every registered rule over the lint context) on the engine bench's cluster —
// 10,000 pods × 2,000 policies (bench/lint-cluster.ts) — against the engine build of the same input in the same
// run (target ≤ 3×). Second row: the exact shadowed-rule analysis (src/analysis/shadow.ts) against the brute
// force (engine.evaluate() on every workload × peer address class × service class, both directions;
// shadow-reference.ts) on a smaller cluster of the same shape: the same answers are asserted, and the speed-up
// printed.
// Run: npm run bench -- lint      (or npx vite-node bench/lint.bench.ts)

import { cpus, loadavg } from 'node:os';

import { buildLintContext, classProbes, decidedByEvaluate, neverDecided, RULES, runLint, shadowAnalysis, shadowKey } from '../src/analysis/index.js';
import type { Resource } from '../src/api/index.js';
import { PolicyEngine } from '../src/engine/index.js';
import { buildCluster, ENGINE_BENCH_SIZE, type ClusterSize } from './lint-cluster.js';
import { ms } from './support.js';

const SMALL: ClusterSize = { namespaces: 4, podsPerNamespace: 10, calicoPolicies: 24, globalPolicies: 20, stagedPolicies: 4, networkSetFeeds: 4 };

function build(resources: readonly Resource[]): { engine: PolicyEngine; ms: number } {
  const t = process.hrtime.bigint();
  const engine = new PolicyEngine();
  engine.load(resources);
  engine.flush();
  return { engine, ms: ms(t) };
}

console.log(`machine: ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
let failed = false;

// Row 1: lint vs engine build, 10,000 pods × 2,000 policies.
{
  const resources = buildCluster(ENGINE_BENCH_SIZE);
  const pods = resources.filter((r) => r.kind === 'Pod').length;
  const policies = resources.filter((r) => r.kind.includes('NetworkPolicy')).length;
  const { engine, ms: buildMs } = build(resources);
  const t = process.hrtime.bigint();
  const context = buildLintContext(engine, resources.map((resource) => ({ resource })));
  const report = runLint(context, RULES.map((rule) => ({ rule, severity: rule.severity })));
  const lintMs = ms(t);
  const ratio = lintMs / buildMs;
  const t2 = process.hrtime.bigint();
  const shadow = shadowAnalysis(engine);
  const shadowMs = ms(t2);
  const byRule = new Map<string, number>();
  for (const f of report.findings) byRule.set(f.rule, (byRule.get(f.rule) ?? 0) + 1);
  console.log(`cluster: ${pods} pods, ${policies} policies; rules: ${RULES.map((r) => r.id).join(', ')}`);
  console.log(`findings: ${[...byRule].map(([r, n]) => `${r} ${n}`).join(', ') || 'none'}`);
  console.log(`shadow analysis: ${shadow.stats.hooks} hooks in ${shadow.stats.groups} groups, ${shadow.stats.services} service classes, ${shadow.stats.peerClasses} peer classes, ${shadowMs.toFixed(0)} ms alone`);
  console.log(`| row | engine build | lint | ratio | target |`);
  console.log(`| lint 10k pods × 2,000 policies | ${buildMs.toFixed(0)} ms | ${lintMs.toFixed(0)} ms | ${ratio.toFixed(2)}× | ≤ 3× ${ratio <= 3 ? 'ok' : 'MISSED'} |`);
  if (ratio > 3) failed = true;
}

// Row 2: the exact analysis vs the brute force on a small cluster of the same shape.
{
  const resources = buildCluster(SMALL);
  const { engine } = build(resources);
  const t = process.hrtime.bigint();
  const report = shadowAnalysis(engine, { workloadsOnly: true });
  const exactMs = ms(t);
  const t2 = process.hrtime.bigint();
  const probes = classProbes(engine);
  const decided = decidedByEvaluate(engine, probes);
  const reference = neverDecided(engine, report, decided);
  const bruteMs = ms(t2);
  const exact = new Set(report.rules.map(shadowKey));
  const same = exact.size === reference.size && [...exact].every((k) => reference.has(k));
  const pods = resources.filter((r) => r.kind === 'Pod').length;
  const evaluations = engine.endpoints().filter((e) => e.kind === 'WorkloadEndpoint').length * probes.addresses.length * probes.services.length * 2;
  console.log(`small cluster: ${pods} pods, ${resources.filter((r) => r.kind.includes('NetworkPolicy')).length} policies; brute force: ${evaluations} evaluations ` +
    `(${probes.addresses.length} addresses × ${probes.services.length} services); never-deciding rules: ${exact.size} (analysis), ${reference.size} (brute force)`);
  console.log(`| row | brute force | exact analysis | speed-up | same answers |`);
  console.log(`| shadowed rules, ${pods} pods | ${bruteMs.toFixed(0)} ms | ${exactMs.toFixed(1)} ms | ${(bruteMs / exactMs).toFixed(0)}× | ${same ? 'yes' : 'NO'} |`);
  if (!same) failed = true;
}
process.exit(failed ? 1 : 0);
