// `tabby explain` and `tabby test` as a user runs them: text a person can follow, JSON for machines, exit codes,
// and one-line errors for bad input.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { captureCli } from './captureCli.js';

let dir: string;

const CLUSTER = `
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {kubernetes.io/metadata.name: shop}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIP: 10.1.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {app: db}}
spec: {nodeName: n1, containers: [{name: c, ports: [{name: pg, containerPort: 5432}]}]}
status: {podIP: 10.1.0.2}
---
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 10, defaultAction: Pass}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security.block}
spec:
  tier: security
  selector: all()
  ingress: [{action: Deny, source: {nets: [198.51.100.0/24]}}]
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: db-from-web, namespace: shop}
spec:
  selector: app == 'db'
  ingress: [{action: Allow, protocol: TCP, source: {selector: app == 'web'}, destination: {ports: [pg]}}]
---
apiVersion: projectcalico.org/v3
kind: StagedNetworkPolicy
metadata: {name: db-lockdown, namespace: shop}
spec:
  order: 1
  selector: app == 'db'
  ingress: [{action: Deny}]
`;

const TEST_PASSING = `
name: shop
include: [cluster.yaml]
flows:
- {from: shop/web, to: shop/db, protocol: TCP, port: 5432, expect: Allow,
   ingress: {action: Allow, tier: default, kind: NetworkPolicy, policy: shop/db-from-web, rule: 0},
   staged: {action: Deny, policy: shop/db-lockdown}}
- {from: {ip: 198.51.100.7}, to: shop/db, protocol: TCP, port: 5432, expect: Deny}
applied:
- endpoint: shop/db
  ingress: [{tier: security, policies: [security.block]}, {tier: default, policies: [shop/db-lockdown, shop/db-from-web]}]
  egress: []
`;

const TEST_FAILING = `
include: [cluster.yaml]
flows:
- {from: shop/db, to: shop/web, protocol: TCP, port: 80, expect: Deny}
- {from: shop/web, to: shop/db, protocol: TCP, port: 5432, expect: Allow}
`;

// No protocol: TCP, as explain assumes (db-from-web allows TCP only, so UDP would be denied).
const TEST_DEFAULTS = `
include: [cluster.yaml]
flows:
- {from: shop/web, to: shop/db, port: 5432, expect: Allow}
`;

// Flows that cannot be evaluated: each problem carries the file:line:col of the field it is about.
const TEST_BAD_FLOWS = `include: [cluster.yaml]
flows:
- {from: shop/web, to: shop/db, port: 5432, expect: Allow}
- {from: shop/ghost, to: shop/db, port: 5432, expect: Allow}
- from: shop/web
  to: shop/db
  port: 99999
  expect: Deny
`;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tabby-explain-'));
  await writeFile(path.join(dir, 'cluster.yaml'), CLUSTER);
  await writeFile(path.join(dir, 'pass.yaml'), TEST_PASSING);
  await writeFile(path.join(dir, 'fail.yaml'), TEST_FAILING);
  await writeFile(path.join(dir, 'defaults.yaml'), TEST_DEFAULTS);
  await writeFile(path.join(dir, 'bad-flows.yaml'), TEST_BAD_FLOWS);
  await writeFile(path.join(dir, 'broken.yaml'), 'resources: [{apiVersion: projectcalico.org/v3, kind: GlobalNetworkPolicy, metadata: {name: x}, spec: {selector: "a =="}}]\nflows: []\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tabby explain', () => {
  it('prints each end tier by tier, the verdict and the pending verdict', async () => {
    const run = await captureCli(['explain', '-f', 'cluster.yaml', '--from', 'shop/web', '--to', 'shop/db', '--port', '5432'], { cwd: dir });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Flow: shop/web → shop/db TCP port 5432');
    expect(run.stdout).toContain('Ingress of shop/db: Allow');
    expect(run.stdout).toContain('tier security: GlobalNetworkPolicy security.block  no rule matched');
    expect(run.stdout).toContain('tier default: StagedNetworkPolicy shop/db-lockdown  skipped  (staged: not enforced)');
    expect(run.stdout).toContain('→ Allow by tier default: NetworkPolicy shop/db-from-web, rule 0');
    expect(run.stdout).toContain('Verdict: Allow');
    expect(run.stdout).toContain('Pending (staged policies enforced): Deny');
  });

  it('takes an address an endpoint owns as that endpoint, and emits the stable JSON contract', async () => {
    const run = await captureCli(['explain', '-f', 'cluster.yaml', '--from', '198.51.100.7', '--to', '10.1.0.2', '--port', '5432', '-o', 'json'], { cwd: dir });
    expect(run.code).toBe(0);
    const v = JSON.parse(run.stdout);
    expect(v).toMatchObject({
      verdict: 'Deny',
      egress: null,
      ingress: { endpoint: 'shop/db', verdict: 'Deny', decision: { action: 'Deny', tier: 'security', kind: 'GlobalNetworkPolicy', policy: 'security.block', rule: 0 } },
      pending: { verdict: 'Deny' },
    });
    expect(Object.keys(v.ingress)).toEqual(['endpoint', 'verdict', 'decision', 'trace']);
  });

  it('rejects a flow end it cannot resolve with one line and exit 3 (not found, as the README says)', async () => {
    const run = await captureCli(['explain', '-f', 'cluster.yaml', '--from', 'shop/nope', '--to', 'shop/db'], { cwd: dir });
    expect(run.code).toBe(3);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('unknown endpoint "shop/nope"');
  });

  it('reports usage errors with exit 2', async () => {
    expect((await captureCli(['explain', '-f', 'cluster.yaml', '--from', 'shop/web'], { cwd: dir })).code).toBe(2);
    expect((await captureCli(['explain', '-f', 'cluster.yaml', '--from', 'shop/web', '--to', 'shop/db', '--port', 'x'], { cwd: dir })).code).toBe(2);
  });
});

describe('tabby explain: issue 12 §5', () => {
  it('an unknown hep: end exits 3 too; a malformed address stays invalid input (1)', async () => {
    const hep = await captureCli(['explain', '-f', 'cluster.yaml', '--from', 'hep:nope', '--to', 'shop/db'], { cwd: dir });
    expect(hep.code).toBe(3);
    expect(hep.stderr).toBe('error: unknown endpoint "hep:nope": no HostEndpoint of that name\n');
    const bad = await captureCli(['explain', '-f', 'cluster.yaml', '--from', '999.1.1.1', '--to', 'shop/db'], { cwd: dir });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('invalid IP address "999.1.1.1"');
  });

  it('the end of a tier reads as what happened, naming the policy considered last; the JSON is unchanged', async () => {
    // web → db on 80: db-from-web (the only enforced policy in default for db's ingress) does not match.
    const run = await captureCli(['explain', '-f', 'cluster.yaml', '--from', 'shop/web', '--to', 'shop/db', '--port', '80'], { cwd: dir });
    expect(run.code).toBe(0);
    const ingress = run.stdout.slice(run.stdout.indexOf('  Ingress of shop/db'));
    expect(ingress).toContain('    Deny: end of tier default (no policy in the tier matched; last considered: shop/db-from-web)\n' +
      '    → Deny: end of tier default (no policy in the tier matched; last considered: shop/db-from-web)\n');
    expect(run.stdout).not.toContain('NetworkPolicy shop/db-from-web  Deny');
    const json = JSON.parse((await captureCli(['explain', '-f', 'cluster.yaml', '--from', 'shop/web', '--to', 'shop/db', '--port', '80', '-o', 'json'], { cwd: dir })).stdout);
    expect(json.ingress.decision).toEqual({ action: 'Deny', tier: 'default', kind: 'NetworkPolicy', policy: 'shop/db-from-web', rule: -1 });
    expect(json.ingress.trace.at(-1)).toEqual({
      endpoint: 'shop/db', stage: 'normal', action: 'Deny', rule: -1, tier: 'default', kind: 'NetworkPolicy',
      policy: 'shop/db-from-web', note: 'end of tier: defaultAction Deny',
    });
  });
});

describe('tabby test: issue 12 §5', () => {
  it('takes -f like every other command, several times and beside positional paths', async () => {
    const run = await captureCli(['test', '-f', 'pass.yaml', '-f', 'defaults.yaml'], { cwd: dir });
    expect(run.stdout).toContain('PASS  pass.yaml');
    expect(run.stdout).toContain('PASS  defaults.yaml  (1 flows, 0 orderings)');
    expect(run.code).toBe(0);
    const mixed = await captureCli(['test', '-f', 'pass.yaml', 'defaults.yaml', '-o', 'json'], { cwd: dir });
    expect(JSON.parse(mixed.stdout).files.map((f: { file: string }) => f.file)).toEqual(['pass.yaml', 'defaults.yaml']);
    expect((await captureCli(['test'], { cwd: dir })).stderr).toBe('error: no test files given: tabby test -f FILE|DIR...\n');
  });

  it('a flow without protocol is TCP, as in explain', async () => {
    const run = await captureCli(['test', 'defaults.yaml', '-o', 'json'], { cwd: dir });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).files[0].flows[0]).toMatchObject({ flow: { protocol: 'TCP' }, pass: true, verdict: 'Allow' });
  });

  it('problems in flows carry file:line:col of the field', async () => {
    const run = await captureCli(['test', '-f', 'bad-flows.yaml'], { cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('  ✗ shop/ghost → shop/db TCP port 5432  (bad-flows.yaml:4:3)\n' +
      '      bad-flows.yaml:4:4: flows[1].from: unknown endpoint "shop/ghost": no Pod or WorkloadEndpoint of that namespace/name\n');
    expect(run.stdout).toContain('      bad-flows.yaml:7:3: flows[2].port: a port is an integer 0–65535, not 99999\n');
  });

  it('--help summarises the file format with an example', async () => {
    const run = await captureCli(['test', '--help']);
    expect(run.stdout).toContain('-f, --filename PATH');
    expect(run.stdout).toContain('protocol is TCP unless given');
    expect(run.stdout).toContain('#   - {from: shop/web, to: shop/db, port: 5432, expect: Allow}');
  });
});

describe('tabby test', () => {
  it('passes a file whose flows, decisions, pending verdicts and orderings hold', async () => {
    const run = await captureCli(['test', 'pass.yaml'], { cwd: dir });
    expect(run.stdout).toContain('PASS  pass.yaml  (2 flows, 1 orderings)');
    expect(run.stdout).toContain('3 check(s): 3 passed, 0 failed');
    expect(run.code).toBe(0);
  });

  it('fails with the trace of each failing flow, exit 1, and a JSON report', async () => {
    const text = await captureCli(['test', 'fail.yaml'], { cwd: dir });
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('✗ shop/db → shop/web TCP port 80');
    expect(text.stdout).toContain('expected Deny, got Allow');
    expect(text.stdout).toContain('Ingress of shop/web: Allow');
    const json = await captureCli(['test', 'fail.yaml', 'pass.yaml', '-o', 'json'], { cwd: dir });
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({ passed: 4, failed: 1 });
    expect(report.files[0].flows[0]).toMatchObject({ pass: false, verdict: 'Allow' });
    expect(Object.keys(report.files[0].flows[0])).toEqual(['flow', 'verdict', 'egress', 'ingress', 'pending', 'pass', 'failures', 'source']);
    expect(report.files[0].flows[0].source).toBe('fail.yaml:4:3');
  });

  it('reports a file whose resources are invalid as an error', async () => {
    const run = await captureCli(['test', 'broken.yaml', '-o', 'json'], { cwd: dir });
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report.files[0].error).toContain('resources[0].spec.selector');
    expect(report.failed).toBe(1);
  });
});
