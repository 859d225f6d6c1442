// The update shape shared by the datastore (which emits it) and the engine (which consumes it), so that
// neither imports the other (Felix's calc graph consumes backend updates and never opens the datastore).

import type { KindKey } from './kinds.js';
import type { Resource } from './types.js';

export interface ResourceKey {
  kind: KindKey;
  /** Absent for cluster-scoped kinds. */
  namespace?: string;
  name: string;
}

export type ResourceUpdate =
  | { type: 'upsert'; resource: Resource; revision?: number }
  | { type: 'delete'; key: ResourceKey; revision?: number };

export function resourceKeyString(key: ResourceKey): string {
  return key.namespace ? `${key.kind}/${key.namespace}/${key.name}` : `${key.kind}//${key.name}`;
}
