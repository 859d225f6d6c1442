// Nodes and workloads for real: namespaces, Calico-style veths and routes, IPAM through a file datastore, the
// fail-closed skeleton a new node gets, and probes with real connections.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { IPPool, WorkloadEndpoint } from '../../src/api/index.js';
import { FileStore } from '../../src/datastore/index.js';
import { listNamespaces } from '../../src/dataplane/netns/namespace.js';
import { hostExec, NftTables, netnsExec } from '../../src/dataplane/nft/index.js';
import { ProbeAgent } from '../../src/dataplane/probe/agent.js';
import { Workloads } from '../../src/dataplane/workloads.js';
import { KERNEL_SKIP_REASON, sweepPrefix, sweepStaleTestNamespaces, uniquePrefix } from './support.js';

const pool = (name: string, cidr: string): IPPool => ({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name }, spec: { cidr } });

describe.skipIf(KERNEL_SKIP_REASON)('nodes and workloads in network namespaces', () => {
  const prefix = uniquePrefix();
  let dir: string;
  let store: FileStore;
  let wl: Workloads;
  const agents: ProbeAgent[] = [];

  beforeAll(async () => {
    await sweepStaleTestNamespaces();
    dir = await mkdtemp(join(tmpdir(), 'tabby-wl-'));
    store = await FileStore.open({ dir });
    wl = new Workloads({ store, prefix });
  });
  afterAll(async () => {
    for (const a of agents) await a.stop();
    await sweepPrefix(prefix);
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a node with forwarding on and the fail-closed skeleton installed', async () => {
    const res = await wl.createNode('node1');
    expect(res).toMatchObject({ ok: true, value: { netns: `${prefix}n-node1`, uplink: { interface: 'eth0' } } });
    expect(wl.nodes()).toEqual(['node1']);
    const fwd = await netnsExec(`${prefix}n-node1`)(['sysctl', '-n', 'net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding']);
    expect(fwd.stdout.split('\n').slice(0, 2)).toEqual(['1', '1']);
    const table = await new NftTables({ family: 'inet', table: 'tabby', exec: netnsExec(`${prefix}n-node1`) }).list();
    expect([...table!.chains.keys()]).toEqual(expect.arrayContaining(['fwd-egress', 'fwd-ingress', 'in-egress', 'in-host', 'out-host']));
    expect((await wl.createNode('node1')).ok).toBe(false);
  });

  it('assigns addresses from IPv4 and IPv6 pools, pins --ip, and records the endpoint', async () => {
    await store.create(pool('v4', '10.1.0.0/16'));
    await store.create(pool('v6', 'fd00:1::/64'));
    const a = await wl.create({ namespace: 'x', name: 'a', node: 'node1', labels: { pod: 'a' }, ports: [{ name: 'http', protocol: 'TCP', port: 80 }] });
    expect(a.ok).toBe(true);
    const b = await wl.create({ namespace: 'x', name: 'b', node: 'node1', labels: { pod: 'b' }, ips: ['10.1.9.9'], serviceAccount: 'sa1' });
    expect(b.ok).toBe(true);
    const stored = (await store.get({ kind: 'WorkloadEndpoint', namespace: 'x', name: 'a' })) as WorkloadEndpoint;
    expect(stored.spec).toMatchObject({
      node: 'node1', interfaceName: 'cali' + stored.spec.interfaceName!.slice(4), ipNetworks: ['10.1.0.1/32', 'fd00:1::1/128'],
      profiles: ['kns.x'], ports: [{ name: 'http', protocol: 'TCP', port: 80 }],
    });
    expect(stored.spec.interfaceName).toMatch(/^cali[0-9a-f]{11}$/);
    expect((await store.get({ kind: 'WorkloadEndpoint', namespace: 'x', name: 'b' }) as WorkloadEndpoint).spec.profiles)
      .toEqual(['kns.x', 'ksa.x.sa1']);
    // The namespace and service account exist, so the kns./ksa. profiles are defined (a missing one denies).
    await expect(store.get({ kind: 'Namespace', name: 'x' })).resolves.toBeDefined();
    await expect(store.get({ kind: 'ServiceAccount', namespace: 'x', name: 'sa1' })).resolves.toBeDefined();
    const views = await wl.list();
    expect(views.map((v) => [v.name, v.addresses, v.running])).toEqual([['a', ['10.1.0.1', 'fd00:1::1'], true], ['b', ['10.1.9.9'], true]]);
    const dup = await wl.create({ namespace: 'y', name: 'c', node: 'node1', ips: ['10.1.0.1'] });
    expect(dup.ok).toBe(false);
    const noNode = await wl.create({ namespace: 'y', name: 'c', node: 'nowhere' });
    expect(!noNode.ok && noNode.issues[0]!.message).toMatch(/tabby node create nowhere/);
  });

  it('runs commands inside a workload', async () => {
    const argv = await wl.execArgv('x', 'a', ['ip', '-o', 'addr', 'show', 'dev', 'eth0']);
    expect(argv.ok).toBe(true);
    if (!argv.ok) return;
    const out = await hostExec(argv.value);
    expect(out.stdout).toMatch(/10\.1\.0\.1\/32/);
    expect(out.stdout).toMatch(/fd00:1::1\/128/);
  });

  it('drops workload traffic before any agent programmed it (fail closed)', async () => {
    const a = await ProbeAgent.start(`${prefix}w-x.a`);
    const b = await ProbeAgent.start(`${prefix}w-x.b`);
    const host = await ProbeAgent.start(`${prefix}n-node1`);
    agents.push(a, b, host);
    await b.listen('tcp', 8080);
    expect((await a.connect('tcp', '10.1.9.9', 8080, 500)).ok).toBe(false);
    // Even replies to the host: an interface no agent knows is dropped in both directions (Felix's dispatch).
    expect((await host.connect('tcp', '10.1.9.9', 8080, 500)).ok).toBe(false);
    // Without the table, the same path is open: it is the skeleton that closed it.
    await hostExec(['ip', 'netns', 'exec', `${prefix}n-node1`, 'nft', 'delete', 'table', 'inet', 'tabby']);
    expect(await host.connect('tcp', '10.1.9.9', 8080, 1000)).toMatchObject({ ok: true });
    expect(await a.connect('tcp', '10.1.9.9', 8080, 1000)).toMatchObject({ ok: true });
  });

  it('deletes a workload, releasing its address, its namespace and its conntrack entries', async () => {
    const node = netnsExec(`${prefix}n-node1`);
    const hasConntrack = (await node(['sh', '-c', 'command -v conntrack'])).code === 0;
    const entries = async (): Promise<string> => (await node(['conntrack', '-L', '-d', '10.1.9.9'])).stdout;
    if (hasConntrack) expect(await entries()).toMatch(/10\.1\.9\.9/);
    expect((await wl.delete('x', 'b')).ok).toBe(true);
    if (hasConntrack) expect(await entries()).not.toMatch(/10\.1\.9\.9/);
    expect(listNamespaces(`${prefix}w-x.b`)).toEqual([]);
    const again = await wl.create({ namespace: 'x', name: 'c', node: 'node1', ips: ['10.1.9.9'] });
    expect(again.ok).toBe(true);
    expect((await wl.delete('x', 'gone')).ok).toBe(false);
  });

  it('deletes a node with its workloads', async () => {
    const res = await wl.deleteNode('node1');
    expect(res).toEqual({ ok: true, value: { workloads: ['x/a', 'x/c'], refused: [] } });
    expect(listNamespaces(prefix)).toEqual([]);
    expect((await store.list({ kind: 'WorkloadEndpoint' })).items).toEqual([]);
  });
});
