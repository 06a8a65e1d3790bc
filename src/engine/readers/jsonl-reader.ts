import { InputError } from '../../core/errors.js';
import { inputChunks } from './input-stream.js';
import type { RecordReader } from './reader.js';
import { toRecord } from './to-record.js';
import { countNewlines, firstInvalidUtf8 } from './utf8.js';

interface LineBatch {
  /** 1-based number of lines[0]. */
  first: number;
  lines: string[];
}

/**
 * Splits a byte stream into lines on 0x0A, in batches (one per chunk). Complete lines are decoded
 * a chunk at a time with a fatal UTF-8 decoder; a line crossing chunk boundaries is joined first,
 * and a last line without a newline is kept. Invalid UTF-8 throws naming file and line.
 */
async function* lineBatches(
  chunks: AsyncIterable<Buffer>,
  file: string,
): AsyncGenerator<LineBatch> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const decode = (bytes: Uint8Array, firstLine: number): string => {
    try {
      return decoder.decode(bytes);
    } catch (cause) {
      const bad = firstInvalidUtf8(bytes);
      const line = firstLine + countNewlines(bytes, 0, bad < 0 ? bytes.length : bad);
      throw new InputError({ file, line }, 'invalid UTF-8: the file must be UTF-8 text', { cause });
    }
  };
  let carry: Buffer[] = [];
  let next = 1;
  for await (const chunk of chunks) {
    const firstNewline = chunk.indexOf(0x0a);
    if (firstNewline === -1) {
      carry.push(chunk);
      continue;
    }
    let head: string | undefined;
    let start = 0;
    if (carry.length > 0) {
      carry.push(chunk.subarray(0, firstNewline));
      head = decode(Buffer.concat(carry), next);
      carry = [];
      start = firstNewline + 1;
    }
    const lastNewline = chunk.lastIndexOf(0x0a);
    const lines =
      lastNewline >= start
        ? decode(chunk.subarray(start, lastNewline), head === undefined ? next : next + 1).split(
            '\n',
          )
        : [];
    if (head !== undefined) lines.unshift(head);
    if (lastNewline + 1 < chunk.length) carry.push(chunk.subarray(lastNewline + 1));
    yield { first: next, lines };
    next += lines.length;
  }
  if (carry.length > 0) yield { first: next, lines: [decode(Buffer.concat(carry), next)] };
}

function isBlank(s: string): boolean {
  return s.length === 0 || (s.charCodeAt(0) <= 0x20 && s.trim().length === 0);
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  return Array.isArray(v) ? 'an array' : `a ${typeof v}`;
}

/**
 * JSON Lines: one JSON object per line, blank lines skipped, `\r\n` accepted, a UTF-8 byte order
 * mark at the start ignored. `.gz` files are gunzipped. Streams: memory stays bounded by the
 * longest line, whatever the file size.
 */
export const readJsonl: RecordReader = async function* (path, options) {
  let position = 0;
  for await (const batch of lineBatches(inputChunks(path), path)) {
    let line = batch.first - 1;
    for (let text of batch.lines) {
      line++;
      if (text.charCodeAt(text.length - 1) === 0x0d) text = text.slice(0, -1);
      if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      if (isBlank(text)) continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (cause) {
        const reason = cause instanceof Error ? cause.message : String(cause);
        throw new InputError({ file: path, line }, `malformed JSON: ${reason}`, { cause });
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new InputError(
          { file: path, line },
          `expected a JSON object, found ${kindOf(value)}`,
        );
      }
      const record = toRecord(
        value as Record<string, unknown>,
        position++,
        { file: path, line },
        options,
      );
      yield { record, where: `${path}:${line}` };
    }
  }
  if (position === 0) throw new InputError({ file: path }, 'file is empty: no records');
};
