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
import { rawSendSupport } from '../../src/dataplane/probe/agent.js';
import { mismatchesOf, newTotals, runFlows, runnableOf, skipIn, skippedText, type CorpusFlow, type Peer, type Runnable } from './calico-eval-flows.js';
import { TestCluster } from './cluster.js';
import { corpusDir, corpusFiles } from '../conformance-corpus.js';
import { KERNEL_SKIP_REASON, sweepPrefix, sweepStaleTestNamespaces, uniquePrefix } from './support.js';

// The corpus is read even where the kernel suites are skipped: a missing or empty corpus fails, never skips.
const corpus = corpusDir('calico-eval');
const SKIP = KERNEL_SKIP_REASON;

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

const totals = newTotals();
const skip = (reason: string): void => skipIn(totals, reason);

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

describe.skipIf(SKIP)('calico-eval workload scenarios on real traffic', () => {
  const prefix = uniquePrefix();

  beforeAll(async () => {
    await sweepStaleTestNamespaces();
  });
  afterAll(async () => {
    process.stdout.write(`calico-eval real traffic: ${totals.passed}/${totals.flows} flows passed (${totals.raw} of them ` +
      `ICMP or raw IP) in ${scenarios.length} workload-only scenarios; skipped: ${skippedText(totals)}\n`);
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

async function runScenario(cluster: TestCluster, s: Scenario): Promise<string[]> {
  for (const r of s.resources) await cluster.store.apply(onNode(r, cluster.node));
  const endpoints = endpointsOf(s.resources);

  // Which flows can be carried, and what they need.
  const runnable: Runnable[] = [];
  const peerAddresses = new Set<string>();
  for (const flow of s.flows) {
    if (typeof flow.from === 'string' && flow.from === flow.to) { skip('self'); continue; }
    const side = (p: Peer): { key: string; addresses: string[] } | undefined =>
      typeof p === 'string' ? (endpoints.has(p) ? { key: p, addresses: endpoints.get(p)!.addresses } : undefined)
        : { key: `peer`, addresses: [p.ip] };
    const from = side(flow.from);
    const to = side(flow.to);
    if (!from || !to) { skip('endpoint without address'); continue; }
    const r = runnableOf(flow, from, to, RAW_SKIP);
    if (typeof r === 'string') { skip(r); continue; }
    if (typeof flow.from !== 'string') peerAddresses.add(flow.from.ip);
    if (typeof flow.to !== 'string') peerAddresses.add(flow.to.ip);
    runnable.push(r);
  }

  await Promise.all([
    ...[...endpoints].map(([key, ep]) => cluster.addNetwork(key, ep.iface, ep.addresses)),
    ...(peerAddresses.size > 0 ? [cluster.addPeer('peer', [...peerAddresses])] : []),
  ]);
  await cluster.startAgent();
  await cluster.enforced();
  return mismatchesOf(cluster, await runFlows(cluster, runnable), totals);
}
