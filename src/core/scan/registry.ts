import { classBalanceDetector } from './class-balance.js';
import { exactDuplicates } from './exact-duplicates.js';
import { labelConfidentLearning } from './label-issues.js';
import { minhashNearDuplicates } from './minhash-lsh.js';
import { piiDetector } from './pii.js';
import { secretsDetector } from './secrets.js';
import { attributeSources } from './source-attribution.js';
import { spectralDetector } from './spectral.js';
import { tokenStatDetector } from './text-triggers.js';
import type { Detector, Issue, ScanRow, SourceRisk } from './types.js';
import {
  buildNeighborContext,
  knnLabelDetector,
  knnOutlierDetector,
  vectorNearDuplicates,
  type NeighborContext,
} from './vector-neighbors.js';
import { featurePatchDetector } from './vector-triggers.js';

export interface PlanOptions {
  /** Baseline class counts for drift (label → rows). */
  baseline?: Record<string, number>;
  /** Run only these detector ids. */
  only?: readonly string[];
  /**
   * Also run spectral signatures. Off by default: the method was designed for a trained model's
   * activations, and on raw inputs (pixels, hashed text) it flags natural sub-styles of a class
   * (on clean MNIST it flagged 5 % of rows). Turn it on for embeddings or activations.
   */
  spectral?: boolean;
}

export interface Plan {
  detectors: { detector: Detector; options: unknown }[];
  attribute: (rows: readonly ScanRow[], issues: Issue[]) => SourceRisk[];
}

/** Wraps the three neighbour detectors so they share one kNN graph per row list. */
function withSharedNeighbors(detectors: Detector[]): Detector[] {
  let cache: { rows: readonly ScanRow[]; context: NeighborContext } | undefined;
  const contextFor = (rows: readonly ScanRow[]): NeighborContext => {
    if (cache?.rows !== rows) cache = { rows, context: buildNeighborContext(rows) };
    return cache.context;
  };
  return detectors.map((d) => ({
    ...d,
    run: (rows, options, progress) =>
      d.run(rows, { ...(options as object), context: contextFor(rows) }, progress),
  }));
}

/**
 * Every detector Cordon runs by default, in order: cheap exact checks first, then duplicates,
 * labels, neighbours, triggers, leaks, and the dataset-level class balance.
 */
export function defaultPlan(options: PlanOptions = {}): Plan {
  const all: { detector: Detector; options: unknown }[] = [
    { detector: exactDuplicates, options: {} },
    { detector: minhashNearDuplicates, options: {} },
    { detector: labelConfidentLearning, options: {} },
    ...withSharedNeighbors([
      vectorNearDuplicates as Detector,
      knnOutlierDetector as Detector,
      knnLabelDetector as Detector,
    ]).map((detector) => ({
      detector,
      options: {},
    })),
    { detector: tokenStatDetector, options: {} },
    { detector: featurePatchDetector, options: {} },
    { detector: spectralDetector, options: {} },
    { detector: secretsDetector, options: {} },
    { detector: piiDetector, options: {} },
    {
      detector: classBalanceDetector,
      options: options.baseline ? { baseline: options.baseline } : {},
    },
  ];
  const wanted = (id: string): boolean =>
    options.only
      ? options.only.includes(id)
      : id !== spectralDetector.id || options.spectral === true;
  const detectors = all.filter((d) => wanted(d.detector.id));
  return { detectors, attribute: (rows, issues) => attributeSources(rows, issues) };
}

export const ALL_DETECTOR_IDS = defaultPlan({ spectral: true }).detectors.map((d) => d.detector.id);
