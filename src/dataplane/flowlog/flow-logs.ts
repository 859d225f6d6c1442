// The flow-log pipeline of one node: NFLOG reader → packet verdicts → attribution (engine) → aggregator, and
// conntrack events → aggregator. Nothing here is on the packet path: the kernel logs and forgets.

import { hostExec, netnsExec } from '../nft/exec.js';
import type { PolicyEngine } from '../../engine/index.js';
import { DEFAULT_INTERVAL_MS, FlowAggregator } from './aggregator.js';
import { FlowAttribution } from './attribution.js';
import { ConntrackEvents, parseConntrackLine, type ConntrackEvent } from './conntrack-events.js';
import type { FlowKey, FlowRecord } from './flow-record.js';
import { NflogReader, type ReaderDrops } from './nflog-reader.js';
import type { PacketHeaders } from './packet-headers.js';
import { PacketVerdicts, type PacketVerdict } from './packet-verdicts.js';
import type { MeaningLookup } from './prefix.js';

export interface FlowLogsOptions {
  netns?: string;
  engine: PolicyEngine;
  meanings: MeaningLookup;
  intervalMs?: number;
  /** NFLOG group of the Log action, read as well. Default 3. */
  logGroup?: number;
  /** Each packet verdict as attributed, before aggregation (tests, `--follow` later). */
  onVerdict?: (v: PacketVerdict, key: FlowKey) => void;
  onError?: (message: string) => void;
}

export class FlowLogs {
  readonly aggregator: FlowAggregator;
  private readonly verdicts: PacketVerdicts;
  private readonly attribution: FlowAttribution;
  private reader: NflogReader | undefined;
  private conntrack: ConntrackEvents | undefined;

  constructor(private readonly opts: FlowLogsOptions) {
    this.aggregator = new FlowAggregator(opts.intervalMs ?? DEFAULT_INTERVAL_MS);
    this.verdicts = new PacketVerdicts(opts.meanings);
    this.attribution = new FlowAttribution(opts.engine);
  }

  async start(): Promise<void> {
    const exec = this.opts.netns === undefined ? hostExec : netnsExec(this.opts.netns);
    // Per-namespace sysctls: packet/byte counters on conntrack entries, and their start/end times.
    for (const s of ['net.netfilter.nf_conntrack_acct=1', 'net.netfilter.nf_conntrack_timestamp=1']) {
      const r = await exec(['sysctl', '-q', '-w', s]);
      if (r.code !== 0) this.opts.onError?.(`flow logs: sysctl ${s}: ${r.stderr.trim()}`);
    }
    this.conntrack = new ConntrackEvents(this.opts.netns, (ev) => this.counters(ev));
    this.reader = new NflogReader({
      ...(this.opts.netns !== undefined ? { netns: this.opts.netns } : {}),
      groups: [1, 2, this.opts.logGroup ?? 3],
      onRecord: (rec, timeMs) => {
        const v = this.verdicts.push(rec, timeMs);
        if (!v) return;
        const key = this.attribution.key(v);
        this.opts.onVerdict?.(v, key);
        this.aggregator.verdict({ timeMs: v.timeMs, connection: packetConnection(v.packet), key, bytes: v.packet.length });
      },
      ...(this.opts.onError ? { onError: this.opts.onError } : {}),
    });
    try {
      await this.reader.started();
    } catch (err) {
      await this.stop(); // no conntrack reader left behind when tcpdump cannot start
      throw err;
    }
  }

  /**
   * The records of every interval ended by `nowMs`, after a conntrack listing has brought the counters of the
   * connections still open up to date (conntrack events carry counters only when a connection ends).
   */
  async collect(nowMs = Date.now()): Promise<FlowRecord[]> {
    await this.pollCounters();
    return this.aggregator.flush(nowMs);
  }

  private async pollCounters(): Promise<void> {
    const exec = this.opts.netns === undefined ? hostExec : netnsExec(this.opts.netns);
    const at = Date.now();
    const r = await exec(['conntrack', '-L', '-o', 'extended']);
    if (r.code !== 0) {
      this.opts.onError?.(`flow logs: conntrack -L: ${r.stderr.trim()}`);
      return;
    }
    for (const line of r.stdout.split('\n')) {
      const ev = parseConntrackLine(line, at);
      if (ev) this.counters(ev);
    }
  }

  private counters(ev: ConntrackEvent): void {
    if (ev.type === 'new' || !ev.packets || !ev.bytes) return;
    this.aggregator.counters({
      timeMs: ev.timeMs, connection: connectionKey(ev.protocol, ev.src, ev.srcPort, ev.dst, ev.dstPort),
      packets: ev.packets, bytes: ev.bytes, ended: ev.type === 'destroy',
    });
  }

  /** What the kernel could not deliver, and records that were not Tabby's or not readable. */
  async losses(): Promise<ReaderDrops & { unreadable: number }> {
    const d = this.reader ? await this.reader.drops() : { socket: 0, pcap: undefined };
    return { ...d, unreadable: this.verdicts.unreadable };
  }

  get records(): number {
    return this.reader?.records ?? 0;
  }

  async stop(): Promise<void> {
    await Promise.all([this.reader?.stop(), this.conntrack?.stop()]);
  }
}

export function connectionKey(protocol: number, src: string, srcPort: number | undefined, dst: string, dstPort: number | undefined): string {
  return `${protocol} ${src} ${srcPort ?? '-'} ${dst} ${dstPort ?? '-'}`;
}

function packetConnection(p: PacketHeaders): string {
  return connectionKey(p.protocol, p.src, p.srcPort, p.dst, p.dstPort);
}
