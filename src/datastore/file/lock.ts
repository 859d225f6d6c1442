// The writer lock of a file store: a lockfile created with O_EXCL that names its owner. Node has no flock(2)
// without a native addon, so a holder that dies (kill -9) leaves the file behind; the next writer sees that the
// owner is gone and takes over. "Gone" is decided from /proc: the owner's pid must still run *and* have the
// same start time (pids are reused) on the same boot (boot_id), so a live holder is never robbed.
//
// Taking over is itself serialised by a second O_EXCL file (`<lock>.break`), so two processes that both find
// the same stale owner cannot each delete the lock the other has just created. A breaker dies within
// microseconds of creating that file or not at all, so one older than BREAK_STALE_MS is safe to remove.

import { randomBytes } from 'node:crypto';
import { open, readFile, stat, unlink } from 'node:fs/promises';

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

async function readText(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The start time of a running process, or undefined when it does not run (or /proc is not there). */
async function processStart(pid: number | 'self'): Promise<string | undefined> {
  const text = await readText(`/proc/${pid}/stat`).catch(() => undefined);
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

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let selfIdentity: Promise<{ start: string; boot: string }> | undefined;
function self(): Promise<{ start: string; boot: string }> {
  selfIdentity ??= (async () => ({
    start: (await processStart('self')) ?? '',
    boot: (await readText('/proc/sys/kernel/random/boot_id').catch(() => undefined)) ?? '',
  }))();
  return selfIdentity;
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
    const me = await self();
    const owner: Owner = { pid: process.pid, start: me.start, boot: me.boot, nonce: randomBytes(8).toString('hex') };
    const text = JSON.stringify(owner);
    const started = Date.now();
    let backoff = 1;
    for (;;) {
      try {
        const fh = await open(this.path, 'wx', 0o644);
        try {
          await fh.writeFile(text);
        } finally {
          await fh.close();
        }
        this.held = text;
        return;
      } catch (err) {
        if (!isErrno(err, 'EEXIST')) throw err;
      }
      const holderText = await readText(this.path);
      if (holderText === undefined) continue; // released between our open and read
      if (await this.isStale(holderText)) {
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

  async release(): Promise<void> {
    const mine = this.held;
    this.held = undefined;
    if (mine === undefined) return;
    // Only remove our own lockfile; if it was ever judged stale and replaced, the new holder's stays.
    if ((await readText(this.path)) === mine) await unlink(this.path).catch(() => undefined);
  }

  private async isStale(holderText: string): Promise<boolean> {
    const owner = parseOwner(holderText);
    if (!owner) {
      const st = await stat(this.path).catch(() => undefined);
      return st !== undefined && Date.now() - st.mtimeMs > UNNAMED_STALE_MS;
    }
    const me = await self();
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
    return (await processStart(owner.pid)) !== owner.start;
  }

  private async breakStale(staleText: string): Promise<void> {
    const breaker = `${this.path}.break`;
    try {
      const fh = await open(breaker, 'wx', 0o644);
      await fh.close();
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
      const st = await stat(breaker).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > BREAK_STALE_MS) await unlink(breaker).catch(() => undefined);
      else await sleep(1);
      return;
    }
    try {
      // Still the same stale owner? Another breaker may have replaced it with a live lock meanwhile.
      if ((await readText(this.path)) === staleText) await unlink(this.path).catch(() => undefined);
    } finally {
      await unlink(breaker).catch(() => undefined);
    }
  }
}
