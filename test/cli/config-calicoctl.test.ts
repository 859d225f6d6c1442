// Issue 12 §1 without a server: how the CLI reads calicoctl's configuration (CalicoAPIConfig from --config,
// TABBY_CONFIG or the default path; DATASTORE_TYPE / ETCD_* from the environment), the precedence against Tabby's
// own --datastore / TABBY_DATASTORE, and every way the configuration can be wrong — each one line, with the file,
// line and column or the variable, and its exit code. /etc/calico/calicoctl.cfg is never read here: every run
// points TABBY_DEFAULT_CALICOCTL_CONFIG into the suite's temp folder.

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { gnp } from '../datastore/fixtures.js';
import { captureCli } from './captureCli.js';

const root = mkdtempSync(join(tmpdir(), 'tabby-cli-config-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
function file(name: string, text: string): string {
  const dir = join(root, `f${++n}`);
  mkdirSync(dir);
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** An environment with no calicoctl file at the default path and no store outside the temp folder. */
function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { HOME: join(root, 'home'), TABBY_DEFAULT_CALICOCTL_CONFIG: join(root, 'no-such-calicoctl.cfg'), ...extra };
}

const cfg = (spec: string) => `apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nmetadata:\nspec:\n${spec}`;

/** A closed port: a run that reaches etcd through it fails with exit 6 naming it, which proves it was chosen. */
const DEAD = 'https://127.0.0.1:1';

describe('calicoctl configuration: which source wins', () => {
  it('ETCD_ENDPOINTS selects etcd (exit 6 on a closed port, naming it)', async () => {
    const r = await captureCli(['get', 'gnp'], { env: env({ ETCD_ENDPOINTS: 'http://127.0.0.1:1' }) });
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/^error: datastore unavailable at etcd:\/\/127\.0\.0\.1:1: /);
  });

  it('CALICO_ETCD_ENDPOINTS is read before ETCD_ENDPOINTS (envconfig prefix "calico")', async () => {
    const r = await captureCli(['get', 'gnp'], { env: env({ CALICO_ETCD_ENDPOINTS: 'http://127.0.0.1:2', ETCD_ENDPOINTS: 'http://127.0.0.1:1' }) });
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('etcd://127.0.0.1:2');
  });

  it('--datastore and TABBY_DATASTORE win over ETCD_ENDPOINTS and --config', async () => {
    const config = file('calicoctl.cfg', cfg(`  etcdEndpoints: ${DEAD}\n`));
    const store = `file:${join(root, 'store-flag')}`;
    const put = await captureCli(['apply', '-f', '-', '--datastore', store, '--config', config],
      { env: env({ ETCD_ENDPOINTS: DEAD }), stdin: JSON.stringify(gnp('in-file-store')) });
    expect(put.stderr).toBe('');
    expect(put.code).toBe(0);
    const get = await captureCli(['get', 'gnp', '-o', 'name'], { env: env({ TABBY_DATASTORE: store, TABBY_CONFIG: config, ETCD_ENDPOINTS: DEAD }) });
    expect(get.code).toBe(0);
    expect(get.stdout).toContain('globalnetworkpolicy.projectcalico.org/in-file-store');
  });

  it('--config beats TABBY_CONFIG, and a calicoctl file beats the calicoctl environment', async () => {
    const a = file('a.cfg', cfg('  etcdEndpoints: http://127.0.0.1:3\n'));
    const b = file('b.cfg', cfg('  etcdEndpoints: http://127.0.0.1:4\n'));
    const r = await captureCli(['get', 'gnp', '--config', a], { env: env({ TABBY_CONFIG: b, ETCD_ENDPOINTS: 'http://127.0.0.1:5' }) });
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('etcd://127.0.0.1:3');
    const viaEnv = await captureCli(['get', 'gnp'], { env: env({ TABBY_CONFIG: b, ETCD_ENDPOINTS: 'http://127.0.0.1:5' }) });
    expect(viaEnv.stderr).toContain('etcd://127.0.0.1:4');
  });

  it('a CalicoAPIConfig in JSON, as calicoctl accepts', async () => {
    const json = file('calicoctl.json', JSON.stringify({
      apiVersion: 'projectcalico.org/v3', kind: 'CalicoAPIConfig', spec: { datastoreType: 'etcdv3', etcdEndpoints: 'http://127.0.0.1:9' },
    }));
    const r = await captureCli(['get', 'gnp', '--config', json], { env: env() });
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('etcd://127.0.0.1:9');
  });

  it("the default calicoctl file is read when present, and then the environment is not (calicoctl's rule)", async () => {
    const dflt = file('calicoctl.cfg', cfg('  datastoreType: etcdv3\n  etcdEndpoints: http://127.0.0.1:6\n'));
    const r = await captureCli(['get', 'gnp'], { env: env({ TABBY_DEFAULT_CALICOCTL_CONFIG: dflt, ETCD_ENDPOINTS: 'http://127.0.0.1:7' }) });
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('etcd://127.0.0.1:6');
  });

  it("Tabby's config.yaml datastore: wins over the default calicoctl file and the environment, not over --config", async () => {
    const home = join(root, 'home-yaml');
    mkdirSync(join(home, '.config', 'tabby'), { recursive: true });
    writeFileSync(join(home, '.config', 'tabby', 'config.yaml'), `datastore: file:${join(root, 'store-yaml')}\n`);
    const e = { ...env({ ETCD_ENDPOINTS: DEAD }), HOME: home };
    const r = await captureCli(['get', 'gnp'], { env: e });
    expect(r.code).toBe(0);
    const explicit = file('c.cfg', cfg('  etcdEndpoints: http://127.0.0.1:8\n'));
    const withConfig = await captureCli(['get', 'gnp', '--config', explicit], { env: e });
    expect(withConfig.stderr).toContain('etcd://127.0.0.1:8');
  });

  it("an unknown key in Tabby's config.yaml is warned about once, though several settings are read from it", async () => {
    const home = join(root, 'home-unknown');
    mkdirSync(join(home, '.config', 'tabby'), { recursive: true });
    writeFileSync(join(home, '.config', 'tabby', 'config.yaml'), `datastor: x\n`);
    const r = await captureCli(['get', 'gnp'], { env: { ...env({ XDG_DATA_HOME: join(root, 'xdg3') }), HOME: home } });
    expect(r.code).toBe(0);
    expect(r.stderr.match(/unknown setting 'datastor'/g)).toHaveLength(1);
  });

  it('nothing set: the default file store, which is created under $XDG_DATA_HOME/tabby', async () => {
    const data = join(root, 'xdg');
    const r = await captureCli(['apply', '-f', '-'], { env: env({ XDG_DATA_HOME: data }), stdin: JSON.stringify(gnp('d')), cwd: root });
    expect(r.code).toBe(0);
    expect(existsSync(join(data, 'tabby'))).toBe(true);
  });
});

describe('calicoctl configuration: errors', () => {
  it('a malformed --datastore is a usage error naming what is accepted (exit 2)', async () => {
    for (const bad of ['etcd:127.0.0.1:2379', 'foo:/x', 'etcd://host', 'etcds://h:99999']) {
      const r = await captureCli(['get', 'gnp', '--datastore', bad], { env: env(), cwd: root });
      expect(r.code, bad).toBe(2);
      expect(r.stderr.trim().split('\n'), bad).toHaveLength(1);
      expect(r.stderr, bad).toMatch(/etcd:\/\/HOST:PORT|out of range/);
      expect(r.stderr, bad).toContain('(from --datastore)');
    }
    expect(existsSync(join(root, 'etcd:127.0.0.1:2379'))).toBe(false);
    expect(existsSync(join(root, 'foo:'))).toBe(false);
  });

  it('a malformed ETCD_ENDPOINTS or spec.etcdEndpoints is exit 2 naming where it was written', async () => {
    const r = await captureCli(['get', 'gnp'], { env: env({ ETCD_ENDPOINTS: 'http://a:1,https://b:2' }) });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/mix plain and TLS schemes .*\(from ETCD_ENDPOINTS\)/);
    const c = file('c.cfg', cfg('  etcdEndpoints: "redis://x:1"\n'));
    const f = await captureCli(['get', 'gnp', '--config', c], { env: env() });
    expect(f.code).toBe(2);
    expect(f.stderr).toContain(`(from spec.etcdEndpoints at ${c}:5:3)`);
  });

  it('DATASTORE_TYPE=kubernetes, or a file without etcd endpoints, is refused clearly (exit 2)', async () => {
    const r = await captureCli(['get', 'gnp'], { env: env({ DATASTORE_TYPE: 'kubernetes' }) });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/selects the Kubernetes API datastore \(DATASTORE_TYPE: kubernetes\), which Tabby does not support/);
    const noEndpoints = file('k.cfg', cfg('  kubeconfig: /root/.kube/config\n'));
    const f = await captureCli(['get', 'gnp', '--config', noEndpoints], { env: env() });
    expect(f.code).toBe(2);
    expect(f.stderr).toContain('Kubernetes API datastore');
    const noList = await captureCli(['get', 'gnp'], { env: env({ DATASTORE_TYPE: 'etcdv3' }) });
    expect(noList.code).toBe(2);
    expect(noList.stderr).toContain('needs etcd endpoints: set ETCD_ENDPOINTS');
  });

  it('unknown fields, a wrong apiVersion or kind, and non-string values are named with file:line:col (exit 1)', async () => {
    const c = file('bad.cfg', 'apiVersion: projectcalico.org/v2\nkind: CalicoAPIConfig\nspec:\n  etcdEndpoints: http://127.0.0.1:1\n  etcdEndpiont: x\n  etcdUsername: 3\nextra: 1\n');
    const r = await captureCli(['get', 'gnp', '--config', c], { env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`${c}:7:1: extra: unknown field`);
    expect(r.stderr).toContain(`${c}:1:1: apiVersion: unknown APIVersion "projectcalico.org/v2"`);
    expect(r.stderr).toContain(`${c}:5:3: spec.etcdEndpiont: unknown field`);
    expect(r.stderr).toContain(`${c}:6:3: spec.etcdUsername: must be a string`);
    const kind = file('kind.cfg', 'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n');
    expect((await captureCli(['get', 'gnp', '--config', kind], { env: env() })).stderr).toContain("expected kind 'CalicoAPIConfig'");
    const yaml = file('syntax.cfg', 'apiVersion: projectcalico.org/v3\nkind: [\n');
    const s = await captureCli(['get', 'gnp', '--config', yaml], { env: env() });
    expect(s.code).toBe(1);
    expect(s.stderr).toMatch(new RegExp(`${yaml}:\\d+:\\d+`));
  });

  it('etcdDiscoverySrv, and a certificate given both as a file and inline, are refused', async () => {
    const srv = file('srv.cfg', cfg('  etcdDiscoverySrv: example.com\n'));
    const r = await captureCli(['get', 'gnp', '--config', srv], { env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${srv}:5:3: spec.etcdDiscoverySrv: etcd discovery through SRV records is not supported by Tabby`);
    const twice = file('twice.cfg', cfg(`  etcdEndpoints: ${DEAD}\n  etcdCACertFile: /x.pem\n  etcdCACert: "-----BEGIN CERTIFICATE-----"\n`));
    const t = await captureCli(['get', 'gnp', '--config', twice], { env: env() });
    expect(t.code).toBe(2);
    expect(t.stderr).toContain(`the CA certificate is given twice, as a file (spec.etcdCACertFile at ${twice}:6:3) and inline (spec.etcdCACert at ${twice}:7:3): keep one`);
  });

  it('a --config or TABBY_CONFIG file that does not exist is an error; a missing default file is not', async () => {
    const missing = join(root, 'missing.cfg');
    const r = await captureCli(['get', 'gnp', '--config', missing], { env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot read ${missing}: no such file or directory (the calicoctl config file named by --config)`);
    const e = await captureCli(['get', 'gnp'], { env: env({ TABBY_CONFIG: missing }) });
    expect(e.stderr).toContain('named by TABBY_CONFIG');
    const d = await captureCli(['get', 'gnp'], { env: env({ TABBY_DEFAULT_CALICOCTL_CONFIG: missing, XDG_DATA_HOME: join(root, 'xdg2') }) });
    expect(d.code).toBe(0);
  });

  it('a config file larger than any CalicoAPIConfig, or unreadable, is refused without reading it all', async () => {
    const big = file('big.cfg', cfg(`  etcdEndpoints: http://127.0.0.1:1\n#${'x'.repeat(300 * 1024)}\n`));
    const r = await captureCli(['get', 'gnp', '--config', big], { env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/too large|larger/);
    const zero = await captureCli(['get', 'gnp', '--config', '/dev/zero'], { env: env() });
    expect(zero.code).toBe(1);
    expect(zero.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('TLS files with plain-http endpoints, and half a certificate pair or half a login, are refused (exit 2)', async () => {
    const pem = file('ca.pem', '-----BEGIN CERTIFICATE-----\n');
    const plain = await captureCli(['get', 'gnp'], { env: env({ ETCD_ENDPOINTS: 'http://127.0.0.1:1', ETCD_CA_CERT_FILE: pem }) });
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain('ETCD_CA_CERT_FILE gives etcd TLS material, but the endpoints etcd://127.0.0.1:1 (from ETCD_ENDPOINTS) are plain http');
    const half = await captureCli(['get', 'gnp'], { env: env({ ETCD_ENDPOINTS: DEAD, ETCD_CERT_FILE: pem }) });
    expect(half.code).toBe(2);
    expect(half.stderr).toContain('set both ETCD_CERT_FILE and ETCD_KEY_FILE');
    const login = await captureCli(['get', 'gnp'], { env: env({ ETCD_ENDPOINTS: 'http://127.0.0.1:1', ETCD_USERNAME: 'root' }) });
    expect(login.code).toBe(2);
    expect(login.stderr).toContain('ETCD_USERNAME is set without a password');
  });

  it('a missing certificate file or one that holds no certificate is exit 1 naming the file and the setting', async () => {
    const missing = join(root, 'no-key.pem');
    const noCert = join(root, 'no-cert.pem');
    const r = await captureCli(['get', 'gnp'], { env: env({ ETCD_ENDPOINTS: DEAD, ETCD_CERT_FILE: noCert, ETCD_KEY_FILE: missing }) });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`error: ETCD_CERT_FILE: cannot read ${noCert}: no such file or directory (the etcd client certificate)`);
    const cert = file('garbage.pem', 'not a certificate\n');
    const g = await captureCli(['get', 'gnp'], { env: env({ ETCD_ENDPOINTS: DEAD, ETCD_CA_CERT_FILE: cert }) });
    expect(g.code).toBe(1);
    expect(g.stderr).toContain('ETCD_CA_CERT_FILE: not a PEM certificate (the etcd CA certificate)');
    // A device is refused before it is read.
    const dev = await captureCli(['get', 'gnp'], { env: env({ ETCD_ENDPOINTS: DEAD, ETCD_CA_CERT_FILE: '/dev/zero' }) });
    expect(dev.code).toBe(1);
    expect(dev.stderr).toContain('ETCD_CA_CERT_FILE: refusing to read /dev/zero');
  });

  it('--help of the datastore commands lists --config', async () => {
    for (const cmd of ['get', 'apply', 'datastore', 'select']) {
      const r = await captureCli([cmd, '--help'], { env: env() });
      expect(r.stdout, cmd).toMatch(/--config FILE\s+calicoctl's CalicoAPIConfig file/);
    }
    expect((await captureCli(['validate', '--help'], { env: env() })).stdout).not.toContain('--config');
  });
});
