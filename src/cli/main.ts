#!/usr/bin/env node
// `tabby` entry point and the top-level error policy: user errors and the typed failures errors.ts maps print
// one line and exit with their code; anything else is a bug, reported as such with the version and where to
// report it — never a bare stack.

import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { escapeControls } from '../api/index.js';
import { CliError, EXIT, parseCommandArgs, renderHelp, write, type CommandIO } from './command.js';
import { topLevelHelp } from './commands/help.js';
import { COMMANDS, loadCommand, unknownCommandMessage } from './registry.js';
import { TABBY_VERSION } from './version.js';

/**
 * Every error message leaves here, so this is where input inside one is made harmless (issue 10 §6): a value
 * quoted with quote()/displayText() at its call site is already printable, and whatever a call site missed — a
 * name, path or endpoint pasted into a message as is — has its newline, ESC, NUL, C1 or bidi control written as a
 * JSON escape, so no input can forge a line of output or a terminal sequence. CLI errors are one clear line
 * (several issues are joined with '; '), so a newline is escaped too — except in an error made `multiline` by its
 * command (a selector's caret excerpt, STYLE.md), whose line breaks are the command's own and whose lines are
 * escaped one by one (the excerpt echoes the selector text already escaped by selector/diagnostics.ts).
 */
function errorMessage(err: CliError): string {
  return err.multiline ? err.message.split('\n').map(escapeControls).join('\n') : escapeControls(err.message);
}

export async function runCli(argv: string[], io: CommandIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help') {
    write(io.stdout, await topLevelHelp());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-v') return runCli(['version', ...rest], io);
  if (!Object.hasOwn(COMMANDS, name)) {
    write(io.stderr, `error: ${unknownCommandMessage(name)}`);
    return EXIT.usage;
  }
  try {
    const command = (await loadCommand(name))!;
    // Only flags ask for help: after `--` (workload exec's command, completion's words) -h is an argument.
    const flags = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
    if (flags.includes('--help') || flags.includes('-h')) {
      write(io.stdout, renderHelp(command));
      return EXIT.ok;
    }
    const args = parseCommandArgs(command, rest);
    return await command.run(args, io);
  } catch (err) {
    // errors.ts maps every typed failure; it loads the datastore and dataplane, so only once one is thrown.
    const known = err instanceof CliError ? err : (await import('./errors.js')).toCliError(err);
    if (known) {
      // kubectl's habit (issue 12 §5): `error: ` once, here; messages start lower-case and carry no prefix.
      write(io.stderr, `error: ${errorMessage(known)}`);
      return known.exitCode;
    }
    const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
    write(io.stderr, `error: internal error in 'tabby ${name}' (this is a bug in Tabby ${TABBY_VERSION}, please report it ` +
      `with the command you ran): ${escapeControls(err instanceof Error ? err.message : String(err))}`);
    // A stack is meant to span lines; each of its lines is escaped on its own (the message in it is input too).
    if (io.env.TABBY_DEBUG) write(io.stderr, detail.split('\n').map(escapeControls).join('\n'));
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

/**
 * A reader that went away (`tabby matrix … | head -1`) ends any command quietly with exit 0. Go CLIs (kubectl,
 * calicoctl) die of SIGPIPE there, silently (status 141 only under `set -o pipefail`); Node ignores SIGPIPE and
 * reports EPIPE as an error event on the stream, which unhandled printed a stack and exited 1. Ending at once is
 * what SIGPIPE does too — a watch or a long matrix stops, and a store write cut short is a crash the stores are
 * built to survive — and 0 rather than 141 because the reader got what it asked for.
 */
function endQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(EXIT.ok);
      // Any other failed write (ENOSPC on 2>/dev/full, EIO): one line where it can still go, never a stack.
      try { process.stderr.write(`error: cannot write output: ${escapeControls(err.code ?? err.message)}\n`); } catch { /* stderr is the one failing */ }
      process.exit(EXIT.failure);
    });
  }
}

if (invokedDirectly()) {
  endQuietlyOnClosedPipe();
  const io: CommandIO = {
    stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd(),
  };
  runCli(process.argv.slice(2), io).then(
    (code) => { process.exitCode = code; },
    (err: unknown) => { process.stderr.write(`tabby: fatal: ${escapeControls(String(err))}\n`); process.exitCode = EXIT.internal; },
  );
}
