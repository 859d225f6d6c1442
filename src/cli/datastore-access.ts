// How commands reach the datastore: the --datastore option, opening the store the settings name, and the one
// place datastore errors become CLI errors — a one-line message naming what to do next, and a distinct exit
// code per kind of failure (EXIT in command.ts).

import {
  escapeControls, formatIssue, kindInfo, quote, type KindInfo, type Resource,
} from '../api/index.js';
import {
  describeKey, isDatastoreError, isInvalid, isMissingTier, isNotFound, isStorageError, isUnavailable, openDatastore,
  type Datastore, type DatastoreError, type SkippedObject,
} from '../datastore/index.js';
import { CliError, EXIT, type CommandIO, type ParsedCommandArgs } from './command.js';
import { kindOf } from './resource-refs.js';
import { resolveDatastore, SETTINGS, type ResolvedSetting } from './settings.js';

export const DATASTORE_OPTION = {
  type: 'string', valueName: 'LOCATION',
  description: `${SETTINGS.datastore.description} (default: $${SETTINGS.datastore.env}, then --config, then 'datastore:' in ` +
    "~/.config/tabby/config.yaml, then calicoctl's /etc/calico/calicoctl.cfg or ETCD_ENDPOINTS, then " +
    'file:$XDG_DATA_HOME/tabby or ~/.local/share/tabby)',
} as const;

export const NAMESPACE_OPTION = {
  type: 'string', short: 'n', valueName: 'NS', description: 'Namespace of namespaced resources (default: default)',
} as const;

/** The kind a command-line name stands for (calicoctl's names and short names, kubectl's, `kind.group`): resource-refs.ts. */
export function kindArgument(name: string, verb: string): KindInfo {
  return kindOf(name, verb);
}

export interface OpenedStore {
  store: Datastore;
  setting: ResolvedSetting;
  /** Housekeeping failures after committed writes (the file store's compaction), in order. */
  warnings: string[];
}

export async function openStore(args: ParsedCommandArgs, io: CommandIO): Promise<OpenedStore> {
  const { setting, location, etcd } = await resolveDatastore(args, io);
  const warnings: string[] = [];
  try {
    const store = await openDatastore(location, { file: { onWarning: (w) => warnings.push(w.message) }, etcd });
    return { store, setting, warnings };
  } catch (err) {
    throw toCliError(err) ?? err;
  }
}

/**
 * Opens the store, runs `fn`, closes the store, and turns datastore errors into CLI errors. Housekeeping warnings
 * (a committed write whose compaction failed) go to stderr, and a command that would exit 0 exits
 * EXIT.housekeeping instead, so a script can tell "written, housekeeping failed" from both success and "not
 * written" (issue 10 §2).
 */
export async function withStore<T>(args: ParsedCommandArgs, io: CommandIO, fn: (s: OpenedStore) => Promise<T>): Promise<T> {
  const opened = await openStore(args, io);
  let result: T;
  try {
    result = await fn(opened);
  } catch (err) {
    printWarnings(opened, io);
    throw toCliError(err) ?? err;
  } finally {
    await opened.store.close().catch(() => undefined);
  }
  if (printWarnings(opened, io) && result === EXIT.ok) return EXIT.housekeeping as T;
  return result;
}

function printWarnings(opened: OpenedStore, io: CommandIO): boolean {
  const n = opened.warnings.length;
  for (const w of opened.warnings.splice(0)) io.stderr.write(`warning: ${escapeControls(w)}\n`);
  return n > 0;
}

/**
 * Tells the user on stderr about stored objects a read skipped (stored-object.ts): one line per object naming its
 * key and why. Output and exit code stay the command's: what could be read is correct, and a script watching
 * for damage reads `tabby get -o json`'s items or runs `tabby datastore check`.
 */
export function warnSkipped(io: CommandIO, skipped: readonly SkippedObject[] | undefined): void {
  for (const s of skipped ?? []) {
    // Keys come from the store (etcd, the journal) and are not validated names: quote() escapes bidi, C1 and
    // U+2028 too, which JSON.stringify leaves as they are (issue 10 §6).
    io.stderr.write(`warning: skipped the stored object ${quote(s.key)}: ${escapeControls(s.reason)}\n`);
  }
}

const EXIT_BY_CODE: Record<DatastoreError['code'], number> = {
  'not-found': EXIT.notFound,
  'already-exists': EXIT.alreadyExists,
  conflict: EXIT.conflict,
  invalid: EXIT.failure,
  unavailable: EXIT.unavailable,
  compacted: EXIT.failure,
  // A refused operation (a built-in or non-empty tier) is a failed check, like invalid input.
  'not-supported': EXIT.failure,
  damaged: EXIT.damaged,
  // Not written (or not readable) because of the file system: the store is there, the disk is not usable.
  storage: EXIT.unavailable,
  // One stored object cannot be served (written behind Tabby's back): a failed check of that object.
  unreadable: EXIT.failure,
  // Reached and refused (a wrong password): calicoctl and kubectl exit 1 for it too.
  unauthorized: EXIT.failure,
};

export function exitCodeOf(err: DatastoreError): number {
  return EXIT_BY_CODE[err.code];
}

/** What to run next, per failure. */
function hint(err: DatastoreError): string {
  switch (err.code) {
    case 'not-found':
      if (isMissingTier(err)) return `create it first: tabby create -f tier.yaml (a Tier named ${err.tier}); tabby get tier lists the tiers`;
      return isNotFound(err) ? `tabby get ${kindInfo(err.key.kind).cliNames[0]!} lists what exists` : '';
    case 'already-exists':
      return 'use tabby apply to create or update, or tabby replace to update';
    case 'conflict':
      return 'it changed since you read it; get it again and retry';
    case 'unavailable':
      // A certificate problem names its own fix; "is it running?" would send the user the wrong way.
      if (isUnavailable(err) && err.reason.startsWith('TLS:')) return '';
      return 'is it running? choose another with --datastore or TABBY_DATASTORE';
    case 'unauthorized':
      return '';
    case 'storage':
      if (isStorageError(err) && err.endpoint.startsWith('etcd://')) {
        return "etcd's space quota is used up: etcdctl compact, etcdctl defrag, then etcdctl alarm disarm";
      }
      return isStorageError(err) ? storageHint(err.errno) : '';
    case 'unreadable':
      return 'tabby delete removes it; tabby apply -f writes a valid object in its place';
    case 'damaged':
    case 'invalid':
    case 'compacted':
    case 'not-supported':
      return '';
  }
}

function storageHint(errno: string): string {
  switch (errno) {
    case 'ENOSPC':
    case 'EDQUOT':
      return 'free space on that file system, then retry';
    case 'EACCES':
    case 'EPERM':
      return 'run as a user who may write there, or choose another store with --datastore';
    case 'EROFS':
      return 'the file system is mounted read-only; reads still work';
    default:
      return '';
  }
}

/** One line for a datastore error: the message and, where it helps, the next command. */
export function describeDatastoreError(err: DatastoreError): string {
  let message = err.message;
  if (isInvalid(err)) {
    // Every issue, each as `Kind(ns/name): path: message` (the validator's own wording).
    const who = err.key ? `${describeKey(err.key)}: ` : '';
    message = err.issues.map((i) => (i.resource || i.position ? formatIssue(i) : who + formatIssue(i))).join('; ');
  }
  const h = hint(err);
  // Messages name keys, paths and endpoints from the store or the command line; some callers print this line
  // themselves (resource-writes.ts), so it is made printable here as well as in main.ts (issue 10 §6).
  return escapeControls(h ? `${message} (${h})` : message);
}

export function toCliError(err: unknown): CliError | undefined {
  if (!isDatastoreError(err)) return undefined;
  return new CliError(describeDatastoreError(err), exitCodeOf(err));
}

/** Every resource in the store: the input of engine commands run without -f. */
export async function resourcesFromDatastore(args: ParsedCommandArgs, io: CommandIO): Promise<Resource[]> {
  return withStore(args, io, async ({ store }) => {
    const { items, skipped } = await store.list();
    warnSkipped(io, skipped);
    return items;
  });
}
