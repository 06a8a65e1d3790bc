/**
 * The coordinator of a distributed scan (docs/SCAN.md, "Distributed scans"). It reads the
 * snapshot, cuts its rows into contiguous shards and queues the work on BullMQ; workers
 * (worker.ts) do the computing; the coordinator merges their results into the report a
 * single-process `runScan` of the same rows gives.
 *
 * Phases (all jobs of one scan share a random scan id; job ids are scan id + task, so a retried
 * job replaces its earlier results and the merge reads exactly one result per shard):
 * 1. detector jobs, one per whole-dataset detector (the kNN trio as one group: it shares one
 *    graph), each over every row, queued first, heaviest first;
 * 2. map jobs, one per shard: secrets, PII, content hashes for dup/exact, MinHash signatures
 *    with the band hashes split into LSH partitions by hash;
 * 3. once every map is in: the exact-duplicate groups and the MinHash exact-copy mask are built
 *    here, then one LSH job per partition buckets every shard's band hashes of that partition
 *    (a bucket lives in exactly one partition) into candidate pairs;
 * 4. here: candidates merged and confirmed by exact Jaccard, class balance, source attribution,
 *    the report.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Queue, QueueEvents, type Job } from 'bullmq';
import { CordonError } from '../../../core/errors.js';
import {
  EXACT_USE_FEATURES,
  findExactDuplicates,
  type ExactDuplicateOptions,
} from '../../../core/scan/exact-duplicates.js';
import {
  confirmNearDuplicates,
  markTextCopies,
  mergeCandidates,
  MINHASH_FULL_BUCKET,
  minhashBaseSummary,
  minhashParams,
  minhashTooFewRows,
  type CandidatePairs,
  type MinhashOptions,
} from '../../../core/scan/minhash-lsh.js';
import {
  finishLabelIssues,
  type LabelIssueDetectorOptions,
} from '../../../core/scan/label-issues.js';
import { DEFAULT_FOLDS } from '../../../core/scan/linear-model.js';
import { piiResult, type PiiOptions, type PiiPart } from '../../../core/scan/pii.js';
import { defaultPlan, type PlanOptions } from '../../../core/scan/registry.js';
import { buildReport, type DetectorRun, type ScanReport } from '../../../core/scan/report.js';
import {
  secretsResult,
  type SecretsOptions,
  type SecretsPart,
} from '../../../core/scan/secrets.js';
import type { DetectorResult, ScanRow } from '../../../core/scan/types.js';
import type { SnapshotRow } from '../../../store/metadata-store.js';
import type { Workspace } from '../../workspace.js';
import {
  dataKey,
  DEFAULT_ATTEMPTS,
  DEFAULT_PREFIX,
  idsDigest,
  jobId,
  PROTOCOL,
  queueName,
  type DetectorJob,
  type FoldJob,
  type JobReturn,
  type LshJob,
  type MapJob,
  type MapParts,
  type ScanJob,
} from './protocol.js';
import { bullConnection, dataClient, getValue, pingRedis, putAll } from './redis.js';
import { loadSnapshotRows } from './rows.js';
import { LABEL_DETECTOR, type DetectorTaskResult, type FoldResult } from './tasks.js';

/** Detectors whose work is split by rows; every other one runs whole, in a job of its own. */
const SHARDED = new Set(['dup/exact', 'dup/minhash', 'leak/secrets', 'leak/pii']);
/** Cheap dataset-level detectors run by the coordinator itself. */
const LOCAL = new Set(['drift/class-balance']);
/** Detectors that share one kNN graph: one job for the three. */
const KNN_GROUP = ['dup/vector', 'outlier/knn', 'label/knn'];

/** Rough cost per row of each kind of work (for progress shares and job order only). */
const COST: Record<string, number> = {
  'dup/exact': 1,
  'dup/minhash': 8,
  'leak/secrets': 1,
  'leak/pii': 1,
  'label/confident-learning': 30,
  knn: 8,
  'trigger/token-stat': 7,
  'trigger/spectral': 2,
  'trigger/feature-patch': 0.5,
  lsh: 1,
};

/** Rows per shard when the caller does not say: enough work per job to hide its overhead. */
export const DEFAULT_SHARD_ROWS = 50_000;
/** Shards at most. */
export const MAX_SHARDS = 1024;

export interface DistributedScanOptions {
  redisUrl: string;
  /** BullMQ key prefix (workers must use the same). Default "cordon". */
  prefix?: string;
  /** Contiguous row shards (default: one per DEFAULT_SHARD_ROWS rows). */
  shards?: number;
  /** LSH partitions (default: as many as shards). */
  partitions?: number;
  /** The scan plan: detector selection, spectral, baseline (as for `defaultPlan`). */
  plan?: PlanOptions;
  /**
   * Run `label/confident-learning` as one job per fold instead of one job: the slowest detector
   * then spreads over up to 5 workers, at the cost of each fold job featurising every row.
   * Worth it with several workers; the report is the same either way.
   */
  splitFolds?: boolean;
  /** Attempts per job before the scan fails (default 3). */
  attempts?: number;
  onProgress?: (progress: DistributedProgress) => void;
  /** Cancels the scan: queued jobs are removed, running ones finish and their results expire. */
  signal?: AbortSignal;
}

export interface DistributedProgress {
  phase: 'load' | 'queued' | 'map' | 'lsh' | 'merge' | 'done';
  /** Share of the whole scan done, 0..1, never decreasing. */
  fraction: number;
  jobsDone: number;
  jobsTotal: number;
  /** Workers connected to the queue when the jobs were queued (undefined if unknown). */
  workers?: number;
  /** Something the user should know, such as no worker serving the queue. */
  message?: string;
}

export interface JobStat {
  id: string;
  kind: ScanJob['kind'];
  /** Times a worker started it (more than 1: retried after a failure or a lost worker). */
  attemptsStarted: number;
  /** Times it was taken back from a worker that stopped renewing its lock. */
  stalled: number;
  worker: string | undefined;
}

export interface DistributedScanResult {
  report: ScanReport;
  rows: ScanRow[];
  scan: string;
  queue: string;
  shards: number;
  partitions: number;
  jobs: JobStat[];
  /** Where the time went (seconds), for benchmarks and tuning; not part of the report. */
  timeline: Timeline;
}

export interface Timeline {
  /** Seconds from the start until: rows read, jobs queued, every map in, every LSH job in, every whole-dataset detector in, report built. */
  at: Record<'loaded' | 'queued' | 'maps' | 'lsh' | 'detectors' | 'report', number>;
  /** Per kind of job: jobs, their summed wall time on the workers, and of it, computing. */
  jobs: Record<ScanJob['kind'], { jobs: number; wallSeconds: number; computeSeconds: number }>;
}

interface Tracked {
  id: string;
  kind: ScanJob['kind'];
  weight: number;
  progress: number;
}

/** Runs a scan of a stored snapshot on the workers serving the workspace's queue. */
export async function runDistributedScan(
  ws: Workspace,
  snapshot: SnapshotRow,
  options: DistributedScanOptions,
): Promise<DistributedScanResult> {
  const start = performance.now();
  const signal = options.signal;
  signal?.throwIfAborted();
  await pingRedis(options.redisUrl);
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const queue = queueName(ws.config);
  const scan = randomBytes(8).toString('hex');
  const attempts = Math.max(1, options.attempts ?? DEFAULT_ATTEMPTS);
  const planOptions: PlanOptions = options.plan ?? {};
  const plan = defaultPlan(planOptions);

  let fraction = 0;
  const tracked = new Map<string, Tracked>();
  let workers: number | undefined;
  const report = (phase: DistributedProgress['phase'], message?: string): void => {
    let total = 0;
    let done = 0;
    let finished = 0;
    for (const t of tracked.values()) {
      total += t.weight;
      done += t.weight * t.progress;
      if (t.progress >= 1) finished++;
    }
    // Jobs are 95 % of the work; loading and merging here the rest.
    const f = phase === 'done' ? 1 : total > 0 ? 0.02 + (0.93 * done) / total : 0;
    fraction = Math.max(fraction, f);
    options.onProgress?.({
      phase,
      fraction,
      jobsDone: finished,
      jobsTotal: tracked.size,
      ...(workers !== undefined ? { workers } : {}),
      ...(message !== undefined ? { message } : {}),
    });
  };
  let phase: DistributedProgress['phase'] = 'load';
  report(phase);

  const since = (): number => (performance.now() - start) / 1000;
  const at: Timeline['at'] = { loaded: 0, queued: 0, maps: 0, lsh: 0, detectors: 0, report: 0 };
  const byKind: Timeline['jobs'] = {
    map: { jobs: 0, wallSeconds: 0, computeSeconds: 0 },
    lsh: { jobs: 0, wallSeconds: 0, computeSeconds: 0 },
    detector: { jobs: 0, wallSeconds: 0, computeSeconds: 0 },
    fold: { jobs: 0, wallSeconds: 0, computeSeconds: 0 },
  };
  const account = (kind: ScanJob['kind'], returns: readonly JobReturn[]): void => {
    for (const r of returns) {
      byKind[kind].jobs++;
      byKind[kind].wallSeconds += r.wallSeconds;
      for (const s of Object.values(r.seconds)) byKind[kind].computeSeconds += s;
    }
  };
  const { rows, layout } = await loadSnapshotRows(ws, snapshot);
  at.loaded = since();
  signal?.throwIfAborted();
  const n = rows.length;
  const shards = Math.max(
    1,
    Math.min(options.shards ?? Math.ceil(n / DEFAULT_SHARD_ROWS), MAX_SHARDS, Math.max(1, n)),
  );
  const partitions = Math.max(1, Math.min(options.partitions ?? shards, 256));
  const bounds = Array.from({ length: shards + 1 }, (_, k) => Math.floor((k * n) / shards));

  // What runs where.
  const entries = plan.detectors;
  /** A detector's options in the plan (an options object, possibly empty). */
  const optionsOf = <T extends object>(id: string): T =>
    (entries.find((e) => e.detector.id === id)?.options ?? {}) as T;
  const inPlan = (id: string): boolean => entries.some((e) => e.detector.id === id);
  const parts: MapParts = {};
  if (inPlan('dup/exact'))
    parts.exact = {
      useFeatures: optionsOf<ExactDuplicateOptions>('dup/exact').useFeatures ?? EXACT_USE_FEATURES,
    };
  if (inPlan('dup/minhash'))
    parts.minhash = { options: optionsOf<MinhashOptions>('dup/minhash'), partitions };
  if (inPlan('leak/secrets')) parts.secrets = optionsOf<SecretsOptions>('leak/secrets');
  if (inPlan('leak/pii')) parts.pii = optionsOf<PiiOptions>('leak/pii');
  const splitFolds = options.splitFolds === true && inPlan(LABEL_DETECTOR);
  const folds = Math.max(
    2,
    optionsOf<LabelIssueDetectorOptions>(LABEL_DETECTOR).folds ?? DEFAULT_FOLDS,
  );
  const groups = new Map<string, string[]>();
  for (const e of entries) {
    const id = e.detector.id;
    if (SHARDED.has(id) || LOCAL.has(id) || (splitFolds && id === LABEL_DETECTOR)) continue;
    const group = KNN_GROUP.includes(id) ? 'knn' : id.replace(/[^A-Za-z0-9_-]/g, '_');
    groups.set(group, [...(groups.get(group) ?? []), id]);
  }
  const groupCost = (group: string, ids: string[]): number =>
    group === 'knn' ? (COST.knn ?? 1) : ids.reduce((s, id) => s + (COST[id] ?? 5), 0);
  const partDetector: Record<keyof MapParts, string> = {
    exact: 'dup/exact',
    minhash: 'dup/minhash',
    secrets: 'leak/secrets',
    pii: 'leak/pii',
  };
  const mapCost = (Object.keys(parts) as (keyof MapParts)[]).reduce(
    (s, p) => s + (COST[partDetector[p]] ?? 1),
    0,
  );

  const redis = dataClient(options.redisUrl);
  const connection = bullConnection(options.redisUrl);
  const q = new Queue<ScanJob, JobReturn>(queue, { connection, prefix });
  const events = new QueueEvents(queue, { connection, prefix });
  events.setMaxListeners(0);
  const jobs = new Map<string, Job<ScanJob, JobReturn>>();
  const aborted = new Promise<never>((_, reject) => {
    if (!signal) return;
    const onAbort = (): void =>
      reject(signal.reason instanceof Error ? signal.reason : new Error('scan cancelled'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);

  const onEvent = (id: string, progress: number): void => {
    const t = tracked.get(id);
    if (!t) return;
    t.progress = Math.max(t.progress, Math.min(1, progress));
    report(phase);
  };
  events.on('progress', ({ jobId: id, data }) => {
    if (typeof data === 'number') onEvent(id, data);
  });
  events.on('completed', ({ jobId: id }) => onEvent(id, 1));

  const add = async (
    items: { id: string; data: ScanJob; weight: number }[],
  ): Promise<Job<ScanJob, JobReturn>[]> => {
    for (const it of items)
      tracked.set(it.id, { id: it.id, kind: it.data.kind, weight: it.weight, progress: 0 });
    const added = await q.addBulk(
      items.map((it) => ({
        name: it.data.kind,
        data: it.data,
        opts: {
          jobId: it.id,
          attempts,
          backoff: { type: 'exponential', delay: 1000 },
        },
      })),
    );
    for (const job of added) jobs.set(job.id!, job);
    return added;
  };
  /** Waits for jobs; the first that fails for good (or a cancel) fails the scan. */
  const finish = async (list: Job<ScanJob, JobReturn>[]): Promise<JobReturn[]> => {
    const waits = list.map((job) =>
      job.waitUntilFinished(events).then(
        (r) => r,
        (e: unknown) => {
          throw new CordonError(
            'INTERNAL',
            `scan job ${job.id} failed (after up to ${attempts} attempts): ${e instanceof Error ? e.message : String(e)}`,
          );
        },
      ),
    );
    return Promise.race([Promise.all(waits), aborted]);
  };

  try {
    await events.waitUntilReady();
    const base = { protocol: PROTOCOL, scan, prefix };
    await putAll(redis, [{ key: dataKey(prefix, scan, 'layout'), value: layout }]);

    // 1. Whole-dataset detectors (and folds), heaviest first.
    const allIds = groups.size > 0 || splitFolds ? idsDigest(rows.map((r) => r.id)) : '';
    const detectorJobs = await add(
      [
        ...[...groups.entries()].map(([group, detectors]) => ({
          id: jobId(scan, 'detector', group),
          data: {
            ...base,
            kind: 'detector',
            group,
            detectors,
            plan: planOptions,
            ids: allIds,
          } satisfies DetectorJob,
          weight: n * groupCost(group, detectors),
        })),
        ...Array.from({ length: splitFolds ? folds : 0 }, (_, fold) => ({
          id: jobId(scan, 'fold', fold),
          data: { ...base, kind: 'fold', fold, plan: planOptions, ids: allIds } satisfies FoldJob,
          // Each fold featurises every row and trains on (folds − 1) / folds of them once.
          weight: (n * (COST[LABEL_DETECTOR] ?? 1) * 1.3) / folds,
        })),
      ].sort((a, b) => b.weight - a.weight),
    );
    // 2. Shards.
    const needMaps = Object.keys(parts).length > 0;
    const mapJobs = needMaps
      ? await add(
          Array.from({ length: shards }, (_, k) => ({
            id: jobId(scan, 'map', k),
            data: {
              ...base,
              kind: 'map',
              shard: k,
              start: bounds[k]!,
              end: bounds[k + 1]!,
              ids: idsDigest(rows.slice(bounds[k], bounds[k + 1]).map((r) => r.id)),
              parts,
            } satisfies MapJob,
            weight: (bounds[k + 1]! - bounds[k]!) * mapCost,
          })),
        )
      : [];
    // The LSH jobs are counted from the start so the fraction does not jump back.
    const lshIds = Array.from({ length: partitions }, (_, p) => jobId(scan, 'lsh', p));
    if (parts.minhash)
      for (const id of lshIds)
        tracked.set(id, {
          id,
          kind: 'lsh',
          weight: (n * (COST.lsh ?? 1)) / partitions,
          progress: 0,
        });
    workers = await q.getWorkersCount().catch(() => undefined);
    at.queued = since();
    phase = 'queued';
    report(
      phase,
      workers === 0
        ? `no worker is serving queue ${queue} yet: start "cordon worker" with the same workspace and Redis`
        : undefined,
    );
    phase = 'map';
    const detectorsDone = finish(detectorJobs);
    detectorsDone.then(
      () => void (at.detectors = since()),
      () => undefined,
    );
    // A detector job failing for good fails the scan at once, whatever phase it is in.
    const alongside = <T>(p: Promise<T>): Promise<T> =>
      Promise.race([p, detectorsDone.then(() => p)]);
    const mapReturns = await alongside(finish(mapJobs));
    at.maps = since();
    account('map', mapReturns);

    // 3. Merge the shards (in shard order: row order).
    const runs = new Map<string, DetectorRun>();
    const seconds = new Map<string, number>();
    const addSeconds = (id: string, s: number): void =>
      void seconds.set(id, (seconds.get(id) ?? 0) + s);
    for (const r of mapReturns) for (const [id, s] of Object.entries(r.seconds)) addSeconds(id, s);
    const kindsOf = (id: string): DetectorRun['kinds'] =>
      entries.find((e) => e.detector.id === id)!.detector.meta.kinds;
    const setRun = (id: string, result: DetectorResult): void =>
      void runs.set(id, { id, kinds: kindsOf(id), result, seconds: seconds.get(id) ?? 0 });
    const mapKey = (k: number, ...rest: (string | number)[]): string =>
      dataKey(prefix, scan, 'map', k, ...rest);
    /** Shard k's first row, after checking a result of it covers exactly its rows. */
    const shardRows = (k: number, length: number): number => {
      const from = bounds[k]!;
      if (length !== bounds[k + 1]! - from)
        throw new CordonError(
          'INTERNAL',
          `shard ${k} returned ${length} rows, not ${bounds[k + 1]! - from}`,
        );
      return from;
    };

    if (parts.secrets || parts.pii) {
      const t0 = performance.now();
      const secretParts: SecretsPart[] = [];
      const piiParts: PiiPart[] = [];
      for (let k = 0; k < shards; k++) {
        const got = await getValue<{ secrets?: SecretsPart; pii?: PiiPart }>(
          redis,
          mapKey(k, 'parts'),
        );
        if (got.secrets) secretParts.push(got.secrets);
        if (got.pii) piiParts.push(got.pii);
      }
      const merge = (performance.now() - t0) / 1000;
      if (parts.secrets) {
        addSeconds('leak/secrets', merge);
        setRun('leak/secrets', secretsResult(n, secretParts, parts.secrets));
      }
      if (parts.pii) setRun('leak/pii', piiResult(n, piiParts, parts.pii));
    }
    if (parts.exact) {
      const t0 = performance.now();
      const hashes = new Uint32Array(2 * n);
      const flags = new Uint8Array(n);
      for (let k = 0; k < shards; k++) {
        const got = await getValue<{ hashes: Uint32Array; flags: Uint8Array }>(
          redis,
          mapKey(k, 'content'),
        );
        const at = shardRows(k, got.flags.length);
        hashes.set(got.hashes, 2 * at);
        flags.set(got.flags, at);
      }
      const result = findExactDuplicates(
        rows,
        optionsOf<ExactDuplicateOptions>('dup/exact'),
        undefined,
        { hashes, flags },
      );
      addSeconds('dup/exact', (performance.now() - t0) / 1000);
      setRun('dup/exact', result);
    }
    if (parts.minhash) {
      phase = 'lsh';
      let t0 = performance.now();
      const params = minhashParams(parts.minhash.options);
      let result: DetectorResult;
      if (n < 2) result = minhashTooFewRows(n, params);
      else {
        const flags = new Uint8Array(n);
        const textHash = new Uint32Array(2 * n);
        for (let k = 0; k < shards; k++) {
          const got = await getValue<{ flags: Uint8Array; textHash: Uint32Array }>(
            redis,
            mapKey(k, 'text'),
          );
          const at = shardRows(k, got.flags.length);
          flags.set(got.flags, at);
          textHash.set(got.textHash, 2 * at);
        }
        const copies = markTextCopies(rows, flags, textHash);
        const baseSummary = minhashBaseSummary(n, copies, params);
        if (baseSummary.skipped !== undefined) {
          result = { issues: [], summary: baseSummary.summary, skipped: baseSummary.skipped };
        } else {
          await putAll(redis, [{ key: dataKey(prefix, scan, 'active'), value: copies.active }]);
          addSeconds('dup/minhash', (performance.now() - t0) / 1000);
          const lshJobs = await add(
            lshIds.map((id, p) => ({
              id,
              data: {
                ...base,
                kind: 'lsh',
                partition: p,
                shards,
                rows: n,
                bands: params.bands,
                fullBucket: MINHASH_FULL_BUCKET,
              } satisfies LshJob,
              weight: (n * (COST.lsh ?? 1)) / partitions,
            })),
          );
          const lshReturns = await alongside(finish(lshJobs));
          at.lsh = since();
          account('lsh', lshReturns);
          for (const r of lshReturns)
            for (const [id, s] of Object.entries(r.seconds)) addSeconds(id, s);
          phase = 'merge';
          report(phase);
          t0 = performance.now();
          const candidates: CandidatePairs[] = [];
          for (let p = 0; p < partitions; p++)
            candidates.push(await getValue<CandidatePairs>(redis, dataKey(prefix, scan, 'lsh', p)));
          result = confirmNearDuplicates(
            rows,
            params,
            mergeCandidates(candidates, n),
            baseSummary.summary,
          );
        }
      }
      for (const id of lshIds) onEvent(id, 1);
      addSeconds('dup/minhash', (performance.now() - t0) / 1000);
      setRun('dup/minhash', result);
    }

    // 4. Coordinator-local detectors, then the whole-dataset ones as they come in.
    for (const e of entries) {
      const id = e.detector.id;
      if (!LOCAL.has(id)) continue;
      const t0 = performance.now();
      const result = await e.detector.run(rows, e.options);
      addSeconds(id, (performance.now() - t0) / 1000);
      setRun(id, result);
    }
    phase = 'merge';
    report(phase);
    (await detectorsDone).forEach((r, i) => account(detectorJobs[i]!.data.kind, [r]));
    if (splitFolds) {
      const t0 = performance.now();
      const outcomes: FoldResult['outcome'][] = [];
      for (let f = 0; f < folds; f++)
        outcomes.push(
          await getValue<FoldResult['outcome']>(redis, dataKey(prefix, scan, 'fold', f)),
        );
      const first = outcomes[0]!;
      let result: DetectorResult;
      if ('skipped' in first) result = first.skipped;
      else if (!('rows' in first) || !first.finish)
        throw new CordonError('INTERNAL', 'fold 0 of label/confident-learning returned nothing');
      else {
        const finishing = first.finish;
        const K = finishing.K;
        const P = new Float32Array(n * K);
        for (let f = 0; f < finishing.folds; f++) {
          const o = outcomes[f]!;
          if (!('rows' in o))
            throw new CordonError('INTERNAL', `fold ${f} of label/confident-learning is missing`);
          for (let r = 0; r < o.rows.length; r++)
            P.set(o.P.subarray(r * K, r * K + K), o.rows[r]! * K);
        }
        result = finishLabelIssues(rows, finishing, P);
      }
      addSeconds(LABEL_DETECTOR, (performance.now() - t0) / 1000);
      setRun(LABEL_DETECTOR, result);
    }
    for (const group of groups.keys()) {
      const got = await getValue<DetectorTaskResult['runs']>(
        redis,
        dataKey(prefix, scan, 'detector', group),
      );
      for (const r of got) {
        addSeconds(r.id, r.seconds);
        setRun(r.id, r.result);
      }
    }

    const ordered = entries.map((e) => {
      const run = runs.get(e.detector.id);
      if (!run) throw new CordonError('INTERNAL', `no result for detector ${e.detector.id}`);
      return run;
    });
    const issues = ordered.flatMap((r) => r.result.issues);
    const sources = plan.attribute(rows, issues);
    const scanReport = buildReport(rows, ordered, sources, (performance.now() - start) / 1000);

    const stats: JobStat[] = [];
    for (const id of jobs.keys()) {
      const job = await q.getJob(id);
      stats.push({
        id,
        kind: tracked.get(id)?.kind ?? 'map',
        attemptsStarted: job?.attemptsStarted ?? 0,
        stalled: job?.stalledCounter ?? 0,
        worker: job?.processedBy,
      });
    }
    phase = 'done';
    report(phase);
    at.report = since();
    return {
      report: scanReport,
      rows,
      scan,
      queue,
      shards,
      partitions,
      jobs: stats,
      timeline: { at, jobs: byKind },
    };
  } finally {
    await cleanup(q, [...jobs.keys()], redis, dataKey(prefix, scan));
    await events.close().catch(() => undefined);
    await q.close().catch(() => undefined);
    redis.disconnect();
  }
}

/**
 * Removes the scan's jobs and intermediate data. A job still running (cancelled scan) cannot be
 * removed; its results expire with the key TTL.
 */
async function cleanup(
  q: Queue<ScanJob, JobReturn>,
  ids: readonly string[],
  redis: ReturnType<typeof dataClient>,
  keyBase: string,
): Promise<void> {
  for (const id of ids) await q.remove(id).catch(() => undefined);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyBase}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } catch {
    // Best effort: everything left expires on its own.
  }
}
