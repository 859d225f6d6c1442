// Paths → manifest bytes. A path is a file (read whatever its extension), a directory (walked recursively for
// .yaml/.yml/.json in sorted order, skipping hidden entries and node_modules, as `kubectl apply -R` users
// expect), or `-` for standard input. This is the one place Tabby reads user-named files (validate, convert,
// apply/create/replace/delete -f, explain/matrix -f, and `tabby test` with its includes), so every bound is here:
//   - only regular files are read: a FIFO would block forever, a device (/dev/zero) never ends, and files of
//     the kernel's pseudo-filesystems (/proc, /sys) are not manifests and may change under the reader;
//   - every read is capped at the file-size limit, checked on the open descriptor (no stat/open race);
//   - what is checked by path when a file is admitted (inside the root, not a pseudo-filesystem) is checked
//     again on the descriptor once it is open, so swapping a path component for a symbolic link in between
//     (to /proc/self/…, or out of the root) is refused, not followed: see checkOpened;
//   - a directory walk is bounded in depth and in entries, never enters a pseudo-filesystem, and reports a
//     broken or looping symbolic link as an issue naming it;
//   - with a `root`, every file and directory must resolve (symbolic links followed) inside it — how
//     `tabby test` keeps `include:` inside the test file's tree.

import { constants, type Dirent } from 'node:fs';
import { lstat, open, readdir, readlink, realpath, stat, statfs } from 'node:fs/promises';
import path from 'node:path';

import type { Issue } from '../issues.js';
import { displayText } from '../quote.js';
import { tooLarge } from './encoding.js';
import { LOAD_LIMITS } from './limits.js';

export const STDIN_PATH = '-';
export const STDIN_NAME = '<stdin>';

export const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'] as const;

/** What an entry must still be once it is opened: the file admitted, inside the same root. */
export interface Admission {
  /** st_dev and st_ino of the file when it was admitted. */
  dev: number;
  ino: number;
  /** The root it was confined to (its real path), as ExpandOptions['root'] names it. */
  root?: { real: string; name: string; hint?: string };
}

/**
 * One thing to read. A `file` from expandPaths has `absolute` as its real path and its `admission`; one built by
 * hand (no admission) is checked on its descriptor alone.
 */
export type SourceEntry =
  | { kind: 'file'; display: string; absolute: string; admission?: Admission }
  | { kind: 'stdin'; display: string };

type Root = { real: string; name: string; hint?: string };

export interface ExpandOptions {
  /** Names a directory walk picks up (default MANIFEST_EXTENSIONS); a file named directly is always read. */
  extensions?: readonly string[];
  /** Everything read must resolve inside `dir`; `name` says what it is in messages, `hint` how to allow more. */
  root?: { dir: string; name: string; hint?: string };
}

/** Expands paths into the files to read, in order, each at most once. */
export async function expandPaths(
  paths: readonly string[],
  cwd: string,
  options: ExpandOptions = {},
): Promise<{ entries: SourceEntry[]; issues: Issue[] }> {
  const extensions = options.extensions ?? MANIFEST_EXTENSIONS;
  const entries: SourceEntry[] = [];
  const issues: Issue[] = [];
  const seenFiles = new Set<string>();
  const seenDirs = new Set<string>();
  let stdinSeen = false;
  let budget: number = LOAD_LIMITS.maxDirectoryEntries;
  let budgetReported = false;
  const rootDir = options.root?.dir;
  const root: Root | undefined = options.root && rootDir !== undefined
    ? {
      real: await realpath(rootDir).catch(() => path.resolve(rootDir)), name: options.root.name,
      ...(options.root.hint !== undefined ? { hint: options.root.hint } : {}),
    }
    : undefined;

  const addFile = async (display: string, absolute: string): Promise<void> => {
    const admitted = await admit(display, absolute, root);
    if (!admitted.ok) {
      issues.push(admitted.issue);
      return;
    }
    if (seenFiles.has(admitted.entry.absolute)) return;
    seenFiles.add(admitted.entry.absolute);
    entries.push(admitted.entry);
  };

  const walk = async (displayDir: string, absoluteDir: string, depth: number): Promise<void> => {
    const admitted = await admit(displayDir, absoluteDir, root);
    if (!admitted.ok) {
      issues.push(admitted.issue);
      return;
    }
    const real = admitted.entry.absolute;
    if (seenDirs.has(real)) return; // a symlink loop, or the same directory named twice
    seenDirs.add(real);
    if (depth > LOAD_LIMITS.maxDirectoryDepth) {
      issues.push({
        code: 'load.too-deep', path: [],
        message: `${displayDir}: directories nested too deeply (max ${LOAD_LIMITS.maxDirectoryDepth} levels); not read`,
      });
      return;
    }
    let dirents: Dirent[];
    try {
      dirents = await readdir(real, { withFileTypes: true });
    } catch (err) {
      issues.push(readIssue(displayDir, err));
      return;
    }
    dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const d of dirents) {
      if (d.name.startsWith('.') || d.name === 'node_modules') continue;
      if (--budget < 0) {
        if (!budgetReported) {
          issues.push({
            code: 'load.too-many-files', path: [],
            message: `too many directory entries (max ${LOAD_LIMITS.maxDirectoryEntries} per load); ` +
              `${path.join(displayDir, d.name)} and later entries were not read`,
          });
        }
        budgetReported = true;
        return;
      }
      const display = path.join(displayDir, d.name);
      const absolute = path.join(real, d.name);
      let isDir = d.isDirectory();
      let isFile = d.isFile();
      if (d.isSymbolicLink()) {
        let target;
        try {
          target = await stat(absolute);
        } catch (err) {
          // kubectl apply -R fails on a broken link too; skipping it would hide a missing manifest.
          issues.push(await linkIssue(display, absolute, err));
          continue;
        }
        isDir = target.isDirectory();
        isFile = target.isFile();
      }
      const wanted = extensions.some((ext) => d.name.toLowerCase().endsWith(ext));
      if (isDir) await walk(display, absolute, depth + 1);
      else if (wanted && isFile) await addFile(display, absolute);
      else if (wanted) {
        issues.push(notRegular(display, d.isSymbolicLink() ? await stat(absolute).catch(() => undefined) : d));
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
      issues.push(await linkIssue(p, absolute, err));
      continue;
    }
    if (info.isDirectory()) await walk(p, absolute, 0);
    else await addFile(p, absolute);
  }
  return { entries, issues };
}

type Admitted = { ok: true; entry: SourceEntry & { kind: 'file'; admission: Admission } } | { ok: false; issue: Issue };

/**
 * `absolute` as an entry that may be read (its real path, and what it is now), or the issue saying why not:
 * a broken or looping link, outside `root`, on a pseudo-filesystem. Checked by path, so readEntry checks the
 * opened descriptor again.
 */
async function admit(display: string, absolute: string, root: Root | undefined): Promise<Admitted> {
  let real: string;
  let info;
  try {
    real = await realpath(absolute);
    info = await stat(real);
  } catch (err) {
    return { ok: false, issue: await linkIssue(display, absolute, err) };
  }
  if (root && !isInside(real, root.real)) return { ok: false, issue: outsideRoot(display, real, root) };
  const pseudo = await pseudoFilesystem(real);
  if (pseudo !== undefined) return { ok: false, issue: onPseudoFilesystem(display, pseudo) };
  const admission: Admission = { dev: info.dev, ino: info.ino, ...(root ? { root } : {}) };
  return { ok: true, entry: { kind: 'file', display, absolute: real, admission } };
}

/**
 * One file named by its path (symbolic links followed), admitted as expandPaths admits a file: for files that
 * are not manifests (the CLI's config.yaml, an agent's status file) and must not be a way around the checks.
 */
export async function admitFile(absolute: string, display: string): Promise<Admitted> {
  return admit(display, absolute, undefined);
}

export type ReadResult = { ok: true; bytes: Uint8Array } | { ok: false; issue: Issue };

/**
 * Reads one entry, stopping as soon as it is larger than `maxBytes` (the manifest limit unless a caller asks for
 * less). A file is opened without following a final symbolic link (its admitted path is a real path) and
 * checked on the descriptor before a byte is read (checkOpened).
 */
export async function readEntry(
  entry: SourceEntry,
  stdin: NodeJS.ReadableStream | undefined,
  maxBytes: number = LOAD_LIMITS.maxFileBytes,
): Promise<ReadResult> {
  if (entry.kind === 'stdin') {
    if (!stdin) {
      return { ok: false, issue: { code: 'load.read', path: [], message: `${STDIN_NAME}: no standard input to read` } };
    }
    return readCapped(stdin, entry.display, maxBytes);
  }
  let handle;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below, on the descriptor itself.
    // O_NOFOLLOW for an admitted entry: its path was real when admitted, so a link there now was put in since.
    const flags = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY |
      (entry.admission ? constants.O_NOFOLLOW : 0);
    handle = await open(entry.absolute, flags);
  } catch (err) {
    if (entry.admission && errnoOf(err) === 'ELOOP') return { ok: false, issue: replaced(entry.display, 'a symbolic link') };
    return { ok: false, issue: readIssue(entry.display, err) };
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return { ok: false, issue: notRegular(entry.display, info) };
    const refused = await checkOpened(entry, handle.fd, info);
    if (refused) return { ok: false, issue: refused };
    if (info.size > maxBytes) return { ok: false, issue: tooLarge(entry.display, info.size, false, maxBytes) };
    return await readCapped(handle.createReadStream({ autoClose: false }), entry.display, maxBytes);
  } catch (err) {
    return { ok: false, issue: readIssue(entry.display, err) };
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * The admission checks again, on what was actually opened. Between admission (realpath, statfs) and open, a
 * directory on the path can be swapped for a symbolic link — to /proc, whose files say they are regular, or out
 * of the root — and O_NOFOLLOW guards only the last component. Linux names the opened file in /proc/self/fd/N
 * (proc(5)): readlink gives its real path, statfs through it the file system it is on; what those say is what
 * is read, so a file replaced by another regular file inside the root (an editor's save, an atomic rename) is
 * still fine. Where /proc is not mounted, the file must be the one admitted (st_dev, st_ino) and statfs runs on
 * the path.
 */
async function checkOpened(
  entry: SourceEntry & { kind: 'file' },
  fd: number,
  info: { dev: number; ino: number },
): Promise<Issue | undefined> {
  const fdPath = `/proc/self/fd/${fd}`;
  const opened = await readlink(fdPath).catch(() => undefined);
  const pseudo = await pseudoFilesystem(opened === undefined ? entry.absolute : fdPath);
  if (pseudo !== undefined) return onPseudoFilesystem(entry.display, pseudo);
  const admission = entry.admission;
  if (!admission) return undefined;
  if (opened !== undefined) {
    return admission.root && !isInside(opened, admission.root.real) ? outsideRoot(entry.display, opened, admission.root) : undefined;
  }
  return info.dev !== admission.dev || info.ino !== admission.ino ? replaced(entry.display, 'another file') : undefined;
}

function outsideRoot(display: string, real: string, root: Root): Issue {
  return {
    code: 'load.outside-root', path: [],
    message: `refusing to read ${display}: it resolves to ${displayText(real)}, outside ${root.name} ` +
      `${displayText(root.real)}${root.hint ? ` (${root.hint})` : ''}`,
  };
}

function onPseudoFilesystem(display: string, pseudo: string): Issue {
  return {
    code: 'load.not-regular', path: [],
    message: `refusing to read ${display}: it is on the kernel's ${pseudo} pseudo-filesystem, not a manifest`,
  };
}

function replaced(display: string, what: string): Issue {
  return {
    code: 'load.changed', path: [],
    message: `refusing to read ${display}: it was replaced by ${what} after it was checked; run again`,
  };
}

async function readCapped(stream: NodeJS.ReadableStream, display: string, maxBytes: number): Promise<ReadResult> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk);
      size += buf.length;
      if (size > maxBytes) {
        destroy(stream);
        return { ok: false, issue: tooLarge(display, size, /* atLeast */ true, maxBytes) };
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

/** `dir` itself or something under it (both real paths). */
export function isInside(real: string, dir: string): boolean {
  if (real === dir) return true;
  return real.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);
}

/**
 * statfs(2) magic numbers of the kernel's pseudo-filesystems (linux/magic.h). Their files say they are
 * regular with size 0 and are generated as they are read (/proc/kcore is the size of memory).
 */
const PSEUDO_FILESYSTEMS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'proc'], [0x62656572, 'sysfs'], [0x64626720, 'debugfs'], [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'], [0x27e0eb, 'cgroup'], [0x63677270, 'cgroup2'], [0xcafe4a11, 'bpf'],
  [0x62656570, 'configfs'], [0xde5e81e4, 'efivarfs'], [0x6165676c, 'pstore'], [0x1cd1, 'devpts'],
]);

async function pseudoFilesystem(real: string): Promise<string | undefined> {
  const fs = await statfs(real).catch(() => undefined);
  return fs === undefined ? undefined : PSEUDO_FILESYSTEMS.get(Number(fs.type));
}

type FileKind = { isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean };

function notRegular(display: string, info: FileKind | undefined): Issue {
  const what = !info ? 'something else'
    : info.isFIFO() ? 'a FIFO (named pipe)'
      : info.isCharacterDevice() ? 'a character device'
        : info.isBlockDevice() ? 'a block device'
          : info.isSocket() ? 'a socket' : 'something else';
  return {
    code: 'load.not-regular', path: [],
    message: `refusing to read ${display}: it is ${what}, not a regular file`,
  };
}

/** A path that does not resolve: a broken or looping symbolic link says so, naming its target. */
async function linkIssue(display: string, absolute: string, err: unknown): Promise<Issue> {
  const code = errnoOf(err);
  if (code === 'ENOENT' || code === 'ELOOP') {
    const link = await lstat(absolute).catch(() => undefined);
    if (link?.isSymbolicLink()) {
      const target = await readlink(absolute).catch(() => '?');
      return {
        code: 'load.read', path: [],
        message: code === 'ELOOP'
          ? `cannot read ${display}: symbolic link loop (${display} → ${displayText(target)} leads back to itself)`
          : `cannot read ${display}: broken symbolic link (its target ${displayText(target)} does not exist)`,
      };
    }
  }
  return readIssue(display, err);
}

function errnoOf(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
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
  ENXIO: 'no such device or address (a socket or a device without a driver)',
};

export function readIssue(display: string, err: unknown): Issue {
  const code = errnoOf(err);
  const reason = ERRNO_TEXT[code] ?? (err instanceof Error ? err.message : String(err));
  return {
    code: code === 'ENOENT' ? 'load.not-found' : 'load.read', path: [],
    message: `cannot read ${display}: ${reason}`,
  };
}
