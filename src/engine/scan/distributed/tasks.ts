/**
 * The computing part of each job, with no I/O: a worker runs it in a thread of its own (or in
 * process when only TypeScript sources are available), so the thread that talks to Redis stays
 * free to renew its job locks.
 */
import { performance } from 'node:perf_hooks';
import { contentHashes, EXACT_PROGRESS_EVERY } from '../../../core/scan/exact-duplicates.js';
import {
  bandHashes,
  bandPartition,
  lshPartitionCandidates,
  MINHASH_CHUNK_ROWS,
  minhashParams,
  minhashSignatures,
  permutationParams,
  SIG_VALID,
  type BandEntries,
  type CandidatePairs,
} from '../../../core/scan/minhash-lsh.js';
import { scanPiiRange, type PiiPart } from '../../../core/scan/pii.js';
import {
  labelFoldProba,
  setupLabelIssues,
  type LabelFinish,
  type LabelIssueDetectorOptions,
} from '../../../core/scan/label-issues.js';
import { defaultPlan, type PlanOptions } from '../../../core/scan/registry.js';
import { scanSecretRows, type SecretsPart } from '../../../core/scan/secrets.js';
import type { DetectorResult, ScanRow } from '../../../core/scan/types.js';
import { idsDigest, type MapParts } from './protocol.js';
import { rowsFromSegments, type SegmentBytes } from './rows.js';

/** A task's rows: parsed already, or the stored segments holding them (checked and parsed here). */
export type RowInput = { rows: ScanRow[] } | { segments: SegmentBytes };

function rowsOf(input: RowInput): ScanRow[] {
  return 'rows' in input ? input.rows : rowsFromSegments(input.segments);
}

export interface MapTask {
  kind: 'map';
  input: RowInput;
  /** Global index of rows[0]. */
  start: number;
  parts: MapParts;
}

export interface MapResult {
  kind: 'map';
  /** `idsDigest` of the rows read, for the worker to check against the coordinator's. */
  ids: string;
  secrets?: SecretsPart;
  pii?: PiiPart;
  /** `contentHashes` of the shard's rows. */
  content?: { hashes: Uint32Array; flags: Uint8Array };
  /**
   * MinHash per row (flags and normalised-text hash), and the band hashes split by LSH
   * partition: per partition one array, `bands` entry counts first, then per band its
   * (global row, hash) pairs in row order. Rows without text are left out (never candidates).
   */
  minhash?: { flags: Uint8Array; textHash: Uint32Array; partitions: Uint32Array[] };
  seconds: Record<string, number>;
}

export interface LshTask {
  kind: 'lsh';
  perBand: BandEntries[];
  rows: number;
  fullBucket: number;
}

export interface LshResult {
  kind: 'lsh';
  candidates: CandidatePairs;
  seconds: number;
}

export interface DetectorTask {
  kind: 'detector';
  input: RowInput;
  detectors: string[];
  plan: PlanOptions;
}

export interface DetectorTaskResult {
  kind: 'detector';
  ids: string;
  runs: { id: string; result: DetectorResult; seconds: number }[];
}

export interface FoldTask {
  kind: 'fold';
  input: RowInput;
  fold: number;
  plan: PlanOptions;
}

export interface FoldResult {
  kind: 'fold';
  ids: string;
  seconds: number;
  /**
   * The detector's result when it does not run (every fold says the same); nothing when the data
   * has fewer folds than this one; else the fold's rows and probabilities, and on fold 0 what
   * `finishLabelIssues` needs.
   */
  outcome:
    | { skipped: DetectorResult }
    | { none: true }
    | { rows: Int32Array; P: Float32Array; finish?: LabelFinish };
}

export type Task = MapTask | LshTask | DetectorTask | FoldTask;
export type TaskResult = MapResult | LshResult | DetectorTaskResult | FoldResult;

export const LABEL_DETECTOR = 'label/confident-learning';

/** Typed arrays of a result, to move them between threads without copying. */
export function transferables(result: TaskResult): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  const add = (a: ArrayBufferView): void => {
    if (a.buffer instanceof ArrayBuffer && !out.includes(a.buffer)) out.push(a.buffer);
  };
  if (result.kind === 'map') {
    if (result.content) {
      add(result.content.hashes);
      add(result.content.flags);
    }
    if (result.minhash) {
      add(result.minhash.flags);
      add(result.minhash.textHash);
      for (const p of result.minhash.partitions) add(p);
    }
  } else if (result.kind === 'lsh') add(result.candidates.pairs);
  else if (result.kind === 'fold' && 'rows' in result.outcome) {
    add(result.outcome.rows);
    add(result.outcome.P);
    if (result.outcome.finish) add(result.outcome.finish.y);
  }
  return out;
}

export async function runTask(task: Task, progress: (f: number) => void): Promise<TaskResult> {
  switch (task.kind) {
    case 'map':
      return runMap(task, progress);
    case 'lsh': {
      const t0 = performance.now();
      const candidates = lshPartitionCandidates(task.perBand, task.rows, task.fullBucket);
      progress(1);
      return { kind: 'lsh', candidates, seconds: (performance.now() - t0) / 1000 };
    }
    case 'detector':
      return runDetectors(task, progress);
    case 'fold':
      return runFold(task, progress);
  }
}

function runFold(task: FoldTask, progress: (f: number) => void): FoldResult {
  const t0 = performance.now();
  const rows = rowsOf(task.input);
  const ids = idsDigest(rows.map((r) => r.id));
  const entry = defaultPlan(task.plan).detectors.find((d) => d.detector.id === LABEL_DETECTOR);
  if (!entry) throw new Error(`detector ${LABEL_DETECTOR} is not in the scan plan`);
  const prepared = setupLabelIssues(rows, entry.options as LabelIssueDetectorOptions, (f) =>
    progress(f * 2),
  );
  const done = (outcome: FoldResult['outcome']): FoldResult => {
    progress(1);
    return { kind: 'fold', ids, seconds: (performance.now() - t0) / 1000, outcome };
  };
  if ('skipped' in prepared) return done({ skipped: prepared.skipped });
  const setup = prepared.setup;
  if (task.fold >= setup.folds) return done({ none: true });
  const { rows: foldRows, P } = labelFoldProba(setup, task.fold);
  if (task.fold !== 0) return done({ rows: foldRows, P });
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { feats, foldOf, ...finish } = setup;
  return done({ rows: foldRows, P, finish });
}

async function runMap(task: MapTask, progress: (f: number) => void): Promise<MapResult> {
  const rows = rowsOf(task.input);
  const parts = task.parts;
  const n = rows.length;
  const out: MapResult = { kind: 'map', ids: idsDigest(rows.map((r) => r.id)), seconds: {} };
  // Progress shares: rough relative costs per row.
  const weights = {
    exact: parts.exact ? 1 : 0,
    minhash: parts.minhash ? 8 : 0,
    secrets: parts.secrets ? 1 : 0,
    pii: parts.pii ? 1 : 0,
  };
  const total = weights.exact + weights.minhash + weights.secrets + weights.pii || 1;
  let done = 0;
  const step = (w: number, f: number): void => progress((done + w * f) / total);
  const time = async (id: string, w: number, fn: () => Promise<void> | void): Promise<void> => {
    const t0 = performance.now();
    await fn();
    out.seconds[id] = (performance.now() - t0) / 1000;
    done += w;
    progress(done / total);
  };

  if (parts.exact) {
    const useFeatures = parts.exact.useFeatures;
    await time('dup/exact', weights.exact, () => {
      const hashes = new Uint32Array(2 * n);
      const flags = new Uint8Array(n);
      for (let s = 0; s < n; s += EXACT_PROGRESS_EVERY) {
        const e = Math.min(n, s + EXACT_PROGRESS_EVERY);
        contentHashes(rows, s, e, useFeatures, hashes.subarray(2 * s), flags.subarray(s));
        step(weights.exact, e / n);
      }
      out.content = { hashes, flags };
    });
  }
  if (parts.minhash) {
    const { options, partitions } = parts.minhash;
    await time('dup/minhash', weights.minhash, () => {
      out.minhash = minhashShard(rows, task.start, options, partitions, (f) =>
        step(weights.minhash, f),
      );
    });
  }
  if (parts.secrets) {
    const options = parts.secrets;
    await time('leak/secrets', weights.secrets, async () => {
      out.secrets = await scanSecretRows(rows, 0, n, options, (f) => step(weights.secrets, f));
    });
  }
  if (parts.pii) {
    const options = parts.pii;
    await time('leak/pii', weights.pii, () => {
      out.pii = scanPiiRange(rows, 0, n, options);
    });
  }
  return out;
}

/** MinHash signatures of a shard, kept as flags, text hashes and partitioned band hashes. */
function minhashShard(
  rows: readonly ScanRow[],
  start: number,
  options: NonNullable<MapParts['minhash']>['options'],
  partitions: number,
  progress: (f: number) => void,
): NonNullable<MapResult['minhash']> {
  const params = minhashParams(options);
  const perms = permutationParams(params);
  const n = rows.length;
  const B = params.bands;
  const texts = rows.map((r) => r.text);
  const flags = new Uint8Array(n);
  const textHash = new Uint32Array(2 * n);
  const bands = new Uint32Array(B * n);
  for (let s = 0; s < n; s += MINHASH_CHUNK_ROWS) {
    const e = Math.min(n, s + MINHASH_CHUNK_ROWS);
    const block = minhashSignatures(texts, s, e, params, perms);
    bandHashes(block.signatures, e - s, params, bands, n, s);
    flags.set(block.flags, s);
    textHash.set(block.textHash, 2 * s);
    progress((0.9 * e) / Math.max(1, n));
  }
  // Count entries per (partition, band), then fill each partition's array.
  const counts = new Int32Array(partitions * B);
  for (let j = 0; j < B; j++)
    for (let i = 0; i < n; i++)
      if ((flags[i] as number) & SIG_VALID) {
        const p = bandPartition(bands[j * n + i] as number, partitions);
        counts[p * B + j] = (counts[p * B + j] as number) + 1;
      }
  const out: Uint32Array[] = [];
  const cursor = new Int32Array(partitions * B);
  for (let p = 0; p < partitions; p++) {
    let entries = 0;
    for (let j = 0; j < B; j++) entries += counts[p * B + j] as number;
    const arr = new Uint32Array(B + 2 * entries);
    let at = B;
    for (let j = 0; j < B; j++) {
      const c = counts[p * B + j] as number;
      arr[j] = c;
      cursor[p * B + j] = at;
      at += 2 * c;
    }
    out.push(arr);
  }
  for (let j = 0; j < B; j++)
    for (let i = 0; i < n; i++) {
      if (!((flags[i] as number) & SIG_VALID)) continue;
      const h = bands[j * n + i] as number;
      const p = bandPartition(h, partitions);
      const arr = out[p] as Uint32Array;
      const at = cursor[p * B + j] as number;
      arr[at] = start + i;
      arr[at + 1] = h;
      cursor[p * B + j] = at + 2;
    }
  progress(1);
  return { flags, textHash, partitions: out };
}

/**
 * One LSH partition's input from every shard's array for it (shards in order, so rows stay
 * ascending), keeping only active rows.
 */
export function partitionEntries(
  shardArrays: readonly Uint32Array[],
  bands: number,
  active: Uint8Array,
): BandEntries[] {
  const perBand: BandEntries[] = [];
  const offsets = shardArrays.map(() => bands);
  for (let j = 0; j < bands; j++) {
    let total = 0;
    for (const arr of shardArrays) total += arr[j] as number;
    const rows = new Int32Array(total);
    const hashes = new Uint32Array(total);
    let m = 0;
    shardArrays.forEach((arr, k) => {
      const c = arr[j] as number;
      let at = offsets[k] as number;
      for (let q = 0; q < c; q++, at += 2) {
        const row = arr[at] as number;
        if (!active[row]) continue;
        rows[m] = row;
        hashes[m] = arr[at + 1] as number;
        m++;
      }
      offsets[k] = at;
    });
    perBand.push({ rows: rows.slice(0, m), hashes: hashes.slice(0, m) });
  }
  return perBand;
}

async function runDetectors(
  task: DetectorTask,
  progress: (f: number) => void,
): Promise<DetectorTaskResult> {
  const rows = rowsOf(task.input);
  const ids = idsDigest(rows.map((r) => r.id));
  const plan = defaultPlan(task.plan);
  const runs: DetectorTaskResult['runs'] = [];
  const count = task.detectors.length;
  for (let k = 0; k < count; k++) {
    const id = task.detectors[k]!;
    const entry = plan.detectors.find((d) => d.detector.id === id);
    if (!entry) throw new Error(`detector ${id} is not in the scan plan`);
    const t0 = performance.now();
    const result = await entry.detector.run(rows, entry.options, (f) =>
      progress((k + Math.min(1, Math.max(0, f))) / count),
    );
    runs.push({ id, result, seconds: (performance.now() - t0) / 1000 });
    progress((k + 1) / count);
  }
  return { kind: 'detector', ids, runs };
}
