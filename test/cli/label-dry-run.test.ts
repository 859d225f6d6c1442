// `tabby label` against a real file store: --dry-run prints the reachability impact of a label change (a label
// decides which policies select an endpoint) in the shape `apply --dry-run` prints, and writes nothing; a change of
// an existing label without --overwrite is exit 1 and says to add --overwrite; `key-` removes.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EXIT } from '../../src/cli/command.js';
import { captureCli, type CliRun } from './captureCli.js';

const root = mkdtempSync(join(tmpdir(), 'tabby-label-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const ds = ['--datastore', `file:${join(root, 'store')}`];

function tabby(argv: string[]): Promise<CliRun> {
  return captureCli([...argv, ...ds], { cwd: root });
}

const CLUSTER = `apiVersion: v1
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
kind: GlobalNetworkPolicy
metadata: {name: quarantine}
spec:
  order: 10
  selector: quarantine == 'true'
  types: [Ingress, Egress]
`;

const podLabels = async (name: string): Promise<Record<string, string>> =>
  JSON.parse((await tabby(['get', 'pod', name, '-n', 'shop', '-o', 'json'])).stdout).metadata.labels;

beforeAll(async () => {
  writeFileSync(join(root, 'cluster.yaml'), CLUSTER);
  expect((await tabby(['apply', '-f', 'cluster.yaml'])).code).toBe(0);
});

describe('tabby label --dry-run', () => {
  it('prints the diff and the flows the new label closes; nothing written', async () => {
    const run = await tabby(['label', 'pod', 'backend', '-n', 'shop', 'quarantine=true', '--dry-run']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Pod shop/backend: update (dry run)\n');
    expect(run.stdout).toContain('+    quarantine: "true"');
    expect(run.stdout).toContain('Dry run: 0 to create, 1 to update, 0 unchanged, 0 to delete; nothing was written\n');
    const impact = run.stdout.slice(run.stdout.indexOf('\nReachability impact:\n') + 1);
    expect(impact).toContain('  shop/frontend → shop/backend TCP other ports: Allow → Deny, now denied at ingress of shop/backend by ' +
      'the end of tier default: no rule of its policies matched (first: GlobalNetworkPolicy quarantine)\n');
    expect(impact).toContain('  0 flows newly allowed, 4 newly denied\n');
    expect(await podLabels('backend')).toEqual({ app: 'backend' });
  });

  it('-o json is the dry-run contract of apply', async () => {
    const run = await tabby(['label', 'pod/backend', 'pod/frontend', '-n', 'shop', 'quarantine=true', '--dry-run', '-o', 'json']);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as Record<string, any>;
    expect(Object.keys(out)).toEqual(['dryRun', 'objects', 'summary', 'impactScope', 'impact', 'lockout']);
    expect(out.objects).toEqual([
      { kind: 'Pod', namespace: 'shop', name: 'backend', source: null, action: 'update', error: null },
      { kind: 'Pod', namespace: 'shop', name: 'frontend', source: null, action: 'update', error: null },
    ]);
    expect(out.summary).toEqual({ create: 0, update: 2, unchanged: 0, delete: 0, skip: 0, fail: 0 });
    expect(out.impact.counts.denied).toBeGreaterThan(0);
    expect(await podLabels('frontend')).toEqual({ app: 'frontend' });
  });

  it('-o without --dry-run is a usage error', async () => {
    expect((await tabby(['label', 'pod', 'backend', '-n', 'shop', 'x=y', '-o', 'json'])).code).toBe(EXIT.usage);
  });
});

describe('tabby label --overwrite and key-', () => {
  it('an existing key without --overwrite: exit 1, says to add --overwrite, nothing written', async () => {
    const run = await tabby(['label', 'pod', 'backend', 'frontend', '-n', 'shop', 'tier=web', 'app=other']);
    expect(run.code).toBe(EXIT.failure);
    expect(run.stderr).toBe("error: Pod shop/backend: label 'app' already has a value (backend); add --overwrite to change it\n");
    // Nothing was written, not even the label that was new.
    expect(await podLabels('backend')).toEqual({ app: 'backend' });
    expect(await podLabels('frontend')).toEqual({ app: 'frontend' });
    // Setting the value it already has is no change and needs no --overwrite (as kubectl).
    expect((await tabby(['label', 'pod', 'backend', '-n', 'shop', 'app=backend'])).code).toBe(0);
  });

  it('--overwrite changes it; key- removes; a missing key- is a warning', async () => {
    const run = await tabby(['label', 'pod/backend', '-n', 'shop', 'app=api', 'tier=web', '--overwrite']);
    expect(run).toEqual({ code: 0, stderr: '', stdout: 'Successfully updated labels on Pod shop/backend (set app=api, tier=web)\n' });
    expect(await podLabels('backend')).toEqual({ app: 'api', tier: 'web' });
    const removed = await tabby(['label', 'pod', 'backend', '-n', 'shop', 'tier-', 'nope-']);
    expect(removed).toEqual({
      code: 0, stderr: "warning: label 'nope' not found on Pod shop/backend\n",
      stdout: 'Successfully updated labels on Pod shop/backend (removed tier, nope)\n',
    });
    expect(await podLabels('backend')).toEqual({ app: 'api' });
  });
});
