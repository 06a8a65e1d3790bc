import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CordonError } from '../core/errors.js';
import { isDigest, type Digest } from '../core/hashing.js';
import type { BlobStaging, BlobStore } from './blob-store.js';

/**
 * Objects live at `<root>/sha256/<first two hex>/<remaining hex>`. A batch is staged in
 * `<root>/staging/<pid>-<random>/`, each file fsynced, then renamed into place (rename is atomic
 * on one file system) and the target folders fsynced.
 */
export class FsBlobStore implements BlobStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  pathOf(digest: Digest): string {
    if (!isDigest(digest)) throw new CordonError('INTERNAL', `not a digest: ${String(digest)}`);
    return join(this.root, 'sha256', digest.slice(0, 2), digest.slice(2));
  }

  async has(digest: Digest): Promise<boolean> {
    try {
      await stat(this.pathOf(digest));
      return true;
    } catch {
      return false;
    }
  }

  async get(digest: Digest): Promise<Buffer> {
    try {
      return await readFile(this.pathOf(digest));
    } catch (cause) {
      throw new CordonError('OBJECT_NOT_FOUND', `object ${digest} is missing from ${this.root}`, {
        cause,
      });
    }
  }

  async *stream(digest: Digest): AsyncIterable<Buffer> {
    if (!(await this.has(digest))) {
      throw new CordonError('OBJECT_NOT_FOUND', `object ${digest} is missing from ${this.root}`);
    }
    for await (const chunk of createReadStream(this.pathOf(digest), { highWaterMark: 1 << 20 })) {
      yield chunk as Buffer;
    }
  }

  async size(digest: Digest): Promise<number> {
    try {
      return (await stat(this.pathOf(digest))).size;
    } catch (cause) {
      throw new CordonError('OBJECT_NOT_FOUND', `object ${digest} is missing from ${this.root}`, {
        cause,
      });
    }
  }

  async *list(): AsyncIterable<Digest> {
    const base = join(this.root, 'sha256');
    let dirs: string[];
    try {
      dirs = await readdir(base);
    } catch {
      return;
    }
    for (const d of dirs.sort()) {
      for (const f of (await readdir(join(base, d))).sort()) {
        const digest = d + f;
        if (isDigest(digest)) yield digest;
      }
    }
  }

  async stage(): Promise<BlobStaging> {
    const dir = join(this.root, 'staging', `${process.pid}-${randomBytes(6).toString('hex')}`);
    await mkdir(dir, { recursive: true });
    return new FsStaging(this, dir);
  }

  async cleanStaging(): Promise<number> {
    const base = join(this.root, 'staging');
    let names: string[];
    try {
      names = await readdir(base);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const name of names) {
      const pid = Number(name.split('-')[0]);
      if (Number.isInteger(pid) && pid !== process.pid && isAlive(pid)) continue;
      if (pid === process.pid) continue;
      await rm(join(base, name), { recursive: true, force: true });
      removed++;
    }
    return removed;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

class FsStaging implements BlobStaging {
  private readonly staged = new Map<Digest, string>();
  private counter = 0;

  constructor(
    private readonly store: FsBlobStore,
    private readonly dir: string,
  ) {}

  async put(data: Uint8Array | string): Promise<Digest> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const digest = createHash('sha256').update(bytes).digest('hex');
    if (this.staged.has(digest) || (await this.store.has(digest))) return digest;
    const tmp = join(this.dir, String(this.counter++));
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    this.staged.set(digest, tmp);
    return digest;
  }

  async putStream(
    chunks: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  ): Promise<{ digest: Digest; size: number }> {
    const tmp = join(this.dir, String(this.counter++));
    const hash = createHash('sha256');
    let size = 0;
    const fh = await open(tmp, 'wx', 0o644);
    try {
      for await (const chunk of chunks) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
        hash.update(bytes);
        size += bytes.length;
        await fh.write(bytes);
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    const digest = hash.digest('hex');
    if (this.staged.has(digest) || (await this.store.has(digest))) {
      await rm(tmp, { force: true });
    } else {
      this.staged.set(digest, tmp);
    }
    return { digest, size };
  }

  async publish(): Promise<void> {
    const touched = new Set<string>();
    for (const [digest, tmp] of this.staged) {
      const target = this.store.pathOf(digest);
      const dir = join(target, '..');
      if (!touched.has(dir)) {
        await mkdir(dir, { recursive: true });
        touched.add(dir);
      }
      await rename(tmp, target);
    }
    for (const dir of touched) await fsyncDir(dir);
    this.staged.clear();
    await rm(this.dir, { recursive: true, force: true });
  }

  async abort(): Promise<void> {
    this.staged.clear();
    await rm(this.dir, { recursive: true, force: true });
  }
}
