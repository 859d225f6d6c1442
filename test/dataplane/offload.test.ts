// Flowtable offload (Felix's NFTablesFlowTableOffload, `tabby agent --flowtable-offload`):
// - on FakeNft (runs anywhere): the flowtable hooks exactly the local workload interfaces that exist, changed in the
//   sync's one transaction as workloads come and go; a WorkloadEndpoint that comes before its veth is hooked by a
//   later sync; a veth gone before its WorkloadEndpoint is never named (the kernel may already have unhooked it,
//   and naming it would fail the whole transaction); a restarted agent's full replace hooks the same devices;
// - on real traffic (needs a kernel with CONFIG_NF_FLOW_TABLE, skipped with the reason otherwise): new connections
//   are decided by policy exactly as without offload, an established flow keeps working once offloaded (and really
//   leaves the forward chains), a workload deleted while offloaded is clean, and a restarted agent offloads again.

import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { GlobalNetworkPolicy, IPPool, NetworkPolicy, WorkloadEndpoint } from '../../src/api/index.js';
import { FileStore } from '../../src/datastore/index.js';
import { Agent } from '../../src/dataplane/agent.js';
import { linkNames } from '../../src/dataplane/netns/namespace.js';
import { vethName } from '../../src/dataplane/netns/topology.js';
import { FakeNft, netnsExec } from '../../src/dataplane/nft/index.js';
import { CHAIN_FWD_INGRESS, CHAIN_FWD_OFFLOAD, FLOWTABLE } from '../../src/dataplane/render/names.js';
import { TestCluster } from './cluster.js';
import { flowtableSkipReason, sweepPrefix, sweepStaleTestNamespaces, uniquePrefix } from './support.js';

const FLOWTABLE_SKIP_REASON = await flowtableSkipReason();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const pool: IPPool = { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'v4' }, spec: { cidr: '10.1.0.0/16' } };

function endpoint(name: string, iface: string, ip: string): WorkloadEndpoint {
  return {
    apiVersion: 'projectcalico.org/v3', kind: 'WorkloadEndpoint',
    metadata: { name: `node1-k8s-${name}-eth0`, namespace: 'x', labels: { pod: name, 'projectcalico.org/namespace': 'x', 'projectcalico.org/orchestrator': 'k8s' } },
    spec: { node: 'node1', orchestrator: 'k8s', workload: name, endpoint: 'eth0', pod: name, interfaceName: iface, ipNetworks: [`${ip}/32`] },
  } as WorkloadEndpoint;
}

describe('flowtable devices follow the workloads (FakeNft)', () => {
  let dir: string;
  let store: FileStore;
  const fake = new FakeNft();
  const present = new Set<string>(['lo', 'eth0']);
  const interfaces = async (): Promise<ReadonlySet<string>> => new Set(present);
  let agent: Agent | undefined;
  const devices = (): string[] => [...(fake.state?.flowtables.get(FLOWTABLE) ?? [])].sort();
  const enforced = async (a: Agent): Promise<void> => { await a.waitForRevision(await store.revision()); };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tabby-offload-'));
    store = await FileStore.open({ dir, pollIntervalMs: 20, crossObjectChecks: false });
    await store.apply(pool);
  });
  afterAll(async () => {
    await agent?.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('hooks the local workload interfaces in the first sync, with the offload chain after both policy chains', async () => {
    present.add('caliaaaaaaaaaaa').add('calibbbbbbbbbbb');
    await store.apply(endpoint('a', 'caliaaaaaaaaaaa', '10.1.0.1'));
    await store.apply(endpoint('b', 'calibbbbbbbbbbb', '10.1.0.2'));
    agent = new Agent({ node: 'node1', store, nft: fake, debounceMs: 1, flowtableOffload: { interfaces } });
    await agent.start();
    expect(devices()).toEqual(['caliaaaaaaaaaaa', 'calibbbbbbbbbbb']);
    const chains = fake.state!.chains;
    expect(chains.get(CHAIN_FWD_INGRESS)!.chain.priority).toBe('filter');
    expect(chains.get(CHAIN_FWD_OFFLOAD)!.chain).toMatchObject({ hook: 'forward', priority: 'filter + 10', policy: 'accept' });
    expect(chains.get(CHAIN_FWD_OFFLOAD)!.rules.map((r) => r.rule)).toEqual([
      `iifname "cali*" meta l4proto { tcp, udp } ct state established counter flow add @${FLOWTABLE}`,
    ]);
  });

  it('hooks a workload whose endpoint came before its interface once the interface exists', async () => {
    await store.apply(endpoint('c', 'caliccccccccccc', '10.1.0.3'));
    await enforced(agent!);
    expect(devices()).toEqual(['caliaaaaaaaaaaa', 'calibbbbbbbbbbb']);
    present.add('caliccccccccccc');
    for (let i = 0; i < 50 && devices().length < 3; i++) await sleep(100);
    expect(devices()).toEqual(['caliaaaaaaaaaaa', 'calibbbbbbbbbbb', 'caliccccccccccc']);
    expect(agent!.status()).toMatchObject({ failures: 0, fullSyncs: 1 });
  });

  it('unhooks a deleted workload incrementally, and forgets one whose interface went first', async () => {
    // b's veth goes before its endpoint (as `tabby workload delete` and Calico's CNI plugin do); this kernel
    // behaviour — the device leaves the flowtable with the interface — is the one that makes naming it fail.
    present.delete('calibbbbbbbbbbb');
    fake.state!.flowtables.get(FLOWTABLE)!.delete('calibbbbbbbbbbb');
    await store.delete({ kind: 'WorkloadEndpoint', namespace: 'x', name: 'node1-k8s-b-eth0' });
    await enforced(agent!);
    // a's endpoint goes while its interface is still there: unhooked by name.
    await store.delete({ kind: 'WorkloadEndpoint', namespace: 'x', name: 'node1-k8s-a-eth0' });
    await enforced(agent!);
    expect(devices()).toEqual(['caliccccccccccc']);
    expect(agent!.status()).toMatchObject({ failures: 0, fullSyncs: 1 });
  });

  it('hooks the same devices again when a restarted agent replaces the table', async () => {
    await agent!.stop();
    agent = new Agent({ node: 'node1', store, nft: fake, debounceMs: 1, flowtableOffload: { interfaces } });
    await agent.start();
    expect(devices()).toEqual(['caliccccccccccc']);
    expect(agent.status()).toMatchObject({ failures: 0, fullSyncs: 1 });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Real traffic

function denyAllIngressBut(from: string): NetworkPolicy {
  return {
    apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy', metadata: { name: 'b-from-a', namespace: 'x' },
    spec: { selector: "pod == 'b'", types: ['Ingress'], ingress: [{ action: 'Allow', source: { selector: `pod == '${from}'` } }] },
  };
}

const egressDeny: GlobalNetworkPolicy = {
  apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'c-no-egress-to-a' },
  spec: { selector: "pod == 'c'", types: ['Egress'], egress: [{ action: 'Deny', destination: { selector: "pod == 'a'" } }, { action: 'Allow' }] },
};

describe.skipIf(FLOWTABLE_SKIP_REASON)('flowtable offload on real traffic', () => {
  const prefix = uniquePrefix();
  let c: TestCluster;
  const ips: Record<string, string> = {};

  const start = async (): Promise<Agent> => {
    const exec = netnsExec(c.nodeNetns);
    return c.startAgent({ debounceMs: 1, flowtableOffload: { interfaces: () => linkNames(exec) } });
  };
  const reach = async (from: string, to: string, protocol: 'tcp' | 'udp' = 'tcp', port = 80): Promise<boolean> =>
    (await c.connect(`x/${from}`, protocol, ips[to]!, port, { timeoutMs: 700 })).ok;
  const flowtableDevices = async (): Promise<string[]> => {
    const res = await netnsExec(c.nodeNetns)(['nft', 'list', 'flowtable', 'inet', 'tabby', FLOWTABLE]);
    expect(res.code, res.stderr).toBe(0);
    const m = /devices = \{([^}]*)\}/.exec(res.stdout);
    return m ? m[1]!.split(',').map((d) => d.trim().replace(/"/g, '')).sort() : [];
  };
  const matrix = async (): Promise<string[]> => {
    const out: string[] = [];
    for (const from of ['a', 'b', 'c']) {
      for (const to of ['a', 'b', 'c']) {
        if (from === to) continue;
        for (const protocol of ['tcp', 'udp'] as const) out.push(`${from}→${to} ${protocol} ${(await reach(from, to, protocol)) ? 'ok' : 'denied'}`);
      }
    }
    return out;
  };

  beforeAll(async () => {
    await sweepStaleTestNamespaces();
    c = await TestCluster.create(prefix);
    await c.store.apply(pool);
    for (const name of ['a', 'b', 'c']) {
      const res = await c.workloads.create({ namespace: 'x', name, node: c.node, labels: { pod: name } });
      if (!res.ok) throw new Error(res.issues[0]!.message);
      const w = (await c.workloads.get('x', name))!;
      ips[name] = w.addresses.find((a) => !a.includes(':'))!.split('/')[0]!;
      await c.startProbe(`x/${name}`, w.netns);
      await c.serve(`x/${name}`, 'tcp', 80);
      await c.serve(`x/${name}`, 'udp', 80);
    }
    await c.store.apply(denyAllIngressBut('a'));
    await c.store.apply(egressDeny);
  }, 60_000);
  afterAll(async () => {
    await c?.close();
    await sweepPrefix(prefix);
  });

  it('decides new connections exactly as without offload (egress, then ingress)', async () => {
    const plain = await c.startAgent({ debounceMs: 1 });
    await c.enforced();
    const without = await matrix();
    await plain.stop();
    await start();
    await c.enforced();
    expect(await matrix()).toEqual(without);
    // The policies above: only a reaches b; c may not reach a.
    expect(without).toContain('a→b tcp ok');
    expect(without).toContain('c→b tcp denied');
    expect(without).toContain('c→a udp denied');
    expect(without).toContain('b→a tcp ok');
    expect(await flowtableDevices()).toEqual(['a', 'b', 'c'].map((n) => vethName('x', n)).sort());
  }, 120_000);

  it('keeps an established flow working once it is offloaded, past the forward chains', async () => {
    const b = (await c.workloads.get('x', 'b'))!;
    const a = (await c.workloads.get('x', 'a'))!;
    const server = spawn('nsenter', [`--net=/run/netns/${b.netns}`, 'iperf3', '-s', '-1'], { stdio: 'ignore' });
    const exited = new Promise((r) => server.once('exit', r));
    await sleep(300);
    const res = await netnsExec(a.netns)(['iperf3', '-c', ips.b!, '-t', '3', '-J']);
    await exited;
    expect(res.code, res.stderr).toBe(0);
    const sent = (JSON.parse(res.stdout) as { end: { sum_received: { bytes: number } } }).end.sum_received.bytes;
    expect(sent).toBeGreaterThan(10_000_000);
    // Offloaded packets skip the forward hook: b's ingress chain counted only the flow's first packets.
    const listing = (await netnsExec(c.nodeNetns)(['nft', 'list', 'chain', 'inet', 'tabby', `wi-${b.interfaceName}`])).stdout;
    const est = /ct state established,related counter packets \d+ bytes (\d+) accept/.exec(listing);
    expect(est, listing).not.toBeNull();
    expect(Number(est![1])).toBeLessThan(sent / 10);
  }, 60_000);

  it('deletes a workload while its flows are offloaded, cleanly', async () => {
    const doomed = vethName('x', 'c');
    expect(await reach('c', 'b')).toBe(false);
    expect((await c.workloads.delete('x', 'c')).ok).toBe(true);
    await c.enforced();
    expect(c.agent!.status()).toMatchObject({ state: 'in-sync', failures: 0 });
    expect(await flowtableDevices()).not.toContain(doomed);
    expect(await reach('a', 'b')).toBe(true);
    expect(await reach('b', 'a')).toBe(true);
  }, 60_000);

  it('offloads again after an agent restart (a full replace)', async () => {
    await c.agent!.stop();
    const agent = await start();
    await c.enforced();
    expect(agent.status()).toMatchObject({ fullSyncs: 1, failures: 0 });
    expect(await flowtableDevices()).toEqual(['a', 'b'].map((n) => vethName('x', n)).sort());
    expect(await reach('a', 'b')).toBe(true);
    expect(await reach('b', 'a')).toBe(true);
  }, 60_000);
});
