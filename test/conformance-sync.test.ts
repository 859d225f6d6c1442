// The project's conformance corpora (conformance/) against their upstream copy (../shared/conformance/): while
// upstream sits beside the repository the two must be identical (scripts/conformance-sync.mjs --check compares
// them byte for byte, leaving out the project's own conformance/README.md). A fresh clone has no ../shared: the
// comparison is then skipped with that reason, and the corpora are used as committed.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import { CONFORMANCE_DIR, corpusDir, corpusFile, REPO_ROOT } from './conformance-corpus.js';

const UPSTREAM = resolve(REPO_ROOT, '../shared/conformance');
const SCRIPT = join(REPO_ROOT, 'scripts/conformance-sync.mjs');

describe('conformance corpora', () => {
  it('are in the project (conformance/), whether or not ../shared exists', () => {
    for (const file of ['selectors.json', 'calico-validation.json', 'k8s-e2e/MODEL.yaml', 'README.md']) corpusFile(file);
    for (const dir of ['calico-eval', 'k8s-e2e']) corpusDir(dir);
    expect(existsSync(CONFORMANCE_DIR)).toBe(true);
  });

  it('match the upstream copy in ../shared/conformance', (ctx) => {
    if (!existsSync(UPSTREAM)) {
      const reason = `no upstream copy at ${UPSTREAM} (a clone outside the workspace): nothing to compare`;
      process.stderr.write(`conformance-sync: skipped: ${reason}\n`);
      ctx.skip(reason);
    }
    const run = spawnSync(process.execPath, [SCRIPT, '--check'], { cwd: REPO_ROOT, encoding: 'utf8' });
    // The script's own listing names every differing file and says to run `npm run conformance:sync`.
    expect(run.stderr).toBe('');
    expect(run.status, run.stdout).toBe(0);
    expect(run.stdout).toMatch(/^conformance\/ matches \.\.\/shared\/conformance \(\d+ files\)/);
  });
});
