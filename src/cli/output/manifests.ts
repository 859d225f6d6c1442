// Resources printed as manifests: multi-document YAML or a JSON `v1 List`, both of which `tabby validate -f`,
// kubectl and calicoctl read back. Output is stable for diffs: top-level fields in manifest order
// (apiVersion, kind, metadata, spec, ...), name and namespace first in metadata, no line folding.

import { stringify } from 'yaml';

import type { Resource } from '../../api/index.js';

export type ManifestFormat = 'yaml' | 'json';

const TOP_LEVEL_ORDER = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];
const METADATA_ORDER = ['name', 'namespace', 'labels', 'annotations'];
/** Where a policy sits comes first in its spec, as in Calico's docs; other fields keep their order. */
const SPEC_ORDER = ['stagedAction', 'tier', 'order'];

export function renderManifests(resources: readonly Resource[], format: ManifestFormat): string {
  const items = resources.map(canonicalOrder);
  if (format === 'json') return JSON.stringify({ apiVersion: 'v1', kind: 'List', items }, null, 2) + '\n';
  return items.map((r) => stringify(r, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}

function canonicalOrder(resource: Resource): Record<string, unknown> {
  const out = ordered(resource as unknown as Record<string, unknown>, TOP_LEVEL_ORDER);
  if (typeof out.metadata === 'object' && out.metadata !== null) {
    out.metadata = ordered(out.metadata as Record<string, unknown>, METADATA_ORDER);
  }
  if (typeof out.spec === 'object' && out.spec !== null && !Array.isArray(out.spec)) {
    out.spec = ordered(out.spec as Record<string, unknown>, SPEC_ORDER);
  }
  return out;
}

function ordered(obj: Record<string, unknown>, first: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of first) if (obj[k] !== undefined) out[k] = obj[k];
  for (const k of Object.keys(obj)) if (!(k in out) && obj[k] !== undefined) out[k] = obj[k];
  return out;
}
