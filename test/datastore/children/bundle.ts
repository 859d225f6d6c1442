// Child processes for the file-store fault tests (writers killed with -9, paused watchers, competing writers).
// They are bundled once with esbuild (vitest's own transformer) and run with plain node, because starting a
// TypeScript runner per child would take seconds and these tests start dozens of children.

import { build } from 'esbuild';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
let outDir: string | undefined;

/** Bundles children/<name>.ts into one .mjs and returns its path. */
export async function bundleChild(name: string): Promise<string> {
  // Inside the repository, so the bundle's bare imports (etcd3, yaml) resolve from node_modules.
  const cache = resolve(here, '../../../node_modules/.cache');
  mkdirSync(cache, { recursive: true });
  outDir ??= mkdtempSync(join(cache, 'tabby-children-'));
  const outfile = join(outDir, `${name}.mjs`);
  await build({
    entryPoints: [join(here, `${name}.ts`)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    logLevel: 'error',
    packages: 'external',
  });
  return outfile;
}

/** Removes the bundles (call from afterAll). */
export function removeBundles(): void {
  if (outDir) rmSync(outDir, { recursive: true, force: true });
  outDir = undefined;
}
