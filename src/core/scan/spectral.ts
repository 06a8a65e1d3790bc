/**
 * Detector `trigger/spectral`: spectral signatures (Tran, Li & Madry, NeurIPS 2018; field notes §6)
 * on row-supplied feature vectors, per class.
 *
 * 1. Centre the class's vectors; find the top right singular vector v of the centred matrix by
 *    power iteration (v ← Xᵀ(Xv)/‖·‖, two streaming passes per step, no d×d matrix).
 * 2. Score each row |⟨v, x − μ⟩|. Poisoned rows that share a feature shift dominate the top
 *    direction and score high.
 * 3. Separation check (not in the paper): a kernel density of the signed projections must show a
 *    secondary mode behind a valley (secondaryModes). A Gaussian or heavy-tailed unimodal class
 *    has none; a cluster of shifted rows is one. Without it the class is reported as "no
 *    separation found" — never "clean": the method was designed for activations of a model
 *    trained on the poisoned data and may see nothing in generic embeddings. (A two-component
 *    Gaussian mixture with Ashman's D was tried first: it fits a spurious tail component to plain
 *    Gaussian classes, D 2.5–4.)
 * 4. Flags, in classes with separation, rows above the 1 − 1.5·ε quantile of the scores (ε =
 *    expected poison rate, default 0.05, not ART's 0.33 which strips half of each class, ART
 *    #1188) and every row beyond a secondary mode's valley. Issue score: 0.5 at the valley rising
 *    to 1 at the mode's peak and beyond; rows only above the quantile score ≤ UNSEPARATED_MAX_SCORE.
 *    With `flagUnseparated`, classes without separation are flagged too (quantile only, low
 *    scores).
 *
 * Vectors with NaN/±Infinity or another length than the most common one are skipped and counted;
 * unlabelled rows are ignored; classes with fewer than MIN_CLASS_ROWS rows are listed, not scored.
 */
import { mulberry32 } from './random.js';
import type { Detector, DetectorResult, Issue, Progress, ScanRow } from './types.js';
import { clamp01 } from './types.js';
import { collectVectors } from './vector-triggers.js';

export const SPECTRAL_ID = 'trigger/spectral';

/** ε = 0.05: flags the top 7.5 % of a class; ART's 0.33 rejects half of every class (#1188, #593). */
export const DEFAULT_EPSILON = 0.05;
/** A secondary mode must hold at least 3 rows. */
export const MIN_MINOR_ROWS = 3;
/** Classes with fewer rows are not scored: a top direction of a handful of points is noise. */
export const MIN_CLASS_ROWS = 20;
/** Power-iteration steps at most; convergence (1 − |cos| < 1e-10) is usually reached far sooner. */
export const MAX_POWER_STEPS = 100;
/** Density bins of the projection histogram (Gaussian-smoothed): resolves clusters ≥ 1/100 of the range apart. */
export const KDE_BINS = 512;
/** A secondary mode counts when the valley towards the main mode falls to half its peak or lower. */
export const MAX_VALLEY_RATIO = 0.5;
/** Peak minus valley must exceed 3 Poisson standard deviations of the kernel-weighted counts: sparse tails make bumps too. */
export const MODE_Z = 3;
/** A secondary mode must hold at least 0.5 % of its class (and MIN_MINOR_ROWS rows). */
export const MIN_MODE_MASS = 0.005;
/** Highest issue score in classes without separation (only with `flagUnseparated`). */
export const UNSEPARATED_MAX_SCORE = 0.3;
/** Seed of the power iteration's start vector (per class: seed + class index). */
export const SPECTRAL_SEED = 0x5eed;

export interface SpectralOptions {
  epsilon?: number;
  /** Also flag the top 1.5·ε of classes without separation (low scores). */
  flagUnseparated?: boolean;
}

/** Top right singular vector of the centred rows (row-major `x`, n × d), and its eigenvalue (variance along it). */
export function topDirection(
  x: Float64Array,
  n: number,
  d: number,
  mean: Float64Array,
  seed: number,
): { v: Float64Array; eigenvalue: number; steps: number } {
  const rand = mulberry32(seed);
  let v = new Float64Array(d);
  for (let j = 0; j < d; j++) v[j] = rand() - 0.5;
  normalize(v);
  let eigen = 0;
  let steps = 0;
  const w = new Float64Array(d);
  for (; steps < MAX_POWER_STEPS; steps++) {
    w.fill(0);
    for (let i = 0; i < n; i++) {
      const base = i * d;
      let p = 0;
      for (let j = 0; j < d; j++) p += ((x[base + j] ?? 0) - (mean[j] ?? 0)) * (v[j] ?? 0);
      for (let j = 0; j < d; j++) w[j]! += p * ((x[base + j] ?? 0) - (mean[j] ?? 0));
    }
    const norm = normalize(w);
    eigen = norm / Math.max(1, n);
    if (norm === 0) break;
    let dot = 0;
    for (let j = 0; j < d; j++) dot += (w[j] ?? 0) * (v[j] ?? 0);
    const next = w.slice();
    v = next;
    if (1 - Math.abs(dot) < 1e-10) {
      steps++;
      break;
    }
  }
  return { v, eigenvalue: eigen, steps };
}

function normalize(v: Float64Array): number {
  let s = 0;
  for (let j = 0; j < v.length; j++) s += (v[j] ?? 0) ** 2;
  const norm = Math.sqrt(s);
  if (norm > 0) for (let j = 0; j < v.length; j++) v[j]! /= norm;
  return norm;
}

/** A secondary mode of the projections, separated from the main mode by a density valley. */
export interface SecondaryMode {
  /** Projection value at the bottom of the valley between it and the main mode. */
  cut: number;
  /** Which side of the cut it lies on (+1: above, -1: below). */
  side: 1 | -1;
  /** Projection value at its peak. */
  peak: number;
  /** Share of the rows in its basin (from the valley to the next density minimum beyond it). */
  mass: number;
  /** Valley density ÷ its peak density (0 = empty gap). */
  valleyRatio: number;
}

/**
 * Binned Gaussian kernel density of `values` (KDE_BINS bins, Silverman's bandwidth from the
 * robust spread min(sd, IQR/1.34)), and its secondary modes: local maxima other than the highest
 * whose valley towards the main mode falls to at most MAX_VALLEY_RATIO of their peak and whose
 * basin holds at least minMass of the rows (a sparse heavy tail spreads over many tiny basins)
 * and whose dip exceeds counting noise (MODE_Z). Gaussian and heavy-tailed unimodal
 * samples have none; a cluster of shifted rows is one.
 */
export function secondaryModes(values: Float64Array, minMass: number): SecondaryMode[] {
  const n = values.length;
  if (n < 3) return [];
  const sorted = Float64Array.from(values).sort();
  const lo = sorted[0]!;
  const hi = sorted[n - 1]!;
  if (!(hi > lo)) return [];
  let mean = 0;
  for (const x of values) mean += x;
  mean /= n;
  let variance = 0;
  for (const x of values) variance += (x - mean) ** 2;
  const sd = Math.sqrt(variance / n);
  const iqr = (sorted[Math.floor(0.75 * (n - 1))]! - sorted[Math.floor(0.25 * (n - 1))]!) / 1.34;
  const spread = iqr > 0 ? Math.min(sd, iqr) : sd;
  const h = 1.06 * spread * n ** -0.2;
  const B = KDE_BINS;
  const width = (hi - lo) / (B - 1);
  const hist = new Float64Array(B);
  for (const x of values) hist[Math.min(B - 1, Math.max(0, Math.round((x - lo) / width)))]!++;
  const kw = h / width;
  const reach = Math.min(B, Math.ceil(4 * kw));
  const kernel = new Float64Array(reach + 1);
  for (let k = 0; k <= reach; k++)
    kernel[k] = kw > 0 ? Math.exp(-0.5 * (k / kw) ** 2) : k === 0 ? 1 : 0;
  const dens = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    const c = hist[b] ?? 0;
    if (c === 0) continue;
    for (let k = -reach; k <= reach; k++) {
      const t = b + k;
      if (t >= 0 && t < B) dens[t]! += c * (kernel[Math.abs(k)] ?? 0);
    }
  }
  let main = 0;
  for (let b = 1; b < B; b++) if ((dens[b] ?? 0) > (dens[main] ?? 0)) main = b;
  const cum = new Float64Array(B + 1);
  for (let b = 0; b < B; b++) cum[b + 1] = (cum[b] ?? 0) + (hist[b] ?? 0);
  const modes: SecondaryMode[] = [];
  for (const dir of [1, -1] as const) {
    // Walk away from the main mode; track the lowest valley so far and each later peak.
    let valley = main;
    for (let b = main + dir; b >= 0 && b < B; b += dir) {
      const d = dens[b] ?? 0;
      if (d < (dens[valley] ?? 0)) valley = b;
      const next = dens[b + dir] ?? -1;
      const prev = dens[b - dir] ?? -1;
      const isPeak = d > 0 && d >= prev && d > next;
      if (!isPeak || valley === main) continue;
      const ratio = (dens[valley] ?? 0) / d;
      // The mode's basin: from the valley to the next local minimum beyond the peak.
      let end = b;
      while (end + dir >= 0 && end + dir < B && (dens[end + dir] ?? 0) <= (dens[end] ?? 0))
        end += dir;
      const a0 = Math.min(valley, end);
      const a1 = Math.max(valley, end);
      const mass = ((cum[a1 + 1] ?? 0) - (cum[a0] ?? 0)) / n;
      // The dip must exceed counting noise: smoothed densities are kernel-weighted point counts.
      const dv = dens[valley] ?? 0;
      const real = d - dv >= MODE_Z * Math.sqrt(d + dv);
      if (ratio <= MAX_VALLEY_RATIO && mass >= minMass && real) {
        modes.push({
          cut: lo + valley * width,
          side: dir,
          peak: lo + b * width,
          mass,
          valleyRatio: ratio,
        });
        break; // the nearest qualifying mode on this side; rows beyond its valley are flagged
      }
    }
  }
  return modes;
}

/** The value at quantile q (0..1) of `values` (nearest rank on a sorted copy). */
function quantile(values: Float64Array, q: number): number {
  const s = Float64Array.from(values).sort();
  if (s.length === 0) return Infinity;
  const k = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[k] ?? Infinity;
}

export interface SpectralClassSummary {
  label: string;
  rows: number;
  eigenvalue: number;
  /** Share of the class's total variance along the top direction. */
  varianceShare: number;
  /** Secondary modes of the signed projections (empty: no separation). */
  modes: { cut: number; peak: number; mass: number; valleyRatio: number }[];
  separation: 'found' | 'no separation found';
  threshold: number;
  flagged: number;
}

/** Spectral-signature scan. Pure; `progress` gets the share of classes done. */
export function spectralScan(
  rows: readonly ScanRow[],
  options: SpectralOptions = {},
  progress?: Progress,
): DetectorResult {
  const epsilon = options.epsilon ?? DEFAULT_EPSILON;
  if (!(epsilon > 0 && epsilon < 2 / 3)) throw new RangeError('epsilon must be in (0, 2/3)');
  const vs = collectVectors(rows, true);
  const summary: Record<string, unknown> = {
    method: 'spectral',
    epsilon,
    rows: rows.length,
    dim: vs.dim,
    vectorRows: vs.index.length,
    skippedBadLength: vs.badLength,
    skippedNonFinite: vs.nonFinite,
    unlabelledVectorRows: vs.unlabelled,
  };
  const skip = (why: string): DetectorResult => ({ issues: [], summary, skipped: why });
  if (vs.dim === 0) return skip('no rows with feature vectors');
  if (vs.index.length === 0) return skip('no labelled rows with a valid feature vector');
  const byClass = new Map<string, number[]>();
  for (const r of vs.index) {
    const l = rows[r]!.label!;
    const list = byClass.get(l) ?? [];
    list.push(r);
    byClass.set(l, list);
  }
  const labelsSorted = [...byClass.keys()].sort();
  const tooSmall = labelsSorted.filter((l) => (byClass.get(l)?.length ?? 0) < MIN_CLASS_ROWS);
  summary.classesTooSmall = tooSmall;
  const scored = labelsSorted.filter((l) => !tooSmall.includes(l));
  if (scored.length === 0)
    return skip(`no class has ${MIN_CLASS_ROWS} or more rows with a valid feature vector`);

  const D = vs.dim;
  const issues: Issue[] = [];
  const classes: SpectralClassSummary[] = [];
  scored.forEach((label, ci) => {
    const members = byClass.get(label)!;
    const n = members.length;
    const x = new Float64Array(n * D);
    const mean = new Float64Array(D);
    members.forEach((r, i) => {
      const f = rows[r]!.features!;
      for (let j = 0; j < D; j++) {
        const v = f[j] ?? 0;
        x[i * D + j] = v;
        mean[j]! += v;
      }
    });
    for (let j = 0; j < D; j++) mean[j]! /= n;
    let total = 0;
    for (let i = 0; i < n * D; i++) total += ((x[i] ?? 0) - (mean[i % D] ?? 0)) ** 2;
    total /= n;
    const { v, eigenvalue } = topDirection(x, n, D, mean, SPECTRAL_SEED + ci);
    const proj = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let p = 0;
      for (let j = 0; j < D; j++) p += ((x[i * D + j] ?? 0) - (mean[j] ?? 0)) * (v[j] ?? 0);
      proj[i] = p;
    }
    const score = proj.map(Math.abs);
    const threshold = quantile(score, 1 - 1.5 * epsilon);
    const modes = secondaryModes(proj, Math.max(MIN_MODE_MASS, MIN_MINOR_ROWS / n));
    const separated = eigenvalue > 0 && modes.length > 0;
    // Position of a row beyond a secondary mode's valley, 0 at the valley to 1 at the mode's peak.
    const beyond = (p: number): number => {
      let best = -1;
      for (const m of modes) {
        const t = ((p - m.cut) * m.side) / Math.max(1e-12, (m.peak - m.cut) * m.side);
        if (t > 0) best = Math.max(best, t);
      }
      return best;
    };
    let flagged = 0;
    if (separated || options.flagUnseparated) {
      const above = [...score.keys()].filter((i) => (score[i] ?? 0) > threshold);
      above.sort((a, b) => (score[a] ?? 0) - (score[b] ?? 0));
      const rank = new Map<number, number>();
      above.forEach((i, k) => rank.set(i, (k + 1) / above.length));
      for (let i = 0; i < n; i++) {
        const t = separated ? beyond(proj[i] ?? 0) : -1;
        const high = (score[i] ?? 0) > threshold;
        if (!high && t <= 0) continue;
        flagged++;
        issues.push({
          kind: 'trigger',
          row: rows[members[i]!]!.id,
          score: clamp01(
            t > 0 ? 0.5 + 0.5 * Math.min(1, t) : UNSEPARATED_MAX_SCORE * (rank.get(i) ?? 0),
          ),
          detail: {
            method: 'spectral',
            class: label,
            score: score[i] ?? 0,
            separation: separated ? 'found' : 'no separation found',
            beyondValley: t > 0,
          },
        });
      }
    }
    classes.push({
      label,
      rows: n,
      eigenvalue,
      varianceShare: total > 0 ? eigenvalue / total : 0,
      modes: modes.map((m) => ({
        cut: m.cut,
        peak: m.peak,
        mass: m.mass,
        valleyRatio: m.valleyRatio,
      })),
      separation: separated ? 'found' : 'no separation found',
      threshold,
      flagged,
    });
    progress?.((ci + 1) / scored.length);
  });
  issues.sort((a, b) => b.score - a.score || (a.row < b.row ? -1 : a.row > b.row ? 1 : 0));
  summary.classes = classes;
  const found = classes.filter((c) => c.separation === 'found').map((c) => c.label);
  summary.separationFound = found;
  summary.note =
    found.length === 0
      ? 'no separation found (this is not evidence of clean data: spectral signatures need features in which the poison stands out)'
      : `separation found in ${found.length} of ${classes.length} classes`;
  return { issues, summary };
}

export const spectralDetector: Detector<SpectralOptions> = {
  id: SPECTRAL_ID,
  meta: {
    kinds: ['trigger'],
    needs: ['labels', 'features'],
    description:
      'Spectral signatures (Tran et al. 2018): per class, rows far out along the top singular direction of the centred feature vectors, reported where that direction separates a minority cluster.',
  },
  run(rows: readonly ScanRow[], options: SpectralOptions, progress?: Progress): DetectorResult {
    return spectralScan(rows, options ?? {}, progress);
  },
};
