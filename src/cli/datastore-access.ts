// How commands reach the datastore: the --datastore option, opening the store the settings name, and the one
// place datastore errors become CLI errors — a one-line message naming what to do next, and a distinct exit
// code per kind of failure (EXIT in command.ts).

import {
  formatIssue, kindFromCliName, kindInfo, KINDS, type KindInfo, type Resource,
} from '../api/index.js';
import {
  describeKey, isDatastoreError, isInvalid, isMissingTier, isNotFound, openDatastore, parseDatastoreLocation, type Datastore,
  type DatastoreError,
} from '../datastore/index.js';
import { CliError, EXIT, UsageError, type CommandIO, type ParsedCommandArgs } from './command.js';
import { resolveSetting, SETTINGS, type ResolvedSetting } from './settings.js';

export const DATASTORE_OPTION = {
  type: 'string', valueName: 'LOCATION',
  description: `${SETTINGS.datastore.description} (default: $${SETTINGS.datastore.env}, then 'datastore:' in ` +
    '~/.config/tabby/config.yaml, then file:$XDG_DATA_HOME/tabby or ./.tabby)',
} as const;

export const NAMESPACE_OPTION = {
  type: 'string', short: 'n', valueName: 'NS', description: 'Namespace of namespaced resources (default: default)',
} as const;

/** The kind a command-line name stands for (calicoctl's names and short names, kubectl's for k8s kinds). */
export function kindArgument(name: string, verb: string): KindInfo {
  const info = kindFromCliName(name);
  if (info) return info;
  const names = KINDS.map((k) => k.cliNames[0]).join(', ');
  throw new UsageError(`unknown resource type '${name}' (known: ${names}); e.g. tabby ${verb} globalnetworkpolicy`);
}

export interface OpenedStore {
  store: Datastore;
  setting: ResolvedSetting;
}

export async function openStore(args: ParsedCommandArgs, io: CommandIO): Promise<OpenedStore> {
  const setting = await resolveSetting('datastore', args, io);
  const loc = parseDatastoreLocation(setting.value);
  if (!loc.ok) {
    const from = setting.source === 'default' ? '' : ` (from ${setting.origin})`;
    throw new UsageError(`${loc.issues[0]!.message}${from}`);
  }
  try {
    return { store: await openDatastore(loc.value), setting };
  } catch (err) {
    throw toCliError(err) ?? err;
  }
}

/** Opens the store, runs `fn`, closes the store, and turns datastore errors into CLI errors. */
export async function withStore<T>(args: ParsedCommandArgs, io: CommandIO, fn: (s: OpenedStore) => Promise<T>): Promise<T> {
  const opened = await openStore(args, io);
  try {
    return await fn(opened);
  } catch (err) {
    throw toCliError(err) ?? err;
  } finally {
    await opened.store.close().catch(() => undefined);
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
      return 'is it running? choose another with --datastore or TABBY_DATASTORE';
    case 'invalid':
    case 'compacted':
    case 'not-supported':
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
  return h ? `${message} (${h})` : message;
}

export function toCliError(err: unknown): CliError | undefined {
  if (!isDatastoreError(err)) return undefined;
  return new CliError(describeDatastoreError(err), exitCodeOf(err));
}

/** Every resource in the store: the input of engine commands run without -f. */
export async function resourcesFromDatastore(args: ParsedCommandArgs, io: CommandIO): Promise<Resource[]> {
  return withStore(args, io, async ({ store }) => (await store.list()).items);
}
