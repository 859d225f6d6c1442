// A watch through a filter (ListDecision.admits) as kube-apiserver's watch cache filters one through a selector
// (storage/cacher: filterWithAttrsFunction): an update that moves an object into the visible set is ADDED, out of
// it DELETED (with the object as it was, the last state the watcher was allowed to see), within it MODIFIED, and
// one outside it before and after is not sent. A policy can change tier with an update in Tabby, so this is what
// keeps a watch from leaking the new state of a policy that moved into a tier the caller cannot list.

import type { Resource } from '../../api/index.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface FilteredEvent {
  type: WatchEventType;
  object: Resource;
}

/**
 * What a watcher that sees only `admits` objects receives for one change: `previous` is the object before the
 * change (undefined for a create), `current` after it (undefined for a delete). Undefined: nothing is sent.
 */
export function filterWatchEvent(
  previous: Resource | undefined,
  current: Resource | undefined,
  admits: (object: Resource) => boolean,
): FilteredEvent | undefined {
  const before = previous !== undefined && admits(previous);
  const after = current !== undefined && admits(current);
  if (before && after) return { type: 'MODIFIED', object: current! };
  if (after) return { type: 'ADDED', object: current! };
  if (before) return { type: 'DELETED', object: previous! };
  return undefined;
}
