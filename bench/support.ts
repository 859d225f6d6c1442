// What every benchmark shares: a seeded PRNG (the same inputs on every run, so ratios compare like with like)
// and a millisecond timer.

/** mulberry32: a small deterministic PRNG returning floats in [0, 1). */
export function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Milliseconds since `start` (a `process.hrtime.bigint()` reading). */
export function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}
