#!/usr/bin/env node
// `npm run conformance:sync`: refreshes the project's conformance corpora (conformance/) from the upstream copy
// in ../shared/conformance/ when one sits beside the repository. The project keeps its own copy so that a fresh
// clone runs every conformance suite; this script is how that copy follows upstream.
//
//   node scripts/conformance-sync.mjs           mirror upstream into conformance/ (add, update, remove files)
//   node scripts/conformance-sync.mjs --check   only compare; exit 1 and list the differences if any
//
// conformance/README.md is the project's own (sources and licences) and is never compared or overwritten;
// every other file is an exact byte copy of upstream. Without ../shared/conformance both modes say so and exit 0:
// the project's copy is then used as it is.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const UPSTREAM = resolve(repoRoot, '../shared/conformance');
export const LOCAL = resolve(repoRoot, 'conformance');
/** Paths (relative, `/`-separated) that belong to the project, not to upstream. */
const PROJECT_OWNED = new Set(['README.md']);
/** The corpora are a few hundred small files; anything far beyond that is not a corpus. */
const MAX_FILES = 10_000;

/** Every regular file under `root`, as sorted relative paths; symlinks and other specials are refused. */
function listFiles(root) {
  const out = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      const rel = relative(root, full).split('\\').join('/');
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        if (!PROJECT_OWNED.has(rel)) out.push(rel);
      } else throw new Error(`${full}: not a regular file or directory; the corpora hold only plain files`);
      if (out.length > MAX_FILES) throw new Error(`${root}: more than ${MAX_FILES} files; is this the right folder?`);
    }
  };
  if (existsSync(root)) walk(root);
  return out.sort();
}

/** How `local` differs from `upstream`: files to add, to update and to remove. */
export function compare(upstream = UPSTREAM, local = LOCAL) {
  const up = listFiles(upstream);
  const mine = new Set(listFiles(local));
  const added = [];
  const changed = [];
  for (const rel of up) {
    if (!mine.has(rel)) added.push(rel);
    else if (!readFileSync(join(upstream, rel)).equals(readFileSync(join(local, rel)))) changed.push(rel);
    mine.delete(rel);
  }
  return { added, changed, removed: [...mine].sort(), total: up.length };
}

function sync(upstream, local) {
  const diff = compare(upstream, local);
  for (const rel of [...diff.added, ...diff.changed]) {
    const dest = join(local, rel);
    mkdirSync(dirname(dest), { recursive: true });
    // Written afresh rather than copied, so the copy gets ordinary permissions (upstream files are read-only).
    rmSync(dest, { force: true });
    writeFileSync(dest, readFileSync(join(upstream, rel)));
  }
  for (const rel of diff.removed) rmSync(join(local, rel));
  removeEmptyDirs(local);
  return diff;
}

function removeEmptyDirs(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const full = join(dir, entry.name);
    removeEmptyDirs(full);
    if (readdirSync(full).length === 0) rmSync(full, { recursive: true });
  }
}

/** A listing of the differences, at most MAX_LISTED lines (a first sync adds every file). */
const MAX_LISTED = 20;
const CHECK_WORDS = ['only upstream:       ', 'differs:             ', 'only in conformance/:'];
const SYNC_WORDS = ['added:  ', 'updated:', 'removed:'];
function describe(diff, words) {
  const lines = [
    ...diff.added.map((rel) => `  ${words[0]} ${rel}`),
    ...diff.changed.map((rel) => `  ${words[1]} ${rel}`),
    ...diff.removed.map((rel) => `  ${words[2]} ${rel}`),
  ];
  if (lines.length > MAX_LISTED) lines.splice(MAX_LISTED, Infinity, `  … and ${lines.length - MAX_LISTED} more`);
  return lines.join('\n');
}

/** `../shared/conformance` as the project sees it, for messages. */
const UPSTREAM_SHOWN = relative(repoRoot, UPSTREAM).split('\\').join('/');

function main(argv) {
  const check = argv.includes('--check');
  const unknown = argv.filter((a) => a !== '--check');
  if (unknown.length > 0) {
    process.stderr.write(`conformance-sync: unknown argument ${unknown[0]}; usage: node scripts/conformance-sync.mjs [--check]\n`);
    return 2;
  }
  if (!existsSync(UPSTREAM) || !statSync(UPSTREAM).isDirectory()) {
    process.stdout.write(`conformance-sync: no upstream copy at ${UPSTREAM_SHOWN}; conformance/ is used as it is\n`);
    return 0;
  }
  if (check) {
    const diff = compare();
    const count = diff.added.length + diff.changed.length + diff.removed.length;
    if (count === 0) {
      process.stdout.write(`conformance/ matches ${UPSTREAM_SHOWN} (${diff.total} files)\n`);
      return 0;
    }
    process.stdout.write(`conformance/ differs from ${UPSTREAM_SHOWN} in ${count} file(s):\n${describe(diff, CHECK_WORDS)}\n` +
      'run `npm run conformance:sync` to refresh the project\'s copy, then commit conformance/\n');
    return 1;
  }
  mkdirSync(LOCAL, { recursive: true });
  const diff = sync(UPSTREAM, LOCAL);
  const count = diff.added.length + diff.changed.length + diff.removed.length;
  process.stdout.write(count === 0
    ? `conformance/ already matches ${UPSTREAM_SHOWN} (${diff.total} files)\n`
    : `conformance/ synced from ${UPSTREAM_SHOWN}: ${diff.added.length} added, ${diff.changed.length} updated, ` +
      `${diff.removed.length} removed (${diff.total} files)\n${describe(diff, SYNC_WORDS)}\n`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`conformance-sync: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  }
}
