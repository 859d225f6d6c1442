// Read-modify-write of one stored object, for patch and label: read it, apply the edit, write it back
// conditioned on the version read. When someone else wrote in between, read again and redo the edit — unless
// the edit itself pinned a resourceVersion, in which case the conflict is the user's to see (kubectl patch
// behaves the same way).

import { kindInfoOf, type Resource, type ResourceKey } from '../api/index.js';
import { isConflict, keyOf, type Datastore } from '../datastore/index.js';
import { UsageError } from './command.js';

const ATTEMPTS = 5;

export async function editResource(
  store: Datastore,
  key: ResourceKey,
  edit: (current: Resource) => Resource,
): Promise<{ before: Resource; after: Resource }> {
  for (let attempt = 1; ; attempt++) {
    const before = await store.get(key);
    const next = edit(structuredClone(before));
    const a = keyOf(before);
    const b = next.apiVersion === before.apiVersion && next.kind === before.kind ? keyOf(next) : undefined;
    if (!b || JSON.stringify(a) !== JSON.stringify(b)) {
      throw new UsageError(`cannot change the apiVersion, kind, name or namespace of ${kindInfoOf(before).kind} ` +
        `${before.metadata.name}; create a new object and delete this one`);
    }
    const pinned = next.metadata.resourceVersion !== before.metadata.resourceVersion;
    next.metadata.resourceVersion ??= before.metadata.resourceVersion;
    try {
      return { before, after: await store.update(next) };
    } catch (err) {
      if (!isConflict(err) || pinned || attempt >= ATTEMPTS) throw err;
    }
  }
}

/** RFC 7386 JSON merge patch: objects merge key by key, null removes a key, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}
