// --dry-run for apply, create, replace and delete: validate, decide each object's fate exactly as the real
// command would (the datastore's own previewWrite/previewDelete, with the same checks between objects, so the two
// cannot drift), change nothing, and print a per-object diff.
//
// Objects are planned in order against the store as the earlier ones would leave it: a Tier created first in a
// file makes the policies after it valid, and an object given twice is created once.
//
// Reachability impact: `impactSets` gives the resource sets before and after the planned changes (up to the first
// failure, where a real run stops); the analysis part's reachabilityImpact compares them, and its report is
// rendered after the diffs (output/impact.ts), or as JSON (`dryRunJson`).

import { resourceRef, kindInfoOf, type Resource, type ResourceKey } from '../api/index.js';
import type { ReachabilityImpact } from '../analysis/index.js';
import {
  isDatastoreError, keyOf, keyPath, previewDelete, previewWrite, referenceViewOfMap, type Datastore, type DatastoreError,
  type Preconditions,
} from '../datastore/index.js';
import { renderManifests } from './output/manifests.js';
import { unifiedDiff } from './output/text-diff.js';

export type WriteVerb = 'apply' | 'create' | 'replace' | 'delete';

export interface PlannedChange {
  key: ResourceKey;
  /** `Kind ns/name` */
  label: string;
  /** `file:line:col` the object came from; undefined for command-line arguments. */
  source: string | undefined;
  action: 'create' | 'update' | 'unchanged' | 'delete' | 'skip';
  before: Resource | undefined;
  after: Resource | undefined;
  /** The failure a real run would hit on this object. */
  error?: DatastoreError;
}

export interface DryRunInput {
  resource: Resource;
  source: string | undefined;
}

const MODE = { apply: 'apply', create: 'create', replace: 'update' } as const;

/** Fields the store owns: left out of diffs, which are about what the user changes. */
function withoutServerFields(r: Resource): Resource {
  const c = structuredClone(r);
  delete c.metadata.resourceVersion;
  delete c.metadata.uid;
  delete c.metadata.creationTimestamp;
  return c;
}

export function labelOf(r: Resource): string {
  return `${kindInfoOf(r).kind} ${resourceRef(r)}`;
}

export async function planChanges(
  store: Datastore,
  verb: WriteVerb,
  inputs: readonly DryRunInput[],
  options: { skipNotFound?: boolean } = {},
): Promise<PlannedChange[]> {
  const out: PlannedChange[] = [];
  // The store as the changes planned so far leave it, by key path.
  const state = new Map<string, { value: Resource }>();
  for (const r of (await store.list()).items) state.set(keyPath(keyOf(r)), { value: r });
  const references = referenceViewOfMap(state);
  for (const { resource, source } of inputs) {
    const key: ResourceKey = keyOf(resource);
    const path = keyPath(key);
    const label = labelOf(resource);
    const current = state.get(path)?.value;
    try {
      if (verb === 'delete') {
        const pre: Preconditions = {};
        if (resource.metadata.resourceVersion) pre.resourceVersion = resource.metadata.resourceVersion;
        if (resource.metadata.uid) pre.uid = resource.metadata.uid;
        if (!current && options.skipNotFound) {
          out.push({ key, label, source, action: 'skip', before: undefined, after: undefined });
          continue;
        }
        previewDelete(key, pre, current, references);
        state.delete(path);
        out.push({ key, label, source, action: 'delete', before: current, after: undefined });
        continue;
      }
      const { resource: after, created } = previewWrite(MODE[verb], resource, current, undefined, references);
      const same = current !== undefined &&
        JSON.stringify(withoutServerFields(current)) === JSON.stringify(withoutServerFields(after));
      state.set(path, { value: after });
      out.push({ key, label, source, action: created ? 'create' : same ? 'unchanged' : 'update', before: current, after });
    } catch (err) {
      if (!isDatastoreError(err)) throw err;
      out.push({ key, label, source, action: 'skip', before: current, after: undefined, error: err });
    }
  }
  return out;
}

/** The changes a real run would make: all of them, or those before the first failure (where the run stops). */
export function effectiveChanges(changes: readonly PlannedChange[]): readonly PlannedChange[] {
  const failed = changes.findIndex((c) => c.error);
  return failed < 0 ? changes : changes.slice(0, failed);
}

/** The store's resources before, and as they would be after, the changes (for a reachability analysis). */
export async function impactSets(store: Datastore, changes: readonly PlannedChange[]): Promise<{ before: Resource[]; after: Resource[] }> {
  const before = (await store.list()).items;
  const id = (r: Resource) => JSON.stringify(keyOf(r));
  const after = new Map(before.map((r) => [id(r), r]));
  for (const c of effectiveChanges(changes)) {
    if (c.error) continue;
    if (c.action === 'delete' && c.before) after.delete(id(c.before));
    if ((c.action === 'create' || c.action === 'update') && c.after) after.set(id(c.after), c.after);
  }
  return { before, after: [...after.values()] };
}

/**
 * The dry run as JSON (a stable contract): each object's planned action (or the failure a real run would hit),
 * the counts, and the reachability impact of the changes a real run would make.
 */
export function dryRunJson(changes: readonly PlannedChange[], impact: ReachabilityImpact | null): unknown {
  const failing = changes.filter((c) => c.error).length;
  const count = (a: PlannedChange['action']) => changes.filter((c) => c.action === a && !c.error).length;
  return {
    dryRun: true,
    objects: changes.map((c) => ({
      kind: c.key.kind,
      ...(c.key.namespace !== undefined && { namespace: c.key.namespace }),
      name: c.key.name,
      source: c.source ?? null,
      action: c.error ? 'fail' : c.action,
      error: c.error ? { code: c.error.code, message: c.error.message } : null,
    })),
    summary: {
      create: count('create'), update: count('update'), unchanged: count('unchanged'), delete: count('delete'),
      skip: count('skip'), fail: failing,
    },
    // A real run stops at the first failure: the impact is that of the changes before it.
    impactScope: failing > 0 ? 'before-first-failure' : 'all',
    impact,
  };
}

function yamlOf(r: Resource | undefined): string {
  return r ? renderManifests([withoutServerFields(r)], 'yaml') : '';
}

/** The dry-run report: per object a header, the diff, and a summary line; `impact` lines follow if given. */
export function renderDryRun(changes: readonly PlannedChange[], impact: readonly string[] = []): string {
  const lines: string[] = [];
  for (const c of changes) {
    if (c.error) {
      lines.push(`${c.label}: would fail: ${c.error.message}${c.source ? ` (${c.source})` : ''}`);
      continue;
    }
    const what = c.action === 'skip' ? 'not found, skipped' : c.action;
    lines.push(`${c.label}: ${what} (dry run)`);
    const diff = unifiedDiff(yamlOf(c.before), yamlOf(c.after));
    if (diff !== '' && c.action !== 'skip') lines.push(diff);
  }
  const count = (a: PlannedChange['action']) => changes.filter((c) => c.action === a && !c.error).length;
  const failing = changes.filter((c) => c.error).length;
  lines.push(`Dry run: ${count('create')} to create, ${count('update')} to update, ${count('unchanged')} unchanged, ` +
    `${count('delete')} to delete${failing ? `, ${failing} would fail` : ''}; nothing was written`);
  if (impact.length > 0) lines.push('', 'Reachability impact:', ...impact.map((l) => `  ${l}`));
  return lines.join('\n');
}
