// Output formats go through one printer registry (src/cli/output/printers.ts): every command's -o names only
// registered formats, its --help lists exactly what it accepts, an unknown format is the same one-line usage
// error everywhere, and -o json is one JSON document.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { OUTPUT_FORMATS } from '../../src/cli/output/printers.js';
import { allCommands } from '../../src/cli/registry.js';
import { captureCli } from './captureCli.js';

const cluster = join(import.meta.dirname, '../../examples/cluster.yaml');

/** A run of each command that prints a result, without the -o option. */
const RUNS: Record<string, string[]> = {
  version: ['version'],
  validate: ['validate', '-f', cluster],
  convert: ['convert', '-f', cluster],
  select: ['select', 'all()', '-f', cluster],
  matrix: ['matrix', '-f', cluster],
};

describe('the printer registry', () => {
  it('every -o option lists only registered formats, the default marked', async () => {
    for (const c of await allCommands()) {
      const output = c.options.output;
      if (!output) continue;
      const named = output.description.match(/\b[a-z]+\b/g)!.filter((w) => Object.hasOwn(OUTPUT_FORMATS, w));
      expect(named.length, `${c.name}: ${output.description}`).toBeGreaterThanOrEqual(2);
      expect(output.short).toBe('o');
      expect(output.description, c.name).toMatch(/\b[a-z]+ \(default\b/);
    }
  });

  for (const [name, argv] of Object.entries(RUNS)) {
    it(`${name}: an unknown format is one usage line naming what ${name} prints; -o json is one JSON document`, async () => {
      const bad = await captureCli([...argv, '-o', 'xml']);
      expect(bad.code).toBe(2);
      expect(bad.stdout).toBe('');
      const m = /^error: unsupported output format 'xml': allowed are ([a-z, ]+)\n$/.exec(bad.stderr);
      expect(m, bad.stderr).not.toBeNull();
      const allowed = m![1]!.split(', ');
      for (const f of allowed) expect(Object.keys(OUTPUT_FORMATS)).toContain(f);
      const help = await captureCli([name, '--help']);
      const line = help.stdout.split('\n').find((l) => l.includes('--output'))!;
      for (const f of allowed) expect(line).toMatch(new RegExp(`\\b${f}\\b`));

      const json = await captureCli([...argv, '-o', 'json']);
      expect(json.code, json.stderr).toBe(0);
      expect(() => JSON.parse(json.stdout)).not.toThrow();
    });
  }
});
