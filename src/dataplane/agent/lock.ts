// One agent per node. Two agents programming one node's table would undo each other's transactions and take
// turns writing its status and enforced record (issue 12 §5), so an agent holds a lockfile in its state dir
// (`agent-<node>.pid`) while it runs and a second one refuses to start, naming the first one's pid.
//
// The lockfile is the file store's writer lock (datastore/file/lock.ts): created with O_EXCL, naming its owner's
// pid *and* start time and boot, so a file left by an agent that was killed (-9) or by a previous boot does not
// block, and a reused pid is not mistaken for the agent that wrote the file.
//
// Stopping an agent (`tabby node delete`) sends a signal as root, so more is asked first: the owner must still
// be the process that took the lock, and its command line must be `… agent … --node NODE` (/proc/PID/cmdline)
// — a lockfile planted in a state dir others can write never gets an unrelated process signalled.

import { readFileSync } from 'node:fs';

import { FileLock, LockTimeoutError, lockOwner } from '../../datastore/index.js';

/** Another live agent holds the node's lock. */
export class AgentRunningError extends Error {
  constructor(readonly node: string, readonly pid: number | undefined) {
    super(`an agent for node ${node} is already running${pid !== undefined ? ` (pid ${pid})` : ''}`);
    this.name = 'AgentRunningError';
  }
}

/** The node's agent would not stop, or the lock's owner is not provably that agent. */
export class AgentStopError extends Error {
  constructor(message: string, readonly pid: number) {
    super(message);
    this.name = 'AgentStopError';
  }
}

/** Takes the node's agent lock at `path`, or fails with AgentRunningError at once (no waiting). */
export async function lockAgent(path: string, node: string): Promise<FileLock> {
  const lock = new FileLock(path, { timeoutMs: 0 });
  try {
    await lock.acquire();
  } catch (err) {
    if (err instanceof LockTimeoutError) throw new AgentRunningError(node, err.holderPid);
    throw err;
  }
  return lock;
}

/** The pid of the agent holding the node's lock at `path`, if one runs. */
export function runningAgent(path: string): number | undefined {
  return lockOwner(path);
}

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'latin1');
  } catch {
    return undefined;
  }
}

/** Whether the process's command line runs `agent` for `node` (`--node NODE` or `--node=NODE`). */
export function isAgentOf(pid: number, node: string): boolean {
  const argv = readProc(pid, 'cmdline')?.split('\0') ?? [];
  const at = argv.indexOf('agent');
  if (at < 0) return false;
  // The program must be Tabby's CLI (dist/cli/main.js, src/cli/main.ts under vite-node, an installed `tabby`, or
  // the test suites' runner test/dataplane/run-cli.ts), not any `… agent --node N` (puppet agent, another daemon).
  if (!argv.slice(0, at).some((a) => /(^|\/)(cli\/main\.[jt]s|tabby|dataplane\/run-cli\.ts)$/.test(a))) return false;
  const rest = argv.slice(at + 1);
  return rest.some((a, i) => (a === '--node' && rest[i + 1] === node) || a === `--node=${node}`);
}

/** A process that has exited, or exited and waits to be reaped (state Z), no longer runs. */
function running(pid: number): boolean {
  const stat = readProc(pid, 'stat');
  if (stat === undefined) return false;
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z';
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Stops the node's running agent: SIGTERM (the agent stops watching, writes its last status and releases the
 * lock), then waits up to `timeoutMs` for it to exit. Undefined when no agent runs; AgentStopError when the lock's
 * owner is not a tabby agent of this node, or it does not exit in time.
 */
export async function stopAgent(path: string, node: string, timeoutMs: number): Promise<{ pid: number } | undefined> {
  const pid = runningAgent(path);
  if (pid === undefined) return undefined;
  if (pid === process.pid) throw new AgentStopError(`the agent of node ${node} runs in this process`, pid);
  if (!isAgentOf(pid, node)) {
    throw new AgentStopError(`process ${pid} holds the agent lock ${path} but its command line is not a tabby agent ` +
      `of node ${node}; not signalling it (stop it yourself, or remove ${path} if it is not an agent)`, pid);
  }
  try {
    process.kill(pid, 'SIGTERM');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    return { pid }; // exited meanwhile
  }
  const deadline = Date.now() + timeoutMs;
  // The agent releases the lock as it stops; an agent killed meanwhile leaves a stale one, which blocks no one.
  while (running(pid)) {
    if (Date.now() > deadline) {
      throw new AgentStopError(`the agent of node ${node} (pid ${pid}) did not stop within ${timeoutMs} ms of SIGTERM`, pid);
    }
    await sleep(20);
  }
  return { pid };
}
