// Every command, by name, imported lazily so `tabby version` does not load the engine. A command's summary,
// usage and options live only in its own module (`command: CommandSpec`); `tabby --help` loads the modules to
// read them, so a summary is written once. Add a command by adding a line here and a module under commands/.

import { displayText } from '../api/index.js';
import type { CommandSpec, OptionSpec } from './command.js';
import { didYouMean } from './suggest.js';

type Loader = () => Promise<{ command: CommandSpec }>;

export const COMMANDS: Readonly<Record<string, Loader>> = {
  version: () => import('./commands/version.js'),
  demo: () => import('./commands/demo.js'),
  validate: () => import('./commands/validate.js'),
  convert: () => import('./commands/convert.js'),
  explain: () => import('./commands/explain.js'),
  test: () => import('./commands/test.js'),
  matrix: () => import('./commands/matrix.js'),
  'policies-for': () => import('./commands/policies-for.js'),
  select: () => import('./commands/select.js'),
  apply: () => import('./commands/apply.js'),
  create: () => import('./commands/create.js'),
  replace: () => import('./commands/replace.js'),
  delete: () => import('./commands/delete.js'),
  get: () => import('./commands/get.js'),
  patch: () => import('./commands/patch.js'),
  label: () => import('./commands/label.js'),
  node: () => import('./commands/node.js'),
  workload: () => import('./commands/workload.js'),
  external: () => import('./commands/external.js'),
  datastore: () => import('./commands/datastore.js'),
  agent: () => import('./commands/agent.js'),
  describe: () => import('./commands/describe.js'),
  help: () => import('./commands/help.js'),
  completion: () => import('./commands/completion.js'),
  lint: () => import('./commands/lint.js'),
  server: () => import('./commands/server.js'),
};

/**
 * calicoctl's `--config FILE` (SETTINGS.calicoctlConfig in settings.ts), taken by every command that reaches the
 * datastore, as calicoctl's are: declared once here for every command with --datastore.
 */
const CONFIG_OPTION: OptionSpec = {
  type: 'string', valueName: 'FILE',
  description: "calicoctl's CalicoAPIConfig file: etcd endpoints, TLS files, user/password (default: $TABBY_CONFIG, then /etc/calico/calicoctl.cfg if present)",
};

/** The command registered under `name`, loaded; undefined for a name no command has. */
export async function loadCommand(name: string): Promise<CommandSpec | undefined> {
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  const command = load && (await load()).command;
  if (!command || !('datastore' in command.options) || 'config' in command.options) return command;
  return { ...command, options: { ...command.options, config: CONFIG_OPTION } };
}

/** Every command, loaded, in name order: what `tabby --help` lists. */
export async function allCommands(): Promise<CommandSpec[]> {
  const names = Object.keys(COMMANDS).sort();
  return Promise.all(names.map(async (n) => (await loadCommand(n))!));
}

/** "unknown command 'aply'; did you mean 'apply'? (…)": the nearest command names, as cobra suggests them. */
export function unknownCommandMessage(name: string): string {
  const shown = displayText(name);
  const word = shown === name ? `'${name}'` : shown;
  const hint = shown === name ? didYouMean(name, Object.keys(COMMANDS)) : '';
  return `unknown command ${word}${hint} (run 'tabby --help' for the list)`;
}
