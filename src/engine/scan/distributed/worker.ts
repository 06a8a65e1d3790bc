/**
 * A scan worker: takes jobs of distributed scans from the workspace's BullMQ queue, reads the
 * rows they name from the workspace's blob store, computes in threads of its own, and leaves the
 * results in Redis for the coordinator. Any number of workers on any number of machines may serve
 * one queue; they need the same workspace (a shared folder today) and the same Redis.
 *
 * A worker that dies mid-job stops renewing the job's lock; once the lock expires another worker
 * (any worker runs the stalled-job check) moves the job back to the queue and it runs again. Each
 * job writes its results under keys named by scan and shard or partition, so a rerun replaces
 * them and nothing is counted twice.
 */
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { faultPoint } from '../../fault.js';
import { openWorkspace, type Workspace } from '../../workspace.js';
import { ComputePool } from './compute-pool.js';
import {
  dataKey,
  DEFAULT_PREFIX,
  PROTOCOL,
  queueName,
  type DetectorJob,
  type FoldJob,
  type JobReturn,
  type LshJob,
  type MapJob,
  type RowLayout,
  type ScanJob,
} from './protocol.js';
import { bullConnection, dataClient, getValue, pingRedis, putAll } from './redis.js';
import { readLayoutSegments } from './rows.js';
import {
  LABEL_DETECTOR,
  partitionEntries,
  type DetectorTaskResult,
  type FoldResult,
  type LshResult,
  type MapResult,
} from './tasks.js';

export interface ScanWorkerOptions {
  redisUrl: string;
  /** The workspace, open already or as a folder to open (and close again on shutdown). */
  workspace: Workspace | string;
  /** Jobs processed at once (each in its own compute thread). Default 1. */
  concurrency?: number;
  /** BullMQ key prefix; coordinator and workers must agree. Default "cordon". */
  prefix?: string;
  /** Stops the worker (gracefully: running jobs finish first). */
  signal?: AbortSignal;
  /**
   * How long a job's lock lasts without renewal (ms, default 30,000): how soon a killed worker's
   * job goes back to the queue. Renewed every half of it while the job runs.
   */
  lockDurationMs?: number;
  /** How often this worker looks for jobs whose lock expired (ms, default 30,000). */
  stalledIntervalMs?: number;
  /** Run jobs in compute threads (default true; in process when no compiled output exists). */
  threads?: boolean;
  /** Name recorded on the jobs this worker processes. Default host:pid. */
  name?: string;
  onEvent?: (event: WorkerEvent) => void;
}

export interface WorkerEvent {
  type: 'ready' | 'active' | 'completed' | 'failed' | 'error' | 'closed';
  job?: string;
  message?: string;
}

export interface ScanWorkerHandle {
  queue: string;
  name: string;
  /** Whether jobs run in compute threads. */
  threaded: boolean;
  /** Stops taking jobs, lets running ones finish (`force`: abandons them), releases everything. */
  close(force?: boolean): Promise<void>;
  /** Settles once the worker is closed. */
  closed: Promise<void>;
}

export async function startScanWorker(options: ScanWorkerOptions): Promise<ScanWorkerHandle> {
  await pingRedis(options.redisUrl);
  const ownWorkspace = typeof options.workspace === 'string';
  const ws =
    typeof options.workspace === 'string'
      ? await openWorkspace(options.workspace)
      : options.workspace;
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const queue = queueName(ws.config);
  const name = options.name ?? `${hostname()}:${process.pid}`;
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const pool = new ComputePool(concurrency, options.threads ?? true);
  const redis = dataClient(options.redisUrl);
  const emit = (e: WorkerEvent): void => options.onEvent?.(e);
  const layouts = new Map<string, Promise<RowLayout>>();

  const layoutOf = (job: ScanJob): Promise<RowLayout> => {
    let p = layouts.get(job.scan);
    if (!p) {
      p = getValue<RowLayout>(redis, dataKey(job.prefix, job.scan, 'layout'));
      p.catch(() => layouts.delete(job.scan));
      layouts.set(job.scan, p);
      // A worker serves many scans over its life: keep only recent layouts.
      if (layouts.size > 8) layouts.delete(layouts.keys().next().value!);
    }
    return p;
  };

  const checkIds = (actual: string, expected: string, what: string): void => {
    if (actual !== expected)
      throw new UnrecoverableError(
        `${what}: the rows read from the workspace are not the coordinator's (different workspace or snapshot?)`,
      );
  };

  /** Progress to BullMQ: at most every 250 ms, in order, never failing the job. */
  const progressOf = (job: Job): ((f: number) => void) => {
    let last = 0;
    let chain = Promise.resolve();
    return (f: number) => {
      const now = Date.now();
      if (f < 1 && now - last < 250) return;
      last = now;
      const value = Math.round(Math.min(1, Math.max(0, f)) * 1000) / 1000;
      chain = chain.then(() => job.updateProgress(value)).catch(() => undefined);
    };
  };

  type Work = Omit<JobReturn, 'wallSeconds'>;
  const runMap = async (job: Job, data: MapJob): Promise<Work> => {
    const layout = await layoutOf(data);
    const segments = await readLayoutSegments(ws.blobs, layout, data.start, data.end);
    const result = (await pool.run(
      { kind: 'map', input: { segments }, start: data.start, parts: data.parts },
      progressOf(job),
    )) as MapResult;
    checkIds(result.ids, data.ids, `shard ${data.shard}`);
    const key = (...parts: (string | number)[]): string =>
      dataKey(data.prefix, data.scan, 'map', data.shard, ...parts);
    if (result.content) await putAll(redis, [{ key: key('content'), value: result.content }]);
    if (result.minhash) {
      const { flags, textHash, partitions } = result.minhash;
      await putAll(redis, [
        { key: key('text'), value: { flags, textHash } },
        ...partitions.map((value, p) => ({ key: key('band', p), value })),
      ]);
    }
    // Crash tests kill the worker here: half of the shard's results are written.
    faultPoint('scan-map');
    await putAll(redis, [
      {
        key: key('parts'),
        value: { secrets: result.secrets, pii: result.pii },
        compress: true,
      },
    ]);
    return { seconds: result.seconds, rows: data.end - data.start };
  };

  const runLsh = async (job: Job, data: LshJob): Promise<Work> => {
    const active = await getValue<Uint8Array>(redis, dataKey(data.prefix, data.scan, 'active'));
    const arrays: Uint32Array[] = [];
    for (let k = 0; k < data.shards; k++)
      arrays.push(
        await getValue<Uint32Array>(
          redis,
          dataKey(data.prefix, data.scan, 'map', k, 'band', data.partition),
        ),
      );
    const perBand = partitionEntries(arrays, data.bands, active);
    const result = (await pool.run(
      { kind: 'lsh', perBand, rows: data.rows, fullBucket: data.fullBucket },
      progressOf(job),
    )) as LshResult;
    await putAll(redis, [
      { key: dataKey(data.prefix, data.scan, 'lsh', data.partition), value: result.candidates },
    ]);
    return { seconds: { 'dup/minhash': result.seconds }, rows: 0 };
  };

  const runDetectors = async (job: Job, data: DetectorJob): Promise<Work> => {
    const layout = await layoutOf(data);
    const segments = await readLayoutSegments(ws.blobs, layout, 0, layout.rows);
    const result = (await pool.run(
      { kind: 'detector', input: { segments }, detectors: data.detectors, plan: data.plan },
      progressOf(job),
    )) as DetectorTaskResult;
    checkIds(result.ids, data.ids, `detectors ${data.group}`);
    await putAll(redis, [
      {
        key: dataKey(data.prefix, data.scan, 'detector', data.group),
        value: result.runs,
        compress: true,
      },
    ]);
    return {
      seconds: Object.fromEntries(result.runs.map((r) => [r.id, r.seconds])),
      rows: layout.rows,
    };
  };

  const runFold = async (job: Job, data: FoldJob): Promise<Work> => {
    const layout = await layoutOf(data);
    const segments = await readLayoutSegments(ws.blobs, layout, 0, layout.rows);
    const result = (await pool.run(
      { kind: 'fold', input: { segments }, fold: data.fold, plan: data.plan },
      progressOf(job),
    )) as FoldResult;
    checkIds(result.ids, data.ids, `fold ${data.fold}`);
    await putAll(redis, [
      {
        key: dataKey(data.prefix, data.scan, 'fold', data.fold),
        value: result.outcome,
        compress: 'skipped' in result.outcome,
      },
    ]);
    return { seconds: { [LABEL_DETECTOR]: result.seconds }, rows: layout.rows };
  };

  const worker = new Worker<ScanJob, JobReturn>(
    queue,
    async (job) => {
      const data = job.data;
      if (data.protocol !== PROTOCOL)
        throw new UnrecoverableError(
          `job of scan protocol ${data.protocol}; this worker speaks ${PROTOCOL} (upgrade the older side)`,
        );
      const t0 = performance.now();
      const work =
        data.kind === 'map'
          ? await runMap(job, data)
          : data.kind === 'lsh'
            ? await runLsh(job, data)
            : data.kind === 'fold'
              ? await runFold(job, data)
              : await runDetectors(job, data);
      return { ...work, wallSeconds: (performance.now() - t0) / 1000 };
    },
    {
      connection: bullConnection(options.redisUrl),
      prefix,
      name,
      concurrency,
      lockDuration: options.lockDurationMs ?? 30_000,
      stalledInterval: options.stalledIntervalMs ?? 30_000,
      // A job may lose its worker twice (killed, machine gone) before the scan gives up.
      maxStalledCount: 2,
      autorun: false,
    },
  );
  worker.on('active', (job) => emit({ type: 'active', job: job.id ?? '' }));
  worker.on('completed', (job) => emit({ type: 'completed', job: job.id ?? '' }));
  worker.on('failed', (job, err) =>
    emit({ type: 'failed', job: job?.id ?? '', message: err.message }),
  );
  worker.on('error', (err) => emit({ type: 'error', message: err.message }));

  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let closing: Promise<void> | undefined;
  const close = (force = false): Promise<void> => {
    closing ??= (async () => {
      try {
        await worker.close(force);
      } finally {
        await pool.close();
        redis.disconnect();
        if (ownWorkspace) await ws.close();
        emit({ type: 'closed' });
        resolveClosed();
      }
    })();
    return closing;
  };
  if (options.signal) {
    if (options.signal.aborted) void close();
    else options.signal.addEventListener('abort', () => void close(), { once: true });
  }
  void worker.run().catch((e: unknown) => {
    emit({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  });
  try {
    await worker.waitUntilReady();
  } catch (e) {
    await close(true);
    throw e;
  }
  emit({ type: 'ready', message: `queue ${queue}, ${concurrency} at a time` });
  return { queue, name, threaded: pool.threaded, close, closed };
}

/** Runs a scan worker until `signal` aborts it (then finishes running jobs and returns). */
export async function runScanWorker(options: ScanWorkerOptions): Promise<void> {
  const handle = await startScanWorker(options);
  await handle.closed;
}
