// Real etcd for tests and benchmarks: one member or a loopback cluster, random free ports, a temp data dir,
// and the faults the suites inject (kill a member, restart it). No mock: the point is the real server.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ETCD_BIN = process.env.TABBY_ETCD_BIN ?? 'etcd';

/** Why etcd tests cannot run here, or undefined when they can. */
export function etcdSkipReason(): string | undefined {
  const r = spawnSync(ETCD_BIN, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    return `etcd not found ('${ETCD_BIN} --version' failed); install etcd-server (scripts/ensure-system-deps.mjs does as root)`;
  }
  return undefined;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Client TLS of a test etcd: its server certificate, and the CA it checks client certificates against. */
export interface EtcdTls {
  certFile: string;
  keyFile: string;
  /** With clientCertAuth, clients must present a certificate this CA signed (etcd's --client-cert-auth). */
  trustedCaFile: string;
  clientCertAuth: boolean;
  /** A client certificate for the health check when clientCertAuth is on. */
  clientCertFile?: string;
  clientKeyFile?: string;
}

function healthy(port: number, tls?: EtcdTls): Promise<boolean> {
  return new Promise((resolve) => {
    const options = { host: '127.0.0.1', port, path: '/health', timeout: 1000 };
    const onResponse = (res: IncomingMessage): void => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(res.statusCode === 200 && body.includes('true')));
    };
    const req = tls
      ? httpsRequest({
        ...options, ca: readFileSync(tls.trustedCaFile),
        ...(tls.clientCertFile && { cert: readFileSync(tls.clientCertFile) }),
        ...(tls.clientKeyFile && { key: readFileSync(tls.clientKeyFile) }),
      }, onResponse)
      : request(options, onResponse);
    req.on('error', () => resolve(false));
    req.on('timeout', () => { req.destroy(); resolve(false); });
    req.end();
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class EtcdMember {
  proc: ChildProcess | undefined;
  private log = '';

  constructor(
    readonly name: string,
    readonly clientPort: number,
    readonly peerPort: number,
    readonly dataDir: string,
    private readonly initialCluster: string,
    private readonly token: string,
    private readonly extraArgs: readonly string[] = [],
    readonly tls?: EtcdTls,
  ) {}

  get endpoint(): string {
    return `127.0.0.1:${this.clientPort}`;
  }

  start(): void {
    const client = `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.clientPort}`;
    const peer = `http://127.0.0.1:${this.peerPort}`;
    this.log = '';
    this.proc = spawn(ETCD_BIN, [
      '--name', this.name, '--data-dir', this.dataDir,
      '--listen-client-urls', client, '--advertise-client-urls', client,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
      '--initial-cluster', this.initialCluster, '--initial-cluster-state', 'new',
      '--initial-cluster-token', this.token,
      // Fast elections so a killed leader is replaced within a second.
      '--heartbeat-interval', '50', '--election-timeout', '500',
      '--logger', 'zap', '--log-level', 'error',
      ...(this.tls ? [
        '--cert-file', this.tls.certFile, '--key-file', this.tls.keyFile, '--trusted-ca-file', this.tls.trustedCaFile,
        ...(this.tls.clientCertAuth ? ['--client-cert-auth'] : []),
      ] : []),
      ...this.extraArgs,
    ], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ETCD_UNSUPPORTED_ARCH: process.arch === 'x64' ? '' : process.arch } });
    this.proc.stderr?.on('data', (c: Buffer) => { this.log = (this.log + c.toString()).slice(-4000); });
  }

  async waitHealthy(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.proc?.exitCode !== null && this.proc?.exitCode !== undefined) {
        throw new Error(`etcd ${this.name} exited with ${this.proc.exitCode}: ${this.log}`);
      }
      if (await healthy(this.clientPort, this.tls)) return;
      await sleep(50);
    }
    throw new Error(`etcd ${this.name} not healthy after ${timeoutMs} ms: ${this.log}`);
  }

  /** Stops the member (SIGKILL by default: a crash, not a shutdown) and waits until it is gone. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill(signal);
    await gone;
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }
}

export class EtcdCluster {
  private constructor(readonly members: EtcdMember[], private readonly root: string) {}

  /** `extraArgs` go to every member (e.g. a small --quota-backend-bytes); `tls` makes the client URLs https. */
  static async start(size = 1, extraArgs: readonly string[] = [], options: { tls?: EtcdTls } = {}): Promise<EtcdCluster> {
    const root = mkdtempSync(join(tmpdir(), 'tabby-etcd-'));
    const token = `tabby-${process.pid}-${Date.now()}`;
    const ports: Array<[number, number]> = [];
    for (let i = 0; i < size; i++) ports.push([await freePort(), await freePort()]);
    const initial = ports.map(([, peer], i) => `m${i}=http://127.0.0.1:${peer}`).join(',');
    const members = ports.map(([client, peer], i) =>
      new EtcdMember(`m${i}`, client, peer, join(root, `m${i}`), initial, token, extraArgs, options.tls));
    const cluster = new EtcdCluster(members, root);
    try {
      for (const m of members) m.start();
      await Promise.all(members.map((m) => m.waitHealthy()));
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
    return cluster;
  }

  get endpoints(): string[] {
    return this.members.map((m) => m.endpoint);
  }

  /** `etcd://host:port,host:port` */
  get url(): string {
    return `etcd://${this.endpoints.join(',')}`;
  }

  /**
   * Turns on etcd's user/password authentication with a `root` user (etcd requires one before `auth enable`),
   * through etcdctl as an operator would. Plain-http clusters only.
   */
  enableAuth(rootPassword: string): void {
    const endpoints = this.members.map((m) => `http://${m.endpoint}`).join(',');
    for (const args of [['user', 'add', `root:${rootPassword}`, '--interactive=false'], ['auth', 'enable']]) {
      const r = spawnSync(process.env.TABBY_ETCDCTL_BIN ?? 'etcdctl', ['--endpoints', endpoints, ...args], {
        encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' },
      });
      if (r.error || r.status !== 0) throw new Error(`etcdctl ${args.join(' ')} failed: ${r.error?.message ?? r.stderr}`);
    }
  }

  async restart(i: number): Promise<void> {
    const m = this.members[i]!;
    await m.stop();
    m.start();
    await m.waitHealthy();
  }

  async destroy(): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop()));
    rmSync(this.root, { recursive: true, force: true });
  }
}
