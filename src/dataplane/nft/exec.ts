// The exec seam: how `nft` (and other tools) are started. Production code runs them in the initial namespace
// or, for a node that is a network namespace, inside it through `nsenter --net=/run/netns/<name>` (lighter
// than `ip netns exec`, which also remounts /sys). Tests pass their own Exec to observe or fail calls.

import { spawn } from 'node:child_process';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `argv[0]` with the rest as arguments, writing `input` (if any) to its stdin. Never rejects for a non-zero exit. */
export type Exec = (argv: readonly string[], input?: string) => Promise<ExecResult>;

export const hostExec: Exec = (argv, input) =>
  new Promise((resolve) => {
    const [cmd, ...args] = argv;
    if (cmd === undefined) {
      resolve({ code: 127, stdout: '', stderr: 'empty command' });
      return;
    }
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => resolve({ code: 127, stdout: '', stderr: `${cmd}: ${e.message}` }));
    child.on('close', (code, signal) =>
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8') + (signal ? `${cmd}: killed by ${signal}\n` : ''),
      }),
    );
    // A child that exits before reading stdin closes the pipe; its exit status tells what happened.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });

/** The path `ip netns add NAME` mounts a namespace at. */
export function netnsPath(netns: string): string {
  return `/run/netns/${netns}`;
}

/** An Exec that runs every command inside the named network namespace (created with `ip netns add`). */
export function netnsExec(netns: string, base: Exec = hostExec): Exec {
  return (argv, input) => base(['nsenter', `--net=${netnsPath(netns)}`, '--', ...argv], input);
}
