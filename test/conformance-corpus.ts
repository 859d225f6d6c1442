// Where the conformance suites find their corpora: the project's own copy in conformance/ (synced from
// ../shared/conformance by `npm run conformance:sync`, see conformance/README.md). A corpus that is missing or
// empty throws with its path, so the suite reading it fails instead of passing with nothing checked.

import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CONFORMANCE_DIR = join(REPO_ROOT, 'conformance');

function missing(path: string, what: string): Error {
  return new Error(`conformance corpus ${what}: ${relative(REPO_ROOT, path) || path} (${path}); the project's copy ` +
    'lives in conformance/ — restore it from git, or run `npm run conformance:sync` where ../shared/conformance exists');
}

/** The path of a corpus file (`selectors.json`), which must exist and be non-empty. */
export function corpusFile(name: string): string {
  const path = join(CONFORMANCE_DIR, name);
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw missing(path, 'is not a file');
    size = st.size;
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('conformance corpus')) throw err;
    throw missing(path, 'not found');
  }
  if (size === 0) throw missing(path, 'is empty');
  return path;
}

/** The path of a corpus folder (`k8s-e2e`), which must exist. */
export function corpusDir(name: string): string {
  const path = join(CONFORMANCE_DIR, name);
  try {
    if (!statSync(path).isDirectory()) throw missing(path, 'is not a folder');
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('conformance corpus')) throw err;
    throw missing(path, 'not found');
  }
  return path;
}

/** The sorted names of the files of corpus folder `name` matching `pattern`; at least one must match. */
export function corpusFiles(name: string, pattern: RegExp): string[] {
  const dir = corpusDir(name);
  const files = readdirSync(dir).filter((f) => pattern.test(f)).sort();
  if (files.length === 0) throw missing(dir, `has no case files (${pattern.source})`);
  return files;
}
