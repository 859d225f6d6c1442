// Conformance: the Kubernetes e2e NetworkPolicy truth tables (conformance/k8s-e2e) through
// `tabby matrix`. For every case file present, every step and every probe: the model with the step's label
// changes (carried over to later steps) and the step's NetworkPolicies are written to a temporary directory,
// `tabby matrix -f DIR --protocol P --port N -o json` runs in-process, and every asserted cell must match.
// UDP and SCTP are computed like TCP; the k8s policies are checked as the API server checks them and
// converted, which is what loading does for networking.k8s.io/v1 objects.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

import { captureCli } from '../cli/captureCli.js';
import { assertedCells, caseFiles, ModelState, readCase, readModel } from './k8s-e2e-corpus.js';

interface MatrixJson { protocol: string; port: number; endpoints: string[]; allowed: boolean[][] }

const model = readModel();
const files = caseFiles();
const counts = { files: 0, steps: 0, probes: 0, cells: 0, failedCells: 0 };
const work = mkdtempSync(join(tmpdir(), 'tabby-k8s-e2e-'));

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  console.log(`k8s-e2e through tabby matrix: ${counts.files} files, ${counts.steps} steps, ${counts.probes} probes, ` +
    `${counts.cells - counts.failedCells}/${counts.cells} cells pass`);
});

describe('k8s-e2e truth tables through tabby matrix', () => {
  it('finds the corpus', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  describe.each(files)('%s', (file) => {
    it('reproduces every asserted cell of every probe', async () => {
      const corpus = readCase(file);
      const state = new ModelState(model);
      const mismatches: string[] = [];
      for (const [s, step] of corpus.steps.entries()) {
        state.apply(step);
        const dir = join(work, `${file.replace(/\.ya?ml$/, '')}-step${s}`);
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'model.yaml'), state.manifests().map((m) => stringify(m)).join('---\n'));
        if (step.policies.length > 0) writeFileSync(join(dir, 'policies.yaml'), step.policies.map((p) => stringify(p)).join('---\n'));
        for (const probe of step.probes) {
          const run = await captureCli(['matrix', '-f', dir, '--protocol', probe.protocol, '--port', String(probe.port), '-o', 'json']);
          expect(run.stderr).toBe('');
          expect(run.code).toBe(0);
          const m = JSON.parse(run.stdout) as MatrixJson;
          const index = new Map(m.endpoints.map((e, i) => [e, i]));
          for (const cell of assertedCells(probe.reachability)) {
            const i = index.get(cell.from);
            const j = index.get(cell.to);
            if (i === undefined || j === undefined) throw new Error(`${cell.from} or ${cell.to} is not in the matrix`);
            const got = m.allowed[i]![j] ? '.' : 'X';
            counts.cells++;
            if (got !== cell.expected) {
              counts.failedCells++;
              mismatches.push(`step ${s} ${probe.protocol}/${probe.port} ${cell.from} → ${cell.to}: expected ${cell.expected}, got ${got}`);
            }
          }
          counts.probes++;
        }
        counts.steps++;
      }
      counts.files++;
      expect(mismatches).toEqual([]);
    });
  });
});
