// The writer lock of a file store: a lockfile created with O_EXCL that names its owner. Node has no flock(2)
// without a native addon, so a holder that dies (kill -9) leaves the file behind; the next writer sees that the
// owner is gone and takes over. "Gone" is decided from /proc: the owner's pid must still run *and* have the
// same start time (pids are reused) on the same boot (boot_id), so a live holder is never robbed.
//
// Taking over is itself serialised by a second O_EXCL file (`<lock>.break`), so two processes that both find
// the same stale owner cannot each delete the lock the other has just created. A breaker dies within
// microseconds of creating that file or not at all, so one older than BREAK_STALE_MS is safe to remove.

import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';

interface Owner {
  pid: number;
  /** Process start time in clock ticks since boot (/proc/<pid>/stat field 22). */
  start: string;
  boot: string;
  nonce: string;
}

const BREAK_STALE_MS = 10_000;
/** A lockfile without a readable owner is a creator that died between open and write. */
const UNNAMED_STALE_MS = 2_000;

export class LockTimeoutError extends Error {
  constructor(readonly path: string, readonly holderPid: number | undefined, waitedMs: number) {
    super(`${path} is held by ${holderPid !== undefined ? `process ${holderPid}` : 'another process'} ` +
      `(waited ${waitedMs} ms)`);
    this.name = 'LockTimeoutError';
  }
}

// File operations here are synchronous: each takes microseconds and one runs per write.

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The start time of a running process, or undefined when it does not run (or /proc is not there). */
function processStart(pid: number | 'self'): string | undefined {
  let text: string | undefined;
  try {
    text = readText(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  if (text === undefined) return undefined;
  // The command name (field 2) is parenthesised and may contain spaces; fields after it are space-separated.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return rest[19]; // field 22 overall: starttime
}

function parseOwner(text: string): Owner | undefined {
  try {
    const o = JSON.parse(text) as Partial<Owner>;
    if (typeof o.pid === 'number' && typeof o.start === 'string' && typeof o.boot === 'string' &&
      typeof o.nonce === 'string') return o as Owner;
  } catch {
    // fall through: unreadable owner
  }
  return undefined;
}

function isErrno(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === code;
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let selfIdentity: { start: string; boot: string } | undefined;
function self(): { start: string; boot: string } {
  if (selfIdentity) return selfIdentity;
  let boot = '';
  try {
    boot = readText('/proc/sys/kernel/random/boot_id') ?? '';
  } catch {
    // no /proc: liveness falls back to kill(pid, 0)
  }
  selfIdentity ??= { start: processStart('self') ?? '', boot };
  return selfIdentity;
}

/** Whether the owner a lockfile names is gone (see the header); a file without a readable owner, once it is old. */
function ownerIsStale(path: string, holderText: string): boolean {
  const owner = parseOwner(holderText);
  if (!owner) {
    let mtime: number | undefined;
    try {
      mtime = statSync(path).mtimeMs;
    } catch {
      return false; // gone: the next attempt will find out
    }
    return Date.now() - mtime > UNNAMED_STALE_MS;
  }
  const me = self();
  if (owner.boot !== '' && me.boot !== '' && owner.boot !== me.boot) return true; // written before a reboot
  if (me.start === '') {
    // No /proc: all we can ask is whether the pid exists.
    try {
      process.kill(owner.pid, 0);
      return false;
    } catch (err) {
      return isErrno(err, 'ESRCH');
    }
  }
  return processStart(owner.pid) !== owner.start;
}

/**
 * The pid of the live process holding the lockfile at `path` (the same process that took it: same start time,
 * same boot), or undefined when there is no lockfile or its owner is gone.
 */
export function lockOwner(path: string): number | undefined {
  const text = readText(path);
  if (text === undefined || ownerIsStale(path, text)) return undefined;
  return parseOwner(text)?.pid;
}

export interface FileLockOptions {
  /** How long acquire waits for a live holder before failing with LockTimeoutError. */
  timeoutMs: number;
}

export class FileLock {
  private held: string | undefined;

  constructor(readonly path: string, private readonly options: FileLockOptions) {}

  async acquire(): Promise<void> {
    if (this.held !== undefined) throw new Error(`lock ${this.path} acquired twice`);
    const me = self();
    const owner: Owner = { pid: process.pid, start: me.start, boot: me.boot, nonce: randomBytes(8).toString('hex') };
    const text = JSON.stringify(owner);
    const started = Date.now();
    let backoff = 1;
    for (;;) {
      try {
        writeFileSync(this.path, text, { flag: 'wx', mode: 0o644 });
        this.held = text;
        return;
      } catch (err) {
        if (!isErrno(err, 'EEXIST')) throw err;
      }
      const holderText = readText(this.path);
      if (holderText === undefined) continue; // released between our open and read
      if (this.isStale(holderText)) {
        await this.breakStale(holderText);
        continue;
      }
      const waited = Date.now() - started;
      if (waited > this.options.timeoutMs) {
        throw new LockTimeoutError(this.path, parseOwner(holderText)?.pid, waited);
      }
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 20);
    }
  }

  release(): void {
    const mine = this.held;
    this.held = undefined;
    if (mine === undefined) return;
    // No need to check that the file is still ours: a lock is only taken over once its owner is dead.
    try {
      unlinkSync(this.path);
    } catch {
      // already gone (someone removed the directory); nothing to release
    }
  }

  private isStale(holderText: string): boolean {
    return ownerIsStale(this.path, holderText);
  }

  private async breakStale(staleText: string): Promise<void> {
    const breaker = `${this.path}.break`;
    try {
      closeSync(openSync(breaker, 'wx', 0o644));
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
      let mtime: number | undefined;
      try {
        mtime = statSync(breaker).mtimeMs;
      } catch {
        mtime = undefined;
      }
      if (mtime !== undefined && Date.now() - mtime > BREAK_STALE_MS) removeQuietly(breaker);
      else await sleep(1);
      return;
    }
    try {
      // Still the same stale owner? Another breaker may have replaced it with a live lock meanwhile.
      if (readText(this.path) === staleText) removeQuietly(this.path);
    } finally {
      removeQuietly(breaker);
    }
  }
}
