// Issue 16 §2: the rbac.authorization.k8s.io/v1 kinds are stored like every other kind — apply, get (kubectl's
// columns), delete, -o name — in the file store and in etcd (under Calico's etcdv3 prefix with their own group),
// validated as the API server does, and a binding's roleRef cannot change. Through the CLI, as a user types it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { humanDuration } from '../../src/cli/output/age.js';
import { keyPath, parseKeyPath } from '../../src/datastore/keys.js';
import { captureCli } from './captureCli.js';
import { storesUnderTest } from './stores.js';

const root = mkdtempSync(join(tmpdir(), 'tabby-rbac-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const RBAC = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "tier:security-reader"}
rules:
- apiGroups: [projectcalico.org]
  resources: [tiers]
  resourceNames: [security]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: netpol-editor, namespace: shop}
rules:
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: ["*"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: dev-netpol, namespace: shop}
subjects:
- {kind: User, name: dev}
- {kind: User, name: dev2}
- {kind: Group, name: devs}
- {kind: ServiceAccount, name: ci}
roleRef: {kind: Role, name: netpol-editor}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: sec-tier}
subjects:
- {kind: User, name: sec}
- {kind: ServiceAccount, name: bot, namespace: tools}
roleRef: {kind: ClusterRole, name: "tier:security-reader"}
`;

function file(name: string, text: string): string {
  const p = join(root, name);
  writeFileSync(p, text);
  return p;
}

describe('RBAC kinds: keys and ages', () => {
  it('are stored under their API group, as Kubernetes kinds are', () => {
    expect(keyPath({ kind: 'RoleBinding', namespace: 'shop', name: 'b' })).toBe('rbac.authorization.k8s.io/rolebindings/shop/b');
    expect(keyPath({ kind: 'ClusterRole', name: 'system:x' })).toBe('rbac.authorization.k8s.io/clusterroles/system:x');
    expect(parseKeyPath('rbac.authorization.k8s.io/roles/shop/r')).toEqual({ kind: 'Role', namespace: 'shop', name: 'r' });
  });
  it('AGE is kubectl\'s HumanDuration', () => {
    expect([5e3, 150e3, 9 * 60e3, 20 * 60e3, 5 * 3600e3 + 20 * 60e3, 30 * 3600e3, 76 * 3600e3, 400 * 86400e3, 3 * 365 * 86400e3 + 10 * 86400e3]
      .map(humanDuration)).toEqual(['5s', '2m30s', '9m', '20m', '5h20m', '30h', '3d4h', '400d', '3y10d']);
  });
});

for (const s of storesUnderTest(root, 'rbac resources')) {
  describe.skipIf(s.skip !== undefined)(`RBAC kinds on the ${s.name}`, () => {
    let ds: string[];
    const tabby = (...argv: string[]) => captureCli([...argv, ...ds], { cwd: root });
    beforeAll(async () => {
      ds = ['--datastore', s.location()];
      for (const k of ['rolebindings -A', 'roles -A', 'clusterrolebindings', 'clusterroles']) {
        const listed = JSON.parse((await tabby('get', ...k.split(' '), '-o', 'json')).stdout) as { items: Array<{ metadata: { name: string; namespace?: string } }> };
        for (const i of listed.items) await tabby('delete', k.split(' ')[0]!, i.metadata.name, ...(i.metadata.namespace ? ['-n', i.metadata.namespace] : []));
      }
    });

    it('apply stores them; get prints kubectl\'s columns; -o name and kind.group refs work; delete removes', async () => {
      const applied = await tabby('apply', '-f', file('rbac.yaml', RBAC));
      expect(applied.stderr).toBe('');
      expect(applied.code).toBe(0);

      const roles = await tabby('get', 'clusterroles');
      expect(roles.stdout).toMatch(/^NAME\s+CREATED AT\ntier:security-reader\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$/);
      const rb = await tabby('get', 'rolebindings', '-n', 'shop', '-o', 'wide');
      expect(rb.stdout.split('\n')[0]!.split(/\s{2,}/)).toEqual(['NAME', 'ROLE', 'AGE', 'USERS', 'GROUPS', 'SERVICEACCOUNTS']);
      expect(rb.stdout.split('\n')[1]).toMatch(/^dev-netpol\s+Role\/netpol-editor\s+\d+s\s+dev, dev2\s+devs\s+:ci$/);
      const crb = await tabby('get', 'clusterrolebinding', '-o', 'wide');
      expect(crb.stdout.split('\n')[1]).toMatch(/^sec-tier\s+ClusterRole\/tier:security-reader\s+\d+s\s+sec\s+tools:bot$/);
      const all = await tabby('get', 'rolebindings', '-A');
      expect(all.stdout.split('\n')[0]!.split(/\s{2,}/)).toEqual(['NAMESPACE', 'NAME', 'ROLE', 'AGE']);

      const names = await tabby('get', 'roles,rolebindings', '-n', 'shop', '-o', 'name');
      expect(names.stdout.trim().split('\n')).toEqual(['role.rbac.authorization.k8s.io/netpol-editor', 'rolebinding.rbac.authorization.k8s.io/dev-netpol']);
      const yaml = await tabby('get', 'rolebinding.rbac.authorization.k8s.io/dev-netpol', '-n', 'shop', '-o', 'json');
      const stored = JSON.parse(yaml.stdout) as { roleRef: unknown; subjects: Array<{ apiGroup?: string }> };
      expect(stored.roleRef).toEqual({ kind: 'Role', name: 'netpol-editor', apiGroup: 'rbac.authorization.k8s.io' });
      expect(stored.subjects.map((x) => x.apiGroup)).toEqual(['rbac.authorization.k8s.io', 'rbac.authorization.k8s.io', 'rbac.authorization.k8s.io', undefined]);

      const deleted = await tabby('delete', 'clusterrolebinding/sec-tier');
      expect(deleted.code).toBe(0);
      expect((await tabby('get', 'clusterrolebinding', 'sec-tier')).code).toBe(3);
    });

    it('describe prints a role\'s rules and a binding\'s role and subjects in kubectl\'s layout', async () => {
      await tabby('apply', '-f', file('rbac.yaml', RBAC));
      const role = await tabby('describe', 'clusterrole', 'tier:security-reader');
      expect(role.stdout).toContain([
        'PolicyRule:',
        '  Resources                Non-Resource URLs  Resource Names  Verbs',
        '  ---------                -----------------  --------------  -----',
        '  tiers.projectcalico.org  []                 [security]      [get]',
      ].join('\n'));
      const binding = await tabby('describe', 'rolebinding/dev-netpol', '-n', 'shop');
      expect(binding.stdout).toContain([
        'Role:', '  Kind:  Role', '  Name:  netpol-editor', 'Subjects:',
        '  Kind            Name  Namespace', '  ----            ----  ---------',
        '  User            dev', '  User            dev2', '  Group           devs', '  ServiceAccount  ci',
      ].join('\n'));
      const json = JSON.parse((await tabby('describe', 'clusterrolebinding', 'sec-tier', '-o', 'json')).stdout) as { about: string; rbac: { roleRef: { name: string } } };
      expect(json.about).toBe('rbac');
      expect(json.rbac.roleRef.name).toBe('tier:security-reader');
    });

    it('refuses a changed roleRef (exit 1, nothing written) and an invalid object, naming file, line and field', async () => {
      await tabby('apply', '-f', file('rbac.yaml', RBAC));
      const changed = await tabby('apply', '-f', file('changed.yaml', RBAC.split('---\n')[2]!.replace('kind: Role, name: netpol-editor', 'kind: ClusterRole, name: admin')));
      expect(changed.code).toBe(1);
      expect(changed.stderr).toContain('roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", Name:"admin"}: cannot change roleRef');
      const after = JSON.parse((await tabby('get', 'rolebinding', 'dev-netpol', '-n', 'shop', '-o', 'json')).stdout) as { roleRef: { kind: string } };
      expect(after.roleRef.kind).toBe('Role');

      const bad = await tabby('apply', '-f', file('bad.yaml', 'apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r, namespace: shop}\nrules:\n- verbs: [get]\n  nonResourceURLs: [/metrics]\n'));
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('bad.yaml:6:3: Role shop/r: rules[0].nonResourceURLs: Invalid value: []string{"/metrics"}: namespaced rules cannot apply to non-resource URLs');
    });
  });
}
