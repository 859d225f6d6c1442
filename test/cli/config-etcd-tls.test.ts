// Issue 12 §1 against real etcd: one member serving TLS only and requiring client certificates
// (--client-cert-auth), with certificates this suite makes with openssl, and one plain member with etcd's
// user/password authentication on. Through the CLI: calicoctl's environment, a CalicoAPIConfig via --config and
// TABBY_CONFIG (file paths and inline PEM), --datastore etcds:// taking the calicoctl TLS settings, several
// endpoints, and the failures — a wrong CA (exit 6, naming the endpoint and the certificate problem), no client
// certificate, a missing key file (exit 1), a key of another certificate, a wrong password.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EtcdCluster, etcdSkipReason, freePort } from '../datastore/etcd-process.js';
import { gnp } from '../datastore/fixtures.js';
import { makeTestCerts, opensslSkipReason, type TestCerts } from '../datastore/test-certs.js';
import { captureCli } from './captureCli.js';

const skip = etcdSkipReason() ?? opensslSkipReason();
if (skip) console.warn(`[config-etcd-tls] skipped: ${skip}`);

const root = mkdtempSync(join(tmpdir(), 'tabby-cli-tls-'));
let certs: TestCerts;
let tls: EtcdCluster | undefined;
let authed: EtcdCluster | undefined;
const PASSWORD = 'c0rrect-h0rse';

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
  authed!.enableAuth(PASSWORD);
}, 120_000);
afterAll(async () => {
  await Promise.all([tls?.destroy(), authed?.destroy()]);
  certs?.remove();
  rmSync(root, { recursive: true, force: true });
});

/** No calicoctl file at the default path; HOME inside the temp folder. */
function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { HOME: join(root, 'home'), TABBY_DEFAULT_CALICOCTL_CONFIG: join(root, 'none.cfg'), ...extra };
}

const httpsEndpoint = () => `https://${tls!.endpoints[0]}`;
const tlsEnv = (extra: NodeJS.ProcessEnv = {}) => env({
  ETCD_ENDPOINTS: httpsEndpoint(), ETCD_CA_CERT_FILE: certs.caCert, ETCD_CERT_FILE: certs.clientCert,
  ETCD_KEY_FILE: certs.clientKey, ...extra,
});

let files = 0;
function configFile(spec: Record<string, string>): string {
  const path = join(root, `calicoctl-${++files}.cfg`);
  const lines = Object.entries(spec).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`);
  writeFileSync(path, ['apiVersion: projectcalico.org/v3', 'kind: CalicoAPIConfig', 'metadata: {}', 'spec:', '  datastoreType: etcdv3', ...lines, ''].join('\n'));
  return path;
}

async function applyAndGet(name: string, argv: string[], e: NodeJS.ProcessEnv): Promise<void> {
  const put = await captureCli(['apply', '-f', '-', ...argv], { env: e, stdin: JSON.stringify(gnp(name)) });
  expect(put.stderr).toBe('');
  expect(put.code).toBe(0);
  const get = await captureCli(['get', 'gnp', name, '-o', 'name', ...argv], { env: e });
  expect(get.stderr).toBe('');
  expect(get.code).toBe(0);
  expect(get.stdout.trim()).toBe(`globalnetworkpolicy.projectcalico.org/${name}`);
}

describe.skipIf(skip !== undefined)('etcd over TLS with client certificates, through the CLI', () => {
  it("calicoctl's environment: ETCD_ENDPOINTS https://, ETCD_CA_CERT_FILE, ETCD_CERT_FILE, ETCD_KEY_FILE", async () => {
    await applyAndGet('via-env', [], tlsEnv());
  });

  it('a CalicoAPIConfig named by --config, and one named by TABBY_CONFIG with inline PEM', async () => {
    const byFiles = configFile({
      etcdEndpoints: httpsEndpoint(), etcdCACertFile: certs.caCert, etcdCertFile: certs.clientCert, etcdKeyFile: certs.clientKey,
    });
    await applyAndGet('via-config', ['--config', byFiles], env());
    const inline = configFile({
      etcdEndpoints: httpsEndpoint(), etcdCACert: readFileSync(certs.caCert, 'utf8'),
      etcdCert: readFileSync(certs.clientCert, 'utf8'), etcdKey: readFileSync(certs.clientKey, 'utf8'),
    });
    await applyAndGet('via-tabby-config', [], env({ TABBY_CONFIG: inline }));
    // The default path too (moved into the temp folder; /etc/calico is never written by the suite).
    const get = await captureCli(['get', 'gnp', '-o', 'name'], { env: env({ TABBY_DEFAULT_CALICOCTL_CONFIG: byFiles }) });
    expect(get.code).toBe(0);
    expect(get.stdout).toContain('globalnetworkpolicy.projectcalico.org/via-env');
  });

  it('--datastore etcds://HOST:PORT takes the TLS files from the calicoctl settings; several endpoints', async () => {
    const e = tlsEnv({ ETCD_ENDPOINTS: undefined });
    await applyAndGet('via-etcds', ['--datastore', `etcds://${tls!.endpoints[0]}`], e);
    // A dead member first: the client moves on to the live one.
    const dead = await freePort();
    await applyAndGet('two-endpoints', [], tlsEnv({ ETCD_ENDPOINTS: `https://127.0.0.1:${dead},${httpsEndpoint()}` }));
    // And the datastore check reads through the same settings.
    const check = await captureCli(['datastore', 'check'], { env: tlsEnv() });
    expect(check.code).toBe(0);
    expect(check.stdout).toContain(`etcds://${tls!.endpoints[0]}`);
  });

  it('a wrong CA: exit 6, naming the endpoint and the certificate problem', async () => {
    const r = await captureCli(['get', 'gnp'], { env: tlsEnv({ ETCD_CA_CERT_FILE: certs.otherCaCert }) });
    expect(r.code).toBe(6);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`datastore unavailable at etcds://${tls!.endpoints[0]}: TLS: the server's certificate was not accepted: `);
    expect(r.stderr).toMatch(/unable to verify the first certificate|self[- ]signed certificate|unable to get local issuer certificate/);
    expect(r.stderr).not.toContain('is it running?');
  });

  it('no client certificate for an etcd that requires one: exit 6, saying so', async () => {
    const r = await captureCli(['get', 'gnp'], { env: tlsEnv({ ETCD_CERT_FILE: undefined, ETCD_KEY_FILE: undefined }) });
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('TLS: the server rejected the client certificate');
  });

  it('a missing key file: exit 1 naming the file and the setting; a key of another certificate: exit 1', async () => {
    const missing = join(root, 'missing-key.pem');
    const r = await captureCli(['get', 'gnp'], { env: tlsEnv({ ETCD_KEY_FILE: missing }) });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`error: ETCD_KEY_FILE: cannot read ${missing}: no such file or directory (the etcd client key)`);
    const cfg = configFile({ etcdEndpoints: httpsEndpoint(), etcdCertFile: certs.clientCert, etcdKeyFile: missing });
    const f = await captureCli(['get', 'gnp', '--config', cfg], { env: env() });
    expect(f.code).toBe(1);
    expect(f.stderr).toContain(`spec.etcdKeyFile at ${cfg}:`);
    const mismatch = await captureCli(['get', 'gnp'], { env: tlsEnv({ ETCD_KEY_FILE: certs.serverKey }) });
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toContain('does not belong to the client certificate (ETCD_CERT_FILE)');
  });

  it('plain http to a TLS port fails clearly (exit 6), never hangs', async () => {
    const r = await captureCli(['get', 'gnp', '--datastore', `etcd://${tls!.endpoints[0]}`], { env: env() });
    expect(r.code).toBe(6);
    expect(r.stderr).toContain(`datastore unavailable at etcd://${tls!.endpoints[0]}: no connection established: failed to connect (if that etcd serves TLS, use https:// or etcds://)`);
  });

  it('TLS to a plain-text etcd fails clearly (exit 6)', async () => {
    const r = await captureCli(['get', 'gnp', '--datastore', `etcds://${authed!.endpoints[0]}`], { env: env({ ETCD_CA_CERT_FILE: certs.caCert }) });
    expect(r.code).toBe(6);
    expect(r.stderr).toContain(`datastore unavailable at etcds://${authed!.endpoints[0]}: TLS: the server does not speak TLS on this port`);
  });
});

describe.skipIf(skip !== undefined)("etcd's user/password authentication, through the CLI", () => {
  it('ETCD_USERNAME / ETCD_PASSWORD, and spec.etcdUsername / spec.etcdPassword', async () => {
    const url = `http://${authed!.endpoints[0]}`;
    await applyAndGet('authed-env', [], env({ ETCD_ENDPOINTS: url, ETCD_USERNAME: 'root', ETCD_PASSWORD: PASSWORD }));
    const cfg = configFile({ etcdEndpoints: url, etcdUsername: 'root', etcdPassword: PASSWORD });
    await applyAndGet('authed-config', ['--config', cfg], env());
  });

  it('a wrong password: one line saying authentication failed (exit 1); no user at all: the same kind of error', async () => {
    const url = `http://${authed!.endpoints[0]}`;
    const r = await captureCli(['get', 'gnp'], { env: env({ ETCD_ENDPOINTS: url, ETCD_USERNAME: 'root', ETCD_PASSWORD: 'wrong' }) });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`datastore at etcd://${authed!.endpoints[0]} refused access: authentication failed: invalid user name or password`);
    const none = await captureCli(['get', 'gnp'], { env: env({ ETCD_ENDPOINTS: url }) });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('refused access');
    expect(none.stderr).toMatch(/authentication is on/);
  });
});
