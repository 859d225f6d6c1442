// Flow records aggregated per interval, as Goldmane does: pure (no clock, no I/O; times are passed in), so its
// counting is a property test (test/dataplane/flowlog-aggregator.test.ts) rather than a hope.
//
// Inputs, from the reader side:
// - verdict(): one packet's verdict at one end (attributed: its key). An Allow is the first packet of a new
//   connection (the conntrack accept comes first, dataplane.md §1.10); its packets and bytes come from conntrack
//   only, so nothing is counted twice. A Deny is one dropped packet, counted here (dropped packets never make a
//   confirmed conntrack entry); its retries (same 5-tuple) are one connection attempt per interval.
// - counters(): a connection's conntrack totals (orig = source → destination, reply = back); the increase since the
//   last report is added to each end's record of the interval the report falls in. `ended` completes it.
// Intervals are [k·I, (k+1)·I) of epoch milliseconds. flush(now) emits every interval that ended by `now`; an event
// for an interval already flushed goes into the oldest open one (and is counted in `late`). `connectionsLive` is
// the connections open when flush runs, so flush promptly after each interval ends (FlowLogs.collect does); an
// interval with no event still gets a record for each key with a live connection, as Goldmane reports them.

import { flowKeyText, type FlowCounters, type FlowKey, type FlowRecord } from './flow-record.js';

export const DEFAULT_INTERVAL_MS = 15_000;

export interface VerdictEvent {
  timeMs: number;
  /** The connection's 5-tuple as text (protocol, addresses, ports), shared by both ends. */
  connection: string;
  key: FlowKey;
  /** The packet's IP length, counted for a Deny. */
  bytes: number;
}

export interface CountersEvent {
  timeMs: number;
  connection: string;
  packets: { orig: number; reply: number };
  bytes: { orig: number; reply: number };
  ended: boolean;
}

interface Bucket {
  key: FlowKey;
  counters: FlowCounters;
  denied: Set<string>;
}

interface Connection {
  /** One key per end that reported it (Src, Dst). */
  keys: Map<string, FlowKey>;
  seen: { packetsOrig: number; packetsReply: number; bytesOrig: number; bytesReply: number };
}

export class FlowAggregator {
  /** Events that arrived for an interval already flushed. */
  late = 0;
  private readonly windows = new Map<number, Map<string, Bucket>>();
  private readonly connections = new Map<string, Connection>();
  /** The first interval not yet flushed. */
  private open = -Infinity;

  constructor(readonly intervalMs: number = DEFAULT_INTERVAL_MS) {
    if (!(intervalMs > 0)) throw new RangeError(`flow-log interval must be positive, got ${intervalMs}`);
  }

  verdict(ev: VerdictEvent): void {
    const text = flowKeyText(ev.key);
    const b = this.bucket(ev.timeMs, text, ev.key);
    if (ev.key.action === 'Deny') {
      if (ev.key.reporter === 'Src') { b.counters.packetsOut++; b.counters.bytesOut += ev.bytes; }
      else { b.counters.packetsIn++; b.counters.bytesIn += ev.bytes; }
      if (!b.denied.has(ev.connection)) {
        b.denied.add(ev.connection);
        b.counters.connectionsStarted++;
      }
      return;
    }
    let conn = this.connections.get(ev.connection);
    if (!conn) {
      conn = { keys: new Map(), seen: { packetsOrig: 0, packetsReply: 0, bytesOrig: 0, bytesReply: 0 } };
      this.connections.set(ev.connection, conn);
    }
    if (conn.keys.has(ev.key.reporter)) return; // a second "new" at the same end: the same connection
    conn.keys.set(ev.key.reporter, ev.key);
    b.counters.connectionsStarted++;
    // This end's record may come after conntrack already reported the connection (the NFLOG groups batch for up
    // to 1 s): it gets what the other end was credited with, so both ends count the whole connection.
    addDirectional(b.counters, ev.key.reporter, conn.seen);
  }

  counters(ev: CountersEvent): void {
    const conn = this.connections.get(ev.connection);
    if (!conn) return; // not a connection Tabby's verdicts saw (host traffic, or started before the reader)
    const d = {
      packetsOrig: Math.max(0, ev.packets.orig - conn.seen.packetsOrig), packetsReply: Math.max(0, ev.packets.reply - conn.seen.packetsReply),
      bytesOrig: Math.max(0, ev.bytes.orig - conn.seen.bytesOrig), bytesReply: Math.max(0, ev.bytes.reply - conn.seen.bytesReply),
    };
    conn.seen = {
      packetsOrig: Math.max(conn.seen.packetsOrig, ev.packets.orig), packetsReply: Math.max(conn.seen.packetsReply, ev.packets.reply),
      bytesOrig: Math.max(conn.seen.bytesOrig, ev.bytes.orig), bytesReply: Math.max(conn.seen.bytesReply, ev.bytes.reply),
    };
    for (const key of conn.keys.values()) {
      const c = this.bucket(ev.timeMs, flowKeyText(key), key).counters;
      addDirectional(c, key.reporter, d);
      if (ev.ended) c.connectionsCompleted++;
    }
    if (ev.ended) this.connections.delete(ev.connection);
  }

  /** Connections started and not yet ended. */
  get liveConnections(): number {
    return this.connections.size;
  }

  /** The records of every interval that ended at or before `nowMs`, oldest first. */
  flush(nowMs: number): FlowRecord[] {
    const upTo = Math.floor(nowMs / this.intervalMs); // intervals < upTo have ended
    const out: FlowRecord[] = [];
    const indexes = [...this.windows.keys()].filter((k) => k < upTo).sort((a, b) => a - b);
    // Intervals with no event but live connections still report them (live at their end).
    const first = indexes[0] ?? upTo;
    const from = Number.isFinite(this.open) ? Math.min(first, this.open) : first;
    for (let k = from; k < upTo; k++) {
      const window = this.windows.get(k) ?? new Map<string, Bucket>();
      if (window.size === 0 && this.connections.size === 0) continue;
      for (const conn of this.connections.values()) {
        for (const key of conn.keys.values()) {
          const text = flowKeyText(key);
          let b = window.get(text);
          if (!b) window.set(text, (b = { key, counters: zero(), denied: new Set() }));
          b.counters.connectionsLive++;
        }
      }
      const startTime = new Date(k * this.intervalMs).toISOString();
      const endTime = new Date((k + 1) * this.intervalMs).toISOString();
      for (const b of window.values()) out.push({ ...b.key, startTime, endTime, ...b.counters });
      this.windows.delete(k);
    }
    this.open = Math.max(this.open, upTo);
    return out;
  }

  private bucket(timeMs: number, text: string, key: FlowKey): Bucket {
    let k = Math.floor(timeMs / this.intervalMs);
    if (k < this.open) {
      this.late++;
      k = this.open;
    }
    let window = this.windows.get(k);
    if (!window) this.windows.set(k, (window = new Map()));
    let b = window.get(text);
    if (!b) window.set(text, (b = { key, counters: zero(), denied: new Set() }));
    return b;
  }
}

type Totals = Connection['seen'];

/** The source sends the original direction and receives the reply; the destination the other way round. */
function addDirectional(c: FlowCounters, reporter: 'Src' | 'Dst', t: Totals): void {
  const [sent, received] = reporter === 'Src' ? ['Orig', 'Reply'] as const : ['Reply', 'Orig'] as const;
  c.packetsOut += t[`packets${sent}`];
  c.bytesOut += t[`bytes${sent}`];
  c.packetsIn += t[`packets${received}`];
  c.bytesIn += t[`bytes${received}`];
}

function zero(): FlowCounters {
  return { packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0, connectionsStarted: 0, connectionsCompleted: 0, connectionsLive: 0 };
}
