/**
 * Small deterministic random helpers for the scan engine: detectors that sample (approximate
 * nearest neighbours, random projections) and tests that plant ground truth need a seeded,
 * reproducible generator, not `Math.random`.
 */

/**
 * mulberry32: a 32-bit state PRNG (Tommy Ettinger's public-domain design). Fast, good enough for
 * sampling and test data; not cryptographic. Returns a function yielding floats in [0, 1).
 */
export function mulberry32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A uniform integer in [0, n) drawn from `rand`. */
export function randomInt(rand: () => number, n: number): number {
  return Math.floor(rand() * n);
}

/** A standard normal deviate (Box–Muller) drawn from `rand`. */
export function gaussian(rand: () => number): number {
  let u = rand();
  while (u <= 0) u = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** Writable array-likes that `shuffleInPlace` accepts (plain arrays and typed arrays). */
export interface MutableArrayLike<T> {
  length: number;
  [index: number]: T;
}

/** Fisher–Yates shuffle of `items` (an array or typed array) in place, driven by `rand`. */
export function shuffleInPlace<T>(items: MutableArrayLike<T>, rand: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = items[i] as T;
    items[i] = items[j] as T;
    items[j] = t;
  }
}
