// Parsed selectors shared by every policy one engine compiles. Clusters repeat selectors across policies (the
// same `app == 'db'` in many rules), and parsing plus the SHA-224 unique ID was a tenth of compiling 2,000
// policies. A Selector is immutable (its canonical text and ID are memoised, never changed), so sharing is safe.
// Bounded: when full it starts over rather than tracking recency, which costs one re-parse per selector.

import { parseSelector, type Selector } from '../selector/index.js';

const MAX_ENTRIES = 50_000;

export class SelectorCache {
  private readonly parsed = new Map<string, Selector>();

  /** parseSelector, remembered by text. Throws SelectorError as parseSelector does (errors are not remembered). */
  get(text: string): Selector {
    let selector = this.parsed.get(text);
    if (selector === undefined) {
      selector = parseSelector(text);
      if (this.parsed.size >= MAX_ENTRIES) this.parsed.clear();
      this.parsed.set(text, selector);
    }
    return selector;
  }
}
