/**
 * Shared statistics for the scan detectors: special functions (log-gamma, regularized incomplete
 * gamma and beta), tail probabilities (χ², normal, binomial, Poisson, hypergeometric / Fisher exact
 * 2×2), multiple-testing corrections (Bonferroni, Holm) and distribution distances (Jensen–Shannon,
 * PSI). Pure numeric code, no dependencies. Written from the textbook definitions:
 *
 * - log Γ by the Lanczos approximation (g = 7, 9 terms; relative error ≈ 1e-15 for x > 0);
 * - P(a, x) by its power series for x < a + 1, Q(a, x) by its continued fraction otherwise
 *   (evaluated with the modified Lentz method);
 * - I_x(a, b) by its continued fraction, using the symmetry I_x(a, b) = 1 − I_{1−x}(b, a);
 * - hypergeometric tails by summing the pmf from the observed cell outwards with the term ratio
 *   recurrence, in log space so tiny p-values (1e-300 and below) do not underflow to garbage.
 */

const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
  1.5056327351493116e-7,
];
const LN_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
/** Iteration cap for the series and continued fractions (they converge in far fewer steps). */
const MAX_ITER = 10_000;
/** Relative precision target of the series and continued fractions. */
const EPS = 1e-15;
/** Smallest positive normal double, guards Lentz's method against division by zero. */
const TINY = 1e-300;

/** ln Γ(x) for x > 0 (Lanczos). Returns +Infinity for x ≤ 0 or NaN. */
export function logGamma(x: number): number {
  if (!(x > 0)) return Number.POSITIVE_INFINITY;
  if (x < 0.5) {
    // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
    return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  }
  const z = x - 1;
  let s = LANCZOS[0] as number;
  for (let i = 1; i < LANCZOS.length; i++) s += (LANCZOS[i] as number) / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return LN_SQRT_2PI + (z + 0.5) * Math.log(t) - t + Math.log(s);
}

const LOG_FACTORIAL_TABLE_SIZE = 1024;
const logFactorialTable = (() => {
  const t = new Float64Array(LOG_FACTORIAL_TABLE_SIZE);
  for (let i = 2; i < LOG_FACTORIAL_TABLE_SIZE; i++) t[i] = (t[i - 1] as number) + Math.log(i);
  return t;
})();

/** ln n! for integer n ≥ 0 (table below 1024, log-gamma above). */
export function logFactorial(n: number): number {
  if (n < 0) return Number.NaN;
  if (n < LOG_FACTORIAL_TABLE_SIZE) return logFactorialTable[n | 0] as number;
  return logGamma(n + 1);
}

/** ln C(n, k). */
export function logChoose(n: number, k: number): number {
  if (k < 0 || k > n) return Number.NEGATIVE_INFINITY;
  return logFactorial(n) - logFactorial(k) - logFactorial(n - k);
}

function gammaSeries(a: number, x: number): number {
  // P(a, x) = e^{−x} x^a / Γ(a+1) · Σ x^n / ((a+1)…(a+n))
  let ap = a;
  let sum = 1 / a;
  let del = sum;
  for (let n = 0; n < MAX_ITER; n++) {
    ap += 1;
    del *= x / ap;
    sum += del;
    if (Math.abs(del) < Math.abs(sum) * EPS) break;
  }
  return sum * Math.exp(-x + a * Math.log(x) - logGamma(a));
}

function gammaContinuedFraction(a: number, x: number): number {
  // Q(a, x) = e^{−x} x^a / Γ(a) · 1/(x+1−a− 1·(1−a)/(x+3−a− 2·(2−a)/(x+5−a− …)))
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITER; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return Math.exp(-x + a * Math.log(x) - logGamma(a)) * h;
}

/** Regularized lower incomplete gamma P(a, x) = γ(a, x) / Γ(a), for a > 0, x ≥ 0. */
export function regularizedGammaP(a: number, x: number): number {
  if (Number.isNaN(a) || Number.isNaN(x) || a <= 0) return Number.NaN;
  if (x <= 0) return 0;
  if (x === Number.POSITIVE_INFINITY) return 1;
  return x < a + 1 ? gammaSeries(a, x) : 1 - gammaContinuedFraction(a, x);
}

/** Regularized upper incomplete gamma Q(a, x) = 1 − P(a, x), accurate in the far tail. */
export function regularizedGammaQ(a: number, x: number): number {
  if (Number.isNaN(a) || Number.isNaN(x) || a <= 0) return Number.NaN;
  if (x <= 0) return 1;
  if (x === Number.POSITIVE_INFINITY) return 0;
  return x < a + 1 ? 1 - gammaSeries(a, x) : gammaContinuedFraction(a, x);
}

function betaContinuedFraction(x: number, a: number, b: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m < MAX_ITER; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b) for a, b > 0 and 0 ≤ x ≤ 1. */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (Number.isNaN(x) || !(a > 0) || !(b > 0)) return Number.NaN;
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront =
    logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betaContinuedFraction(x, a, b)) / a;
  return 1 - (Math.exp(lnFront) * betaContinuedFraction(1 - x, b, a)) / b;
}

/** P(X ≤ x) for X ~ χ²(df). */
export function chiSquaredCdf(x: number, df: number): number {
  if (!(df > 0)) return Number.NaN;
  return regularizedGammaP(df / 2, Math.max(0, x) / 2);
}

/** P(X ≥ x) for X ~ χ²(df): the p-value of a χ² statistic. */
export function chiSquaredSf(x: number, df: number): number {
  if (!(df > 0)) return Number.NaN;
  return regularizedGammaQ(df / 2, Math.max(0, x) / 2);
}

/** P(Z ≥ z) for a standard normal Z. */
export function normalSf(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  // erfc(t) = Q(1/2, t²), P(Z ≥ z) = erfc(z/√2)/2.
  const q = 0.5 * regularizedGammaQ(0.5, (z * z) / 2);
  return z >= 0 ? q : 1 - q;
}

/** P(X ≥ k) for X ~ Binomial(n, p): one-sided upper-tail p-value. */
export function binomialSf(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  // P(X ≥ k) = I_p(k, n − k + 1).
  return regularizedBeta(p, k, n - k + 1);
}

/** P(X ≤ k) for X ~ Binomial(n, p). */
export function binomialCdf(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  return 1 - binomialSf(k + 1, n, p);
}

/** P(X ≥ k) for X ~ Poisson(λ): one-sided upper-tail p-value. */
export function poissonSf(k: number, lambda: number): number {
  if (k <= 0) return 1;
  if (!(lambda > 0)) return 0;
  // P(X ≥ k) = P(k, λ) (regularized lower incomplete gamma).
  return regularizedGammaP(k, lambda);
}

/** P(X ≤ k) for X ~ Poisson(λ). */
export function poissonCdf(k: number, lambda: number): number {
  if (k < 0) return 0;
  if (!(lambda > 0)) return 1;
  return regularizedGammaQ(k + 1, lambda);
}

/**
 * ln P(X = x) for the hypergeometric distribution of the top-left cell of a 2×2 table with row-1
 * total r1, column-1 total c1 and grand total n.
 */
export function hypergeometricLogPmf(x: number, r1: number, c1: number, n: number): number {
  const lo = Math.max(0, r1 + c1 - n);
  const hi = Math.min(r1, c1);
  if (x < lo || x > hi) return Number.NEGATIVE_INFINITY;
  return logChoose(c1, x) + logChoose(n - c1, r1 - x) - logChoose(n, r1);
}

/**
 * Sum of pmf(x) for x from `start` stepping by `dir` (±1) to the end of the support, where the
 * terms are non-increasing in that direction (start is at or beyond the mode). Returns the log.
 */
function hyperTailLog(start: number, dir: 1 | -1, r1: number, c1: number, n: number): number {
  const lo = Math.max(0, r1 + c1 - n);
  const hi = Math.min(r1, c1);
  if (start < lo) start = lo;
  if (start > hi) start = hi;
  const logFirst = hypergeometricLogPmf(start, r1, c1, n);
  let sum = 1;
  let term = 1;
  let x = start;
  for (;;) {
    if (dir === 1) {
      if (x >= hi) break;
      // pmf(x+1)/pmf(x) = (r1−x)(c1−x) / ((x+1)(n−r1−c1+x+1))
      term *= ((r1 - x) * (c1 - x)) / ((x + 1) * (n - r1 - c1 + x + 1));
      x += 1;
    } else {
      if (x <= lo) break;
      // pmf(x−1)/pmf(x) = x(n−r1−c1+x) / ((r1−x+1)(c1−x+1))
      term *= (x * (n - r1 - c1 + x)) / ((r1 - x + 1) * (c1 - x + 1));
      x -= 1;
    }
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return logFirst + Math.log(sum);
}

export interface FisherResult {
  /** P(X ≥ a): the table is at least this enriched in its top-left cell. */
  greater: number;
  /** P(X ≤ a). */
  less: number;
  /** Sum of the probabilities of all tables no more likely than the observed one. */
  twoSided: number;
  /** Sample odds ratio ad/bc (Infinity when bc = 0 and ad > 0, NaN when both are 0). */
  oddsRatio: number;
}

/**
 * Fisher's exact test on the 2×2 table [[a, b], [c, d]] (non-negative integer counts).
 * Cost is O(number of tables in the tail); the two-sided value walks the whole support
 * (min of the margins), so use it for small tables.
 */
export function fisherExact2x2(a: number, b: number, c: number, d: number): FisherResult {
  const r1 = a + b;
  const c1 = a + c;
  const n = a + b + c + d;
  const oddsRatio = (a * d) / (b * c);
  if (n === 0 || r1 === 0 || c1 === 0 || r1 === n || c1 === n) {
    return { greater: 1, less: 1, twoSided: 1, oddsRatio };
  }
  const mode = Math.floor(((r1 + 1) * (c1 + 1)) / (n + 2));
  let greater: number;
  let less: number;
  if (a >= mode) {
    greater = Math.exp(hyperTailLog(a, 1, r1, c1, n));
    less = a + 1 > Math.min(r1, c1) ? 1 : 1 - Math.exp(hyperTailLog(a + 1, 1, r1, c1, n));
  } else {
    less = Math.exp(hyperTailLog(a, -1, r1, c1, n));
    const lo = Math.max(0, r1 + c1 - n);
    greater = a - 1 < lo ? 1 : 1 - Math.exp(hyperTailLog(a - 1, -1, r1, c1, n));
  }
  greater = Math.min(1, Math.max(0, greater));
  less = Math.min(1, Math.max(0, less));
  // Two-sided: Σ pmf(x) over pmf(x) ≤ pmf(a)·(1 + 1e-7).
  const lo = Math.max(0, r1 + c1 - n);
  const hi = Math.min(r1, c1);
  const logObs = hypergeometricLogPmf(a, r1, c1, n);
  const logMode = hypergeometricLogPmf(mode, r1, c1, n);
  let twoSided = 0;
  for (let x = lo; x <= hi; x++) {
    const lp = hypergeometricLogPmf(x, r1, c1, n);
    if (lp <= logObs + 1e-7) twoSided += Math.exp(lp - logMode);
  }
  twoSided = Math.min(1, twoSided * Math.exp(logMode));
  return { greater, less, twoSided, oddsRatio };
}

/** Bonferroni-adjusted p-values: min(1, m·p). */
export function bonferroni(p: ArrayLike<number>): Float64Array {
  const m = p.length;
  const out = new Float64Array(m);
  for (let i = 0; i < m; i++) out[i] = Math.min(1, (p[i] as number) * m);
  return out;
}

/**
 * Holm's step-down adjusted p-values (controls the family-wise error rate like Bonferroni, but
 * uniformly more powerful): sort ascending, p̃_(i) = max_{j ≤ i} min(1, (m − j + 1)·p_(j)).
 */
export function holm(p: ArrayLike<number>): Float64Array {
  const m = p.length;
  const order = Array.from({ length: m }, (_, i) => i).sort(
    (x, y) => (p[x] as number) - (p[y] as number),
  );
  const out = new Float64Array(m);
  let running = 0;
  for (let r = 0; r < m; r++) {
    const i = order[r] as number;
    const v = Math.min(1, (m - r) * (p[i] as number));
    running = Math.max(running, Number.isNaN(v) ? 1 : v);
    out[i] = running;
  }
  return out;
}

function normalize(v: ArrayLike<number>): Float64Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += Math.max(0, v[i] as number);
  const out = new Float64Array(v.length);
  if (s > 0) for (let i = 0; i < v.length; i++) out[i] = Math.max(0, v[i] as number) / s;
  return out;
}

/**
 * Jensen–Shannon distance between two discrete distributions given as counts or proportions over
 * the same categories: √JSD with base-2 logs, so 0 = identical and 1 = disjoint supports.
 */
export function jensenShannonDistance(p: ArrayLike<number>, q: ArrayLike<number>): number {
  if (p.length !== q.length) throw new RangeError('jensenShannonDistance: length mismatch');
  const P = normalize(p);
  const Q = normalize(q);
  let js = 0;
  for (let i = 0; i < P.length; i++) {
    const a = P[i] as number;
    const b = Q[i] as number;
    const m = (a + b) / 2;
    if (a > 0) js += 0.5 * a * Math.log2(a / m);
    if (b > 0) js += 0.5 * b * Math.log2(b / m);
  }
  return Math.sqrt(Math.min(1, Math.max(0, js)));
}

/** Proportion substituted for an empty category in PSI (the usual convention; keeps it finite). */
export const PSI_EPSILON = 1e-4;

/**
 * Population stability index Σ (a_i − e_i)·ln(a_i / e_i) between an expected (baseline) and an
 * actual distribution, given as counts or proportions. Empty categories get PSI_EPSILON.
 * Common reading: < 0.1 stable, 0.1–0.25 moderate shift, ≥ 0.25 major shift.
 */
export function psi(
  expected: ArrayLike<number>,
  actual: ArrayLike<number>,
  epsilon = PSI_EPSILON,
): number {
  if (expected.length !== actual.length) throw new RangeError('psi: length mismatch');
  const E = normalize(expected);
  const A = normalize(actual);
  let s = 0;
  for (let i = 0; i < E.length; i++) {
    const e = Math.max(E[i] as number, epsilon);
    const a = Math.max(A[i] as number, epsilon);
    s += (a - e) * Math.log(a / e);
  }
  return s;
}

export interface ChiSquaredResult {
  statistic: number;
  df: number;
  p: number;
  /** Smallest expected cell count. */
  minExpected: number;
}

/**
 * Pearson χ² test of independence / homogeneity on an r×c table of counts (rows of equal length).
 * Rows or columns whose total is 0 are dropped before the degrees of freedom are counted.
 */
export function chiSquaredTable(table: readonly (readonly number[])[]): ChiSquaredResult {
  const rowsT = table.map((r) => r.reduce((s, v) => s + v, 0));
  const cols = table[0]?.length ?? 0;
  const colsT = new Array<number>(cols).fill(0);
  for (const r of table)
    for (let j = 0; j < cols; j++) colsT[j] = (colsT[j] as number) + (r[j] ?? 0);
  const n = rowsT.reduce((s, v) => s + v, 0);
  const liveRows = rowsT.filter((v) => v > 0).length;
  const liveCols = colsT.filter((v) => v > 0).length;
  const df = (liveRows - 1) * (liveCols - 1);
  if (n === 0 || df <= 0) return { statistic: 0, df: Math.max(0, df), p: 1, minExpected: 0 };
  let stat = 0;
  let minExpected = Number.POSITIVE_INFINITY;
  for (let i = 0; i < table.length; i++) {
    const rt = rowsT[i] as number;
    if (rt === 0) continue;
    const row = table[i] as readonly number[];
    for (let j = 0; j < cols; j++) {
      const ct = colsT[j] as number;
      if (ct === 0) continue;
      const e = (rt * ct) / n;
      if (e < minExpected) minExpected = e;
      const dlt = (row[j] ?? 0) - e;
      stat += (dlt * dlt) / e;
    }
  }
  return { statistic: stat, df, p: chiSquaredSf(stat, df), minExpected };
}
