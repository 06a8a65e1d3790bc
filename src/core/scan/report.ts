import type { DetectorResult, Issue, IssueKind, ScanRow, SourceRisk, Trigger } from './types.js';

export const SCAN_SCHEMA = 'cordon.scan/v1';

export const ISSUE_KINDS: readonly IssueKind[] = [
  'label',
  'exact_duplicate',
  'near_duplicate',
  'conflicting_label',
  'outlier',
  'trigger',
  'secret',
  'pii',
];

/** One detector's run as the orchestrator saw it. */
export interface DetectorRun {
  id: string;
  kinds: IssueKind[];
  result: DetectorResult;
  seconds: number;
}

export interface DetectorSummary {
  id: string;
  kinds: IssueKind[];
  /** Why the detector did not run; absent when it ran. A skipped check is never a pass. */
  skipped?: string;
  flagged: number;
  seconds: number;
  rowsPerSecond: number;
  summary: Record<string, unknown>;
}

export interface ScanSummary {
  /** Distinct flagged rows per issue kind. */
  counts: Record<IssueKind, number>;
  /** Distinct rows flagged by any detector. */
  flaggedRows: number;
  /** Share of rows flagged per kind: dataset-level scores in [0, 1]. */
  rates: Record<IssueKind, number>;
  triggers: number;
  suspiciousSources: string[];
  labels: { label: string | null; rows: number }[];
  sources: { source: string | null; rows: number }[];
  /** Row counts the detectors needed: labelled rows, rows with text, rows with vectors. */
  inputs: { labelled: number; text: number; features: number };
  detectors: DetectorSummary[];
  /** Dataset-level results of detectors without row findings (class balance and drift). */
  dataset: Record<string, unknown>;
  timings: { totalSeconds: number };
}

export interface ScanReport {
  schema: typeof SCAN_SCHEMA;
  rows: number;
  issues: Issue[];
  triggers: Trigger[];
  sources: SourceRisk[];
  summary: ScanSummary;
}

function countBy<K extends string | null>(values: Iterable<K>): { key: K; rows: number }[] {
  const m = new Map<K, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return [...m.entries()]
    .map(([key, rows]) => ({ key, rows }))
    .sort((a, b) => b.rows - a.rows || String(a.key).localeCompare(String(b.key)));
}

/**
 * Assembles the report: every detector's issues (each tagged with the detector that raised it),
 * triggers ranked by score, per-source risk, and a summary with per-kind counts and rates.
 * Issues are ordered by kind (as ISSUE_KINDS), then score (highest first), then row id.
 */
export function buildReport(
  rows: readonly ScanRow[],
  runs: readonly DetectorRun[],
  sources: SourceRisk[],
  totalSeconds: number,
): ScanReport {
  const issues: Issue[] = [];
  const triggers: Trigger[] = [];
  const dataset: Record<string, unknown> = {};
  for (const run of runs) {
    for (const issue of run.result.issues)
      issues.push({ ...issue, detail: { detector: run.id, ...issue.detail } });
    for (const t of run.result.triggers ?? [])
      triggers.push({ ...t, detail: { detector: run.id, ...t.detail } });
    if (run.kinds.length === 0)
      dataset[run.id] =
        run.result.skipped !== undefined ? { skipped: run.result.skipped } : run.result.summary;
  }
  const order = new Map(ISSUE_KINDS.map((k, i) => [k, i]));
  issues.sort(
    (a, b) =>
      order.get(a.kind)! - order.get(b.kind)! ||
      b.score - a.score ||
      (a.row < b.row ? -1 : a.row > b.row ? 1 : 0),
  );
  triggers.sort((a, b) => b.score - a.score || a.pattern.localeCompare(b.pattern));

  const perKind = new Map<IssueKind, Set<string>>(ISSUE_KINDS.map((k) => [k, new Set<string>()]));
  const any = new Set<string>();
  for (const i of issues) {
    perKind.get(i.kind)!.add(i.row);
    any.add(i.row);
  }
  const counts = Object.fromEntries(ISSUE_KINDS.map((k) => [k, perKind.get(k)!.size])) as Record<
    IssueKind,
    number
  >;
  const rates = Object.fromEntries(
    ISSUE_KINDS.map((k) => [k, rows.length ? counts[k] / rows.length : 0]),
  ) as Record<IssueKind, number>;
  return {
    schema: SCAN_SCHEMA,
    rows: rows.length,
    issues,
    triggers,
    sources,
    summary: {
      counts,
      flaggedRows: any.size,
      rates,
      triggers: triggers.length,
      suspiciousSources: sources.filter((s) => s.suspicious).map((s) => s.source),
      labels: countBy(rows.map((r) => r.label)).map(({ key, rows: n }) => ({
        label: key,
        rows: n,
      })),
      sources: countBy(rows.map((r) => r.source)).map(({ key, rows: n }) => ({
        source: key,
        rows: n,
      })),
      inputs: {
        labelled: rows.reduce((n, r) => n + (r.label !== null ? 1 : 0), 0),
        text: rows.reduce((n, r) => n + (typeof r.text === 'string' ? 1 : 0), 0),
        features: rows.reduce((n, r) => n + (Array.isArray(r.features) ? 1 : 0), 0),
      },
      detectors: runs.map((run) => {
        const flagged = new Set(run.result.issues.map((i) => i.row)).size;
        return {
          id: run.id,
          kinds: run.kinds,
          ...(run.result.skipped !== undefined ? { skipped: run.result.skipped } : {}),
          flagged,
          seconds: round(run.seconds, 3),
          rowsPerSecond: run.seconds > 0 ? Math.round(rows.length / run.seconds) : 0,
          summary: run.result.summary,
        };
      }),
      dataset,
      timings: { totalSeconds: round(totalSeconds, 3) },
    },
  };
}

const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;
