// `--dry-run` on apply, create, replace and delete against real stores (a file store in a temp directory, and a
// real etcd when one is installed): the reachability impact of the changes after the diffs — flows between the
// endpoints already stored that become allowed or denied, and pending verdicts — in text and as the JSON contract;
// the checks between objects a real run would hit; and nothing written.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EXIT } from '../../src/cli/command.js';
import { captureCli, type CliRun } from './captureCli.js';
import { storesUnderTest } from './stores.js';


const root = mkdtempSync(join(tmpdir(), 'tabby-dry-run-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function tabby(argv: string[]): Promise<CliRun> {
  return captureCli(argv, { cwd: root });
}

function file(name: string, text: string): string {
  const p = join(root, name);
  writeFileSync(p, text);
  return p;
}

const CLUSTER = file('cluster.yaml', `apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: frontend, namespace: shop, labels: {app: frontend}}
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: backend, namespace: shop, labels: {app: backend}}
spec: {nodeName: n1, containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
status: {podIP: 10.0.0.2}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: backend-from-frontend, namespace: shop}
spec:
  order: 100
  selector: app == 'backend'
  ingress: [{action: Allow, protocol: TCP, source: {selector: app == 'frontend'}, destination: {ports: [http]}}]
`);

const DENY = file('deny.yaml', `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: default-deny}
spec:
  order: 1000
  selector: projectcalico.org/namespace == 'shop'
  types: [Ingress, Egress]
`);

const SECURITY = file('security.yaml', `apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 100}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security.block-frontend}
spec:
  tier: security
  selector: app == 'backend'
  ingress:
    - {action: Deny, source: {selector: app == 'frontend'}}
    - {action: Pass}
`);

const ORPHAN = file('orphan.yaml', `apiVersion: projectcalico.org/v3
kind: StagedGlobalNetworkPolicy
metadata: {name: lock-backend}
spec:
  order: 10
  selector: app == 'backend'
  ingress: [{action: Deny}]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: audit.log-all}
spec:
  tier: audit
  selector: all()
  ingress: [{action: Log}]
`);

const STORES = storesUnderTest(root, 'dry-run impact');

for (const s of STORES) {
  describe.skipIf(s.skip !== undefined)(`--dry-run reachability impact on the ${s.name}`, () => {
    let ds: string[];
    beforeAll(async () => {
      ds = ['--datastore', s.location()];
      expect((await tabby(['apply', '-f', CLUSTER, ...ds])).code).toBe(0);
    });
    const stored = async () => (await tabby(['get', 'gnp,tier', '-o', 'name', ...ds])).stdout;

    it('apply: the flows a default deny closes, with what now denies them; nothing written', async () => {
      const before = await stored();
      const run = await tabby(['apply', '-f', DENY, '--dry-run', ...ds]);
      expect(run.code).toBe(0);
      const impact = run.stdout.slice(run.stdout.indexOf('\nReachability impact:\n') + 1);
      expect(impact).toBe([
        'Reachability impact:',
        '  Between the 2 endpoints that exist before and after and 1 outside address class (0.0.0.0/0 outside every ' +
          'named net); probes: TCP/8080, TCP/1024 (any other port)',
        '  shop/backend → shop/frontend TCP/8080, TCP other ports: Allow → Deny, now denied at egress of shop/backend by ' +
          'the end of tier default: no rule of its policies matched (first: GlobalNetworkPolicy default-deny)',
        '  shop/backend → 0.0.0.0/0 outside every named net [1.0.0.1] TCP/8080, TCP other ports: Allow → Deny, now denied ' +
          'at egress of shop/backend by the end of tier default: no rule of its policies matched (first: GlobalNetworkPolicy default-deny)',
        '  shop/frontend → shop/backend TCP/8080: Allow → Deny, now denied at egress of shop/frontend by ' +
          'the end of tier default: no rule of its policies matched (first: GlobalNetworkPolicy default-deny)',
        '  shop/frontend → 0.0.0.0/0 outside every named net [1.0.0.1] TCP/8080, TCP other ports: Allow → Deny, now denied ' +
          'at egress of shop/frontend by the end of tier default: no rule of its policies matched (first: GlobalNetworkPolicy default-deny)',
        '  0.0.0.0/0 outside every named net [1.0.0.1] → shop/frontend TCP/8080, TCP other ports: Allow → Deny, now denied ' +
          'at ingress of shop/frontend by the end of tier default: no rule of its policies matched (first: GlobalNetworkPolicy default-deny)',
        '  0 flows newly allowed, 9 newly denied',
        '',
      ].join('\n'));
      expect(await stored()).toBe(before);
    });

    it('-o json: the objects, the counts and the impact as a stable contract', async () => {
      const run = await tabby(['apply', '-f', DENY, '--dry-run', '-o', 'json', ...ds]);
      expect(run.code).toBe(0);
      const out = JSON.parse(run.stdout) as Record<string, unknown>;
      expect(Object.keys(out)).toEqual(['dryRun', 'objects', 'summary', 'impactScope', 'impact', 'lockout']);
      expect(out.objects).toEqual([{ kind: 'GlobalNetworkPolicy', name: 'default-deny', source: `${DENY}:1:1`, action: 'create', error: null }]);
      expect(out.summary).toEqual({ create: 1, update: 0, unchanged: 0, delete: 0, skip: 0, fail: 0 });
      expect(out.impactScope).toBe('all');
      const impact = out.impact as Record<string, unknown>;
      expect(Object.keys(impact)).toEqual([
        'changed', 'probes', 'probesLeftOut', 'pendingCompared', 'endpoints', 'external', 'counts', 'flows', 'flowsLeftOut', 'notes',
      ]);
      expect(impact.external).toEqual([{ address: '1.0.0.1', cidr: '0.0.0.0/0', namedBy: [], class: '0.0.0.0/0 outside every named net' }]);
      expect(impact.counts).toEqual({ allowed: 0, denied: 9, pendingAllowed: 0, pendingDenied: 0 });
      expect((impact.flows as Array<{ to: string }>)[2]).toMatchObject({
        from: 'shop/backend', to: '1.0.0.1', protocol: 'TCP', port: 8080, stands: 'named',
        external: { end: 'to', address: '1.0.0.1', cidr: '0.0.0.0/0', namedBy: [], class: '0.0.0.0/0 outside every named net' },
      });
      expect((impact.flows as unknown[])[4]).toEqual({
        from: 'shop/frontend', to: 'shop/backend', protocol: 'TCP', port: 8080, stands: 'named',
        enforced: {
          before: {
            verdict: 'Allow', egress: { action: 'Allow', profile: 'kns.shop', rule: 0 },
            ingress: { action: 'Allow', tier: 'default', kind: 'NetworkPolicy', policy: 'shop/backend-from-frontend', rule: 0 },
          },
          after: {
            verdict: 'Deny', egress: { action: 'Deny', tier: 'default', kind: 'GlobalNetworkPolicy', policy: 'default-deny', rule: -1 },
            ingress: { action: 'Allow', tier: 'default', kind: 'NetworkPolicy', policy: 'shop/backend-from-frontend', rule: 0 },
          },
        },
        pending: null,
      });
    });

    it('delete: removing an allow denies what it allowed', async () => {
      const run = await tabby(['delete', 'np', 'backend-from-frontend', '-n', 'shop', '--dry-run', ...ds]);
      expect(run.code).toBe(0);
      // Backend has no policy left: its profile allows everything, on every port.
      expect(run.stdout).toContain('  shop/frontend → shop/backend TCP other ports: Deny → Allow, now allowed at ingress of shop/backend by profile kns.shop rule 0\n');
      expect(run.stdout).toContain('  0.0.0.0/0 outside every named net [1.0.0.1] → shop/backend TCP/8080, TCP other ports: Deny → Allow, ' +
        'now allowed at ingress of shop/backend by profile kns.shop rule 0\n');
      expect(run.stdout).toContain('  3 flows newly allowed, 0 newly denied\n');
      expect((await tabby(['get', 'np', '-n', 'shop', '-o', 'name', ...ds])).stdout).toBe('networkpolicy.projectcalico.org/backend-from-frontend\n');
    });

    it('a tier and its policy in one file: planned in order, and the impact names the tier', async () => {
      const run = await tabby(['create', '-f', SECURITY, '--dry-run', ...ds]);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Tier security: create (dry run)');
      expect(run.stdout).toContain('GlobalNetworkPolicy security.block-frontend: create (dry run)');
      expect(run.stdout).toContain('  shop/frontend → shop/backend TCP/8080: Allow → Deny, now denied at ingress of shop/backend by ' +
        'GlobalNetworkPolicy security.block-frontend rule 0 (tier security)\n');
      expect(await stored()).not.toContain('security');
    });

    it('a policy in a missing tier would fail as the real run fails; the impact is of what runs before it', async () => {
      const run = await tabby(['apply', '-f', ORPHAN, '--dry-run', ...ds]);
      expect(run.code).toBe(EXIT.notFound);
      expect(run.stdout).toContain('GlobalNetworkPolicy audit.log-all: would fail: resource does not exist: Tier(audit): ' +
        `GlobalNetworkPolicy(audit.log-all) is in tier audit, which must be created first (${ORPHAN}:9:1)`);
      // The staged policy before it would be created: pending verdicts into backend change.
      expect(run.stdout).toContain('(of the changes before the first failure, where the run stops)');
      expect(run.stdout).toContain('  pending: shop/frontend → shop/backend TCP/8080: Allow → Deny, now denied at ingress of shop/backend by ' +
        'StagedGlobalNetworkPolicy lock-backend rule 0 (tier default)\n');
      expect(run.stdout).toContain('  0 flows newly allowed, 0 newly denied; pending verdicts (staged policies enforced): 0 newly allowed, 1 newly denied\n');
      const real = await tabby(['apply', '-f', ORPHAN, ...ds]);
      expect(real.code).toBe(EXIT.notFound);
      expect(real.stderr).toContain('(create it first: tabby create -f tier.yaml (a Tier named audit); tabby get tier lists the tiers)');
      expect((await tabby(['delete', '-f', ORPHAN, '--skip-not-exists', ...ds])).code).toBe(0);
    });

    it('deleting a built-in or non-empty tier would fail, as it fails for real', async () => {
      const builtin = await tabby(['delete', 'tier', 'default', '--dry-run', ...ds]);
      expect(builtin.code).toBe(EXIT.failure);
      expect(builtin.stdout).toContain('Tier default: would fail: operation Delete is not supported on Tier(default): Cannot delete default tier');
      expect((await tabby(['create', '-f', SECURITY, ...ds])).code).toBe(0);
      const busy = await tabby(['delete', 'tier', 'security', ...ds]);
      expect(busy).toMatchObject({ code: EXIT.failure, stdout: '' });
      expect(busy.stderr).toContain('operation delete is not supported on Tier(security): Cannot delete a non-empty tier ' +
        '(it holds GlobalNetworkPolicy(security.block-frontend); delete them first)');
      // Deleting the policy and then the tier in one run is fine, in that order.
      const both = await tabby(['delete', '-f', SECURITY, '--dry-run', ...ds]);
      expect(both.stdout).toContain('Tier security: would fail');
      const ordered = file('security-reversed.yaml', SECURITY_REVERSED);
      const run = await tabby(['delete', '-f', ordered, '--dry-run', ...ds]);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('  shop/frontend → shop/backend TCP/8080: Deny → Allow');
      expect((await tabby(['delete', '-f', ordered, ...ds])).code).toBe(0);
    });

    it('no impact section when nothing changes; -o only with --dry-run', async () => {
      const run = await tabby(['apply', '-f', CLUSTER, '--dry-run', ...ds]);
      expect(run.code).toBe(0);
      expect(run.stdout).not.toContain('Reachability impact');
      const usage = await tabby(['apply', '-f', CLUSTER, '-o', 'json', ...ds]);
      expect(usage.code).toBe(EXIT.usage);
      expect(usage.stderr).toContain('-o selects the format of the --dry-run report; add --dry-run or drop -o');
    });
  });
}

const SECURITY_REVERSED = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security.block-frontend}
spec: {tier: security, selector: all()}
---
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
`;

// Issue 11 §3: the impact saw only flows between endpoints. `tabby delete gnp block-feed --dry-run` said "no flow
// between existing endpoints changes its verdict" while `tabby explain` showed web → 203.0.113.7 denied by that
// policy, and an allow-all egress policy listed no internet impact. Now the outside address classes are compared.
describe('--dry-run impact on the world outside the cluster (file store)', () => {
  const FEED = file('feed.yaml', `apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIP: 10.0.0.1}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: feed, labels: {feed: bad}}
spec: {nets: [203.0.113.0/24]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: block-feed}
spec:
  order: 10
  selector: all()
  types: [Egress]
  egress: [{action: Deny, destination: {selector: feed == 'bad'}}, {action: Allow}]
`);
  const LOCKED = file('locked.yaml', `apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIP: 10.0.0.1}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: deny-egress}
spec: {order: 100, selector: all(), types: [Egress]}
`);
  const ALLOW_ALL = file('allow-all.yaml', `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-all-egress}
spec: {order: 1, selector: all(), types: [Egress], egress: [{action: Allow}]}
`);
  const feedStore = ['--datastore', `file:${join(root, 'feed-store')}`];
  const lockedStore = ['--datastore', `file:${join(root, 'locked-store')}`];
  beforeAll(async () => {
    expect((await tabby(['apply', '-f', FEED, ...feedStore])).code).toBe(0);
    expect((await tabby(['apply', '-f', LOCKED, ...lockedStore])).code).toBe(0);
  });

  it('delete gnp block-feed --dry-run: web → the feed opens up, named by its class', async () => {
    const explained = await tabby(['explain', '--from', 'shop/web', '--to', '203.0.113.7', '--port', '443', ...feedStore]);
    expect(explained.stdout).toMatch(/Deny/);
    expect(explained.stdout).toMatch(/block-feed/);

    const run = await tabby(['delete', 'gnp', 'block-feed', '--dry-run', ...feedStore]);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toMatch(/no flow between existing endpoints/);
    expect(run.stdout).toContain('  Between the 1 endpoint that exist before and after and 2 outside address classes ' +
      '(0.0.0.0/0 outside every named net; 203.0.113.0/24 (GlobalNetworkSet feed)); probes: TCP/1024 (any other port)\n');
    expect(run.stdout).toContain('  shop/web → 203.0.113.0/24 (GlobalNetworkSet feed) [203.0.113.1] TCP other ports: Deny → Allow, ' +
      'now allowed at egress of shop/web by profile kns.shop rule 0\n');
    // Anywhere else was allowed by block-feed's second rule and is allowed by the profile after: unchanged.
    expect(run.stdout).not.toMatch(/shop\/web → 0\.0\.0\.0\/0/);
    expect(run.stdout).toContain('  1 flow newly allowed, 0 newly denied\n');

    const json = JSON.parse((await tabby(['delete', 'gnp', 'block-feed', '--dry-run', '-o', 'json', ...feedStore])).stdout);
    expect(json.impact.external).toEqual([
      { address: '1.0.0.1', cidr: '0.0.0.0/0', namedBy: [], class: '0.0.0.0/0 outside every named net' },
      { address: '203.0.113.1', cidr: '203.0.113.0/24', namedBy: ['GlobalNetworkSet feed'], class: '203.0.113.0/24 (GlobalNetworkSet feed)' },
    ]);
    expect(json.impact.flows).toEqual([expect.objectContaining({
      from: 'shop/web', to: '203.0.113.1', protocol: 'TCP', port: 1024, stands: 'other',
      external: { end: 'to', address: '203.0.113.1', cidr: '203.0.113.0/24', namedBy: ['GlobalNetworkSet feed'], class: '203.0.113.0/24 (GlobalNetworkSet feed)' },
      enforced: expect.objectContaining({
        before: expect.objectContaining({ verdict: 'Deny', egress: expect.objectContaining({ policy: 'block-feed', rule: 0 }), ingress: null }),
        after: expect.objectContaining({ verdict: 'Allow', ingress: null }),
      }),
    })]);
    // Nothing was deleted.
    expect((await tabby(['get', 'gnp', '-o', 'name', ...feedStore])).stdout).toBe('globalnetworkpolicy.projectcalico.org/block-feed\n');
  });

  it('apply an allow-all egress policy --dry-run: the internet impact is listed', async () => {
    const run = await tabby(['apply', '-f', ALLOW_ALL, '--dry-run', ...lockedStore]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('  shop/web → 0.0.0.0/0 outside every named net [1.0.0.1] TCP other ports: Deny → Allow, ' +
      'now allowed at egress of shop/web by GlobalNetworkPolicy allow-all-egress rule 0 (tier default)\n');
    expect(run.stdout).toContain('  1 flow newly allowed, 0 newly denied\n');
    expect((await tabby(['get', 'gnp', '-o', 'name', ...lockedStore])).stdout).toBe('globalnetworkpolicy.projectcalico.org/deny-egress\n');
  });
});
