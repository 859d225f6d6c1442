// Issue 12 §2: a dump of a live cluster (`kubectl get networkpolicies,pods,namespaces -A -o yaml`) applies into an
// empty store, directly and through `tabby convert`, on the file store and on real etcd. The dump's server-managed
// metadata (resourceVersion, uid, creationTimestamp, generation, managedFields) belongs to the cluster; a
// resourceVersion still guards objects this store holds.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { captureCli } from './captureCli.js';
import { storesUnderTest } from './stores.js';

const root = mkdtempSync(join(tmpdir(), 'tabby-migration-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const managed = (rv: string, uid: string) => `    resourceVersion: "${rv}"
    uid: ${uid}
    creationTimestamp: "2024-05-01T10:00:00Z"
    generation: 3
    managedFields:
    - apiVersion: v1
      fieldsType: FieldsV1
      fieldsV1: {f:metadata: {f:labels: {}}}
      manager: kubectl-client-side-apply
      operation: Update
      time: "2024-05-01T10:00:00Z"`;

/** As `kubectl get networkpolicies,pods,namespaces -A -o yaml` prints it: one v1 List. */
const dump = (ns: string): string => `apiVersion: v1
kind: List
metadata:
  resourceVersion: ""
items:
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata:
    name: allow-web
    namespace: ${ns}
${managed('918273', '0b9a7c4e-1111-4a5b-9c1d-2e3f4a5b6c7d')}
  spec:
    podSelector: {matchLabels: {app: backend}}
    ingress:
    - from: [{podSelector: {matchLabels: {app: frontend}}}]
      ports: [{port: 8080, protocol: TCP}]
    policyTypes: [Ingress]
- apiVersion: v1
  kind: Pod
  metadata:
    name: backend
    namespace: ${ns}
    labels: {app: backend}
${managed('918300', '1c2d3e4f-2222-4a5b-9c1d-2e3f4a5b6c7d')}
  spec:
    nodeName: n1
    containers: [{name: c, image: nginx, ports: [{containerPort: 8080, protocol: TCP}]}]
  status:
    phase: Running
    podIP: 10.0.0.2
    podIPs: [{ip: 10.0.0.2}]
- apiVersion: v1
  kind: Namespace
  metadata:
    name: ${ns}
    labels: {kubernetes.io/metadata.name: ${ns}}
${managed('100', '2d3e4f5a-3333-4a5b-9c1d-2e3f4a5b6c7d')}
  spec: {finalizers: [kubernetes]}
  status: {phase: Active}
`;

const DUMP = dump('shop');

const SERVER_FIELDS = ['uid: 0b9a', 'uid: 1c2d', 'uid: 2d3e', 'managedFields', 'generation', '2024-05-01T10:00:00Z', '918273', '918300'];

describe('tabby convert of a cluster dump', () => {
  it('carries none of the source store\'s server-managed metadata', async () => {
    const run = await captureCli(['convert', '-f', '-'], { stdin: DUMP, cwd: root });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('name: allow-web');
    for (const field of [...SERVER_FIELDS, 'resourceVersion', 'creationTimestamp']) {
      // Pods and Namespaces pass through convert unchanged; only the converted policy is checked for them all.
      const policy = run.stdout.split('\n---\n').find((doc) => doc.includes('allow-web'))!;
      expect(policy, field).not.toContain(field);
    }
  });
});

for (const store of storesUnderTest(root, 'migration')) {
  describe.skipIf(store.skip !== undefined)(`kubectl dump → tabby apply on the ${store.name}`, () => {
    it('applies every object into an empty store, with this store\'s own metadata', async () => {
      const ds = store.location();
      const env = { TABBY_DATASTORE: ds };
      const apply = await captureCli(['apply', '-f', '-'], { stdin: DUMP, cwd: root, env });
      expect(apply.stderr).toBe('');
      expect(apply.code).toBe(0);
      expect(apply.stdout).toContain('Successfully applied 3');
      const got = await captureCli(['get', 'knp', 'allow-web', '-n', 'shop', '-o', 'yaml'], { cwd: root, env });
      expect(got.code, got.stderr).toBe(0);
      for (const field of SERVER_FIELDS) expect(got.stdout, field).not.toContain(field);
      expect(got.stdout).toMatch(/resourceVersion: "\d+"/);
      expect(got.stdout).toMatch(/uid: [0-9a-f-]{36}/);
      // The pod's status (its IP) is what Calico makes its workload endpoint from: kept.
      const pod = await captureCli(['get', 'pod', 'backend', '-n', 'shop', '-o', 'yaml'], { cwd: root, env });
      expect(pod.code, pod.stderr).toBe(0);
      expect(pod.stdout).toContain('10.0.0.2');
      expect(pod.stdout).not.toContain('managedFields');
    });

    it('applies the converted dump as well', async () => {
      const env = { TABBY_DATASTORE: store.location() };
      const converted = await captureCli(['convert', '-f', '-'], { stdin: dump('conv'), cwd: root });
      expect(converted.code, converted.stderr).toBe(0);
      const apply = await captureCli(['apply', '-f', '-'], { stdin: converted.stdout, cwd: root, env });
      expect(apply.code, apply.stderr).toBe(0);
      expect(apply.stdout).toContain('Successfully applied 3');
    });

    it('a resourceVersion still guards an object this store holds: stale → conflict (exit 5)', async () => {
      const env = { TABBY_DATASTORE: store.location() };
      const ops = dump('ops');
      expect((await captureCli(['apply', '-f', '-'], { stdin: ops, cwd: root, env })).code).toBe(0);
      // The same dump again: the object exists here now, and the cluster's resourceVersion is not its version.
      const again = await captureCli(['apply', '-f', '-'], { stdin: ops, cwd: root, env });
      expect(again.code).toBe(5);
      expect(again.stderr).toMatch(/conflict/i);
      // With the version this store returned, the apply goes through.
      const current = await captureCli(['get', 'knp', 'allow-web', '-n', 'ops', '-o', 'yaml'], { cwd: root, env });
      expect(current.code, current.stderr).toBe(0);
      const fresh = await captureCli(['apply', '-f', '-'], { stdin: current.stdout, cwd: root, env });
      expect(fresh.code, fresh.stderr).toBe(0);
    });
  });
}
