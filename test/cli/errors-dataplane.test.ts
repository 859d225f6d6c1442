// A failing nft or ip reaches the user as one line with its exit code (README's table), never as "internal
// error (this is a bug)". The tools are real except the one made to fail: a script of that name first on PATH
// prints what the real tool prints when it is refused, so the whole path — command, dataplane, errors.ts,
// main.ts — runs as a user would run it.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EXIT } from '../../src/cli/command.js';
import { listNamespaces, sweepNamespaces } from '../../src/dataplane/netns/namespace.js';
import { captureCli } from './captureCli.js';

const PREFIX = `tbe${process.pid}-`;
const ROOT = typeof process.getuid === 'function' && process.getuid() === 0;

describe.skipIf(!ROOT)(`dataplane failures through the CLI (${ROOT ? 'root' : 'needs root'})`, () => {
  let dir: string;
  const savedPath = process.env.PATH;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tabby-errors-'));
  });
  afterAll(async () => {
    process.env.PATH = savedPath;
    await sweepNamespaces(PREFIX);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs `tabby node create` with `tool` replaced by a script that prints `stderr` and exits 1. */
  async function nodeCreateWithFailing(tool: string, stderr: string): Promise<{ code: number; stderr: string; stdout: string }> {
    const bin = mkdtempSync(join(dir, 'bin-'));
    writeFileSync(join(bin, tool), `#!/bin/sh\ncat >/dev/null\nprintf '%s\\n' '${stderr}' >&2\nexit 1\n`);
    chmodSync(join(bin, tool), 0o755);
    process.env.PATH = `${bin}:${savedPath ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`;
    try {
      return await captureCli(['node', 'create', 'n1', '--netns-prefix', PREFIX, '--datastore', `file:${join(dir, 'store')}`]);
    } finally {
      process.env.PATH = savedPath;
    }
  }

  function oneLine(run: { stderr: string; stdout: string }): string {
    expect(run.stdout).toBe('');
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toMatch(/internal error|this is a bug|at .*\.ts:\d+/);
    return lines[0]!;
  }

  it('nft refusing the skeleton (EBUSY) is a dataplane failure, exit 10, and the node is removed again', async () => {
    const run = await nodeCreateWithFailing('nft', '/dev/stdin:3:1-30: Error: Could not process rule: Device or resource busy');
    expect(run.code).toBe(EXIT.dataplane);
    expect(oneLine(run)).toMatch(/^error: nft: Could not process rule: Device or resource busy/);
    expect(listNamespaces(PREFIX)).toEqual([]);
  });

  it('nft without the privilege is the environment, exit 7, saying what is needed', async () => {
    const run = await nodeCreateWithFailing('nft', 'Error: Could not process rule: Operation not permitted');
    expect(run.code).toBe(EXIT.environment);
    expect(oneLine(run)).toMatch(/^error: nft: Could not process rule: Operation not permitted .*need root, nftables and iproute2/);
    expect(listNamespaces(PREFIX)).toEqual([]);
  });

  it('ip refusing a namespace is a dataplane failure, exit 10', async () => {
    const run = await nodeCreateWithFailing('ip', 'RTNETLINK answers: Invalid argument');
    expect(run.code).toBe(EXIT.dataplane);
    expect(oneLine(run)).toMatch(/^error: ip netns add \S+: RTNETLINK answers: Invalid argument$/);
  });

  it('ip without the privilege is the environment, exit 7', async () => {
    const run = await nodeCreateWithFailing('ip', 'mount --make-shared /run/netns failed: Operation not permitted');
    expect(run.code).toBe(EXIT.environment);
    expect(oneLine(run)).toMatch(/^error: ip netns add \S+: mount --make-shared \/run\/netns failed: Operation not permitted/);
  });
});
