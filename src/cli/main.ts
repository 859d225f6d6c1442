#!/usr/bin/env node
// `tabby` entry point and the top-level error policy: user errors and the typed failures errors.ts maps print
// one line and exit with their code; anything else is a bug, reported as such with the version and where to
// report it — never a bare stack.

import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { CliError, EXIT, parseCommandArgs, renderHelp, write, type CommandIO } from './command.js';
import { COMMANDS } from './registry.js';
import { TABBY_VERSION } from './version.js';

function topLevelHelp(): string {
  const names = Object.keys(COMMANDS).sort();
  const width = Math.max(...names.map((n) => n.length)) + 2;
  const lines = [
    'tabby — Calico-compatible network policy: validate, explain, test and enforce.',
    '',
    'Usage: tabby <command> [options]',
    '',
    'Commands:',
    ...names.map((n) => `  ${n.padEnd(width)}${COMMANDS[n]!.summary}`),
    '',
    "Run 'tabby <command> --help' for a command's options and examples.",
  ];
  return lines.join('\n') + '\n';
}

export async function runCli(argv: string[], io: CommandIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    write(io.stdout, topLevelHelp());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-v') return runCli(['version', ...rest], io);
  const entry = COMMANDS[name];
  if (!entry) {
    write(io.stderr, `tabby: unknown command '${name}' (run 'tabby --help' for the list)`);
    return EXIT.usage;
  }
  try {
    const { command } = await entry.load();
    if (rest.includes('--help') || rest.includes('-h')) {
      write(io.stdout, renderHelp(command));
      return EXIT.ok;
    }
    const args = parseCommandArgs(command, rest);
    return await command.run(args, io);
  } catch (err) {
    // errors.ts maps every typed failure; it loads the datastore and dataplane, so only once one is thrown.
    const known = err instanceof CliError ? err : (await import('./errors.js')).toCliError(err);
    if (known) {
      write(io.stderr, `tabby ${name}: ${known.message}`);
      return known.exitCode;
    }
    const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
    write(io.stderr, `tabby ${name}: internal error (this is a bug in Tabby ${TABBY_VERSION}, please report it ` +
      `with the command you ran): ${err instanceof Error ? err.message : String(err)}`);
    if (io.env.TABBY_DEBUG) write(io.stderr, detail);
    return EXIT.internal;
  }
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  const io: CommandIO = {
    stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd(),
  };
  runCli(process.argv.slice(2), io).then(
    (code) => { process.exitCode = code; },
    (err: unknown) => { process.stderr.write(`tabby: fatal: ${String(err)}\n`); process.exitCode = EXIT.internal; },
  );
}
