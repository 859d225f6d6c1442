// The API server's NetworkPolicy defaults as a user meets them on the command line: a policy with egress rules and
// no policyTypes is converted with types [Ingress, Egress] (and no "K8s PolicyTypes don't include 'egress'"
// warning), its egress rules are enforced by `tabby explain` and `tabby test`, and `tabby apply` stores it
// defaulted — whether it comes from a file, stdin or a kubectl `kind: List` dump. `egress: []` stays ingress-only.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

import { captureCli } from '../cli/captureCli.js';

const CLUSTER = `
apiVersion: v1
kind: Namespace
metadata: {name: shop}
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
`;

/** web may talk to db on 5432 and nothing else — written, as most are, without policyTypes. */
const EGRESS_RULES = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-egress, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  egress:
  - to: [{podSelector: {matchLabels: {app: db}}}]
    ports: [{port: 5432}]
`;

const EGRESS_EMPTY = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-egress, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  egress: []
`;

const DECLARED_INGRESS_ONLY = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-egress, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  egress:
  - to: [{podSelector: {matchLabels: {app: db}}}]
`;

const WARNING = "K8s PolicyTypes don't include 'egress'";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tabby-k8s-defaults-cli-'));
  await writeFile(path.join(dir, 'cluster.yaml'), CLUSTER);
  await writeFile(path.join(dir, 'egress-rules.yaml'), EGRESS_RULES);
  await writeFile(path.join(dir, 'egress-empty.yaml'), EGRESS_EMPTY);
  await writeFile(path.join(dir, 'declared-ingress.yaml'), DECLARED_INGRESS_ONLY);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function convertedTypes(stdout: string): unknown[] {
  return parseAllDocuments(stdout).map((d) => d.toJS() as { kind: string; spec: { types?: unknown } })
    .filter((r) => r.kind === 'NetworkPolicy').map((r) => r.spec.types);
}

describe('tabby convert', () => {
  it('prints the defaulted types [Ingress, Egress] for egress rules without policyTypes, with no warning', async () => {
    const run = await captureCli(['convert', '-f', 'egress-rules.yaml'], { cwd: dir });
    expect(run.code).toBe(0);
    expect(convertedTypes(run.stdout)).toEqual([['Ingress', 'Egress']]);
    expect(run.stderr).not.toContain(WARNING);
    expect(run.stderr).toBe('converted 1 Kubernetes policy\n');
  });

  it('keeps `egress: []` ingress-only', async () => {
    const run = await captureCli(['convert', '-f', 'egress-empty.yaml'], { cwd: dir });
    expect(run.code).toBe(0);
    expect(convertedTypes(run.stdout)).toEqual([['Ingress']]);
  });

  it('still warns, as Calico does, when declared policyTypes leave out Egress', async () => {
    const run = await captureCli(['convert', '-f', 'declared-ingress.yaml'], { cwd: dir });
    expect(run.code).toBe(0);
    expect(convertedTypes(run.stdout)).toEqual([['Ingress']]);
    expect(run.stderr).toContain(`declared-ingress.yaml:2:1: NetworkPolicy shop/web-egress: warning: spec.policyTypes: ${WARNING}`);
  });

  it('defaults a kubectl `kind: List` dump read from stdin', async () => {
    const items = [EGRESS_RULES, EGRESS_EMPTY.replace('name: web-egress', 'name: open')].map((t) => parse(t) as unknown);
    const dump = JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
    const run = await captureCli(['convert', '-f', '-'], { cwd: dir, stdin: dump });
    expect(run.code).toBe(0);
    expect(convertedTypes(run.stdout)).toEqual([['Ingress', 'Egress'], ['Ingress']]);
    expect(run.stderr).not.toContain(WARNING);
  });
});

describe('tabby explain and tabby test enforce the egress rules', () => {
  it('explain: web → db on 5432 is allowed, web → anywhere else denied by the end of the tier', async () => {
    const allowed = await captureCli(['explain', '-f', 'cluster.yaml', '-f', 'egress-rules.yaml',
      '--from', 'shop/web', '--to', 'shop/db', '--port', '5432'], { cwd: dir });
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toContain('Verdict: Allow');
    const denied = await captureCli(['explain', '-f', 'cluster.yaml', '-f', 'egress-rules.yaml',
      '--from', 'shop/web', '--to', '203.0.113.7', '--port', '443', '-o', 'json'], { cwd: dir });
    expect(denied.code).toBe(0);
    expect(JSON.parse(denied.stdout)).toMatchObject({
      verdict: 'Deny',
      egress: { endpoint: 'shop/web', verdict: 'Deny', decision: { action: 'Deny', tier: 'default' } },
    });
  });

  it('explain: with `egress: []` the policy is ingress-only and egress stays open', async () => {
    const run = await captureCli(['explain', '-f', 'cluster.yaml', '-f', 'egress-empty.yaml',
      '--from', 'shop/web', '--to', '203.0.113.7', '--port', '443', '-o', 'json'], { cwd: dir });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ verdict: 'Allow', egress: { verdict: 'Allow' } });
  });

  it('test: a policy test file asserting the egress verdicts passes', async () => {
    await writeFile(path.join(dir, 'egress.test.yaml'), `
name: web egress
include: [cluster.yaml, egress-rules.yaml]
flows:
- {from: shop/web, to: shop/db, protocol: TCP, port: 5432, expect: Allow}
- {from: shop/web, to: shop/db, protocol: TCP, port: 80, expect: Deny}
- {from: shop/web, to: {ip: 203.0.113.7}, protocol: TCP, port: 443, expect: Deny,
   egress: {action: Deny, tier: default}}
- {from: shop/db, to: {ip: 203.0.113.7}, protocol: TCP, port: 443, expect: Allow}
`);
    const run = await captureCli(['test', 'egress.test.yaml'], { cwd: dir });
    expect(run.stdout).toContain('PASS  egress.test.yaml  (4 flows');
    expect(run.code).toBe(0);
  });
});

describe('tabby apply into the datastore', () => {
  it('stores the defaulted policy, and the engine commands on the datastore enforce it', async () => {
    const store = `file:${path.join(dir, 'store')}`;
    const apply = await captureCli(['apply', '-f', 'cluster.yaml', '-f', 'egress-rules.yaml', '--datastore', store], { cwd: dir });
    expect(apply.stderr).toBe('');
    expect(apply.code).toBe(0);
    const got = await captureCli(['get', 'knp', 'web-egress', '-n', 'shop', '-o', 'json', '--datastore', store], { cwd: dir });
    expect(got.code).toBe(0);
    expect((JSON.parse(got.stdout) as { spec: { policyTypes: unknown; egress: Array<{ ports: unknown }> } }).spec).toMatchObject({
      policyTypes: ['Ingress', 'Egress'],
      egress: [{ ports: [{ port: 5432, protocol: 'TCP' }] }],
    });
    const ns = await captureCli(['get', 'namespace', 'shop', '-o', 'json', '--datastore', store], { cwd: dir });
    expect((JSON.parse(ns.stdout) as { metadata: { labels: unknown } }).metadata.labels).toEqual({ 'kubernetes.io/metadata.name': 'shop' });
    const explain = await captureCli(['explain', '--from', 'shop/web', '--to', '203.0.113.7', '--port', '443', '-o', 'json',
      '--datastore', store], { cwd: dir });
    expect(explain.code).toBe(0);
    expect(JSON.parse(explain.stdout)).toMatchObject({ verdict: 'Deny' });
  });
});
