// Runs `tabby` in-process with captured output, as a user would see it.
import { Readable } from 'node:stream';
import { Writable } from 'node:stream';

import { runCli } from '../../src/cli/main.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

export async function captureCli(
  argv: string[],
  options: { cwd?: string; stdin?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliRun> {
  const out = sink();
  const err = sink();
  const code = await runCli(argv, {
    stdout: out.stream,
    stderr: err.stream,
    stdin: Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]),
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
  });
  return { code, stdout: out.text(), stderr: err.text() };
}
