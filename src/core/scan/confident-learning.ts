/**
 * Confident learning (Northcutt, Jiang and Chuang, "Confident Learning: Estimating Uncertainty
 * in Dataset Labels", JAIR 2021), written from the paper and Cordon's field notes.
 *
 * Input: out-of-sample class probabilities P (n × K, row-major) and the given labels (-1 or any
 * value outside [0, K) = unlabelled, ignored everywhere).
 *
 * 1. Per-class thresholds t_j = mean P[i][j] over rows labelled j (mean self-confidence).
 * 2. Confident joint C[y][j]: a row labelled y counts for the class j with the largest P[i][j]
 *    among the classes with P[i][j] ≥ t_j (rows with no such class are not counted).
 * 3. Calibration: each row of C is rescaled to the number of rows labelled y, so C sums to n.
 *    The joint Q = C / n estimates P(given = y, true = j); the noise rate is 1 − trace(Q).
 * 4. Prune by noise rate (default): for each off-diagonal cell (y, j), the round(C[y][j]) rows
 *    labelled y with the largest margin P[j] − P[y] are flagged; then rows whose model argmax
 *    equals their given label are unflagged (the model agrees with the label). At least
 *    MIN_KEEP_PER_CLASS rows of each class are never flagged.
 *
 * Scores: self-confidence P[y], normalised margin P[y] − max_{k≠y} P[k]. The issue score is
 * 1 − self-confidence (default) or (1 − margin) / 2, both in [0, 1] with 1 = most suspicious.
 */

/** How rows are chosen once the confident joint is known. */
export type FilterBy =
  'prune_by_noise_rate' | 'prune_by_class' | 'both' | 'predicted_neq_given' | 'confident_joint';

export type RankBy = 'self_confidence' | 'normalized_margin';

export interface LabelIssueOptions {
  filterBy?: FilterBy;
  rankBy?: RankBy;
  /** Unflag rows whose model argmax equals the given label (prune modes only). */
  requirePredictionDisagrees?: boolean;
}

/** Prune by noise rate: cleanlab's default and the most precise of the paper's methods. */
export const DEFAULT_FILTER_BY: FilterBy = 'prune_by_noise_rate';
/** Score = 1 − P[given]: simple to explain and the paper's best-performing ranking on average. */
export const DEFAULT_RANK_BY: RankBy = 'self_confidence';
/** Never flag a class away entirely: a class must keep at least one row. */
export const MIN_KEEP_PER_CLASS = 1;
/** Thresholds are lowered by this much so a row exactly at a class mean counts (float noise). */
export const THRESHOLD_EPS = 1e-6;

export interface ConfidentJoint {
  K: number;
  /** Per-class thresholds t_j (NaN-free: a class with no labelled rows gets threshold 1). */
  thresholds: Float64Array;
  /** Raw confident joint counts, K × K row-major, rows = given label, columns = true class. */
  raw: Float64Array;
  /** Calibrated confident joint, K × K, each row sums to the class count, total = labelled n. */
  calibrated: Float64Array;
  /** Rows labelled with each class. */
  classCounts: Float64Array;
  /** Labelled rows (the total of calibrated). */
  n: number;
}

export interface NoiseEstimate {
  /** Q[y][j] ≈ P(given = y, true = j), K × K row-major, sums to 1. */
  joint: Float64Array;
  /** P(given = y | true = j), K × K row-major, columns sum to 1 (cleanlab's noise_matrix). */
  noiseMatrix: Float64Array;
  /** P(true = j | given = y), rows sum to 1. */
  inverseNoiseMatrix: Float64Array;
  /** Estimated share of labelled rows whose label is wrong: 1 − trace(joint). */
  noiseRate: number;
  /** Estimated share of wrong labels among the rows labelled y. */
  perClassNoiseRate: Float64Array;
}

export interface LabelIssues {
  /** 1 = flagged as a likely label error. */
  flagged: Uint8Array;
  /** Issue score in [0, 1], 1 = most suspicious (0 for unlabelled rows). */
  score: Float32Array;
  /** The model's most likely class (-1 for unlabelled rows). */
  suggested: Int32Array;
  /** P[given] (NaN for unlabelled rows). */
  selfConfidence: Float32Array;
  /** P[given] − max_{k≠given} P[k], in [-1, 1] (NaN for unlabelled rows). */
  margin: Float32Array;
  joint: ConfidentJoint;
  noise: NoiseEstimate;
  /** Flagged rows per given class. */
  flaggedPerClass: Int32Array;
}

function checkInput(P: Float32Array | Float64Array, labels: Int32Array, K: number): number {
  if (!Number.isInteger(K) || K < 2) throw new RangeError(`K must be an integer ≥ 2, got ${K}`);
  const n = labels.length;
  if (P.length !== n * K) throw new RangeError(`P has ${P.length} entries, expected ${n} × ${K}`);
  return n;
}

const isLabel = (y: number, K: number): boolean => y >= 0 && y < K;

/** Thresholds, raw and calibrated confident joint. One pass for the thresholds, one for C. */
export function confidentJoint(
  P: Float32Array | Float64Array,
  labels: Int32Array,
  K: number,
): ConfidentJoint {
  const n = checkInput(P, labels, K);
  const classCounts = new Float64Array(K);
  const sums = new Float64Array(K);
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    if (!isLabel(y, K)) continue;
    classCounts[y]!++;
    sums[y]! += P[i * K + y]!;
  }
  const thresholds = new Float64Array(K);
  for (let j = 0; j < K; j++) thresholds[j] = classCounts[j]! > 0 ? sums[j]! / classCounts[j]! : 1;
  const raw = new Float64Array(K * K);
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    if (!isLabel(y, K)) continue;
    let best = -1;
    let bestP = -Infinity;
    for (let j = 0; j < K; j++) {
      const pj = P[i * K + j]!;
      if (pj >= thresholds[j]! - THRESHOLD_EPS && pj > bestP) {
        best = j;
        bestP = pj;
      }
    }
    if (best >= 0) raw[y * K + best]!++;
  }
  const calibrated = new Float64Array(K * K);
  let total = 0;
  for (let y = 0; y < K; y++) {
    let rowSum = 0;
    for (let j = 0; j < K; j++) rowSum += raw[y * K + j]!;
    if (rowSum > 0) {
      for (let j = 0; j < K; j++)
        calibrated[y * K + j] = (raw[y * K + j]! / rowSum) * classCounts[y]!;
    } else {
      // No confident row labelled y: nothing is known against the labels, keep them.
      calibrated[y * K + y] = classCounts[y]!;
    }
    total += classCounts[y]!;
  }
  return { K, thresholds, raw, calibrated, classCounts, n: total };
}

/** Joint, noise matrices and noise rate from a (calibrated) confident joint. */
export function estimateNoise(cj: ConfidentJoint): NoiseEstimate {
  const { K, calibrated, n } = cj;
  const joint = new Float64Array(K * K);
  if (n > 0) for (let q = 0; q < K * K; q++) joint[q] = calibrated[q]! / n;
  const noiseMatrix = new Float64Array(K * K);
  const inverseNoiseMatrix = new Float64Array(K * K);
  const perClassNoiseRate = new Float64Array(K);
  let trace = 0;
  for (let j = 0; j < K; j++) {
    let col = 0;
    for (let y = 0; y < K; y++) col += joint[y * K + j]!;
    for (let y = 0; y < K; y++)
      noiseMatrix[y * K + j] = col > 0 ? joint[y * K + j]! / col : y === j ? 1 : 0;
  }
  for (let y = 0; y < K; y++) {
    let row = 0;
    for (let j = 0; j < K; j++) row += joint[y * K + j]!;
    for (let j = 0; j < K; j++)
      inverseNoiseMatrix[y * K + j] = row > 0 ? joint[y * K + j]! / row : y === j ? 1 : 0;
    perClassNoiseRate[y] = row > 0 ? 1 - joint[y * K + y]! / row : 0;
    trace += joint[y * K + y]!;
  }
  return {
    joint,
    noiseMatrix,
    inverseNoiseMatrix,
    noiseRate: n > 0 ? Math.max(0, 1 - trace) : 0,
    perClassNoiseRate,
  };
}

/** Indices (ascending) of the m largest keys among `rows` (ties broken by lower index). */
function topM(rows: Int32Array, key: Float32Array, m: number): Int32Array {
  if (m <= 0) return new Int32Array(0);
  if (m >= rows.length) return rows;
  const sorted = key.slice().sort();
  const cut = sorted[rows.length - m]!;
  let above = 0;
  for (let r = 0; r < rows.length; r++) if (key[r]! > cut) above++;
  let ties = m - above;
  const out = new Int32Array(m);
  let c = 0;
  for (let r = 0; r < rows.length; r++) {
    const v = key[r]!;
    if (v > cut || (v === cut && ties-- > 0)) out[c++] = rows[r]!;
  }
  return out;
}

/** Rounds a row of non-negative reals to integers with the same (rounded) total, largest remainders first. */
function roundPreservingTotal(xs: number[]): number[] {
  const total = Math.round(xs.reduce((a, b) => a + b, 0));
  const fl = xs.map(Math.floor);
  let left = total - fl.reduce((a, b) => a + b, 0);
  const order = xs
    .map((x, i) => ({ i, r: x - Math.floor(x) }))
    .sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    fl[i]!++;
    left--;
  }
  return fl;
}

/**
 * Finds likely label errors. Rows with a label outside [0, K) are ignored (never flagged,
 * score 0, suggested -1). Works for any K ≥ 2; linear in n per class pair.
 */
export function findLabelIssues(
  P: Float32Array | Float64Array,
  labels: Int32Array,
  K: number,
  options: LabelIssueOptions = {},
): LabelIssues {
  const n = checkInput(P, labels, K);
  const filterBy = options.filterBy ?? DEFAULT_FILTER_BY;
  const rankBy = options.rankBy ?? DEFAULT_RANK_BY;
  const cj = confidentJoint(P, labels, K);
  const noise = estimateNoise(cj);

  const suggested = new Int32Array(n).fill(-1);
  const selfConfidence = new Float32Array(n).fill(NaN);
  const margin = new Float32Array(n).fill(NaN);
  const score = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    if (!isLabel(y, K)) continue;
    let best = 0;
    let other = -Infinity;
    for (let k = 0; k < K; k++) {
      const pk = P[i * K + k]!;
      if (pk > P[i * K + best]!) best = k;
      if (k !== y && pk > other) other = pk;
    }
    const py = P[i * K + y]!;
    suggested[i] = best;
    selfConfidence[i] = py;
    margin[i] = py - other;
    const s = rankBy === 'normalized_margin' ? (1 - (py - other)) / 2 : 1 - py;
    score[i] = s > 0 ? (s < 1 ? s : 1) : 0;
  }

  // Row indices grouped by given class.
  const byClass: Int32Array[] = [];
  {
    const fill = new Int32Array(K);
    for (let k = 0; k < K; k++) byClass.push(new Int32Array(cj.classCounts[k]!));
    for (let i = 0; i < n; i++) {
      const y = labels[i]!;
      if (isLabel(y, K)) byClass[y]![fill[y]!++] = i;
    }
  }

  const flagged = new Uint8Array(n);
  const pruneNoise = (): Uint8Array => {
    const out = new Uint8Array(n);
    for (let y = 0; y < K; y++) {
      const rows = byClass[y]!;
      const counts = roundPreservingTotal(
        Array.from({ length: K }, (_, j) => cj.calibrated[y * K + j]!),
      );
      let budget = rows.length - MIN_KEEP_PER_CLASS;
      const key = new Float32Array(rows.length);
      for (let j = 0; j < K; j++) {
        if (j === y) continue;
        const m = Math.min(counts[j]!, Math.max(0, budget));
        if (m <= 0) continue;
        budget -= m;
        for (let r = 0; r < rows.length; r++) {
          const i = rows[r]!;
          key[r] = P[i * K + j]! - P[i * K + y]!;
        }
        for (const i of topM(rows, key, m)) out[i] = 1;
      }
    }
    return out;
  };
  const pruneClass = (): Uint8Array => {
    const out = new Uint8Array(n);
    for (let y = 0; y < K; y++) {
      const rows = byClass[y]!;
      let off = 0;
      for (let j = 0; j < K; j++) if (j !== y) off += cj.calibrated[y * K + j]!;
      const m = Math.min(Math.round(off), Math.max(0, rows.length - MIN_KEEP_PER_CLASS));
      const key = new Float32Array(rows.length);
      for (let r = 0; r < rows.length; r++) key[r] = -P[rows[r]! * K + y]!;
      for (const i of topM(rows, key, m)) out[i] = 1;
    }
    return out;
  };

  const prune =
    filterBy === 'prune_by_noise_rate' || filterBy === 'prune_by_class' || filterBy === 'both';
  if (filterBy === 'prune_by_noise_rate') flagged.set(pruneNoise());
  else if (filterBy === 'prune_by_class') flagged.set(pruneClass());
  else if (filterBy === 'both') {
    const a = pruneNoise();
    const b = pruneClass();
    for (let i = 0; i < n; i++) flagged[i] = a[i]! & b[i]!;
  } else if (filterBy === 'predicted_neq_given') {
    for (let i = 0; i < n; i++) {
      const y = labels[i]!;
      if (isLabel(y, K) && suggested[i] !== y) flagged[i] = 1;
    }
  } else {
    // confident_joint: rows counted off the diagonal of the raw confident joint.
    for (let i = 0; i < n; i++) {
      const y = labels[i]!;
      if (!isLabel(y, K)) continue;
      let best = -1;
      let bestP = -Infinity;
      for (let j = 0; j < K; j++) {
        const pj = P[i * K + j]!;
        if (pj >= cj.thresholds[j]! - THRESHOLD_EPS && pj > bestP) {
          best = j;
          bestP = pj;
        }
      }
      if (best >= 0 && best !== y) flagged[i] = 1;
    }
  }
  if (prune && (options.requirePredictionDisagrees ?? true)) {
    for (let i = 0; i < n; i++) if (flagged[i] === 1 && suggested[i] === labels[i]) flagged[i] = 0;
  }
  const flaggedPerClass = new Int32Array(K);
  for (let i = 0; i < n; i++) if (flagged[i] === 1) flaggedPerClass[labels[i]!]!++;
  return { flagged, score, suggested, selfConfidence, margin, joint: cj, noise, flaggedPerClass };
}
