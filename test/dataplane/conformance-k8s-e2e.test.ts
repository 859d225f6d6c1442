// The Kubernetes e2e NetworkPolicy suite on real traffic: the x/y/z × a/b/c model built as namespaces and
// veths on one node, servers on 80/81 TCP and UDP in every pod, and for every step of every case in
// conformance/k8s-e2e/: the step's policies and label changes written to the datastore, the agent's
// enforced revision awaited, then every asserted pair probed with a fresh connection, all pairs in parallel.
// SCTP cells are counted as skipped: this kernel has no SCTP.
//
// A mismatch also reports what the engine decides for the same flow, so a failure points at the engine or at
// the dataplane.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import type { K8sNetworkPolicy, Labels, Namespace, WorkloadEndpoint } from '../../src/api/index.js';
import { PolicyEngine } from '../../src/engine/index.js';
import { TestCluster } from './cluster.js';
import { corpusDir, corpusFile, corpusFiles } from '../conformance-corpus.js';
import { KERNEL_SKIP_REASON, sweepPrefix, sweepStaleTestNamespaces, uniquePrefix } from './support.js';

// The corpus is read even where the kernel suites are skipped: a missing or empty corpus fails, never skips.
const corpus = corpusDir('k8s-e2e');
const SKIP = KERNEL_SKIP_REASON;

interface Model {
  namespaces: Array<{ name: string; labels: Labels }>;
  ports: Array<{ name: string; containerPort: number; protocol: 'TCP' | 'UDP' | 'SCTP' }>;
  pods: Array<{ namespace: string; name: string; ip: string; labels: Labels }>;
}

interface Step {
  policies: K8sNetworkPolicy[];
  namespaceLabels?: Record<string, Labels>;
  podLabels?: Record<string, Labels>;
  probes: Array<{ protocol: 'TCP' | 'UDP' | 'SCTP'; port: number; reachability: string }>;
}

interface Case {
  file: string;
  source: string;
  steps: Step[];
}

const model: Model | undefined = parse(readFileSync(corpusFile('k8s-e2e/MODEL.yaml'), 'utf8')) as Model;
const cases: Case[] = corpusFiles('k8s-e2e', /^\d{3}-.*\.yaml$/).map((file) => {
  const doc = parse(readFileSync(join(corpus, file), 'utf8')) as { source: string; steps: Step[] };
  return { file, source: doc.source, steps: doc.steps };
});

/** `-  x/a x/b …` table → [from, to, expected] for every asserted cell. */
function cells(table: string): Array<[string, string, boolean]> {
  const rows = table.trim().split('\n').map((l) => l.trim().split(/\s+/));
  const header = rows[0]!.slice(1);
  const out: Array<[string, string, boolean]> = [];
  for (const row of rows.slice(1)) {
    const from = row[0]!;
    row.slice(1).forEach((v, i) => {
      if (v === '.' || v === 'X') out.push([from, header[i]!, v === '.']);
    });
  }
  return out;
}

const totals = { cells: 0, passed: 0, sctpSkipped: 0, steps: 0 };

describe.skipIf(SKIP)('k8s e2e NetworkPolicy truth tables on real traffic', () => {
  const prefix = uniquePrefix();
  let cluster: TestCluster;
  const ipOf = new Map<string, string>();
  let current = new Map<string, K8sNetworkPolicy>();

  beforeAll(async () => {
    await sweepStaleTestNamespaces();
    cluster = await TestCluster.create(prefix);
    for (const ns of model!.namespaces) await cluster.store.apply(namespace(ns.name, ns.labels));
    const ports = model!.ports.map((p) => ({ name: p.name, protocol: p.protocol, port: p.containerPort }));
    await Promise.all(model!.pods.map(async (pod) => {
      const key = `${pod.namespace}/${pod.name}`;
      const res = await cluster.workloads.create({ namespace: pod.namespace, name: pod.name, node: cluster.node, labels: pod.labels, ips: [pod.ip], ports });
      if (!res.ok) throw new Error(`${key}: ${res.issues.map((i) => i.message).join('; ')}`);
      ipOf.set(key, pod.ip);
      const view = (await cluster.workloads.get(pod.namespace, pod.name))!;
      await cluster.startProbe(key, view.netns);
      for (const proto of ['tcp', 'udp'] as const) for (const port of [80, 81]) await cluster.serve(key, proto, port);
    }));
    await cluster.startAgent();
  }, 120_000);

  afterAll(async () => {
    process.stdout.write(`k8s-e2e real traffic: ${totals.passed}/${totals.cells} cells passed over ${totals.steps} steps, ` +
      `${totals.sctpSkipped} SCTP cells skipped (no SCTP in this kernel)\n`);
    await cluster?.close();
    await sweepPrefix(prefix);
  });

  async function reset(): Promise<void> {
    for (const ns of model!.namespaces) await cluster.store.apply(namespace(ns.name, ns.labels));
    for (const pod of model!.pods) await setPodLabels(`${pod.namespace}/${pod.name}`, pod.labels);
    await setPolicies([]);
  }

  async function setPodLabels(key: string, labels: Labels): Promise<void> {
    const [ns, name] = key.split('/') as [string, string];
    const wep = (await cluster.store.get({ kind: 'WorkloadEndpoint', namespace: ns, name })) as WorkloadEndpoint;
    const system = Object.fromEntries(Object.entries(wep.metadata.labels ?? {}).filter(([k]) => k.startsWith('projectcalico.org/')));
    const next = { ...labels, ...system };
    if (JSON.stringify(next) === JSON.stringify(wep.metadata.labels)) return;
    await cluster.store.update({ ...wep, metadata: { ...wep.metadata, labels: next } });
  }

  async function setPolicies(policies: K8sNetworkPolicy[]): Promise<void> {
    const next = new Map(policies.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p]));
    for (const [key, p] of current) {
      if (!next.has(key)) await cluster.store.delete({ kind: 'KubernetesNetworkPolicy', namespace: p.metadata.namespace!, name: p.metadata.name });
    }
    for (const [key, p] of next) {
      if (JSON.stringify(current.get(key)) !== JSON.stringify(p)) await cluster.store.apply(structuredClone(p));
    }
    current = next;
  }

  async function engineVerdict(from: string, to: string, protocol: string, port: number): Promise<string> {
    const engine = new PolicyEngine();
    engine.load((await cluster.store.list()).items);
    const res = engine.evaluate({ from, to, protocol, port });
    return res.ok ? res.value.verdict : `error: ${res.issues[0]?.message}`;
  }

  for (const c of cases) {
    it(`${c.file}: ${c.source.replace(/^[^:]*: /, '')}`, async () => {
      await reset();
      const mismatches: string[] = [];
      for (const [si, step] of c.steps.entries()) {
        for (const [ns, labels] of Object.entries(step.namespaceLabels ?? {})) await cluster.store.apply(namespace(ns, labels));
        for (const [pod, labels] of Object.entries(step.podLabels ?? {})) await setPodLabels(pod, labels);
        await setPolicies(step.policies ?? []);
        await cluster.enforced();
        totals.steps++;
        for (const probe of step.probes) {
          const expected = cells(probe.reachability);
          if (probe.protocol === 'SCTP') {
            totals.sctpSkipped += expected.length;
            continue;
          }
          const proto = probe.protocol === 'TCP' ? 'tcp' : 'udp';
          const results = await Promise.all(expected.map(async ([from, to, allowed]) => {
            const r = await cluster.connect(from, proto, ipOf.get(to)!, probe.port, { timeoutMs: 1000 });
            return { from, to, allowed, got: r.ok, error: r.error };
          }));
          for (const r of results) {
            totals.cells++;
            if (r.got === r.allowed) {
              totals.passed++;
              continue;
            }
            const engine = await engineVerdict(r.from, r.to, probe.protocol, probe.port);
            mismatches.push(`step ${si + 1} ${probe.protocol}/${probe.port} ${r.from} → ${r.to}: expected ` +
              `${r.allowed ? 'allowed' : 'blocked'}, got ${r.got ? 'allowed' : `blocked (${r.error})`}; engine says ${engine}`);
          }
        }
      }
      expect(mismatches).toEqual([]);
    }, 120_000);
  }
});

function namespace(name: string, labels: Labels): Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { ...labels } } };
}
