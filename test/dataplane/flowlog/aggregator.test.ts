// The flow aggregator's counting as properties (fast-check): over any time-ordered mix of denied packets, new
// allowed connections at either end, conntrack counter reports and ends, with flushes in between,
// - counts are conserved: every denied packet and every conntrack increase appears in exactly one record;
// - every record is one whole interval, and an event lands in the interval that contains its time;
// - denied retries of one 5-tuple are one connection attempt per interval; ended connections are completed once
//   per end, and nothing is live after everything ended.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { FlowAggregator, type FlowKey, type FlowRecord } from '../../../src/dataplane/flowlog/index.js';

const INTERVAL = 1000;

function key(reporter: 'Src' | 'Dst', action: 'Allow' | 'Deny', port: number): FlowKey {
  return {
    reporter, protocol: 'TCP', action,
    source: { kind: 'WorkloadEndpoint', namespace: 'x', name: 'a', ip: '10.0.0.1' },
    destination: { kind: 'WorkloadEndpoint', namespace: 'x', name: 'b', ip: '10.0.0.2', port },
    decision: null, trace: [], pendingAction: action, pendingDecision: null, pendingTrace: [],
  };
}

type Step =
  | { t: 'deny'; dt: number; reporter: 'Src' | 'Dst'; conn: number; port: number; bytes: number }
  | { t: 'allow'; dt: number; reporter: 'Src' | 'Dst'; conn: number }
  | { t: 'count'; dt: number; conn: number; orig: number; reply: number; ended: boolean }
  | { t: 'flush'; dt: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ t: fc.constant('deny' as const), dt: fc.nat(700), reporter: fc.constantFrom('Src' as const, 'Dst' as const), conn: fc.nat(3), port: fc.constantFrom(80, 81), bytes: fc.integer({ min: 20, max: 1500 }) }),
  fc.record({ t: fc.constant('allow' as const), dt: fc.nat(700), reporter: fc.constantFrom('Src' as const, 'Dst' as const), conn: fc.nat(5) }),
  fc.record({ t: fc.constant('count' as const), dt: fc.nat(700), conn: fc.nat(5), orig: fc.nat(5), reply: fc.nat(5), ended: fc.boolean() }),
  fc.record({ t: fc.constant('flush' as const), dt: fc.nat(3000) }),
);

interface Run {
  records: FlowRecord[];
  denied: Array<{ time: number; key: FlowKey; conn: string; bytes: number }>;
  /** Final counters of each allowed connection, times the ends that reported it. */
  expectedPackets: number;
  expectedBytes: number;
  ended: number;
  live: number;
  agg: FlowAggregator;
}

function run(steps: Step[]): Run {
  const agg = new FlowAggregator(INTERVAL);
  const records: FlowRecord[] = [];
  const denied: Run['denied'] = [];
  const conns = new Map<number, { ends: Set<string>; orig: number; reply: number; ended: boolean }>();
  const done: Array<{ ends: Set<string>; orig: number; reply: number; ended: boolean }> = [];
  const generation = new Map<number, number>();
  let now = 1_000_000;
  let ended = 0;
  let expectedPackets = 0;
  let expectedBytes = 0;
  const name = (c: number) => `tcp ${c}#${generation.get(c) ?? 0}`;
  for (const s of steps) {
    now += s.dt;
    switch (s.t) {
      case 'deny': {
        const k = key(s.reporter, 'Deny', s.port);
        const conn = `deny ${s.conn}`;
        agg.verdict({ timeMs: now, connection: conn, key: k, bytes: s.bytes });
        denied.push({ time: now, key: k, conn, bytes: s.bytes });
        break;
      }
      case 'allow': {
        let c = conns.get(s.conn);
        if (c?.ended) done.push(c);
        if (!c || c.ended) conns.set(s.conn, (c = { ends: new Set(), orig: 0, reply: 0, ended: false }));
        agg.verdict({ timeMs: now, connection: name(s.conn), key: key(s.reporter, 'Allow', 80), bytes: 60 });
        c.ends.add(s.reporter);
        break;
      }
      case 'count': {
        const c = conns.get(s.conn);
        // conntrack counters only grow; a report for a connection no verdict saw is ignored by the aggregator.
        const orig = (c?.orig ?? 0) + s.orig;
        const reply = (c?.reply ?? 0) + s.reply;
        agg.counters({ timeMs: now, connection: name(s.conn), packets: { orig, reply }, bytes: { orig: orig * 100, reply: reply * 100 }, ended: s.ended });
        if (c && !c.ended) {
          c.orig = orig;
          c.reply = reply;
          if (s.ended) {
            c.ended = true;
            ended += c.ends.size;
            generation.set(s.conn, (generation.get(s.conn) ?? 0) + 1);
          }
        }
        break;
      }
      case 'flush':
        records.push(...agg.flush(now));
        break;
    }
  }
  for (const c of [...done, ...conns.values()]) {
    expectedPackets += (c.orig + c.reply) * c.ends.size;
    expectedBytes += (c.orig + c.reply) * 100 * c.ends.size;
  }
  const live = [...conns.values()].filter((c) => !c.ended).reduce((n, c) => n + c.ends.size, 0);
  records.push(...agg.flush(now + 10 * INTERVAL));
  return { records, denied, expectedPackets, expectedBytes, ended, live, agg };
}

const sum = (rs: FlowRecord[], f: (r: FlowRecord) => number): number => rs.reduce((n, r) => n + f(r), 0);
const isDeny = (r: FlowRecord) => r.action === 'Deny';

describe('FlowAggregator', () => {
  it('conserves packets, bytes and connections', () => {
    fc.assert(fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
      const r = run(steps);
      expect(r.agg.late).toBe(0); // events are in time order and flushes never run ahead of them
      const denied = r.records.filter(isDeny);
      expect(sum(denied, (x) => x.packetsIn + x.packetsOut)).toBe(r.denied.length);
      expect(sum(denied, (x) => x.bytesIn + x.bytesOut)).toBe(r.denied.reduce((n, d) => n + d.bytes, 0));
      const allowed = r.records.filter((x) => !isDeny(x));
      expect(sum(allowed, (x) => x.packetsIn + x.packetsOut)).toBe(r.expectedPackets);
      expect(sum(allowed, (x) => x.bytesIn + x.bytesOut)).toBe(r.expectedBytes);
      expect(sum(allowed, (x) => x.connectionsCompleted)).toBe(r.ended);
      expect(r.agg.liveConnections > 0 || r.live === 0).toBe(true);
      // Src sends the original direction, Dst receives it.
      for (const x of denied) expect(x.reporter === 'Src' ? x.packetsIn : x.packetsOut).toBe(0);
    }), { numRuns: 300 });
  });

  it('puts every event in the interval that contains it, one record per key and interval', () => {
    fc.assert(fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
      const r = run(steps);
      const seen = new Set<string>();
      for (const x of r.records) {
        const start = Date.parse(x.startTime);
        expect(start % INTERVAL).toBe(0);
        expect(Date.parse(x.endTime) - start).toBe(INTERVAL);
        const id = `${x.startTime} ${x.reporter} ${x.action} ${x.destination.port}`;
        expect(seen.has(id), id).toBe(false);
        seen.add(id);
      }
      // Per interval and key: the denied packets counted are those whose time falls inside it, and the attempts
      // are their distinct connections.
      const groups = new Map<string, { packets: number; conns: Set<string> }>();
      for (const d of r.denied) {
        const id = `${new Date(Math.floor(d.time / INTERVAL) * INTERVAL).toISOString()} ${d.key.reporter} Deny ${d.key.destination.port}`;
        const g = groups.get(id) ?? { packets: 0, conns: new Set<string>() };
        g.packets++;
        g.conns.add(d.conn);
        groups.set(id, g);
      }
      for (const x of r.records.filter(isDeny)) {
        const g = groups.get(`${x.startTime} ${x.reporter} Deny ${x.destination.port}`);
        expect(g).toBeDefined();
        expect(x.packetsIn + x.packetsOut).toBe(g!.packets);
        expect(x.connectionsStarted).toBe(g!.conns.size);
      }
      expect(r.records.filter(isDeny)).toHaveLength(groups.size);
    }), { numRuns: 300 });
  });

  it('keeps reporting a live connection in later intervals until it ends', () => {
    const agg = new FlowAggregator(INTERVAL);
    const k = key('Dst', 'Allow', 80);
    agg.verdict({ timeMs: 500, connection: 'c', key: k, bytes: 60 });
    agg.counters({ timeMs: 900, connection: 'c', packets: { orig: 3, reply: 2 }, bytes: { orig: 300, reply: 200 }, ended: false });
    expect(agg.flush(1000)).toMatchObject([{ startTime: new Date(0).toISOString(), packetsIn: 3, packetsOut: 2, connectionsStarted: 1, connectionsLive: 1 }]);
    // Nothing happened in [1000, 2000): still one record, live.
    expect(agg.flush(2000)).toMatchObject([{ startTime: new Date(1000).toISOString(), packetsIn: 0, connectionsStarted: 0, connectionsLive: 1 }]);
    agg.counters({ timeMs: 2500, connection: 'c', packets: { orig: 4, reply: 2 }, bytes: { orig: 400, reply: 200 }, ended: true });
    expect(agg.flush(3000)).toMatchObject([{ packetsIn: 1, bytesIn: 100, connectionsCompleted: 1, connectionsLive: 0 }]);
    expect(agg.flush(9000)).toEqual([]);
  });

  it('counts an event for an interval already flushed into the oldest open one, and says so', () => {
    const agg = new FlowAggregator(INTERVAL);
    agg.flush(5000);
    agg.verdict({ timeMs: 1200, connection: 'd', key: key('Dst', 'Deny', 81), bytes: 60 });
    expect(agg.late).toBe(1);
    expect(agg.flush(6000)).toMatchObject([{ startTime: new Date(5000).toISOString(), packetsIn: 1 }]);
    expect(() => new FlowAggregator(0)).toThrow(RangeError);
  });
});
