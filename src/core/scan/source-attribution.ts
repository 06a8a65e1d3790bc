/**
 * Source attribution: which sources (feeds, vendors, labellers) carry more flagged rows than the
 * rest of the data, per finding kind. Cordon's lineage knows every row's source, so a poisoned
 * feed shows up as one source whose rate of trigger rows, label issues or duplicates is far above
 * everyone else's.
 *
 * For each source s and kind k (every issue kind present, plus `trigger` for the rows of reported
 * triggers): f flagged rows in s against E, the count expected if s behaved like the rest of the
 * data **with the same labels** — E = Σ_c n(s,c) · rate of k among the rest's rows labelled c.
 * Stratifying by label matters on real data: spam sources naturally hold more near-duplicates and
 * odd rows than ham sources, which says nothing about poisoning. One-sided Poisson test
 * (P[X ≥ f | λ = E]), p-values corrected with Holm across all sources × kinds tested.
 * A source is **suspicious** for k only when k is a poisoning kind (ATTRIBUTION_POISON_KINDS; for
 * duplicates, only when the excess is ≥ 1 % of all rows) and all hold:
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

import { holm, poissonSf } from './stats.js';
import { clamp01 } from './types.js';
import type { Issue, ScanRow, SourceRisk, Trigger } from './types.js';

/** Family-wise significance level after the Holm correction. */
export const ATTRIBUTION_ALPHA = 0.01;
/** A source must be at least this many times the rest's rate (a doubling is material). */
export const ATTRIBUTION_MIN_RATIO = 2;
/** And carry at least this many flagged rows, also in excess of the rest's rate (not a fluke). */
export const ATTRIBUTION_MIN_FLAGGED = 5;
/**
 * Kinds that say something about poisoning. Secrets, PII and outliers are data hygiene: sources
 * differ in them for innocent reasons (a mailing list is full of addresses), so they are reported
 * per source but never make a source suspicious or raise its score.
 */
export const ATTRIBUTION_POISON_KINDS: readonly string[] = [
  'label',
  'trigger',
  'conflicting_label',
  'near_duplicate',
  'exact_duplicate',
];
/**
 * Duplicates make a source suspicious only when its excess is at least this share of all rows:
 * real sources hold their own clusters of re-sent items; a flood matters when it is big enough to
 * reweight training.
 */
export const ATTRIBUTION_MIN_DUPLICATE_SHARE = 0.01;
/** Highest score of a source that is not suspicious: scores ≥ 0.5 mean suspicious. */
export const ATTRIBUTION_UNFLAGGED_MAX_SCORE = 0.49;
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
  /** Flagged rows expected from the rest's rate within each label (label-stratified). */
  expected: number;
  /** Smoothed ratio (f + 0.5) / (expected + 0.5). */
  ratio: number;
  /** f − expected: flagged rows beyond what the rest predicts for rows with these labels. */
  excess: number;
  /** One-sided Poisson p, P(X ≥ f | λ = expected). */
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

  // Label strata: rows per (source, label) and flagged per (kind, source, label).
  const labelIndex = new Map<string | null, number>();
  const rowLabel = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const l = (rows[i] as ScanRow).label;
    let c = labelIndex.get(l);
    if (c === undefined) {
      c = labelIndex.size;
      labelIndex.set(l, c);
    }
    rowLabel[i] = c;
  }
  const C = labelIndex.size;
  const cellRows = new Float64Array(S * C);
  for (let i = 0; i < n; i++) cellRows[(rowSource[i] as number) * C + (rowLabel[i] as number)]!++;
  const labelRows = new Float64Array(C);
  for (let i = 0; i < S * C; i++) labelRows[i % C]! += cellRows[i] as number;

  const flaggedCells = kinds.map((k) => {
    const f = flags.get(k) as Uint8Array;
    const c = new Float64Array(S * C);
    for (let i = 0; i < n; i++)
      if (f[i] === 1) c[(rowSource[i] as number) * C + (rowLabel[i] as number)]!++;
    return c;
  });
  const flaggedBy = flaggedCells.map((cells) => {
    const c = new Float64Array(S);
    for (let i = 0; i < S * C; i++) c[Math.floor(i / C)]! += cells[i] as number;
    return c;
  });
  const totals = flaggedBy.map((c) => c.reduce((sum, v) => sum + v, 0));
  const labelFlagged = flaggedCells.map((cells) => {
    const c = new Float64Array(C);
    for (let i = 0; i < S * C; i++) c[i % C]! += cells[i] as number;
    return c;
  });
  /** Flagged rows source s would have if each of its labels were flagged at the rest's rate. */
  const expectedFor = (k: number, s: number): number => {
    const F = totals[k] as number;
    const restAll =
      (F - (flaggedBy[k] as Float64Array)[s]!) / Math.max(1, n - (sourceRows[s] as number));
    let e = 0;
    for (let c = 0; c < C; c++) {
      const ns = cellRows[s * C + c] as number;
      if (ns === 0) continue;
      const restRows = (labelRows[c] as number) - ns;
      const restFlagged =
        (labelFlagged[k] as Float64Array)[c]! - (flaggedCells[k] as Float64Array)[s * C + c]!;
      e += ns * (restRows > 0 ? restFlagged / restRows : restAll);
    }
    return e;
  };

  // One-sided Poisson test per cell; Holm across every cell tested.
  const pvals: number[] = [];
  const cellIndex: [number, number][] = [];
  const expected = new Map<string, number>();
  for (let k = 0; k < kinds.length; k++) {
    const F = totals[k] as number;
    if (F === 0) continue;
    for (let s = 0; s < S; s++) {
      const f = (flaggedBy[k] as Float64Array)[s] as number;
      const e = expectedFor(k, s);
      expected.set(`${k}:${s}`, e);
      const p = S > 1 && f > 0 ? poissonSf(f, Math.max(e, 1e-9)) : 1;
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
      const e = expected.get(`${k}:${s}`) ?? 0;
      const ratio = (f + 0.5) / (e + 0.5);
      const excess = f - e;
      const cell = cells.get(`${k}:${s}`) ?? { p: 1, pAdjusted: 1 };
      const evidence = -Math.log10(Math.max(cell.pAdjusted, 1e-300));
      const kindScore =
        S > 1 ? clamp01((1 - Math.exp(-evidence / 2)) * clamp01(Math.log2(ratio) / 3)) : 0;
      const poisonKind = ATTRIBUTION_POISON_KINDS.includes(kind);
      const duplicateKind = kind === 'near_duplicate' || kind === 'exact_duplicate';
      const suspicious =
        poisonKind &&
        (!duplicateKind || excess >= ATTRIBUTION_MIN_DUPLICATE_SHARE * n) &&
        S > 1 &&
        cell.pAdjusted < alpha &&
        ratio >= minRatio &&
        f >= minFlagged &&
        excess >= minFlagged;
      if (suspicious) suspiciousKinds.push(kind);
      // A kind that fails a gate can still show strong evidence; its score stays below 0.5 so that
      // a source's score reads as suspicious (≥ 0.5) or not (< 0.5) at a glance.
      const shownScore = suspicious
        ? Math.max(kindScore, 0.5)
        : Math.min(kindScore, ATTRIBUTION_UNFLAGGED_MAX_SCORE);
      if (poisonKind && shownScore > score) score = shownScore;
      perKind[kind] = {
        flagged: f,
        rows: rs,
        rate,
        restFlagged,
        restRows,
        restRate,
        ratio,
        excess,
        expected: e,
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
