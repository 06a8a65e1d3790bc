import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { buildReport, type DetectorRun, type ScanReport } from '../../core/scan/report.js';
import type {
  Detector,
  DetectorResult,
  Issue,
  ScanRow,
  SourceRisk,
} from '../../core/scan/types.js';

export interface ScanPlan {
  detectors: { detector: Detector; options: unknown }[];
  /** Per-source risk from all findings; runs after the detectors. */
  attribute?: (rows: readonly ScanRow[], issues: Issue[]) => SourceRisk[];
  /** Called with the detector running and the share of the whole scan done. */
  onProgress?: (detector: string, fraction: number) => void;
  /**
   * Detectors to run in worker threads while the others run here, heaviest first. They must be
   * self-contained (no shared state with other detectors) and their options must be cloneable.
   */
  offload?: readonly string[];
  /** Worker threads to use at most (default: one fewer than the cores, at least 1). */
  threads?: number;
}

/** The heavy, self-contained detectors worth a thread of their own. */
export const OFFLOAD = ['label/confident-learning', 'dup/minhash', 'trigger/token-stat'];

const WORKER = new URL('./detector-worker.js', import.meta.url);

/** Workers need compiled JavaScript; under a TypeScript test runner everything runs in process. */
function workersAvailable(): boolean {
  return WORKER.protocol === 'file:' && existsSync(fileURLToPath(WORKER));
}

function runInWorker(
  id: string,
  rows: readonly ScanRow[],
  options: unknown,
  progress: (f: number) => void,
): Promise<DetectorResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { workerData: { id, rows, options } });
    worker.on('message', (msg: { progress?: number; result?: DetectorResult }) => {
      if (msg.progress !== undefined) progress(msg.progress);
      if (msg.result) resolve(msg.result);
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (code !== 0) reject(new Error(`detector ${id} worker exited with code ${code}`));
    });
  });
}

/**
 * Runs every detector of the plan over the rows, timing each, then attributes findings to
 * sources and assembles the report. Offloaded detectors run in worker threads at the same time as
 * the rest. A detector that throws fails the scan: a check that could not run is never reported
 * as clean. The report lists detectors in plan order whatever finished first.
 */
export async function runScan(rows: readonly ScanRow[], plan: ScanPlan): Promise<ScanReport> {
  const start = performance.now();
  const n = plan.detectors.length;
  const done = new Array<number>(n).fill(0);
  const report = (i: number, id: string, f: number): void => {
    done[i] = Math.min(1, Math.max(0, f));
    plan.onProgress?.(id, done.reduce((a, b) => a + b, 0) / n);
  };
  const threads = Math.max(1, plan.threads ?? availableParallelism() - 1);
  const offload = workersAvailable() ? (plan.offload ?? []).slice(0, threads) : [];
  const runs = new Array<DetectorRun>(n);
  const background: Promise<void>[] = [];
  plan.detectors.forEach(({ detector, options }, i) => {
    if (!offload.includes(detector.id)) return;
    const t0 = performance.now();
    background.push(
      runInWorker(detector.id, rows, options, (f) => report(i, detector.id, f)).then((result) => {
        runs[i] = {
          id: detector.id,
          kinds: detector.meta.kinds,
          result,
          seconds: (performance.now() - t0) / 1000,
        };
      }),
    );
  });
  // Keep a failure in a worker from going unobserved while the main thread is busy.
  const all = Promise.all(background);
  all.catch(() => undefined);
  for (let i = 0; i < n; i++) {
    const { detector, options } = plan.detectors[i]!;
    if (offload.includes(detector.id)) continue;
    const t0 = performance.now();
    const result = await detector.run(rows, options, (f) => report(i, detector.id, f));
    runs[i] = {
      id: detector.id,
      kinds: detector.meta.kinds,
      result,
      seconds: (performance.now() - t0) / 1000,
    };
  }
  await all;
  plan.onProgress?.('sources', 1);
  const issues = runs.flatMap((r) => r.result.issues);
  const sources = plan.attribute ? plan.attribute(rows, issues) : [];
  return buildReport(rows, runs, sources, (performance.now() - start) / 1000);
}
