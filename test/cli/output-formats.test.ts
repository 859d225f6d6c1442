// Issue 12 §3: kubectl's output habits on `tabby get`: --show-labels, -o custom-columns[-file]=…,
// -o jsonpath[-file]=… (kubectl's dialect), -o name as `kind.group/name` (what get/delete/label/patch take back),
// template errors as usage errors (exit 2) naming the problem, and no colour or terminal sequence in output that
// is not a terminal. On the file store, in-process.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { captureCli } from './captureCli.js';

const root = mkdtempSync(join(tmpdir(), 'tabby-output-formats-'));
const env = { TABBY_DATASTORE: `file:${join(root, 'store')}` };
const get = (...args: string[]) => captureCli(['get', ...args], { env, cwd: root });

const OBJECTS = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-dns, labels: {team: net, app.kubernetes.io/name: dns}}
spec: {order: 100, selector: all(), types: [Egress], egress: [{action: Allow, protocol: UDP, destination: {ports: [53, 5353]}}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: zz-last}
spec: {order: 2000, selector: all(), types: [Ingress]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: b-unordered}
spec: {selector: all(), types: [Ingress]}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: calico-np, namespace: default}
spec: {selector: all(), types: [Ingress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: k8s-np, namespace: default}
spec: {podSelector: {}}
---
apiVersion: v1
kind: Namespace
metadata: {name: default}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default, labels: {app: web}}
spec: {nodeName: node-1, containers: [{name: c, image: x}]}
status: {podIP: 10.0.0.5}
`;

beforeAll(async () => {
  const applied = await captureCli(['apply', '-f', '-'], { env, cwd: root, stdin: OBJECTS });
  expect(applied.stderr).toBe('');
  expect(applied.code).toBe(0);
}, 30_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('tabby get --show-labels', () => {
  it('adds LABELS as kubectl: k=v pairs sorted by key, or <none>', async () => {
    const pods = await get('pods', '--show-labels');
    // NAMESPACE only with -A, as kubectl.
    expect(pods.stdout.split('\n')[0]).toMatch(/^NAME\s+STATUS\s+LABELS$/);
    expect(pods.stdout).toMatch(/^web\s+\S+\s+app=web$/m);
    const everywhere = await get('pods', '-A', '--show-labels');
    expect(everywhere.stdout.split('\n')[0]).toMatch(/^NAMESPACE\s+NAME\s+STATUS\s+LABELS$/);
    expect(everywhere.stdout).toMatch(/^default\s+web\s+\S+\s+app=web$/m);
    const gnps = await get('gnp', 'allow-dns', '--show-labels');
    expect(gnps.stdout).toMatch(/^allow-dns\s+app\.kubernetes\.io\/name=dns,projectcalico\.org\/tier=default,team=net$/m);
    const ns = await get('namespaces', '--show-labels');
    expect(ns.stdout).toMatch(/^default\s+(<none>|\S+=\S+)$/m);
    // Without the flag, no LABELS column.
    expect((await get('pods')).stdout).not.toContain('LABELS');
  });
});

describe('tabby get -o custom-columns', () => {
  it('prints the columns kubectl would, <none> for a missing value, several values comma-separated', async () => {
    const run = await get('gnp', '-o', 'custom-columns=NAME:.metadata.name,ORDER:.spec.order,PORTS:.spec.egress[*].destination.ports[*]');
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n').map((l) => l.trimEnd())).toEqual([
      'NAME          ORDER    PORTS',
      'allow-dns     100      53,5353',
      'b-unordered   <none>   <none>',
      'zz-last       2000     <none>',
      '',
    ]);
    // kubectl's relaxed paths: braces and the leading dot optional.
    const relaxed = await get('gnp', 'zz-last', '-o', 'custom-columns=N:metadata.name,O:{.spec.order}');
    expect(relaxed.stdout).toMatch(/^N\s+O\nzz-last\s+2000\n$/);
  });

  it('reads -o custom-columns-file=FILE: headers on the first line, paths on the second', async () => {
    writeFileSync(join(root, 'cols.txt'), 'NAME          ORDER\n.metadata.name .spec.order\n');
    const run = await get('gnp', 'allow-dns', '-o', 'custom-columns-file=cols.txt');
    expect(run.stdout).toMatch(/^NAME\s+ORDER\nallow-dns\s+100\n$/);
    writeFileSync(join(root, 'bad-cols.txt'), 'NAME ORDER\n.metadata.name\n');
    const bad = await get('gnp', '-o', 'custom-columns-file=bad-cols.txt');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/number of headers \(2\) and field specifications \(1\) don't match/);
    const missing = await get('gnp', '-o', 'custom-columns-file=nope.txt');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: cannot read template file nope\.txt: ENOENT\n$/);
  });
});

describe('tabby get -o jsonpath', () => {
  const jsonpath = async (template: string, ...args: string[]) => {
    const run = await get(...(args.length > 0 ? args : ['gnp']), '-o', `jsonpath=${template}`);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    return run.stdout;
  };

  it("runs kubectl's templates over the List, or over the one object asked for by name", async () => {
    expect(await jsonpath('{.items[*].metadata.name}')).toBe('allow-dns b-unordered zz-last');
    expect(await jsonpath('{range .items[*]}{.metadata.name}{"\\t"}{.spec.order}{"\\n"}{end}'))
      .toBe('allow-dns\t100\nb-unordered\t\nzz-last\t2000\n');
    expect(await jsonpath('{.items[0].metadata.name} {.items[-1].metadata.name} {.items[0:2].spec.order}')).toBe('allow-dns zz-last 100');
    expect(await jsonpath('{.items[?(@.spec.order > 500)].metadata.name}')).toBe('zz-last');
    expect(await jsonpath('{.items[?(@.metadata.name == "allow-dns")].spec.order}')).toBe('100');
    expect(await jsonpath('{.metadata.labels.app\\.kubernetes\\.io/name}', 'gnp', 'allow-dns')).toBe('dns');
    expect(await jsonpath("{.metadata.labels['team']}", 'gnp', 'allow-dns')).toBe('net');
    expect(await jsonpath('{.spec.egress[0].destination}', 'gnp', 'allow-dns')).toBe('{"ports":[53,5353]}');
    expect(await jsonpath('{..ports[*]}', 'gnp', 'allow-dns')).toBe('53 5353');
    expect(await jsonpath('{.kind}:{.items[*].kind}')).toBe('List:GlobalNetworkPolicy GlobalNetworkPolicy GlobalNetworkPolicy');
    // A missing key prints nothing (kubectl's --allow-missing-template-keys=true).
    expect(await jsonpath('[{.spec.nope}]', 'gnp', 'allow-dns')).toBe('[]');
  });

  it('reads -o jsonpath-file=FILE', async () => {
    writeFileSync(join(root, 'names.tmpl'), '{range .items[*]}{.metadata.name}{"\\n"}{end}');
    expect(await get('gnp', '-o', 'jsonpath-file=names.tmpl').then((r) => r.stdout)).toBe('allow-dns\nb-unordered\nzz-last\n');
  });

  it.each([
    ['jsonpath={.items[*].metadata.name', /unclosed action: '\{' at column 1 has no '\}'/],
    ['jsonpath={.items[}', /unterminated '\['/],
    ['jsonpath={range .items[*]}{.metadata.name}', /\{range\} without \{end\}/],
    ['jsonpath={.metadata.name}{end}', /\{end\} at column 17 closes no \{range\}/],
    ['jsonpath={.items[x]}', /invalid array index 'x'/],
    ['jsonpath={.a b}', /unrecognized character " " at column 4/],
    ['jsonpath={"unterminated}', /unterminated quoted string/],
    ['jsonpath=', /-o jsonpath needs its template/],
    ['custom-columns=NAME', /unexpected custom-columns spec 'NAME', expected <header>:<json-path-expr>/],
    ['custom-columns=', /-o custom-columns needs its template/],
    ['custom-columns=N:.items[', /column N: unterminated '\['/],
  ])('-o %s is a usage error naming the problem', async (output, message) => {
    const run = await get('gnp', '-o', output);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('tabby get -o name', () => {
  it('prints kind.group/name as kubectl, which get takes back', async () => {
    expect((await get('gnp', '-o', 'name')).stdout).toBe([
      'globalnetworkpolicy.projectcalico.org/allow-dns',
      'globalnetworkpolicy.projectcalico.org/b-unordered',
      'globalnetworkpolicy.projectcalico.org/zz-last',
      '',
    ].join('\n'));
    expect((await get('networkpolicy.projectcalico.org,networkpolicy.networking.k8s.io,pods,namespaces', '-o', 'name')).stdout).toBe([
      'networkpolicy.projectcalico.org/calico-np',
      'networkpolicy.networking.k8s.io/k8s-np',
      'pod/web',
      'namespace/default',
      '',
    ].join('\n'));
  });
});

describe('colour', () => {
  it('output that is not a terminal, or with NO_COLOR, carries no ESC sequence', async () => {
    for (const extra of [{}, { NO_COLOR: '1' }]) {
      for (const args of [['get', 'gnp', '-o', 'wide', '--show-labels'], ['get', 'pods', '-w', '--help'], ['matrix', '--port', '80']]) {
        const run = await captureCli(args, { env: { ...env, ...extra }, cwd: root });
        expect(run.stdout + run.stderr).not.toMatch(/\u001b/);
      }
    }
  });
});
