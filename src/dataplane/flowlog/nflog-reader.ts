// The kernel side of flow logs: NFLOG groups read by `tcpdump -i nflog:1,2[,3] -U -w -` inside the node's
// network namespace, its pcap stream parsed here (pcap-stream.ts, nflog-record.ts). Chosen over the npm
// `netlink` addon (native code to build and pin) and ulogd2 (a daemon with its own configuration) by the
// measurement in src/dataplane/README.md ("Flow logs").
//
// Losses: the kernel never waits for the reader. When its socket buffer is full the kernel drops the record and
// counts it on the socket (sk_drops, the Drops column of /proc/net/netlink in the namespace); libpcap sees ENOBUFS
// and counts it too ("packets dropped by kernel" when tcpdump exits). Both are reported (drops()).

import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';

import { netnsPath } from '../nft/exec.js';
import { LINKTYPE_NFLOG, parseNflogRecord, type NflogRecord } from './nflog-record.js';
import { PcapStream } from './pcap-stream.js';

export interface NflogReaderOptions {
  /** The node's network namespace; undefined reads the agent's own. */
  netns?: string;
  groups: readonly number[];
  /** Socket receive buffer in KiB (tcpdump -B). Default 4096. */
  bufferKiB?: number;
  onRecord: (rec: NflogRecord, timeMs: number) => void;
  onError?: (message: string) => void;
}

export interface ReaderDrops {
  /** Records the kernel could not queue to the reader's socket (/proc/net/netlink Drops), while it runs. */
  socket: number;
  /** libpcap's ENOBUFS count, known once tcpdump has exited. */
  pcap: number | undefined;
}

export class NflogReader {
  records = 0;
  private child: ChildProcessByStdio<null, Readable, Readable> | undefined;
  private pcapDrops: number | undefined;
  private lastSocketDrops = 0;
  private readonly ready: Promise<void>;
  private readonly exited: Promise<void>;
  private stderr = '';

  constructor(private readonly opts: NflogReaderOptions) {
    const argv = ['tcpdump', '-i', `nflog:${opts.groups.join(',')}`, '-U', '-w', '-', '-B', String(opts.bufferKiB ?? 4096), '-Z', 'root'];
    const [cmd, ...args] = opts.netns === undefined ? argv : ['nsenter', `--net=${netnsPath(opts.netns)}`, '--', ...argv];
    const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const stream = new PcapStream();
    let readyResolve!: () => void;
    let readyReject!: (e: Error) => void;
    this.ready = new Promise((res, rej) => { readyResolve = res; readyReject = rej; });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      this.stderr += text;
      // tcpdump says "listening on nflog:1,2" once the groups are bound: records from here on are captured.
      if (/listening on/.test(this.stderr)) readyResolve();
      const dropped = /(\d+) packets? dropped by kernel/.exec(this.stderr);
      if (dropped) this.pcapDrops = Number(dropped[1]);
      if (this.stderr.length > 65536) this.stderr = this.stderr.slice(-4096);
    });
    child.stdout.on('data', (chunk: Buffer) => {
      try {
        for (const r of stream.push(chunk)) {
          if (stream.header!.linkType !== LINKTYPE_NFLOG) throw new Error(`link type ${stream.header!.linkType}, not NFLOG`);
          this.records++;
          this.opts.onRecord(parseNflogRecord(r.data, stream.header!.littleEndian), r.timeMs);
        }
      } catch (err) {
        this.opts.onError?.(`flow-log reader: ${(err as Error).message}`);
        child.kill('SIGTERM');
      }
    });
    this.exited = new Promise((res) => {
      child.on('error', (e) => { readyReject(new Error(`cannot start tcpdump: ${e.message}`)); res(); });
      child.on('exit', (code, signal) => {
        readyReject(new Error(`tcpdump exited (${signal ?? code}) before listening: ${this.stderr.trim().split('\n').pop() ?? ''}`));
        this.child = undefined;
        res();
      });
    });
  }

  /** The last lines tcpdump wrote to stderr (its exit reason, its counts). */
  get diagnostics(): string {
    return this.stderr.trim();
  }

  /** Resolves once the NFLOG groups are bound (records logged from then on reach the reader). */
  started(): Promise<void> {
    return this.ready;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** What the kernel could not deliver so far. */
  async drops(): Promise<ReaderDrops> {
    const pid = this.child?.pid;
    if (pid !== undefined) {
      const socket = await socketDrops(pid);
      if (socket !== undefined) this.lastSocketDrops = socket;
    }
    return { socket: this.lastSocketDrops, pcap: this.pcapDrops };
  }

  /** Stops tcpdump (SIGTERM: it flushes and prints its counts) and waits for it. */
  async stop(): Promise<void> {
    await this.drops();
    this.child?.kill('SIGTERM');
    await this.exited;
  }
}

/** The Drops column of the NETLINK_NETFILTER (12) socket bound by `pid` (/proc/<pid>/net is its namespace's). */
async function socketDrops(pid: number): Promise<number | undefined> {
  // /proc/<pid>/net is the namespace of that process: the reader's own view, without entering the namespace.
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/net/netlink`, 'utf8');
  } catch {
    return undefined;
  }
  return parseNetlinkDrops(text, pid);
}

/** `sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode` rows: the drops of protocol 12 sockets of `pid`. */
export function parseNetlinkDrops(text: string, pid: number): number | undefined {
  let found: number | undefined;
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[1] !== '12' || Number(f[2]) !== pid) continue;
    found = (found ?? 0) + Number(f[8]);
  }
  return found;
}
