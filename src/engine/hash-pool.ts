import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * A pool of worker threads that hash files and record lines with OpenSSL's SHA-256, so that
 * verification keeps every core busy. The worker body is plain JavaScript held in a string so it
 * runs the same from compiled output and from TypeScript sources under test.
 */
const WORKER_SOURCE = String.raw`
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const CHUNK = 4 << 20;
const buf = Buffer.allocUnsafe(CHUNK);

function hashFile(path) {
  const fd = fs.openSync(path, 'r');
  try {
    const h = createHash('sha256');
    let size = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      size += n;
    }
    return { sha256: h.digest('hex'), size };
  } finally {
    fs.closeSync(fd);
  }
}

function hashLines(path, start, end) {
  const fd = fs.openSync(path, 'r');
  const ids = [];
  const labels = [];
  const sources = [];
  const files = [];
  const errors = [];
  const digests = [];
  try {
    let pos = start;
    let carry = Buffer.alloc(0);
    let index = 0;
    const onLine = (line) => {
      if (line.length > 0 && line[line.length - 1] === 13) line = line.subarray(0, line.length - 1);
      digests.push(createHash('sha256').update(line).digest());
      let rec;
      try {
        rec = JSON.parse(line.toString('utf8'));
      } catch (e) {
        errors.push({ index, message: 'not JSON: ' + e.message });
        rec = {};
      }
      ids.push(typeof rec.id === 'string' ? rec.id : null);
      labels.push(rec.label === undefined ? null : rec.label);
      sources.push(rec.source === undefined ? null : rec.source);
      if (rec.file && typeof rec.file === 'object') files.push({ index, path: rec.file.path, sha256: rec.file.sha256, size: rec.file.size });
      index++;
    };
    while (pos < end) {
      const n = fs.readSync(fd, buf, 0, Math.min(CHUNK, end - pos), pos);
      if (n === 0) break;
      pos += n;
      let data = carry.length ? Buffer.concat([carry, buf.subarray(0, n)]) : buf.subarray(0, n);
      let from = 0;
      for (;;) {
        const nl = data.indexOf(10, from);
        if (nl < 0) break;
        onLine(data.subarray(from, nl));
        from = nl + 1;
      }
      carry = Buffer.from(data.subarray(from));
    }
    if (carry.length) onLine(carry);
  } finally {
    fs.closeSync(fd);
  }
  const digestBuf = Buffer.concat(digests);
  return { ids, labels, sources, files, errors, digests: digestBuf };
}

parentPort.on('message', (task) => {
  try {
    const result =
      task.type === 'file'
        ? hashFile(task.path)
        : task.type === 'files'
          ? { files: task.paths.map(hashFile) }
          : hashLines(task.path, task.start, task.end);
    const transfer = result.digests ? [result.digests.buffer] : [];
    parentPort.postMessage({ id: task.id, ok: true, result }, transfer.filter((b) => b.byteLength > 0 && !(b instanceof SharedArrayBuffer)));
  } catch (e) {
    parentPort.postMessage({ id: task.id, ok: false, error: { code: e.code, message: e.message } });
  }
});
`;

export interface FileHash {
  sha256: string;
  size: number;
}

export interface LinesHash {
  ids: (string | null)[];
  labels: unknown[];
  sources: unknown[];
  files: { index: number; path: unknown; sha256: unknown; size: unknown }[];
  errors: { index: number; message: string }[];
  /** 32 bytes per line, in line order. */
  digests: Uint8Array;
}

type Task =
  | { type: 'file'; path: string }
  | { type: 'files'; paths: string[] }
  | { type: 'lines'; path: string; start: number; end: number };
interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export class HashPool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: { task: Task & { id: number }; pending: Pending }[] = [];
  private readonly inflight = new Map<number, Pending>();
  private nextId = 0;

  constructor(size = availableParallelism()) {
    for (let i = 0; i < Math.max(1, size); i++) {
      const w = new Worker(WORKER_SOURCE, { eval: true });
      w.on(
        'message',
        (msg: {
          id: number;
          ok: boolean;
          result?: unknown;
          error?: { code?: string; message: string };
        }) => {
          const p = this.inflight.get(msg.id);
          this.inflight.delete(msg.id);
          this.idle.push(w);
          this.pump();
          if (!p) return;
          if (msg.ok) p.resolve(msg.result);
          else
            p.reject(
              Object.assign(new Error(msg.error?.message ?? 'hash worker failed'), {
                code: msg.error?.code,
              }),
            );
        },
      );
      w.on('error', (e) => {
        for (const p of this.inflight.values()) p.reject(e);
        this.inflight.clear();
      });
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  hashFile(path: string): Promise<FileHash> {
    return this.run({ type: 'file', path }) as Promise<FileHash>;
  }

  /** Hashes several (small) files in one task, saving a message round trip per file. */
  async hashFiles(paths: string[]): Promise<FileHash[]> {
    return ((await this.run({ type: 'files', paths })) as { files: FileHash[] }).files;
  }

  hashLines(path: string, start: number, end: number): Promise<LinesHash> {
    return this.run({ type: 'lines', path, start, end }) as Promise<LinesHash>;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private run(task: Task): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.queue.push({ task: { ...task, id: this.nextId++ }, pending: { resolve, reject } });
      this.pump();
    });
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const w = this.idle.pop()!;
      const { task, pending } = this.queue.shift()!;
      this.inflight.set(task.id, pending);
      w.postMessage(task);
    }
  }
}
