/**
 * `drift/class-balance` (dataset-level, no row issues): class counts and imbalance, and, given a
 * baseline (label → count, e.g. the previous snapshot), whether the label distribution drifted.
 * The same per source: each source's label mix against the rest of the data, and against its own
 * baseline when one is given. Field notes §7.
 *
 * Drift test: Pearson χ² homogeneity on the K×2 table (class × {current, baseline}). When an
 * expected count is below MIN_EXPECTED, the rarest classes are pooled into one "(merged)" row until
 * every expected count reaches it; if only two rows remain and one is still short, Fisher's exact
 * test (two-sided) replaces χ². Effect sizes: PSI and Jensen–Shannon distance on the class shares,
 * relative change per class, classes that appeared or vanished (always reported, whatever the
 * test says).
 *
 * Verdict: `severity` is 'fail' when p < α AND PSI ≥ psiFail, 'warn' when p < α AND
 * PSI ≥ psiWarn, else 'ok'; `drift` = severity 'fail'. Requiring both means a huge dataset does
 * not fail on a trivial but "significant" shift, and a tiny one does not fail on noise.
 * Top-level `drift` is true when the whole dataset drifted from `baseline` or any source drifted
 * from its entry in `sourceBaselines`. A source whose mix differs from the rest's (Holm-corrected
 * across sources) is listed in `unusualSources`: a labeller or feed flipping labels shows there,
 * but it is not a drift verdict.
 */

import { chiSquaredTable, fisherExact2x2, holm, jensenShannonDistance, psi } from './stats.js';
import type { Detector, DetectorResult, Progress, ScanRow } from './types.js';

/** Significance level of the drift tests (field notes §7). */
export const DRIFT_ALPHA = 0.01;
/** PSI at which a significant shift is reported as a warning (common PSI rule of thumb). */
export const PSI_WARN = 0.1;
/** PSI at which a significant shift fails (common PSI rule of thumb: "major shift"). */
export const PSI_FAIL = 0.25;
/** Imbalanced when the rarest class's share < this × 1/K (cleanlab's rule). */
export const IMBALANCE_FACTOR = 0.1;
/** Smallest expected cell count for the χ² approximation (Cochran's rule). */
export const MIN_EXPECTED = 5;
/** Label used for the pooled row when rare classes are merged. */
export const MERGED_LABEL = '(merged)';
/** Key used for rows without a source in the per-source tables. */
export const NO_SOURCE = '(none)';

export type Severity = 'ok' | 'warn' | 'fail';

export interface ClassBalanceOptions {
  /** Reference class counts (label → count), e.g. from the previous snapshot. */
  baseline?: Readonly<Record<string, number>>;
  /** Reference class counts per source (source → label → count). */
  sourceBaselines?: Readonly<Record<string, Readonly<Record<string, number>>>>;
  alpha?: number;
  psiWarn?: number;
  psiFail?: number;
  imbalanceFactor?: number;
}

export interface DriftComparison {
  labels: string[];
  current: number[];
  reference: number[];
  currentShare: number[];
  referenceShare: number[];
  test: {
    method: 'chi-squared' | 'chi-squared-merged' | 'fisher' | 'none';
    statistic: number | null;
    df: number | null;
    p: number;
    /** Classes pooled into MERGED_LABEL for the test. */
    merged: string[];
  };
  /** p after multiple-testing correction (per-source comparisons); = p otherwise. */
  pAdjusted: number;
  psi: number;
  jsDistance: number;
  /** (current share − reference share) / reference share; null when the reference share is 0. */
  relativeChange: Record<string, number | null>;
  appeared: string[];
  vanished: string[];
  severity: Severity;
  drift: boolean;
}

export interface Imbalance {
  classes: number;
  rarest: string | null;
  rarestShare: number;
  commonest: string | null;
  commonestShare: number;
  /** Largest class count / smallest class count. */
  ratio: number;
  threshold: number;
  imbalanced: boolean;
}

interface Limits {
  alpha: number;
  psiWarn: number;
  psiFail: number;
}

function severityOf(p: number, psiValue: number, limits: Limits): Severity {
  if (!(p < limits.alpha)) return 'ok';
  if (psiValue >= limits.psiFail) return 'fail';
  if (psiValue >= limits.psiWarn) return 'warn';
  return 'ok';
}

/**
 * χ² homogeneity between two count vectors over the same labels, pooling rare classes (see the
 * module comment). Returns the test with the labels that were pooled.
 */
export function homogeneityTest(
  labels: readonly string[],
  current: readonly number[],
  reference: readonly number[],
  minExpected = MIN_EXPECTED,
): DriftComparison['test'] {
  const nCur = current.reduce((s, v) => s + v, 0);
  const nRef = reference.reduce((s, v) => s + v, 0);
  const n = nCur + nRef;
  const none = { method: 'none' as const, statistic: null, df: null, p: 1, merged: [] };
  if (nCur === 0 || nRef === 0) return none;
  const minCol = Math.min(nCur, nRef);
  // Rows (classes) with their totals, rarest first; empty classes dropped.
  const rows = labels
    .map((label, i) => ({ label, a: current[i] ?? 0, b: reference[i] ?? 0 }))
    .filter((r) => r.a + r.b > 0)
    .sort((x, y) => x.a + x.b - (y.a + y.b) || (x.label < y.label ? -1 : 1));
  const merged: string[] = [];
  let pool: { a: number; b: number } | null = null;
  const expectedOf = (t: number): number => (t * minCol) / n;
  while (rows.length > 0) {
    const first = rows[0] as { label: string; a: number; b: number };
    const poolTotal = pool ? pool.a + pool.b : 0;
    const live = rows.length + (pool ? 1 : 0);
    const shortRow = expectedOf(first.a + first.b) < minExpected;
    const shortPool = pool !== null && expectedOf(poolTotal) < minExpected;
    if (live <= 2 || (!shortRow && !shortPool)) break;
    rows.shift();
    merged.push(first.label);
    pool = pool ? { a: pool.a + first.a, b: pool.b + first.b } : { a: first.a, b: first.b };
  }
  const table = rows.map((r) => [r.a, r.b]);
  if (pool) table.push([pool.a, pool.b]);
  if (table.length < 2) return none;
  const chi = chiSquaredTable(table);
  if (table.length === 2 && chi.minExpected < minExpected) {
    const [r0, r1] = table as [number[], number[]];
    const f = fisherExact2x2(r0[0] as number, r0[1] as number, r1[0] as number, r1[1] as number);
    return { method: 'fisher', statistic: null, df: null, p: f.twoSided, merged };
  }
  return {
    method: merged.length > 0 ? 'chi-squared-merged' : 'chi-squared',
    statistic: chi.statistic,
    df: chi.df,
    p: chi.p,
    merged,
  };
}

/** Compares a current class distribution with a reference one (both label → count). */
export function compareDistributions(
  current: ReadonlyMap<string, number> | Readonly<Record<string, number>>,
  reference: ReadonlyMap<string, number> | Readonly<Record<string, number>>,
  options: Partial<Limits> = {},
): DriftComparison {
  const limits: Limits = {
    alpha: options.alpha ?? DRIFT_ALPHA,
    psiWarn: options.psiWarn ?? PSI_WARN,
    psiFail: options.psiFail ?? PSI_FAIL,
  };
  const cur = toMap(current);
  const ref = toMap(reference);
  const labels = [...new Set([...cur.keys(), ...ref.keys()])].sort();
  const a = labels.map((l) => cur.get(l) ?? 0);
  const b = labels.map((l) => ref.get(l) ?? 0);
  const na = a.reduce((s, v) => s + v, 0);
  const nb = b.reduce((s, v) => s + v, 0);
  const shareA = a.map((v) => (na > 0 ? v / na : 0));
  const shareB = b.map((v) => (nb > 0 ? v / nb : 0));
  const test = homogeneityTest(labels, a, b);
  const psiValue = na > 0 && nb > 0 ? psi(b, a) : 0;
  const js = na > 0 && nb > 0 ? jensenShannonDistance(a, b) : 0;
  const relativeChange: Record<string, number | null> = {};
  const appeared: string[] = [];
  const vanished: string[] = [];
  labels.forEach((l, i) => {
    const sa = shareA[i] as number;
    const sb = shareB[i] as number;
    relativeChange[l] = sb > 0 ? (sa - sb) / sb : null;
    if ((a[i] as number) > 0 && (b[i] as number) === 0) appeared.push(l);
    if ((a[i] as number) === 0 && (b[i] as number) > 0) vanished.push(l);
  });
  const severity = severityOf(test.p, psiValue, limits);
  return {
    labels,
    current: a,
    reference: b,
    currentShare: shareA,
    referenceShare: shareB,
    test,
    pAdjusted: test.p,
    psi: psiValue,
    jsDistance: js,
    relativeChange,
    appeared,
    vanished,
    severity,
    drift: severity === 'fail',
  };
}

function toMap(
  m: ReadonlyMap<string, number> | Readonly<Record<string, number>>,
): Map<string, number> {
  if (m instanceof Map) return new Map(m as ReadonlyMap<string, number>);
  const out = new Map<string, number>();
  for (const [k, v] of Object.entries(m as Record<string, number>)) {
    if (Number.isFinite(v) && v > 0) out.set(k, v);
  }
  return out;
}

/** Class imbalance: the rarest class's share against IMBALANCE_FACTOR / K. */
export function imbalanceOf(
  counts: ReadonlyMap<string, number>,
  factor = IMBALANCE_FACTOR,
): Imbalance {
  const entries = [...counts.entries()].filter(([, v]) => v > 0);
  const k = entries.length;
  const total = entries.reduce((s, [, v]) => s + v, 0);
  if (k === 0 || total === 0) {
    return {
      classes: 0,
      rarest: null,
      rarestShare: 0,
      commonest: null,
      commonestShare: 0,
      ratio: 0,
      threshold: 0,
      imbalanced: false,
    };
  }
  entries.sort((x, y) => x[1] - y[1] || (x[0] < y[0] ? -1 : 1));
  const [rarest, rc] = entries[0] as [string, number];
  const [commonest, cc] = entries[k - 1] as [string, number];
  const threshold = factor / k;
  return {
    classes: k,
    rarest,
    rarestShare: rc / total,
    commonest,
    commonestShare: cc / total,
    ratio: cc / rc,
    threshold,
    imbalanced: k >= 2 && rc / total < threshold,
  };
}

/** Label counts overall and per source (rows with label null are skipped). Pure, one pass. */
export function countLabels(
  rows: readonly ScanRow[],
  start = 0,
  end = rows.length,
): {
  overall: Map<string, number>;
  bySource: Map<string, Map<string, number>>;
  unlabelled: number;
} {
  const overall = new Map<string, number>();
  const bySource = new Map<string, Map<string, number>>();
  let unlabelled = 0;
  for (let i = start; i < end; i++) {
    const r = rows[i] as ScanRow;
    const label = r.label;
    if (label === null || label === undefined) {
      unlabelled++;
      continue;
    }
    overall.set(label, (overall.get(label) ?? 0) + 1);
    const src = r.source ?? NO_SOURCE;
    let m = bySource.get(src);
    if (!m) {
      m = new Map();
      bySource.set(src, m);
    }
    m.set(label, (m.get(label) ?? 0) + 1);
  }
  return { overall, bySource, unlabelled };
}

function subtract(
  a: ReadonlyMap<string, number>,
  b: ReadonlyMap<string, number>,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of a) {
    const d = v - (b.get(k) ?? 0);
    if (d > 0) out.set(k, d);
  }
  return out;
}

function mapToRecord(m: ReadonlyMap<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of [...m.keys()].sort()) out[k] = m.get(k) as number;
  return out;
}

export const classBalanceDetector: Detector<ClassBalanceOptions> = {
  id: 'drift/class-balance',
  meta: {
    kinds: [],
    needs: ['labels'],
    description:
      'Class counts and imbalance; label-distribution drift against a baseline (χ² or Fisher, PSI, Jensen–Shannon) overall and per source; per-source label mix against the rest.',
  },
  run(
    rows: readonly ScanRow[],
    options: ClassBalanceOptions = {},
    progress?: Progress,
  ): DetectorResult {
    const limits: Limits = {
      alpha: options.alpha ?? DRIFT_ALPHA,
      psiWarn: options.psiWarn ?? PSI_WARN,
      psiFail: options.psiFail ?? PSI_FAIL,
    };
    const factor = options.imbalanceFactor ?? IMBALANCE_FACTOR;
    const parameters = { ...limits, imbalanceFactor: factor, minExpected: MIN_EXPECTED };
    const { overall, bySource, unlabelled } = countLabels(rows);
    progress?.(0.5);
    const labelled = rows.length - unlabelled;
    const base = { rows: rows.length, labelledRows: labelled, unlabelledRows: unlabelled };
    if (labelled === 0) {
      return {
        issues: [],
        summary: { ...base, drift: false, parameters },
        skipped: 'no labelled rows',
      };
    }
    const hasBaseline = options.baseline !== undefined || options.sourceBaselines !== undefined;
    if (overall.size < 2 && !hasBaseline) {
      return {
        issues: [],
        summary: { ...base, counts: mapToRecord(overall), drift: false, parameters },
        skipped: `single class (${[...overall.keys()].join('')}) and no baseline: nothing to compare`,
      };
    }
    const shares: Record<string, number> = {};
    for (const [k, v] of overall) shares[k] = v / labelled;
    const imbalance = imbalanceOf(overall, factor);
    const vsBaseline =
      options.baseline !== undefined
        ? compareDistributions(overall, options.baseline, limits)
        : null;

    // Per source: against the rest (Holm across sources), and against its own baseline.
    const sourceNames = [...bySource.keys()].sort();
    const vsRest = sourceNames.map((s) => {
      const mine = bySource.get(s) as Map<string, number>;
      return compareDistributions(mine, subtract(overall, mine), limits);
    });
    const adjusted = holm(vsRest.map((c) => c.test.p));
    vsRest.forEach((c, i) => {
      c.pAdjusted = adjusted[i] as number;
      c.severity = severityOf(c.pAdjusted, c.psi, limits);
      c.drift = c.severity === 'fail';
    });
    const sb = options.sourceBaselines ?? {};
    const vsOwn = sourceNames.map((s) => {
      const ref = sb[s];
      return ref ? compareDistributions(bySource.get(s) as Map<string, number>, ref, limits) : null;
    });
    const sources = sourceNames.map((s, i) => {
      const m = bySource.get(s) as Map<string, number>;
      let rowsInSource = 0;
      for (const v of m.values()) rowsInSource += v;
      return {
        source: s,
        rows: rowsInSource,
        counts: mapToRecord(m),
        imbalance: imbalanceOf(m, factor),
        vsRest: sourceNames.length > 1 ? vsRest[i] : null,
        vsBaseline: vsOwn[i] ?? null,
      };
    });
    // Sources in a baseline that have no labelled rows now: vanished feeds.
    const vanishedSources = Object.keys(sb)
      .filter((s) => !bySource.has(s))
      .sort();
    const driftedSources = sources.filter((s) => s.vsBaseline?.drift === true).map((s) => s.source);
    const unusualSources =
      sourceNames.length > 1
        ? sources.filter((s) => s.vsRest?.severity !== 'ok').map((s) => s.source)
        : [];
    const drift = vsBaseline?.drift === true || driftedSources.length > 0;
    const worst: Severity[] = [
      vsBaseline?.severity ?? 'ok',
      ...sources.map((s) => s.vsBaseline?.severity ?? 'ok'),
    ];
    const severity: Severity = worst.includes('fail')
      ? 'fail'
      : worst.includes('warn')
        ? 'warn'
        : 'ok';
    progress?.(1);
    return {
      issues: [],
      summary: {
        ...base,
        classes: overall.size,
        counts: mapToRecord(overall),
        shares,
        imbalance,
        baseline: vsBaseline,
        drift,
        severity,
        driftedSources,
        unusualSources,
        vanishedSources,
        sources,
        parameters,
      },
    };
  },
};
