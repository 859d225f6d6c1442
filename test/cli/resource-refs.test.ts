// Objects named as kubectl names them — `KIND/NAME`, `kind.group/NAME`, several at once — on get, delete, label and
// patch, against a real file store: what `tabby get -o name` prints can be fed back (`| xargs tabby delete`), the
// group tells Calico's NetworkPolicy from Kubernetes', and mixing the two forms or a bad ref is one clear line.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EXIT } from '../../src/cli/command.js';
import { captureCli, type CliRun } from './captureCli.js';

const root = mkdtempSync(join(tmpdir(), 'tabby-refs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const ds = ['--datastore', `file:${join(root, 'store')}`];

function tabby(argv: string[]): Promise<CliRun> {
  return captureCli([...argv, ...ds], { cwd: root });
}

const OBJECTS = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-dns}
spec: {selector: all(), types: [Egress], egress: [{action: Allow, protocol: UDP, destination: {ports: [53]}}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: deny-all}
spec: {order: 2000, selector: all(), types: [Ingress]}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: web, namespace: prod}
spec: {selector: app == 'web', ingress: [{action: Allow}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: prod}
spec: {podSelector: {}, policyTypes: [Ingress]}
`;

beforeAll(async () => {
  writeFileSync(join(root, 'objects.yaml'), OBJECTS);
  expect((await tabby(['apply', '-f', 'objects.yaml'])).code).toBe(0);
});

describe('KIND/NAME and kind.group/NAME references', () => {
  it('get accepts every spelling of a ref, and several of them', async () => {
    for (const ref of ['gnp/allow-dns', 'globalnetworkpolicy/allow-dns', 'globalnetworkpolicies/allow-dns',
      'globalnetworkpolicy.projectcalico.org/allow-dns', 'GlobalNetworkPolicy.projectcalico.org/allow-dns']) {
      const run = await tabby(['get', ref, '-o', 'name']);
      expect({ ref, ...run }).toEqual({ ref, code: 0, stdout: 'globalnetworkpolicy.projectcalico.org/allow-dns\n', stderr: '' });
    }
    const two = await tabby(['get', 'gnp/allow-dns', 'gnp/deny-all', '-o', 'name']);
    expect(two.stdout).toBe('globalnetworkpolicy.projectcalico.org/allow-dns\nglobalnetworkpolicy.projectcalico.org/deny-all\n');
  });

  it('the group tells Calico NetworkPolicy from Kubernetes NetworkPolicy', async () => {
    const calico = JSON.parse((await tabby(['get', 'networkpolicy.projectcalico.org/web', '-n', 'prod', '-o', 'json'])).stdout);
    expect(calico.apiVersion).toBe('projectcalico.org/v3');
    const k8s = await tabby(['get', 'networkpolicy.networking.k8s.io/web', '-n', 'prod', '-o', 'json']);
    expect(k8s.code).toBe(0);
    expect(JSON.parse(k8s.stdout).apiVersion).toBe('networking.k8s.io/v1');
    // Kinds of different groups in one command.
    const both = await tabby(['get', 'networkpolicy.networking.k8s.io/web', 'networkpolicy.projectcalico.org/web', '-n', 'prod', '-o', 'name']);
    expect(both.stdout).toBe('networkpolicy.networking.k8s.io/web\nnetworkpolicy.projectcalico.org/web\n');
  });

  it('label and patch take refs, several at once', async () => {
    const label = await tabby(['label', 'gnp/allow-dns', 'globalnetworkpolicy.projectcalico.org/deny-all', 'owner=netops']);
    expect(label).toEqual({
      code: 0, stderr: '',
      stdout: 'Successfully updated labels on GlobalNetworkPolicy allow-dns (set owner=netops)\n' +
        'Successfully updated labels on GlobalNetworkPolicy deny-all (set owner=netops)\n',
    });
    // kubectl's form too: one kind, several names, then the changes.
    expect((await tabby(['label', 'gnp', 'allow-dns', 'deny-all', 'team=a'])).code).toBe(0);
    const patch = await tabby(['patch', 'gnp/allow-dns', 'gnp/deny-all', '-p', '{"spec":{"order":77}}']);
    expect(patch).toEqual({ code: 0, stdout: "Successfully patched 2 'GlobalNetworkPolicy' resources\n", stderr: '' });
    const listed = JSON.parse((await tabby(['get', 'gnp', '-l', 'owner=netops,team=a', '-o', 'json'])).stdout);
    expect(listed.items.map((i: { spec: { order: number } }) => i.spec.order)).toEqual([77, 77]);
  });

  it('patch of several objects writes none when one of them cannot be patched', async () => {
    const run = await tabby(['patch', 'gnp/allow-dns', 'gnp/deny-all', '--type', 'json', '-p', '[{"op":"remove","path":"/spec/egress"}]']);
    expect(run.code).toBe(EXIT.failure);
    expect(run.stderr).toBe('error: GlobalNetworkPolicy deny-all: operation 0 (remove /spec/egress): /spec/egress does not exist\n');
    expect(JSON.parse((await tabby(['get', 'gnp/allow-dns', '-o', 'json'])).stdout).spec.egress).toHaveLength(1);
  });

  it('get -o name | xargs tabby delete round-trips (the list as get prints it)', async () => {
    const names = (await tabby(['get', 'gnp', '-o', 'name'])).stdout.trim().split('\n');
    expect(names).toEqual(['globalnetworkpolicy.projectcalico.org/allow-dns', 'globalnetworkpolicy.projectcalico.org/deny-all']);
    const dry = await tabby(['delete', ...names, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('Dry run: 0 to create, 0 to update, 0 unchanged, 2 to delete; nothing was written');
    const run = await tabby(['delete', ...names]);
    expect(run).toEqual({ code: 0, stdout: "Successfully deleted 2 'GlobalNetworkPolicy' resource(s)\n", stderr: '' });
    expect((await tabby(['get', 'gnp'])).stderr).toBe('No resources found.\n');
    // Namespaced refs take their namespace from -n, as kubectl.
    const k8s = await tabby(['delete', 'networkpolicy.networking.k8s.io/web', '-n', 'prod']);
    expect(k8s.stdout).toBe("Successfully deleted 1 'NetworkPolicy' resource(s)\n");
    expect((await tabby(['get', 'np', '-n', 'prod', '-o', 'name'])).stdout).toBe('networkpolicy.projectcalico.org/web\n');
  });

  it('bad refs and mixed forms are one-line usage errors naming the argument', async () => {
    const cases: Array<[string[], string]> = [
      [['get', 'gnp/a', 'b'], "'b' is not KIND/NAME: give every object as KIND/NAME, or the kind once and then names"],
      [['delete', 'gnp', 'np/web'], "'np/web': there is no need to give the kind as a separate argument"],
      [['get', 'gnp/'], "'gnp/' is not KIND/NAME"],
      [['get', 'np/prod/web'], "the namespace of a namespaced object is given with -n"],
      [['delete', 'frob.projectcalico.org/x'], "unknown resource type 'frob.projectcalico.org': the group 'projectcalico.org' has"],
      [['delete', 'networkpolicy.example.com/x'], "unknown resource type 'networkpolicy.example.com' (known: "],
      [['label', 'gnp/x'], 'which labels? give key=value to set and key- to remove'],
      [['patch', 'gnp'], 'which GlobalNetworkPolicy?'],
    ];
    for (const [argv, message] of cases) {
      const run = await tabby(argv);
      expect({ argv, code: run.code }).toEqual({ argv, code: EXIT.usage });
      expect(run.stderr).toContain(message);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
    }
    const missing = await tabby(['delete', 'gnp/nope']);
    expect(missing.code).toBe(EXIT.notFound);
  });
});
