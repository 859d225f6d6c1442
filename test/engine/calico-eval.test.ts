// Conformance: every calico-eval scenario (conformance/calico-eval/*.yaml, files added later are picked
// up) runs through `tabby test` — the same function the command runs, plus the command itself in-process — and
// every flow verdict, asserted decision, pending verdict and policy ordering must match what Calico asserts.

import { join } from 'node:path';
import { PassThrough } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { runTestFiles, type TestRunReport } from '../../src/cli/commands/test.js';
import { runCli } from '../../src/cli/main.js';
import { corpusDir, corpusFiles, REPO_ROOT as repoRoot } from '../conformance-corpus.js';

// A missing or empty corpus throws here, failing the suite with the corpus path.
const corpus = corpusDir('calico-eval');
const files = corpusFiles('calico-eval', /^\d{3}-.*\.yaml$/);

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

describe('calico-eval conformance', () => {
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
