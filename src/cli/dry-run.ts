// --dry-run for apply, create, replace and delete: validate, decide each object's fate exactly as the real
// command would (the datastore's own previewWrite/previewDelete, so the two cannot drift), change nothing,
// and print a per-object diff.
//
// Reachability impact: `impactSets` gives the resource sets before and after the planned changes. An analysis
// of what flows those changes allow or deny takes (before, after) and its lines are passed to
// `renderDryRun` as `impact`; the engine provides that analysis.

import { resourceRef, kindInfoOf, type Resource, type ResourceKey } from '../api/index.js';
import {
  isDatastoreError, isNotFound, keyOf, previewDelete, previewWrite, type Datastore, type DatastoreError, type Preconditions,
} from '../datastore/index.js';
import { renderManifests } from './output/manifests.js';
import { unifiedDiff } from './output/text-diff.js';

export type WriteVerb = 'apply' | 'create' | 'replace' | 'delete';

export interface PlannedChange {
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
  for (const { resource, source } of inputs) {
    const key: ResourceKey = keyOf(resource);
    const label = labelOf(resource);
    const current = await store.get(key).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    try {
      if (verb === 'delete') {
        const pre: Preconditions = {};
        if (resource.metadata.resourceVersion) pre.resourceVersion = resource.metadata.resourceVersion;
        if (resource.metadata.uid) pre.uid = resource.metadata.uid;
        if (!current && options.skipNotFound) {
          out.push({ label, source, action: 'skip', before: undefined, after: undefined });
          continue;
        }
        previewDelete(key, pre, current);
        out.push({ label, source, action: 'delete', before: current, after: undefined });
        continue;
      }
      const { resource: after, created } = previewWrite(MODE[verb], resource, current);
      const same = current !== undefined &&
        JSON.stringify(withoutServerFields(current)) === JSON.stringify(withoutServerFields(after));
      out.push({ label, source, action: created ? 'create' : same ? 'unchanged' : 'update', before: current, after });
    } catch (err) {
      if (!isDatastoreError(err)) throw err;
      out.push({ label, source, action: 'skip', before: current, after: undefined, error: err });
    }
  }
  return out;
}

/** The store's resources before, and as they would be after, the changes (for a reachability analysis). */
export async function impactSets(store: Datastore, changes: readonly PlannedChange[]): Promise<{ before: Resource[]; after: Resource[] }> {
  const before = (await store.list()).items;
  const id = (r: Resource) => JSON.stringify(keyOf(r));
  const after = new Map(before.map((r) => [id(r), r]));
  for (const c of changes) {
    if (c.error) continue;
    if (c.action === 'delete' && c.before) after.delete(id(c.before));
    if ((c.action === 'create' || c.action === 'update') && c.after) after.set(id(c.after), c.after);
  }
  return { before, after: [...after.values()] };
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
