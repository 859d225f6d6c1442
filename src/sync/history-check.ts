// Whether a listing of the store can be the continuation of what a consumer already follows — the "went back in
// time / lost objects" check (issue 10 §1). A store restored from an older copy, a damaged file store repaired to a
// prefix of its history, or a consumer pointed at another store would otherwise hand the engine an older or
// emptier policy set, and the agent would program it: ports that were blocked open silently.
//
// Two checks, one per thing a consumer can know:
// - Within one process (`checkContinuation`) the syncer knows every object it has fed and the revision each one
//   was at. A listing at revision L follows that history iff L ≥ the newest revision seen, and every listed object
//   whose resourceVersion is at or below that revision is one the syncer holds at exactly that resourceVersion (an
//   object unchanged since revision r ≤ seen was seen at r). Known objects missing from the listing are deletions
//   only when L > seen; at L = seen the listing must be exactly what is known.
// - Across a restart (`checkBaseline`) only what the consumer persisted is known: the store it followed (its
//   endpoint) and the revision it enforced. A store with another endpoint, or at an older revision, is refused.
// Neither check is ever skipped silently; an operator's explicit "accept the store as it is" is the only way past.

import type { ResourceList } from '../datastore/index.js';

/** What a consumer persisted about the store it enforced: `tabby agent` keeps it in its state directory. */
export interface StoreBaseline {
  /** The store's endpoint (`file:/dir`, `etcd://…`), its identity here. */
  endpoint: string;
  /** The newest store revision whose consequences the consumer enforces. */
  revision: number;
}

export type HistoryProblem =
  | { kind: 'rolled-back'; message: string }
  | { kind: 'replaced'; message: string };

/** The numeric form of a resourceVersion; undefined when it is not one (never from Tabby's stores). */
export function revisionOf(resourceVersion: string | undefined): number | undefined {
  if (resourceVersion === undefined || !/^[0-9]{1,15}$/.test(resourceVersion)) return undefined;
  return Number(resourceVersion);
}

/**
 * `known`: store path → the resourceVersion fed to the engine; `seen`: the newest revision received; `listed`:
 * store path → resourceVersion of the listing, `held`: paths kept at their last valid version because the store
 * reported them skipped (they are not deletions).
 */
export function checkContinuation(
  endpoint: string,
  known: ReadonlyMap<string, string>,
  seen: number,
  list: Pick<ResourceList, 'revision'>,
  listed: ReadonlyMap<string, string>,
  held: ReadonlySet<string>,
): HistoryProblem | undefined {
  if (seen < 0) return undefined;
  if (list.revision < seen) {
    return {
      kind: 'rolled-back',
      message: `the datastore went back in time: ${endpoint} is at revision ${list.revision}, older than revision ` +
        `${seen} already received`,
    };
  }
  for (const [path, rv] of listed) {
    const r = revisionOf(rv);
    if (r === undefined || r > seen) continue;
    const had = known.get(path);
    if (had !== rv) {
      return {
        kind: 'rolled-back',
        message: `the datastore's history changed: ${endpoint} holds ${path} at resourceVersion ${rv}, which ` +
          `revision ${seen} ${had === undefined ? 'never had' : `had at resourceVersion ${had}`}`,
      };
    }
  }
  if (list.revision === seen) {
    for (const path of known.keys()) {
      if (!listed.has(path) && !held.has(path)) {
        return {
          kind: 'rolled-back',
          message: `the datastore lost objects: ${endpoint} at revision ${seen} no longer holds ${path}`,
        };
      }
    }
  }
  return undefined;
}

/** A fresh consumer's first listing against what an earlier run enforced. */
export function checkBaseline(endpoint: string, baseline: StoreBaseline | undefined, revision: number): HistoryProblem | undefined {
  if (!baseline || baseline.revision < 0) return undefined;
  if (baseline.endpoint !== endpoint) {
    return {
      kind: 'replaced',
      message: `the datastore is not the one this node enforces: it enforces revision ${baseline.revision} of ` +
        `${baseline.endpoint}, not ${endpoint}`,
    };
  }
  if (revision < baseline.revision) {
    return {
      kind: 'rolled-back',
      message: `the datastore went back in time: ${endpoint} is at revision ${revision}, older than revision ` +
        `${baseline.revision} this node enforces`,
    };
  }
  return undefined;
}
