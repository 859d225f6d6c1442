// LabelInheritance: the labels a selector sees on an endpoint or network set (§1.7): its own labels, then
// the `labelsToApply` of each profile it names, in order; on a clash the endpoint's own label wins, then the
// first profile that has it (felix/labelindex/label_inheritance_index.go). A profile that changes its labels
// re-labels exactly the items that name it.
//
// What it does not do: it does not match selectors. It tells its listener each item's effective labels
// whenever they change, and the listener feeds the label indexes.

import type { Labels } from '../api/index.js';
import { sameLabels } from './label-index.js';

interface Item {
  own: Labels;
  parents: readonly string[];
  effective: Labels;
}

export type EffectiveLabelsListener<I> = (itemId: I, labels: Labels) => void;

export class LabelInheritance<I> {
  private readonly items = new Map<I, Item>();
  private readonly parentLabels = new Map<string, Labels>();
  private readonly itemsByParent = new Map<string, Set<I>>();

  constructor(private readonly listener: EffectiveLabelsListener<I>) {}

  effectiveLabels(itemId: I): Labels | undefined {
    return this.items.get(itemId)?.effective;
  }

  /** Sets a profile's labelsToApply; undefined when the profile is gone (its items keep only their own). */
  updateParent(name: string, labels: Labels | undefined): void {
    const old = this.parentLabels.get(name);
    if (labels === undefined ? old === undefined : old !== undefined && sameLabels(old, labels)) return;
    if (labels === undefined) this.parentLabels.delete(name);
    else this.parentLabels.set(name, labels);
    for (const itemId of this.itemsByParent.get(name) ?? []) this.recompute(itemId, this.items.get(itemId)!);
  }

  /** Adds or replaces an item; reports its effective labels when they changed (or when it is new). */
  updateItem(itemId: I, own: Labels, parents: readonly string[]): void {
    const old = this.items.get(itemId);
    if (old) for (const p of old.parents) this.itemsByParent.get(p)?.delete(itemId);
    for (const p of parents) {
      let set = this.itemsByParent.get(p);
      if (!set) this.itemsByParent.set(p, (set = new Set()));
      set.add(itemId);
    }
    const item: Item = { own, parents, effective: old?.effective ?? {} };
    this.items.set(itemId, item);
    this.recompute(itemId, item, old === undefined);
  }

  deleteItem(itemId: I): void {
    const old = this.items.get(itemId);
    if (!old) return;
    for (const p of old.parents) {
      const set = this.itemsByParent.get(p);
      set?.delete(itemId);
      if (set?.size === 0) this.itemsByParent.delete(p);
    }
    this.items.delete(itemId);
  }

  private recompute(itemId: I, item: Item, force = false): void {
    const effective: Record<string, string> = { ...item.own };
    for (const p of item.parents) {
      const labels = this.parentLabels.get(p);
      if (!labels) continue;
      for (const k in labels) if (!Object.hasOwn(effective, k)) effective[k] = labels[k]!;
    }
    if (!force && sameLabels(item.effective, effective)) return;
    item.effective = effective;
    this.listener(itemId, effective);
  }
}
