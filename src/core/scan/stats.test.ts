import { describe, expect, it } from 'vitest';
import { mulberry32 } from './random.js';
import {
  binomialCdf,
  binomialSf,
  bonferroni,
  chiSquaredCdf,
  chiSquaredSf,
  chiSquaredTable,
  fisherExact2x2,
  holm,
  hypergeometricLogPmf,
  jensenShannonDistance,
  logFactorial,
  logGamma,
  normalSf,
  poissonCdf,
  poissonSf,
  psi,
  regularizedBeta,
  regularizedGammaP,
} from './stats.js';

/** Exact binomial coefficient as BigInt (independent of the code under test). */
function choose(n: number, k: number): bigint {
  if (k < 0 || k > n) return 0n;
  let r = 1n;
  for (let i = 1; i <= k; i++) r = (r * BigInt(n - k + i)) / BigInt(i);
  return r;
}

/** Brute-force Fisher tails by enumerating every table with the same margins. */
function fisherBrute(a: number, b: number, c: number, d: number) {
  const r1 = a + b;
  const c1 = a + c;
  const n = a + b + c + d;
  const lo = Math.max(0, r1 + c1 - n);
  const hi = Math.min(r1, c1);
  const denom = choose(n, r1);
  const pmf = (x: number) =>
    Number((choose(c1, x) * choose(n - c1, r1 - x) * 10n ** 30n) / denom) / 1e30;
  let greater = 0;
  let less = 0;
  let two = 0;
  const obs = pmf(a);
  for (let x = lo; x <= hi; x++) {
    const p = pmf(x);
    if (x >= a) greater += p;
    if (x <= a) less += p;
    if (p <= obs * (1 + 1e-7)) two += p;
  }
  return { greater, less, two };
}

describe('special functions', () => {
  it('log-gamma and log-factorial match exact values', () => {
    expect(logGamma(1)).toBeCloseTo(0, 12);
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12);
    expect(logGamma(10)).toBeCloseTo(Math.log(362880), 10);
    expect(logFactorial(20)).toBeCloseTo(Math.log(2432902008176640000), 10);
    expect(logFactorial(2000)).toBeCloseTo(logGamma(2001), 8);
    expect(logGamma(-1)).toBe(Number.POSITIVE_INFINITY);
  });

  it('regularized gamma and beta hit known values', () => {
    // P(1, x) = 1 − e^{−x}
    expect(regularizedGammaP(1, 2)).toBeCloseTo(1 - Math.exp(-2), 14);
    // I_x(1, 1) = x; I_x(a, 1) = x^a
    expect(regularizedBeta(0.3, 1, 1)).toBeCloseTo(0.3, 14);
    expect(regularizedBeta(0.3, 3, 1)).toBeCloseTo(0.027, 14);
    expect(regularizedBeta(0.3, 2, 5) + regularizedBeta(0.7, 5, 2)).toBeCloseTo(1, 13);
  });
});

describe('tail probabilities', () => {
  it('χ² quantiles', () => {
    expect(chiSquaredSf(3.841458820694124, 1)).toBeCloseTo(0.05, 10);
    expect(chiSquaredSf(6.634896601021214, 1)).toBeCloseTo(0.01, 10);
    expect(chiSquaredSf(9.21034037197618, 2)).toBeCloseTo(0.01, 10); // = e^{−x/2}
    expect(chiSquaredSf(11.344866730144373, 3)).toBeCloseTo(0.01, 9);
    expect(chiSquaredCdf(4, 4) + chiSquaredSf(4, 4)).toBeCloseTo(1, 14);
    // Far tail stays positive and accurate: df = 2 ⇒ sf = e^{−x/2}.
    expect(chiSquaredSf(1000, 2) / Math.exp(-500)).toBeCloseTo(1, 8);
  });

  it('normal tail', () => {
    expect(normalSf(0)).toBeCloseTo(0.5, 14);
    expect(normalSf(1.959963984540054)).toBeCloseTo(0.025, 12);
    expect(normalSf(-1.959963984540054)).toBeCloseTo(0.975, 12);
    expect(normalSf(10) / 7.61985302416047e-24).toBeCloseTo(1, 6);
  });

  it('binomial and Poisson tails equal direct sums', () => {
    const rnd = mulberry32(7);
    for (let t = 0; t < 50; t++) {
      const n = 1 + Math.floor(rnd() * 60);
      const p = rnd();
      const k = Math.floor(rnd() * (n + 2));
      let direct = 0;
      for (let x = k; x <= n; x++) direct += Number(choose(n, x)) * p ** x * (1 - p) ** (n - x);
      expect(binomialSf(k, n, p)).toBeCloseTo(Math.min(1, direct), 10);
      expect(binomialCdf(k - 1, n, p) + binomialSf(k, n, p)).toBeCloseTo(1, 10);
    }
    for (let t = 0; t < 30; t++) {
      const lambda = rnd() * 20;
      const k = Math.floor(rnd() * 30);
      let below = 0;
      let term = Math.exp(-lambda);
      for (let x = 0; x < k; x++) {
        below += term;
        term *= lambda / (x + 1);
      }
      expect(poissonSf(k, lambda)).toBeCloseTo(1 - below, 10);
      expect(poissonCdf(k - 1, lambda)).toBeCloseTo(below, 10);
    }
    expect(binomialSf(0, 10, 0.3)).toBe(1);
    expect(binomialSf(11, 10, 0.3)).toBe(0);
  });

  it('Fisher exact 2×2 equals brute-force enumeration', () => {
    const rnd = mulberry32(11);
    for (let t = 0; t < 200; t++) {
      const cell = () => Math.floor(rnd() * (t < 100 ? 12 : 60));
      const [a, b, c, d] = [cell(), cell(), cell(), cell()];
      const f = fisherExact2x2(a, b, c, d);
      const e = fisherBrute(a, b, c, d);
      if (a + b === 0 || a + c === 0 || b + d === 0 || c + d === 0) continue;
      expect(f.greater).toBeCloseTo(e.greater, 9);
      expect(f.less).toBeCloseTo(e.less, 9);
      expect(f.twoSided).toBeCloseTo(Math.min(1, e.two), 9);
    }
    // Textbook example (lady tasting tea): [[3,1],[1,3]] one-sided p = 17/70.
    expect(fisherExact2x2(3, 1, 1, 3).greater).toBeCloseTo(17 / 70, 12);
  });

  it('Fisher tail stays finite and tiny for huge, extreme tables', () => {
    // ≈ 1e-1500: below the double range, underflows to 0 (never NaN or negative).
    const f = fisherExact2x2(500, 500, 0, 999_000);
    expect(f.greater).toBe(0);
    expect(f.less).toBe(1);
    // ≈ 1e-150: representable, so it must not underflow.
    const h = fisherExact2x2(60, 940, 0, 999_000);
    expect(h.greater).toBeGreaterThan(0);
    expect(h.greater).toBeLessThan(1e-100);
    const g = fisherExact2x2(30, 970, 3000, 96000);
    expect(g.greater).toBeGreaterThan(0.5); // 3 % vs 3 %: no enrichment
    expect(hypergeometricLogPmf(5, 4, 10, 20)).toBe(Number.NEGATIVE_INFINITY);
  });
});

describe('multiple testing', () => {
  it('Holm and Bonferroni', () => {
    expect([...holm([0.01, 0.04, 0.03, 0.005])]).toEqual([0.03, 0.06, 0.06, 0.02]);
    expect([...bonferroni([0.01, 0.5])]).toEqual([0.02, 1]);
    expect([...holm([])]).toEqual([]);
  });
});

describe('distances', () => {
  it('Jensen–Shannon distance', () => {
    expect(jensenShannonDistance([1, 0], [0, 1])).toBeCloseTo(1, 12);
    expect(jensenShannonDistance([3, 7], [30, 70])).toBeCloseTo(0, 12);
    const d = jensenShannonDistance([0.5, 0.5], [0.9, 0.1]);
    expect(d).toBeGreaterThan(0.3);
    expect(d).toBeLessThan(0.4);
    expect(() => jensenShannonDistance([1], [1, 2])).toThrow(RangeError);
  });

  it('PSI', () => {
    expect(psi([0.5, 0.5], [0.6, 0.4])).toBeCloseTo(0.1 * Math.log(1.2) - 0.1 * Math.log(0.8), 12);
    expect(psi([50, 50], [50, 50])).toBe(0);
    // An empty class uses the epsilon, so PSI stays finite.
    expect(Number.isFinite(psi([1, 0], [0.5, 0.5]))).toBe(true);
  });

  it('χ² table', () => {
    // 2×2 [[10, 20], [30, 40]]: χ² = 0.7937 (no continuity correction), df 1.
    const r = chiSquaredTable([
      [10, 20],
      [30, 40],
    ]);
    expect(r.statistic).toBeCloseTo(0.79365079, 6);
    expect(r.df).toBe(1);
    expect(r.p).toBeCloseTo(chiSquaredSf(0.79365079365, 1), 8);
    expect(r.minExpected).toBeCloseTo(12, 10);
    expect(chiSquaredTable([[0, 0]]).p).toBe(1);
  });
});
