// Conformance: every calico-eval scenario (../shared/conformance/calico-eval/*.yaml, files added later are picked
// up) runs through `tabby test` — the same function the command runs, plus the command itself in-process — and
// every flow verdict, asserted decision, pending verdict and policy ordering must match what Calico asserts.

import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { runTestFiles, type TestRunReport } from '../../src/cli/commands/test.js';
import { runCli } from '../../src/cli/main.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const corpus = join(resolve(repoRoot, '../shared/conformance'), 'calico-eval');
const missing = existsSync(corpus) ? false : `calico-eval corpus not found at ${corpus}`;
if (missing) console.warn(`skipping calico-eval conformance: ${missing}`);

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

describe.skipIf(missing)('calico-eval conformance', () => {
  const files = missing ? [] : readdirSync(corpus).filter((f) => /^\d{3}-.*\.yaml$/.test(f)).sort();
  let report: TestRunReport;

  it('finds the scenario files', () => {
    expect(files.length).toBeGreaterThan(100);
  });

  it('passes every flow, decision, pending verdict and ordering', async () => {
    report = await runTestFiles(files.map((f) => join(corpus, f)), { cwd: repoRoot });
    const flows = report.files.reduce((n, f) => n + f.flows.length, 0);
    const orderings = report.files.reduce((n, f) => n + f.applied.length, 0);
    console.log(`calico-eval: ${report.files.length} files, ${flows} flows, ${orderings} orderings: ` +
      `${report.passed} passed, ${report.failed} failed`);
    const problems = report.files.flatMap((f) => [
      ...(f.error ? [`${f.file}: ${f.error}`] : []),
      ...f.flows.filter((r) => !r.pass).map((r) => `${f.file}: ${JSON.stringify(r.flow.from)} → ${JSON.stringify(r.flow.to)}: ${r.failures.join('; ')}`),
      ...f.applied.filter((r) => !r.pass).map((r) => `${f.file}: ${r.endpoint}: ${r.failures.join('; ')}`),
    ]);
    expect(problems).toEqual([]);
    expect(report.files.length).toBe(files.length);
    expect(report.failed).toBe(0);
  });

  it('runs through the tabby test command with exit 0 and a JSON report', async () => {
    const out = capture();
    const err = capture();
    const code = await runCli(['test', corpus, '-o', 'json'], {
      stdout: out.stream, stderr: err.stream, stdin: new PassThrough(), env: {}, cwd: repoRoot,
    });
    const json = JSON.parse(out.text()) as { files: Array<{ file: string; error: string | null }>; passed: number; failed: number };
    expect(err.text()).toBe('');
    expect(code).toBe(0);
    expect(json.failed).toBe(0);
    expect(json.files.length).toBeGreaterThanOrEqual(files.length);
    expect(json.passed).toBe(report.passed);
  });
});
