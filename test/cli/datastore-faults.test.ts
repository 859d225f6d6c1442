// Issue 10 §2, §5, §6 through the CLI on a real file store on a small real tmpfs: a write's exit code equals
// its effect when the disk fills (committed → 0, or 8 when the compaction after it failed; not committed → 6 with
// ENOSPC and the path, and nothing stored); a read-only store serves reads and names EROFS on writes; an unusable
// directory is one error at once; a resourceVersion that is not one is invalid input, not a conflict.

import { execFileSync, spawnSync } from 'node:child_process';
import { build } from 'esbuild';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeSync, ftruncateSync, fstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { FileStore } from '../../src/datastore/index.js';
import { gnp } from '../datastore/fixtures.js';
import { captureCli } from './captureCli.js';

const root = mkdtempSync(join(tmpdir(), 'tabby-cli-faults-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const isRoot = process.getuid?.() === 0;

async function withTmpfs(size: string, fn: (mnt: string) => Promise<void>): Promise<void> {
  const mnt = mkdtempSync(join(root, 'mnt-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tabby-test', mnt]);
  try {
    await fn(mnt);
  } finally {
    execFileSync('umount', ['-l', mnt]);
  }
}

/** Writes to `path` until the file system is full; returns the open descriptor (to free space by truncating). */
function fill(path: string): number {
  const fd = openSync(path, 'a');
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  for (;;) {
    try {
      writeSync(fd, chunk);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
      throw err;
    }
  }
  // Single pages left over after the last whole chunk.
  for (;;) {
    try {
      writeSync(fd, chunk, 0, 4096);
    } catch {
      break;
    }
  }
  return fd;
}

const cli = (dir: string, argv: string[], stdin?: string) =>
  captureCli([...argv, '--datastore', `file:${dir}`], stdin === undefined ? {} : { stdin });

describe.skipIf(!isRoot)('file store writes on a full disk', () => {
  it('reports exactly the effect: committed (0, or 8 when compaction failed) or not stored (6, ENOSPC and the path)', async () => {
    await withTmpfs('24m', async (mnt) => {
      const dir = join(mnt, 'store');
      // A journal at the auto-compaction threshold (20,000 records), so every further write compacts.
      const s = await FileStore.open({ dir, autoCompact: false });
      for (let i = 0; i < 20_000; i++) await s.apply(gnp(`p${i % 10}`, { order: i }));
      await s.close();
      const filler = fill(join(mnt, 'filler'));
      // Room for a few appends and the new snapshot, not for the new journal: compaction fails half-way.
      ftruncateSync(filler, fstatSync(filler).size - 160 * 1024);

      const created = await cli(dir, ['apply', '-f', '-'], JSON.stringify(gnp('x1')));
      expect(created.stderr).toMatch(/^warning: the write was stored, but compacting .* failed: cannot .*: ENOSPC/m);
      expect(created.code).toBe(8);
      expect((await cli(dir, ['get', 'gnp', 'x1'])).code).toBe(0);
      // That compaction got as far as the new snapshot, which already makes the store's history short again: the
      // next write has nothing to compact (exit 0). Either way the object is gone.
      const deleted = await cli(dir, ['delete', 'gnp', 'x1']);
      expect([0, 8]).toContain(deleted.code);
      expect((await cli(dir, ['get', 'gnp', 'x1'])).code).toBe(3);

      // Now fill it completely: writes go on succeeding while the journal's last page has room, then fail, and
      // every exit code says what happened.
      closeSync(fill(join(mnt, 'filler2')));
      let failed = 0;
      for (let i = 0; i < 40 && failed === 0; i++) {
        const r = await cli(dir, ['apply', '-f', '-'], JSON.stringify(gnp(`y${i}`)));
        const stored = (await cli(dir, ['get', 'gnp', `y${i}`])).code === 0;
        if (r.code === 6) {
          failed++;
          expect(stored).toBe(false);
          expect(r.stderr).toContain(`cannot write to ${join(dir, 'journal.log')}: ENOSPC (no space left on device); nothing was written`);
          expect(r.stderr).not.toMatch(/is it running/);
        } else {
          expect([0, 8]).toContain(r.code);
          expect(stored).toBe(true);
        }
      }
      expect(failed).toBe(1);
      const del = await cli(dir, ['delete', 'gnp', 'p3']);
      const gone = (await cli(dir, ['get', 'gnp', 'p3'])).code === 3;
      expect(del.code === 6 ? !gone : gone).toBe(true);
      closeSync(filler);
      // Failed writes leave no damage behind.
      expect((await cli(dir, ['datastore', 'check'])).code).toBe(0);
    });
  }, 300_000);
});

describe.skipIf(!isRoot)('a store the user may only read', () => {
  it('serves reads on a read-only mount and names EROFS on writes', async () => {
    await withTmpfs('8m', async (mnt) => {
      const dir = join(mnt, 'store');
      expect((await cli(dir, ['apply', '-f', '-'], JSON.stringify(gnp('a')))).code).toBe(0);
      execFileSync('mount', ['-o', 'remount,ro', mnt]);
      const get = await cli(dir, ['get', 'gnp', '-o', 'name']);
      expect(get.stderr).toBe('');
      expect(get.code).toBe(0);
      expect(get.stdout.trim()).toBe('globalnetworkpolicy.projectcalico.org/a');
      const write = await cli(dir, ['apply', '-f', '-'], JSON.stringify(gnp('b')));
      expect(write.code).toBe(6);
      expect(write.stderr).toMatch(/EROFS \(read-only file system\); nothing was written/);
      expect(write.stderr).toContain(dir);
      expect(write.stderr).not.toMatch(/is it running/);
      expect((await cli(dir, ['datastore', 'check'])).code).toBe(0);
    });
  });
});

describe.skipIf(!isRoot)('a store whose files the user may only read (chmod)', () => {
  it('serves tabby get to another user, and names EACCES and the path on writes', async () => {
    // The CLI bundled and run as `nobody`: permissions, unlike a read-only mount, do not stop root.
    const cache = join(process.cwd(), 'node_modules', '.cache');
    mkdirSync(cache, { recursive: true });
    const bundleDir = mkdtempSync(join(cache, 'tabby-cli-'));
    chmodSync(bundleDir, 0o755);
    try {
      const bundle = join(bundleDir, 'tabby.mjs');
      await build({
        entryPoints: [join(process.cwd(), 'src/cli/main.ts')], bundle: true, platform: 'node', format: 'esm',
        target: 'node20', outfile: bundle, logLevel: 'error', packages: 'external',
      });
      const dir = join(root, 'readonly-store');
      expect((await cli(dir, ['apply', '-f', '-'], JSON.stringify(gnp('a')))).code).toBe(0);
      chmodSync(root, 0o755);
      for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o444);
      chmodSync(dir, 0o555);
      const asNobody = (...argv: string[]) => spawnSync('setpriv', [
        '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, bundle, ...argv, '--datastore', `file:${dir}`,
      ], { encoding: 'utf8', input: JSON.stringify(gnp('b')), cwd: '/' });
      const get = asNobody('get', 'gnp', '-o', 'name');
      expect(get.stderr).toBe('');
      expect(get.status).toBe(0);
      expect(get.stdout.trim()).toBe('globalnetworkpolicy.projectcalico.org/a');
      const write = asNobody('apply', '-f', '-');
      expect(write.status).toBe(6);
      expect(write.stderr).toContain(`cannot open ${join(dir, 'lock')}: EACCES (permission denied); nothing was written`);
      expect(write.stderr).not.toMatch(/is it running/);
      chmodSync(dir, 0o755);
    } finally {
      rmSync(bundleDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('unusable store locations and bad resourceVersions', () => {
  it('--datastore file:/proc/x is one clear error at once (no mkdir retry loop)', async () => {
    for (const loc of ['/proc/x', '/proc/x/y/z', '/dev/null/x']) {
      const started = Date.now();
      const r = await captureCli(['get', 'gnp', '--datastore', `file:${loc}`]);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(r.code).toBe(6);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/cannot (create directory|read) \/(proc|dev)\S*: E(NOENT|NOTDIR)/);
      expect(r.stderr).not.toMatch(/is it running/);
    }
  });

  it("resourceVersion 'abc' says 'not a resourceVersion' (invalid input, exit 1), not a conflict", async () => {
    const dir = join(root, 'rv');
    expect((await cli(dir, ['apply', '-f', '-'], JSON.stringify(gnp('a')))).code).toBe(0);
    const withRv = (rv: string) => JSON.stringify({ ...gnp('a'), metadata: { name: 'a', resourceVersion: rv } });
    for (const verb of ['replace', 'apply', 'delete']) {
      const r = await cli(dir, [verb, '-f', '-'], withRv('abc'));
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('metadata.resourceVersion: "abc" is not a resourceVersion');
      expect(r.stderr).not.toMatch(/stale|conflict/);
    }
    // A well-formed but stale one is still a conflict.
    expect((await cli(dir, ['replace', '-f', '-'], withRv('999'))).code).toBe(5);
  });
});
