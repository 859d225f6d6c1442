// Settings: one declarative table (name, flag, environment variable, config-file key, default, description),
// resolved in one place with the source of each value recorded — flag, then environment, then the config file
// (`$XDG_CONFIG_HOME/tabby/config.yaml`, else `~/.config/tabby/config.yaml`), then the default — the ranked
// sources of Felix's config_params.go. Only the CLI (the composition root) reads env and files; what it resolves
// is passed down as plain values.
//
// The datastore is the one setting with a second family of sources: calicoctl's (calicoctl-config.ts). How they
// rank is resolveDatastore's comment, and the README's "Datastore configuration".

import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { dirname, isAbsolute, join, resolve } from 'node:path';

import { decodeManifests, displayText, formatIssue, readTextFile } from '../api/index.js';
import {
  formatDatastoreLocation, isTlsLocation, parseDatastoreLocation, parseEtcdEndpoints,
  type DatastoreLocation,
} from '../datastore/location.js';
import type { EtcdAuth, EtcdTlsMaterial } from '../datastore/etcd/client.js';

import { calicoctlEnvironment, readCalicoctlConfig, type CalicoctlConfig, type CalicoctlValue } from './calicoctl-config.js';
import { CliError, stringOption, UsageError, write, type CommandIO, type ParsedCommandArgs } from './command.js';

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
    description: 'Where resources are stored: file:PATH (the embedded store), etcd://HOST:PORT[,HOST:PORT] or etcds://… (TLS)',
    resolvePath: resolveFileLocation,
    default: (io) => io.env.XDG_DATA_HOME
      ? `file:${join(io.env.XDG_DATA_HOME, 'tabby')}`
      : io.env.HOME ? `file:${join(io.env.HOME, '.local', 'share', 'tabby')}` : `file:${join(io.cwd, '.tabby')}`,
  },
  calicoctlConfig: {
    flag: 'config',
    env: 'TABBY_CONFIG',
    configKey: 'calicoctlConfig',
    description: "calicoctl's CalicoAPIConfig file (etcd endpoints, TLS files, user and password)",
    resolvePath: (value, base) => resolve(base, value),
    // calicoctl's default path. TABBY_DEFAULT_CALICOCTL_CONFIG moves it (tests, containers): unlike TABBY_CONFIG, a
    // missing file there is not an error, as calicoctl's default is not.
    default: (io) => io.env.TABBY_DEFAULT_CALICOCTL_CONFIG || '/etc/calico/calicoctl.cfg',
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
  lockoutPorts: {
    flag: 'lockout-ports',
    env: 'TABBY_LOCKOUT_PORTS',
    configKey: 'lockoutPorts',
    description: 'Host ports the lockout check protects besides its defaults: [in:|out:]tcp|udp|sctp:PORT,… (no direction: both)',
    default: () => '',
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

const warnedRuns = new WeakSet<CommandIO>();

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
    // A command resolves several settings from one config.yaml: its unknown keys are told once per run.
    const first = !warnedRuns.has(io);
    warnedRuns.add(io);
    for (const key of first ? Object.keys(config.values) : []) {
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

// --- The datastore: Tabby's setting and calicoctl's configuration ------------------------------------------------

/** What a command needs to open its store: the location, where it came from, and etcd's TLS and credentials. */
export interface ResolvedDatastore {
  setting: ResolvedSetting;
  location: DatastoreLocation;
  /** For openDatastore's `etcd` options; empty for a file store or a plain etcd without authentication. */
  etcd: { tls?: EtcdTlsMaterial; auth?: EtcdAuth };
}

/** PEM files are small; a CA bundle of every public root is about 200 KB. */
const MAX_PEM_BYTES = 1024 * 1024;

/**
 * Resolves the datastore. The location, first found wins:
 *   1. --datastore, 2. TABBY_DATASTORE,
 *   3. the calicoctl file named by --config or TABBY_CONFIG (which must exist),
 *   4. `datastore:` in Tabby's config.yaml,
 *   5. calicoctl's own configuration: the file named by `calicoctlConfig:` in config.yaml or else
 *      /etc/calico/calicoctl.cfg when it exists, else the environment (DATASTORE_TYPE, ETCD_ENDPOINTS),
 *   6. the default file store.
 * etcd's TLS files and user/password always come from the calicoctl configuration in use (the file of 3 or 5 when
 * there is one, else the environment), whichever source named the endpoints — so `--datastore etcds://…` takes
 * ETCD_CA_CERT_FILE like calicoctl does. As in calicoctl, a calicoctl file in use is the whole calicoctl
 * configuration: its environment variables are then not read.
 */
export async function resolveDatastore(args: ParsedCommandArgs, io: CommandIO): Promise<ResolvedDatastore> {
  const tabby = await resolveSetting('datastore', args, io);
  // Read only when needed: a command on a file store named by --datastore reads neither config.yaml (which another
  // user may not be allowed to read) nor /etc/calico.
  let cfgFile: ResolvedSetting | undefined;
  const calicoctlFile = async (): Promise<ResolvedSetting> => (cfgFile ??= await resolveSetting('calicoctlConfig', args, io));
  let calicoctl: CalicoctlConfig | undefined | null = null;
  const calicoctlConfig = async (): Promise<CalicoctlConfig | undefined> => {
    if (calicoctl === null) {
      const f = await calicoctlFile();
      const file = await readCalicoctlConfig(f.value, f.origin, f.source !== 'default');
      calicoctl = file ?? calicoctlEnvironment(io.env);
    }
    return calicoctl;
  };

  let chosen: { setting: ResolvedSetting; location: DatastoreLocation } | undefined;
  if (tabby.source === 'flag' || tabby.source === 'env') {
    chosen = parsedTabbyLocation(tabby);
  } else if (['flag', 'env'].includes((await calicoctlFile()).source)) {
    const cfg = await calicoctlConfig();
    chosen = cfg && calicoctlLocation(cfg);
  }
  if (!chosen && tabby.source === 'config') chosen = parsedTabbyLocation(tabby);
  if (!chosen) {
    const cfg = await calicoctlConfig();
    chosen = (cfg && calicoctlLocation(cfg)) ?? parsedTabbyLocation(tabby);
  }
  const { setting, location } = chosen;
  if (location.type === 'file') return { setting, location, etcd: {} };
  const cfg = await calicoctlConfig();
  return { setting, location, etcd: cfg ? await etcdCredentials(cfg, location, setting, io) : {} };
}

function parsedTabbyLocation(setting: ResolvedSetting): { setting: ResolvedSetting; location: DatastoreLocation } {
  const loc = parseDatastoreLocation(setting.value);
  if (!loc.ok) {
    const from = setting.source === 'default' ? '' : ` (from ${setting.origin})`;
    throw new UsageError(`${loc.issues[0]!.message}${from}`);
  }
  return { setting, location: loc.value };
}

/**
 * The etcd location a calicoctl configuration selects; undefined for an environment that selects none. calicoctl
 * defaults datastoreType to kubernetes when there are no etcd endpoints (apiconfig.applyConfigDefaults): a file
 * without them is refused here rather than read as "use Tabby's default".
 */
function calicoctlLocation(cfg: CalicoctlConfig): { setting: ResolvedSetting; location: DatastoreLocation } | undefined {
  const { datastoreType: type, etcdEndpoints: endpoints } = cfg.values;
  if (cfg.kind === 'env' && type === undefined && endpoints === undefined) return undefined;
  const where = (v: CalicoctlValue | undefined, name: string) => v?.origin ?? `${cfg.source} (no ${name})`;
  const kind = type?.value ?? (endpoints ? 'etcdv3' : 'kubernetes');
  if (kind === 'kubernetes') {
    throw new UsageError(`the calicoctl configuration selects the Kubernetes API datastore (${type ? `${type.origin}: kubernetes` : where(endpoints, 'etcdEndpoints')}), ` +
      'which Tabby does not support: use datastoreType etcdv3 with etcdEndpoints (DATASTORE_TYPE=etcdv3, ETCD_ENDPOINTS), or --datastore');
  }
  if (kind !== 'etcdv3') throw new UsageError(`${type!.origin}: datastore type '${kind}' is not one of etcdv3, kubernetes`);
  if (!endpoints) {
    throw new UsageError(`datastoreType etcdv3 needs etcd endpoints: set ${cfg.kind === 'env' ? 'ETCD_ENDPOINTS' : 'spec.etcdEndpoints'} ` +
      `(e.g. https://127.0.0.1:2379) (${type!.origin})`);
  }
  const parsed = parseEtcdEndpoints(endpoints.value);
  if (!parsed.ok) throw new UsageError(`${parsed.issues[0]!.message} (from ${endpoints.origin})`);
  const location: DatastoreLocation = { type: 'etcd', endpoints: parsed.value.endpoints };
  return {
    location,
    setting: { value: formatDatastoreLocation(location), source: cfg.kind === 'env' ? 'env' : 'config', origin: endpoints.origin },
  };
}

function originInParens(v: CalicoctlValue): string {
  return `(${v.origin})`;
}

/** The TLS material and credentials a calicoctl configuration gives, read and checked. */
async function etcdCredentials(
  cfg: CalicoctlConfig, location: DatastoreLocation, setting: ResolvedSetting, io: CommandIO,
): Promise<ResolvedDatastore['etcd']> {
  const v = cfg.values;
  const pem = async (file: CalicoctlValue | undefined, inline: CalicoctlValue | undefined, what: string) => {
    if (file && inline) {
      throw new UsageError(`the ${what} is given twice, as a file ${originInParens(file)} and inline ${originInParens(inline)}: keep one`);
    }
    if (inline) return { bytes: Buffer.from(inline.value), from: inline };
    if (!file) return undefined;
    const path = resolve(io.cwd, file.value);
    const read = await readTextFile(path, path, { maxBytes: MAX_PEM_BYTES });
    if (!read.ok) throw new CliError(`${file.origin}: ${read.issue.message} (the etcd ${what})`);
    return { bytes: Buffer.from(read.text), from: file };
  };
  const ca = await pem(v.etcdCACertFile, v.etcdCACert, 'CA certificate');
  const cert = await pem(v.etcdCertFile, v.etcdCert, 'client certificate');
  const key = await pem(v.etcdKeyFile, v.etcdKey, 'client key');
  const given = [ca, cert, key].filter((x) => x !== undefined);
  if (given.length > 0 && !isTlsLocation(location)) {
    throw new UsageError(`${given[0]!.from.origin} gives etcd TLS material, but the endpoints ${setting.value} (from ${setting.origin}) ` +
      'are plain http: use https:// endpoints (or etcds://HOST:PORT) for TLS');
  }
  if ((cert === undefined) !== (key === undefined)) {
    const has = (cert ?? key)!;
    throw new UsageError(`${has.from.origin} gives a client ${cert ? 'certificate' : 'key'} without its ${cert ? 'key' : 'certificate'}: ` +
      `set both ${cfg.kind === 'env' ? 'ETCD_CERT_FILE and ETCD_KEY_FILE' : 'spec.etcdCertFile and spec.etcdKeyFile'}`);
  }
  if (ca) certificate(ca.bytes, ca.from, 'CA certificate');
  if (cert && key) {
    const x509 = certificate(cert.bytes, cert.from, 'client certificate');
    let keyObject: KeyObject;
    try {
      keyObject = createPrivateKey(key.bytes);
    } catch {
      throw new CliError(`${key.from.origin}: not a PEM private key (the etcd client key)`);
    }
    if (!x509.checkPrivateKey(keyObject)) {
      throw new CliError(`the client key ${originInParens(key.from)} does not belong to the client certificate ${originInParens(cert.from)}`);
    }
  }
  const user = v.etcdUsername;
  const password = v.etcdPassword;
  if ((user === undefined) !== (password === undefined)) {
    throw new UsageError(`${(user ?? password)!.origin} is set without ${user ? 'a password' : 'a user name'}: ` +
      `set both ${cfg.kind === 'env' ? 'ETCD_USERNAME and ETCD_PASSWORD' : 'spec.etcdUsername and spec.etcdPassword'}`);
  }
  return {
    ...(given.length > 0 && {
      tls: { ...(ca && { ca: ca.bytes }), ...(cert && { cert: cert.bytes }), ...(key && { key: key.bytes }) },
    }),
    ...(user && password && { auth: { username: user.value, password: password.value } }),
  };
}

function certificate(bytes: Buffer, from: CalicoctlValue, what: string): X509Certificate {
  try {
    if (!bytes.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate');
    return new X509Certificate(bytes);
  } catch {
    throw new CliError(`${from.origin}: not a PEM certificate (the etcd ${what})`);
  }
}

