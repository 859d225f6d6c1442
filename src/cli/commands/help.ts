// `tabby help [COMMAND]`: the command list, or one command's help — `tabby help get` prints exactly what
// `tabby get --help` prints, as with kubectl and calicoctl (cobra's help command). A name no command has is a
// usage error with the nearest command names (suggest.ts).

import { renderHelp, UsageError, write, type CommandSpec } from '../command.js';
import { allCommands, loadCommand, unknownCommandMessage } from '../registry.js';

/** The help lines fit this many columns (STYLE.md: a human default that fits 100 columns). */
const HELP_WIDTH = 100;

/** `text` in lines of at most `width` columns, broken at spaces, every line after the first indented by `indent`. */
function wrap(text: string, width: number, indent: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && indent + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines.map((l, i) => (i === 0 ? l : ' '.repeat(indent) + l));
}

/** The command list with each command's own summary (its module is the one place it is written). */
export async function topLevelHelp(): Promise<string> {
  const commands = await allCommands();
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  const lines = [
    'tabby — Calico-compatible network policy: validate, explain, test and enforce.',
    '',
    'Usage: tabby <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}${wrap(c.summary, HELP_WIDTH, width + 2).join('\n')}`),
    '',
    "Run 'tabby help <command>' or 'tabby <command> --help' for a command's options and examples.",
  ];
  return lines.join('\n') + '\n';
}

export const command: CommandSpec = {
  name: 'help',
  summary: 'Help for a command (the same as tabby COMMAND --help), or the command list',
  usage: 'tabby help [COMMAND]',
  examples: ['tabby help', 'tabby help describe', 'tabby help get   # the same as: tabby get --help'],
  options: {},
  positionals: true,
  async run(args, io) {
    const [name, extra] = args.positionals;
    if (name === undefined) {
      write(io.stdout, await topLevelHelp());
      return 0;
    }
    if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}': give one command (e.g. tabby help get)`);
    const spec = await loadCommand(name);
    if (!spec) throw new UsageError(unknownCommandMessage(name));
    write(io.stdout, renderHelp(spec));
    return 0;
  },
};
