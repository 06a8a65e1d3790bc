/**
 * Runs one detector of the default plan in a worker thread: the rows and options arrive as
 * workerData, progress and the result go back as messages. Loaded only from compiled output.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { defaultPlan } from '../../core/scan/registry.js';
import type { ScanRow } from '../../core/scan/types.js';

interface Task {
  id: string;
  rows: ScanRow[];
  options: unknown;
}

const task = workerData as Task;
const entry = defaultPlan({ spectral: true }).detectors.find((d) => d.detector.id === task.id);
if (!entry) throw new Error(`no detector ${task.id}`);
const result = await entry.detector.run(task.rows, task.options, (fraction) =>
  parentPort?.postMessage({ progress: fraction }),
);
parentPort?.postMessage({ result });
