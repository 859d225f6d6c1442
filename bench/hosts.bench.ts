// Host-endpoint benchmarks (root only; issue 17 §5), each a ratio against a baseline measured in the same run. Four
// nodes made with `Workloads.createNode` (what `tabby node create` runs), each with its uplink eth0 on the shared
// outside network (172.31.0.0/16), each enforced by an in-process Agent reading one file datastore:
//   fwd    eth0 HostEndpoint, 500 applyOnForward GlobalNetworkPolicies selecting it, a workload behind it
//   host   eth0 HostEndpoint, 500 host (not applyOnForward) GlobalNetworkPolicies selecting it
//   one    eth0 HostEndpoint, one applyOnForward policy allowing the traffic under test (a reference: what the
//          host endpoint's dispatch costs without the walk through 500 policies), a workload behind it
//   bare   no HostEndpoint (Tabby's table with its workload chains, conntrack on), a workload behind it
// The 500 policies are distinct (ports, CIDRs, protocols, a few ICMP and port-range rules, none matching the
// traffic under test) and the traffic under test is allowed by the last rule of the last policy, so a packet of a
// NEW connection walks every policy; an established one is accepted by the host endpoint chain's first rule
// (`ct state established,related accept`). The rows:
//   iperf3 TCP outside → workload, forwarded through fwd vs bare (paired rounds, median ratio)   target ≥ 0.95
//     (established traffic: after the handshake every packet takes the conntrack accept)
//   connections/s outside → workload, forwarded through fwd vs bare (each SYN walks the 500 policies)
//   connections/s outside → a listener on the host of host vs bare (the same, in input)
//   and each of those against one (the host endpoint with one policy) as a reference.
// Sizes: TABBY_BENCH_HOST_POLICIES (500); iperf3: TABBY_BENCH_IPERF_ROUNDS (11) paired rounds of
// TABBY_BENCH_IPERF_SECONDS (3); connections: TABBY_BENCH_CONN_ROUNDS (21) rounds of TABBY_BENCH_CONNECTIONS (500)
// connections, TABBY_BENCH_CONN_CONCURRENCY (4) at a time. Short rounds, many of them: on a shared machine the
// load drifts within seconds, and the two halves of a pair should see the same load.
// Run: npm run bench -- hosts   (root; under `flock /tmp/tabby-netns.lock` on a shared machine)

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import type { GlobalNetworkPolicy, HostEndpoint, IPPool, Rule } from '../src/api/index.js';
import { FileStore } from '../src/datastore/index.js';
import {
  Agent, getNode, listNamespaces, namespaceSupport, netnsExec, netnsPath, NftTables, outsideNetns, sweepNamespaces, Workloads,
} from '../src/dataplane/index.js';

const POLICIES = Number(process.env.TABBY_BENCH_HOST_POLICIES ?? 500);
const IPERF_ROUNDS = Number(process.env.TABBY_BENCH_IPERF_ROUNDS ?? 11);
const IPERF_SECONDS = Number(process.env.TABBY_BENCH_IPERF_SECONDS ?? 3);
const CONN_ROUNDS = Number(process.env.TABBY_BENCH_CONN_ROUNDS ?? 21);
const CONNECTIONS = Number(process.env.TABBY_BENCH_CONNECTIONS ?? 500);
const CONCURRENCY = Number(process.env.TABBY_BENCH_CONN_CONCURRENCY ?? 4);
const IPERF_PORT = 5201;
const LISTEN_PORT = 8080;
/** Not allowed by any policy: the check that the policies are in force before anything is measured. */
const CLOSED_PORT = 8081;
const CHURN = join(dirname(fileURLToPath(import.meta.url)), 'tcp-churn.mjs');

const reason = await namespaceSupport();
if (reason) {
  process.stdout.write(`hosts bench skipped: ${reason}\n`);
  process.exit(0);
}

const log = (line: string): void => { process.stderr.write(`agent: ${line}\n`); };
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const spread = (xs: number[], f: (x: number) => string): string => `${f(Math.min(...xs))}–${f(Math.max(...xs))}`;
const ratio = (x: number): string => x.toFixed(3);
const gbit = (bps: number): string => `${(bps / 1e9).toFixed(2)} Gbit/s`;
const perSec = (x: number): string => `${Math.round(x).toLocaleString('en')} /s`;

// ---------------------------------------------------------------------------------------------------------------
// The policies.

const OUTSIDE_NET = '172.31.0.0/16';

/**
 * Policy i of 500: four rules, none matching traffic from the outside network to the ports under test (their
 * sources are 10.200.0.0/13 and 192.168.0.0/16 CIDRs, or their ports are elsewhere), varied as a real host's list
 * is: admin ports from management subnets, UDP services, port ranges, ICMP, a deny of a known-bad range.
 */
function filler(i: number, selector: string, applyOnForward: boolean): GlobalNetworkPolicy {
  const mgmt = `10.${200 + (i >> 8)}.${i & 255}.0/24`;
  const ingress: Rule[] = [
    { action: 'Allow', protocol: 'TCP', source: { nets: [mgmt] }, destination: { ports: [10000 + i] } },
    { action: 'Deny', protocol: 'TCP', source: { nets: [`192.168.${i & 255}.0/24`] } },
    i % 4 === 0
      ? { action: 'Allow', protocol: 'ICMP', icmp: { type: 8 }, source: { nets: [mgmt] } }
      : { action: 'Allow', protocol: 'UDP', destination: { ports: [20000 + i, `${30000 + 4 * i}:${30003 + 4 * i}`] } },
    { action: 'Allow', protocol: 'TCP', source: { nets: [OUTSIDE_NET] }, destination: { ports: [`${40000 + 10 * i}:${40009 + 10 * i}`] } },
  ];
  return {
    apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: `${selector.split("'")[1]}-${i}` },
    spec: { order: 100 + i, selector, applyOnForward, types: ['Ingress'], ingress },
  };
}

/** The last policy: its last ingress rule allows the traffic under test; hosts also need egress. */
function lateAllow(name: string, order: number, selector: string, applyOnForward: boolean): GlobalNetworkPolicy {
  return {
    apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name },
    spec: {
      order, selector, applyOnForward, types: ['Ingress', 'Egress'],
      ingress: [
        { action: 'Deny', protocol: 'TCP', source: { nets: ['10.199.0.0/16'] } },
        { action: 'Allow', protocol: 'TCP', source: { nets: [OUTSIDE_NET] }, destination: { ports: [IPERF_PORT, LISTEN_PORT] } },
      ],
      egress: [{ action: 'Allow' }],
    },
  };
}

const hep = (node: string, role: string, ip: string): HostEndpoint => ({
  apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: `${node}-eth0`, labels: { role } },
  spec: { node, interfaceName: 'eth0', expectedIPs: [ip] },
} as HostEndpoint);

// ---------------------------------------------------------------------------------------------------------------
// Set-up. Everything lives under one prefix and goes on exit, on an error, or on SIGINT/SIGTERM.

const prefix = `tbhb${process.pid}-`;
// What an earlier run left when it was SIGKILLed (its process gone): the same sweep, by its prefix.
for (const pid of new Set(listNamespaces('tbhb').map((n) => Number(/^tbhb(\d+)-/.exec(n)?.[1])))) {
  if (!Number.isInteger(pid) || pid === process.pid) continue;
  try {
    process.kill(pid, 0);
  } catch {
    await sweepNamespaces(`tbhb${pid}-`);
  }
}
const dir = await mkdtemp(join(tmpdir(), 'tabby-hosts-bench-'));
const children = new Set<ChildProcess>();
const agents: Agent[] = [];
let store: FileStore | undefined;
let cleaning: Promise<void> | undefined;
/** Once, however many callers (the signal handler and the main flow's finally may both be waiting on it). */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all(agents.map((a) => a.stop().catch(() => undefined)));
    await store?.close().catch(() => undefined);
    await sweepNamespaces(prefix).catch((e: unknown) => process.stderr.write(`cleanup: ${String(e)}\n`));
    await rm(dir, { recursive: true, force: true });
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => { void cleanup().finally(() => process.exit(130)); });
}

/** A long-running process in namespace `netns`, killed at cleanup. */
function spawnIn(netns: string, argv: string[], stdio: 'pipe' | 'ignore' = 'ignore'): ChildProcess {
  const child = spawn('nsenter', [`--net=${netnsPath(netns)}`, '--', ...argv], { stdio: stdio === 'pipe' ? ['pipe', 'pipe', 'inherit'] : 'ignore' });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function mustRun(netns: string, argv: string[]): Promise<string> {
  const res = await netnsExec(netns)(argv);
  if (res.code !== 0) throw new Error(`${argv.join(' ')} in ${netns}: ${res.stderr || res.stdout}`);
  return res.stdout;
}

/** A churn server (tcp-churn.mjs serve) in `netns`, resolved once it listens. */
async function serve(netns: string, port: number): Promise<void> {
  const child = spawnIn(netns, [process.execPath, CHURN, 'serve', String(port)], 'pipe');
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`churn server in ${netns} exited with ${code}`)));
  });
  if (line !== 'listening') throw new Error(`churn server in ${netns}: ${line}`);
}

interface Client { ask<T>(command: string): Promise<T> }
/** The churn client (tcp-churn.mjs client) in `netns`: one command, one JSON answer. */
function client(netns: string): Client {
  const child = spawnIn(netns, [process.execPath, CHURN, 'client'], 'pipe');
  const answers: Array<(line: string) => void> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => answers.shift()?.(line));
  return {
    ask: <T>(command: string) => new Promise<T>((resolve) => {
      answers.push((line) => resolve(JSON.parse(line) as T));
      child.stdin!.write(command + '\n');
    }),
  };
}

const rows: Array<[string, string, string, string, string]> = [];
let failed = false;
try {
  process.stderr.write(`machine: ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
  // The agents idle through the measurements; a slow poll keeps their share of the CPU small.
  store = await FileStore.open({ dir, pollIntervalMs: 500 });
  const workloads = new Workloads({ store, prefix });
  const nodes = ['fwd', 'host', 'one', 'bare'] as const;
  const uplinkIp: Record<string, string> = {};
  for (const node of nodes) {
    const made = await workloads.createNode(node);
    if (!made.ok) throw new Error(made.issues[0]!.message);
    const view = await getNode(workloads.naming, node);
    if (!view.ok || !view.value.uplink) throw new Error(`node ${node} has no uplink`);
    uplinkIp[node] = view.value.uplink.addresses.find((a) => !a.includes(':'))!.split('/')[0]!;
  }
  const outside = outsideNetns(workloads.naming);
  // Many short connections: the client's whole port range, and its TIME_WAIT sockets reused.
  await mustRun(outside, ['sysctl', '-q', '-w', 'net.ipv4.ip_local_port_range=1024 65000', 'net.ipv4.tcp_tw_reuse=1']);

  await store.apply({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'bench' }, spec: { cidr: '10.65.0.0/16' } } as IPPool);
  const podIp: Record<string, string> = { fwd: '10.65.1.2', one: '10.65.3.2', bare: '10.65.4.2' };
  const podNetns: Record<string, string> = {};
  for (const [node, ip] of Object.entries(podIp)) {
    const w = await workloads.create({ namespace: 'bench', name: `web-${node}`, node, ips: [ip], labels: { app: 'web' } });
    if (!w.ok) throw new Error(w.issues[0]!.message);
    podNetns[node] = (await workloads.get('bench', `web-${node}`))!.netns;
    // The outside network routes each pod via its node, as a LAN router (or BGP) would.
    await mustRun(outside, ['ip', 'route', 'add', `${ip}/32`, 'via', uplinkIp[node]!]);
  }
  await store.apply(hep('fwd', 'fwd', uplinkIp.fwd!));
  await store.apply(hep('host', 'host', uplinkIp.host!));
  await store.apply(hep('one', 'one', uplinkIp.one!));
  for (let i = 0; i < POLICIES - 1; i++) {
    await store.apply(filler(i, "role == 'fwd'", true));
    await store.apply(filler(i, "role == 'host'", false));
  }
  await store.apply(lateAllow(`fwd-${POLICIES - 1}`, 100 + POLICIES - 1, "role == 'fwd'", true));
  await store.apply(lateAllow(`host-${POLICIES - 1}`, 100 + POLICIES - 1, "role == 'host'", false));
  await store.apply(lateAllow('one-0', 100, "role == 'one'", true));
  const revision = await store.revision();
  for (const node of nodes) {
    const agent = new Agent({ node, store, nft: new NftTables({ family: 'inet', table: 'tabby', exec: netnsExec(workloads.nodeNetns(node)) }), log });
    agents.push(agent);
    await agent.start();
    await agent.waitForRevision(revision, 120_000);
  }
  // Rules only (nft -a prints a handle on each rule and on each chain, set and map header).
  const ruleCount = async (node: string): Promise<number> =>
    (await mustRun(workloads.nodeNetns(node), ['nft', '-a', 'list', 'table', 'inet', 'tabby'])).split('\n')
      .filter((l) => /# handle \d+$/.test(l) && !/^\s*(table|chain|set|map|flowtable) /.test(l)).length;
  process.stderr.write(`set-up: ${POLICIES} applyOnForward + ${POLICIES} host policies enforced; rules in each node's table: ` +
    `${(await Promise.all(nodes.map(async (n) => `${n} ${await ruleCount(n)}`))).join(', ')}\n`);

  // Servers: a churn listener on each host and in each workload, iperf3 in each workload (one per round).
  for (const node of nodes) await serve(workloads.nodeNetns(node), LISTEN_PORT);
  for (const node of Object.keys(podIp)) await serve(podNetns[node]!, LISTEN_PORT);
  const out = client(outside);

  // The policies are in force: a port no policy allows is closed through fwd and on host, open through bare.
  const probe = async (ip: string, port: number): Promise<boolean> => (await out.ask<{ ok: boolean }>(`probe ${ip} ${port} 700`)).ok;
  for (const node of Object.keys(podIp)) await serve(podNetns[node]!, CLOSED_PORT);
  for (const node of nodes) await serve(workloads.nodeNetns(node), CLOSED_PORT);
  const checks: Array<[string, boolean, boolean]> = [
    ['outside → pod via fwd, allowed port', await probe(podIp.fwd!, LISTEN_PORT), true],
    ['outside → pod via fwd, other port', await probe(podIp.fwd!, CLOSED_PORT), false],
    ['outside → pod via bare, other port', await probe(podIp.bare!, CLOSED_PORT), true],
    ['outside → host, allowed port', await probe(uplinkIp.host!, LISTEN_PORT), true],
    ['outside → host, other port', await probe(uplinkIp.host!, CLOSED_PORT), false],
    ['outside → bare host, other port', await probe(uplinkIp.bare!, CLOSED_PORT), true],
  ];
  const wrong = checks.filter(([, got, want]) => got !== want);
  if (wrong.length > 0) throw new Error(`policies not in force as expected: ${wrong.map(([what, got]) => `${what}: ${got ? 'open' : 'closed'}`).join('; ')}`);

  // -------------------------------------------------------------------------------------------------------------
  // 1. Forwarded throughput: iperf3 from outside to the workload behind fwd / one / bare. Rounds alternate the
  // nodes (and which goes first), so drift in the machine's load hits all alike; the ratio is the median of the
  // per-round ratios. Client and server are pinned apart with two or more CPUs; the first second is left out.
  const pin = availableParallelism() >= 2 ? ['-A', '0,1'] : [];
  const iperf = async (node: string): Promise<number> => {
    const server = spawnIn(podNetns[node]!, ['iperf3', '-s', '-1']);
    const exited = new Promise((r) => server.once('exit', r));
    await new Promise((r) => setTimeout(r, 300));
    const res = await netnsExec(outside)(['iperf3', '-c', podIp[node]!, '-t', String(IPERF_SECONDS), '-O', '1', ...pin, '-J']);
    await exited;
    if (res.code !== 0) throw new Error(`iperf3 via ${node} failed: ${res.stderr || res.stdout.slice(0, 300)}`);
    return (JSON.parse(res.stdout) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received.bits_per_second;
  };
  const paired = async (rounds: number, states: string[], run: (state: string) => Promise<number>): Promise<Record<string, number[]>> => {
    const got: Record<string, number[]> = Object.fromEntries(states.map((s) => [s, []]));
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < states.length; k++) {
        const s = states[(round + k) % states.length]!;
        got[s]!.push(await run(s));
      }
    }
    return got;
  };
  const against = (a: number[], b: number[]): number[] => a.map((x, i) => x / b[i]!);
  if (IPERF_ROUNDS > 0) {
    const bps = await paired(IPERF_ROUNDS, ['fwd', 'one', 'bare'], iperf);
    const vsBare = against(bps.fwd!, bps.bare!);
    const vsOne = against(bps.fwd!, bps.one!);
    process.stderr.write(`iperf3 rounds (fwd / one / bare): ${bps.fwd!.map((x, i) => `${gbit(x)} / ${gbit(bps.one![i]!)} / ${gbit(bps.bare![i]!)}`).join(', ')}\n` +
      `iperf3 ratio fwd/bare per round ${spread(vsBare, ratio)}, fwd/one ${spread(vsOne, ratio)}\n`);
    const target = median(vsBare) >= 0.95 ? '(≥ 0.95 ✓)' : '(≥ 0.95 ✗)';
    rows.push(['iperf3 TCP outside→pod, forwarded', `${POLICIES} applyOnForward policies on eth0 vs no host endpoint (median of ${IPERF_ROUNDS} paired rounds)`,
      gbit(median(bps.fwd!)), gbit(median(bps.bare!)), `${ratio(median(vsBare))} ${target}`]);
    rows.push(['  reference', 'the same vs a host endpoint with one applyOnForward policy',
      gbit(median(bps.fwd!)), gbit(median(bps.one!)), ratio(median(vsOne))]);
  }

  // -------------------------------------------------------------------------------------------------------------
  // 2. Connection rate: CONNECTIONS short connections per round from outside, to the workload behind each node
  // (forwarded) and to the listener on each host (input). Each connection's SYN is the one packet that walks the
  // policies; the SYN-ACK and everything after are established.
  const rate = async (ip: string): Promise<number> => {
    const r = await out.ask<{ connections: number; ms: number; errors: number }>(`churn ${ip} ${LISTEN_PORT} ${CONNECTIONS} ${CONCURRENCY}`);
    if (r.errors > 0) throw new Error(`${r.errors} of ${r.connections} connections to ${ip}:${LISTEN_PORT} failed`);
    return r.connections / (r.ms / 1000);
  };
  if (CONN_ROUNDS > 0) {
    /** The packets counted by the late allow rule (the last ingress rule of the last policy) on `node`. */
    const lateHits = async (node: string, policy: string): Promise<number> => {
      const agent = agents[nodes.indexOf(node as typeof nodes[number])]!;
      const ids = agent.ruleMeanings().filter((m) => m.what === 'policy-rule' && m.policy?.name === policy && m.direction === 'ingress' && m.index === 1).map((m) => m.id);
      if (ids.length === 0) throw new Error(`no rule ID for ${policy}'s ingress rule 1 on ${node}`);
      const listed = await mustRun(workloads.nodeNetns(node), ['nft', 'list', 'table', 'inet', 'tabby']);
      return listed.split('\n').filter((l) => ids.some((id) => l.includes(`comment "${id} `)))
        .reduce((n, l) => n + Number(/packets (\d+)/.exec(l)?.[1] ?? 0), 0);
    };
    const lastFwd = `fwd-${POLICIES - 1}`;
    const lastHost = `host-${POLICIES - 1}`;
    const hitsBefore = { fwd: await lateHits('fwd', lastFwd), host: await lateHits('host', lastHost) };
    const fwdRate = await paired(CONN_ROUNDS, ['fwd', 'one', 'bare'], (node) => rate(podIp[node]!));
    const hostRate = await paired(CONN_ROUNDS, ['host', 'one', 'bare'], (node) => rate(uplinkIp[node]!));
    const made = CONN_ROUNDS * CONNECTIONS;
    const hits = { fwd: (await lateHits('fwd', lastFwd)) - hitsBefore.fwd, host: (await lateHits('host', lastHost)) - hitsBefore.host };
    process.stderr.write(`late allow rule (the last rule of the last of ${POLICIES} policies) counted: fwd ${hits.fwd} packets for ${made} forwarded connections, ` +
      `host ${hits.host} packets for ${made} host connections\n`);
    for (const [what, byNode, policed, kind] of [
      ['connections/s outside→pod, forwarded', fwdRate, 'fwd', 'applyOnForward'],
      ['connections/s outside→host:8080', hostRate, 'host', 'host'],
    ] as const) {
      const vsBare = against(byNode[policed]!, byNode.bare!);
      const vsOne = against(byNode[policed]!, byNode.one!);
      const extraUs = 1e6 / median(byNode[policed]!) - 1e6 / median(byNode.bare!);
      process.stderr.write(`${what} rounds (${policed} / one / bare): ${byNode[policed]!.map((x, i) => `${perSec(x)} / ${perSec(byNode.one![i]!)} / ${perSec(byNode.bare![i]!)}`).join(', ')}\n` +
        `  ratio ${policed}/bare per round ${spread(vsBare, ratio)}, ${policed}/one ${spread(vsOne, ratio)}; ` +
        `each connection costs the run about ${extraUs.toFixed(0)} µs more (1/rate, ${CONCURRENCY} in flight)\n`);
      rows.push([what, `${POLICIES} ${kind} policies on eth0 vs no host endpoint (median of ${CONN_ROUNDS} paired rounds of ${CONNECTIONS})`,
        perSec(median(byNode[policed]!)), perSec(median(byNode.bare!)), ratio(median(vsBare))]);
      rows.push(['  reference', 'the same vs a host endpoint with one policy',
        perSec(median(byNode[policed]!)), perSec(median(byNode.one!)), ratio(median(vsOne))]);
    }
  }
  process.stderr.write(`load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
} catch (e) {
  failed = true;
  process.stderr.write(`hosts bench failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
} finally {
  await cleanup();
}

const header: [string, string, string, string, string] = ['case', 'what', 'tabby', 'baseline', 'ratio'];
const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => r[i]!.length)));
for (const r of [header, ...rows]) process.stdout.write(r.map((v, i) => v.padEnd(widths[i]!)).join('  ') + '\n');
process.exit(failed ? 1 : 0);
