/**
 * Detector `trigger/feature-patch`: backdoor patches in feature vectors (images as pixel vectors,
 * e.g. MNIST 784 = 28×28 in 0..1 or digits 64 = 8×8 in 0..16; any fixed-length vectors).
 *
 * The token trigger scan's statistics (field notes §5) on binarised features:
 * 1. Feature j is "on" when x ≥ lo + HIGH_LEVEL (0.98) × (hi − lo), lo its minimum and hi its 99.9th
 *    percentile (the k-th largest, k = 0.1 % of rows; per-feature top-k heaps, one streaming
 *    pass). The percentile, not the maximum, keeps one outlier from hiding a patch stamped at the
 *    usual maximum; per-feature levels keep differently scaled features comparable. With `low`,
 *    the mirror image is searched too (dark patches on a bright background).
 * 2. Units: every feature, and on a square grid every 2×2 and 3×3 window of adjacent positions,
 *    which is "on" when all its features are (a patch stamped where images are often bright is
 *    impure pixel by pixel but pure as a block). Per unit: s = rows on, a = those of the majority
 *    label c; candidate if s ≥ max(minSupport, minSupportShare × rows), purity a/s ≥ minPurity
 *    (and its 95 % Wilson lower bound > MIN_PURITY_LOWER), and on at least doubles c's odds.
 * 3. Candidates with overlapping rows (Jaccard ≥ MERGE_JACCARD, same label) merge into a patch;
 *    its rows are those with at least half of its candidates on.
 * 4. Confirmation by leaving the patch out: nearest centroids on the other features
 *    (standardised; centroids without the patch's rows, in closed form) predict the patch's rows.
 *    Disagreement = share predicted ≠ given label. Flagged when disagreement ≥ minDisagreement,
 *    it beats the class's baseline error (binomial test, Bonferroni over the patches tested), and
 *    the rows are not a tight cluster of one class's atypical rows (cohesion ≤ maxCohesion).
 *
 * Score: wilsonLow(disagreeing, evaluated) × wilsonLow(a, s), as for token triggers; a row whose
 * content agrees with its label without the patch gets the score × AGREEING_ROW_FACTOR.
 *
 * Limits: a trigger must make single features or small blocks extreme (white patches,
 * checkerboards' white cells); blended, warping and reflection triggers (SIG, WaNet, ReFool) and
 * patches where the image is naturally at its maximum are not seen (field notes §11); windows
 * need square single-channel grids. Vectors with NaN/±Infinity or another length than the most
 * common one are skipped and counted; unlabelled rows are ignored.
 */
import { binomialSf } from './stats.js';
import type { Detector, DetectorResult, Issue, Progress, ScanRow, Trigger } from './types.js';
import { clamp01 } from './types.js';

export const FEATURE_PATCH_ID = 'trigger/feature-patch';

/** At least 5 rows: below that neither purity nor disagreement can be told from chance. */
export const DEFAULT_MIN_SUPPORT = 5;
/** 0.1 % of rows, as for token triggers. */
export const DEFAULT_MIN_SUPPORT_SHARE = 0.001;
/** Purity 0.9: a stamped patch is all but absent from clean images, while 0.8 let a genuine stroke of one digit class (the top of a "1" on 8×8 digits) pass as a trigger. */
export const DEFAULT_MIN_PURITY = 0.9;
/** "On" must at least double the odds of the label. */
export const DEFAULT_MIN_LOG_ODDS = Math.LN2;
/** Most of the patch's rows read as another class without it (field notes §5). */
export const DEFAULT_MIN_DISAGREEMENT = 0.5;
/** Bonferroni family-wise error over the patches tested. */
export const DEFAULT_SIGNIFICANCE = 0.01;
/**
 * "High" = at least 98 % of the way from the feature's minimum to its 99.9th percentile: patch
 * attacks stamp the data's maximum (BadNets white), while natural strokes spread below it; at
 * 90 % a stamp inside bright strokes (8×8 digits) was impure and small bright blocks of shifted
 * digits looked like patches.
 */
export const HIGH_LEVEL = 0.98;
/** The percentile that stands in for the maximum: the top 0.1 % of a feature's values. */
export const TOP_SHARE = 0.001;
/** Cap of the per-feature top-k heaps (k = TOP_SHARE × rows): bounds memory at 1,000 values per feature. */
export const MAX_TOP_K = 1000;
/** Candidates whose "on" rows overlap this much (Jaccard) are one patch. */
export const MERGE_JACCARD = 0.5;
/** Candidates kept for merging at most (highest χ² first): bounds the pairwise merging. */
export const MAX_CANDIDATES = 4096;
/** "Low" patches off by default: dark blocks inside bright strokes are ordinary class shapes far more often than triggers. */
export const DEFAULT_LOW = false;
/** The 95 % Wilson lower bound of purity must exceed one half: 4 of 5 rows is not evidence. */
export const MIN_PURITY_LOWER = 0.5;
/**
 * Cohesion = mean distance from a patch's rows to random rows of the class each is read as
 * ÷ mean distance among the patch's rows (patch features removed, standardised). Poisoned rows
 * are ordinary rows of their source classes: measured 0.5–1.02 over 60 planted patches (8×8 and
 * 28×28). Rows sharing a bright pixel because they are one class's digits drawn shifted the same
 * way, which nearest centroids misread, are tighter: 1.21–1.49 on clean synthetic digits.
 */
export const DEFAULT_MAX_COHESION = 1.15;
/** Rows of a patch sampled for its cohesion (all pairs among them, 3 random partners each). */
export const COHESION_ROWS = 40;
/** Rows per class sampled for the classifier's baseline error. */
export const BASELINE_ROWS = 2000;
/** Rows per patch predicted when screening: enough to tell ≈ 0 from ≥ 0.5. */
export const SCREEN_ROWS = 64;
/** Rows predicted per patch at most (an even stride over its rows). */
export const MAX_EVAL_ROWS = 4000;
/** Labelled valid vectors needed to run at all. */
export const MIN_ROWS = 20;
/** Issue score factor for a patch's rows whose content agrees with their label without the patch. */
export const AGREEING_ROW_FACTOR = 0.5;
/** z of the 95 % Wilson lower bounds in the score. */
const WILSON_Z = 1.96;

export interface FeaturePatchOptions {
  minSupport?: number;
  minSupportShare?: number;
  minPurity?: number;
  minLogOdds?: number;
  minDisagreement?: number;
  significance?: number;
  highLevel?: number;
  maxCohesion?: number;
  /** Also look for "low" patches (dark on a bright background). */
  low?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Vectors

/** Valid feature vectors of labelled (or all) rows: the most common length, all finite. */
export interface VectorSet {
  dim: number;
  /** Indices into the input of the rows used. */
  index: number[];
  /** Rows with a features array whose length differs from `dim`. */
  badLength: number;
  /** Rows of the right length with NaN or ±Infinity somewhere. */
  nonFinite: number;
  /** Rows with features but no label (left out when `labelledOnly`). */
  unlabelled: number;
}

/** Picks the modal vector length and the rows with a finite vector of that length. */
export function collectVectors(rows: readonly ScanRow[], labelledOnly = true): VectorSet {
  const lengths = new Map<number, number>();
  for (const row of rows) {
    const f = row.features;
    if (Array.isArray(f) && f.length > 0) lengths.set(f.length, (lengths.get(f.length) ?? 0) + 1);
  }
  let dim = 0;
  let most = 0;
  for (const [len, n] of lengths) {
    if (n > most || (n === most && len > dim)) {
      most = n;
      dim = len;
    }
  }
  const out: VectorSet = { dim, index: [], badLength: 0, nonFinite: 0, unlabelled: 0 };
  rows.forEach((row, r) => {
    const f = row.features;
    if (!Array.isArray(f) || f.length === 0) return;
    if (f.length !== dim) {
      out.badLength++;
      return;
    }
    for (let j = 0; j < dim; j++) {
      if (!Number.isFinite(f[j])) {
        out.nonFinite++;
        return;
      }
    }
    if (typeof row.label !== 'string') {
      out.unlabelled++;
      if (labelledOnly) return;
    }
    out.index.push(r);
  });
  return out;
}

/**
 * Per-feature levels over rows `index`: minimum, maximum, and the k-th largest value (top-k min
 * heaps, one pass). Returns lo (minimum) and hi (k-th largest) per feature, for values × sign.
 */
export function featureLevels(
  rows: readonly ScanRow[],
  index: readonly number[],
  dim: number,
  sign: 1 | -1,
): { lo: Float64Array; hi: Float64Array } {
  const n = index.length;
  const k = Math.max(1, Math.min(MAX_TOP_K, Math.ceil(TOP_SHARE * n)));
  const heap = new Float64Array(dim * k).fill(-Infinity);
  const lo = new Float64Array(dim).fill(Infinity);
  for (const r of index) {
    const f = rows[r]!.features!;
    for (let j = 0; j < dim; j++) {
      const x = sign * (f[j] ?? 0);
      if (x < (lo[j] ?? Infinity)) lo[j] = x;
      const base = j * k;
      if (x <= (heap[base] ?? -Infinity)) continue;
      // Replace the heap's minimum and sift down.
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= k) break;
        const rr = l + 1;
        let c = l;
        if (rr < k && (heap[base + rr] ?? 0) < (heap[base + l] ?? 0)) c = rr;
        if ((heap[base + c] ?? 0) >= x) break;
        heap[base + i] = heap[base + c] ?? 0;
        i = c;
      }
      heap[base + i] = x;
    }
  }
  const hi = new Float64Array(dim);
  for (let j = 0; j < dim; j++) {
    const top = heap[j * k] ?? -Infinity;
    hi[j] = top === -Infinity ? (lo[j] ?? 0) : top; // fewer than k rows: the smallest seen
  }
  return { lo, hi };
}

// ---------------------------------------------------------------------------------------------
// Statistics shared with the token scan (kept local: this module needs no text code)

function chi2x2(a: number, s: number, nc: number, n: number): number {
  const b = s - a;
  const c = nc - a;
  const d = n - nc - b;
  const den = s * (n - s) * nc * (n - nc);
  if (den <= 0) return 0;
  const x = a * d - b * c;
  return (n * x * x) / den;
}

function logOddsLift(a: number, s: number, nc: number, n: number): number {
  return Math.log((a + 0.5) / (s - a + 0.5)) - Math.log((nc + 0.5) / (n - nc + 0.5));
}

function wilsonLower(k: number, n: number): number {
  if (n <= 0) return 0;
  const p = k / n;
  const z2 = WILSON_Z * WILSON_Z;
  const centre = p + z2 / (2 * n);
  const margin = WILSON_Z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return clamp01((centre - margin) / (1 + z2 / n));
}

function jaccardSorted(a: Int32Array, b: Int32Array): number {
  let i = 0;
  let j = 0;
  let both = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      both++;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  const union = a.length + b.length - both;
  return union > 0 ? both / union : 0;
}

/** "features[1..3,7] high": sorted indices with runs collapsed. */
export function describeFeatures(features: readonly number[]): string {
  const f = [...features].sort((x, y) => x - y);
  const parts: string[] = [];
  for (let i = 0; i < f.length;) {
    let j = i;
    while (j + 1 < f.length && f[j + 1] === f[j]! + 1) j++;
    parts.push(j > i ? `${f[i]}..${f[j]}` : String(f[i]));
    i = j + 1;
  }
  return `features[${parts.join(',')}]`;
}

// ---------------------------------------------------------------------------------------------
// Nearest centroids (standardised), with rows and features left out in closed form

class Centroids {
  readonly sums: Float64Array;
  readonly counts: Float64Array;
  readonly invScale: Float64Array;

  constructor(
    private readonly rows: readonly ScanRow[],
    private readonly index: readonly number[],
    private readonly labels: Int32Array,
    readonly K: number,
    readonly dim: number,
  ) {
    const D = dim;
    this.sums = new Float64Array(K * D);
    this.counts = new Float64Array(K);
    const mean = new Float64Array(D);
    const sq = new Float64Array(D);
    index.forEach((r, i) => {
      const f = rows[r]!.features!;
      const c = labels[i] ?? 0;
      this.counts[c]!++;
      const base = c * D;
      for (let j = 0; j < D; j++) {
        const x = f[j] ?? 0;
        this.sums[base + j]! += x;
        mean[j]! += x;
        sq[j]! += x * x;
      }
    });
    const n = Math.max(1, index.length);
    let meanVar = 0;
    const variance = new Float64Array(D);
    for (let j = 0; j < D; j++) {
      const m = (mean[j] ?? 0) / n;
      variance[j] = Math.max(0, (sq[j] ?? 0) / n - m * m);
      meanVar += variance[j]!;
    }
    meanVar /= Math.max(1, D);
    // Floor: a near-constant feature (a corner pixel) must not dominate the distance with noise.
    const floor = 0.01 * meanVar + 1e-12;
    this.invScale = new Float64Array(D);
    for (let j = 0; j < D; j++) this.invScale[j] = 1 / Math.sqrt((variance[j] ?? 0) + floor);
  }

  /** Standardised Euclidean distance between positions a and b, without the `dropped` features. */
  distance(a: number, b: number, dropped: ReadonlySet<number>): number {
    const fa = this.rows[this.index[a]!]!.features!;
    const fb = this.rows[this.index[b]!]!.features!;
    let d = 0;
    for (let j = 0; j < this.dim; j++) {
      if (dropped.has(j)) continue;
      const z = ((fa[j] ?? 0) - (fb[j] ?? 0)) * (this.invScale[j] ?? 1);
      d += z * z;
    }
    return Math.sqrt(d);
  }

  /**
   * Predicts `predict` (positions in index) with centroids from all rows but `leftOut` (positions
   * in index), on the features not in `dropped`.
   */
  predictWithout(
    leftOut: readonly number[],
    dropped: ReadonlySet<number>,
    predict: readonly number[],
  ): Int32Array {
    const { K, dim: D } = this;
    const sums = this.sums.slice();
    const counts = this.counts.slice();
    for (const i of leftOut) {
      const f = this.rows[this.index[i]!]!.features!;
      const c = this.labels[i] ?? 0;
      counts[c]!--;
      const base = c * D;
      for (let j = 0; j < D; j++) sums[base + j]! -= f[j] ?? 0;
    }
    const keepList: number[] = [];
    for (let j = 0; j < D; j++) if (!dropped.has(j)) keepList.push(j);
    const keep = Int32Array.from(keepList);
    const inv = this.invScale;
    const cent = new Float64Array(K * D);
    for (let c = 0; c < K; c++) {
      const n = counts[c] ?? 0;
      if (n > 0) for (let j = 0; j < D; j++) cent[c * D + j] = (sums[c * D + j] ?? 0) / n;
    }
    const out = new Int32Array(predict.length);
    predict.forEach((i, p) => {
      const f = this.rows[this.index[i]!]!.features!;
      let best = -1;
      let bd = Infinity;
      for (let c = 0; c < K; c++) {
        if ((counts[c] ?? 0) <= 0) continue;
        let d = 0;
        const base = c * D;
        for (let k = 0; k < keep.length; k++) {
          const j = keep[k]!;
          const z = ((f[j] ?? 0) - (cent[base + j] ?? 0)) * (inv[j] ?? 1);
          d += z * z;
        }
        if (d < bd) {
          bd = d;
          best = c;
        }
      }
      out[p] = best;
    });
    return out;
  }
}

/**
 * Cohesion of a patch's rows (see DEFAULT_MAX_COHESION). Partners: random rows, outside the
 * patch, of the class the model without the patch reads each sampled row as (for poisoned rows,
 * their source class); deterministic per patch.
 */
function cohesion(
  model: Centroids,
  patchRows: readonly number[],
  dropped: ReadonlySet<number>,
  byClass: readonly number[][],
  label: number,
  seed: number,
): number {
  const m = Math.min(COHESION_ROWS, patchRows.length);
  const pick: number[] = [];
  for (let i = 0; i < m; i++) pick.push(patchRows[Math.floor((i * patchRows.length) / m)]!);
  const pred = model.predictWithout(patchRows, dropped, pick);
  const inPatch = new Set(patchRows);
  let within = 0;
  let pairs = 0;
  for (let i = 0; i < m; i++) {
    for (let j = i + 1; j < m; j++) {
      within += model.distance(pick[i]!, pick[j]!, dropped);
      pairs++;
    }
  }
  let state = (seed * 0x9e3779b1) >>> 0 || 1;
  const rand = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  let between = 0;
  let pairsB = 0;
  for (let i = 0; i < m; i++) {
    const pool = byClass[pred[i] ?? -1] ?? byClass[label];
    if (!pool || pool.length === 0) continue;
    for (let t = 0, tries = 0; t < 3 && tries < 60; tries++) {
      const r = pool[Math.floor(rand() * pool.length)]!;
      if (inPatch.has(r)) continue;
      between += model.distance(pick[i]!, r, dropped);
      pairsB++;
      t++;
    }
  }
  if (pairs === 0 || pairsB === 0 || within <= 0) return 1;
  return between / pairsB / (within / pairs);
}

// ---------------------------------------------------------------------------------------------
// The scan

export interface FeaturePatchResult {
  triggers: Trigger[];
  /** Each trigger's rows (indices into the input, labelled with its target), aligned with `triggers`. */
  triggerRows: number[][];
  /** Per trigger row: the model without the patch reads it as its own label (natural, or clean-label poison). */
  contentAgrees: boolean[][];
  summary: Record<string, unknown>;
  skipped?: string;
}

interface Candidate {
  /** One feature, or a window of adjacent features that must all be "on". */
  features: number[];
  sign: 1 | -1;
  label: number;
  /** Positions (into the vector set) of rows "on", ascending. */
  rows: Int32Array;
  chi2: number;
}

/** Finds feature-patch triggers. Pure; `progress` gets the share of work done. */
export function findFeatureTriggers(
  rows: readonly ScanRow[],
  options: FeaturePatchOptions = {},
  progress?: Progress,
): FeaturePatchResult {
  const minSupport = options.minSupport ?? DEFAULT_MIN_SUPPORT;
  const minPurity = options.minPurity ?? DEFAULT_MIN_PURITY;
  const minLogOdds = options.minLogOdds ?? DEFAULT_MIN_LOG_ODDS;
  const minDisagreement = options.minDisagreement ?? DEFAULT_MIN_DISAGREEMENT;
  const significance = options.significance ?? DEFAULT_SIGNIFICANCE;
  const highLevel = options.highLevel ?? HIGH_LEVEL;
  const maxCohesion = options.maxCohesion ?? DEFAULT_MAX_COHESION;
  const directions = (options.low ?? DEFAULT_LOW) ? 2 : 1;
  const share = options.minSupportShare ?? DEFAULT_MIN_SUPPORT_SHARE;
  if (!(minPurity >= 0.5 && minPurity <= 1)) throw new RangeError('minPurity must be in [0.5, 1]');
  if (!(highLevel > 0 && highLevel < 1)) throw new RangeError('highLevel must be in (0, 1)');

  const vs = collectVectors(rows, true);
  const { dim: D, index } = vs;
  const summary: Record<string, unknown> = {
    rows: rows.length,
    dim: D,
    vectorRows: index.length,
    skippedBadLength: vs.badLength,
    skippedNonFinite: vs.nonFinite,
    unlabelledVectorRows: vs.unlabelled,
  };
  const skip = (why: string): FeaturePatchResult => ({
    triggers: [],
    triggerRows: [],
    contentAgrees: [],
    summary,
    skipped: why,
  });
  if (D === 0) return skip('no rows with feature vectors');
  if (index.length === 0) return skip('no labelled rows with a valid feature vector');
  const labelNames: string[] = [];
  const labelOf = new Map<string, number>();
  const labels = new Int32Array(index.length);
  index.forEach((r, i) => {
    const l = rows[r]!.label!;
    let c = labelOf.get(l);
    if (c === undefined) {
      c = labelNames.length;
      labelOf.set(l, c);
      labelNames.push(l);
    }
    labels[i] = c;
  });
  const K = labelNames.length;
  const N = index.length;
  summary.classes = K;
  if (K < 2) return skip('fewer than two labels among rows with feature vectors');
  if (N < MIN_ROWS)
    return skip(`fewer than ${MIN_ROWS} labelled rows with a valid feature vector (${N})`);
  const classCount = new Float64Array(K);
  for (let i = 0; i < N; i++) classCount[labels[i]!]!++;
  const floor = Math.max(minSupport, Math.ceil(share * N));
  summary.minSupport = floor;

  // Levels and "on" thresholds per feature and direction.
  const thresholds: Float64Array[] = [];
  for (const sign of [1, -1] as const) {
    const { lo, hi } = featureLevels(rows, index, D, sign);
    const t = new Float64Array(D);
    for (let j = 0; j < D; j++) {
      const range = (hi[j] ?? 0) - (lo[j] ?? 0);
      t[j] = range > 0 ? (lo[j] ?? 0) + highLevel * range : Infinity; // constant: never "on"
    }
    thresholds.push(t);
  }
  progress?.(0.3);

  // Units: single features, plus (on a square grid) every 2×2 and 3×3 window, whose rows are
  // those with all of its features "on": a patch stamped where the image is often bright is
  // impure pixel by pixel but pure as a block.
  const side = Math.round(Math.sqrt(D));
  const square = side * side === D && side > 2;
  const units: number[][] = [];
  for (let j = 0; j < D; j++) units.push([j]);
  if (square) {
    for (const w of [2, 3]) {
      for (let y = 0; y + w <= side; y++) {
        for (let x = 0; x + w <= side; x++) {
          const u: number[] = [];
          for (let dy = 0; dy < w; dy++)
            for (let dx = 0; dx < w; dx++) u.push((y + dy) * side + x + dx);
          units.push(u);
        }
      }
    }
  }
  const U = units.length;
  const bitsOn = new Uint8Array(2 * D);
  const rowBits = (i: number): void => {
    const f = rows[index[i]!]!.features!;
    const th = thresholds[0]!;
    const tl = thresholds[1]!;
    for (let j = 0; j < D; j++) {
      const x = f[j] ?? 0;
      bitsOn[j] = x >= (th[j] ?? Infinity) ? 1 : 0;
      bitsOn[D + j] = -x >= (tl[j] ?? Infinity) ? 1 : 0;
    }
  };
  const unitOn = (d: number, u: number[]): boolean => {
    const off = d * D;
    for (const j of u) if (bitsOn[off + j] === 0) return false;
    return true;
  };
  const on = new Int32Array(2 * U * K);
  for (let i = 0; i < N; i++) {
    rowBits(i);
    const c = labels[i] ?? 0;
    for (let d = 0; d < directions; d++) {
      for (let u = 0; u < U; u++) if (unitOn(d, units[u]!)) on[(d * U + u) * K + c]!++;
    }
  }
  const cands: Candidate[] = [];
  for (let d = 0; d < directions; d++) {
    for (let u = 0; u < U; u++) {
      const base = (d * U + u) * K;
      let s = 0;
      let best = 0;
      for (let c = 0; c < K; c++) {
        const n = on[base + c] ?? 0;
        s += n;
        if (n > (on[base + best] ?? 0)) best = c;
      }
      const a = on[base + best] ?? 0;
      if (s < floor || a < minPurity * s || wilsonLower(a, s) < MIN_PURITY_LOWER) continue;
      const nc = classCount[best] ?? 0;
      if (!(logOddsLift(a, s, nc, N) >= minLogOdds)) continue;
      cands.push({
        features: units[u]!,
        sign: d === 0 ? 1 : -1,
        label: best,
        rows: new Int32Array(s),
        chi2: chi2x2(a, s, nc, N),
      });
    }
  }
  summary.candidates = cands.length;
  cands.sort((x, y) => y.chi2 - x.chi2 || (x.features[0] ?? 0) - (y.features[0] ?? 0));
  if (cands.length > MAX_CANDIDATES) cands.length = MAX_CANDIDATES;
  if (cands.length > 0) {
    const fill = new Int32Array(cands.length);
    for (let i = 0; i < N; i++) {
      rowBits(i);
      cands.forEach((cd, ci) => {
        if (unitOn(cd.sign === 1 ? 0 : 1, cd.features)) cd.rows[fill[ci]!++] = i;
      });
    }
  }
  progress?.(0.5);

  // Merge overlapping candidates into patches (union-find).
  const parent = cands.map((_, i) => i);
  const root = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
    return i;
  };
  // Jaccard ≥ MERGE_JACCARD needs sizes within that ratio: compare neighbours in size order only.
  const bySize = cands
    .map((_, i) => i)
    .sort((x, y) => cands[x]!.rows.length - cands[y]!.rows.length);
  for (let p = 0; p < bySize.length; p++) {
    const a = cands[bySize[p]!]!;
    for (let q = p + 1; q < bySize.length; q++) {
      const b = cands[bySize[q]!]!;
      if (a.rows.length < MERGE_JACCARD * b.rows.length) break;
      if (a.label !== b.label || a.sign !== b.sign) continue;
      if (jaccardSorted(a.rows, b.rows) >= MERGE_JACCARD)
        parent[root(bySize[q]!)] = root(bySize[p]!);
    }
  }
  const groups = new Map<number, Candidate[]>();
  cands.forEach((cd, i) => {
    const g = root(i);
    const list = groups.get(g) ?? [];
    list.push(cd);
    groups.set(g, list);
  });

  // Confirm each patch by leaving it out.
  const model = new Centroids(rows, index, labels, K, D);
  const baseError = new Float64Array(K);
  for (let c = 0; c < K; c++) {
    const members: number[] = [];
    for (let i = 0; i < N; i++) if (labels[i] === c) members.push(i);
    const sample: number[] = [];
    const m = Math.min(BASELINE_ROWS, members.length);
    for (let i = 0; i < m; i++) sample.push(members[Math.floor((i * members.length) / m)]!);
    const pred = model.predictWithout([], new Set(), sample);
    let err = 0;
    for (let i = 0; i < sample.length; i++) if (pred[i] !== c) err++;
    baseError[c] = (err + 1) / (sample.length + 2);
  }
  summary.baselineError = Object.fromEntries(labelNames.map((l, c) => [l, baseError[c]]));
  summary.patchesTested = groups.size;
  const alpha = significance / Math.max(1, groups.size);
  const found: { trigger: Trigger; rows: number[]; agrees: boolean[] }[] = [];
  const byClass: number[][] = Array.from({ length: K }, () => []);
  for (let i = 0; i < N; i++) byClass[labels[i] ?? 0]!.push(i);
  let clusters = 0;
  let screenedOut = 0;
  for (const group of groups.values()) {
    const feats = [...new Set(group.flatMap((g) => g.features))].sort((x, y) => x - y);
    const need = Math.ceil(group.length / 2);
    const hitCount = new Map<number, number>();
    for (const g of group) for (const i of g.rows) hitCount.set(i, (hitCount.get(i) ?? 0) + 1);
    const patchRows = [...hitCount]
      .filter(([, k]) => k >= need)
      .map(([i]) => i)
      .sort((x, y) => x - y);
    const s = patchRows.length;
    if (s < floor) continue;
    const lc = new Float64Array(K);
    for (const i of patchRows) lc[labels[i] ?? 0]!++;
    let label = 0;
    for (let c = 1; c < K; c++) if ((lc[c] ?? 0) > (lc[label] ?? 0)) label = c;
    const a = lc[label] ?? 0;
    if (a < minPurity * s || wilsonLower(a, s) < MIN_PURITY_LOWER) continue;
    // Screen on a small sample first: a genuine class shape reads as its class.
    const screen: number[] = [];
    const ms = Math.min(SCREEN_ROWS, s);
    for (let i = 0; i < ms; i++) screen.push(patchRows[Math.floor((i * s) / ms)]!);
    // (The patch's rows stay in the centroids here: at a few % of a class they barely move them.)
    const sp = model.predictWithout([], new Set(feats), screen);
    let sdis = 0;
    for (let i = 0; i < screen.length; i++) if (sp[i] !== labels[screen[i]!]) sdis++;
    if (sdis === 0 || sdis < 0.5 * minDisagreement * screen.length) {
      screenedOut++;
      continue;
    }
    const evalRows: number[] = [];
    const m = Math.min(MAX_EVAL_ROWS, s);
    for (let i = 0; i < m; i++) evalRows.push(patchRows[Math.floor((i * s) / m)]!);
    const pred = model.predictWithout(patchRows, new Set(feats), evalRows);
    let dis = 0;
    for (let i = 0; i < evalRows.length; i++) if (pred[i] !== labels[evalRows[i]!]) dis++;
    const disagreement = dis / Math.max(1, evalRows.length);
    const pValue = binomialSf(dis, evalRows.length, baseError[label] ?? 0.5);
    if (disagreement < minDisagreement || pValue > alpha) continue;
    const coh = cohesion(
      model,
      patchRows,
      new Set(feats),
      byClass,
      label,
      (feats[0] ?? 0) * 31 + feats.length,
    );
    if (coh > maxCohesion) {
      clusters++;
      continue;
    }
    const nc = classCount[label] ?? 0;
    const sign = group[0]!.sign;
    const level = sign === 1 ? 'high' : 'low';
    const detail: Record<string, unknown> = {
      method: 'feature-patch',
      features: feats,
      direction: level,
      thresholds: feats.map((j) => sign * (thresholds[sign === 1 ? 0 : 1]![j] ?? 0)),
      support: s,
      purity: a / s,
      chi2: chi2x2(a, s, nc, N),
      disagreement,
      evaluated: evalRows.length,
      baselineError: baseError[label] ?? 0,
      pValue,
      cohesion: coh,
      poisonRate: a / N,
      n: feats.length,
    };
    let where = '';
    if (square) {
      const rs = feats.map((j) => Math.floor(j / side));
      const cs = feats.map((j) => j % side);
      const grid = {
        side,
        rows: [Math.min(...rs), Math.max(...rs)],
        cols: [Math.min(...cs), Math.max(...cs)],
      };
      detail.grid = grid;
      where = `, ${grid.rows[1]! - grid.rows[0]! + 1}×${grid.cols[1]! - grid.cols[0]! + 1} at row ${grid.rows[0]}, col ${grid.cols[0]} of ${side}×${side}`;
    }
    const targetRows = patchRows.filter((i) => labels[i] === label);
    const readAs = model.predictWithout(patchRows, new Set(feats), targetRows);
    const agrees = targetRows.map((_, k) => readAs[k] === label);
    detail.contentAgreesRows = agrees.filter(Boolean).length;
    found.push({
      trigger: {
        pattern: `${describeFeatures(feats)} ${level} (patch${where})`,
        label: labelNames[label] ?? '',
        rows: targetRows.map((i) => rows[index[i]!]!.id),
        score: clamp01(wilsonLower(dis, evalRows.length) * wilsonLower(a, s)),
        detail,
      },
      rows: targetRows.map((i) => index[i]!),
      agrees,
    });
  }
  found.sort(
    (x, y) =>
      y.trigger.score - x.trigger.score || x.trigger.pattern.localeCompare(y.trigger.pattern),
  );
  summary.clustersRejected = clusters;
  summary.screenedOut = screenedOut;
  summary.triggers = found.length;
  if (found.length === 0)
    summary.note =
      'no feature-patch trigger found (blended, warping and reflection triggers are not covered)';
  progress?.(1);
  return {
    triggers: found.map((f) => f.trigger),
    triggerRows: found.map((f) => f.rows),
    contentAgrees: found.map((f) => f.agrees),
    summary,
  };
}

export const featurePatchDetector: Detector<FeaturePatchOptions> = {
  id: FEATURE_PATCH_ID,
  meta: {
    kinds: ['trigger'],
    needs: ['labels', 'features'],
    description:
      'Patch backdoor triggers in feature vectors: features whose extreme value predicts one label far beyond its base rate, merged into patches and confirmed when a nearest-centroid model without them reads the rows as another class.',
  },
  run(rows: readonly ScanRow[], options: FeaturePatchOptions, progress?: Progress): DetectorResult {
    const res = findFeatureTriggers(rows, options ?? {}, progress);
    if (res.skipped !== undefined)
      return { issues: [], summary: res.summary, skipped: res.skipped };
    const best = new Map<number, { t: number; agrees: boolean }>();
    res.triggerRows.forEach((list, t) => {
      list.forEach((r, k) => {
        if (!best.has(r)) best.set(r, { t, agrees: res.contentAgrees[t]?.[k] ?? false });
      });
    });
    const issues: Issue[] = [];
    for (const [r, { t, agrees }] of best) {
      const tr = res.triggers[t]!;
      issues.push({
        kind: 'trigger',
        row: rows[r]!.id,
        score: clamp01(agrees ? tr.score * AGREEING_ROW_FACTOR : tr.score),
        detail: {
          method: 'feature-patch',
          pattern: tr.pattern,
          label: tr.label,
          contentAgrees: agrees,
        },
      });
    }
    issues.sort((x, y) => y.score - x.score || (x.row < y.row ? -1 : x.row > y.row ? 1 : 0));
    return { issues, triggers: res.triggers, summary: res.summary };
  },
};
