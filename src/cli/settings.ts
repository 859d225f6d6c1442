// Settings: one declarative table (name, flag, environment variable, config-file key, default, description),
// resolved in one place with the source of each value recorded — flag, then environment, then the config file
// (`$XDG_CONFIG_HOME/tabby/config.yaml`, else `~/.config/tabby/config.yaml`), then the default — the ranked
// sources of Felix's config_params.go. Only the CLI (the composition root) reads env and files; what it resolves
// is passed down as plain values.

import { dirname, isAbsolute, join, resolve } from 'node:path';

import { decodeManifests, displayText, formatIssue, readTextFile } from '../api/index.js';

import { CliError, stringOption, write, type CommandIO, type ParsedCommandArgs } from './command.js';

export type SettingSource = 'flag' | 'env' | 'config' | 'default';

export interface ResolvedSetting {
  value: string;
  source: SettingSource;
  /** Where exactly: `--datastore`, `TABBY_DATASTORE`, the config file path, or `default`. */
  origin: string;
}

interface SettingSpec {
  /** Long flag on the commands that use the setting; null when it has no flag (checked by the type). */
  flag: string | null;
  env: string;
  /** Key in config.yaml. */
  configKey: string;
  description: string;
  /** Relative file paths in a location are resolved against the cwd (flag, env) or the config file's directory. */
  resolvePath?: (value: string, base: string) => string;
  default: (io: CommandIO) => string;
}

/** `file:RELATIVE` → `file:ABSOLUTE` against `base`; other locations unchanged. */
function resolveFileLocation(value: string, base: string): string {
  const m = /^file:(.*)$/s.exec(value); // s: a path may hold a newline; it must not turn into a relative one
  const path = m ? m[1]! : /^[a-z][a-z0-9+.-]*:/i.test(value) ? undefined : value;
  if (path === undefined || path === '' || isAbsolute(path)) return value;
  return `file:${resolve(base, path)}`;
}

export const SETTINGS = {
  datastore: {
    flag: 'datastore',
    env: 'TABBY_DATASTORE',
    configKey: 'datastore',
    description: 'Where resources are stored: file:PATH (the embedded store) or etcd://HOST:PORT[,HOST:PORT]',
    resolvePath: resolveFileLocation,
    default: (io) => io.env.XDG_DATA_HOME
      ? `file:${join(io.env.XDG_DATA_HOME, 'tabby')}`
      : io.env.HOME ? `file:${join(io.env.HOME, '.local', 'share', 'tabby')}` : `file:${join(io.cwd, '.tabby')}`,
  },
  netnsPrefix: {
    flag: 'netns-prefix',
    env: 'TABBY_NETNS_PREFIX',
    configKey: 'netnsPrefix',
    description: 'Prefix of the network namespaces tabby node/workload create (and the sweeper removes)',
    default: () => 'tabby-',
  },
  stateDir: {
    flag: 'state-dir',
    env: 'TABBY_STATE_DIR',
    configKey: 'stateDir',
    description: 'Where agents write their status and rule-ID files',
    resolvePath: (value, base) => resolve(base, value),
    default: (io) => (io.env.XDG_RUNTIME_DIR ? join(io.env.XDG_RUNTIME_DIR, 'tabby') : '/run/tabby'),
  },
} as const satisfies Record<string, SettingSpec>;

export type SettingName = keyof typeof SETTINGS;

export function configFilePath(io: CommandIO): string | undefined {
  if (io.env.XDG_CONFIG_HOME) return join(io.env.XDG_CONFIG_HOME, 'tabby', 'config.yaml');
  if (io.env.HOME) return join(io.env.HOME, '.config', 'tabby', 'config.yaml');
  return undefined;
}

/** Reads config.yaml; a missing file is an empty config, a broken one a one-line error with its position. */
async function readConfig(io: CommandIO): Promise<{ path: string; values: Record<string, unknown> } | undefined> {
  const path = configFilePath(io);
  if (path === undefined) return undefined;
  // Read and parsed by the manifest loader, with its limits: a config.yaml linked to /dev/zero or nested a
  // million deep is one error, not an out-of-memory.
  const read = await readTextFile(path, path);
  if (!read.ok) {
    if (read.issue.code === 'load.not-found') return undefined;
    throw new CliError(`${formatIssue(read.issue)} (fix or remove the config file)`);
  }
  const decoded = decodeManifests(read.text, path);
  const first = decoded.issues.find((i) => i.code !== 'load.not-object');
  if (first) throw new CliError(`${formatIssue(first)} (fix or remove the config file)`);
  const values: unknown = decoded.issues.length > 0 ? [] : decoded.documents[0]?.value ?? {};
  if (typeof values !== 'object' || values === null || Array.isArray(values) || decoded.documents.length > 1) {
    throw new CliError(`${path}: expected a mapping of settings (e.g. 'datastore: etcd://127.0.0.1:2379')`);
  }
  return { path, values: values as Record<string, unknown> };
}

/** Resolves one setting with its source. Warns (stderr) about config keys no setting declares. */
export async function resolveSetting(name: SettingName, args: ParsedCommandArgs, io: CommandIO): Promise<ResolvedSetting> {
  const spec: SettingSpec = SETTINGS[name];
  const fix = (value: string, base: string) => (spec.resolvePath ? spec.resolvePath(value, base) : value);
  const flagValue = spec.flag === null ? undefined : stringOption(args, spec.flag);
  if (flagValue !== undefined) return { value: fix(flagValue, io.cwd), source: 'flag', origin: `--${spec.flag}` };
  const envValue = io.env[spec.env];
  if (envValue !== undefined && envValue !== '') return { value: fix(envValue, io.cwd), source: 'env', origin: spec.env };
  const config = await readConfig(io);
  if (config) {
    const known = new Set(Object.values(SETTINGS).map((s: SettingSpec) => s.configKey));
    for (const key of Object.keys(config.values)) {
      if (!known.has(key)) write(io.stderr, `warning: ${displayText(config.path)}: unknown setting '${displayText(key)}' (known: ${[...known].join(', ')})`);
    }
    const v = config.values[spec.configKey];
    if (v !== undefined && v !== null) {
      if (typeof v !== 'string') throw new CliError(`${config.path}: '${spec.configKey}' must be a string`);
      return { value: fix(v, dirname(config.path)), source: 'config', origin: config.path };
    }
  }
  return { value: spec.default(io), source: 'default', origin: 'default' };
}
