// A list or watch request compiled once: the key prefix a store can scan, and the predicate every object must
// pass. As with kubectl, a namespace given for a cluster-scoped kind is ignored; a namespace without a kind
// selects the namespaced objects of that namespace only.

import { kindInfo, type Resource, type ResourceKey } from '../api/index.js';
import type { ListOptions } from './datastore.js';
import { InvalidError } from './errors.js';
import { kindPath, namespacePath } from './keys.js';
import { parseLabelSelector, type LabelMatcher } from './label-selector.js';

export interface Query {
  /** Store path prefix (relative, as keys.ts builds them); '' scans everything. */
  prefix: string;
  /** Whether an object with this key can match at all (cheap, for watch events and deletes). */
  keyMatches(key: ResourceKey): boolean;
  matches(key: ResourceKey, resource: Resource): boolean;
}

export function compileQuery(options: ListOptions = {}): Query {
  let labels: LabelMatcher | undefined;
  if (options.labelSelector !== undefined) {
    const parsed = parseLabelSelector(options.labelSelector);
    if (!parsed.ok) throw new InvalidError(parsed.issues.map((i) => ({ ...i, path: ['labelSelector'] })));
    labels = parsed.value;
  }
  const { kind } = options;
  const ns = options.namespace && (kind === undefined || kindInfo(kind).namespaced) ? options.namespace : undefined;
  const prefix = kind === undefined ? '' : ns !== undefined ? namespacePath(kind, ns) : kindPath(kind);
  const keyMatches = (key: ResourceKey): boolean =>
    (kind === undefined || key.kind === kind) && (ns === undefined || key.namespace === ns);
  return {
    prefix,
    keyMatches,
    matches: (key, resource) => keyMatches(key) && (labels === undefined || labels(resource.metadata.labels)),
  };
}
