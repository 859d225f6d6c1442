// Runs an argv a dataplane part built (`nsenter --net=… -- CMD…`) with the command's stdio, for the exec verbs
// (`tabby node exec`, `tabby external exec`): output streamed, the child's exit code returned (128 for a signal).

import { spawn } from 'node:child_process';

import { EXIT, write, type CommandIO } from './command.js';

export function runArgv(full: readonly string[], io: CommandIO, what: string): Promise<number> {
  return new Promise<number>((resolve) => {
    const interactive = io.stdin === process.stdin;
    const child = spawn(full[0]!, full.slice(1), { stdio: [interactive ? 'inherit' : 'ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (b: Buffer) => io.stdout.write(b));
    child.stderr!.on('data', (b: Buffer) => io.stderr.write(b));
    child.on('error', (e) => {
      write(io.stderr, `${what}: ${e.message}`);
      resolve(EXIT.environment);
    });
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : EXIT.failure)));
  });
}
