// `tabby server` refusing to start: each failure one `error:` line and the README's exit code.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { startCli } from '../cli/built-cli.js';
import { until } from '../poll.js';
import { startServer, tempDir } from './support.js';

describe('tabby server start-up errors', () => {
  const tmp = tempDir('tabby-server-cmd-');
  afterAll(() => tmp.remove());
  const run = async (args: string[]) => {
    const p = startCli(['server', '--datastore', `file:${join(tmp.dir, 'store')}`, '--state-dir', join(tmp.dir, 'state'), ...args]);
    const { code } = await p.exited;
    return { code, stderr: p.stderr() };
  };

  it('a malformed token file: exit 1 naming the file and line', async () => {
    const r = await run(['--listen', '127.0.0.1:0', '--token-auth-file', tmp.file('t.csv', 'ok,a,1\nshort,line\n')]);
    expect(r).toEqual({ code: 1, stderr: `error: ${join(tmp.dir, 't.csv')}:2: 2 field(s); each line is token,user,uid and optionally "group1,group2"\n` });
  });

  it('flags that do not go together, a bad --listen: exit 2', async () => {
    expect((await run(['--listen', '127.0.0.1:0', '--tls-cert', 'x.pem'])).code).toBe(2);
    const r = await run(['--listen', 'localhost']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--listen "localhost": give HOST:PORT');
  });

  it('an address in use: exit 6', async () => {
    const first = await startServer(tmp.dir);
    try {
      const r = await run(['--listen', `127.0.0.1:${new URL(first.url).port}`]);
      expect(r.code).toBe(6);
      expect(r.stderr).toContain('the address is in use');
    } finally {
      await first.stop();
    }
  });

  it('the operator\'s --tls-cert/--tls-key on a fresh state directory: it starts and keeps its admin token 0600', async () => {
    // Regression: only the self-signed path made the state directory, so this exited 70 (ENOENT).
    const certDir = join(tmp.dir, 'operator');
    mkdirSync(certDir);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(certDir, 'k.pem'), '-out', join(certDir, 'c.pem')], { stdio: 'ignore' });
    const p = startCli(['server', '--listen', '127.0.0.1:0', '--datastore', `file:${join(tmp.dir, 'store')}`, '--state-dir', join(tmp.dir, 'fresh-state'),
      '--tls-cert', join(certDir, 'c.pem'), '--tls-key', join(certDir, 'k.pem')]);
    try {
      await until('the kubeconfig path', () => p.stdout().includes('\n') || p.proc.exitCode !== null, 30_000);
      expect(p.proc.exitCode, p.stderr()).toBeNull();
      expect(statSync(join(tmp.dir, 'fresh-state', 'server', 'admin.token')).mode & 0o777).toBe(0o600);
    } finally {
      p.proc.kill('SIGTERM');
      await p.exited;
    }
  });

  it('a state directory others can write, or a token file others could have written, is refused (exit 1)', async () => {
    const open = join(tmp.dir, 'open-state');
    mkdirSync(join(open, 'server'), { recursive: true });
    chmodSync(join(open, 'server'), 0o777);
    writeFileSync(join(open, 'server', 'admin.token'), `${'A'.repeat(40)}\n`, { mode: 0o644 });
    const p = startCli(['server', '--listen', '127.0.0.1:0', '--datastore', `file:${join(tmp.dir, 'store')}`, '--state-dir', open]);
    const { code } = await p.exited;
    expect(code).toBe(1);
    expect(p.stderr()).toMatch(/^error: .*open-state\/server is writable by others \(mode 777\)/);
    chmodSync(join(open, 'server'), 0o700);
    const q = startCli(['server', '--listen', '127.0.0.1:0', '--datastore', `file:${join(tmp.dir, 'store')}`, '--state-dir', open]);
    expect((await q.exited).code).toBe(1);
    expect(q.stderr()).toMatch(/admin\.token has mode 644; a key or token must be 600/);
  });
});
