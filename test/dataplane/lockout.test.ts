// Issue 17 §4 on real traffic: the lockout check's prediction for a change is what the kernel then does. A node
// whose eth0 host endpoint allows everything gets a deny-all host policy; the check (src/analysis/lockout.ts)
// predicts which critical flows from and to outside are cut, the change is applied and enforced by the agent,
// and every critical port is probed from the outside namespace (inbound) and from the host (outbound) before and
// after: the flows that stop working are exactly the predicted ones — the kubelet and DNS over TCP, not SSH, BGP,
// etcd or the API server, which Felix's default failsafe ports keep open.
// Run with: flock /tmp/tabby-netns.lock npx vitest run test/dataplane/lockout.test.ts

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { lockoutCheck } from '../../src/analysis/index.js';
import type { Resource } from '../../src/api/index.js';
import { TestCluster } from './cluster.js';
import { KERNEL_SKIP_REASON, sweepPrefix, sweepStaleTestNamespaces, uniquePrefix } from './support.js';

const HOST = '172.31.0.2';
const OUTSIDE = '172.31.0.1';

const resource = (kind: string, name: string, spec: Record<string, unknown>, labels?: Record<string, string>): Resource =>
  ({ apiVersion: 'projectcalico.org/v3', kind, metadata: { name, ...(labels && { labels }) }, spec }) as unknown as Resource;

describe.skipIf(KERNEL_SKIP_REASON !== undefined)('the lockout check on real traffic', () => {
  const prefix = uniquePrefix();
  let c: TestCluster;

  beforeAll(async () => {
    await sweepStaleTestNamespaces();
    c = await TestCluster.create(prefix);
    await c.startAgent();
    await c.startProbe('host', c.nodeNetns);
    await c.startProbe('outside', `${prefix}x`);
    await c.store.apply(resource('HostEndpoint', 'eth0-hep', { node: 'node1', interfaceName: 'eth0', expectedIPs: [HOST] }, { role: 'host' }));
    await c.store.apply(resource('GlobalNetworkPolicy', 'allow-all-hosts', {
      order: 100, selector: "role == 'host'", ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }],
    }));
    await c.enforced();
  }, 60_000);

  afterAll(async () => {
    await c?.close();
    await sweepPrefix(prefix);
  });

  const inbound = [22, 179, 2379, 2380, 6443, 10250];
  const outbound: Array<{ protocol: 'tcp' | 'udp'; port: number }> = [
    { protocol: 'udp', port: 53 }, { protocol: 'tcp', port: 53 }, { protocol: 'tcp', port: 179 },
    { protocol: 'tcp', port: 2379 }, { protocol: 'tcp', port: 2380 }, { protocol: 'tcp', port: 6443 },
  ];

  /** `in tcp/22` → reachable, for every critical port. */
  async function reachable(): Promise<Record<string, boolean>> {
    const out: Record<string, boolean> = {};
    for (const port of inbound) {
      await c.serve('host', 'tcp', port);
      out[`in tcp/${port}`] = (await c.connect('outside', 'tcp', HOST, port, { timeoutMs: 700 })).ok;
    }
    for (const { protocol, port } of outbound) {
      await c.serve('outside', protocol, port);
      out[`out ${protocol}/${port}`] = (await c.connect('host', protocol, OUTSIDE, port, { timeoutMs: 700 })).ok;
    }
    return out;
  }

  it('the flows a deny-all cuts are the ones predicted', async () => {
    const denyAll = resource('GlobalNetworkPolicy', 'deny-all-hosts', {
      order: 10, selector: "role == 'host'", types: ['Ingress', 'Egress'], ingress: [{ action: 'Deny' }], egress: [{ action: 'Deny' }],
    });
    const before = (await c.store.list()).items;
    const report = lockoutCheck(before, [...before, denyAll]);
    const predicted = report.cut
      .filter((f) => f.node === 'node1' && f.peerKind === 'outside')
      .map((f) => `${f.flow.direction === 'inbound' ? 'in' : 'out'} ${f.flow.protocol.toLowerCase()}/${f.flow.port}`)
      .sort();
    expect(predicted).toEqual(['in tcp/10250', 'out tcp/53']);

    const was = await reachable();
    expect(Object.values(was).every(Boolean), JSON.stringify(was)).toBe(true);
    await c.store.apply(denyAll);
    await c.enforced();
    const now = await reachable();
    const cut = Object.keys(was).filter((k) => was[k] && !now[k]).sort();
    expect(cut).toEqual(predicted);
  }, 60_000);
});
