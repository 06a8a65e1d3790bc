import { randomUUID } from 'node:crypto';
import type { Problem } from './problem.js';

/**
 * Long operations (ingest, transform, scan) run as jobs: the request that starts one returns at
 * once with the job's id, and the caller follows it by polling or by Server-Sent Events. Jobs
 * live in this process's memory only: a restart forgets them (a job that was running when the
 * process stopped left no snapshot, because commits are all-or-nothing).
 */

export type JobKind = 'ingest' | 'transform' | 'scan';
export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const JOB_STATES: readonly JobState[] = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'cancelled',
];
const FINAL: ReadonlySet<JobState> = new Set(['succeeded', 'failed', 'cancelled']);

export interface JobProgress {
  /** What the job is doing: "upload", "commit", "load", "scan", "record"… */
  phase: string;
  /** Records read so far (ingest) or loaded (scan). */
  records?: number;
  /** Share of the work done, 0..1, when the engine can tell. */
  fraction?: number;
  /** The scan detector running. */
  detector?: string;
}

export interface JobView {
  id: string;
  kind: JobKind;
  /** The identity that started the job; only it can see or cancel the job. */
  owner: string;
  state: JobState;
  /** One line saying what the job works on, e.g. "ingest mail.jsonl into mail". */
  description: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  cancelRequested: boolean;
  progress: JobProgress | null;
  result: unknown;
  error: Problem | null;
}

export type JobEvent =
  { type: 'progress'; progress: JobProgress } | { type: 'state'; job: JobView };

/** Thrown into a job's own code when it notices it was cancelled. */
export class JobCancelled extends Error {
  constructor() {
    super('the job was cancelled');
    this.name = 'JobCancelled';
  }
}

export interface JobContext {
  /** Aborted when the job is cancelled or the server shuts down. */
  signal: AbortSignal;
  progress(p: JobProgress): void;
  /** Throws JobCancelled if the job was cancelled. */
  checkCancelled(): void;
}

export interface JobSpec {
  kind: JobKind;
  owner: string;
  description: string;
  run: (ctx: JobContext) => Promise<unknown>;
  /** Runs once the job is over, whatever the outcome (temporary files, the request's view). */
  cleanup?: () => Promise<void>;
}

export interface JobManagerOptions {
  /** Jobs running at once; the rest wait in order. */
  concurrency?: number;
  /** How long a finished job stays visible. */
  retainMs?: number;
  /** Finished jobs kept at most; the oldest go first. */
  maxRetained?: number;
  /** Turns a job's failure into problem details (and logs what was unexpected). */
  problemOf: (error: unknown, instance: string) => Problem;
  log?: (line: string) => void;
}

/** Progress events are sent at most this often; the newest one always gets through. */
const PROGRESS_INTERVAL_MS = 100;

interface Job {
  view: JobView;
  spec: JobSpec;
  controller: AbortController;
  listeners: Set<(e: JobEvent) => void>;
  done: Promise<void>;
  settle: () => void;
  lastProgressAt: number;
  progressTimer: NodeJS.Timeout | undefined;
}

export class JobManager {
  private readonly jobs = new Map<string, Job>();
  private readonly queue: Job[] = [];
  private running = 0;
  private closed = false;
  private readonly concurrency: number;
  private readonly retainMs: number;
  private readonly maxRetained: number;

  constructor(private readonly options: JobManagerOptions) {
    this.concurrency = Math.max(1, options.concurrency ?? 2);
    this.retainMs = options.retainMs ?? 3_600_000;
    this.maxRetained = options.maxRetained ?? 1000;
  }

  submit(spec: JobSpec): JobView {
    if (this.closed) throw new Error('the job manager is shutting down');
    let settle = (): void => undefined;
    const done = new Promise<void>((resolve) => (settle = resolve));
    const job: Job = {
      spec,
      controller: new AbortController(),
      listeners: new Set(),
      done,
      settle,
      lastProgressAt: 0,
      progressTimer: undefined,
      view: {
        id: randomUUID(),
        kind: spec.kind,
        owner: spec.owner,
        state: 'queued',
        description: spec.description,
        createdAt: new Date().toISOString(),
        startedAt: null,
        finishedAt: null,
        cancelRequested: false,
        progress: null,
        result: null,
        error: null,
      },
    };
    this.jobs.set(job.view.id, job);
    this.queue.push(job);
    this.pump();
    return this.snapshot(job);
  }

  /** The job as its owner sees it; undefined for anyone else (as if it did not exist). */
  get(id: string, owner: string): JobView | undefined {
    const job = this.jobs.get(id);
    return job && job.view.owner === owner ? this.snapshot(job) : undefined;
  }

  list(owner: string): JobView[] {
    return [...this.jobs.values()]
      .filter((j) => j.view.owner === owner)
      .map((j) => this.snapshot(j))
      .reverse();
  }

  /**
   * Cancels a job. A queued job is cancelled at once. A running job is asked to stop (its signal
   * aborts); it ends "cancelled" if it stopped, or "succeeded" if it was already past the point
   * where it could be stopped (a commit that was being published, say).
   */
  cancel(id: string, owner: string): JobView | undefined {
    const job = this.jobs.get(id);
    if (!job || job.view.owner !== owner) return undefined;
    if (FINAL.has(job.view.state)) return this.snapshot(job);
    job.view.cancelRequested = true;
    job.controller.abort(new JobCancelled());
    if (job.view.state === 'queued') {
      this.queue.splice(this.queue.indexOf(job), 1);
      void this.finish(job, 'cancelled', null, null);
    }
    return this.snapshot(job);
  }

  /**
   * Calls `listener` with every event of the job from now on; returns the unsubscribe function.
   * A job that has already finished gets no more events (read its view instead).
   */
  subscribe(id: string, listener: (e: JobEvent) => void): () => void {
    const job = this.jobs.get(id);
    if (!job) return () => undefined;
    job.listeners.add(listener);
    return () => job.listeners.delete(listener);
  }

  /** Stops taking jobs, cancels every queued and running one, and waits for them to wind down. */
  async shutdown(timeoutMs = 10_000): Promise<void> {
    this.closed = true;
    const pending = [...this.jobs.values()].filter((j) => !FINAL.has(j.view.state));
    for (const job of pending) this.cancel(job.view.id, job.view.owner);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(pending.map((j) => j.done)),
      new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  private snapshot(job: Job): JobView {
    return structuredClone(job.view);
  }

  private pump(): void {
    while (this.running < this.concurrency && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.running++;
      void this.execute(job).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private emit(job: Job, event: JobEvent): void {
    for (const listener of job.listeners) {
      try {
        listener(event);
      } catch {
        // A listener that fails (a client gone away) must not break the job.
      }
    }
  }

  private progress(job: Job, p: JobProgress): void {
    if (FINAL.has(job.view.state)) return;
    job.view.progress = p;
    const wait = job.lastProgressAt + PROGRESS_INTERVAL_MS - Date.now();
    if (wait <= 0) {
      job.lastProgressAt = Date.now();
      this.emit(job, { type: 'progress', progress: { ...p } });
    } else {
      job.progressTimer ??= setTimeout(() => {
        job.progressTimer = undefined;
        if (job.view.progress && !FINAL.has(job.view.state)) {
          job.lastProgressAt = Date.now();
          this.emit(job, { type: 'progress', progress: { ...job.view.progress } });
        }
      }, wait);
    }
  }

  private async execute(job: Job): Promise<void> {
    if (job.controller.signal.aborted) return;
    job.view.state = 'running';
    job.view.startedAt = new Date().toISOString();
    this.emit(job, { type: 'state', job: this.snapshot(job) });
    const signal = job.controller.signal;
    const ctx: JobContext = {
      signal,
      progress: (p) => this.progress(job, p),
      checkCancelled: () => {
        if (signal.aborted) throw new JobCancelled();
      },
    };
    try {
      const result = await job.spec.run(ctx);
      await this.finish(job, 'succeeded', result ?? null, null);
    } catch (e) {
      // Whatever a cancelled job threw on its way out (its staging aborted, a stream torn down)
      // is the cancellation, not a failure.
      if (signal.aborted) await this.finish(job, 'cancelled', null, null);
      else
        await this.finish(
          job,
          'failed',
          null,
          this.options.problemOf(e, `/v1/jobs/${job.view.id}`),
        );
    }
  }

  private async finish(
    job: Job,
    state: JobState,
    result: unknown,
    error: Problem | null,
  ): Promise<void> {
    try {
      await job.spec.cleanup?.();
    } catch (e) {
      this.options.log?.(
        `job ${job.view.id}: cleanup failed: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    clearTimeout(job.progressTimer);
    Object.assign(job.view, { state, result, error, finishedAt: new Date().toISOString() });
    this.emit(job, { type: 'state', job: this.snapshot(job) });
    job.listeners.clear();
    job.settle();
    setTimeout(() => this.jobs.delete(job.view.id), this.retainMs).unref();
    const finished = [...this.jobs.values()].filter((j) => FINAL.has(j.view.state));
    for (const old of finished.slice(0, Math.max(0, finished.length - this.maxRetained)))
      this.jobs.delete(old.view.id);
  }
}

export function isFinal(state: JobState): boolean {
  return FINAL.has(state);
}
