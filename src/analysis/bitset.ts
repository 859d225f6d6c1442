// Fixed-size bit sets over a numbered universe (the peer projections of one end group). The rule sweep
// (rule-sweep.ts) evaluates each rule once for every peer at a time, and these are the sets it carries through a
// tier: the peers still undecided, the ones a rule matched, the ones allowed.

export class BitSet {
  readonly words: Uint32Array;

  constructor(readonly size: number, fill = false) {
    this.words = new Uint32Array(Math.ceil(size / 32));
    if (fill) {
      this.words.fill(0xffffffff);
      this.clearTail();
    }
  }

  static full(size: number): BitSet {
    return new BitSet(size, true);
  }

  copy(): BitSet {
    const out = new BitSet(this.size);
    out.words.set(this.words);
    return out;
  }

  has(i: number): boolean {
    return (this.words[i >>> 5]! & (1 << (i & 31))) !== 0;
  }

  add(i: number): void {
    this.words[i >>> 5]! |= 1 << (i & 31);
  }

  delete(i: number): void {
    this.words[i >>> 5]! &= ~(1 << (i & 31));
  }

  /** this ∩= other */
  and(other: BitSet): void {
    const a = this.words;
    const b = other.words;
    for (let i = 0; i < a.length; i++) a[i]! &= b[i]!;
  }

  /** Calls fn for every member, ascending. */
  forEach(fn: (i: number) => void): void {
    const w = this.words;
    for (let k = 0; k < w.length; k++) {
      let x = w[k]!;
      while (x !== 0) {
        const low = x & -x;
        fn(k * 32 + 31 - Math.clz32(low));
        x ^= low;
      }
    }
  }

  isEmpty(): boolean {
    for (const w of this.words) if (w !== 0) return false;
    return true;
  }

  /** this ∪= other */
  or(other: BitSet): void {
    const a = this.words;
    const b = other.words;
    for (let i = 0; i < a.length; i++) a[i]! |= b[i]!;
  }

  /** this ∖= other */
  andNot(other: BitSet): void {
    const a = this.words;
    const b = other.words;
    for (let i = 0; i < a.length; i++) a[i]! &= ~b[i]!;
  }

  /** A new set: this ∩ other. */
  intersection(other: BitSet): BitSet {
    const out = new BitSet(this.size);
    const a = this.words;
    const b = other.words;
    for (let i = 0; i < a.length; i++) out.words[i] = a[i]! & b[i]!;
    return out;
  }

  count(): number {
    let n = 0;
    for (let w of this.words) {
      w -= (w >>> 1) & 0x55555555;
      w = (w & 0x33333333) + ((w >>> 2) & 0x33333333);
      n += (((w + (w >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
    }
    return n;
  }

  private clearTail(): void {
    const rest = this.size & 31;
    if (rest !== 0) this.words[this.words.length - 1] = (1 << rest) - 1 >>> 0;
  }
}
