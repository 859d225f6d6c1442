// Dataplane benchmarks (root only), each a ratio against a baseline measured in the same run:
//   full sync    Felix's largest nft bench spec (2,000 IP sets × 100 members + 2,000 policy chains × 10 rules):
//                the agent end to end (datastore listing → engine → renderer → one nft transaction) vs plain
//                `nft -f` of the very script the agent produced                                 target ≤ 1.2×
//                and vs the floor: `nft -f` of a minimal reference script for the same spec (one named interval
//                set per selector, one rule per Calico rule plus one jump per policy, no comments or counters)
//                                                                                               target ≤ 1.3×
//   one change   one policy edited in the datastore → the agent reports it enforced, vs an `nft -f` that
//                flushes and rewrites that one 10-rule chain                                    target ≤ 2×
//   throughput   iperf3 TCP between two workloads on the node with those 2,000 policies in force vs the same pair
//                on an identical node with no ruleset at all (paired rounds)                    target ≥ 0.95
//                and the same with flowtable offload on (`--flowtable-offload`; a third node enforcing the same
//                policies), when the kernel has flowtables (CONFIG_NF_FLOW_TABLE)
// Sizes: TABBY_BENCH_SETS (default 2000), TABBY_BENCH_POLICIES (2000); full sync: TABBY_BENCH_FULL_TRIALS (5);
// iperf3: TABBY_BENCH_IPERF_ROUNDS (7) paired rounds of TABBY_BENCH_IPERF_SECONDS (5). Run: npx vite-node
// bench/dataplane.bench.ts

import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';

import type { GlobalNetworkPolicy, GlobalNetworkSet, IPPool } from '../src/api/index.js';
import {
  Agent, flowtableSupport, linkNames, namespaceSupport, netnsExec, NftTables, Renderer, type Exec,
} from '../src/dataplane/index.js';
import { TestCluster } from '../test/dataplane/cluster.js';

const SETS = Number(process.env.TABBY_BENCH_SETS ?? 2000);
const POLICIES = Number(process.env.TABBY_BENCH_POLICIES ?? 2000);
const MEMBERS = 100;
const FULL_TRIALS = Number(process.env.TABBY_BENCH_FULL_TRIALS ?? 5);
const IPERF_ROUNDS = Number(process.env.TABBY_BENCH_IPERF_ROUNDS ?? 7);
const IPERF_SECONDS = Number(process.env.TABBY_BENCH_IPERF_SECONDS ?? 5);
const RULES = 10;

const reason = await namespaceSupport();
if (reason) {
  process.stdout.write(`dataplane bench skipped: ${reason}\n`);
  process.exit(0);
}

const log = (line: string): void => { process.stderr.write(`agent: ${line}\n`); };
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const now = (): number => performance.now();
const fmt = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);

function networkSet(i: number): GlobalNetworkSet {
  const nets: string[] = [];
  for (let j = 0; j < MEMBERS; j++) nets.push(`10.${100 + Math.floor(i / 256)}.${i % 256}.${j}/32`);
  return { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkSet', metadata: { name: `set-${i}`, labels: { set: `s${i}` } }, spec: { nets } };
}

/**
 * The floor for the full sync: what any nftables dataplane must load for this spec, and nothing more. One interval
 * set per network set, one chain per policy with one rule per Calico rule, and a forward base chain jumping to
 * each policy chain (Tabby's tier chain does the same). Its own table, so it never meets Tabby's.
 */
function referenceScript(): string {
  const t = 'inet tabby-ref';
  const lines = [`add table ${t}`];
  for (let i = 0; i < SETS; i++) {
    lines.push(`add set ${t} s${i} { type ipv4_addr ; flags interval ; }`);
    const members: string[] = [];
    for (let j = 0; j < MEMBERS; j++) members.push(`10.${100 + Math.floor(i / 256)}.${i % 256}.${j}`);
    lines.push(`add element ${t} s${i} { ${members.join(', ')} }`);
  }
  lines.push(`add chain ${t} dispatch { type filter hook forward priority filter ; policy accept ; }`);
  for (let i = 0; i < POLICIES; i++) {
    lines.push(`add chain ${t} p${i}`);
    for (let j = 0; j < RULES; j++) lines.push(`add rule ${t} p${i} meta l4proto tcp ip saddr @s${(i * RULES + j) % SETS} th dport ${8000 + j} accept`);
    lines.push(`add rule ${t} dispatch jump p${i}`);
  }
  return lines.join('\n') + '\n';
}

function policy(i: number, portBase = 8000): GlobalNetworkPolicy {
  return {
    apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: `bench-${i}` },
    spec: {
      order: i, selector: "pod == 'b'", types: ['Ingress'],
      ingress: Array.from({ length: RULES }, (_, j) => ({
        action: 'Allow' as const, protocol: 'TCP', source: { selector: `set == 's${(i * RULES + j) % SETS}'` },
        destination: { ports: [portBase + j] },
      })),
    },
  };
}

const c = await TestCluster.create(`tbbench${process.pid}-`);
let bare: TestCluster | undefined;
const rows: Array<[string, string, string, string, string]> = [];
try {
  // ---------------------------------------------------------------------------------------------------------------
  // Set-up (not measured): two workloads, the policies and sets, and iperf3 allowed last.
  await c.store.apply({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'v4' }, spec: { cidr: '10.1.0.0/16' } } as IPPool);
  for (const name of ['a', 'b']) {
    const res = await c.workloads.create({ namespace: 'bench', name, node: c.node, labels: { pod: name } });
    if (!res.ok) throw new Error(res.issues[0]!.message);
  }
  const t0 = now();
  for (let i = 0; i < SETS; i++) await c.store.apply(networkSet(i));
  for (let i = 0; i < POLICIES; i++) await c.store.apply(policy(i));
  await c.store.apply({
    apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'iperf' },
    spec: { order: 1e9, selector: "pod == 'b'", ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [5201] } }] },
  } as GlobalNetworkPolicy);
  process.stderr.write(`set-up: ${SETS} sets, ${POLICIES} policies written in ${fmt(now() - t0)}\n`);

  const base = netnsExec(c.nodeNetns);
  const scripts: string[] = [];
  // Records each script the agent runs.
  const recording: Exec = (argv, input) => {
    if (argv.includes('-f') && input !== undefined) scripts.push(input);
    return base(argv, input);
  };
  const nft = new NftTables({ family: 'inet', table: 'tabby', exec: recording });
  const skeleton = async (): Promise<void> => {
    const r = new Renderer({ node: c.node });
    r.settle();
    await new NftTables({ family: 'inet', table: 'tabby', exec: base }).run(r.ruleset.plan({ full: true }).tx);
    // The kernel frees the replaced 200,000-element table after the commit, in a worker of its own; measuring
    // during that would charge it to whichever side runs next.
    await new Promise((r) => setTimeout(r, 1500));
  };
  const nftFile = async (script: string): Promise<number> => {
    const t = now();
    const res = await base(['nft', '-f', '-'], script);
    if (res.code !== 0) throw new Error(`nft -f failed: ${res.stderr}`);
    return now() - t;
  };

  // ---------------------------------------------------------------------------------------------------------------
  // 1. Full sync.
  const tabbyFull: number[] = [];
  const plainFull: number[] = [];
  const refFull: number[] = [];
  const reference = referenceScript();
  let fullScript = '';
  for (let trial = 0; trial < FULL_TRIALS; trial++) {
    await skeleton();
    scripts.length = 0;
    const agent = new Agent({ node: c.node, store: c.store, nft, log });
    const t = now();
    const watchdog = setTimeout(() => log(`still starting: ${JSON.stringify(agent.status())}`), 5000);
    await agent.start();
    tabbyFull.push(now() - t);
    await agent.stop();
    clearTimeout(watchdog);
    fullScript = scripts[0]!;
    await skeleton();
    plainFull.push(await nftFile(fullScript));
    await skeleton();
    refFull.push(await nftFile(reference));
    await base(['nft', 'delete', 'table', 'inet', 'tabby-ref']);
    await new Promise((r) => setTimeout(r, 1500));
    process.stderr.write(`full sync trial ${trial + 1}: tabby ${fmt(tabbyFull[trial]!)}, plain nft -f ${fmt(plainFull[trial]!)}, ` +
      `reference nft -f ${fmt(refFull[trial]!)}\n`);
  }
  const lines = fullScript.split('\n').length;
  const probe = new Agent({ node: c.node, store: c.store, nft, log });
  await skeleton();
  const tList = now();
  await probe.start();
  const phases = probe.status().lastSyncPhases!;
  await probe.stop();
  process.stderr.write(`full sync breakdown: total ${fmt(now() - tList)} = datastore listing + engine apply ` +
    `${fmt(now() - tList - phases.engineMs - phases.renderMs - phases.nftMs)}, engine flush ${fmt(phases.engineMs)}, ` +
    `render+plan ${fmt(phases.renderMs)}, nft ${fmt(phases.nftMs)}\n`);
  const fullRatios = tabbyFull.map((t, i) => t / plainFull[i]!);
  process.stderr.write(`full sync ratio per trial: ${fullRatios.map((x) => x.toFixed(2)).join(', ')} ` +
    `(median ${median(fullRatios).toFixed(2)}; the table shows the ratio of the medians)\n`);
  rows.push(['full sync', `${SETS}×${MEMBERS} sets + ${POLICIES}×${RULES} rules (${lines} script lines)`,
    fmt(median(tabbyFull)), fmt(median(plainFull)), `${(median(tabbyFull) / median(plainFull)).toFixed(2)}× (≤ 1.2)`]);
  const refLines = reference.split('\n').length;
  const setCount = (fullScript.match(/^add set /gm) ?? []).length;
  const ruleCount = (fullScript.match(/^add rule /gm) ?? []).length;
  process.stderr.write(`full sync script: ${setCount} sets, ${ruleCount} rules; reference: ${SETS} sets, ` +
    `${POLICIES * (RULES + 1)} rules (${refLines} lines)\n`);
  rows.push(['  vs the floor', `the same vs nft -f of a minimal reference script (${refLines} lines)`,
    fmt(median(tabbyFull)), fmt(median(refFull)), `${(median(tabbyFull) / median(refFull)).toFixed(2)}× (≤ 1.3)`]);

  // ---------------------------------------------------------------------------------------------------------------
  // 2. One policy change → enforced, with the agent running on the full table.
  const agent = new Agent({ node: c.node, store: c.store, nft, log });
  await agent.start();
  const tabbyChange: number[] = [];
  const plainChange: number[] = [];
  for (let trial = 0; trial < 7; trial++) {
    const k = (17 + trial) % POLICIES;
    scripts.length = 0;
    const t = now();
    const written = await c.store.apply(policy(k, 9000 + trial * 10));
    await agent.waitForRevision(Number(written.resource.metadata.resourceVersion));
    tabbyChange.push(now() - t);
    const change = scripts.join('');
    // The baseline: the same one-chain flush-and-rewrite, without anything around it.
    const rewrite = change.split('\n').filter((l) => /^(flush chain|add rule) /.test(l)).join('\n') + '\n';
    if (!/^flush chain /.test(rewrite)) throw new Error(`expected a one-chain rewrite, the agent ran:\n${change}`);
    plainChange.push(await nftFile(rewrite));
  }
  rows.push(['one policy change', 'edit one policy → enforced vs flush+rewrite one 10-rule chain',
    fmt(median(tabbyChange)), fmt(median(plainChange)), `${(median(tabbyChange) / median(plainChange)).toFixed(2)}× (≤ 2)`]);

  // ---------------------------------------------------------------------------------------------------------------
  // 3. Throughput (skipped with TABBY_BENCH_IPERF_ROUNDS=0).
  if (IPERF_ROUNDS > 0) {
    // The same pair of workloads on two identical nodes, one enforcing the 2,000 policies (this node, its table
    // synced once), one with no table at all. Rounds alternate between them (and which goes first), so drift in
    // the machine's load hits both alike; the ratio is the median of the per-round ratios.
    const enforcing = new Agent({ node: c.node, store: c.store, nft, log });
    await agent.stop();
    await enforcing.start();
    bare = await TestCluster.create(`tbbench${process.pid}b-`);
    await bare.store.apply({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'v4' }, spec: { cidr: '10.1.0.0/16' } } as IPPool);
    for (const name of ['a', 'b']) {
      const res = await bare.workloads.create({ namespace: 'bench', name, node: bare.node, labels: { pod: name } });
      if (!res.ok) throw new Error(res.issues[0]!.message);
    }
    await netnsExec(bare.nodeNetns)(['nft', 'delete', 'table', 'inet', 'tabby']);
    const pairOf = async (cl: TestCluster): Promise<{ a: string; b: string; dst: string }> => {
      const b = (await cl.workloads.get('bench', 'b'))!;
      return { a: (await cl.workloads.get('bench', 'a'))!.netns, b: b.netns, dst: b.addresses.find((x) => !x.includes(':'))!.split('/')[0]! };
    };
    // With two or more CPUs the client and server are pinned apart (iperf3 -A), so the scheduler's choices do not
    // add to the spread; the first second (slow start) is left out (-O 1).
    const pin = availableParallelism() >= 2 ? ['-A', '0,1'] : [];
    const iperf = async (pair: { a: string; b: string; dst: string }): Promise<number> => {
      const server = spawn('nsenter', [`--net=/run/netns/${pair.b}`, 'iperf3', '-s', '-1'], { stdio: 'ignore' });
      const exited = new Promise((r) => server.once('exit', r));
      await new Promise((r) => setTimeout(r, 300));
      const res = await netnsExec(pair.a)(['iperf3', '-c', pair.dst, '-t', String(IPERF_SECONDS), '-O', '1', ...pin, '-J']);
      await exited;
      if (res.code !== 0) throw new Error(`iperf3 failed: ${res.stderr || res.stdout.slice(0, 300)}`);
      const out = JSON.parse(res.stdout) as { end: { sum_received: { bits_per_second: number } } };
      return out.end.sum_received.bits_per_second;
    };
    const policed = await pairOf(c);
    const open = await pairOf(bare);
    const bareNft = netnsExec(bare.nodeNetns);
    // A reference, not the target: the bare node with conntrack switched on by a one-rule table, which tells how
    // much of the difference is conntrack's (every stateful firewall, Felix included, pays it) and how much Tabby's.
    const conntrackOnly = 'table inet tabby-ct {\n  chain forward {\n    type filter hook forward priority filter;\n' +
      '    ct state established,related accept\n  }\n}\n';
    const stateful = async (): Promise<number> => {
      const res = await bareNft(['nft', '-f', '-'], conntrackOnly);
      if (res.code !== 0) throw new Error(`nft: ${res.stderr}`);
      try {
        return await iperf(open);
      } finally {
        await bareNft(['nft', 'delete', 'table', 'inet', 'tabby-ct']);
      }
    };
    // Offload: a third node of the same cluster, its agent enforcing the same 2,000 policies with a flowtable.
    const noOffload = await flowtableSupport();
    let offloading: Agent | undefined;
    let offloaded: { a: string; b: string; dst: string } | undefined;
    if (!noOffload) {
      const node = 'offload';
      const made = await c.workloads.createNode(node);
      if (!made.ok) throw new Error(made.issues[0]!.message);
      for (const name of ['a', 'b']) {
        const res = await c.workloads.create({ namespace: 'bench-offload', name, node, labels: { pod: name } });
        if (!res.ok) throw new Error(res.issues[0]!.message);
      }
      const exec = netnsExec(c.workloads.nodeNetns(node));
      offloading = new Agent({
        node, store: c.store, nft: new NftTables({ family: 'inet', table: 'tabby', exec }), log,
        flowtableOffload: { interfaces: () => linkNames(exec) },
      });
      await offloading.start();
      const b = (await c.workloads.get('bench-offload', 'b'))!;
      offloaded = { a: (await c.workloads.get('bench-offload', 'a'))!.netns, b: b.netns, dst: b.addresses.find((x) => !x.includes(':'))!.split('/')[0]! };
    }
    const withPolicies: number[] = [];
    const without: number[] = [];
    const withConntrack: number[] = [];
    const withOffload: number[] = [];
    const runs: Array<() => Promise<void>> = [
      async () => { withPolicies.push(await iperf(policed)); },
      async () => { without.push(await iperf(open)); },
      async () => { withConntrack.push(await stateful()); },
      ...(offloaded ? [async () => { withOffload.push(await iperf(offloaded!)); }] : []),
    ];
    for (let round = 0; round < IPERF_ROUNDS; round++) {
      // Which state goes first rotates from round to round.
      for (let k = 0; k < runs.length; k++) await runs[(round + k) % runs.length]!();
    }
    await enforcing.stop();
    await offloading?.stop();
    const gbit = (bps: number): string => `${(bps / 1e9).toFixed(1)} Gbit/s`;
    const ratios = withPolicies.map((w, i) => w / without[i]!);
    const ctRatios = withPolicies.map((w, i) => w / withConntrack[i]!);
    const spread = (xs: number[], f: (x: number) => string): string => `${f(Math.min(...xs))}–${f(Math.max(...xs))}`;
    const ratio = (x: number): string => x.toFixed(3);
    process.stderr.write(`iperf3 rounds (tabby / no table / conntrack only): ` +
      `${withPolicies.map((w, i) => `${gbit(w)} / ${gbit(without[i]!)} / ${gbit(withConntrack[i]!)}`).join(', ')}\n` +
      `iperf3 spread: tabby ${spread(withPolicies, gbit)}, no table ${spread(without, gbit)}, conntrack only ` +
      `${spread(withConntrack, gbit)}; ratio vs no table ${spread(ratios, ratio)}, vs conntrack only ${spread(ctRatios, ratio)}\n`);
    rows.push(['iperf3 TCP a→b', `${POLICIES} policies on b vs no table (median of ${IPERF_ROUNDS} paired rounds)`,
      gbit(median(withPolicies)), gbit(median(without)), `${ratio(median(ratios))} (≥ 0.95)`]);
    rows.push(['  reference', `the same vs a conntrack-only table (Tabby's own cost)`,
      gbit(median(withPolicies)), gbit(median(withConntrack)), ratio(median(ctRatios))]);
    if (offloaded) {
      const offRatios = withOffload.map((w, i) => w / without[i]!);
      process.stderr.write(`iperf3 offload rounds: ${withOffload.map(gbit).join(', ')}; ratio vs no table ${spread(offRatios, ratio)}\n`);
      rows.push(['iperf3 TCP a→b, offload', `the same ${POLICIES} policies, flowtable offload on, vs no table`,
        gbit(median(withOffload)), gbit(median(without)), `${ratio(median(offRatios))} (≥ 0.95)`]);
    } else {
      process.stderr.write(`iperf3 offload skipped: ${noOffload}\n`);
      rows.push(['iperf3 TCP a→b, offload', `skipped: ${(noOffload ?? '').split(' (')[0]}`, '-', '-', '-']);
    }
  } else {
    await agent.stop();
  }
} finally {
  await c.close();
  await bare?.close();
}

const header: [string, string, string, string, string] = ['case', 'what', 'tabby', 'baseline', 'ratio'];
const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => r[i]!.length)));
for (const r of [header, ...rows]) process.stdout.write(r.map((v, i) => v.padEnd(widths[i]!)).join('  ') + '\n');
