/**
 * Threads for the computing part of scan jobs. A scan worker's main thread only talks to Redis
 * and reads objects; a job's detectors run here, so a long detector never delays the renewal of
 * the job's lock (which would make BullMQ hand the job to another worker).
 *
 * Threads need compiled JavaScript (`compute-thread.js` beside this file). Under a TypeScript
 * test runner the tasks run in process instead: same code, same results, locks renewed between
 * tasks only.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { runTask, type Task, type TaskResult } from './tasks.js';

const THREAD = new URL('./compute-thread.js', import.meta.url);

/** Whether compute threads can start (compiled output present). */
export function threadsAvailable(): boolean {
  return THREAD.protocol === 'file:' && existsSync(fileURLToPath(THREAD));
}

interface Pending {
  resolve: (r: TaskResult) => void;
  reject: (e: Error) => void;
  progress: (f: number) => void;
}

interface Slot {
  worker: Worker;
  busy: number | undefined;
}

interface Message {
  id: number;
  progress?: number;
  result?: TaskResult;
  error?: string;
}

/** Memory the task can hand over to the thread instead of copying (LSH entries, segment bytes). */
function inputTransfers(task: Task): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  const add = (a: ArrayBufferView): void => {
    if (a.buffer instanceof ArrayBuffer && !out.includes(a.buffer)) out.push(a.buffer);
  };
  if (task.kind === 'lsh') for (const b of task.perBand) [b.rows, b.hashes].forEach(add);
  else if ('segments' in task.input) for (const s of task.input.segments.segments) add(s.bytes);
  return out;
}

export class ComputePool {
  readonly threaded: boolean;
  private readonly slots: Slot[] = [];
  private readonly waiting: { id: number; task: Task }[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  /** `size` threads at most; `threads: false` (or no compiled output) runs tasks in process. */
  constructor(
    private readonly size: number,
    threads = true,
  ) {
    this.threaded = threads && threadsAvailable();
  }

  run(task: Task, progress: (f: number) => void = () => undefined): Promise<TaskResult> {
    if (this.closed) return Promise.reject(new Error('compute pool is closed'));
    if (!this.threaded) return runTask(task, progress);
    const id = this.nextId++;
    return new Promise<TaskResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, progress });
      this.waiting.push({ id, task });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.waiting.length > 0) {
      let slot = this.slots.find((s) => s.busy === undefined);
      if (!slot && this.slots.length < this.size) slot = this.spawn();
      if (!slot) return;
      const next = this.waiting.shift()!;
      slot.busy = next.id;
      slot.worker.postMessage(next, inputTransfers(next.task));
    }
  }

  private spawn(): Slot {
    const worker = new Worker(THREAD);
    const slot: Slot = { worker, busy: undefined };
    const fail = (e: Error): void => {
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      if (slot.busy !== undefined) {
        const p = this.pending.get(slot.busy);
        this.pending.delete(slot.busy);
        slot.busy = undefined;
        p?.reject(e);
      }
      if (!this.closed) this.dispatch();
    };
    worker.on('message', (msg: Message) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      if (msg.progress !== undefined) {
        p.progress(msg.progress);
        return;
      }
      this.pending.delete(msg.id);
      slot.busy = undefined;
      if (msg.error !== undefined) p.reject(new Error(msg.error));
      else p.resolve(msg.result!);
      this.dispatch();
    });
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`compute thread exited with code ${code}`)));
    this.slots.push(slot);
    return slot;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const { id } of this.waiting.splice(0)) {
      this.pending.get(id)?.reject(new Error('compute pool closed'));
      this.pending.delete(id);
    }
    await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate()));
  }
}
