// The calico-eval scenarios with HostEndpoints on real traffic, on as many nodes as the scenario names (the FV
// ones: felix-0 and felix-1). Each node is a namespace with its own in-process agent enforcing one shared
// datastore, and an uplink eth0 to the shared outside network, which routes each pod address via its node's uplink
// (src/dataplane/netns/outside-routes.ts) — so pod ↔ pod and host ↔ remote pod traffic crosses both nodes' eth0
// and their host endpoints, as between two Felix containers on Docker's bridge.
//
// Addresses: the corpus writes the FV nodes' Docker-assigned addresses as 172.17.0.2 (felix-0) and 172.17.0.3
// (felix-1) (conformance/calico-eval/README.md, "Conventions"). Here the nodes have their uplink addresses
// (172.31.0.0/16, netns/uplink.ts) instead, so every occurrence of a stand-in node address in the resources
// (HostEndpoint expectedIPs, policy nets) and in the flows is rewritten to that node's real uplink address before
// anything is written — one consistent substitution, nothing else changes. Other bare addresses of the flows (the
// API server 172.17.0.4, Typha 172.17.0.5/.6) are outside peers: they are added to the outside namespace, which
// the nodes reach through their default route.
//
// Flows: `hep:NAME` is the host of NAME's node — a flow from it is opened from the node namespace with the host
// endpoint's (rewritten) address as source, a flow to it reaches a host-networked listener in the node namespace.
// TCP/UDP flows are fresh connections from probe agents; raw IP protocols (253, 254) are one packet sent with
// socat and counted in the receiving namespace — for a node, in input after its own host-endpoint policy
// (probe/arrivals.ts). Flows that cannot be carried are counted as skipped by reason. Scenarios without flows
// (034) carry `applied` expectations: the order of tiers and policies in the kernel's host-endpoint chains of each
// stage, read back from the node's table and the agent's rule meanings, is compared with them.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { podToWorkloadEndpoint, type HostEndpoint, type Pod, type Resource, type WorkloadEndpoint } from '../../src/api/index.js';
import { netnsExec } from '../../src/dataplane/nft/index.js';
import { rawSendSupport } from '../../src/dataplane/probe/agent.js';
import { hostEndpointChain, hostTierChain, type HostStage } from '../../src/dataplane/render/names.js';
import {
  family, mismatchesOf, newTotals, runFlows, runnableOf, skipIn, skippedText, type CorpusFlow, type Peer, type Runnable,
} from './calico-eval-flows.js';
import { TestCluster } from './cluster.js';
import { corpusDir, corpusFiles } from '../conformance-corpus.js';
import { KERNEL_SKIP_REASON, sweepPrefix, sweepStaleTestNamespaces, uniquePrefix } from './support.js';

const corpus = corpusDir('calico-eval');
const SKIP = KERNEL_SKIP_REASON;

/** The corpus's stand-ins for the FV nodes' Docker addresses (calico-eval README, "Conventions"). */
const FV_NODE_ADDRESSES: Readonly<Record<string, string>> = { 'felix-0': '172.17.0.2', 'felix-1': '172.17.0.3' };

interface Applied {
  endpoint: string;
  stage?: HostStage;
  ingress: Array<{ tier: string; policies: string[] }>;
  egress: Array<{ tier: string; policies: string[] }>;
}
interface Scenario {
  file: string;
  name: string;
  resources: Resource[];
  flows: CorpusFlow[];
  applied: Applied[];
}

const scenarios: Scenario[] = corpusFiles('calico-eval', /^\d{3}-.*\.yaml$/).map((file) => {
  const doc = parse(readFileSync(join(corpus, file), 'utf8')) as Omit<Scenario, 'file'>;
  return { file, name: doc.name, resources: doc.resources ?? [], flows: doc.flows ?? [], applied: doc.applied ?? [] };
}).filter((s) => s.resources.some((r) => r.kind === 'HostEndpoint'));

const RAW_SKIP = SKIP ? undefined : await rawSendSupport();
if (RAW_SKIP) process.stderr.write(`calico-eval hosts: raw-IP-protocol flows skipped: ${RAW_SKIP}\n`);

const totals = { ...newTotals(), applied: 0, appliedPassed: 0 };
const skip = (reason: string): void => skipIn(totals, reason);

/** Every node a scenario places something on: host endpoints' spec.node, pods' spec.nodeName, WEPs' spec.node. */
function nodesOf(resources: readonly Resource[]): string[] {
  const out = new Set<string>();
  for (const r of resources) {
    if (r.kind === 'HostEndpoint') out.add((r as HostEndpoint).spec.node ?? '');
    if (r.kind === 'Pod' && (r as Pod).spec?.nodeName) out.add((r as Pod).spec!.nodeName!);
    if (r.kind === 'WorkloadEndpoint' && (r as WorkloadEndpoint).spec.node) out.add((r as WorkloadEndpoint).spec.node!);
  }
  out.delete('');
  return [...out].sort();
}

/** A deep copy with each stand-in address (bare or as a /32) replaced by the real one. */
function rewrite<T>(value: T, addresses: ReadonlyMap<string, string>): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const [ip, len] = v.split('/');
      const real = addresses.get(ip!);
      if (real === undefined) return v;
      if (len === undefined) return real;
      return len === '32' ? `${real}/32` : v;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}

interface Workload { key: string; node: string; iface: string; addresses: string[] }

function workloadsOf(resources: readonly Resource[]): Map<string, Workload> {
  const out = new Map<string, Workload>();
  for (const r of resources) {
    let wep: WorkloadEndpoint | undefined;
    if (r.kind === 'WorkloadEndpoint') wep = r as WorkloadEndpoint;
    else if (r.kind === 'Pod') wep = podToWorkloadEndpoint(r as Pod);
    if (!wep?.spec.interfaceName || !wep.spec.ipNetworks?.length || !wep.spec.node) continue;
    const key = `${r.metadata.namespace ?? 'default'}/${r.metadata.name}`;
    out.set(key, { key, node: wep.spec.node, iface: wep.spec.interfaceName, addresses: wep.spec.ipNetworks.map((n) => n.split('/')[0]!) });
  }
  return out;
}

describe.skipIf(SKIP)('calico-eval host-endpoint scenarios on real traffic (two nodes, routed through the outside network)', () => {
  const prefix = uniquePrefix();

  it('the corpus has host-endpoint scenarios', () => {
    expect(scenarios.length).toBeGreaterThan(0);
  });

  beforeAll(async () => {
    await sweepStaleTestNamespaces();
  });
  afterAll(async () => {
    process.stdout.write(`calico-eval host endpoints, real traffic: ${totals.passed}/${totals.flows} flows passed (${totals.raw} of them ` +
      `raw IP) and ${totals.appliedPassed}/${totals.applied} applied-order expectations in ${scenarios.length} scenarios; ` +
      `skipped: ${skippedText(totals)}\n`);
    await sweepPrefix(prefix);
  });

  scenarios.forEach((s, n) => {
    it.concurrent(`${s.file}: ${s.name}`, async () => {
      const cluster = await TestCluster.create(`${prefix}${n}-`, nodesOf(s.resources));
      try {
        expect(await runScenario(cluster, s)).toEqual([]);
      } finally {
        await cluster.close();
      }
    }, 180_000);
  });
});

const nodeKey = (node: string): string => `node:${node}`;
const OUTSIDE = 'outside';

async function runScenario(cluster: TestCluster, s: Scenario): Promise<string[]> {
  // The real addresses of each node's uplink, and the stand-ins they replace.
  const uplinks = new Map<string, string[]>();
  const standIns = new Map<string, string>();
  for (const node of cluster.nodes) {
    const addresses = (await cluster.uplink(node)).addresses.map((a) => a.split('/')[0]!);
    uplinks.set(node, addresses);
    const fv = FV_NODE_ADDRESSES[node];
    if (fv) standIns.set(fv, addresses.find((a) => family(a) === 4)!);
  }
  const resources = rewrite(s.resources, standIns);
  const flows = rewrite(s.flows, standIns);
  for (const r of resources) await cluster.store.apply(r);
  const workloads = workloadsOf(resources);
  const heps = new Map(resources.filter((r) => r.kind === 'HostEndpoint').map((r) => [r.metadata.name, r as HostEndpoint]));
  const nodeOfAddress = (ip: string): string | undefined => [...uplinks].find(([, as]) => as.includes(ip))?.[0];

  const runnable: Runnable[] = [];
  const peerAddresses = new Set<string>();
  for (const flow of flows) {
    const side = (p: Peer): { key: string; addresses: string[] } | string => {
      if (typeof p !== 'string') {
        const node = nodeOfAddress(p.ip);
        return node ? { key: nodeKey(node), addresses: [p.ip] } : { key: OUTSIDE, addresses: [p.ip] };
      }
      if (p.startsWith('hep:')) {
        const hep = heps.get(p.slice(4));
        if (!hep) return 'unknown host endpoint';
        const node = hep.spec.node ?? '';
        // The host's own address: the endpoint's expected IPs that the node really holds, else its uplink's.
        const onNode = (hep.spec.expectedIPs ?? []).filter((a) => uplinks.get(node)?.includes(a));
        return { key: nodeKey(node), addresses: onNode.length > 0 ? onNode : uplinks.get(node) ?? [] };
      }
      const w = workloads.get(p);
      return w ? { key: w.key, addresses: w.addresses } : 'endpoint without address';
    };
    const from = side(flow.from);
    const to = side(flow.to);
    if (typeof from === 'string') { skip(from); continue; }
    if (typeof to === 'string') { skip(to); continue; }
    if (from.key === to.key) { skip('self'); continue; }
    const r = runnableOf(flow, from, to, RAW_SKIP);
    if (typeof r === 'string') { skip(r); continue; }
    if (from.key === OUTSIDE) peerAddresses.add(r.src);
    if (to.key === OUTSIDE) peerAddresses.add(r.dst);
    runnable.push(r);
  }

  // Namespaces: workloads on their nodes, the hosts themselves, the outside network with the peers' addresses.
  await Promise.all([...workloads.values()].map((w) => cluster.addNetwork(w.key, w.iface, w.addresses, w.node)));
  await Promise.all(cluster.nodes.map((node) => cluster.startProbe(nodeKey(node), cluster.netnsOf(node))));
  if (runnable.some((r) => r.srcKey === OUTSIDE || r.dstKey === OUTSIDE)) {
    const exec = netnsExec(cluster.outsideNetns);
    for (const a of peerAddresses) {
      const res = await exec(['ip', 'addr', 'add', a.includes(':') ? `${a}/128` : `${a}/32`, 'dev', 'lo']);
      if (res.code !== 0) throw new Error(`outside peer ${a}: ${res.stderr}`);
    }
    await cluster.startProbe(OUTSIDE, cluster.outsideNetns);
  }
  for (const node of cluster.nodes) {
    const res = await netnsExec(cluster.netnsOf(node))(['sysctl', '-q', '-w', 'net.netfilter.nf_conntrack_generic_timeout=1', 'net.netfilter.nf_conntrack_icmp_timeout=1']);
    if (res.code !== 0) throw new Error(`conntrack timeouts on ${node}: ${res.stderr}`);
    await cluster.startAgent({}, node);
  }
  await cluster.enforced();

  const mismatches: string[] = [];
  for (const a of s.applied) mismatches.push(...(await checkApplied(cluster, heps, a)));

  // Raw flows of one protocol between one pair of hosts are kept apart (runFlows), past the 1 s conntrack
  // timeouts set above, so each is a fresh flow.
  const results = await runFlows(cluster, runnable, { separateRawPairs: true, rawGapMs: 1500 });
  mismatches.push(...(await mismatchesOf(cluster, results, totals)));
  return mismatches;
}

interface ListedRule { rule?: { chain?: string; comment?: string } }

/**
 * One `applied` expectation of a host endpoint, read from the kernel: the endpoint chain of that stage and
 * direction, its tier jumps in order, and in each tier chain the policies (jumped to, or inlined) in order. A
 * missing endpoint chain is "no tier takes part".
 */
async function checkApplied(cluster: TestCluster, heps: ReadonlyMap<string, HostEndpoint>, a: Applied): Promise<string[]> {
  if (!a.endpoint.startsWith('hep:')) return [];
  totals.applied++;
  const hep = heps.get(a.endpoint.slice(4));
  if (!hep?.spec.interfaceName || !hep.spec.node) return [`${a.endpoint}: not a host endpoint with a node and an interface`];
  const listed = await netnsExec(cluster.netnsOf(hep.spec.node))(['nft', '-j', 'list', 'table', 'inet', 'tabby']);
  if (listed.code !== 0) return [`${a.endpoint}: nft list: ${listed.stderr}`];
  const rules = new Map<string, string[]>();
  for (const item of (JSON.parse(listed.stdout) as { nftables: ListedRule[] }).nftables) {
    if (!item.rule?.chain) continue;
    const id = item.rule.comment?.split(' ')[0] ?? '';
    rules.set(item.rule.chain, [...(rules.get(item.rule.chain) ?? []), id]);
  }
  const meanings = new Map(cluster.nodeAgents.get(hep.spec.node)!.ruleMeanings().map((m) => [m.id, m]));
  const stage = a.stage ?? 'normal';
  const out: string[] = [];
  for (const dir of ['ingress', 'egress'] as const) {
    const seen: Array<{ tier: string; policies: string[] }> = [];
    for (const id of rules.get(hostEndpointChain(stage, dir, hep.spec.interfaceName)) ?? []) {
      const m = meanings.get(id);
      if (m?.what !== 'tier-jump' || !m.tier) continue;
      const policies: string[] = [];
      for (const pid of rules.get(hostTierChain(stage, dir, hep.spec.interfaceName, m.tier)) ?? []) {
        const name = meanings.get(pid)?.policy?.name;
        if (name && policies.at(-1) !== name) policies.push(name);
      }
      seen.push({ tier: m.tier, policies });
    }
    if (JSON.stringify(seen) !== JSON.stringify(a[dir])) {
      out.push(`${a.endpoint} ${stage} ${dir}: expected ${JSON.stringify(a[dir])}, the kernel has ${JSON.stringify(seen)}`);
    }
  }
  if (out.length === 0) totals.appliedPassed++;
  return out;
}
