// A `tabby server` in a child process over a temporary file store, the real kubectl pointed at it, and raw HTTPS
// requests for what kubectl will not send (a 20 MB body, malformed JSON, `..` in a path).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { assertBuilt, startCli, type CliProcess } from '../cli/built-cli.js';
import { until } from '../poll.js';

export interface ServerUnderTest {
  dir: string;
  stateDir: string;
  kubeconfig: string;
  url: string;
  ca: string;
  adminToken: string;
  proc: CliProcess;
  stop(): Promise<void>;
}

export interface TempDir {
  dir: string;
  /** Writes `text` to `name` in the directory and returns its path. */
  file(name: string, text: string): string;
  remove(): void;
}

export function tempDir(prefix: string): TempDir {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    file: (name, text) => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Starts `tabby server` on a free port; resolves once it printed its kubeconfig's path. */
export async function startServer(dir: string, extra: string[] = []): Promise<ServerUnderTest> {
  assertBuilt();
  const stateDir = join(dir, 'state');
  const proc = startCli(['server', '--listen', '127.0.0.1:0', '--datastore', `file:${join(dir, 'store')}`, '--state-dir', stateDir, ...extra]);
  // The kubeconfig's path comes on stdout, then the URL on stderr: two pipes, so wait for both.
  await until('tabby server to print its kubeconfig and URL',
    () => (proc.stdout().includes('\n') && /at https:\/\/\S+;/.test(proc.stderr())) || proc.proc.exitCode !== null, 30_000);
  if (proc.proc.exitCode !== null) throw new Error(`tabby server exited: ${proc.stderr()}`);
  const kubeconfig = proc.stdout().split('\n')[0]!;
  const url = /at (https:\/\/\S+);/.exec(proc.stderr())?.[1];
  if (!url) throw new Error(`no URL in ${proc.stderr()}`);
  const serverDir = join(stateDir, 'server');
  return {
    dir, stateDir, kubeconfig, url, proc,
    ca: readFileSync(join(serverDir, 'ca.crt'), 'utf8'),
    adminToken: readFileSync(join(serverDir, 'admin.token'), 'utf8').trim(),
    stop: async () => {
      if (proc.proc.exitCode === null) proc.proc.kill('SIGTERM');
      await proc.exited;
    },
  };
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** kubectl with the server's kubeconfig, its own discovery cache and HOME (no ~/.kube of the machine's). */
export function kubectl(s: ServerUnderTest, args: string[], options: { env?: NodeJS.ProcessEnv; stdin?: string; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const proc = spawn('kubectl', ['--kubeconfig', s.kubeconfig, '--cache-dir', join(s.dir, 'kube-cache'), ...args], {
      env: { PATH: process.env.PATH, HOME: s.dir, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    proc.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const timer = setTimeout(() => proc.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    proc.on('error', reject);
    proc.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    proc.stdin.on('error', () => undefined); // kubectl may exit before reading stdin
    proc.stdin.end(options.stdin ?? '');
  });
}

/**
 * The kubectl on PATH: its minor version decides which of two real behaviours a test expects (CI's Debian
 * bookworm has v1.20, which reads OpenAPI v2 and validates on the client; this machine's v1.32 reads v3). The
 * versions the tests know are listed; another one fails here instead of being checked against the wrong output.
 */
export const KUBECTL_TESTED_MINORS = [20, 32] as const;
let clientMinor: number | undefined;
export function kubectlMinor(): number {
  if (clientMinor === undefined) {
    const out = JSON.parse(execFileSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8' })) as { clientVersion: { major: string; minor: string; gitVersion: string } };
    const minor = Number.parseInt(out.clientVersion.minor, 10);
    if (out.clientVersion.major !== '1' || !(KUBECTL_TESTED_MINORS as readonly number[]).includes(minor)) {
      throw new Error(`kubectl ${out.clientVersion.gitVersion} on PATH: the server tests know the output of v1.${KUBECTL_TESTED_MINORS.join(' and v1.')} only (src/server/README.md)`);
    }
    clientMinor = minor;
  }
  return clientMinor;
}

/** A long-running kubectl (`get -w`): its stdout so far, and stop. */
export function kubectlStream(s: ServerUnderTest, args: string[]): { output(): string; errors(): string; stop(): void } {
  const proc = spawn('kubectl', ['--kubeconfig', s.kubeconfig, '--cache-dir', join(s.dir, 'kube-cache'), ...args], {
    env: { PATH: process.env.PATH, HOME: s.dir }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  proc.stderr.on('data', (c: Buffer) => { err += c.toString(); });
  return { output: () => out, errors: () => err, stop: () => { proc.kill('SIGTERM'); } };
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json(): any;
}

/** One HTTPS request to the server, trusting its CA; `rawPath` is sent exactly as given. */
export function https(s: ServerUnderTest, method: string, rawPath: string, options: { body?: string | Buffer; token?: string | null; contentType?: string } = {}): Promise<HttpResult> {
  const u = new URL(s.url);
  const headers: Record<string, string> = {};
  const token = options.token === undefined ? s.adminToken : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) {
    headers['content-type'] = options.contentType ?? 'application/json';
    // node's client sends a DELETE body with neither Content-Length nor chunked framing unless told the length.
    headers['content-length'] = String(Buffer.byteLength(options.body));
  }
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path: rawPath, ca: s.ca, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, json: () => JSON.parse(body) }));
    });
    // The server may answer (413) and close before the whole body is sent.
    req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'EPIPE' || (err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}
