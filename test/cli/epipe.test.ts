// Issue 12 §3: a closed pipe (`tabby matrix … | head -1`) ends quietly — no EPIPE stack trace, exit 0 — for every
// command, handled once in main.ts. Through the built CLI with real pipes: a real `head -1` (bash's PIPESTATUS
// gives tabby's own status), and a reader that closes its end before tabby writes or in the middle of a watch.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { gnp } from '../datastore/fixtures.js';
import { until } from '../poll.js';
import { assertBuilt, builtCli, repoRoot, startCli } from './built-cli.js';
import { captureCli } from './captureCli.js';

const root = mkdtempSync(join(tmpdir(), 'tabby-epipe-'));
const store = `file:${join(root, 'store')}`;
const env = { TABBY_DATASTORE: store };
const cluster = join(repoRoot, 'examples/cluster.yaml');

beforeAll(async () => {
  assertBuilt();
  // Enough objects that `get -o yaml` does not fit in a pipe's buffer: head exits while tabby still writes.
  const many = Array.from({ length: 400 }, (_, i) => JSON.stringify(gnp(`policy-${i}`, { labels: { n: String(i) } })));
  expect((await captureCli(['apply', '-f', '-'], { env, stdin: many.join('\n---\n') })).code).toBe(0);
  writeFileSync(join(root, 'one.yaml'), JSON.stringify(gnp('one')));
}, 60_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** `tabby ARGS | head -1` in bash: tabby's exit status and stderr, and what head printed. */
function throughHead(args: string[]): { status: number; stderr: string; head: string } {
  const quoted = args.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const r = spawnSync('bash', ['-c', `node '${builtCli}' ${quoted} 2>"$ERR" | head -1; exit \${PIPESTATUS[0]}`], {
    encoding: 'utf8', env: { PATH: process.env.PATH, TABBY_DATASTORE: store, ERR: join(root, 'stderr') },
  });
  const stderr = spawnSync('cat', [join(root, 'stderr')], { encoding: 'utf8' }).stdout;
  return { status: r.status ?? -1, stderr, head: r.stdout };
}

/** tabby with its stdout a pipe whose reader is closed before tabby writes a byte. */
async function readerGone(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const p = startCli(args, env);
  p.proc.stdout!.destroy();
  const { code } = await p.exited;
  return { code, stderr: p.stderr() };
}

/** No trace of the closed pipe on stderr (a command's own summary lines there are fine). */
function quiet(stderr: string): void {
  expect(stderr).not.toMatch(/EPIPE|Error|internal error|^\s+at /m);
}

describe('a closed pipe ends tabby quietly with exit 0', () => {
  it('tabby get -o yaml | head -1 and tabby matrix | head -1', () => {
    const get = throughHead(['get', 'gnp', '-o', 'yaml']);
    expect(get).toEqual({ status: 0, stderr: '', head: 'apiVersion: projectcalico.org/v3\n' });
    const matrix = throughHead(['matrix', '-f', cluster, '--port', '80']);
    quiet(matrix.stderr);
    expect(matrix.head).toMatch(/\S/);
    expect(matrix.status).toBe(0);
  }, 60_000);

  it.each([
    [['get', 'gnp']],
    [['get', 'gnp', '-o', 'json']],
    [['matrix', '-f', cluster]],
    [['validate', '-f', 'ONE']],
    [['--help']],
    [['get', '--help']],
    [['version']],
  ])('%j with the reader gone before it writes', async (args) => {
    const run = await readerGone(args.map((a) => (a === 'ONE' ? join(root, 'one.yaml') : a)));
    quiet(run.stderr);
    expect(run.code).toBe(0);
  }, 30_000);

  it('a watch whose reader goes away ends at its next event', async () => {
    const p = startCli(['get', 'gnp', 'policy-1', '-w', '-o', 'name'], env);
    await until('the listing', () => p.stdout().includes('policy-1'), 20_000);
    p.proc.stdout!.destroy();
    expect((await captureCli(['label', 'gnp', 'policy-1', 'x=y'], { env })).code).toBe(0);
    expect(await p.exited).toEqual({ code: 0, signal: null });
    expect(p.stderr()).toBe('');
  }, 30_000);
});
