/**
 * The scan engine's data model. Detectors are pure: they take rows and options and return
 * findings as data. Nothing here reads files, the store or the clock (timings are measured by the
 * caller).
 */

/** One row as the scan engine sees it (a CordonRecord without files and meta). */
export interface ScanRow {
  /** The record id, or the 0-based row index as a string when the input has none. */
  id: string;
  label: string | null;
  source: string | null;
  text?: string;
  features?: number[];
}

export type IssueKind =
  | 'label'
  | 'exact_duplicate'
  | 'near_duplicate'
  | 'conflicting_label'
  | 'outlier'
  | 'trigger'
  | 'secret'
  | 'pii';

/** A flagged row. `score` runs from 0 (clean) to 1 (most suspicious). */
export interface Issue {
  kind: IssueKind;
  row: string;
  score: number;
  detail: Record<string, unknown>;
}

/** A pattern whose presence predicts one label far beyond its base rate. */
export interface Trigger {
  /** A token, a phrase, or a feature description such as "features[770..772,798..800] ≥ 0.9". */
  pattern: string;
  /** The label the pattern pushes rows towards. */
  label: string;
  rows: string[];
  score: number;
  detail: Record<string, unknown>;
}

export interface SourceRisk {
  source: string;
  suspicious: boolean;
  score: number;
  detail: Record<string, unknown>;
}

/** What one detector returns. A detector that cannot run on the data says why in `skipped`. */
export interface DetectorResult {
  issues: Issue[];
  triggers?: Trigger[];
  /** Dataset-level numbers for the report summary (counts, scores, parameters used). */
  summary: Record<string, unknown>;
  skipped?: string;
}

/** Reports progress as a share of the detector's work done, 0..1. */
export type Progress = (fraction: number) => void;

export interface Detector<O = unknown> {
  /** Namespaced id, e.g. "dup/exact", "dup/minhash", "label/confident-learning". */
  id: string;
  /** What the detector needs and flags; written into the report. */
  meta: { kinds: IssueKind[]; needs: ('labels' | 'text' | 'features')[]; description: string };
  run(
    rows: readonly ScanRow[],
    options: O,
    progress?: Progress,
  ): DetectorResult | Promise<DetectorResult>;
}

/** Clamps a number into [0, 1]; NaN becomes 0. */
export function clamp01(x: number): number {
  return x > 0 ? (x < 1 ? x : 1) : 0;
}
