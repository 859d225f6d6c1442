// LabelIndex: which selectors match which labelled items, kept up to date one change at a time
// (felix/labelindex). Both directions are held (selector → items, item → selectors) and every change reports
// only the matches it starts or stops.
//
// To avoid testing every selector against every item, each selector is filed under one of its label
// restrictions (§1.6, `Selector.labelRestrictions()`): a label that must take one of a few values, or a label
// that must be present. A changed item is then tested only against the selectors filed under its own labels,
// the few selectors with no usable restriction, and the selectors it matched before. A new selector is tested
// only against the items that carry its filing label. Restrictions are lower bounds, so every candidate is
// still evaluated; they only prune.
//
// The items' labels live in an ItemIndex, which several LabelIndexes may share (the graph's policy index and
// IP-set index see the same endpoints): the owner updates the ItemIndex, then tells each LabelIndex.
//
// What it does not do: it does not know what the selectors or items mean (policies, IP sets, endpoints,
// network sets); its owner gives it ids and labels, and hears about matches through the listener.

import type { Labels, Selector } from '../selector/index.js';
import { addTo, removeFrom } from './multimap.js';

export interface MatchListener<S, I> {
  onMatchStarted(selectorId: S, itemId: I): void;
  onMatchStopped(selectorId: S, itemId: I): void;
}

/** Where a selector is filed. */
type Filing =
  | { kind: 'values'; label: string; values: readonly string[] }
  | { kind: 'present'; label: string }
  | { kind: 'unindexed' }
  | { kind: 'impossible' };

interface SelectorEntry {
  selector: Selector;
  canonical: string;
  filing: Filing;
}

const EMPTY_SET: ReadonlySet<unknown> = new Set();
const empty = <T>(): ReadonlySet<T> => EMPTY_SET as ReadonlySet<T>;

/**
 * Items and their labels, indexed by label value. The index maps each item to its labels again, so that a new
 * selector tests its candidates without a lookup per item: at 100,000 endpoints those lookups were a tenth of
 * the engine's build (bench/engine.bench.ts, --cpu-prof).
 */
export class ItemIndex<I> {
  private readonly items = new Map<I, Labels>();
  /** label → value → the items with that value, with their labels */
  private readonly byValue = new Map<string, Map<string, Map<I, Labels>>>();
  /** label → how many items have the label (the items themselves are the union of byValue's sets) */
  private readonly withLabel = new Map<string, number>();

  labels(id: I): Labels | undefined {
    return this.items.get(id);
  }

  get size(): number {
    return this.items.size;
  }

  ids(): IterableIterator<I> {
    return this.items.keys();
  }

  entries(): IterableIterator<[I, Labels]> {
    return this.items.entries();
  }

  set(id: I, labels: Labels): void {
    const old = this.items.get(id);
    if (old) this.unindex(id, old);
    this.items.set(id, labels);
    for (const label in labels) {
      let values = this.byValue.get(label);
      if (!values) this.byValue.set(label, (values = new Map()));
      const value = labels[label]!;
      let ids = values.get(value);
      if (!ids) values.set(value, (ids = new Map()));
      ids.set(id, labels);
      this.withLabel.set(label, (this.withLabel.get(label) ?? 0) + 1);
    }
  }

  delete(id: I): void {
    const old = this.items.get(id);
    if (!old) return;
    this.unindex(id, old);
    this.items.delete(id);
  }

  /** The items whose `label` is `value`, with their labels. */
  withValue(label: string, value: string): ReadonlyMap<I, Labels> | undefined {
    return this.byValue.get(label)?.get(value);
  }

  /** The items having `label`, one map per value, with their labels. */
  valueSets(label: string): Iterable<ReadonlyMap<I, Labels>> {
    return this.byValue.get(label)?.values() ?? [];
  }

  countWithLabel(label: string): number {
    return this.withLabel.get(label) ?? 0;
  }

  private unindex(id: I, labels: Labels): void {
    for (const label in labels) {
      const values = this.byValue.get(label);
      if (values) {
        const value = labels[label]!;
        const ids = values.get(value);
        if (ids) {
          ids.delete(id);
          if (ids.size === 0) values.delete(value);
        }
        if (values.size === 0) this.byValue.delete(label);
      }
      const n = (this.withLabel.get(label) ?? 1) - 1;
      if (n === 0) this.withLabel.delete(label);
      else this.withLabel.set(label, n);
    }
  }
}

export class LabelIndex<S, I> {
  private readonly selectors = new Map<S, SelectorEntry>();
  private readonly selectorsByValue = new Map<string, Map<string, Set<S>>>();
  private readonly selectorsByLabel = new Map<string, Set<S>>();
  private readonly unindexed = new Set<S>();

  private readonly selectorToItems = new Map<S, Set<I>>();
  private readonly itemToSelectors = new Map<I, Set<S>>();

  /**
   * @param items where item labels live; the owner updates it before calling updateItem / after deleteItem.
   * @param accepts which items of a shared ItemIndex this index matches (default: all).
   */
  constructor(
    private readonly items: ItemIndex<I>,
    private readonly listener?: MatchListener<S, I>,
    private readonly accepts: (itemId: I) => boolean = () => true,
  ) {}

  // -------------------------------------------------------------------------------------------------------------
  // Queries

  itemsMatching(selectorId: S): ReadonlySet<I> {
    return this.selectorToItems.get(selectorId) ?? empty();
  }

  selectorsMatching(itemId: I): ReadonlySet<S> {
    return this.itemToSelectors.get(itemId) ?? empty();
  }

  hasSelector(selectorId: S): boolean {
    return this.selectors.has(selectorId);
  }

  get selectorCount(): number {
    return this.selectors.size;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Selectors

  /** Adds or replaces a selector. Replacing it with an equal one (same canonical text) changes nothing. */
  updateSelector(selectorId: S, selector: Selector): void {
    const canonical = selector.toString();
    const old = this.selectors.get(selectorId);
    if (old) {
      if (old.canonical === canonical) return;
      this.unfile(selectorId, old.filing);
    }
    const filing = this.chooseFiling(selector);
    this.selectors.set(selectorId, { selector, canonical, filing });
    this.file(selectorId, filing);

    const before = this.selectorToItems.get(selectorId) ?? empty<I>();
    const after = new Set<I>();
    this.forEachCandidateItem(filing, (itemId, labels) => {
      if (this.accepts(itemId) && selector.matches(labels)) after.add(itemId);
    });
    for (const itemId of [...before]) if (!after.has(itemId)) this.stopMatch(selectorId, itemId);
    for (const itemId of after) if (!before.has(itemId)) this.startMatch(selectorId, itemId);
  }

  deleteSelector(selectorId: S): void {
    const entry = this.selectors.get(selectorId);
    if (!entry) return;
    for (const itemId of [...(this.selectorToItems.get(selectorId) ?? empty<I>())]) this.stopMatch(selectorId, itemId);
    this.unfile(selectorId, entry.filing);
    this.selectors.delete(selectorId);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Items

  /** The item's labels changed in the ItemIndex (or it is new): reports the matches that start and stop. */
  updateItem(itemId: I): void {
    const labels = this.items.labels(itemId);
    if (!labels || !this.accepts(itemId)) return;
    const before = this.itemToSelectors.get(itemId) ?? empty<S>();
    // Every selector is tested once: those it matched, then the candidates its labels (or no filing) select.
    const tested = new Set<S>();
    const stopped: S[] = [];
    const started: S[] = [];
    const test = (s: S): void => {
      if (tested.has(s)) return;
      tested.add(s);
      const matches = this.selectors.get(s)!.selector.matches(labels);
      if (matches && !before.has(s)) started.push(s);
      else if (!matches && before.has(s)) stopped.push(s);
    };
    for (const s of before) test(s);
    for (const s of this.unindexed) test(s);
    for (const label in labels) {
      const byValue = this.selectorsByValue.get(label)?.get(labels[label]!);
      if (byValue) for (const s of byValue) test(s);
      const byLabel = this.selectorsByLabel.get(label);
      if (byLabel) for (const s of byLabel) test(s);
    }
    for (const s of stopped) this.stopMatch(s, itemId);
    for (const s of started) this.startMatch(s, itemId);
  }

  /** The item is going away: reports every match it had as stopped. Call before deleting it from the ItemIndex. */
  deleteItem(itemId: I): void {
    for (const s of [...(this.itemToSelectors.get(itemId) ?? empty<S>())]) this.stopMatch(s, itemId);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Internals

  private startMatch(selectorId: S, itemId: I): void {
    addTo(this.selectorToItems, selectorId, itemId);
    addTo(this.itemToSelectors, itemId, selectorId);
    this.listener?.onMatchStarted(selectorId, itemId);
  }

  private stopMatch(selectorId: S, itemId: I): void {
    removeFrom(this.selectorToItems, selectorId, itemId);
    removeFrom(this.itemToSelectors, itemId, selectorId);
    this.listener?.onMatchStopped(selectorId, itemId);
  }

  /**
   * Files a selector under the restriction with the fewest items carrying it now: a label whose values are
   * bounded beats a label that must merely be present at equal cost.
   */
  private chooseFiling(selector: Selector): Filing {
    const restrictions = selector.labelRestrictions();
    if (restrictions.impossible) return { kind: 'impossible' };
    let best: Filing = { kind: 'unindexed' };
    let bestCost = Infinity;
    for (const [label, r] of restrictions.labels) {
      if (r.values && r.values.size > 0) {
        const values = [...r.values];
        const cost = values.reduce((sum, v) => sum + (this.items.withValue(label, v)?.size ?? 0), 0);
        if (cost < bestCost || (cost === bestCost && best.kind !== 'values')) {
          best = { kind: 'values', label, values };
          bestCost = cost;
        }
      } else if (r.mustBePresent) {
        const cost = this.items.countWithLabel(label);
        if (cost < bestCost) {
          best = { kind: 'present', label };
          bestCost = cost;
        }
      }
    }
    return best;
  }

  private file(selectorId: S, filing: Filing): void {
    switch (filing.kind) {
      case 'values': {
        let byValue = this.selectorsByValue.get(filing.label);
        if (!byValue) this.selectorsByValue.set(filing.label, (byValue = new Map()));
        for (const v of filing.values) addTo(byValue, v, selectorId);
        return;
      }
      case 'present':
        addTo(this.selectorsByLabel, filing.label, selectorId);
        return;
      case 'unindexed':
        this.unindexed.add(selectorId);
        return;
      case 'impossible':
        return;
    }
  }

  private unfile(selectorId: S, filing: Filing): void {
    switch (filing.kind) {
      case 'values': {
        const byValue = this.selectorsByValue.get(filing.label);
        if (!byValue) return;
        for (const v of filing.values) removeFrom(byValue, v, selectorId);
        if (byValue.size === 0) this.selectorsByValue.delete(filing.label);
        return;
      }
      case 'present':
        removeFrom(this.selectorsByLabel, filing.label, selectorId);
        return;
      case 'unindexed':
        this.unindexed.delete(selectorId);
        return;
      case 'impossible':
        return;
    }
  }

  private forEachCandidateItem(filing: Filing, fn: (itemId: I, labels: Labels) => void): void {
    const visit = (items: Iterable<[I, Labels]> | undefined): void => {
      if (!items) return;
      for (const [id, labels] of items) fn(id, labels);
    };
    switch (filing.kind) {
      case 'values':
        for (const v of filing.values) visit(this.items.withValue(filing.label, v));
        return;
      case 'present':
        for (const ids of this.items.valueSets(filing.label)) visit(ids);
        return;
      case 'unindexed':
        visit(this.items.entries());
        return;
      case 'impossible':
        return;
    }
  }
}

export function sameLabels(a: Labels, b: Labels): boolean {
  let n = 0;
  for (const k in a) {
    if (a[k] !== b[k]) return false;
    n++;
  }
  for (const _ in b) n--;
  return n === 0;
}
