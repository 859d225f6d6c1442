// The built `tabby` (dist/cli/main.js, made by `npm run build`, which `npm test` runs first) in a child process:
// for what only a real process shows — signals, a reader closing its end of the pipe, a watch running beside
// writers. Refuses a build older than the sources, so a suite never passes on stale code.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const builtCli = join(repoRoot, 'dist/cli/main.js');

function newestSource(dir: string): number {
  return Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? newestSource(p) : e.name.endsWith('.ts') ? statSync(p).mtimeMs : 0;
  }));
}

/** Throws unless dist/ is built from the current sources. */
export function assertBuilt(): void {
  let built: number;
  try {
    built = statSync(builtCli).mtimeMs;
  } catch {
    throw new Error(`${builtCli} is missing: run npm run build first`);
  }
  if (built < newestSource(join(repoRoot, 'src'))) throw new Error(`${builtCli} is older than src/: run npm run build first`);
}

export interface CliProcess {
  proc: ChildProcess;
  /** stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const proc = spawn(process.execPath, [builtCli, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  proc.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.on('close', (code, signal) => r({ code, signal })));
  return { proc, stdout: () => out, stderr: () => err, exited };
}
