// Paths → manifest bytes. A path is a file (read whatever its extension), a directory (walked recursively for
// .yaml/.yml/.json in sorted order, skipping hidden entries and node_modules, as `kubectl apply -R` users
// expect), or `-` for standard input. Every read is capped at the file-size limit, so /dev/zero, a FIFO or a
// huge log passed by mistake ends with an issue instead of exhausting memory.

import { createReadStream, type Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

import type { Issue } from '../issues.js';
import { tooLarge } from './encoding.js';
import { LOAD_LIMITS } from './limits.js';

export const STDIN_PATH = '-';
export const STDIN_NAME = '<stdin>';

const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'] as const;

export type SourceEntry = { kind: 'file'; display: string; absolute: string } | { kind: 'stdin'; display: string };

/** Expands paths into the files to read, in order, each at most once. */
export async function expandPaths(paths: readonly string[], cwd: string): Promise<{ entries: SourceEntry[]; issues: Issue[] }> {
  const entries: SourceEntry[] = [];
  const issues: Issue[] = [];
  const seenFiles = new Set<string>();
  const seenDirs = new Set<string>();
  let stdinSeen = false;

  const addFile = async (display: string, absolute: string): Promise<void> => {
    const real = await realpath(absolute).catch(() => absolute);
    if (seenFiles.has(real)) return;
    seenFiles.add(real);
    entries.push({ kind: 'file', display, absolute });
  };

  const walk = async (displayDir: string, absoluteDir: string): Promise<void> => {
    const real = await realpath(absoluteDir).catch(() => absoluteDir);
    if (seenDirs.has(real)) return; // a symlink loop, or the same directory named twice
    seenDirs.add(real);
    let dirents: Dirent[];
    try {
      dirents = await readdir(absoluteDir, { withFileTypes: true });
    } catch (err) {
      issues.push(readIssue(displayDir, err));
      return;
    }
    dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const d of dirents) {
      if (d.name.startsWith('.') || d.name === 'node_modules') continue;
      const display = path.join(displayDir, d.name);
      const absolute = path.join(absoluteDir, d.name);
      let isDir = d.isDirectory();
      let isFile = d.isFile();
      if (d.isSymbolicLink()) {
        const target = await stat(absolute).catch(() => undefined);
        if (!target) continue; // a dangling link inside a directory is not something the user named
        isDir = target.isDirectory();
        isFile = target.isFile();
      }
      if (isDir) await walk(display, absolute);
      else if (isFile && MANIFEST_EXTENSIONS.some((ext) => d.name.toLowerCase().endsWith(ext))) {
        await addFile(display, absolute);
      }
    }
  };

  for (const p of paths) {
    if (p === STDIN_PATH) {
      if (!stdinSeen) entries.push({ kind: 'stdin', display: STDIN_NAME });
      stdinSeen = true;
      continue;
    }
    const absolute = path.resolve(cwd, p);
    let info;
    try {
      info = await stat(absolute);
    } catch (err) {
      issues.push(readIssue(p, err));
      continue;
    }
    if (info.isDirectory()) await walk(p, absolute);
    else await addFile(p, absolute);
  }
  return { entries, issues };
}

export type ReadResult = { ok: true; bytes: Uint8Array } | { ok: false; issue: Issue };

/** Reads one entry, stopping as soon as it is larger than the limit. */
export async function readEntry(entry: SourceEntry, stdin: NodeJS.ReadableStream | undefined): Promise<ReadResult> {
  if (entry.kind === 'stdin') {
    if (!stdin) {
      return { ok: false, issue: { code: 'load.read', path: [], message: `${STDIN_NAME}: no standard input to read` } };
    }
    return readCapped(stdin, entry.display);
  }
  try {
    const info = await stat(entry.absolute);
    if (info.isFile() && info.size > LOAD_LIMITS.maxFileBytes) return { ok: false, issue: tooLarge(entry.display, info.size) };
  } catch (err) {
    return { ok: false, issue: readIssue(entry.display, err) };
  }
  return readCapped(createReadStream(entry.absolute), entry.display);
}

async function readCapped(stream: NodeJS.ReadableStream, display: string): Promise<ReadResult> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk);
      size += buf.length;
      if (size > LOAD_LIMITS.maxFileBytes) {
        destroy(stream);
        return { ok: false, issue: tooLarge(display, size, /* atLeast */ true) };
      }
      chunks.push(buf);
    }
  } catch (err) {
    return { ok: false, issue: readIssue(display, err) };
  }
  return { ok: true, bytes: Buffer.concat(chunks, size) };
}

function destroy(stream: NodeJS.ReadableStream): void {
  const d = (stream as { destroy?: () => void }).destroy;
  if (typeof d === 'function') d.call(stream);
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
};

export function readIssue(display: string, err: unknown): Issue {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
  const reason = ERRNO_TEXT[code] ?? (err instanceof Error ? err.message : String(err));
  return {
    code: code === 'ENOENT' ? 'load.not-found' : 'load.read', path: [],
    message: `cannot read ${display}: ${reason}`,
  };
}
