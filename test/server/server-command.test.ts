// `tabby server` refusing to start: each failure one `error:` line and the README's exit code.
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { startCli } from '../cli/built-cli.js';
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
});
