// The built-in tiers (§2.5: default, kube-admin, kube-baseline) as reads show them. Every Calico cluster has them
// — libcalico-go's EnsureInitialized creates them when the cluster starts — so `tabby get tier` lists them and
// `tabby get tier default` finds it on a fresh store. Nothing is written for that: a built-in tier is stored
// only once someone writes it (apply, replace, label), and from then on the stored object is what reads return.
//
// Only reads of kind Tier show the unstored ones. A list of every kind and watches report what is stored — the
// stream a replica or the engine rebuilds from — and the engine knows the built-in tiers itself.

import { BUILTIN_TIERS, builtinTier, CALICO_API_VERSION, type Resource, type ResourceKey, type Tier } from '../api/index.js';
import type { ListOptions } from './datastore.js';
import type { Query } from './query.js';

/** The built-in tier named by `key` as Calico creates it; undefined for any other key. */
export function builtinTierObject(key: ResourceKey): Tier | undefined {
  const t = key.kind === 'Tier' ? builtinTier(key.name) : undefined;
  return t && {
    apiVersion: CALICO_API_VERSION, kind: 'Tier', metadata: { name: t.name }, spec: { order: t.order, defaultAction: t.defaultAction },
  };
}

/** A list of kind Tier with the unstored built-in tiers that match added, in name order; other lists unchanged. */
export function withBuiltinTiers(items: Resource[], options: ListOptions, query: Query): Resource[] {
  if (options.kind !== 'Tier') return items;
  const stored = new Set(items.map((r) => r.metadata.name));
  const added: Resource[] = [];
  for (const t of BUILTIN_TIERS) {
    const key: ResourceKey = { kind: 'Tier', name: t.name };
    const tier = builtinTierObject(key)!;
    if (!stored.has(t.name) && query.matches(key, tier)) added.push(tier);
  }
  if (added.length === 0) return items;
  return [...items, ...added].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
}
