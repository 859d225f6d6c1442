// Issue 12 §3: `tabby get gnp a b nope` prints a and b and an error for nope, exit 1, as kubectl does.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { captureCli } from './captureCli.js';

const root = mkdtempSync(join(tmpdir(), 'tabby-get-many-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const GNPS = ['a', 'b'].map((n) => `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: ${n}}
spec: {selector: all(), types: [Ingress]}`).join('\n---\n');

describe('tabby get KIND NAME... with a missing name', () => {
  it('prints the names that exist, an error per missing one, and exits 1', async () => {
    const env = { TABBY_DATASTORE: `file:${join(root, 'store')}` };
    expect((await captureCli(['apply', '-f', '-'], { stdin: GNPS, cwd: root, env })).code).toBe(0);
    const run = await captureCli(['get', 'gnp', 'a', 'b', 'nope'], { cwd: root, env });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^a\b/m);
    expect(run.stdout).toMatch(/^b\b/m);
    expect(run.stderr).toMatch(/does not exist: GlobalNetworkPolicy\(nope\)/);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    // One missing name alone stays "not found" (exit 3), as before.
    expect((await captureCli(['get', 'gnp', 'nope'], { cwd: root, env })).code).toBe(3);
    // Only missing names: no table, every one reported.
    const none = await captureCli(['get', 'gnp', 'x', 'y'], { cwd: root, env });
    expect(none.code).toBe(1);
    expect(none.stdout).toBe('');
    expect(none.stderr.trim().split('\n')).toHaveLength(2);
  });
});
