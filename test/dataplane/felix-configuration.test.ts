// Issue 17 §2, FelixConfiguration on real traffic: while the agent runs, a change of failsafeInboundHostPorts in the
// datastore makes a port of the node reachable or unreachable from the outside namespace (through the node's
// uplink eth0), and DefaultEndpointToHostAction Drop cuts a pod off its own host — each probe also checked against
// the engine's verdict for the same datastore, so kernel and engine agree.
// Run with: flock /tmp/tabby-netns.lock npx vitest run test/dataplane/felix-configuration.test.ts

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Resource } from '../../src/api/index.js';
import { netnsExec } from '../../src/dataplane/nft/index.js';
import { PolicyEngine, type Flow } from '../../src/engine/index.js';
import { TestCluster } from './cluster.js';
import { KERNEL_SKIP_REASON, sweepPrefix, sweepStaleTestNamespaces, uniquePrefix } from './support.js';

const HOST = '172.31.0.2';
const POD = '10.65.0.2';

interface Probe {
  what: string;
  from: 'outside' | 'pod';
  to: 'host';
  port: number;
}

describe.skipIf(KERNEL_SKIP_REASON !== undefined)('FelixConfiguration on real traffic', () => {
  const prefix = uniquePrefix();
  let c: TestCluster;
  const outsideNs = `${prefix}x`;
  let hostRef: string | undefined;

  const felix = (name: string, spec: Record<string, unknown>): Resource =>
    ({ apiVersion: 'projectcalico.org/v3', kind: 'FelixConfiguration', metadata: { name }, spec }) as unknown as Resource;

  async function put(...resources: Resource[]): Promise<void> {
    for (const r of resources) await c.store.apply(r);
    await c.enforced();
  }
  async function remove(kind: string, ...names: string[]): Promise<void> {
    for (const name of names) await c.store.delete({ kind, name } as never).catch(() => undefined);
    await c.enforced();
  }

  /** Each probe on real traffic and in the engine loaded from the same datastore; both must match `want`. */
  async function check(want: Record<string, boolean>, probes: Probe[]): Promise<void> {
    const engine = new PolicyEngine();
    engine.load((await c.store.list()).items);
    const got: Record<string, boolean> = {};
    const explained: Record<string, boolean> = {};
    for (const p of probes) {
      await c.serve('host', 'tcp', p.port);
      got[p.what] = (await c.connect(p.from, 'tcp', HOST, p.port, { timeoutMs: 700 })).ok;
      const flow: Flow = {
        from: p.from === 'outside' ? { ip: '172.31.0.1' } : 'default/w0',
        to: hostRef ? `hep:${hostRef}` : { ip: HOST }, protocol: 'TCP', port: p.port,
      };
      const v = engine.evaluate(flow);
      if (!v.ok) throw new Error(`engine: ${JSON.stringify(v.issues)}`);
      explained[p.what] = v.value.verdict === 'Allow';
    }
    expect(got).toEqual(want);
    expect(explained).toEqual(want);
  }

  const ssh: Probe = { what: 'outside→host:22', from: 'outside', to: 'host', port: 22 };
  const alt: Probe = { what: 'outside→host:2222', from: 'outside', to: 'host', port: 2222 };
  const podToHost: Probe = { what: 'pod→host:8080', from: 'pod', to: 'host', port: 8080 };

  beforeAll(async () => {
    await sweepStaleTestNamespaces();
    c = await TestCluster.create(prefix);
    await c.startAgent();
    const w = await c.workloads.create({ namespace: 'default', name: 'w0', node: 'node1', ips: [POD] });
    if (!w.ok) throw new Error(JSON.stringify(w.issues));
    await c.startProbe('pod', `${prefix}w-default.w0`);
    await c.startProbe('host', c.nodeNetns);
    await c.startProbe('outside', outsideNs);
    const res = await netnsExec(outsideNs)(['ip', 'route', 'add', '10.65.0.0/16', 'via', HOST]);
    expect(res.code, res.stderr).toBe(0);
    await c.enforced();
  }, 60_000);

  afterAll(async () => {
    await c?.close();
    await sweepPrefix(prefix);
  });

  it('DefaultEndpointToHostAction Drop, applied live, cuts a pod off its own host; deleting it restores Accept', async () => {
    // A host endpoint with no policy and no profile: all but failsafe traffic from outside is dropped (fail closed);
    // a pod's traffic to its own host is decided by DefaultEndpointToHostAction alone (§3.7, dataplane.md §1.11).
    hostRef = 'eth0-hep';
    await put({
      apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'eth0-hep', labels: { role: 'host' } },
      spec: { node: 'node1', interfaceName: 'eth0', expectedIPs: [HOST] },
    } as unknown as Resource);
    await check({ 'pod→host:8080': true }, [podToHost]);
    await put(felix('default', { defaultEndpointToHostAction: 'Drop' }));
    await check({ 'pod→host:8080': false }, [podToHost]);
    // The node's own FelixConfiguration wins over default.
    await put(felix('node.node1', { defaultEndpointToHostAction: 'Accept' }));
    await check({ 'pod→host:8080': true }, [podToHost]);
    await remove('FelixConfiguration', 'node.node1');
    await check({ 'pod→host:8080': false }, [podToHost]);
    await remove('FelixConfiguration', 'default');
    await check({ 'pod→host:8080': true }, [podToHost]);
  });

  it('failsafeInboundHostPorts changed in the datastore opens and closes host ports from outside while the agent runs', async () => {
    await check({ 'outside→host:22': true, 'outside→host:2222': false }, [ssh, alt]);
    const fullSyncs = c.agent!.status().fullSyncs;

    await put(felix('default', { failsafeInboundHostPorts: [{ protocol: 'TCP', port: 2222 }] }));
    await check({ 'outside→host:22': false, 'outside→host:2222': true }, [ssh, alt]);

    // node.node1 over default: 22 again, only from the outside network's /24.
    await put(felix('node.node1', { failsafeInboundHostPorts: [{ protocol: 'TCP', port: 22, net: '172.31.0.0/24' }] }));
    await check({ 'outside→host:22': true, 'outside→host:2222': false }, [ssh, alt]);
    await put(felix('node.node1', { failsafeInboundHostPorts: [{ protocol: 'TCP', port: 22, net: '192.0.2.0/24' }] }));
    await check({ 'outside→host:22': false, 'outside→host:2222': false }, [ssh, alt]);

    // An empty list turns the failsafes off; deleting the FelixConfigurations brings Felix's defaults back.
    await put(felix('node.node1', { failsafeInboundHostPorts: [] }));
    await check({ 'outside→host:22': false }, [ssh]);
    await remove('FelixConfiguration', 'node.node1', 'default');
    await check({ 'outside→host:22': true, 'outside→host:2222': false }, [ssh, alt]);
    // All of it live: incremental transactions, no restart and no full resync.
    expect(c.agent!.status().fullSyncs).toBe(fullSyncs);
    expect(c.agent!.status().settings?.find((s) => s.name === 'failsafeInboundHostPorts')?.source).toBe('built-in default');
  });
});
