// `tabby patch --type merge|json` on a real file store, as a user types it: RFC 7386 merge patches (the default),
// RFC 6902 JSON patches with every operation and RFC 6901 pointer escapes, all-or-nothing application (a failed
// test or a bad path: exit 1, nothing written), the result validated like apply, --dry-run with the impact.
// Also the two RFCs' own examples straight through json-patch.ts.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EXIT } from '../../src/cli/command.js';
import { applyJsonPatch, mergePatch, parsePointer } from '../../src/api/json-patch.js';
import { captureCli, type CliRun } from './captureCli.js';

const root = mkdtempSync(join(tmpdir(), 'tabby-patch-'));
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
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIP: 10.0.0.2}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-dns
  labels: {a/b: slash, team: dns}
spec:
  order: 50
  selector: all()
  types: [Egress]
  egress:
    - {action: Allow, protocol: UDP, destination: {ports: [53]}}
    - {action: Allow, protocol: TCP, destination: {ports: [53]}}
`;

async function stored(): Promise<Record<string, any>> {
  const run = await tabby(['get', 'gnp', 'allow-dns', '-o', 'json']);
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout);
}

beforeAll(async () => {
  writeFileSync(join(root, 'cluster.yaml'), CLUSTER);
  expect((await tabby(['apply', '-f', 'cluster.yaml'])).code).toBe(0);
});

describe('tabby patch --type json (RFC 6902)', () => {
  it('applies add, replace, remove, move, copy and test in order, with ~1 escapes and - to append', async () => {
    const ops = [
      { op: 'test', path: '/spec/order', value: 50 },
      { op: 'replace', path: '/spec/order', value: 40 },
      { op: 'add', path: '/spec/egress/-', value: { action: 'Deny' } },
      { op: 'remove', path: '/spec/egress/1' },
      { op: 'copy', from: '/metadata/labels/a~1b', path: '/metadata/labels/copied' },
      { op: 'move', from: '/metadata/labels/team', path: '/metadata/labels/moved' },
      { op: 'add', path: '/spec/egress/0', value: { action: 'Log' } },
    ];
    const run = await tabby(['patch', 'gnp', 'allow-dns', '--type', 'json', '-p', JSON.stringify(ops)]);
    expect(run).toEqual({ code: 0, stdout: "Successfully patched 1 'GlobalNetworkPolicy' resource\n", stderr: '' });
    const after = await stored();
    expect(after.spec.order).toBe(40);
    expect(after.spec.egress.map((r: { action: string }) => r.action)).toEqual(['Log', 'Allow', 'Deny']);
    expect(after.metadata.labels).toEqual({ 'a/b': 'slash', copied: 'slash', moved: 'dns', 'projectcalico.org/tier': 'default' });
  });

  it('a failed test: exit 1, names the operation and the value found, nothing written', async () => {
    const before = await stored();
    const run = await tabby(['patch', 'gnp', 'allow-dns', '--type', 'json', '-p',
      '[{"op":"replace","path":"/spec/order","value":1},{"op":"test","path":"/spec/order","value":7}]']);
    expect(run.code).toBe(EXIT.failure);
    expect(run.stderr).toBe('error: GlobalNetworkPolicy allow-dns: operation 1 (test /spec/order): test failed: /spec/order is 1, not 7\n');
    expect(await stored()).toEqual(before);
  });

  it('bad paths and operations are one-line errors, exit 1 or 2, nothing written', async () => {
    const before = await stored();
    const cases: Array<[string, number, string]> = [
      ['[{"op":"remove","path":"/spec/nope"}]', EXIT.failure, 'operation 0 (remove /spec/nope): /spec/nope does not exist'],
      // ~0 decodes to '~' (no label key may hold one, so the object has none) and is written back escaped.
      ['[{"op":"remove","path":"/metadata/labels/x~0y"}]', EXIT.failure, 'operation 0 (remove /metadata/labels/x~0y): /metadata/labels/x~0y does not exist'],
      ['[{"op":"add","path":"/spec/egress/9","value":{}}]', EXIT.failure, 'index 9 is out of range (the array has 3 elements)'],
      ['[{"op":"replace","path":"/spec/egress/-","value":{}}]', EXIT.failure, "'-' (past the end of the array) names no element"],
      ['[{"op":"add","path":"/spec/egress/01","value":{}}]', EXIT.failure, "'01' is not an array index"],
      ['[{"op":"add","path":"spec","value":1}]', EXIT.failure, 'is not a JSON Pointer'],
      ['[{"op":"add","path":"/metadata/labels/x~2"}]', EXIT.failure, "'~' is written ~0 and '/' is ~1"],
      ['[{"op":"add","path":"/spec/order"}]', EXIT.failure, 'add needs "value"'],
      ['[{"op":"frobnicate","path":"/spec"}]', EXIT.failure, '"op" is one of add, remove, replace, move, copy, test, not "frobnicate"'],
      ['[{"op":"move","from":"/spec","path":"/spec/x"}]', EXIT.failure, 'cannot move /spec into its own child /spec/x'],
      ['{"spec":{}}', EXIT.usage, 'a JSON patch is a list of operations'],
    ];
    for (const [patch, code, message] of cases) {
      const run = await tabby(['patch', 'gnp', 'allow-dns', '--type', 'json', '-p', patch]);
      expect({ patch, code: run.code }).toEqual({ patch, code });
      expect(run.stderr).toContain(message);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(await stored()).toEqual(before);
  });

  it('the result is validated like apply: the error names the field', async () => {
    const run = await tabby(['patch', 'gnp', 'allow-dns', '--type', 'json', '-p', '[{"op":"replace","path":"/spec/egress/0/action","value":"Maybe"}]']);
    expect(run.code).toBe(EXIT.failure);
    expect(run.stderr).toMatch(/^error: GlobalNetworkPolicy\(allow-dns\): spec\.egress\[0\]\.action: /);
    const rename = await tabby(['patch', 'gnp', 'allow-dns', '--type', 'json', '-p', '[{"op":"remove","path":"/metadata"}]']);
    expect(rename.code).toBe(EXIT.failure);
    expect(rename.stderr).toContain('cannot change the apiVersion, kind, name or namespace');
  });
});

describe('tabby patch --type merge (RFC 7386, the default)', () => {
  it('merges objects, null removes, arrays replace; the same with and without --type merge', async () => {
    expect((await tabby(['patch', 'gnp', 'allow-dns', '-p', '{"metadata":{"labels":{"moved":null,"x":"y"}}}'])).code).toBe(0);
    expect((await tabby(['patch', 'gnp', 'allow-dns', '--type', 'merge', '-p', '{"spec":{"egress":[{"action":"Allow"}]}}'])).code).toBe(0);
    const after = await stored();
    expect(after.metadata.labels).toEqual({ 'a/b': 'slash', copied: 'slash', x: 'y', 'projectcalico.org/tier': 'default' });
    expect(after.spec.egress).toEqual([{ action: 'Allow' }]);
  });

  it('strategic and unknown types are usage errors that say what is supported', async () => {
    const strategic = await tabby(['patch', 'gnp', 'allow-dns', '--type', 'strategic', '-p', '{}']);
    expect(strategic.code).toBe(EXIT.usage);
    expect(strategic.stderr).toContain('strategic merge patch is not supported');
    const other = await tabby(['patch', 'gnp', 'allow-dns', '--type', 'xml', '-p', '{}']);
    expect(other).toMatchObject({ code: EXIT.usage, stderr: expect.stringContaining('allowed are merge (RFC 7386, the default) and json (RFC 6902)') });
    const list = await tabby(['patch', 'gnp', 'allow-dns', '-p', '[]']);
    expect(list).toMatchObject({ code: EXIT.usage, stderr: expect.stringContaining('a list of operations is --type json') });
  });
});

describe('tabby patch --dry-run', () => {
  it('prints the diff and the reachability impact as apply --dry-run does; nothing written', async () => {
    const before = await stored();
    const ops = '[{"op":"replace","path":"/spec/egress/0/action","value":"Deny"}]';
    const run = await tabby(['patch', 'gnp/allow-dns', '--type', 'json', '-p', ops, '--dry-run']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('GlobalNetworkPolicy allow-dns: update (dry run)');
    expect(run.stdout).toContain('-    - action: Allow\n+    - action: Deny');
    expect(run.stdout).toContain('Dry run: 0 to create, 1 to update, 0 unchanged, 0 to delete; nothing was written');
    expect(run.stdout).toContain('\nReachability impact:\n');
    expect(run.stdout).toContain('  shop/frontend → shop/backend TCP other ports: Allow → Deny, now denied at egress of shop/frontend by GlobalNetworkPolicy allow-dns rule 0 (tier default)\n');
    const json = await tabby(['patch', 'gnp/allow-dns', '--type', 'json', '-p', ops, '--dry-run', '-o', 'json']);
    const out = JSON.parse(json.stdout) as Record<string, any>;
    expect(Object.keys(out)).toEqual(['dryRun', 'objects', 'summary', 'impactScope', 'impact', 'lockout']);
    expect(out.objects).toEqual([{ kind: 'GlobalNetworkPolicy', name: 'allow-dns', source: null, action: 'update', error: null }]);
    expect(out.impact.counts.denied).toBeGreaterThan(0);
    expect(await stored()).toEqual(before);
    // A patch that would not validate is reported as the real run would fail, still writing nothing.
    const bad = await tabby(['patch', 'gnp', 'allow-dns', '-p', '{"spec":{"order":"high"}}', '--dry-run']);
    expect(bad.code).toBe(EXIT.failure);
    expect(bad.stdout).toContain('GlobalNetworkPolicy allow-dns: would fail: ');
    expect(await stored()).toEqual(before);
    expect((await tabby(['patch', 'gnp', 'allow-dns', '-p', '{}', '-o', 'json'])).code).toBe(EXIT.usage);
  });
});

describe('json-patch.ts against the RFCs\' own examples', () => {
  it('RFC 7386 appendix A', () => {
    const cases: Array<[unknown, unknown, unknown]> = [
      [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
      [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
      [{ a: 'b' }, { a: null }, {}],
      [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
      [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
      [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
      [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
      [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
      [['a', 'b'], ['c', 'd'], ['c', 'd']],
      [{ a: 'b' }, ['c'], ['c']],
      [{ a: 'foo' }, null, null],
      [{ a: 'foo' }, 'bar', 'bar'],
      [{ e: null }, { a: 1 }, { e: null, a: 1 }],
      [[1, 2], { a: 'b', c: null }, { a: 'b' }],
      [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
    ];
    for (const [target, patch, result] of cases) expect(mergePatch(target, patch)).toEqual(result);
  });

  it('RFC 6902 appendix A (selected) and RFC 6901 §5 pointers', () => {
    expect(applyJsonPatch({ foo: 'bar' }, [{ op: 'add', path: '/baz', value: 'qux' }])).toEqual({ ok: true, value: { foo: 'bar', baz: 'qux' } });
    expect(applyJsonPatch({ foo: ['bar', 'baz'] }, [{ op: 'add', path: '/foo/1', value: 'qux' }]))
      .toEqual({ ok: true, value: { foo: ['bar', 'qux', 'baz'] } });
    expect(applyJsonPatch({ foo: { bar: 'baz', waldo: 'fred' }, qux: { corge: 'grault' } },
      [{ op: 'move', from: '/foo/waldo', path: '/qux/thud' }]))
      .toEqual({ ok: true, value: { foo: { bar: 'baz' }, qux: { corge: 'grault', thud: 'fred' } } });
    expect(applyJsonPatch({ foo: ['all', 'grass', 'cows', 'eat'] }, [{ op: 'move', from: '/foo/1', path: '/foo/3' }]))
      .toEqual({ ok: true, value: { foo: ['all', 'cows', 'eat', 'grass'] } });
    // A.8: test passes; A.9: test fails; A.10: adding to a non-existent target fails.
    expect(applyJsonPatch({ baz: 'qux', foo: ['a', 2, 'c'] }, [{ op: 'test', path: '/baz', value: 'qux' }, { op: 'test', path: '/foo/1', value: 2 }]).ok).toBe(true);
    expect(applyJsonPatch({ baz: 'qux' }, [{ op: 'test', path: '/baz', value: 'bar' }]).ok).toBe(false);
    expect(applyJsonPatch({ foo: 'bar' }, [{ op: 'add', path: '/baz/bat', value: 'qux' }]).ok).toBe(false);
    // A.14: ~0 and ~1; A.16: adding an array value to an array appends it as one element.
    expect(applyJsonPatch({ '/': 9, '~1': 10 }, [{ op: 'test', path: '/~01', value: 10 }]).ok).toBe(true);
    expect(applyJsonPatch({ foo: ['bar'] }, [{ op: 'add', path: '/foo/-', value: ['abc', 'def'] }]))
      .toEqual({ ok: true, value: { foo: ['bar', ['abc', 'def']] } });
    // Test equality ignores key order; numbers compare by value.
    expect(applyJsonPatch({ a: { x: 1, y: [1, 2] } }, [{ op: 'test', path: '/a', value: { y: [1, 2], x: 1.0 } }]).ok).toBe(true);
    expect(parsePointer('/a~1b/m~0n/')).toEqual({ ok: true, tokens: ['a/b', 'm~n', ''] });
    // All or nothing: the input is never changed, even by a patch that fails half-way.
    const doc = { a: [1] };
    expect(applyJsonPatch(doc, [{ op: 'add', path: '/a/-', value: 2 }, { op: 'remove', path: '/b' }]).ok).toBe(false);
    expect(doc).toEqual({ a: [1] });
    // A __proto__ key is data, never the prototype.
    const polluted = applyJsonPatch({}, JSON.parse('[{"op":"add","path":"/__proto__","value":{"x":1}}]'));
    expect(polluted.ok && Object.getPrototypeOf(polluted.value)).toBe(Object.prototype);
    expect(polluted.ok && Object.keys(polluted.value as object)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});
