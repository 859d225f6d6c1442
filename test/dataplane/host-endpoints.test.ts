// Issue 17 §2 and §6: host endpoints enforced in the kernel, on real traffic through a node's uplink eth0 from
// the outside namespace — to the host, from the host, forwarded to a workload — and every probe checked against
// the engine's verdict for the same datastore (`tabby explain`), so the kernel and the engine agree.
// Run with: flock /tmp/tabby-netns.lock npx vitest run test/dataplane/host-endpoints.test.ts

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Resource } from '../../src/api/index.js';
import { netnsExec } from '../../src/dataplane/nft/index.js';
import { PolicyEngine, type EngineOptions, type Flow } from '../../src/engine/index.js';
import { TestCluster } from './cluster.js';
import { KERNEL_SKIP_REASON, sweepPrefix, sweepStaleTestNamespaces, uniquePrefix } from './support.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const HOST = '172.31.0.2';
const OUTSIDE = '172.31.0.1';
const POD = '10.65.0.2';

interface Probe {
  what: string;
  from: 'outside' | 'host' | 'pod';
  to: 'outside' | 'host' | 'pod';
  protocol?: 'tcp' | 'udp';
  port: number;
}

describe.skipIf(KERNEL_SKIP_REASON !== undefined)('host endpoints on real traffic', () => {
  const prefix = uniquePrefix();
  let c: TestCluster;
  const outsideNs = `${prefix}x`;

  const hep = (name: string, spec: Record<string, unknown>, labels: Record<string, string> = { role: 'host' }): Resource =>
    ({ apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name, labels }, spec: { node: 'node1', ...spec } }) as unknown as Resource;
  const gnp = (name: string, spec: Record<string, unknown>): Resource =>
    ({ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name }, spec }) as unknown as Resource;

  async function put(...resources: Resource[]): Promise<void> {
    for (const r of resources) await c.store.apply(r);
    await c.enforced();
  }
  async function remove(kind: string, ...names: string[]): Promise<void> {
    for (const name of names) await c.store.delete({ kind, name } as never).catch(() => undefined);
    await c.enforced();
  }

  function flowOf(p: Probe): Flow {
    const peer = (side: Probe['from']): Flow['from'] =>
      (side === 'outside' ? { ip: OUTSIDE } : side === 'pod' ? 'default/w0' : hostRef ? `hep:${hostRef}` : { ip: HOST });
    return { from: peer(p.from), to: peer(p.to), protocol: (p.protocol ?? 'tcp').toUpperCase(), port: p.port };
  }
  /** The host endpoint the host's traffic belongs to (none: the host is a bare address to the engine). */
  let hostRef: string | undefined;

  /** Each probe on real traffic, and the engine's verdict for it from the same datastore; both must match `want`. */
  async function check(want: Record<string, boolean>, probes: Probe[], options: EngineOptions = {}): Promise<void> {
    const engine = new PolicyEngine(options);
    engine.load((await c.store.list()).items);
    const got: Record<string, boolean> = {};
    const explained: Record<string, boolean> = {};
    for (const p of probes) {
      const address = p.to === 'outside' ? OUTSIDE : p.to === 'pod' ? POD : HOST;
      await c.serve(p.to, p.protocol ?? 'tcp', p.port);
      got[p.what] = (await c.connect(p.from, p.protocol ?? 'tcp', address, p.port, { timeoutMs: 700 })).ok;
      const v = engine.evaluate(flowOf(p));
      if (!v.ok) throw new Error(`engine: ${JSON.stringify(v.issues)}`);
      explained[p.what] = v.value.verdict === 'Allow';
    }
    expect(got).toEqual(want);
    expect(explained).toEqual(want);
  }

  const probes: Probe[] = [
    { what: 'outside→host:8080', from: 'outside', to: 'host', port: 8080 },
    { what: 'outside→host:22 (failsafe)', from: 'outside', to: 'host', port: 22 },
    { what: 'outside→host:6443 (failsafe)', from: 'outside', to: 'host', port: 6443 },
    { what: 'host→outside:9090', from: 'host', to: 'outside', port: 9090 },
    { what: 'host→outside:2379 (failsafe)', from: 'host', to: 'outside', port: 2379 },
    { what: 'host→outside:udp53 (failsafe)', from: 'host', to: 'outside', protocol: 'udp', port: 53 },
    { what: 'outside→pod:80', from: 'outside', to: 'pod', port: 80 },
    { what: 'pod→outside:9090', from: 'pod', to: 'outside', port: 9090 },
    { what: 'host→pod:80', from: 'host', to: 'pod', port: 80 },
  ];

  beforeAll(async () => {
    await sweepStaleTestNamespaces();
    c = await TestCluster.create(prefix);
    await c.startAgent();
    const w = await c.workloads.create({ namespace: 'default', name: 'w0', node: 'node1', ips: [POD] });
    if (!w.ok) throw new Error(JSON.stringify(w.issues));
    await c.startProbe('pod', `${prefix}w-default.w0`);
    await c.startProbe('host', c.nodeNetns);
    await c.startProbe('outside', outsideNs);
    // The outside network routes the pod's address via the node by itself (netns/outside-routes.ts).
    const route = await netnsExec(outsideNs)(['ip', 'route', 'show', `${POD}/32`]);
    expect(route.stdout).toContain(`via ${HOST}`);
    await c.enforced();
  }, 60_000);

  afterAll(async () => {
    await c?.close();
    await sweepPrefix(prefix);
  });

  it('no host endpoint: nothing is policed', async () => {
    await check({
      'outside→host:8080': true, 'outside→host:22 (failsafe)': true, 'outside→host:6443 (failsafe)': true,
      'host→outside:9090': true, 'host→outside:2379 (failsafe)': true, 'host→outside:udp53 (failsafe)': true,
      'outside→pod:80': true, 'pod→outside:9090': true, 'host→pod:80': true,
    }, probes);
  });

  it('eth0 host endpoint with no policy and no profile: fails closed except failsafes; forwarded traffic is not policed', async () => {
    hostRef = 'eth0-hep';
    await put(hep('eth0-hep', { interfaceName: 'eth0', expectedIPs: [HOST] }));
    await check({
      'outside→host:8080': false, 'outside→host:22 (failsafe)': true, 'outside→host:6443 (failsafe)': true,
      'host→outside:9090': false, 'host→outside:2379 (failsafe)': true, 'host→outside:udp53 (failsafe)': true,
      'outside→pod:80': true, 'pod→outside:9090': true, 'host→pod:80': true,
    }, probes);
  });

  it('a policy on the host endpoint opens a port; a profile on it allows the rest', async () => {
    await put(gnp('host-8080', { selector: 'role == "host"', types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [8080] } }] }));
    await check({ 'outside→host:8080': true, 'outside→host:8081': false, 'host→outside:9090': false }, [
      { what: 'outside→host:8080', from: 'outside', to: 'host', port: 8080 },
      { what: 'outside→host:8081', from: 'outside', to: 'host', port: 8081 },
      { what: 'host→outside:9090', from: 'host', to: 'outside', port: 9090 },
    ]);
    await put(
      { apiVersion: 'projectcalico.org/v3', kind: 'Profile', metadata: { name: 'host-open' }, spec: { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] } } as unknown as Resource,
      hep('eth0-hep', { interfaceName: 'eth0', expectedIPs: [HOST], profiles: ['host-open'] }),
    );
    // The policy's tier ends in a drop for ingress; egress has no policy, so the profile decides.
    await check({ 'outside→host:8081': false, 'host→outside:9090': true }, [
      { what: 'outside→host:8081', from: 'outside', to: 'host', port: 8081 },
      { what: 'host→outside:9090', from: 'host', to: 'outside', port: 9090 },
    ]);
    await remove('GlobalNetworkPolicy', 'host-8080');
    await check({ 'outside→host:8081': true }, [{ what: 'outside→host:8081', from: 'outside', to: 'host', port: 8081 }]);
    await remove('Profile', 'host-open');
    await put(hep('eth0-hep', { interfaceName: 'eth0', expectedIPs: [HOST] }));
  });

  it('applyOnForward policies police forwarded traffic through eth0, and only those', async () => {
    await put(gnp('fwd-deny-80', {
      selector: 'role == "host"', applyOnForward: true, types: ['Ingress', 'Egress'],
      ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [80] } }, { action: 'Allow' }],
      egress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [9090] } }, { action: 'Allow' }],
    }));
    await check({ 'outside→pod:80': false, 'outside→pod:81': true, 'pod→outside:9090': false, 'pod→outside:9091': true, 'outside→host:22 (failsafe)': true }, [
      { what: 'outside→pod:80', from: 'outside', to: 'pod', port: 80 },
      { what: 'outside→pod:81', from: 'outside', to: 'pod', port: 81 },
      { what: 'pod→outside:9090', from: 'pod', to: 'outside', port: 9090 },
      { what: 'pod→outside:9091', from: 'pod', to: 'outside', port: 9091 },
      { what: 'outside→host:22 (failsafe)', from: 'outside', to: 'host', port: 22 },
    ]);
    await remove('GlobalNetworkPolicy', 'fwd-deny-80');
  });

  it('the all-interfaces (*) host endpoint is the default; a named one takes its interface', async () => {
    await remove('HostEndpoint', 'eth0-hep');
    hostRef = 'all-hep';
    await put(
      { apiVersion: 'projectcalico.org/v3', kind: 'Profile', metadata: { name: 'host-open' }, spec: { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] } } as unknown as Resource,
      hep('all-hep', { interfaceName: '*', profiles: ['host-open'] }),
      // Pass hands the rest to the profile (Pass rules are inlined in the tier chain, Pass = return).
      gnp('all-deny-8080', { selector: 'role == "host"', types: ['Ingress'], ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [8080] } }, { action: 'Pass' }] }),
    );
    await check({ 'outside→host:8080': false, 'outside→host:8081': true, 'host→pod:80': true, 'pod→outside:9090': true }, [
      { what: 'outside→host:8080', from: 'outside', to: 'host', port: 8080 },
      { what: 'outside→host:8081', from: 'outside', to: 'host', port: 8081 },
      { what: 'host→pod:80', from: 'host', to: 'pod', port: 80 },
      { what: 'pod→outside:9090', from: 'pod', to: 'outside', port: 9090 },
    ]);
    // A host endpoint naming eth0 takes it over from the all-interfaces one (its own policies: none selected, its
    // profile allows), so the wildcard's deny no longer applies on eth0.
    hostRef = 'eth0-named';
    await put(hep('eth0-named', { interfaceName: 'eth0', profiles: ['host-open'] }, { role: 'named' }));
    await check({ 'outside→host:8080': true }, [{ what: 'outside→host:8080', from: 'outside', to: 'host', port: 8080 }]);
    await remove('HostEndpoint', 'eth0-named');
    await remove('GlobalNetworkPolicy', 'all-deny-8080');
    await remove('HostEndpoint', 'all-hep');
    await remove('Profile', 'host-open');
    hostRef = 'eth0-hep';
  });

  it('preDNAT policies decide before DNAT (a port forward set up with nft) and fall through when they do not', async () => {
    await put(
      { apiVersion: 'projectcalico.org/v3', kind: 'Profile', metadata: { name: 'host-open' }, spec: { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] } } as unknown as Resource,
      hep('eth0-hep', { interfaceName: 'eth0', expectedIPs: [HOST], profiles: ['host-open'] }),
      gnp('pre-deny', {
        selector: 'role == "host"', preDNAT: true, applyOnForward: true, types: ['Ingress'],
        ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [8080, 8888] } }],
      }),
    );
    hostRef = 'eth0-hep';
    await check({ 'outside→host:8080': false, 'outside→host:8081': true, 'host→outside:9090': true }, [
      { what: 'outside→host:8080', from: 'outside', to: 'host', port: 8080 },
      { what: 'outside→host:8081', from: 'outside', to: 'host', port: 8081 },
      { what: 'host→outside:9090', from: 'host', to: 'outside', port: 9090 },
    ]);
    // A port forward on the node (as kube-proxy's DNAT would be): host:8888 and :8889 → pod:80. The preDNAT policy
    // sees the original port, so 8888 is denied and 8889 reaches the pod. (The engine does not model DNAT, so
    // these are checked in the kernel only.)
    const nat = ['add table ip tbnat', 'add chain ip tbnat pre { type nat hook prerouting priority dstnat; }',
      `add rule ip tbnat pre tcp dport { 8888, 8889 } dnat to ${POD}:80`].join('\n');
    const res = await netnsExec(c.nodeNetns)(['nft', '-f', '-'], nat + '\n');
    expect(res.code, res.stderr).toBe(0);
    try {
      await c.serve('pod', 'tcp', 80);
      expect((await c.connect('outside', 'tcp', HOST, 8888, { timeoutMs: 700 })).ok).toBe(false);
      expect((await c.connect('outside', 'tcp', HOST, 8889, { timeoutMs: 700 })).ok).toBe(true);
      // A preDNAT Allow accepts for the host endpoint's later stages: an applyOnForward deny of port 80 (after
      // DNAT) does not see 8889 once a preDNAT policy allows it, and does see it otherwise.
      await put(gnp('fwd-deny-80', { selector: 'role == "host"', applyOnForward: true, types: ['Ingress'], ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [80] } }] }));
      expect((await c.connect('outside', 'tcp', HOST, 8889, { timeoutMs: 700 })).ok).toBe(false);
      await put(gnp('pre-allow-8889', { selector: 'role == "host"', order: 1, preDNAT: true, applyOnForward: true, types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [8889] } }] }));
      expect((await c.connect('outside', 'tcp', HOST, 8889, { timeoutMs: 700 })).ok).toBe(true);
    } finally {
      await netnsExec(c.nodeNetns)(['nft', 'delete', 'table', 'ip', 'tbnat']);
      await remove('GlobalNetworkPolicy', 'pre-deny', 'fwd-deny-80', 'pre-allow-8889');
    }
  });

  it('doNotTrack policies: notrack + accept in the raw table, both directions, failsafes still first', async () => {
    await put(
      hep('eth0-hep', { interfaceName: 'eth0', expectedIPs: [HOST] }),
      gnp('untracked-8080', {
        selector: 'role == "host"', doNotTrack: true, applyOnForward: true, types: ['Ingress', 'Egress'],
        ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [8080] } }],
        egress: [{ action: 'Allow', protocol: 'TCP', source: { ports: [8080] } }],
      }),
    );
    await remove('Profile', 'host-open');
    await check({ 'outside→host:8080': true, 'outside→host:8081': false, 'outside→host:22 (failsafe)': true }, [
      { what: 'outside→host:8080', from: 'outside', to: 'host', port: 8080 },
      { what: 'outside→host:8081', from: 'outside', to: 'host', port: 8081 },
      { what: 'outside→host:22 (failsafe)', from: 'outside', to: 'host', port: 22 },
    ]);
    // The 8080 flow went untracked: the notrack chains counted its packets, both ways.
    for (const chain of ['raw-notrack-in', 'raw-notrack-out']) {
      const listed = (await netnsExec(c.nodeNetns)(['nft', 'list', 'chain', 'inet', 'tabby', chain])).stdout;
      expect(Number(/packets (\d+)/.exec(listed)?.[1] ?? 0), chain).toBeGreaterThan(0);
    }
    await remove('GlobalNetworkPolicy', 'untracked-8080');
  });

  it('lockout safety: deny-all on eth0 leaves SSH (22) reachable; an agent stopped, or killed, leaves the ruleset in force', async () => {
    await put(
      hep('eth0-hep', { interfaceName: 'eth0', expectedIPs: [HOST] }),
      gnp('deny-all-host', { selector: 'role == "host"', types: ['Ingress', 'Egress'], ingress: [{ action: 'Deny' }], egress: [{ action: 'Deny' }] }),
    );
    // The pod's traffic to its own host is DefaultEndpointToHostAction's (Accept here), not the host endpoint's
    // ingress policy: dataplane.md §1.11's reading (Felix's INPUT sends cali* to cali-wl-to-host with a goto).
    const want = {
      'outside→host:22 (failsafe)': true, 'outside→host:8080': false, 'host→outside:9090': false, 'host→outside:2379 (failsafe)': true,
      'pod→host:8080 (DefaultEndpointToHostAction Accept)': true,
    };
    const lock: Probe[] = [
      { what: 'outside→host:22 (failsafe)', from: 'outside', to: 'host', port: 22 },
      { what: 'outside→host:8080', from: 'outside', to: 'host', port: 8080 },
      { what: 'host→outside:9090', from: 'host', to: 'outside', port: 9090 },
      { what: 'host→outside:2379 (failsafe)', from: 'host', to: 'outside', port: 2379 },
      { what: 'pod→host:8080 (DefaultEndpointToHostAction Accept)', from: 'pod', to: 'host', port: 8080 },
    ];
    await check(want, lock);
    const ruleset = async (): Promise<string> =>
      // Chains and rules as a sorted list of lines: a full replace by another process may order chains otherwise.
      (await netnsExec(c.nodeNetns)(['sh', '-c', 'nft list table inet tabby | grep -v counter'])).stdout.split('\n').map((l) => l.trim()).sort().join('\n');
    const before = await ruleset();
    expect(before).toMatch(/chain hni-eth0/);
    await c.agent!.stop();
    expect(await ruleset()).toBe(before);
    await check(want, lock);

    // A real agent process, SIGKILLed with the host policy in force: the table stays as it was (never allow-all,
    // never a lock-out beyond the policy).
    const stateDir = await mkdtemp(join(tmpdir(), 'tabby-hep-agent-'));
    let child: ChildProcess | undefined;
    try {
      child = spawn(process.execPath, [
        join(repoRoot, 'node_modules/.bin/vite-node'), join(repoRoot, 'test/dataplane/run-cli.ts'),
        'agent', '--node', c.node, '--datastore', `file:${c.dir}`, '--state-dir', stateDir, '--netns-prefix', c.prefix,
      ], { stdio: ['ignore', 'ignore', 'pipe'], cwd: repoRoot });
      const revision = await c.store.revision();
      let synced = false;
      for (let i = 0; i < 600 && !synced; i++) {
        const s = JSON.parse(await readFile(join(stateDir, `agent-${c.node}.json`), 'utf8').catch(() => '{"enforcedRevision":-1}')) as { enforcedRevision: number };
        synced = s.enforcedRevision >= revision;
        if (!synced) await sleep(50);
      }
      expect(synced).toBe(true);
      child.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));
      expect(await ruleset()).toBe(before);
      await check(want, lock);
    } finally {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await rm(stateDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('DefaultEndpointToHostAction Drop: a pod cannot open connections to its own host, whatever the host endpoint allows', async () => {
    await c.startAgent({ engine: { defaultEndpointToHostAction: 'Drop' } });
    await remove('GlobalNetworkPolicy', 'deny-all-host');
    await put(
      { apiVersion: 'projectcalico.org/v3', kind: 'Profile', metadata: { name: 'host-open' }, spec: { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] } } as unknown as Resource,
      hep('eth0-hep', { interfaceName: 'eth0', expectedIPs: [HOST], profiles: ['host-open'] }),
    );
    await check({ 'pod→host:8080': false, 'outside→host:8080': true, 'pod→outside:9090': true }, [
      { what: 'pod→host:8080', from: 'pod', to: 'host', port: 8080 },
      { what: 'outside→host:8080', from: 'outside', to: 'host', port: 8080 },
      { what: 'pod→outside:9090', from: 'pod', to: 'outside', port: 9090 },
    ], { defaultEndpointToHostAction: 'Drop' });
  });

  it('a host endpoint given by expectedIPs alone governs the interface holding them, and only while it holds them', async () => {
    await remove('HostEndpoint', 'eth0-hep');
    await remove('Profile', 'host-open');
    hostRef = 'by-ip';
    await put(
      hep('by-ip', { expectedIPs: [HOST] }),
      gnp('by-ip-8081', { selector: 'role == "host"', types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [8081] } }] }),
    );
    const byIp: Probe[] = [
      { what: 'outside→host:8080', from: 'outside', to: 'host', port: 8080 },
      { what: 'outside→host:8081', from: 'outside', to: 'host', port: 8081 },
      { what: 'outside→host:22 (failsafe)', from: 'outside', to: 'host', port: 22 },
      { what: 'host→outside:9090', from: 'host', to: 'outside', port: 9090 },
    ];
    // eth0 holds 172.31.0.2: the endpoint governs eth0 (§3.8), as if it named it.
    await check({ 'outside→host:8080': false, 'outside→host:8081': true, 'outside→host:22 (failsafe)': true, 'host→outside:9090': false }, byIp);
    const eth0Element = async (): Promise<boolean> =>
      (await netnsExec(c.nodeNetns)(['nft', 'list', 'map', 'inet', 'tabby', 'hep-in'])).stdout.includes('"eth0"');
    const waitFor = async (want: boolean): Promise<void> => {
      for (let i = 0; i < 100 && (await eth0Element()) !== want; i++) await sleep(100);
      expect(await eth0Element()).toBe(want);
    };
    expect(await eth0Element()).toBe(true);
    // Expected IPs no interface holds: the endpoint governs nothing (Felix leaves it unresolved), nothing is policed.
    // The engine does not know the node's interfaces, so from here on the kernel alone is checked.
    const stray = '172.31.250.250';
    await put(hep('by-ip', { expectedIPs: [stray] }));
    await waitFor(false);
    expect((await c.connect('outside', 'tcp', HOST, 8080, { timeoutMs: 700 })).ok).toBe(true);
    // The address appears on eth0: the agent sees it (it polls the node's interfaces) and the endpoint takes eth0.
    const addr = await netnsExec(c.nodeNetns)(['ip', 'addr', 'add', `${stray}/32`, 'dev', 'eth0']);
    expect(addr.code, addr.stderr).toBe(0);
    try {
      await waitFor(true);
      expect((await c.connect('outside', 'tcp', HOST, 8080, { timeoutMs: 700 })).ok).toBe(false);
      expect((await c.connect('outside', 'tcp', HOST, 8081, { timeoutMs: 700 })).ok).toBe(true);
    } finally {
      await netnsExec(c.nodeNetns)(['ip', 'addr', 'del', `${stray}/32`, 'dev', 'eth0']);
    }
    await waitFor(false);
    expect((await c.connect('outside', 'tcp', HOST, 8080, { timeoutMs: 700 })).ok).toBe(true);
    await remove('HostEndpoint', 'by-ip');
    await remove('GlobalNetworkPolicy', 'by-ip-8081');
    hostRef = undefined;
  }, 60_000);
});
