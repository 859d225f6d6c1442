// Seeing a one-way packet arrive: a raw packet (ICMP, a bare IP protocol) gets no answer a prober could wait
// for, so the receiving namespace counts it. Each namespace gets a small table of its own, `inet tabby_probe`,
// with one prerouting rule per watched flow (source, destination, protocol, ICMP type and code) and a counter;
// the flow arrived when its counter moved. In a workload's namespace the table counts in prerouting, before
// conntrack, so what the workload's own stack would do does not matter. A node (host) as the receiver is the one
// namespace whose own ruleset is under test (its host endpoints' ingress policy): there the counting chain sits in
// input after every chain of Tabby's table (`filter + 100`; Tabby's input chains end at `filter + 5`), so only a
// packet the policy let through to the host is counted. Tabby's table itself is never touched, nor the initial
// namespace.

import { hostExec, netnsExec, type Exec } from '../nft/exec.js';
import { ICMP, ICMPV6, type RawFlow } from './raw-packet.js';

export const PROBE_TABLE = 'tabby_probe';
const CHAIN = 'arrivals';

export interface WatchedFlow extends RawFlow {
  src: string;
  dst: string;
}

function matchOf(flow: WatchedFlow): string {
  const type = flow.icmp?.type;
  const code = flow.icmp?.code ?? 0;
  if (flow.family === 4) {
    const icmp = flow.protocol === ICMP && type !== undefined ? ` icmp type ${type} icmp code ${code}` : '';
    return `ip saddr ${flow.src} ip daddr ${flow.dst} ip protocol ${flow.protocol}${icmp}`;
  }
  const icmp = flow.protocol === ICMPV6 && type !== undefined ? ` icmpv6 type ${type} icmpv6 code ${code}` : '';
  return `ip6 saddr ${flow.src} ip6 daddr ${flow.dst} ip6 nexthdr ${flow.protocol}${icmp}`;
}

interface ListedRule {
  rule?: { comment?: string; expr?: Array<{ counter?: { packets: number } }> };
}

export class ArrivalCounter {
  private next = 0;

  private constructor(private readonly exec: Exec) {}

  /**
   * Installs an empty `tabby_probe` table in `netns` (replacing one left by an earlier run). `afterPolicy` counts
   * in input after the namespace's own policy (a node receiving), instead of in prerouting (a workload receiving).
   */
  static async install(netns: string, base: Exec = hostExec, options: { afterPolicy?: boolean } = {}): Promise<ArrivalCounter> {
    const exec = netnsExec(netns, base);
    const counter = new ArrivalCounter(exec);
    await counter.nft(['-f', '-'], [
      `add table inet ${PROBE_TABLE}`,
      `delete table inet ${PROBE_TABLE}`,
      `add table inet ${PROBE_TABLE}`,
      options.afterPolicy
        ? `add chain inet ${PROBE_TABLE} ${CHAIN} { type filter hook input priority filter + 100; }`
        : `add chain inet ${PROBE_TABLE} ${CHAIN} { type filter hook prerouting priority raw; }`,
    ].join('\n') + '\n');
    return counter;
  }

  /** Starts counting each flow (one transaction); returns a key per flow for `arrived`. */
  async watch(flows: readonly WatchedFlow[]): Promise<string[]> {
    if (flows.length === 0) return [];
    const keys = flows.map(() => `f${this.next++}`);
    const lines = flows.map((f, i) => `add rule inet ${PROBE_TABLE} ${CHAIN} ${matchOf(f)} counter comment "${keys[i]}"`);
    await this.nft(['-f', '-'], lines.join('\n') + '\n');
    return keys;
  }

  /** The keys whose flows have arrived at least once. */
  async arrived(): Promise<Set<string>> {
    const out = await this.nft(['-j', 'list', 'chain', 'inet', PROBE_TABLE, CHAIN]);
    const seen = new Set<string>();
    for (const item of (JSON.parse(out) as { nftables: ListedRule[] }).nftables) {
      const comment = item.rule?.comment;
      const packets = item.rule?.expr?.find((e) => e.counter)?.counter?.packets ?? 0;
      if (comment !== undefined && packets > 0) seen.add(comment);
    }
    return seen;
  }

  /** Removes the table (the namespace going away removes it too). */
  async remove(): Promise<void> {
    await this.nft(['delete', 'table', 'inet', PROBE_TABLE]);
  }

  private async nft(args: string[], input?: string): Promise<string> {
    const res = await this.exec(['nft', ...args], input);
    if (res.code !== 0) throw new Error(`nft ${args.join(' ')} (${PROBE_TABLE}): ${res.stderr.trim()}`);
    return res.stdout;
  }
}
