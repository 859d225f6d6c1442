// The etcd store over TLS with a client certificate, through the public API (what the agent and the syncer use):
// writes, reads and a watch that sees a change — the watch stream carries the same channel credentials as unary
// calls — and user/password authentication on a plain member, where a watch must hold the auth token too.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EtcdStore, isUnauthorized, isUnavailable } from '../../src/datastore/index.js';
import { EtcdCluster, etcdSkipReason } from './etcd-process.js';
import { Collector, gnp } from './fixtures.js';
import { makeTestCerts, opensslSkipReason, type TestCerts } from './test-certs.js';

const skip = etcdSkipReason() ?? opensslSkipReason();
if (skip) console.warn(`[etcd-tls-store] skipped: ${skip}`);

let certs: TestCerts;
let tls: EtcdCluster | undefined;
let authed: EtcdCluster | undefined;

beforeAll(async () => {
  if (skip) return;
  certs = makeTestCerts();
  [tls, authed] = await Promise.all([
    EtcdCluster.start(1, [], {
      tls: {
        certFile: certs.serverCert, keyFile: certs.serverKey, trustedCaFile: certs.caCert, clientCertAuth: true,
        clientCertFile: certs.clientCert, clientKeyFile: certs.clientKey,
      },
    }),
    EtcdCluster.start(1),
  ]);
  authed!.enableAuth('pw');
}, 120_000);
afterAll(async () => {
  await Promise.all([tls?.destroy(), authed?.destroy()]);
  certs?.remove();
});

async function watchSeesAWrite(store: EtcdStore, name: string): Promise<void> {
  const w = new Collector(store.watch());
  try {
    await w.until((es) => es.some((e) => e.type === 'synced'));
    await store.apply(gnp(name));
    await w.until((es) => es.some((e) => e.type === 'upsert' && e.resource.metadata.name === name));
  } finally {
    await w.close();
  }
  expect((await store.get({ kind: 'GlobalNetworkPolicy', name })).metadata.name).toBe(name);
}

describe.skipIf(skip !== undefined)('EtcdStore over TLS and with authentication', () => {
  it('TLS with a client certificate: apply, get and watch', async () => {
    const store = new EtcdStore({
      endpoints: [`https://${tls!.endpoints[0]}`],
      tls: { ca: readFileSync(certs.caCert), cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) },
    });
    try {
      expect(store.endpoint).toBe(`etcds://${tls!.endpoints[0]}`);
      await watchSeesAWrite(store, 'over-tls');
    } finally {
      await store.close();
    }
  });

  it('a wrong CA is UnavailableError naming the certificate problem', async () => {
    const store = new EtcdStore({
      endpoints: [`https://${tls!.endpoints[0]}`],
      tls: { ca: readFileSync(certs.otherCaCert), cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) },
    });
    try {
      const err = await store.list().then(() => undefined, (e: unknown) => e);
      expect(isUnavailable(err)).toBe(true);
      expect((err as Error).message).toMatch(/^datastore unavailable at etcds:\/\/127\.0\.0\.1:\d+: TLS: the server's certificate was not accepted/);
    } finally {
      await store.close();
    }
  });

  it('user/password: apply, get and watch; a wrong password is UnauthorizedError', async () => {
    const store = new EtcdStore({ endpoints: authed!.endpoints, auth: { username: 'root', password: 'pw' } });
    try {
      await watchSeesAWrite(store, 'with-auth');
    } finally {
      await store.close();
    }
    const wrong = new EtcdStore({ endpoints: authed!.endpoints, auth: { username: 'root', password: 'nope' } });
    try {
      const err = await wrong.list().then(() => undefined, (e: unknown) => e);
      expect(isUnauthorized(err)).toBe(true);
    } finally {
      await wrong.close();
    }
  });
});
