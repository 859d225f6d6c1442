// Running calico-eval flows on real traffic, shared by the workload-only suite (conformance-calico-eval.test.ts)
// and the host-endpoint one (conformance-calico-eval-hosts.test.ts): which flows one probe can carry, the probes
// themselves (TCP/UDP connections from probe agents, raw packets counted at the destination), and the comparison
// with `expect` — a mismatch names the engine's verdict for the same datastore, the reference.

import { PolicyEngine, protocolNumber, type Flow } from '../../src/engine/index.js';
import { rawProbeGap } from '../../src/dataplane/probe/raw-packet.js';
import type { TestCluster } from './cluster.js';

export type Peer = string | { ip: string };
export interface CorpusFlow {
  from: Peer;
  to: Peer;
  protocol: string | number;
  port?: number;
  srcPort?: number;
  icmp?: { type?: number; code?: number };
  expect: 'Allow' | 'Deny';
}

export interface Runnable {
  flow: CorpusFlow;
  /** tcp/udp: a connection from the probe agent; raw: one packet counted at the destination. */
  kind: 'tcp' | 'udp' | 'raw';
  protocol: number;
  family: 4 | 6;
  src: string;
  dst: string;
  srcKey: string;
  dstKey: string;
}

export interface FlowTotals {
  flows: number;
  passed: number;
  raw: number;
  skipped: Map<string, number>;
}

export function newTotals(): FlowTotals {
  return { flows: 0, passed: 0, raw: 0, skipped: new Map() };
}

export function skipIn(totals: FlowTotals, reason: string): void {
  totals.skipped.set(reason, (totals.skipped.get(reason) ?? 0) + 1);
}

export function skippedText(totals: FlowTotals): string {
  return [...totals.skipped].map(([k, v]) => `${v} ${k}`).join(', ') || 'none';
}

export const family = (ip: string): 4 | 6 => (ip.includes(':') ? 6 : 4);

/**
 * A flow between two resolved ends (a probe key and its addresses), or why it cannot be carried: an unknown
 * protocol, no common family, a raw packet one probe cannot send (raw-packet.ts), raw flows without socat.
 */
export function runnableOf(
  flow: CorpusFlow, from: { key: string; addresses: readonly string[] }, to: { key: string; addresses: readonly string[] },
  rawSkip: string | undefined,
): Runnable | string {
  const num = protocolNumber(flow.protocol);
  if (num === undefined) return 'unknown protocol';
  const fam = ([4, 6] as const).find((f) => from.addresses.some((a) => family(a) === f) && to.addresses.some((a) => family(a) === f));
  if (!fam) return 'no common address family';
  const kind = num === 6 ? 'tcp' : num === 17 ? 'udp' : 'raw';
  if (kind === 'raw') {
    const gap = rawProbeGap({ family: fam, protocol: num, ...(flow.icmp ? { icmp: flow.icmp } : {}) });
    if (gap) return gap;
    if (rawSkip) return `${num === 1 || num === 58 ? 'ICMP' : 'raw IP protocol'} (socat missing)`;
  }
  return {
    flow, kind, protocol: num, family: fam,
    src: from.addresses.find((a) => family(a) === fam)!, dst: to.addresses.find((a) => family(a) === fam)!,
    srcKey: from.key, dstKey: to.key,
  };
}

export interface FlowResult {
  r: Runnable;
  ok: boolean;
  error?: string;
}

/**
 * Runs every flow once: listeners first, then the connections (those with a fixed source port one after another,
 * one 5-tuple at a time; the rest in parallel) alongside the raw packets. With `separateRawPairs`, raw flows of one
 * protocol between one pair of addresses go in successive batches `rawGapMs` apart: they share a conntrack entry
 * (a bare IP protocol is tracked by addresses alone), so without the gap (longer than the namespaces' conntrack
 * timeout for them) an allowed packet one way would make the next one back a "reply".
 */
export async function runFlows(
  cluster: TestCluster, runnable: readonly Runnable[], options: { separateRawPairs?: boolean; rawGapMs?: number } = {},
): Promise<FlowResult[]> {
  const sockets = runnable.filter((r): r is Runnable & { kind: 'tcp' | 'udp' } => r.kind !== 'raw');
  const raws = runnable.filter((r) => r.kind === 'raw');
  await Promise.all(sockets.map((r) => cluster.serve(r.dstKey, r.kind, r.flow.port ?? 0)));
  const results: FlowResult[] = [];
  const probe = async (r: (typeof sockets)[number]): Promise<void> => {
    const res = await cluster.connect(r.srcKey, r.kind, r.dst, r.flow.port ?? 0, {
      timeoutMs: 1000, srcAddress: r.src, ...(r.flow.srcPort !== undefined ? { srcPort: r.flow.srcPort } : {}),
    });
    results.push({ r, ok: res.ok, ...(res.error !== undefined ? { error: res.error } : {}) });
  };
  const batches: Runnable[][] = [];
  const pair = (x: Runnable): string => `${x.protocol}|${[x.src, x.dst].sort().join('|')}`;
  for (const r of raws) {
    let batch = options.separateRawPairs ? batches.find((b) => !b.some((x) => pair(x) === pair(r))) : batches[0];
    if (!batch) batches.push((batch = []));
    batch.push(r);
  }
  const rawRun = async (): Promise<void> => {
    for (const [n, batch] of batches.entries()) {
      if (n > 0) await new Promise((resolve) => setTimeout(resolve, options.rawGapMs ?? 1500));
      const arrived = await cluster.rawFlows(batch.map((r) => ({
        from: r.srcKey, to: r.dstKey,
        flow: { family: r.family, protocol: r.protocol, src: r.src, dst: r.dst, ...(r.flow.icmp ? { icmp: r.flow.icmp } : {}) },
      })));
      batch.forEach((r, i) => results.push({ r, ok: arrived[i]!, ...(arrived[i] ? {} : { error: 'not seen at the destination' }) }));
    }
  };
  await Promise.all([rawRun(), ...sockets.filter((r) => r.flow.srcPort === undefined).map(probe)]);
  for (const r of sockets.filter((x) => x.flow.srcPort !== undefined)) await probe(r);
  return results;
}

/** Counts the results into `totals`; each one that differs from `expect` becomes a line naming the engine's verdict. */
export async function mismatchesOf(cluster: TestCluster, results: readonly FlowResult[], totals: FlowTotals): Promise<string[]> {
  const mismatches: string[] = [];
  let engine: PolicyEngine | undefined;
  for (const { r, ok, error } of results) {
    totals.flows++;
    if (r.kind === 'raw') totals.raw++;
    if (ok === (r.flow.expect === 'Allow')) {
      totals.passed++;
      continue;
    }
    if (!engine) {
      engine = new PolicyEngine();
      engine.load((await cluster.store.list()).items);
    }
    const verdict = engine.evaluate(r.flow as unknown as Flow);
    const what = r.kind === 'raw' ? `protocol ${r.protocol}${r.flow.icmp ? ` icmp ${JSON.stringify(r.flow.icmp)}` : ''}` : `${r.kind}/${r.flow.port}`;
    mismatches.push(`${JSON.stringify(r.flow.from)} → ${JSON.stringify(r.flow.to)} ${what} (${r.src} → ${r.dst}): expected ` +
      `${r.flow.expect}, got ${ok ? 'Allow' : `Deny (${error})`}; engine says ${verdict.ok ? verdict.value.verdict : 'error'}`);
  }
  return mismatches;
}
