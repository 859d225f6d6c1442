// Conntrack for the rest of a flow: `conntrack -E -o timestamp,extended` (Debian conntrack) in the node's
// namespace, one line per event. With net.netfilter.nf_conntrack_acct=1 (per namespace) the UPDATE and DESTROY
// lines carry packets= and bytes= for each direction. A line looks like
//   [1733340000.123456]	 [DESTROY] ipv4     2 tcp      6 src=10.65.0.2 dst=10.65.0.3 sport=40000 dport=80
//     packets=6 bytes=412 src=10.65.0.3 dst=10.65.0.2 sport=80 dport=40000 packets=4 bytes=285 [ASSURED] …
// The first src/dst/sport/dport group is the original direction, the second the reply.
// Measured on this kernel (conntrack 1.4.7): only DESTROY events carry packets=/bytes=; NEW and UPDATE (state
// changes) do not, so a connection's counters while it lives come from a listing, `conntrack -L -o extended`,
// whose lines are the same without the timestamp and event type (parseConntrackLine reads both).

import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

import { netnsPath } from '../nft/exec.js';

export interface ConntrackEvent {
  type: 'new' | 'update' | 'destroy';
  timeMs: number;
  protocol: number;
  src: string;
  dst: string;
  srcPort?: number;
  dstPort?: number;
  /** Original direction (source → destination) and reply counters; undefined without nf_conntrack_acct. */
  packets?: { orig: number; reply: number };
  bytes?: { orig: number; reply: number };
}

const TYPES: Record<string, ConntrackEvent['type']> = { NEW: 'new', UPDATE: 'update', DESTROY: 'destroy' };

/** One event line, or (with `listedAtMs`) one line of a listing, read as an update at that time. */
export function parseConntrackLine(line: string, listedAtMs?: number): ConntrackEvent | undefined {
  const ts = /^\s*\[(\d+)\.(\d+)\]/.exec(line);
  const type = /\[(NEW|UPDATE|DESTROY)\]/.exec(line);
  let rest: string;
  let timeMs: number;
  let kind: ConntrackEvent['type'];
  if (ts && type) {
    rest = line.slice(type.index + type[0].length);
    timeMs = Number(ts[1]) * 1000 + Number(`0.${ts[2]}`) * 1000;
    kind = TYPES[type[1]!]!;
  } else if (listedAtMs !== undefined && /^ipv[46]\s/.test(line)) {
    rest = line;
    timeMs = listedAtMs;
    kind = 'update';
  } else {
    return undefined;
  }
  const words = rest.trim().split(/\s+/);
  // `ipv4 2 tcp 6 [timeout] [state] key=value …`: the protocol number is the 4th word.
  const protocol = Number(words[3]);
  if (!Number.isInteger(protocol)) return undefined;
  const first: Record<string, string> = {};
  const second: Record<string, string> = {};
  for (const w of words.slice(4)) {
    const eq = w.indexOf('=');
    if (eq <= 0) continue;
    const k = w.slice(0, eq);
    const target = k in first && (k === 'src' || k === 'dst' || k === 'sport' || k === 'dport' || k === 'packets' || k === 'bytes') ? second : first;
    if (!(k in target)) target[k] = w.slice(eq + 1);
  }
  if (first.src === undefined || first.dst === undefined) return undefined;
  const ev: ConntrackEvent = {
    type: kind, timeMs, protocol, src: first.src, dst: first.dst,
  };
  if (first.sport !== undefined) ev.srcPort = Number(first.sport);
  if (first.dport !== undefined) ev.dstPort = Number(first.dport);
  if (first.packets !== undefined && second.packets !== undefined) ev.packets = { orig: Number(first.packets), reply: Number(second.packets) };
  if (first.bytes !== undefined && second.bytes !== undefined) ev.bytes = { orig: Number(first.bytes), reply: Number(second.bytes) };
  return ev;
}

export class ConntrackEvents {
  private readonly child: ChildProcessByStdio<null, Readable, Readable>;
  private readonly exited: Promise<void>;

  constructor(netns: string | undefined, onEvent: (ev: ConntrackEvent) => void) {
    const argv = ['conntrack', '-E', '-o', 'timestamp,extended'];
    const [cmd, ...args] = netns === undefined ? argv : ['nsenter', `--net=${netnsPath(netns)}`, '--', ...argv];
    this.child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stderr.resume();
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const ev = parseConntrackLine(line);
      if (ev) onEvent(ev);
    });
    this.exited = new Promise((res) => {
      this.child.on('exit', () => res());
      this.child.on('error', () => res());
    });
  }

  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    await this.exited;
  }
}
