/** UTF-8 helpers shared by the readers: find where invalid bytes sit, to name the line. */
import { InputError } from '../../core/errors.js';

/**
 * Index of the first byte of the first invalid UTF-8 sequence (WHATWG rules: no overlongs, no
 * surrogates, nothing above U+10FFFF), or -1 when every sequence is valid. A sequence cut off by
 * the end of `bytes` counts as invalid only when `final` is true.
 */
export function firstInvalidUtf8(bytes: Uint8Array, final = true): number {
  let i = 0;
  while (i < bytes.length) {
    const c = bytes[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else {
      return i;
    }
    for (let k = 1; k <= n; k++) {
      const b = bytes[i + k];
      if (b === undefined) return final ? i : -1;
      if (b < lo || b > hi) return i;
      lo = 0x80;
      hi = 0xbf;
    }
    i += n + 1;
  }
  return -1;
}

/** How many newline bytes (0x0A) lie in bytes[start, end). */
export function countNewlines(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let count = 0;
  let i = bytes.indexOf(0x0a, start);
  while (i !== -1 && i < end) {
    count++;
    i = bytes.indexOf(0x0a, i + 1);
  }
  return count;
}

/**
 * The bytes at the end of `bytes` that start a character not yet complete (0 to 3 bytes), so a
 * later chunk can be checked from a character boundary.
 */
export function incompleteTail(bytes: Uint8Array): Uint8Array {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const c = bytes[bytes.length - back]!;
    if (c >= 0x80 && c < 0xc0) continue; // continuation byte: keep looking for the lead
    const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return need > back ? bytes.subarray(bytes.length - back) : bytes.subarray(bytes.length);
  }
  return bytes.subarray(bytes.length);
}

function invalidUtf8(file: string, line: number, cause: unknown): InputError {
  return new InputError({ file, line }, 'invalid UTF-8: the file must be UTF-8 text', { cause });
}

/**
 * Passes `chunks` through unchanged while checking that together they are valid UTF-8; the first
 * invalid byte throws an InputError naming the file and the line it sits on.
 */
export async function* checkUtf8(
  chunks: AsyncIterable<Buffer>,
  file: string,
): AsyncGenerator<Buffer, void, undefined> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let line = 1;
  let carry: Uint8Array = new Uint8Array(0);
  for await (const chunk of chunks) {
    try {
      decoder.decode(chunk, { stream: true });
    } catch (cause) {
      const joined = Buffer.concat([carry, chunk]);
      const bad = firstInvalidUtf8(joined, false);
      throw invalidUtf8(
        file,
        line + countNewlines(joined, 0, bad < 0 ? joined.length : bad),
        cause,
      );
    }
    line += countNewlines(chunk);
    carry = incompleteTail(chunk.length >= 4 ? chunk : Buffer.concat([carry, chunk]));
    yield chunk;
  }
  try {
    decoder.decode();
  } catch (cause) {
    throw invalidUtf8(file, line, cause);
  }
}

/** Decodes a whole buffer as UTF-8 (byte order mark kept), naming file and line on bad bytes. */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (cause) {
    const bad = firstInvalidUtf8(bytes);
    throw invalidUtf8(file, 1 + countNewlines(bytes, 0, bad < 0 ? bytes.length : bad), cause);
  }
}
