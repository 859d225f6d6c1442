// apply, create, replace and delete of manifests (-f), shared by the four commands. Like calicoctl: every
// manifest is loaded and validated first and nothing is written if any has a problem; then objects are written
// in file order and the first failure stops the run, reporting which objects were already written
// ("Partial success: applied the first N out of M resources", calicoctl commands/common.go; here in the casing
// and with the `error: ` prefix of every other message).

import { reachabilityImpact } from '../analysis/index.js';
import { escapeControls, loadResources, type LoadedResource, type Resource } from '../api/index.js';
import { isDatastoreError, keyOf, type Datastore, type DatastoreError } from '../datastore/index.js';
import { CliError, EXIT, stringOption, UsageError, write, type CommandIO, type ParsedCommandArgs } from './command.js';
import { manifestPaths, noResourcesMessage } from './commands/validate.js';
import { describeDatastoreError, exitCodeOf, withStore } from './datastore-access.js';
import { dryRunJson, effectiveChanges, impactSets, labelOf, planChanges, renderDryRun, type WriteVerb } from './dry-run.js';
import { enforceLockout, lockoutExit, lockoutJson, lockoutLines, lockoutPolicy, runLockoutCheck, type LockoutPolicy } from './lockout.js';
import { impactLines } from './output/impact.js';
import { issueLines, sortIssues } from './output/issues.js';
import { chooseFormat, jsonPrinter, linesPrinter, print, printerSet } from './output/printers.js';

interface DryRunReport {
  changes: Awaited<ReturnType<typeof planChanges>>;
  impact: ReturnType<typeof reachabilityImpact>;
  scope: 'all' | 'before-first-failure';
  lockout: Awaited<ReturnType<typeof runLockoutCheck>>;
  policy: LockoutPolicy;
}

const DRY_RUN_PRINTERS = printerSet<DryRunReport, 'text' | 'json'>('text', {
  text: linesPrinter(({ changes, impact, scope, lockout, policy }) =>
    [renderDryRun(changes, impactLines(impact, scope)), ...lockoutLines(lockout, policy)].join('\n')),
  json: jsonPrinter(({ changes, impact, lockout, policy }) => ({ ...(dryRunJson(changes, impact) as object), lockout: lockoutJson(lockout, policy) })),
});

/** -o for the write commands: the dry-run report as text or JSON. */
export const DRY_RUN_OUTPUT_OPTION = {
  type: 'string', short: 'o', valueName: 'FORMAT',
  description: 'With --dry-run: text (default: diffs and reachability impact) or json',
} as const;

const PAST: Record<WriteVerb, string> = { apply: 'applied', create: 'created', replace: 'replaced', delete: 'deleted' };

/** An object to write and where it came from (`file:line:col`, or undefined for command-line arguments). */
export interface WriteItem {
  resource: Resource;
  source: string | undefined;
}

export function fromLoaded(r: LoadedResource): WriteItem {
  const p = r.source.position;
  return { resource: r.resource, source: `${p.file}:${p.line}:${p.col}` };
}

/** `'GlobalNetworkPolicy' resource(s)` when all share a kind, as calicoctl words it; `resource(s)` otherwise. */
export function kindPhrase(resources: readonly Resource[]): string {
  const kinds = new Set(resources.map((r) => r.kind));
  return kinds.size === 1 ? `'${[...kinds][0]}' resource(s)` : 'resource(s)';
}

async function writeOne(store: Datastore, verb: WriteVerb, r: Resource, skipNotFound: boolean): Promise<boolean> {
  switch (verb) {
    case 'apply':
      await store.apply(r);
      return true;
    case 'create':
      await store.create(r);
      return true;
    case 'replace':
      await store.update(r);
      return true;
    case 'delete': {
      const pre = {
        ...(r.metadata.resourceVersion && { resourceVersion: r.metadata.resourceVersion }),
        ...(r.metadata.uid && { uid: r.metadata.uid }),
      };
      try {
        await store.delete(keyOf(r), pre);
        return true;
      } catch (err) {
        if (skipNotFound && isDatastoreError(err) && err.code === 'not-found') return false;
        throw err;
      }
    }
  }
}

/** Writes objects in order; returns the exit code after printing the result lines. */
export async function writeResources(
  store: Datastore,
  verb: WriteVerb,
  loaded: readonly WriteItem[],
  io: CommandIO,
  options: { skipNotFound?: boolean } = {},
): Promise<number> {
  const done: Resource[] = [];
  let skipped = 0;
  for (const item of loaded) {
    try {
      if (await writeOne(store, verb, item.resource, options.skipNotFound ?? false)) done.push(item.resource);
      else skipped++;
    } catch (err) {
      if (!isDatastoreError(err)) throw err;
      return reportFailure(verb, loaded, done.length + skipped, done, item, err, io);
    }
  }
  const all = loaded.map((l) => l.resource);
  write(io.stdout, `Successfully ${PAST[verb]} ${done.length} ${kindPhrase(all)}`);
  if (skipped > 0) write(io.stderr, `${skipped} did not exist (skipped: --skip-not-exists)`);
  return EXIT.ok;
}

function reportFailure(
  verb: WriteVerb,
  loaded: readonly WriteItem[],
  handled: number,
  done: readonly Resource[],
  failed: WriteItem,
  err: DatastoreError,
  io: CommandIO,
): number {
  // Names from input, printed here rather than through main.ts: escaped the same way (issue 10 §6).
  const where = escapeControls(`${failed.source ? `${failed.source}: ` : ''}${labelOf(failed.resource)}`);
  const all = loaded.map((l) => l.resource);
  if (handled === 0) {
    write(io.stderr, `error: failed to ${verb} any ${kindPhrase(all)}: ${where}: ${describeDatastoreError(err)}`);
  } else {
    const names = done.length <= 10 ? escapeControls(` (${done.map(labelOf).join(', ')})`) : '';
    write(io.stderr, `partial success: ${PAST[verb]} the first ${handled} out of ${loaded.length} ${kindPhrase(all)}${names}:`);
    write(io.stderr, `error: ${where}: ${describeDatastoreError(err)}`);
  }
  return exitCodeOf(err);
}

/** The whole `tabby <verb> -f PATH...` command. */
export async function runManifestWrite(verb: WriteVerb, args: ParsedCommandArgs, io: CommandIO): Promise<number> {
  const paths = manifestPaths(args, verb);
  const dryRun = args.values['dry-run'] === true;
  dryRunFormat(args, dryRun);
  const skipNotFound = args.values['skip-not-exists'] === true;
  // delete needs only identities: an object whose manifest no longer validates can still be removed.
  const result = await loadResources(paths, { stdin: io.stdin, cwd: io.cwd, validate: verb !== 'delete' });
  if (result.issues.length > 0) {
    const issues = sortIssues(result.issues);
    write(io.stderr, issueLines(issues));
    const n = issues.length;
    throw new CliError(`${n} problem${n === 1 ? '' : 's'} in the manifests; nothing was ${PAST[verb]} ` +
      `(tabby validate -f ${paths.join(' -f ')} lists the same)`);
  }
  if (result.resources.length === 0) throw new CliError(noResourcesMessage(paths));
  return writeOrPreview(verb, result.resources.map(fromLoaded), args, io, { dryRun, skipNotFound });
}

/** Writes the items, or with dryRun prints what writing them would do. */
export function writeOrPreview(
  verb: WriteVerb,
  items: readonly WriteItem[],
  args: ParsedCommandArgs,
  io: CommandIO,
  options: { dryRun: boolean; skipNotFound: boolean },
): Promise<number> {
  const format = dryRunFormat(args, options.dryRun);
  return withStore(args, io, async ({ store }) => {
    const policy = await lockoutPolicy(args, io);
    const changes = await planChanges(store, verb, items, options);
    if (options.dryRun) return printPreview(store, changes, format, io, policy);
    await checkLockout(store, changes, policy, PAST[verb], io);
    return writeResources(store, verb, items, io, options);
  });
}

/**
 * The lockout check before a real write (lockout.ts): refuses a change that cuts a critical host flow, or with
 * --allow-lockout warns. The check reads the store as it is now; a writer in between is not seen.
 */
export async function checkLockout(
  store: Datastore,
  changes: Awaited<ReturnType<typeof planChanges>>,
  policy: LockoutPolicy,
  past: string,
  io: CommandIO,
): Promise<void> {
  const { before, after } = await impactSets(store, changes);
  enforceLockout(await runLockoutCheck(before, after, policy), policy, past, io);
}

/**
 * Prints the dry-run report of planned changes — the diffs, then what they would do to flows between the
 * endpoints already there — and returns the exit code a real run would have. apply, create, replace, delete,
 * patch and label all print through here, so their previews have one shape.
 */
export async function printPreview(
  store: Datastore,
  changes: Awaited<ReturnType<typeof planChanges>>,
  format: 'text' | 'json',
  io: CommandIO,
  policy: LockoutPolicy,
): Promise<number> {
  const { before, after } = await impactSets(store, changes);
  const impact = reachabilityImpact(before, after);
  const lockout = await runLockoutCheck(before, after, policy);
  const scope = effectiveChanges(changes).length < changes.length ? 'before-first-failure' : 'all';
  print(DRY_RUN_PRINTERS, format, { changes, impact, scope, lockout, policy }, io);
  const failed = changes.find((c) => c.error);
  if (failed?.error) return exitCodeOf(failed.error);
  return lockoutExit(lockout, policy) ?? EXIT.ok;
}

/** The -o format, which only a dry run has (a real write prints one line per outcome). */
export function dryRunFormat(args: ParsedCommandArgs, dryRun: boolean): 'text' | 'json' {
  const format = chooseFormat(args, DRY_RUN_PRINTERS);
  if (!dryRun && stringOption(args, 'output') !== undefined) {
    throw new UsageError('-o selects the format of the --dry-run report; add --dry-run or drop -o');
  }
  return format;
}
