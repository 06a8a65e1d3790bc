import { performance } from 'node:perf_hooks';
import { buildReport, type DetectorRun, type ScanReport } from '../../core/scan/report.js';
import type { Detector, Issue, ScanRow, SourceRisk } from '../../core/scan/types.js';

export interface ScanPlan {
  detectors: { detector: Detector; options: unknown }[];
  /** Per-source risk from all findings; runs after the detectors. */
  attribute?: (rows: readonly ScanRow[], issues: Issue[]) => SourceRisk[];
  /** Called with the detector running and the share of the whole scan done. */
  onProgress?: (detector: string, fraction: number) => void;
}

/**
 * Runs every detector of the plan over the rows, timing each, then attributes findings to
 * sources and assembles the report. A detector that throws fails the scan: a check that could
 * not run is never reported as clean.
 */
export async function runScan(rows: readonly ScanRow[], plan: ScanPlan): Promise<ScanReport> {
  const start = performance.now();
  const runs: DetectorRun[] = [];
  const n = plan.detectors.length;
  for (let i = 0; i < n; i++) {
    const { detector, options } = plan.detectors[i]!;
    plan.onProgress?.(detector.id, i / n);
    const t0 = performance.now();
    const result = await detector.run(rows, options, (f) =>
      plan.onProgress?.(detector.id, (i + Math.min(1, Math.max(0, f))) / n),
    );
    runs.push({
      id: detector.id,
      kinds: detector.meta.kinds,
      result,
      seconds: (performance.now() - t0) / 1000,
    });
  }
  plan.onProgress?.('sources', 1);
  const issues = runs.flatMap((r) => r.result.issues);
  const sources = plan.attribute ? plan.attribute(rows, issues) : [];
  return buildReport(rows, runs, sources, (performance.now() - start) / 1000);
}
