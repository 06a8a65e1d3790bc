/**
 * Source attribution: which sources (feeds, vendors, labellers) carry more flagged rows than the
 * rest of the data, per finding kind. Cordon's lineage knows every row's source, so a poisoned
 * feed shows up as one source whose rate of trigger rows, label issues or duplicates is far above
 * everyone else's.
 *
 * For each source s and kind k (every issue kind present, plus `trigger` for the rows of reported
 * triggers): f flagged of n rows in s, against F − f of N − n in the rest. One-sided Fisher exact
 * test (is s's rate higher?), p-values corrected with Holm across all sources × kinds tested.
 * A source is **suspicious** for k only when all hold:
 *   - corrected p < α (ATTRIBUTION_ALPHA = 0.01);
 *   - rate ratio ≥ ATTRIBUTION_MIN_RATIO (2×) — the ratio uses +0.5 / +1 smoothing so it stays
 *     finite when the rest has none;
 *   - f ≥ ATTRIBUTION_MIN_FLAGGED (5) flagged rows, and the excess over the rest's rate
 *     f − n·restRate ≥ ATTRIBUTION_MIN_FLAGGED as well (a material number of rows, not a rounding).
 * Significance alone would name big sources for trivial differences; effect alone would name tiny
 * sources for noise. Evenly spread label noise therefore names nobody.
 *
 * Score per kind = (1 − exp(−E/2)) · clamp01(log2(ratio) / 3), with evidence E = −log10(corrected p):
 * monotone in both the evidence and the effect, 0 for ratio ≤ 1, ≈ 1 for overwhelming evidence at
 * ratio ≥ 8. A source's score is the largest over kinds. With a single source there is no rest to
 * compare against: nothing is suspicious. Rows without a source are grouped as NO_SOURCE.
 */

import { fisherExact2x2, holm } from './stats.js';
import { clamp01 } from './types.js';
import type { Issue, ScanRow, SourceRisk, Trigger } from './types.js';

/** Family-wise significance level after the Holm correction. */
export const ATTRIBUTION_ALPHA = 0.01;
/** A source must be at least this many times the rest's rate (a doubling is material). */
export const ATTRIBUTION_MIN_RATIO = 2;
/** And carry at least this many flagged rows, also in excess of the rest's rate (not a fluke). */
export const ATTRIBUTION_MIN_FLAGGED = 5;
/** Group name for rows whose source is null. */
export const NO_SOURCE = '(none)';

export interface AttributionOptions {
  alpha?: number;
  minRatio?: number;
  minFlagged?: number;
  /** Trigger findings; their rows count as kind `trigger` (merged with any `trigger` issues). */
  triggers?: readonly Trigger[];
  /** Only issues with at least this score count as flagged (default 0: all). */
  minScore?: number;
}

export interface KindRisk {
  flagged: number;
  rows: number;
  rate: number;
  restFlagged: number;
  restRows: number;
  restRate: number;
  /** Smoothed rate ratio ((f + 0.5)/(n + 1)) / ((F − f + 0.5)/(N − n + 1)). */
  ratio: number;
  /** f − n · restRate: flagged rows beyond what the rest's rate predicts. */
  excess: number;
  /** One-sided Fisher exact p (source rate > rest rate). */
  p: number;
  /** Holm-corrected across all source × kind tests. */
  pAdjusted: number;
  score: number;
  suspicious: boolean;
}

/**
 * Per source, per finding kind: flagged rates against the rest with a corrected one-sided test and
 * an effect-size floor. Sorted: suspicious first, then by score, then by name.
 */
export function attributeSources(
  rows: readonly ScanRow[],
  issues: readonly Issue[],
  options: AttributionOptions = {},
): SourceRisk[] {
  const alpha = options.alpha ?? ATTRIBUTION_ALPHA;
  const minRatio = options.minRatio ?? ATTRIBUTION_MIN_RATIO;
  const minFlagged = options.minFlagged ?? ATTRIBUTION_MIN_FLAGGED;
  const minScore = options.minScore ?? 0;
  const n = rows.length;
  if (n === 0) return [];

  // Row id → index, source index per row.
  const indexOf = new Map<string, number>();
  const sourceIndex = new Map<string, number>();
  const sourceNames: string[] = [];
  const rowSource = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i] as ScanRow;
    indexOf.set(r.id, i);
    const s = r.source ?? NO_SOURCE;
    let k = sourceIndex.get(s);
    if (k === undefined) {
      k = sourceNames.length;
      sourceIndex.set(s, k);
      sourceNames.push(s);
    }
    rowSource[i] = k;
  }
  const S = sourceNames.length;
  const sourceRows = new Float64Array(S);
  for (let i = 0; i < n; i++) sourceRows[rowSource[i] as number]!++;

  // Flag bitmaps per kind (a row counts once per kind however many issues it has).
  const flags = new Map<string, Uint8Array>();
  const flagOf = (kind: string): Uint8Array => {
    let f = flags.get(kind);
    if (!f) {
      f = new Uint8Array(n);
      flags.set(kind, f);
    }
    return f;
  };
  for (const issue of issues) {
    if (issue.score < minScore) continue;
    const i = indexOf.get(issue.row);
    if (i !== undefined) flagOf(issue.kind)[i] = 1;
  }
  for (const t of options.triggers ?? []) {
    const f = flagOf('trigger');
    for (const id of t.rows) {
      const i = indexOf.get(id);
      if (i !== undefined) f[i] = 1;
    }
  }
  const kinds = [...flags.keys()].sort();

  // Counts per source × kind.
  const flaggedBy = kinds.map((k) => {
    const f = flags.get(k) as Uint8Array;
    const c = new Float64Array(S);
    for (let i = 0; i < n; i++) if (f[i] === 1) c[rowSource[i] as number]!++;
    return c;
  });
  const totals = flaggedBy.map((c) => c.reduce((s, v) => s + v, 0));

  // One-sided Fisher per cell; Holm across every cell tested.
  const pvals: number[] = [];
  const cellIndex: [number, number][] = [];
  for (let k = 0; k < kinds.length; k++) {
    const F = totals[k] as number;
    if (F === 0) continue;
    for (let s = 0; s < S; s++) {
      const f = (flaggedBy[k] as Float64Array)[s] as number;
      const rs = sourceRows[s] as number;
      const p = S > 1 ? fisherExact2x2(f, rs - f, F - f, n - rs - (F - f)).greater : 1;
      pvals.push(p);
      cellIndex.push([k, s]);
    }
  }
  const adjusted = holm(pvals);
  const cells = new Map<string, { p: number; pAdjusted: number }>();
  cellIndex.forEach(([k, s], j) => {
    cells.set(`${k}:${s}`, { p: pvals[j] as number, pAdjusted: adjusted[j] as number });
  });

  const out: SourceRisk[] = [];
  for (let s = 0; s < S; s++) {
    const rs = sourceRows[s] as number;
    const perKind: Record<string, KindRisk> = {};
    const suspiciousKinds: string[] = [];
    let score = 0;
    for (let k = 0; k < kinds.length; k++) {
      const kind = kinds[k] as string;
      const F = totals[k] as number;
      const f = (flaggedBy[k] as Float64Array)[s] as number;
      const restRows = n - rs;
      const restFlagged = F - f;
      const rate = rs > 0 ? f / rs : 0;
      const restRate = restRows > 0 ? restFlagged / restRows : 0;
      const ratio = (f + 0.5) / (rs + 1) / ((restFlagged + 0.5) / (restRows + 1));
      const excess = f - rs * restRate;
      const cell = cells.get(`${k}:${s}`) ?? { p: 1, pAdjusted: 1 };
      const evidence = -Math.log10(Math.max(cell.pAdjusted, 1e-300));
      const kindScore =
        S > 1 ? clamp01((1 - Math.exp(-evidence / 2)) * clamp01(Math.log2(ratio) / 3)) : 0;
      const suspicious =
        S > 1 &&
        cell.pAdjusted < alpha &&
        ratio >= minRatio &&
        f >= minFlagged &&
        excess >= minFlagged;
      if (suspicious) suspiciousKinds.push(kind);
      if (kindScore > score) score = kindScore;
      perKind[kind] = {
        flagged: f,
        rows: rs,
        rate,
        restFlagged,
        restRows,
        restRate,
        ratio,
        excess,
        p: cell.p,
        pAdjusted: cell.pAdjusted,
        score: kindScore,
        suspicious,
      };
    }
    out.push({
      source: sourceNames[s] as string,
      suspicious: suspiciousKinds.length > 0,
      score,
      detail: {
        rows: rs,
        suspiciousKinds,
        kinds: perKind,
        ...(S === 1 ? { note: 'single source: no rest of the data to compare against' } : {}),
      },
    });
  }
  out.sort(
    (a, b) =>
      Number(b.suspicious) - Number(a.suspicious) ||
      b.score - a.score ||
      (a.source < b.source ? -1 : a.source > b.source ? 1 : 0),
  );
  return out;
}

/** Parameters used, for the report. */
export const ATTRIBUTION_DEFAULTS = {
  alpha: ATTRIBUTION_ALPHA,
  minRatio: ATTRIBUTION_MIN_RATIO,
  minFlagged: ATTRIBUTION_MIN_FLAGGED,
  correction: 'holm',
  test: 'fisher-exact-one-sided',
} as const;
