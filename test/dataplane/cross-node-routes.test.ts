// Traffic between nodes, routed through the outside network (src/dataplane/netns/outside-routes.ts): a workload
// placed on a node gets a route in the outside namespace via that node's uplink, pods on two nodes reach each other
// across it (IPv4 and IPv6), the routes go with the workload and with the node, and an address that moved to
// another node keeps the route of its new node.
// Run with: flock /tmp/tabby-netns.lock npx vitest run test/dataplane/cross-node-routes.test.ts

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { IPPool } from '../../src/api/index.js';
import { netnsExec } from '../../src/dataplane/nft/index.js';
import { routeFromOutside } from '../../src/dataplane/netns/outside-routes.js';
import { TestCluster } from './cluster.js';
import { KERNEL_SKIP_REASON, sweepPrefix, sweepStaleTestNamespaces, uniquePrefix } from './support.js';

const pools: IPPool[] = [
  { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'v4' }, spec: { cidr: '10.65.0.0/16' } },
  { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'v6' }, spec: { cidr: 'fd00:65::/112' } },
];

describe.skipIf(KERNEL_SKIP_REASON !== undefined)('routes between nodes through the outside network', () => {
  const prefix = uniquePrefix();
  let c: TestCluster;

  beforeAll(async () => {
    await sweepStaleTestNamespaces();
    c = await TestCluster.create(prefix, ['alpha', 'beta', 'gamma']);
    for (const p of pools) await c.store.apply(p);
    for (const node of c.nodes) await c.startAgent({}, node);
  }, 60_000);
  afterAll(async () => {
    await c?.close();
    await sweepPrefix(prefix);
  });

  /** The outside namespace's host routes: destination → next hop. */
  const routes = async (): Promise<Record<string, string>> => {
    const out: Record<string, string> = {};
    for (const fam of ['-4', '-6']) {
      const res = await netnsExec(c.outsideNetns)(['ip', fam, '-j', 'route', 'show']);
      for (const r of JSON.parse(res.stdout) as Array<{ dst: string; gateway?: string }>) if (r.gateway) out[r.dst] = r.gateway;
    }
    return out;
  };

  it('a workload gets a route via its node; pods on two nodes talk across the outside network', async () => {
    const [alpha, beta] = await Promise.all([c.uplink('alpha'), c.uplink('beta')]);
    const via = (up: typeof alpha, fam: 4 | 6): string => up.addresses.map((a) => a.split('/')[0]!).find((a) => a.includes(':') === (fam === 6))!;
    const a = await c.workloads.create({ namespace: 'default', name: 'a', node: 'alpha', ips: ['10.65.0.2', 'fd00:65::2'] });
    const b = await c.workloads.create({ namespace: 'default', name: 'b', node: 'beta', ips: ['10.65.1.2', 'fd00:65::102'] });
    expect(a.ok && b.ok, JSON.stringify([a, b])).toBe(true);
    expect(await routes()).toMatchObject({
      '10.65.0.2': via(alpha, 4), 'fd00:65::2': via(alpha, 6), '10.65.1.2': via(beta, 4), 'fd00:65::102': via(beta, 6),
    });
    // Adding again changes nothing (route replace).
    await routeFromOutside(c.netnsOf('alpha'), ['10.65.0.2']);
    expect((await routes())['10.65.0.2']).toBe(via(alpha, 4));
    // Node alpha has no route of its own to beta's pod: it goes to the outside router (its default gateway).
    const get = await netnsExec(c.netnsOf('alpha'))(['ip', '-j', 'route', 'get', '10.65.1.2']);
    expect(JSON.parse(get.stdout)[0]).toMatchObject({ gateway: '172.31.0.1', dev: 'eth0' });

    await c.enforced();
    await c.startProbe('a', `${prefix}w-default.a`);
    await c.startProbe('b', `${prefix}w-default.b`);
    await c.startProbe('outside', c.outsideNetns);
    await c.serve('b', 'tcp', 8080);
    await c.serve('a', 'tcp', 8080);
    const forwardedBefore = await forwarded(c.outsideNetns);
    for (const [from, host] of [['a', '10.65.1.2'], ['a', 'fd00:65::102'], ['b', '10.65.0.2'], ['outside', '10.65.0.2'], ['outside', 'fd00:65::102']] as const) {
      const res = await c.connect(from, 'tcp', host, 8080, { timeoutMs: 2000 });
      expect(res.ok, `${from} → ${host}: ${res.error}`).toBe(true);
    }
    // The pod-to-pod packets were forwarded by the outside namespace (both families).
    const after = await forwarded(c.outsideNetns);
    expect(after.v4).toBeGreaterThan(forwardedBefore.v4);
    expect(after.v6).toBeGreaterThan(forwardedBefore.v6);
  }, 60_000);

  it('the route goes with the workload; an address moved to another node is routed there', async () => {
    const gamma = (await c.uplink('gamma')).addresses[0]!.split('/')[0]!;
    const del = await c.workloads.delete('default', 'b');
    expect(del.ok).toBe(true);
    const now = await routes();
    expect(now['10.65.1.2']).toBeUndefined();
    expect(now['fd00:65::102']).toBeUndefined();
    expect(now['10.65.0.2']).toBeDefined();
    const moved = await c.workloads.create({ namespace: 'default', name: 'b2', node: 'gamma', ips: ['10.65.1.2'] });
    expect(moved.ok, JSON.stringify(moved)).toBe(true);
    expect((await routes())['10.65.1.2']).toBe(gamma);
  });

  it('a node delete flushes the routes via its uplink', async () => {
    const res = await c.workloads.deleteNode('gamma');
    expect(res.ok, JSON.stringify(res)).toBe(true);
    const now = await routes();
    expect(now['10.65.1.2']).toBeUndefined();
    expect(now['10.65.0.2']).toBeDefined();
  });
});

/** Packets the namespace forwarded, per family (the kernel's SNMP counters). */
async function forwarded(netns: string): Promise<{ v4: number; v6: number }> {
  const exec = netnsExec(netns);
  const snmp = (await exec(['cat', '/proc/net/snmp'])).stdout.split('\n').filter((l) => l.startsWith('Ip:'));
  const [head, values] = snmp.map((l) => l.trim().split(/\s+/));
  const v4 = Number(values![head!.indexOf('ForwDatagrams')]);
  const v6 = Number(/Ip6OutForwDatagrams\s+(\d+)/.exec((await exec(['cat', '/proc/net/snmp6'])).stdout)?.[1] ?? 0);
  return { v4, v6 };
}
