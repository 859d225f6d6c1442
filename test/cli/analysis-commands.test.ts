// `tabby matrix`, `tabby policies-for` and `tabby select` as a user runs them: outputs, the JSON contracts,
// exit codes, and how bad input is reported (the same issue lines as `tabby validate`, nothing on stdout).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { captureCli } from './captureCli.js';

const dir = mkdtempSync(join(tmpdir(), 'tabby-analysis-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CLUSTER = `
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {kubernetes.io/metadata.name: shop, team: blue}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ops, labels: {kubernetes.io/metadata.name: ops}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {nodeName: n1, containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {app: db}}
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIP: 10.0.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: tool, namespace: ops, labels: {app: tool}}
spec: {nodeName: n2, containers: [{name: c}]}
status: {podIP: 10.0.1.1}
---
apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata: {name: partners, namespace: shop, labels: {partner: 'true'}}
spec: {nets: [172.20.0.0/24]}
---
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 100, defaultAction: Pass}
`;

const POLICIES = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress]
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: no-ops-to-web}
spec:
  tier: security
  order: 10
  selector: app == 'web'
  ingress: [{action: Deny, source: {namespaceSelector: "kubernetes.io/metadata.name == 'ops'"}}]
---
apiVersion: projectcalico.org/v3
kind: StagedNetworkPolicy
metadata: {name: lock-web, namespace: shop}
spec:
  selector: app == 'web'
  ingress: [{action: Deny}]
`;

writeFileSync(join(dir, 'cluster.yaml'), CLUSTER);
writeFileSync(join(dir, 'policies.yaml'), POLICIES);
writeFileSync(join(dir, 'bad.yaml'), `${CLUSTER}---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: broken}
spec:
  selector: app ==
  ingress: [{action: Allow}]
`);

const files = ['-f', join(dir, 'cluster.yaml'), '-f', join(dir, 'policies.yaml')];

describe('tabby matrix', () => {
  it('prints the truth table (rows = from, `.` allowed) and a summary on stderr', async () => {
    const run = await captureCli(['matrix', ...files, '--port', '8080', '--endpoints-only']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe([
      '-        ops/tool shop/db  shop/web',
      'ops/tool .        X        X',
      'shop/db  .        X        .',
      'shop/web .        .        .',
      '',
    ].join('\n'));
    expect(run.stderr).toBe('TCP/8080: 6 of 9 pairs allowed (3 endpoints in 3 groups)\n');
  });

  it('adds the outside address classes as columns (egress to them) and rows (ingress from them), with a legend', async () => {
    const run = await captureCli(['matrix', ...files, '--port', '8080']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe([
      '-             ops/tool      shop/db       shop/web      0.0.0.0/0     172.20.0.0/24',
      'ops/tool      .             X             X             .             .',
      'shop/db       .             X             .             .             .',
      'shop/web      .             .             .             .             .',
      '0.0.0.0/0     .             X             .             -             -',
      '172.20.0.0/24 .             X             .             -             -',
      '',
      'outside address classes (each decided on one address of it, which stands for all):',
      '  0.0.0.0/0 outside every named net: 1.0.0.1',
      '  172.20.0.0/24 (NetworkSet shop/partners): 172.20.0.1',
      '',
    ].join('\n'));
    expect(run.stderr).toBe('TCP/8080: 6 of 9 pairs allowed (3 endpoints in 3 groups); 2 outside address classes (rows and columns named by CIDR)\n');
    const json = JSON.parse((await captureCli(['matrix', ...files, '--port', '8080', '-o', 'json'])).stdout);
    expect(Object.keys(json)).toEqual(['protocol', 'port', 'endpoints', 'external', 'toExternal', 'fromExternal', 'allowed']);
    expect(json.external).toEqual([
      { address: '1.0.0.1', cidr: '0.0.0.0/0', namedBy: [], class: '0.0.0.0/0 outside every named net' },
      { address: '172.20.0.1', cidr: '172.20.0.0/24', namedBy: ['NetworkSet shop/partners'], class: '172.20.0.0/24 (NetworkSet shop/partners)' },
    ]);
    expect(json.toExternal).toEqual([[true, true], [true, true], [true, true]]);
    // db admits only web (db-from-web): nothing from outside.
    expect(json.fromExternal).toEqual([[true, false, true], [true, false, true]]);
  });

  it('-l keeps the endpoints a selector matches; a bad selector is one line, exit 2, nothing on stdout', async () => {
    const run = await captureCli(['matrix', ...files, '--port', '8080', '-l', "app in {'web', 'db'}", '-o', 'csv', '--endpoints-only']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('from\\to,shop/db,shop/web\nshop/db,false,true\nshop/web,true,true\n');
    for (const selector of ['app ==', "app == 'web", 'has(', "app == 'web' &&"]) {
      const bad = await captureCli(['matrix', ...files, '-l', selector]);
      expect(bad.code, selector).toBe(2);
      expect(bad.stdout).toBe('');
      const lines = bad.stderr.trimEnd().split('\n').filter((l) => !l.startsWith('note: '));
      expect(lines, selector).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^error: invalid selector ${JSON.stringify(selector).replace(/[()[\]{}|]/g, '\\$&')}: .+ \\(at character \\d+\\)`));
      expect(bad.stderr).not.toMatch(/\n\s+at |\^/);
    }
    const none = await captureCli(['matrix', ...files, '-l', "app == 'nobody'"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no endpoints with an address matching "app == 'nobody'"/);
  });

  it('computes the pending matrix with --pending', async () => {
    const run = await captureCli(['matrix', ...files, '--port', '8080', '--pending', '-o', 'csv', '--endpoints-only']);
    expect(run.stdout).toBe('from\\to,ops/tool,shop/db,shop/web\nops/tool,true,false,false\nshop/db,true,false,false\nshop/web,true,true,false\n');
  });

  it('writes the JSON contract, with targetPorts for a named port', async () => {
    const run = await captureCli(['matrix', ...files, '--port', 'http', '-o', 'json', '--endpoints-only']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({
      protocol: 'TCP', port: 'http', endpoints: ['ops/tool', 'shop/db', 'shop/web'], targetPorts: [null, null, 8080],
      allowed: [[false, false, false], [false, false, true], [false, false, true]],
    });
    const numeric = JSON.parse((await captureCli(['matrix', ...files, '--protocol', 'udp', '--port', '53', '-o', 'json', '--endpoints-only'])).stdout);
    expect(Object.keys(numeric)).toEqual(['protocol', 'port', 'endpoints', 'allowed']);
    expect(numeric.protocol).toBe('UDP');
    expect(numeric.port).toBe(53);
  });

  it('keeps the namespaces asked for', async () => {
    const run = await captureCli(['matrix', ...files, '-n', 'shop', '-o', 'csv', '--endpoints-only']);
    expect(run.stdout).toBe('from\\to,shop/db,shop/web\nshop/db,false,true\nshop/web,true,true\n');
  });

  it('reports progress on stderr with --progress, keeping stdout parseable', async () => {
    const run = await captureCli(['matrix', ...files, '--progress', '-o', 'json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).endpoints).toHaveLength(3);
    expect(run.stderr).toMatch(/^matrix: pairs 3\/3$/m);
  });

  it('prints the issue lines of invalid manifests and writes nothing', async () => {
    const run = await captureCli(['matrix', '-f', join(dir, 'bad.yaml')]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/bad\.yaml:\d+:\d+: GlobalNetworkPolicy broken: spec\.selector: /);
    expect(run.stderr).toMatch(/error: 1 problem in the manifests; fix it and run tabby matrix again/);
  });

  it('refuses flags that make no flow (exit 2) and says when there is nothing to show (exit 1)', async () => {
    for (const argv of [['--protocol', 'ICMP', '--port', '80'], ['--port', '70000'], ['--port', 'no_such!'], ['-o', 'yaml'], ['--protocol', 'FOO']]) {
      const run = await captureCli(['matrix', ...files, ...argv]);
      expect(run.code, argv.join(' ')).toBe(2);
      expect(run.stdout).toBe('');
    }
    const none = await captureCli(['matrix', ...files, '-n', 'nowhere']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no endpoints with an address in namespace nowhere/);
    // Without -f the datastore is read: an empty one has no endpoints, and a note says why.
    const empty = await captureCli(['matrix', '--datastore', `file:${join(dir, 'empty-store')}`]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/^note: the datastore at file:\S+empty-store \(--datastore\) holds no resources; give manifests with -f PATH/);
  });
});

describe('tabby policies-for', () => {
  it('lists tiers and policies in evaluation order, then the profiles', async () => {
    const run = await captureCli(['policies-for', 'shop/web', ...files]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^shop\/web  WorkloadEndpoint from Pod; node n1, interface cali[0-9a-f]+, 10\.0\.0\.1\nprofiles: kns\.shop\n/);
    expect(run.stdout.split('\n').slice(2)).toEqual([
      '',
      'ingress',
      '  tier security (end of tier: Pass)',
      '    1. GlobalNetworkPolicy no-ops-to-web  order 10',
      '  tier default (end of tier: Deny)',
      '    1. StagedNetworkPolicy shop/lock-web  no order  staged: not enforced',
      '  then, if every tier passes: profiles kns.shop, then drop',
      '',
      'egress',
      '  no policy applies: profiles kns.shop, then drop',
      '',
    ]);
  });

  it('finds an endpoint by address and writes the JSON report', async () => {
    const run = await captureCli(['policies-for', '10.0.0.2', ...files, '-o', 'json']);
    const report = JSON.parse(run.stdout);
    expect(report.endpoint.ref).toBe('shop/db');
    expect(report.endpoint.labels['pcns.team']).toBe('blue');
    expect(report.stages).toEqual([{
      stage: 'normal',
      ingress: [{ tier: 'default', defaultAction: 'Deny', policies: [{ kind: 'KubernetesNetworkPolicy', policy: 'shop/db-from-web', order: 1000, staged: false }] }],
      egress: [],
    }]);
    expect(report.profiles).toEqual([{ name: 'kns.shop', defined: true }]);
  });

  it('says what an unknown endpoint could be', async () => {
    const run = await captureCli(['policies-for', 'web', ...files]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('error: unknown endpoint "web"; did you mean shop/web?\n');
    expect((await captureCli(['policies-for', ...files])).code).toBe(2);
  });
});

describe('tabby select', () => {
  it('lists matching endpoints and network sets with their effective labels', async () => {
    const run = await captureCli(['select', "partner == 'true' || app == 'db'", ...files]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe([
      'selector: (partner == "true" || app == "db")',
      '',
      'endpoints: 1',
      '  shop/db  10.0.0.2',
      '    app=db pcns.kubernetes.io/metadata.name=shop pcns.projectcalico.org/name=shop pcns.team=blue projectcalico.org/namespace=shop projectcalico.org/orchestrator=k8s',
      '',
      'network sets: 1',
      '  NetworkSet shop/partners  172.20.0.0/24',
      '    partner=true pcns.kubernetes.io/metadata.name=shop pcns.projectcalico.org/name=shop pcns.team=blue projectcalico.org/namespace=shop',
      '',
    ].join('\n'));
  });

  it('scopes to a namespace as a NetworkPolicy rule would', async () => {
    const run = await captureCli(['select', 'has(app)', '-n', 'ops', ...files, '-o', 'json']);
    const report = JSON.parse(run.stdout);
    expect(report.selector).toBe('(has(app) && projectcalico.org/namespace == "ops")');
    expect(report.endpoints.map((e: { ref: string }) => e.ref)).toEqual(['ops/tool']);
    expect(report.networkSets).toEqual([]);
  });

  it('shows where an invalid selector goes wrong', async () => {
    const run = await captureCli(['select', 'app ==', ...files]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('error: invalid selector: expected string\napp ==\n      ^\n');
  });
});
