// The loader's bounds on what it reads, through the public API: only regular files (no FIFO, device or file of
// /proc), broken and looping links reported by name, directory walks bounded, confinement to a root (what
// `tabby test` includes use), and the YAML shapes JSON cannot hold reported at their line.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rename, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { formatIssue, type Issue } from '../../src/api/issues.js';
import { decodeEntry, decodeManifests, expandPaths, LOAD_LIMITS, loadResources, readTextFile } from '../../src/api/load/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tabby-load-limits-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const lines = (issues: readonly Issue[]): string[] => issues.map((i) => formatIssue(i));

function ns(name: string): string {
  return `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`;
}

async function file(name: string, text: string): Promise<string> {
  const p = path.join(dir, name);
  await mkdir(path.dirname(p), { recursive: true });
  await writeFile(p, text);
  return p;
}

describe('loader: only regular files', () => {
  it('refuses a FIFO at once instead of waiting for a writer', async () => {
    const fifo = path.join(dir, 'pipe.yaml');
    execFileSync('mkfifo', [fifo]);
    const r = await loadResources([fifo]);
    expect(lines(r.issues)).toEqual([
      `refusing to read ${fifo}: it is a FIFO (named pipe), not a regular file`,
    ]);
  });

  it('refuses a device (/dev/zero never ends)', async () => {
    const r = await loadResources(['/dev/zero']);
    expect(lines(r.issues)).toEqual([
      'refusing to read /dev/zero: it is a character device, not a regular file',
    ]);
  });

  it('refuses files and directories of /proc and /sys', async () => {
    for (const p of ['/proc/self/environ', '/proc', '/sys/kernel']) {
      const r = await loadResources([p]);
      expect(r.resources).toEqual([]);
      expect(lines(r.issues)).toEqual([expect.stringMatching(new RegExp(`^refusing to read ${p}: it is on the kernel's (proc|sysfs) pseudo-filesystem`))]);
    }
  });

  it('refuses a file larger than the limit from its size, before reading it', async () => {
    const big = path.join(dir, 'big.yaml');
    await writeFile(big, '');
    await truncate(big, 75 * 1024 * 1024); // sparse: costs nothing to make
    const r = await loadResources([big]);
    expect(lines(r.issues)).toEqual([`${big}:1:1: file too large (78643200 bytes; max 8 MiB); split it into several files`]);
  });
});

describe('loader: directory walks', () => {
  it('reports a broken and a looping link in a directory by name, and reads the rest', async () => {
    await file('links/ok.yaml', ns('ok'));
    await symlink('nowhere.yaml', path.join(dir, 'links/broken.yaml'));
    await symlink('loop.yaml', path.join(dir, 'links/loop.yaml'));
    const r = await loadResources(['links'], { cwd: dir });
    expect(r.resources.map((x) => x.resource.metadata.name)).toEqual(['ok']);
    expect(lines(r.issues)).toEqual([
      'cannot read links/broken.yaml: broken symbolic link (its target nowhere.yaml does not exist)',
      'cannot read links/loop.yaml: symbolic link loop (links/loop.yaml → loop.yaml leads back to itself)',
    ]);
    // Named directly, the same.
    const named = await loadResources(['links/loop.yaml'], { cwd: dir });
    expect(lines(named.issues)).toEqual(['cannot read links/loop.yaml: symbolic link loop (links/loop.yaml → loop.yaml leads back to itself)']);
  });

  it('reports a FIFO with a manifest name in a walked directory instead of hanging on it', async () => {
    await file('withpipe/a.yaml', ns('a'));
    execFileSync('mkfifo', [path.join(dir, 'withpipe/b.yaml')]);
    const r = await loadResources(['withpipe'], { cwd: dir });
    expect(r.resources.map((x) => x.resource.metadata.name)).toEqual(['a']);
    expect(lines(r.issues)).toEqual([
      'refusing to read withpipe/b.yaml: it is a FIFO (named pipe), not a regular file',
    ]);
  });

  it('stops at the directory depth limit', async () => {
    const deep = Array.from({ length: LOAD_LIMITS.maxDirectoryDepth + 2 }, (_, i) => `d${i}`).join('/');
    await file(`tree-deep/${deep}/x.yaml`, ns('x'));
    const r = await loadResources(['tree-deep'], { cwd: dir });
    expect(r.resources).toEqual([]);
    expect(lines(r.issues)).toEqual([expect.stringMatching(/directories nested too deeply \(max 32 levels\); not read$/)]);
  });
});

describe('loader: confined to a root', () => {
  it('refuses paths and links that resolve outside the root, and reads what is inside', async () => {
    await file('root/in.yaml', ns('in'));
    await file('outside.yaml', ns('out'));
    await symlink(path.join(dir, 'outside.yaml'), path.join(dir, 'root/link.yaml'));
    await symlink('/etc', path.join(dir, 'root/etc'));
    const root = { dir: path.join(dir, 'root'), name: 'the root' };
    const r = await loadResources(['.', '../outside.yaml'], { cwd: root.dir, root });
    expect(r.resources.map((x) => x.resource.metadata.name)).toEqual(['in']);
    expect(lines(r.issues)).toEqual([
      `refusing to read etc: it resolves to /etc, outside the root ${root.dir}`,
      `refusing to read link.yaml: it resolves to ${path.join(dir, 'outside.yaml')}, outside the root ${root.dir}`,
      `refusing to read ../outside.yaml: it resolves to ${path.join(dir, 'outside.yaml')}, outside the root ${root.dir}`,
    ]);
  });
});

describe('loader: what is read is checked on the descriptor, not only the path admitted', () => {
  // expandPaths admits every path before decodeEntry opens one, the window a racing attacker uses: swapping a
  // directory on an admitted path for a link must not lead the read out of the root or into /proc.
  it('a directory swapped for a link out of the root after admission is refused, naming where it led', async () => {
    await file('race-root/tests/lib/x.yaml', ns('inside'));
    await file('race-outside/x.yaml', ns('outside'));
    const root = { dir: path.join(dir, 'race-root/tests'), name: "the test file's directory" };
    const { entries, issues } = await expandPaths(['lib'], root.dir, { root });
    expect(issues).toEqual([]);
    await rename(path.join(root.dir, 'lib'), path.join(dir, 'race-root/lib.orig'));
    await symlink(path.join(dir, 'race-outside'), path.join(root.dir, 'lib'));
    const decoded = await decodeEntry(entries[0]!, undefined);
    expect(decoded.documents).toEqual([]);
    expect(lines(decoded.issues)).toEqual([
      `refusing to read lib/x.yaml: it resolves to ${path.join(dir, 'race-outside/x.yaml')}, outside the test ` +
      `file's directory ${root.dir}`,
    ]);
  });

  it('a file swapped for a link to /proc/self/status is not followed; an entry built by hand is checked too', async () => {
    const p = await file('race-proc/a.yaml', ns('a'));
    const { entries } = await expandPaths([p], dir);
    await rename(p, `${p}.orig`);
    await symlink('/proc/self/status', p);
    expect(lines((await decodeEntry(entries[0]!, undefined)).issues)).toEqual([
      `refusing to read ${p}: it was replaced by a symbolic link after it was checked; run again`,
    ]);
    const byHand = await decodeEntry({ kind: 'file', display: 'status', absolute: '/proc/self/status' }, undefined);
    expect(lines(byHand.issues)).toEqual(["refusing to read status: it is on the kernel's proc pseudo-filesystem, not a manifest"]);
  });

  it('readTextFile refuses /proc and a file over the size a caller allows', async () => {
    expect(await readTextFile('/proc/self/status', 'status')).toEqual({
      ok: false,
      issue: { code: 'load.not-regular', path: [], message: "refusing to read status: it is on the kernel's proc pseudo-filesystem, not a manifest" },
    });
    const p = await file('small/x.json', '{"a": "' + 'x'.repeat(2000) + '"}');
    const r = await readTextFile(p, 'x.json', { maxBytes: 1024 });
    expect(r.ok ? undefined : formatIssue(r.issue)).toBe('x.json:1:1: file too large (2009 bytes; max 1024 bytes)');
    expect((await readTextFile(p, 'x.json')).ok).toBe(true);
  });
});

describe('loader: YAML that JSON cannot hold, at its line', () => {
  const gnp = (spec: string): string =>
    `apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: p\nspec:\n${spec}`;

  it('an undefined alias is an undefined alias, not an alias bomb', () => {
    const r = decodeManifests(gnp('  selector: all()\n  order: *nope\n'), 'a.yaml');
    expect(lines(r.issues)).toEqual(['a.yaml:7:10: GlobalNetworkPolicy p: undefined alias *nope: no anchor &nope is defined before it in this document']);
    // An anchor defined after its alias does not count (YAML 1.2: an alias refers back).
    const later = decodeManifests('a: *x\nb: &x 1\n', 'b.yaml');
    expect(lines(later.issues)).toEqual(['b.yaml:1:4: undefined alias *x: no anchor &x is defined before it in this document']);
    expect(decodeManifests('a: &x 1\nb: *x\n', 'c.yaml').issues).toEqual([]);
  });

  it('a mapping or sequence used as a key is an error at its line, without a process warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => { warnings.push(w.message); };
    process.on('warning', onWarning);
    try {
      const r = decodeManifests(gnp('  ? [a, b]\n  : 1\n'), 'k.yaml');
      expect(lines(r.issues)).toEqual([
        'k.yaml:6:5: GlobalNetworkPolicy p: a mapping key must be a scalar (a string), not a sequence: Kubernetes and ' +
        'Calico objects are JSON, whose keys are strings',
      ]);
      const flow = decodeManifests('{a: 1, {b: 2}: 3}\n', 'f.yaml');
      expect(lines(flow.issues)).toEqual([expect.stringMatching(/^f\.yaml:1:8: a mapping key must be a scalar \(a string\), not a mapping/)]);
      await new Promise((resolve) => setImmediate(resolve)); // process warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });

  it('.inf, -.inf and .nan are not finite numbers', () => {
    for (const [value, shown] of [['.inf', '.inf'], ['-.inf', '-.inf'], ['.nan', '.nan'], ['1e999', '.inf']]) {
      const r = decodeManifests(gnp(`  order: ${value}\n`), 'n.yaml');
      expect(lines(r.issues)).toEqual([
        `n.yaml:6:3: GlobalNetworkPolicy p: expected a finite number, got ${shown}: Kubernetes and Calico objects ` +
        'are JSON, which has no infinities or NaN',
      ]);
    }
  });
});
