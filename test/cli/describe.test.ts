// `tabby describe KIND NAME` (issue 12 §3): the object as kubectl describe shows it, plus what Tabby knows about
// it — for a policy the endpoints it selects, its place in its tier and its rules (hit counts only with a running
// agent: without one it says so), for an endpoint its policies per direction and labels, for a tier its
// policies in order, for a network set the rules that select it. From manifests (-f) and from the file store.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { captureCli } from './captureCli.js';

const dir = mkdtempSync(join(tmpdir(), 'tabby-describe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CLUSTER = `
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {kubernetes.io/metadata.name: shop, team: blue}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}, annotations: {owner: alice}}
spec: {nodeName: n1, containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {app: db}}
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIP: 10.0.0.2}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: n1-eth0, labels: {role: node}}
spec: {node: n1, interfaceName: eth0, expectedIPs: [192.168.1.10]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: feed, labels: {feed: bad}}
spec: {nets: [203.0.113.0/24]}
---
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 100, defaultAction: Pass}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: a-first}
spec: {tier: security, order: 10, selector: all(), egress: [{action: Deny, destination: {selector: feed == 'bad'}}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: web-in}
spec:
  tier: security
  order: 20
  selector: app == 'web'
  ingress:
  - {action: Allow, protocol: TCP, source: {selector: app == 'db'}, destination: {ports: [8080, http]}}
  - {action: Deny}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: z-last}
spec: {tier: security, selector: all(), types: [Ingress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress]
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]
`;

const file = join(dir, 'cluster.yaml');
writeFileSync(file, CLUSTER);
// An empty state directory: no agent has ever run for node n1.
const stateDir = join(dir, 'state');
const env = { TABBY_STATE_DIR: stateDir };
const describeF = (...argv: string[]) => captureCli(['describe', ...argv, '-f', file, '--state-dir', stateDir], { env });

describe('tabby describe a policy', () => {
  it('shows the object, its place in its tier, the endpoints it selects and its rules', async () => {
    const run = await describeF('gnp', 'web-in');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe([
      'Name:         web-in',
      'Kind:         GlobalNetworkPolicy (projectcalico.org/v3)',
      'Labels:       projectcalico.org/tier=security',
      'Annotations:  <none>',
      'Tier:         security (order 100, default action Pass); policy 2 of 3',
      '  Before:     1. GlobalNetworkPolicy a-first  order 10',
      '  After:      3. GlobalNetworkPolicy z-last  no order',
      'Order:        20',
      'Selector:     app == "web"',
      'Types:        Ingress',
      'Selects:      1 endpoint',
      '  shop/web  10.0.0.1  node n1',
      'Ingress rules:',
      '  0. Allow TCP from selector (app == "db") to ports 8080,http',
      '  1. Deny all traffic',
      'Egress rules: <none>',
      'Hit counts:   no agent running: no hit counts (nodes n1)',
      '',
    ].join('\n'));
  });

  it('-o json has a stable shape: object, policy (placement, selects, rules with hits) and hitCounts', async () => {
    const run = await describeF('globalnetworkpolicy', 'web-in', '-o', 'json');
    expect(run.code).toBe(0);
    const r = JSON.parse(run.stdout);
    expect(Object.keys(r)).toEqual(['about', 'object', 'policy', 'notes', 'hitCounts']);
    expect(r.about).toBe('policy');
    expect(r.object).toEqual({
      kind: 'GlobalNetworkPolicy', apiVersion: 'projectcalico.org/v3', name: 'web-in', namespace: null,
      labels: { 'projectcalico.org/tier': 'security' }, annotations: {}, resourceVersion: null, creationTimestamp: null,
    });
    expect(r.policy.placement).toEqual({
      tier: 'security', tierOrder: 100, defaultAction: 'Pass', tierExists: true, position: 2, count: 3,
      before: [{ kind: 'GlobalNetworkPolicy', policy: 'a-first', order: 10, staged: false }],
      after: [{ kind: 'GlobalNetworkPolicy', policy: 'z-last', order: null, staged: false }],
    });
    expect(r.policy.selects.map((e: { ref: string }) => e.ref)).toEqual(['shop/web']);
    expect(r.policy.rules.ingress).toEqual([
      { index: 0, action: 'Allow', text: 'Allow TCP from selector (app == "db") to ports 8080,http', hits: null },
      { index: 1, action: 'Deny', text: 'Deny all traffic', hits: null },
    ]);
    expect(r.hitCounts).toEqual({ available: false, nodes: [], reason: 'no agent running: no hit counts (nodes n1)' });
  });

  it('describes a Kubernetes NetworkPolicy by kubectl names, with -n or ns/name, in the default tier at order 1000', async () => {
    const run = await describeF('netpol', 'db-from-web', '-n', 'shop');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Namespace:    shop\nKind:         NetworkPolicy (networking.k8s.io/v1)\n');
    expect(run.stdout).toContain('Tier:         default (order 1000000, default action Deny); policy 1 of 1\nOrder:        1000\n');
    expect(run.stdout).toContain('Selects:      1 endpoint\n  shop/db  10.0.0.2  node n1\n');
    expect((await describeF('netpol', 'shop/db-from-web')).stdout).toBe(run.stdout);
    expect((await describeF('networkpolicy.networking.k8s.io/db-from-web', '-n', 'shop')).stdout).toBe(run.stdout);
  });
});

describe('tabby describe an endpoint, a tier, a network set', () => {
  it('a Pod: labels, annotations, effective labels, profiles and policies per direction', async () => {
    const run = await describeF('pod', 'web', '-n', 'shop');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Labels:       app=web\nAnnotations:  owner=alice\n');
    expect(run.stdout).toContain('Effective:    app=web\n              pcns.kubernetes.io/metadata.name=shop\n');
    expect(run.stdout).toContain([
      'profiles: kns.shop',
      '',
      'ingress',
      '  tier security (end of tier: Pass)',
      '    1. GlobalNetworkPolicy web-in  order 20',
      '    2. GlobalNetworkPolicy z-last  no order',
      '  then, if every tier passes: profiles kns.shop, then drop',
      '',
      'egress',
      '  tier security (end of tier: Pass)',
      '    1. GlobalNetworkPolicy a-first  order 10',
    ].join('\n'));
    const json = JSON.parse((await describeF('po', 'shop/web', '-o', 'json')).stdout);
    expect(json.about).toBe('endpoint');
    expect(json.endpoint.stages[0].ingress[0].policies.map((p: { policy: string }) => p.policy)).toEqual(['web-in', 'z-last']);
  });

  it('a HostEndpoint: its four stages', async () => {
    const run = await describeF('hep', 'n1-eth0');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('hep:n1-eth0  HostEndpoint; node n1, interface eth0, 192.168.1.10');
    expect(run.stdout).toContain('ingress (preDNAT stage)');
  });

  it('a Tier: order, default action and its policies in evaluation order; built-in tiers without a resource too', async () => {
    const run = await describeF('tier', 'security');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain([
      'Order:        100',
      'Default:      Pass (when no policy of the tier decides)',
      'Policies:     3, in evaluation order',
      '  1. GlobalNetworkPolicy a-first  order 10',
      '  2. GlobalNetworkPolicy web-in  order 20',
      '  3. GlobalNetworkPolicy z-last  no order',
    ].join('\n'));
    const builtin = await describeF('tier', 'default');
    expect(builtin.code).toBe(0);
    expect(builtin.stdout).toContain('Policies:     1, in evaluation order\n  1. KubernetesNetworkPolicy shop/db-from-web  order 1000\n');
    expect(builtin.stdout).toContain('Note: a built-in tier (no Tier resource stored)');
  });

  it('a GlobalNetworkSet: its nets and the rules whose selectors match it', async () => {
    const run = await describeF('gns', 'feed');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Nets:         203.0.113.0/24\n');
    expect(run.stdout).toContain('Selected by:  1 rule\n  GlobalNetworkPolicy a-first  egress rule 0 (destination)\n');
  });

  it('a profile Calico derives from a Namespace (kns.*), as tabby get lists it, though none is stored', async () => {
    const run = await describeF('profile', 'kns.shop');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Name:\s+kns\.shop$/m);
    expect(run.stdout).toContain('"pcns.team": "blue"');
    expect((await describeF('profile', 'kns.nope')).code).toBe(3);
  });
});

describe('tabby describe from the datastore, and its errors', () => {
  const store = `file:${join(dir, 'store')}`;

  it('reads the datastore without -f, with the stored resourceVersion', async () => {
    expect((await captureCli(['apply', '-f', file, '--allow-lockout', '--datastore', store])).code).toBe(0);
    const run = await captureCli(['describe', 'gnp/web-in', '--datastore', store, '--state-dir', stateDir]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Name: {9}web-in\n/);
    expect(run.stdout).toMatch(/\nRevision: {5}\d+\n/);
    expect(run.stdout).toContain('Tier:         security (order 100, default action Pass); policy 2 of 3');
  });

  it('not found: exit 3 naming the object; unknown kind: exit 2 with a suggestion; no name: exit 2', async () => {
    const missing = await describeF('gnp', 'nope');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toBe('error: GlobalNetworkPolicy "nope" not found (tabby get globalnetworkpolicy lists what exists)\n');
    const typo = await describeF('globalnetworkpolcy', 'web-in');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("did you mean 'globalnetworkpolicy'?");
    expect((await describeF('gnp')).code).toBe(2);
    expect((await describeF('gnp', 'web-in', '-n', 'shop')).stderr).toContain('GlobalNetworkPolicy is not namespaced');
  });
});

describe('tabby describe prints stored text safely', () => {
  it('an annotation holding a newline and an escape is shown quoted, on one line', async () => {
    const hostile = join(dir, 'hostile.yaml');
    writeFileSync(hostile, `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: noted
  annotations: {note: "line one\\nName:         forged\\u001b[2J"}
spec: {selector: all(), ingress: [{action: Allow}]}
`);
    const run = await captureCli(['describe', 'gnp', 'noted', '-f', hostile, '--state-dir', stateDir], { env });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Annotations:  note="line one\\nName:         forged\\u001b[2J"\n');
    expect(run.stdout).not.toContain('\u001b');
    expect(run.stdout.match(/^Name:/gm)).toHaveLength(1);
  });
});
