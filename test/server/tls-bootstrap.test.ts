// The CA and server certificate tabby server makes on first start: key modes, reuse across starts, a new
// certificate (same CA) for a listen host the old one does not name, and a TLS handshake that verifies.
import { statSync } from 'node:fs';
import { createServer } from 'node:https';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';

import { afterAll, describe, expect, it } from 'vitest';

import { ensureTlsMaterial } from '../../src/server/tls-bootstrap.js';
import { tempDir } from './support.js';

describe('ensureTlsMaterial', () => {
  const tmp = tempDir('tabby-tls-');
  afterAll(() => tmp.remove());
  const dir = join(tmp.dir, 'server');

  it('makes a CA and a server certificate for the loopback names, keys 0600 in a 0700 directory', async () => {
    const m = await ensureTlsMaterial(dir, '127.0.0.1');
    expect(m.createdCa).toBe(true);
    expect((statSync(dir).mode & 0o777).toString(8)).toBe('700');
    for (const f of ['ca.key', 'server.key']) expect((statSync(join(dir, f)).mode & 0o777).toString(8)).toBe('600');
    const cert = new X509Certificate(m.cert);
    expect(cert.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(cert.checkIssued(new X509Certificate(m.ca!))).toBe(true);
    expect(cert.verify(new X509Certificate(m.ca!).publicKey)).toBe(true);
  });

  it('reuses both on the next start; re-issues the server certificate (same CA) for a new listen host', async () => {
    const first = await ensureTlsMaterial(dir, '127.0.0.1');
    const again = await ensureTlsMaterial(dir, 'localhost');
    expect(again.createdCa).toBe(false);
    expect(again.cert).toBe(first.cert);
    const moved = await ensureTlsMaterial(dir, '192.0.2.10');
    expect(moved.ca).toBe(first.ca);
    expect(moved.cert).not.toBe(first.cert);
    expect(new X509Certificate(moved.cert).subjectAltName).toContain('IP Address:192.0.2.10');
  });

  it('a client trusting only the CA completes the handshake', async () => {
    const m = await ensureTlsMaterial(dir, '127.0.0.1');
    const server = createServer({ cert: m.cert, key: m.key }, (_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const authorized = await new Promise<boolean>((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port, ca: m.ca!, servername: 'localhost' }, () => {
          resolve(socket.authorized);
          socket.end();
        });
        socket.on('error', reject);
      });
      expect(authorized).toBe(true);
    } finally {
      server.close();
    }
  });
});
