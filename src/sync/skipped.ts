// The stored objects a consumer is not using, with why: what the store reported as undecodable or invalid
// (SkippedObject on lists and `skipped` watch events) and what the engine threw on. Keyed by the store's own key,
// so the same bad object reported again is one entry; cleared per resource when a valid version or a delete of
// that resource arrives, and replaced wholesale by each full listing. Reported in the agent's status, bounded.

import type { ResourceKey } from '../api/index.js';
import { keyPath, type SkippedObject } from '../datastore/index.js';

/** How many skipped objects a status report lists; the count is always exact. */
export const SKIPPED_REPORT_LIMIT = 100;

/** A stable path for a resource key, or undefined when the key names no kind Tabby knows. */
export function pathOfKey(key: ResourceKey): string | undefined {
  try {
    return keyPath(key);
  } catch {
    return undefined;
  }
}

export class SkippedObjects {
  private readonly byKey = new Map<string, SkippedObject>();

  get size(): number {
    return this.byKey.size;
  }

  add(s: SkippedObject): void {
    this.byKey.delete(s.key); // re-insert: the newest report last
    this.byKey.set(s.key, s);
  }

  /** Forgets every entry about `resourcePath` (a valid version or a delete of it arrived). */
  clearResource(resourcePath: string): void {
    for (const [k, s] of this.byKey) {
      if (k === resourcePath || (s.resource && pathOfKey(s.resource) === resourcePath)) this.byKey.delete(k);
    }
  }

  replaceAll(list: readonly SkippedObject[]): void {
    this.byKey.clear();
    for (const s of list) this.add(s);
  }

  /** Paths of the resources skipped objects claim to be: consumers keep these at their last valid version. */
  heldResources(): Set<string> {
    const out = new Set<string>();
    for (const s of this.byKey.values()) {
      const p = s.resource && pathOfKey(s.resource);
      if (p) out.add(p);
    }
    return out;
  }

  /** The first `limit` entries, sorted by key. */
  report(limit = SKIPPED_REPORT_LIMIT): SkippedObject[] {
    return [...this.byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).slice(0, limit)
      .map((s) => ({ ...s }));
  }
}
