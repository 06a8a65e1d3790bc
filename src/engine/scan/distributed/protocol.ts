/**
 * What the coordinator and the workers of a distributed scan agree on: queue and key names, job
 * payloads, and how results travel through Redis. Both sides must run the same protocol version
 * (and, for results equal to the last bit, the same Cordon and Node versions).
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { deserialize, serialize } from 'node:v8';
import { createHash } from 'node:crypto';
import type { MinhashOptions } from '../../../core/scan/minhash-lsh.js';
import type { PiiOptions } from '../../../core/scan/pii.js';
import type { PlanOptions } from '../../../core/scan/registry.js';
import type { SecretsOptions } from '../../../core/scan/secrets.js';
import type { WorkspaceConfig } from '../../workspace.js';

/** Bumped whenever a payload or key layout changes: a worker refuses jobs of another version. */
export const PROTOCOL = 1;

/** BullMQ key prefix when none is given. */
export const DEFAULT_PREFIX = 'cordon';

/** Redis URL when $CORDON_REDIS_URL is not set. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** Intermediate results expire after a day even if the coordinator died before cleaning up. */
export const RESULT_TTL_SECONDS = 24 * 3600;

/** Attempts per job (the first run included) before the scan fails. */
export const DEFAULT_ATTEMPTS = 3;

/**
 * The scan queue of one workspace: `scan-<12 hex>`, from the workspace's creator and creation
 * time. Workers attached to another workspace listen on another queue, so they never take a job
 * whose objects they cannot read.
 */
export function queueName(config: Pick<WorkspaceConfig, 'identity' | 'createdAt'>): string {
  const id = createHash('sha256')
    .update(`${config.identity}\n${config.createdAt}`)
    .digest('hex')
    .slice(0, 12);
  return `scan-${id}`;
}

/** Where a scan's intermediate results live in Redis. */
export function dataKey(prefix: string, scan: string, ...parts: (string | number)[]): string {
  return [prefix, 'scan-data', scan, ...parts].join(':');
}

/** BullMQ job id (no colons allowed): unique per scan and task, so a retry reuses it. */
export function jobId(scan: string, ...parts: (string | number)[]): string {
  return [scan, ...parts].join('-');
}

/** One stored segment as the scan reads it: which of its lines are rows of the snapshot. */
export interface SegmentSlice {
  digest: string;
  /** Indices of the segment's lines that are rows, ascending; null when every line is. */
  lines: number[] | null;
  rows: number;
}

/**
 * The scan's rows in order: the snapshot's segments as `rowsFromSnapshot` reads them. Workers
 * read their rows from the blob store through it, without the manifest.
 */
export interface RowLayout {
  segments: SegmentSlice[];
  rows: number;
}

/** What a map job computes over its shard; absent parts are not in the plan. */
export interface MapParts {
  secrets?: SecretsOptions;
  pii?: PiiOptions;
  exact?: { useFeatures: boolean };
  minhash?: { options: MinhashOptions; partitions: number };
}

interface JobBase {
  protocol: number;
  /** Scan id: names the jobs and the Redis keys of this scan. */
  scan: string;
  /** Redis key prefix of the scan's data (`dataKey`). */
  prefix: string;
}

/** Row-local detectors over rows [start, end). */
export interface MapJob extends JobBase {
  kind: 'map';
  shard: number;
  start: number;
  end: number;
  /** SHA-256 of the shard's row ids joined by "\n": the worker checks it read the same rows. */
  ids: string;
  parts: MapParts;
}

/** LSH buckets whose band hash falls in one partition, over every shard's band hashes. */
export interface LshJob extends JobBase {
  kind: 'lsh';
  partition: number;
  shards: number;
  rows: number;
  bands: number;
  fullBucket: number;
}

/** Whole-dataset detectors (one group: the kNN trio shares its graph) over every row. */
export interface DetectorJob extends JobBase {
  kind: 'detector';
  group: string;
  detectors: string[];
  plan: PlanOptions;
  ids: string;
}

/**
 * One fold of `label/confident-learning` (with `splitFolds`): the model trained on the other
 * folds predicts this fold's rows. Fold 0 also returns what the findings need.
 */
export interface FoldJob extends JobBase {
  kind: 'fold';
  fold: number;
  plan: PlanOptions;
  ids: string;
}

export type ScanJob = MapJob | LshJob | DetectorJob | FoldJob;

/** What a job returns through BullMQ (results themselves are stored under `dataKey`). */
export interface JobReturn {
  /** Compute seconds per detector id (map jobs) or per group member (detector jobs). */
  seconds: Record<string, number>;
  rows: number;
  /** The job's wall time on the worker: reading rows and results, computing, storing. */
  wallSeconds: number;
}

/** Hash of row ids, to check that two processes hold the same rows in the same order. */
export function idsDigest(ids: Iterable<string>): string {
  const h = createHash('sha256');
  let first = true;
  for (const id of ids) {
    if (!first) h.update('\n');
    h.update(id);
    first = false;
  }
  return h.digest('hex');
}

/**
 * Encodes a result for Redis: V8's structured-clone format, which keeps typed arrays, NaN, −0
 * and undefined exactly (JSON would not), gzip-compressed when asked (issue lists).
 */
export function encode(value: unknown, compress = false): Buffer {
  const raw = serialize(value);
  const body = compress ? gzipSync(raw, { level: 1 }) : raw;
  return Buffer.concat([Buffer.from([compress ? 1 : 0]), body]);
}

export function decode<T>(buf: Buffer): T {
  const body = buf.subarray(1);
  return deserialize(buf[0] === 1 ? gunzipSync(body) : body) as T;
}
