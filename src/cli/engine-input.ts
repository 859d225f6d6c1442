// Manifests → a loaded PolicyEngine, for the commands that analyse a cluster's policy (matrix, policies-for,
// select). Input is read exactly as `tabby validate` reads it; any problem is printed the way validate prints
// it (one `file:line:col: …` line each, on stderr so stdout stays parseable) and the command fails with exit 1:
// an analysis of the objects that happen to be valid would silently describe another cluster.
//
// Without -f these commands read the datastore the settings name (--datastore, TABBY_DATASTORE, the config
// file, the default), as calicoctl reads its cluster: what is stored was validated when it was written.

import { loadResources, type Resource } from '../api/index.js';
import { PolicyEngine } from '../engine/index.js';
import { CliError, stringListOption, UsageError, write, type CommandIO, type ParsedCommandArgs } from './command.js';
import { warnSkipped, withStore } from './datastore-access.js';
import { issueLines, sortIssues } from './output/issues.js';
import { FILENAME_OPTION, noResourcesMessage } from './commands/validate.js';

/** -f for the engine commands: manifests, or the datastore when none are given. */
export const ENGINE_FILENAME_OPTION = {
  ...FILENAME_OPTION,
  description: `${FILENAME_OPTION.description}; without -f, the datastore (--datastore) is read`,
} as const;

/**
 * The -f paths of an engine command; empty when the datastore is to be read. A positional that looks like a path
 * gets a hint, as manifest commands give.
 */
export function engineSourcePaths(args: ParsedCommandArgs, verb: string, positionalsUsed = 0): string[] {
  const stray = args.positionals[positionalsUsed];
  if (stray !== undefined) {
    throw new UsageError(`unexpected argument '${stray}': give manifests with -f (tabby ${verb} -f ${stray}), or none to read the datastore`);
  }
  return stringListOption(args, 'filename');
}

/** The stored resources, with a note when the store is empty (a forgotten -f reads as an empty cluster). */
export async function datastoreResources(args: ParsedCommandArgs, io: CommandIO): Promise<Resource[]> {
  return withStore(args, io, async ({ store, setting }) => {
    const { items, skipped } = await store.list();
    warnSkipped(io, skipped);
    if (items.length === 0) {
      write(io.stderr, `note: the datastore at ${store.endpoint} (${setting.origin}) holds no resources; ` +
        'give manifests with -f PATH or choose a store with --datastore');
    }
    return items;
  });
}

/** An engine loaded from -f manifests (strictly, as loadEngine) or, without -f, from the datastore. */
export async function loadEngineFrom(args: ParsedCommandArgs, io: CommandIO, verb: string, positionalsUsed = 0): Promise<PolicyEngine> {
  const paths = engineSourcePaths(args, verb, positionalsUsed);
  if (paths.length > 0) return loadEngine(paths, io, verb);
  return engineOf(await datastoreResources(args, io), io);
}

const NOTES_PER_KIND = 3;

export async function loadEngine(paths: readonly string[], io: CommandIO, verb: string): Promise<PolicyEngine> {
  const loaded = await loadResources(paths, { stdin: io.stdin, cwd: io.cwd });
  if (loaded.issues.length > 0) {
    const issues = sortIssues(loaded.issues);
    write(io.stderr, issueLines(issues));
    const n = issues.length;
    throw new CliError(`${n} problem${n === 1 ? '' : 's'} in the manifests; fix ${n === 1 ? 'it' : 'them'} and run ` +
      `tabby ${verb} again (tabby validate -f ${paths.join(' -f ')} lists the same)`);
  }
  if (loaded.resources.length === 0) throw new CliError(noResourcesMessage(paths));
  return engineOf(loaded.resources.map((r) => r.resource), io);
}

export function engineOf(resources: readonly Resource[], io: CommandIO): PolicyEngine {
  const engine = new PolicyEngine();
  engine.load(resources);
  // What the engine reports now is about combinations (a pod's ServiceAccount missing from the manifests, a
  // conversion caveat): the analysis stands, so these are notes and warnings, not failures — a few of each
  // kind, so that a cluster dump without its ServiceAccounts does not bury the output.
  const shown = new Map<string, number>();
  for (const i of engine.issues()) {
    const n = (shown.get(i.code) ?? 0) + 1;
    shown.set(i.code, n);
    if (n > NOTES_PER_KIND) continue;
    const prefix = i.resource && !i.message.startsWith(i.resource) ? `${i.resource}: ` : '';
    write(io.stderr, `${i.code === 'engine.implied-resource' ? 'note' : 'warning'}: ${prefix}${i.message}`);
  }
  for (const [code, n] of shown) {
    if (n > NOTES_PER_KIND) write(io.stderr, `${code === 'engine.implied-resource' ? 'note' : 'warning'}: ${n - NOTES_PER_KIND} more like these`);
  }
  return engine;
}
