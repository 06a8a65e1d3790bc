/**
 * Detector `label/confident-learning`: likely label errors.
 *
 * Pipeline: hashed text n-grams and/or standardised feature vectors (hashed-features.ts) →
 * stratified out-of-fold softmax probabilities (linear-model.ts) → confident learning, pruned by
 * noise rate (confident-learning.ts). Issue score = 1 − self-confidence (the out-of-fold
 * probability of the given label), so the review queue runs from "the model is sure this label
 * is wrong" down.
 *
 * What it does not see: backdoor rows. Their trigger is learned from the other folds, so they
 * look confidently correct (field notes: 0/120 backdoor rows, 80/80 random flips). "No label
 * issues" never means "no poisoning"; the trigger scan is a separate, required check.
 *
 * Exclusions (reported in the summary, never silent): rows without a label, rows with no usable
 * input (no tokens, no valid vector), and classes with fewer than MIN_ROWS_PER_CLASS rows (a
 * class needs rows in two folds: one to learn from, one to be judged). Folds are reduced to the
 * smallest remaining class size when that is below DEFAULT_FOLDS (never below 2).
 */
import {
  DEFAULT_FILTER_BY,
  DEFAULT_RANK_BY,
  findLabelIssues,
  type FilterBy,
  type RankBy,
} from './confident-learning.js';
import {
  DEFAULT_HASH_BITS,
  featurize,
  type Featurized,
  type FeaturizeOptions,
} from './hashed-features.js';
import {
  autoEpochs,
  DEFAULT_FOLDS,
  DEFAULT_SEED,
  foldProba,
  outOfFoldProba,
  stratifiedFolds,
  type TrainOptions,
} from './linear-model.js';
import type { Detector, DetectorResult, Issue, Progress, ScanRow } from './types.js';

export interface LabelIssueDetectorOptions {
  /** Folds for out-of-fold probabilities (reduced for tiny classes, never below 2). */
  folds?: number;
  seed?: number;
  featurize?: FeaturizeOptions;
  train?: Omit<TrainOptions, 'rows' | 'seed'>;
  filterBy?: FilterBy;
  rankBy?: RankBy;
}

/** A class needs one row to learn from and one to judge: below this its rows are not assessed. */
export const MIN_ROWS_PER_CLASS = 2;
/** Below ten labelled rows a fitted model says nothing about any one label. */
export const MIN_LABELLED_ROWS = 10;
/** More distinct labels than this is an id-like column, not classes (and K weights per bucket would not fit). */
export const MAX_CLASSES = 1000;
/** Weight budget (floats) for the model: the hash width shrinks for many classes to stay within ~256 MB. */
export const MAX_MODEL_WEIGHTS = 1 << 25;
/** The noise matrix is put in the summary only up to this many classes (K² numbers). */
export const MAX_MATRIX_CLASSES = 20;

const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;

function skipped(reason: string, summary: Record<string, unknown>): DetectorResult {
  return { issues: [], summary, skipped: reason };
}

/**
 * Everything the detector knows once the rows are featurised and the classes settled: what the
 * folds need to train (`labelFoldProba`) and what the findings need (`finishLabelIssues`).
 */
export interface LabelSetup {
  feats: Featurized;
  /** Class per row (−1: not assessed). */
  y: Int32Array;
  K: number;
  names: string[];
  folds: number;
  foldOf: Uint8Array;
  seed: number;
  trainOptions: Omit<TrainOptions, 'rows' | 'seed'>;
  filterBy: FilterBy;
  rankBy: RankBy;
  used: number;
  hashBits: number;
  base: Record<string, unknown>;
}

/** What `finishLabelIssues` needs: the setup without the feature matrix. */
export type LabelFinish = Omit<LabelSetup, 'feats' | 'foldOf'>;

/**
 * The first part of the detector: labels to classes, features, exclusions, folds. Returns the
 * detector's result instead when it cannot run (a skip reason).
 */
export function setupLabelIssues(
  rows: readonly ScanRow[],
  options: LabelIssueDetectorOptions = {},
  progress?: Progress,
): { skipped: DetectorResult } | { setup: LabelSetup } {
  const n = rows.length;
  const seed = options.seed ?? DEFAULT_SEED;
  const filterBy = options.filterBy ?? DEFAULT_FILTER_BY;
  const rankBy = options.rankBy ?? DEFAULT_RANK_BY;
  const base: Record<string, unknown> = { rows: n, filterBy, rankBy };
  if (n === 0) return { skipped: skipped('no rows', base) };

  // Labels → class ids in sorted label order (stable across runs).
  const counts = new Map<string, number>();
  let unlabelled = 0;
  for (const r of rows) {
    if (r.label === null || r.label === undefined) unlabelled++;
    else counts.set(r.label, (counts.get(r.label) ?? 0) + 1);
  }
  base.unlabelledRows = unlabelled;
  if (counts.size === 0) return { skipped: skipped('no labels: every row has label null', base) };
  if (counts.size === 1)
    return {
      skipped: skipped(
        `one class only ("${[...counts.keys()][0]!}"): nothing to confuse it with`,
        base,
      ),
    };
  if (counts.size > MAX_CLASSES) {
    return {
      skipped: skipped(
        `${counts.size} distinct labels (more than ${MAX_CLASSES}): looks like an id, not classes`,
        base,
      ),
    };
  }

  // Shrink the hash width when many classes would blow the weight budget.
  let hashBits = options.featurize?.hashBits ?? DEFAULT_HASH_BITS;
  while (hashBits > 12 && (1 << hashBits) * (counts.size + 1) > MAX_MODEL_WEIGHTS) hashBits--;
  const feats = featurize(rows, { ...options.featurize, hashBits });
  progress?.(0.1);
  const { stats } = feats;
  base.input = {
    textDim: feats.textDim,
    featureColumns: feats.featureColumns,
    textRows: stats.textRows,
    featureRows: stats.featureRows,
    badFeatureRows: stats.badFeatureRows,
    featureLength: stats.featureLength,
    droppedConstantColumns: stats.droppedConstantColumns,
    dim: feats.dim,
    rowsWithoutInput: feats.skipped.length,
  };
  if (feats.dim === 0) return { skipped: skipped('no text and no usable feature vectors', base) };
  if (feats.skipped.length === n) {
    return {
      skipped: skipped(
        'no row has usable input (every text is blank and no vector is valid)',
        base,
      ),
    };
  }

  // Usable labelled rows per label (rows with no input are excluded).
  const noInput = new Uint8Array(n);
  for (const i of feats.skipped) noInput[i] = 1;
  const usable = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const l = rows[i]!.label;
    if (l !== null && l !== undefined && noInput[i] === 0) usable.set(l, (usable.get(l) ?? 0) + 1);
  }
  const names = [...usable.keys()].filter((l) => usable.get(l)! >= MIN_ROWS_PER_CLASS).sort();
  const excluded = [...counts.keys()]
    .filter((l) => (usable.get(l) ?? 0) < MIN_ROWS_PER_CLASS)
    .sort()
    .map((label) => ({ label, rows: counts.get(label)! }));
  base.excludedClasses = excluded;
  if (names.length < 2) {
    return {
      skipped: skipped(
        `fewer than 2 classes with at least ${MIN_ROWS_PER_CLASS} usable rows (classes: ${counts.size}, excluded: ${excluded.length})`,
        base,
      ),
    };
  }
  const K = names.length;
  const index = new Map(names.map((l, k) => [l, k]));
  const y = new Int32Array(n).fill(-1);
  let used = 0;
  let smallest = Infinity;
  for (let i = 0; i < n; i++) {
    const l = rows[i]!.label;
    if (l === null || l === undefined || noInput[i] === 1) continue;
    const k = index.get(l);
    if (k === undefined) continue;
    y[i] = k;
    used++;
  }
  for (const l of names) smallest = Math.min(smallest, usable.get(l)!);
  base.labelledRowsUsed = used;
  if (used < MIN_LABELLED_ROWS)
    return {
      skipped: skipped(`only ${used} usable labelled rows (need ${MIN_LABELLED_ROWS})`, base),
    };

  const folds = Math.max(2, Math.min(options.folds ?? DEFAULT_FOLDS, smallest));
  return {
    setup: {
      feats,
      y,
      K,
      names,
      folds,
      foldOf: stratifiedFolds(y, K, folds, seed),
      seed,
      trainOptions: options.train ?? {},
      filterBy,
      rankBy,
      used,
      hashBits,
      base,
    },
  };
}

/** The out-of-fold probabilities of one fold (its rows ascending, rows × K). */
export function labelFoldProba(
  setup: LabelSetup,
  fold: number,
): { rows: Int32Array; P: Float32Array } {
  return foldProba(
    setup.feats.X,
    setup.y,
    setup.K,
    setup.foldOf,
    fold,
    setup.seed,
    setup.trainOptions,
  );
}

/** The last part: confident learning on the out-of-fold probabilities, issues and summary. */
export function finishLabelIssues(
  rows: readonly ScanRow[],
  setup: LabelFinish,
  P: Float32Array,
  progress?: Progress,
): DetectorResult {
  const { y, K, names, folds, trainOptions, filterBy, rankBy, used, hashBits, base } = setup;
  const n = rows.length;
  const result = findLabelIssues(P, y, K, { filterBy, rankBy });
  progress?.(1);

  let correct = 0;
  for (let i = 0; i < n; i++) if (y[i]! >= 0 && result.suggested[i] === y[i]) correct++;

  const issues: Issue[] = [];
  for (let i = 0; i < n; i++) {
    if (result.flagged[i] !== 1) continue;
    issues.push({
      kind: 'label',
      row: rows[i]!.id,
      score: result.score[i]!,
      detail: {
        givenLabel: names[y[i]!]!,
        suggestedLabel: names[result.suggested[i]!]!,
        selfConfidence: round4(result.selfConfidence[i]!),
        margin: round4(result.margin[i]!),
      },
    });
  }
  issues.sort((a, b) => b.score - a.score || (a.row < b.row ? -1 : a.row > b.row ? 1 : 0));

  const perClass = (
    xs: ArrayLike<number>,
    f: (x: number) => number = (x) => x,
  ): Record<string, number> => Object.fromEntries(names.map((l, k) => [l, f(xs[k]!)]));
  const matrix = (m: Float64Array): Record<string, Record<string, number>> =>
    Object.fromEntries(
      names.map((g, a) => [g, Object.fromEntries(names.map((t, b) => [t, round4(m[a * K + b]!)]))]),
    );
  const summary: Record<string, unknown> = {
    ...base,
    classes: K,
    labels: names,
    folds,
    epochs: trainOptions.epochs ?? autoEpochs(Math.round((used * (folds - 1)) / folds)),
    hashBits,
    flagged: issues.length,
    flaggedPerClass: perClass(result.flaggedPerClass),
    estimatedNoiseRate: round4(result.noise.noiseRate),
    perClassNoiseRate: perClass(result.noise.perClassNoiseRate, round4),
    outOfFoldAccuracy: round4(used > 0 ? correct / used : 0),
    thresholds: perClass(result.joint.thresholds, round4),
    note: 'label noise only: backdoor rows look confidently correct to this check (see the trigger scan)',
  };
  if (K <= MAX_MATRIX_CLASSES) {
    // noiseMatrix[given][true] = P(given | true); jointCounts[given][true] = calibrated counts.
    summary.noiseMatrix = matrix(result.noise.noiseMatrix);
    summary.jointCounts = matrix(result.joint.calibrated);
  }
  return { issues, summary };
}

/** Runs the detector. Pure: rows and options in, findings out. */
export function detectLabelIssues(
  rows: readonly ScanRow[],
  options: LabelIssueDetectorOptions = {},
  progress?: Progress,
): DetectorResult {
  const prepared = setupLabelIssues(rows, options, progress);
  if ('skipped' in prepared) return prepared.skipped;
  const setup = prepared.setup;
  const P = outOfFoldProba(
    setup.feats.X,
    setup.y,
    setup.K,
    setup.folds,
    setup.seed,
    setup.trainOptions,
    (f) => progress?.(0.1 + 0.85 * f),
  );
  return finishLabelIssues(rows, setup, P, progress);
}

export const labelConfidentLearning: Detector<LabelIssueDetectorOptions> = {
  id: 'label/confident-learning',
  meta: {
    kinds: ['label'],
    needs: ['labels', 'text', 'features'],
    description:
      'Likely label errors by confident learning on out-of-fold probabilities of a hashed n-gram / feature softmax model; a ranked review queue, blind to backdoor triggers.',
  },
  run(rows, options = {}, progress) {
    return detectLabelIssues(rows, options, progress);
  },
};
