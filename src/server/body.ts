import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Transform, Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CordonError } from '../core/errors.js';
import { HttpProblem } from './problem.js';

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1000,
  kb: 1000,
  m: 1000 ** 2,
  mb: 1000 ** 2,
  g: 1000 ** 3,
  gb: 1000 ** 3,
  t: 1000 ** 4,
  tb: 1000 ** 4,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** Reads a size such as "1GiB", "500MB", "64k" or "1048576" (bytes). */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined)
    throw new CordonError('USAGE', `"${text}" is not a size (for example 1GiB, 500MB, 1048576)`);
  const bytes = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes <= 0)
    throw new CordonError('USAGE', `"${text}" is not a usable size`);
  return bytes;
}

export function formatSize(bytes: number): string {
  for (const [unit, size] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const)
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  return `${bytes} bytes`;
}

function tooLarge(limit: number, what: string): HttpProblem {
  return new HttpProblem('PAYLOAD_TOO_LARGE', `${what} is larger than ${formatSize(limit)}`);
}

/** Refuses at once a body whose declared length is over the limit, before reading any of it. */
export function checkDeclaredLength(header: string | undefined, limit: number, what: string) {
  if (header === undefined) return;
  const n = Number(header);
  if (Number.isFinite(n) && n > limit) throw tooLarge(limit, what);
}

/** Reads a whole (small) body as text, stopping as soon as it passes `limit` bytes. */
export async function readBodyText(
  body: ReadableStream<Uint8Array> | null,
  limit: number,
  what: string,
): Promise<string> {
  if (!body) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(limit, what);
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Counts bytes on their way through and fails the stream once they pass `limit`. */
class ByteLimit extends Transform {
  bytes = 0;
  constructor(
    private readonly limit: number,
    private readonly what: string,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) done(tooLarge(this.limit, this.what));
    else done(null, chunk);
  }
}

/**
 * Streams a request body into a file, chunk by chunk with backpressure (never holding the body
 * in memory), and fails with 413 as soon as it passes `limit` bytes. A partial file is removed.
 * Returns the number of bytes written.
 */
export async function streamBodyToFile(
  body: ReadableStream<Uint8Array> | null,
  file: string,
  limit: number,
  what: string,
): Promise<number> {
  if (!body) throw new HttpProblem('BODY_MALFORMED', `${what} is empty`);
  const counter = new ByteLimit(limit, what);
  try {
    await pipeline(
      Readable.fromWeb(body),
      counter,
      createWriteStream(file, { flags: 'wx', mode: 0o600 }),
    );
  } catch (e) {
    await rm(file, { force: true });
    if (e instanceof HttpProblem) throw e;
    throw new HttpProblem('BODY_MALFORMED', `${what} could not be read to the end`);
  }
  if (counter.bytes === 0) {
    await rm(file, { force: true });
    throw new HttpProblem('BODY_MALFORMED', `${what} is empty`);
  }
  return counter.bytes;
}
