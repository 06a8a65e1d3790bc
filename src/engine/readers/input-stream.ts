import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { CordonError, InputError } from '../../core/errors.js';

const CHUNK_BYTES = 1 << 20;

export function isGzipPath(path: string): boolean {
  return path.toLowerCase().endsWith('.gz');
}

/**
 * The bytes of an input file in large chunks, gunzipped when its name ends in `.gz`. A missing
 * file, a directory or bad gzip data becomes a CordonError naming the file.
 */
export async function* inputChunks(path: string): AsyncGenerator<Buffer, void, undefined> {
  const file = createReadStream(path, { highWaterMark: CHUNK_BYTES });
  const stream = isGzipPath(path)
    ? pipeline(file, createGunzip({ chunkSize: CHUNK_BYTES >> 2 }), () => {})
    : file;
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (e) {
    throw readError(path, e);
  } finally {
    file.destroy();
  }
}

function readError(path: string, e: unknown): unknown {
  if (e instanceof CordonError) return e;
  const code = (e as NodeJS.ErrnoException).code ?? '';
  const reason = e instanceof Error ? e.message : String(e);
  if (code === 'ENOENT') {
    return new CordonError('INPUT_NOT_FOUND', `${path}: no such file`, { cause: e });
  }
  if (code === 'EISDIR') {
    return new InputError({ file: path }, 'is a directory, not a file', { cause: e });
  }
  if (code.startsWith('Z_')) {
    return new InputError({ file: path }, `not valid gzip data: ${reason}`, { cause: e });
  }
  return e;
}
