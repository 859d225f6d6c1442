// PolicySorter: the order of tiers, and of policies inside a tier (§3.2; felix/calc/policy_sorter.go TierLess
// and PolKVLess at v3.32).
//
// What it does not do: it does not decide which policies apply to an endpoint; it only orders what it is given.

import type { PolicyKind } from './types.js';

export interface TierMeta {
  name: string;
  /** Undefined sorts after every defined order. */
  order?: number;
  defaultAction: 'Deny' | 'Pass';
  /** False for a tier that policies name but no Tier resource defines: sorted last, Deny (§3.2, §7.14). */
  exists: boolean;
}

/** What policy order reads: the identity (for the tie-break) and the order. CompiledPolicy has both. */
export interface PolicySortKey {
  id: { name: string; namespace?: string; kind: PolicyKind };
  order?: number;
}

/** Byte-wise string order, as Go compares strings (UTF-16 order agrees for the ASCII names Calico allows). */
function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** TierLess: existing tiers first, then defined order before nil, ascending order, then name. */
export function compareTiers(a: TierMeta, b: TierMeta): number {
  if (a.exists !== b.exists) return a.exists ? -1 : 1;
  const ao = a.order;
  const bo = b.order;
  if (ao === undefined || bo === undefined) {
    if (ao !== bo) return ao === undefined ? 1 : -1;
  } else if (ao !== bo) {
    return ao < bo ? -1 : 1;
  }
  return compareBytes(a.name, b.name);
}

/**
 * The tie-break key at v3.32: `<name>/<namespace>/<kind>` (§3.2; earlier versions used the backend key name).
 */
export function policyTieBreak(p: PolicySortKey): string {
  return `${p.id.name}/${p.id.namespace ?? ''}/${p.id.kind}`;
}

/** PolKVLess: ascending order with nil as +∞, then the v3.32 tie-break. */
export function comparePolicies(a: PolicySortKey, b: PolicySortKey): number {
  const ao = a.order ?? Infinity;
  const bo = b.order ?? Infinity;
  if (ao !== bo) return ao < bo ? -1 : 1;
  // The joined string, not field by field: `x-1/…` sorts before `x/…` because '-' < '/'.
  return compareBytes(policyTieBreak(a), policyTieBreak(b));
}
