// The seeds' scenario for real: a node (a network namespace acting as a host), three workloads behind
// Calico-style veths, the agent enforcing policy with nftables, and real connections probed before and after
// each step. Every probe is printed with the rule the engine says decided it; a probe whose real outcome
// disagrees with the engine is reported as a mismatch (and fails the run). Everything is removed on exit.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CALICO_API_VERSION, KINDS, loadResources, type IPPool, type Resource } from '../../api/index.js';
import { FileStore, type Datastore } from '../../datastore/index.js';
import {
  Agent, NftTables, ProbeAgent, Workloads, names, netnsExec, workloadNetns,
} from '../../dataplane/index.js';
import { PolicyEngine, type Flow, type FlowVerdict } from '../../engine/index.js';
import { describeDecision } from '../output/trace.js';
import { examplePath, POOL_CIDR, PROBES, STEPS, WORKLOADS, type DemoProbe } from './scenario.js';

const NODE = 'node-1';
const PROBE_TIMEOUT_MS = 1000;

export interface DemoOutput {
  line(text: string): void;
  progress(text: string): void;
}

interface Running {
  dir: string;
  store: FileStore;
  workloads: Workloads;
  agent?: Agent;
  probes: Map<string, ProbeAgent>;
}

async function allResources(store: Datastore): Promise<Resource[]> {
  const lists = await Promise.all(KINDS.map((k) => store.list({ kind: k.key })));
  return lists.flatMap((l) => l.items);
}

/** What the engine says decided the flow, one line per end: the denying end, or both ends when allowed. */
export function decidingRules(verdict: FlowVerdict): string[] {
  const ends = [
    verdict.egress ? { name: 'egress ', end: verdict.egress } : undefined,
    verdict.ingress ? { name: 'ingress', end: verdict.ingress } : undefined,
  ].filter((e) => e !== undefined);
  const denying = ends.find((e) => e.end.verdict === 'Deny');
  return (denying ? [denying] : ends).map((e) => `${e.name} of ${e.end.endpoint}: ${describeDecision(e.end.decision)}`);
}

function flowOf(probe: DemoProbe): Flow {
  return { from: probe.from, to: probe.to, protocol: probe.protocol, port: probe.port };
}

async function setUp(out: DemoOutput): Promise<Running> {
  const dir = await mkdtemp(join(tmpdir(), 'tabby-demo-'));
  const store = await FileStore.open({ dir: join(dir, 'store') });
  // A per-run prefix keeps the demo's namespaces apart from anything else on the machine.
  const workloads = new Workloads({ store, prefix: `tabby-demo${process.pid % 100000}-` });
  const running: Running = { dir, store, workloads, probes: new Map() };
  out.progress(`file store in ${join(dir, 'store')}`);

  const pool: IPPool = {
    apiVersion: CALICO_API_VERSION, kind: 'IPPool', metadata: { name: 'demo-pool' }, spec: { cidr: POOL_CIDR },
  };
  await store.apply(pool);
  const node = await workloads.createNode(NODE);
  if (!node.ok) throw new Error(node.issues.map((i) => i.message).join('; '));
  out.progress(`node ${NODE}: network namespace ${node.value.netns} with the fail-closed skeleton`);

  for (const w of WORKLOADS) {
    const created = await workloads.create({
      namespace: w.namespace, name: w.name, node: NODE, labels: w.labels, ips: [w.ip],
      ports: w.ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol })),
    });
    if (!created.ok) throw new Error(created.issues.map((i) => i.message).join('; '));
    const probe = await ProbeAgent.start(workloadNetns(workloads.naming, w.namespace, w.name), `${w.namespace}/${w.name}`);
    running.probes.set(`${w.namespace}/${w.name}`, probe);
    for (const p of w.ports) await probe.listen(p.protocol === 'TCP' ? 'tcp' : 'udp', p.port);
    out.progress(`workload ${w.namespace}/${w.name} ${w.ip} on ${created.value.spec.interfaceName}, serving ` +
      w.ports.map((p) => `${p.protocol}/${p.port}`).join(', '));
  }

  const nft = new NftTables({
    family: names.TABLE_FAMILY, table: names.TABLE_NAME, exec: netnsExec(workloads.nodeNetns(NODE)),
  });
  running.agent = new Agent({ node: NODE, store, nft });
  await running.agent.start();
  out.progress(`agent on ${NODE}: enforcing revision ${running.agent.status().enforcedRevision}`);
  return running;
}

async function tearDown(running: Running): Promise<void> {
  await Promise.all([...running.probes.values()].map((p) => p.stop().catch(() => undefined)));
  await running.agent?.stop().catch(() => undefined);
  await running.workloads.sweep().catch(() => undefined);
  await running.store.close().catch(() => undefined);
  await rm(running.dir, { recursive: true, force: true });
}

async function applyFiles(store: Datastore, files: string[]): Promise<void> {
  if (files.length === 0) return;
  const loaded = await loadResources(files.map(examplePath));
  if (loaded.issues.length > 0) throw new Error(`examples are invalid: ${loaded.issues[0]!.message}`);
  for (const { resource } of loaded.resources) await store.apply(resource);
}

/** Runs the scenario; resolves to the number of probes whose real outcome disagreed with the engine. */
export async function runLiveDemo(out: DemoOutput): Promise<number> {
  let running: Running | undefined;
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
    out.progress('interrupted: cleaning up');
    void (running ? tearDown(running) : Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let mismatches = 0;
  try {
    running = await setUp(out);
    const ips = new Map(WORKLOADS.map((w) => [`${w.namespace}/${w.name}`, w.ip]));
    for (const [index, step] of STEPS.entries()) {
      await applyFiles(running.store, step.files);
      const revision = await running.store.revision();
      await running.agent!.waitForRevision(revision);
      out.line('');
      out.line(`Step ${index + 1}: ${step.title}`);
      if (step.files.length > 0) out.line(`  applied ${step.files.map((f) => `examples/${f}`).join(', ')}; enforced revision ${revision}`);
      const engine = new PolicyEngine();
      engine.load(await allResources(running.store));
      const results = await Promise.all(PROBES.map(async (probe) => {
        const real = await running!.probes.get(probe.from)!.connect(
          probe.protocol === 'TCP' ? 'tcp' : 'udp', ips.get(probe.to)!, probe.port, PROBE_TIMEOUT_MS);
        const verdict = engine.evaluate(flowOf(probe));
        return { probe, real, verdict };
      }));
      for (const { probe, real, verdict } of results) {
        const flow = `${probe.from} → ${probe.to} ${probe.protocol}/${probe.port}`;
        const outcome = real.ok ? `connected (${Math.round(real.ms)} ms)` : `blocked (${real.error ?? 'no answer'})`;
        if (!verdict.ok) {
          mismatches++;
          out.line(`  ${flow.padEnd(46)} ${outcome}; engine could not evaluate: ${verdict.issues[0]?.message}`);
          continue;
        }
        const agrees = (verdict.value.verdict === 'Allow') === real.ok;
        if (!agrees) mismatches++;
        out.line(`  ${flow.padEnd(46)} ${outcome.padEnd(20)} ${probe.purpose}`);
        for (const rule of decidingRules(verdict.value)) out.line(`      ${rule}`);
        if (!agrees) out.line(`      ← MISMATCH: the engine says ${verdict.value.verdict}, the real connection ${real.ok ? 'connected' : 'was blocked'}`);
      }
    }
    return mismatches;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    if (running && !interrupted) {
      await tearDown(running);
      out.progress('cleaned up: probes and agent stopped, workloads and node removed, store deleted');
    }
  }
}
