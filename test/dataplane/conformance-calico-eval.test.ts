// The workload-only scenarios of conformance/calico-eval/ on real traffic: for each scenario without
// HostEndpoints, its resources go into a fresh datastore (every endpoint placed on the one test node: with no
// host endpoints, a pod-to-pod verdict does not depend on placement — egress at the source, ingress at the
// destination), each endpoint gets a namespace and veth with its own interface name and addresses, bare
// addresses become an outside peer, the agent enforces, and every flow is one fresh connection.
// TCP and UDP flows are fresh connections from the source's probe agent; ICMP and other IP protocols are one raw
// packet sent with socat from the source's namespace and counted on arrival in the destination's own namespace
// (probe/arrivals.ts). Flows that cannot be carried are counted as skipped by reason: SCTP, packets conntrack
// cannot start a flow with (raw-packet.ts), a pod talking to itself (never leaves the pod), raw flows when socat
// is missing.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { podToWorkloadEndpoint, type Pod, type Resource, type WorkloadEndpoint } from '../../src/api/index.js';
import { PolicyEngine, protocolNumber, type Flow } from '../../src/engine/index.js';
import { rawSendSupport } from '../../src/dataplane/probe/agent.js';
import { rawProbeGap } from '../../src/dataplane/probe/raw-packet.js';
import { TestCluster } from './cluster.js';
import { corpusDir, corpusFiles } from '../conformance-corpus.js';
import { KERNEL_SKIP_REASON, sweepPrefix, sweepStaleTestNamespaces, uniquePrefix } from './support.js';

// The corpus is read even where the kernel suites are skipped: a missing or empty corpus fails, never skips.
const corpus = corpusDir('calico-eval');
const SKIP = KERNEL_SKIP_REASON;

type Peer = string | { ip: string };
interface CorpusFlow {
  from: Peer;
  to: Peer;
  protocol: string | number;
  port?: number;
  srcPort?: number;
  icmp?: { type?: number; code?: number };
  expect: 'Allow' | 'Deny';
}
interface Scenario {
  file: string;
  name: string;
  resources: Resource[];
  flows: CorpusFlow[];
}

const scenarios: Scenario[] = corpusFiles('calico-eval', /^\d{3}-.*\.yaml$/).map((file) => {
  const doc = parse(readFileSync(join(corpus, file), 'utf8')) as Omit<Scenario, 'file'>;
  return { file, name: doc.name, resources: doc.resources ?? [], flows: doc.flows ?? [] };
}).filter((s) => s.flows.length > 0 && !s.resources.some((r) => r.kind === 'HostEndpoint'));

const RAW_SKIP = SKIP ? undefined : await rawSendSupport();
if (RAW_SKIP) process.stderr.write(`calico-eval: ICMP and raw-IP-protocol flows skipped: ${RAW_SKIP}\n`);

const totals = { flows: 0, passed: 0, raw: 0, skipped: new Map<string, number>() };
function skip(reason: string): void {
  totals.skipped.set(reason, (totals.skipped.get(reason) ?? 0) + 1);
}

/** Endpoint key (`ns/name`) → its interface and addresses, from WorkloadEndpoints and Pods. */
function endpointsOf(resources: readonly Resource[]): Map<string, { iface: string; addresses: string[] }> {
  const out = new Map<string, { iface: string; addresses: string[] }>();
  for (const r of resources) {
    let wep: WorkloadEndpoint | undefined;
    if (r.kind === 'WorkloadEndpoint') wep = r as WorkloadEndpoint;
    else if (r.kind === 'Pod') wep = podToWorkloadEndpoint(r as Pod);
    if (!wep?.spec.interfaceName || !wep.spec.ipNetworks?.length) continue;
    const key = `${r.metadata.namespace ?? 'default'}/${r.metadata.name}`;
    out.set(key, { iface: wep.spec.interfaceName, addresses: wep.spec.ipNetworks.map((n) => n.split('/')[0]!) });
  }
  return out;
}

function onNode(r: Resource, node: string): Resource {
  const copy = structuredClone(r);
  if (copy.kind === 'WorkloadEndpoint') (copy as WorkloadEndpoint).spec.node = node;
  if (copy.kind === 'Pod' && (copy as Pod).spec) (copy as Pod).spec!.nodeName = node;
  return copy;
}

const family = (ip: string): 4 | 6 => (ip.includes(':') ? 6 : 4);

describe.skipIf(SKIP)('calico-eval workload scenarios on real traffic', () => {
  const prefix = uniquePrefix();

  beforeAll(async () => {
    await sweepStaleTestNamespaces();
  });
  afterAll(async () => {
    const skipped = [...totals.skipped].map(([k, v]) => `${v} ${k}`).join(', ');
    process.stdout.write(`calico-eval real traffic: ${totals.passed}/${totals.flows} flows passed (${totals.raw} of them ` +
      `ICMP or raw IP) in ${scenarios.length} workload-only scenarios; skipped: ${skipped || 'none'}\n`);
    await sweepPrefix(prefix);
  });

  // Scenarios are independent (own datastore, node and agent), and most of their time is spent waiting for
  // blocked probes to time out, so several run at once.
  scenarios.forEach((s, n) => {
    it.concurrent(`${s.file}: ${s.name}`, async () => {
      const cluster = await TestCluster.create(`${prefix}${n}-`);
      try {
        const mismatches = await runScenario(cluster, s);
        expect(mismatches).toEqual([]);
      } finally {
        await cluster.close();
      }
    }, 120_000);
  });
});

type Runnable = {
  flow: CorpusFlow;
  /** tcp/udp: a connection from the probe agent; raw: one packet counted at the destination. */
  kind: 'tcp' | 'udp' | 'raw';
  protocol: number;
  family: 4 | 6;
  src: string;
  dst: string;
  srcKey: string;
  dstKey: string;
};

async function runScenario(cluster: TestCluster, s: Scenario): Promise<string[]> {
  for (const r of s.resources) await cluster.store.apply(onNode(r, cluster.node));
  const endpoints = endpointsOf(s.resources);

  // Which flows can be carried, and what they need.
  const runnable: Runnable[] = [];
  const peerAddresses = new Set<string>();
  for (const flow of s.flows) {
    const num = protocolNumber(flow.protocol);
    if (num === undefined) { skip('unknown protocol'); continue; }
    if (typeof flow.from === 'string' && flow.from === flow.to) { skip('self'); continue; }
    const side = (p: Peer): { key: string; addresses: string[] } | undefined =>
      typeof p === 'string' ? (endpoints.has(p) ? { key: p, addresses: endpoints.get(p)!.addresses } : undefined)
        : { key: `peer`, addresses: [p.ip] };
    const from = side(flow.from);
    const to = side(flow.to);
    if (!from || !to) { skip('endpoint without address'); continue; }
    const fam = ([4, 6] as const).find((f) => from.addresses.some((a) => family(a) === f) && to.addresses.some((a) => family(a) === f));
    if (!fam) { skip('no common address family'); continue; }
    const kind = num === 6 ? 'tcp' : num === 17 ? 'udp' : 'raw';
    if (kind === 'raw') {
      const gap = rawProbeGap({ family: fam, protocol: num, ...(flow.icmp ? { icmp: flow.icmp } : {}) });
      if (gap) { skip(gap); continue; }
      if (RAW_SKIP) { skip(`${num === 1 || num === 58 ? 'ICMP' : 'raw IP protocol'} (socat missing)`); continue; }
    }
    if (typeof flow.from !== 'string') peerAddresses.add(flow.from.ip);
    if (typeof flow.to !== 'string') peerAddresses.add(flow.to.ip);
    runnable.push({
      flow, kind, protocol: num, family: fam,
      src: from.addresses.find((a) => family(a) === fam)!, dst: to.addresses.find((a) => family(a) === fam)!,
      srcKey: from.key, dstKey: to.key,
    });
  }

  await Promise.all([
    ...[...endpoints].map(([key, ep]) => cluster.addNetwork(key, ep.iface, ep.addresses)),
    ...(peerAddresses.size > 0 ? [cluster.addPeer('peer', [...peerAddresses])] : []),
  ]);
  await cluster.startAgent();
  await cluster.enforced();
  const sockets = runnable.filter((r): r is Runnable & { kind: 'tcp' | 'udp' } => r.kind !== 'raw');
  const raws = runnable.filter((r) => r.kind === 'raw');
  await Promise.all(sockets.map((r) => cluster.serve(r.dstKey, r.kind, r.flow.port ?? 0)));

  // Flows with a fixed source port run one after another (one 5-tuple at a time); the rest in parallel, the raw
  // packets alongside.
  const results: Array<{ r: Runnable; ok: boolean; error?: string }> = [];
  const probe = async (r: (typeof sockets)[number]): Promise<void> => {
    const res = await cluster.connect(r.srcKey, r.kind, r.dst, r.flow.port ?? 0, {
      timeoutMs: 1000, srcAddress: r.src, ...(r.flow.srcPort !== undefined ? { srcPort: r.flow.srcPort } : {}),
    });
    results.push({ r, ok: res.ok, ...(res.error !== undefined ? { error: res.error } : {}) });
  };
  const rawRun = async (): Promise<void> => {
    if (raws.length === 0) return;
    const arrived = await cluster.rawFlows(raws.map((r) => ({
      from: r.srcKey, to: r.dstKey,
      flow: { family: r.family, protocol: r.protocol, src: r.src, dst: r.dst, ...(r.flow.icmp ? { icmp: r.flow.icmp } : {}) },
    })));
    raws.forEach((r, i) => results.push({ r, ok: arrived[i]!, ...(arrived[i] ? {} : { error: 'not seen at the destination' }) }));
  };
  await Promise.all([rawRun(), ...sockets.filter((r) => r.flow.srcPort === undefined).map(probe)]);
  for (const r of sockets.filter((x) => x.flow.srcPort !== undefined)) await probe(r);

  const mismatches: string[] = [];
  let engine: PolicyEngine | undefined;
  for (const { r, ok, error } of results) {
    totals.flows++;
    if (r.kind === 'raw') totals.raw++;
    if (ok === (r.flow.expect === 'Allow')) {
      totals.passed++;
      continue;
    }
    if (!engine) {
      engine = new PolicyEngine();
      engine.load((await cluster.store.list()).items);
    }
    const verdict = engine.evaluate(r.flow as unknown as Flow);
    const what = r.kind === 'raw' ? `protocol ${r.protocol}${r.flow.icmp ? ` icmp ${JSON.stringify(r.flow.icmp)}` : ''}` : `${r.kind}/${r.flow.port}`;
    mismatches.push(`${JSON.stringify(r.flow.from)} → ${JSON.stringify(r.flow.to)} ${what}: expected ` +
      `${r.flow.expect}, got ${ok ? 'Allow' : `Deny (${error})`}; engine says ${verdict.ok ? verdict.value.verdict : 'error'}`);
  }
  return mismatches;
}
