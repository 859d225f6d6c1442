// Hostile input through the CLI, as an attacker would type it (issue 10 §5, §6): `tabby test` reads files with the
// loader's limits and keeps `include:` inside the test file's tree; a name, path or value holding a newline,
// ESC, NUL or a bidi override is printed escaped, so no input can forge a line of output; YAML that JSON cannot
// hold (undefined alias, collection key, .inf) is reported for what it is, at its line.
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, renameSync, symlinkSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli } from '../../src/cli/main.js';
import { captureCli, type CliRun } from './captureCli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tabby-hostile-'));
  await file('tests/policy.yaml', POLICY);
  await file('tests/pass.yaml', 'include: [policy.yaml]\nresources: [{apiVersion: v1, kind: Namespace, metadata: {name: shop}}]\nflows: []\n');
  await file('shared/common.yaml', POLICY);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const POLICY = 'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: allow-all}\n' +
  'spec: {selector: all(), types: [Ingress], ingress: [{action: Allow}]}\n';

async function file(name: string, text: string): Promise<string> {
  const p = path.join(dir, name);
  await mkdir(path.dirname(p), { recursive: true });
  await writeFile(p, text);
  return p;
}

// eslint-disable-next-line no-control-regex
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** Nothing but printable text and newlines, on stdout and stderr. */
function expectPrintable(run: CliRun): void {
  expect(run.stdout).not.toMatch(RAW);
  expect(run.stderr).not.toMatch(RAW);
}

const tabby = (args: string[]): Promise<CliRun> => captureCli(args, { cwd: dir });

describe('tabby test: the loader limits on every file it reads', () => {
  it('refuses a 75 MB test file from its size, exit 1', async () => {
    const big = await file('big/huge.yaml', '');
    await truncate(big, 75 * 1024 * 1024);
    const run = await tabby(['test', 'big/huge.yaml']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('ERROR big/huge.yaml:1:1: file too large (78643200 bytes; max 8 MiB)');
  });

  it('refuses /dev/zero and a FIFO at once, exit 1', async () => {
    const zero = await tabby(['test', '/dev/zero']);
    expect(zero.code).toBe(1);
    expect(zero.stdout).toContain('ERROR /dev/zero: refusing to read /dev/zero: it is a character device');
    execFileSync('mkfifo', [path.join(dir, 'pipe.yaml')]);
    const fifo = await tabby(['test', 'pipe.yaml']);
    expect(fifo.code).toBe(1);
    expect(fifo.stdout).toContain('refusing to read pipe.yaml: it is a FIFO (named pipe)');
  });

  it('reports a dangling and a looping link in a test directory by name, exit 1, and runs the rest', async () => {
    await file('linked/ok.yaml', 'flows: []\n');
    await symlink('gone.yaml', path.join(dir, 'linked/dangling.yaml'));
    await symlink('self.yaml', path.join(dir, 'linked/self.yaml'));
    const run = await tabby(['test', 'linked']);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('');
    expect(run.stdout.split('\n')).toEqual(expect.arrayContaining([
      'ERROR linked: cannot read linked/dangling.yaml: broken symbolic link (its target gone.yaml does not exist)',
      'ERROR linked: cannot read linked/self.yaml: symbolic link loop (linked/self.yaml → self.yaml leads back to itself)',
      'PASS  linked/ok.yaml  (0 flows, 0 orderings)',
    ]));
  });

  it('bounds the nesting of a test file', async () => {
    await file('deep.yaml', `flows: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`);
    const run = await tabby(['test', 'deep.yaml']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('ERROR deep.yaml:1:');
    expect(run.stdout).toContain('nesting too deep (max 64 levels');
  });
});

describe('tabby test: include: stays inside the test file tree', () => {
  it('includes a file next to the test file', async () => {
    const run = await tabby(['test', 'tests/pass.yaml']);
    expect(run.stdout).toContain('PASS  tests/pass.yaml');
    expect(run.code).toBe(0);
  });

  it('refuses an absolute include with the file:line naming it', async () => {
    await file('tests/abs.yaml', 'flows: []\ninclude:\n  - /etc/passwd\n');
    const run = await tabby(['test', 'tests/abs.yaml']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('ERROR tests/abs.yaml:3:5: include[0]: refusing include /etc/passwd: an absolute path;');
    expect(run.stdout).not.toContain('root:');
  });

  it('refuses ../ and a link that escape, naming the include; --include-root allows a wider tree', async () => {
    await file('tests/up.yaml', 'flows: []\ninclude: [../shared/common.yaml]\n');
    const up = await tabby(['test', 'tests/up.yaml']);
    expect(up.code).toBe(1);
    expect(up.stdout).toContain(`ERROR tests/up.yaml:2:11: include[0]: refusing to read ../shared/common.yaml: it resolves to ` +
      `${path.join(dir, 'shared/common.yaml')}, outside the test file's directory ${path.join(dir, 'tests')} ` +
      '(allow a wider tree with --include-root DIR)');
    const allowed = await tabby(['test', 'tests/up.yaml', '--include-root', '.']);
    expect(allowed.stdout).toContain('PASS  tests/up.yaml');
    expect(allowed.code).toBe(0);

    // A link inside the tree to /etc is refused even when the include names the directory holding it.
    await mkdir(path.join(dir, 'tests/lib'), { recursive: true });
    await symlink('/etc', path.join(dir, 'tests/lib/etc'));
    await symlink('/proc', path.join(dir, 'tests/lib/procfs'));
    await file('tests/lib/ok.yaml', POLICY);
    await file('tests/walk.yaml', 'flows: []\ninclude: [lib]\n');
    const walk = await tabby(['test', 'tests/walk.yaml']);
    expect(walk.code).toBe(1);
    expect(walk.stdout).toContain('ERROR tests/walk.yaml:2:11: include[0]: refusing to read lib/etc: it resolves to /etc, outside');
    // With / allowed, /etc may be walked, but /proc is never read.
    await rm(path.join(dir, 'tests/lib/etc'));
    const wide = await tabby(['test', 'tests/walk.yaml', '--include-root', '/tmp/../']);
    expect(wide.code).toBe(1);
    expect(wide.stdout).toContain("ERROR tests/walk.yaml:2:11: include[0]: refusing to read lib/procfs: it is on the kernel's proc pseudo-filesystem");
  });
});

describe('the CLI config file is read with the same limits', () => {
  it('a config.yaml that is a link to /dev/zero is one error, not an out-of-memory', async () => {
    const home = path.join(dir, 'cfg');
    await mkdir(path.join(home, 'tabby'), { recursive: true });
    await symlink('/dev/zero', path.join(home, 'tabby/config.yaml'));
    const run = await captureCli(['get', 'gnp'], { cwd: dir, env: { XDG_CONFIG_HOME: home } });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`error: refusing to read ${path.join(home, 'tabby/config.yaml')}: it is a character device, ` +
      'not a regular file (fix or remove the config file)\n');
  });
});

describe('messages that cannot lie: hostile names are printed escaped', () => {
  const HOSTILE = 'evil\nPASS  forged.yaml\u001b[32m\u0000\u202egnp';

  it('tabby validate: a name with \\n, ESC, NUL and U+202E stays on its line, quoted', async () => {
    await file('evil.yaml', 'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n' +
      `  name: ${JSON.stringify(HOSTILE).replace('\\u001b', '\\e').replace('\\u0000', '\\0')}\nspec:\n  selector: all()\n`);
    const run = await tabby(['validate', '-f', 'evil.yaml']);
    expect(run.code).toBe(1);
    expectPrintable(run);
    expect(run.stdout.trimEnd().split('\n')).toEqual([
      'evil.yaml:4:3: GlobalNetworkPolicy "evil\\nPASS  forged.yaml\\u001b[32m\\u0000\\u202egnp": metadata.name: ' +
      "name must consist of lower case alphanumeric characters or '-' (regex: [a-z0-9]([-a-z0-9]*[a-z0-9])?), with " +
      'at most one dot (e.g. my-policy or tier1.my-policy)',
    ]);
    const json = await tabby(['validate', '-f', 'evil.yaml', '-o', 'json']);
    expectPrintable(json);
    expect(JSON.parse(json.stdout).issues[0].resource).toBe('GlobalNetworkPolicy "evil\\nPASS  forged.yaml\\u001b[32m\\u0000\\u202egnp"');
  });

  it('tabby validate: a file name with a newline, and a hostile key', async () => {
    await file('a\nb.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n  labels: {"bad\\e\\u202e": v}\n');
    const run = await tabby(['validate', '-f', 'a\nb.yaml']);
    expect(run.code).toBe(1);
    expectPrintable(run);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^"a\\nb\.yaml":5:12: Namespace x: metadata\.labels\["bad\\u001b\\u202e"\]: Invalid value: "bad\\u001b\\u202e": /);
  });

  it('tabby test: hostile endpoints in flows and orderings, text and JSON', async () => {
    await file('tests/hostile.yaml', 'include: [policy.yaml]\nflows:\n' +
      '  - {from: "x\\nPASS  forged\\e[32m\\0\\u202e", to: "y", protocol: TCP, port: 80, expect: Allow}\n' +
      'applied:\n  - {endpoint: "e\\nPASS  pwned"}\n');
    const run = await tabby(['test', 'tests/hostile.yaml']);
    expect(run.code).toBe(1);
    expectPrintable(run);
    expect(run.stdout).not.toMatch(/^PASS {2}(forged|pwned)/m);
    expect(run.stdout).toContain('✗ "x\\nPASS  forged\\u001b[32m\\u0000\\u202e" → y TCP port 80');
    expect(run.stdout).toContain('✗ policies applied to "e\\nPASS  pwned" (normal)');
    expect(run.stdout).toContain('unknown endpoint "e\\nPASS  pwned"');
    const json = await tabby(['test', 'tests/hostile.yaml', '-o', 'json']);
    expectPrintable(json);
    expect(JSON.parse(json.stdout).files[0].flows[0].flow.from).toBe('x\nPASS  forged\u001b[32m\u0000\u202e');
  });

  it('an unknown command, an unexpected argument and a missing resource name are quoted', async () => {
    const cmd = await tabby(['get\nERROR forged']);
    expect(cmd.code).toBe(2);
    expectPrintable(cmd);
    expect(cmd.stderr).toBe('error: unknown command "get\\nERROR forged" (run \'tabby --help\' for the list)\n');
    const arg = await tabby(['validate', 'x\u202e.yaml']);
    expectPrintable(arg);
    expect(arg.stderr.trimEnd().split('\n')).toHaveLength(1);
    const get = await tabby(['get', 'gnp', 'a\nb\u202e', '--datastore', `file:${path.join(dir, 'store')}`]);
    expectPrintable(get);
    expect(get.stderr).toContain('resource does not exist: GlobalNetworkPolicy("a\\nb\\u202e")');
  });
});

describe('tabby validate: YAML that JSON cannot hold, reported for what it is', () => {
  const gnp = (spec: string): string =>
    `apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: p\nspec:\n${spec}`;

  it('an undefined alias at its line, not "1:1 … alias bomb"', async () => {
    await file('alias.yaml', gnp('  selector: *missing\n'));
    const run = await tabby(['validate', '-f', 'alias.yaml']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('alias.yaml:6:13: GlobalNetworkPolicy p: undefined alias *missing: no anchor &missing is ' +
      'defined before it in this document\n');
  });

  it('a collection-valued key at its line, and no Node warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => { warnings.push(w.message); };
    process.on('warning', onWarning);
    try {
      await file('ckey.yaml', gnp('  selector: all()\n  ? {a: 1}\n  : x\n'));
      const run = await tabby(['validate', '-f', 'ckey.yaml']);
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('ckey.yaml:7:5: GlobalNetworkPolicy p: a mapping key must be a scalar (a string), not a ' +
        'mapping: Kubernetes and Calico objects are JSON, whose keys are strings\n');
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });

  it('.inf, -.inf and .nan where a number is expected: "expected a finite number"', async () => {
    for (const v of ['.inf', '-.inf', '.nan']) {
      await file('inf.yaml', gnp(`  selector: all()\n  order: ${v}\n`));
      const run = await tabby(['validate', '-f', 'inf.yaml']);
      expect(run.code).toBe(1);
      expect(run.stdout).toBe(`inf.yaml:7:3: GlobalNetworkPolicy p: expected a finite number, got ${v}: Kubernetes and ` +
        'Calico objects are JSON, which has no infinities or NaN\n');
    }
  });
});

describe('every error message is printed escaped, wherever it was built (main.ts)', () => {
  // ESC, U+202E (right-to-left override), a newline: what a hostile argument would use to forge output.
  const EVIL = 'x\u202e\u001b[31m\nERROR forged';

  it('an unknown subcommand, an unsupported -o, an unknown resource type: one line, nothing raw', async () => {
    const sub = await tabby(['datastore', EVIL]);
    expect(sub.code).toBe(2);
    expectPrintable(sub);
    expect(sub.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(sub.stderr).toContain('x\\u202e\\u001b[31m\\nERROR forged');

    const store = `file:${path.join(dir, 'store')}`;
    const out = await tabby(['get', 'gnp', '-o', EVIL, '--datastore', store]);
    expect(out.code).toBe(2);
    expectPrintable(out);
    expect(out.stderr).toBe('error: unsupported output format "x\\u202e\\u001b[31m\\nERROR forged": allowed are ' +
      'table, wide, yaml, json, name, custom-columns=…, custom-columns-file=…, jsonpath=…, jsonpath-file=…\n');
    // A printable value keeps the quotes it always had.
    expect((await tabby(['get', 'gnp', '-o', 'xml', '--datastore', store])).stderr)
      .toBe("error: unsupported output format 'xml': allowed are table, wide, yaml, json, name, custom-columns=…, custom-columns-file=…, jsonpath=…, jsonpath-file=…\n");

    const kind = await tabby(['get', `gnp${EVIL}`, '--datastore', store]);
    expect(kind.code).toBe(2);
    expectPrintable(kind);
    expect(kind.stderr).toMatch(/^error: unknown resource type "gnpx\\u202e\\u001b\[31m\\nERROR forged" \(known: /);
  });

  it('lines commands print on stderr themselves: a failed delete, an empty namespace', async () => {
    const store = ['--datastore', `file:${path.join(dir, 'store')}`];
    const del = await tabby(['delete', 'gnp', `nope${EVIL}`, ...store]);
    expect(del.code).toBe(3);
    expectPrintable(del);
    expect(del.stderr.trimEnd().split('\n')).toHaveLength(1);
    const get = await tabby(['get', 'netpol', '-n', EVIL, ...store]);
    expectPrintable(get);
    expect(get.stderr).toBe('No resources found in namespace "x\\u202e\\u001b[31m\\nERROR forged".\n');
  });

  it('a --datastore path the store cannot use is one line with its controls escaped', async () => {
    const run = await tabby(['get', 'gnp', '--datastore', 'file:/dev/null/n\u202eo\u001b[1m\nERROR forged']);
    expect(run.code).toBe(6);
    expectPrintable(run);
    expect(run.stderr).toBe('error: cannot read /dev/null/n\\u202eo\\u001b[1m\\nERROR forged: ENOTDIR (not a directory)\n');
    // The newline once made file:PATH a relative path, "file:/dev/…" under the working directory, created there.
    expect(existsSync(path.join(dir, 'file:'))).toBe(false);
  });

  it('a stored key with bidi, C1 and U+2028 (not a validated name) is quoted in the skipped-object warning', async () => {
    const storeDir = path.join(dir, 'store-evil-key');
    const ds = ['--datastore', `file:${storeDir}`];
    expect((await tabby(['get', 'gnp', ...ds])).code).toBe(0); // creates the store
    const { FileStore } = await import('../../src/datastore/index.js');
    const { encodeFrame } = await import('../../src/datastore/file/framing.js');
    const s = await FileStore.open({ dir: storeDir });
    const rev = (await s.revision()) + 1;
    await s.close();
    const key = 'projectcalico.org/globalnetworkpolicies/evil\u202e\u0085\u2028x';
    appendFileSync(path.join(storeDir, 'journal.log'),
      encodeFrame({ rev, op: 'put', key, value: { kind: 'GlobalNetworkPolicy', metadata: null } }));
    const run = await tabby(['get', 'gnp', ...ds]);
    expectPrintable(run);
    expect(run.stderr).toMatch(/^warning: skipped the stored object "[^"\n]*evil\\u202e\\u0085\\u2028x": invalid stored object: .+$/m);
  });
});

describe('the reader checks the file it opened, not only the path it admitted', () => {
  it('validate -f - -f b.yaml: b.yaml swapped for a link to /proc/self/status while stdin is read is refused', async () => {
    // Every path is admitted before the first is read, and stdin is read first: the stream below swaps b.yaml
    // when the loader starts reading stdin, the window a racing attacker would use. No test hook is needed.
    const b = await file('race/b.yaml', POLICY);
    let swapped = false;
    const stdin = new Readable({
      read() {
        if (!swapped) {
          swapped = true;
          renameSync(b, `${b}.orig`);
          symlinkSync('/proc/self/status', b);
          this.push(POLICY.replace('allow-all', 'from-stdin'));
        }
        this.push(null);
      },
    });
    const run = await runWithStdin(['validate', '-f', '-', '-f', 'race/b.yaml'], stdin);
    expect(swapped).toBe(true);
    // Its admitted path was real, so it is opened with O_NOFOLLOW and the link put in since is not followed.
    expect(run.stdout).toBe('refusing to read race/b.yaml: it was replaced by a symbolic link after it was checked; run again\n');
    expect(run.stdout).not.toMatch(/Name:|Umask|VmRSS/);
    expect(run.code).toBe(1);
  });

  it('a directory on the path swapped for a link to /proc is refused too (O_NOFOLLOW covers only the last name)', async () => {
    await file('race2/d/self/status', POLICY);
    let swapped = false;
    const stdin = new Readable({
      read() {
        if (!swapped) {
          swapped = true;
          renameSync(path.join(dir, 'race2/d'), path.join(dir, 'race2/d.orig'));
          symlinkSync('/proc', path.join(dir, 'race2/d'));
          this.push(POLICY);
        }
        this.push(null);
      },
    });
    const run = await runWithStdin(['validate', '-f', '-', '-f', 'race2/d/self/status'], stdin);
    expect(swapped).toBe(true);
    expect(run.stdout).toContain("refusing to read race2/d/self/status: it is on the kernel's proc pseudo-filesystem");
    expect(run.code).toBe(1);
  });

  it('a config.yaml that is a link to /proc/self/status (a "regular" file) is refused, not parsed', async () => {
    const home = path.join(dir, 'cfg-proc');
    await mkdir(path.join(home, 'tabby'), { recursive: true });
    await symlink('/proc/self/status', path.join(home, 'tabby/config.yaml'));
    const run = await captureCli(['get', 'gnp'], { cwd: dir, env: { XDG_CONFIG_HOME: home } });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`error: refusing to read ${path.join(home, 'tabby/config.yaml')}: it is on the kernel's ` +
      'proc pseudo-filesystem, not a manifest (fix or remove the config file)\n');
  });
});

describe('tabby agent status reads its state files like any untrusted file', () => {
  it('a FIFO, /dev/zero or an oversized file as the status file is one line, not a hang or an out-of-memory', async () => {
    const state = path.join(dir, 'state');
    await mkdir(state, { recursive: true });
    const status = path.join(state, 'agent-n1.json');
    const agentStatus = (): Promise<CliRun> => tabby(['agent', 'status', '--node', 'n1', '--state-dir', state]);

    execFileSync('mkfifo', [status]);
    const fifo = await agentStatus();
    expect(fifo.code).toBe(1);
    expect(fifo.stderr).toBe(`error: refusing to read ${status}: it is a FIFO (named pipe), not a regular file\n`);

    await rm(status);
    await symlink('/dev/zero', status);
    const zero = await agentStatus();
    expect(zero.code).toBe(1);
    expect(zero.stderr).toBe(`error: refusing to read ${status}: it is a character device, not a regular file\n`);

    await rm(status);
    await writeFile(status, '');
    await truncate(status, 2 * 1024 * 1024);
    const big = await agentStatus();
    expect(big.code).toBe(1);
    expect(big.stderr).toBe(`error: ${status}:1:1: file too large (2097152 bytes; max 1 MiB)\n`);

    await rm(status);
    await writeFile(status, '{"node": "n1", ');
    const torn = await agentStatus();
    expect(torn.code).toBe(1);
    expect(torn.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(torn.stderr).toMatch(new RegExp(`^error: cannot read ${status}: not JSON \\(`));
  });
});

async function runWithStdin(argv: string[], stdin: Readable): Promise<CliRun> {
  const chunks = { out: [] as string[], err: [] as string[] };
  const sink = (into: string[]): Writable => new Writable({ write(c: Buffer, _e, done) { into.push(c.toString()); done(); } });
  const code = await runCli(argv, { stdout: sink(chunks.out), stderr: sink(chunks.err), stdin, env: {}, cwd: dir });
  return { code, stdout: chunks.out.join(''), stderr: chunks.err.join('') };
}

describe('a multi-line selector error', () => {
  it('keeps its caret excerpt on its own lines and cannot be given a forged line by the selector text', async () => {
    const run = await tabby(['select', 'app == \n\u001b[31mtabby: all good\u202e']);
    expect(run.code).toBe(1);
    const all = run.stderr.trimEnd().split('\n');
    const lines = all.slice(all.findIndex((l) => l.startsWith('error: invalid selector: ')));
    expect(lines.length).toBe(3); // the message, the excerpt, the caret
    expect(run.stderr).not.toMatch(/[\u001b\u202e]/);
    expect(lines.some((l) => l.startsWith('tabby: all good'))).toBe(false);
  });
});
