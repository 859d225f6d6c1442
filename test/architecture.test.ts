// Keeps the layering visible in the folder layout true: selector ← api ← engine ← analysis/dataplane ← cli/server,
// datastore → api only; sync (the datastore-watch → engine loop) → engine + datastore, used by dataplane, server and
// cli. Imports inside one part are free.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');

/** part → the parts it may import */
const ALLOWED: Record<string, string[]> = {
  selector: [],
  api: ['selector'],
  datastore: ['api', 'selector'],
  engine: ['api', 'selector'],
  analysis: ['engine', 'api', 'selector'],
  sync: ['engine', 'datastore', 'api', 'selector'],
  dataplane: ['sync', 'engine', 'datastore', 'api', 'selector'],
  server: ['sync', 'analysis', 'engine', 'datastore', 'api', 'selector'],
  cli: ['server', 'dataplane', 'sync', 'analysis', 'engine', 'datastore', 'api', 'selector'],
};

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : path.endsWith('.ts') ? [path] : [];
  });
}

function partOf(file: string): string {
  return relative(src, file).split('/')[0]!;
}

describe('architecture', () => {
  const files = walk(src).filter((f) => relative(src, f).includes('/'));
  it('has the parts of the layout', () => {
    for (const part of ['selector', 'api', 'cli', 'sync']) expect(readdirSync(src)).toContain(part);
  });
  it('every part has its arrows', () => {
    const parts = readdirSync(src).filter((name) => statSync(join(src, name)).isDirectory());
    expect(parts.filter((p) => !(p in ALLOWED))).toEqual([]);
  });
  for (const file of files) {
    const part = partOf(file);
    it(`${relative(root, file)} imports only what ${part} may`, () => {
      const text = readFileSync(file, 'utf8');
      const imports = [...text.matchAll(/(?:from\s+|import\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!);
      const bad: string[] = [];
      for (const spec of imports) {
        const target = resolve(dirname(file), spec);
        if (!target.startsWith(src + '/')) continue;
        const targetPart = partOf(target);
        if (targetPart === part) continue;
        if (!(ALLOWED[part] ?? []).includes(targetPart)) bad.push(`${spec} (${part} → ${targetPart})`);
      }
      expect(bad).toEqual([]);
    });
  }
});
