// Read-modify-write of stored objects, for patch and label: read each, apply the edit, write it back conditioned
// on the version read. When someone else wrote in between, read again and redo the edit — unless the edit itself
// pinned a resourceVersion, in which case the conflict is the user's to see (kubectl patch behaves the same way).
//
// With several objects, every edit is made and checked first, as the real write would check it (the datastore's
// own previewWrite, through dry-run.ts's planner: validation, tier references), and nothing is written if any of
// them fails — a patch that cannot apply to the third object leaves the first two as they were. --dry-run stops
// after that check and prints the same report as `apply --dry-run`: the diff per object and the reachability
// impact of the edits.

import { kindInfoOf, type Resource, type ResourceKey } from '../api/index.js';
import { isConflict, isDatastoreError, keyOf, type Datastore } from '../datastore/index.js';
import { CliError, EXIT, UsageError, write, type CommandIO, type ParsedCommandArgs } from './command.js';
import { describeDatastoreError, exitCodeOf, withStore } from './datastore-access.js';
import { planChanges } from './dry-run.js';
import { lockoutPolicy } from './lockout.js';
import { checkLockout, dryRunFormat, printPreview } from './resource-writes.js';

const ATTEMPTS = 5;

export type Edit = (current: Resource) => Resource;

/** The edited object, refusing edits of its identity (a rename is a create and a delete). */
function edited(before: Resource, edit: Edit): Resource {
  const next = edit(structuredClone(before));
  const a = keyOf(before);
  // A patch may remove or replace metadata itself: that is the identity changing too, not a crash.
  const meta: unknown = (next as { metadata?: unknown }).metadata;
  const named = typeof meta === 'object' && meta !== null && typeof (meta as { name?: unknown }).name === 'string';
  const b = named && next.apiVersion === before.apiVersion && next.kind === before.kind ? keyOf(next) : undefined;
  if (!b || JSON.stringify(a) !== JSON.stringify(b)) {
    throw new CliError(`cannot change the apiVersion, kind, name or namespace of ${kindInfoOf(before).kind} ` +
      `${before.metadata.name}; create a new object and delete this one`);
  }
  return next;
}

export async function editResource(
  store: Datastore,
  key: ResourceKey,
  edit: Edit,
): Promise<{ before: Resource; after: Resource }> {
  for (let attempt = 1; ; attempt++) {
    const before = await store.get(key);
    const next = edited(before, edit);
    const pinned = next.metadata.resourceVersion !== before.metadata.resourceVersion;
    next.metadata.resourceVersion ??= before.metadata.resourceVersion;
    try {
      return { before, after: await store.update(next) };
    } catch (err) {
      if (!isConflict(err) || pinned || attempt >= ATTEMPTS) throw err;
    }
  }
}

export interface EditRun {
  /** The command's past tense for the messages: `patched`, `labelled`. */
  past: string;
  dryRun: boolean;
  /** Called once per object written, with the result (the command prints its own line). */
  onWritten?: (after: Resource) => void;
}

/**
 * The whole edit command: check every edit, then write them (or, with dryRun, print the preview). Returns the
 * exit code; a failure before any write throws, so main.ts prints it as one line.
 */
export async function runEdits(
  keys: readonly ResourceKey[],
  edit: Edit,
  args: ParsedCommandArgs,
  io: CommandIO,
  run: EditRun,
): Promise<number> {
  const format = dryRunFormat(args, run.dryRun);
  return withStore(args, io, async ({ store }) => {
    const items = [];
    for (const key of keys) {
      const before = await store.get(key);
      items.push({ resource: edited(before, edit), source: undefined });
    }
    // Each object's own version pins the check; the real write below redoes the edit if it moved meanwhile.
    const changes = await planChanges(store, 'replace', items);
    const policy = await lockoutPolicy(args, io);
    if (run.dryRun) return printPreview(store, changes, format, io, policy);
    const failed = changes.find((c) => c.error);
    if (failed?.error) {
      const rest = keys.length > 1 ? ` (nothing was ${run.past})` : '';
      throw new CliError(`${describeDatastoreError(failed.error)}${rest}`, exitCodeOf(failed.error));
    }
    await checkLockout(store, changes, policy, run.past, io);
    let done = 0;
    for (const key of keys) {
      try {
        const { after } = await editResource(store, key, edit);
        run.onWritten?.(after);
        done++;
      } catch (err) {
        // Only a concurrent writer gets here (everything was checked above): say what was already written.
        if (done > 0 && isDatastoreError(err)) {
          write(io.stderr, `partial success: ${run.past} the first ${done} out of ${keys.length} objects`);
        }
        throw err;
      }
    }
    return EXIT.ok;
  });
}

/** A usage error for an edit given no objects (shared wording for patch and label). */
export function noObjects(example: string): UsageError {
  return new UsageError(`which objects? e.g. ${example}`);
}
