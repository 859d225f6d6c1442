// A probe agent: one long-lived process per workload namespace that serves ports and opens fresh connections
// on request (agent-script.ts). Probing through a running agent costs a message, not a process start, so a
// whole reachability matrix is probed in parallel in about one timeout.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

import { hostExec, netnsPath, type Exec } from '../nft/exec.js';
import { PROBE_AGENT_SCRIPT } from './agent-script.js';

export type ProbeProtocol = 'tcp' | 'udp';

export interface ProbeResult {
  ok: boolean;
  /** `timeout`, `ECONNREFUSED`, …, when not ok. */
  error?: string;
  ms: number;
}

interface Reply {
  id: number;
  ok: boolean;
  error?: string;
  ms?: number;
}

/** Why raw packets (ICMP, bare IP protocols) cannot be sent here, or undefined when they can. */
export async function rawSendSupport(exec: Exec = hostExec): Promise<string | undefined> {
  const res = await exec(['sh', '-c', 'command -v socat']);
  return res.code === 0 ? undefined : `'socat' not found (install the Debian package socat)`;
}

export class ProbeAgent {
  private nextId = 1;
  private readonly pending = new Map<number, (r: Reply) => void>();
  private exited: string | undefined;

  private constructor(readonly netns: string, private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      let msg: Reply;
      try {
        msg = JSON.parse(line) as Reply;
      } catch {
        return;
      }
      const resolve = this.pending.get(msg.id);
      if (resolve) {
        this.pending.delete(msg.id);
        resolve(msg);
      }
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    child.on('exit', (code, signal) => {
      this.exited = `probe agent in ${netns} exited (${signal ?? code})${stderr ? `: ${stderr.trim().slice(0, 300)}` : ''}`;
      for (const [id, resolve] of this.pending) resolve({ id, ok: false, error: this.exited });
      this.pending.clear();
    });
  }

  /** Starts an agent inside `netns` and waits until it is ready. */
  static async start(netns: string, label = netns): Promise<ProbeAgent> {
    const child = spawn('nsenter', [`--net=${netnsPath(netns)}`, '--', process.execPath, '-e', PROBE_AGENT_SCRIPT, label], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const agent = new ProbeAgent(netns, child);
    const ready = await agent.request({ op: 'ready' }, 0);
    if (!ready.ok) throw new Error(ready.error ?? `probe agent in ${netns} did not start`);
    return agent;
  }

  /** Serves a port (TCP: answer one line and close; UDP: echo). */
  async listen(protocol: ProbeProtocol, port: number): Promise<void> {
    const r = await this.request({ op: 'listen', protocol, port });
    if (!r.ok) throw new Error(`listen ${protocol}/${port} in ${this.netns}: ${r.error}`);
  }

  /**
   * Opens a fresh connection (TCP) or sends a datagram and waits for its echo (UDP), optionally from a given
   * source address and port.
   */
  async connect(
    protocol: ProbeProtocol, host: string, port: number, timeoutMs = 1000,
    from: { address?: string; port?: number } = {},
  ): Promise<ProbeResult> {
    const r = await this.request({
      op: 'connect', protocol, host, port, timeoutMs,
      ...(from.address !== undefined ? { localAddress: from.address } : {}),
      ...(from.port !== undefined ? { localPort: from.port } : {}),
    });
    return { ok: r.ok, ...(r.error !== undefined ? { error: r.error } : {}), ms: r.ms ?? 0 };
  }

  /**
   * Sends one raw IP packet from `src` to `dst`: `payload` is what follows the IP header (raw-packet.ts builds
   * it). Resolves once it is sent; whether it arrived, the receiver's ArrivalCounter tells. `'dropped'` when the
   * sending namespace's own netfilter dropped it on output (sendto fails with EPERM): a host whose host-endpoint
   * egress policy denies the packet — it never left.
   */
  async sendRaw(packet: { family: 4 | 6; protocol: number; src: string; dst: string; payload: Buffer }): Promise<'sent' | 'dropped'> {
    const r = await this.request({ op: 'raw', ...packet, payload: packet.payload.toString('base64') });
    if (r.ok) return 'sent';
    if (/sendto\(.*Operation not permitted/.test(r.error ?? '')) return 'dropped';
    throw new Error(`raw ${packet.protocol} ${packet.src} → ${packet.dst} in ${this.netns}: ${r.error}`);
  }

  /** Stops the agent (closing stdin ends it; the kill covers a stuck one). */
  async stop(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await done;
    clearTimeout(timer);
  }

  private request(body: Record<string, unknown>, id = this.nextId++): Promise<Reply> {
    if (this.exited) return Promise.resolve({ id, ok: false, error: this.exited });
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      // id 0 is the agent's own ready message; nothing is sent for it.
      if (id !== 0) this.child.stdin.write(JSON.stringify({ id, ...body }) + '\n');
    });
  }
}
