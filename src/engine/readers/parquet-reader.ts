import { stat } from 'node:fs/promises';
import {
  asyncBufferFromFile,
  parquetMetadataAsync,
  parquetReadObjects,
  parquetSchema,
  type AsyncBuffer,
  type FileMetaData,
} from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { CordonError, InputError } from '../../core/errors.js';
import type { RecordReader } from './reader.js';
import { resolveColumns, toRecord } from './to-record.js';

function reasonOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function openParquet(path: string): Promise<{ file: AsyncBuffer; metadata: FileMetaData }> {
  try {
    if (!(await stat(path)).isFile()) throw new InputError({ file: path }, 'not a file');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CordonError('INPUT_NOT_FOUND', `${path}: no such file`, { cause: e });
    }
    throw e;
  }
  try {
    const file = await asyncBufferFromFile(path);
    const head = new Uint8Array(await file.slice(0, 4));
    if (String.fromCharCode(...head) !== 'PAR1') throw new Error('header != PAR1');
    return { file, metadata: await parquetMetadataAsync(file) };
  } catch (cause) {
    throw new InputError({ file: path }, `not a Parquet file or truncated: ${reasonOf(cause)}`, {
      cause,
    });
  }
}

/** A Parquet value as JSON: bigint → number when safe (else decimal string), dates → ISO text, bytes → base64. */
function plain(v: unknown): unknown {
  if (v === null || typeof v !== 'object') {
    if (typeof v !== 'bigint') return v;
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(v)
      : v.toString();
  }
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (v instanceof Uint8Array) {
    return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  }
  if (Array.isArray(v)) return v.map(plain);
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<unknown>, plain);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
}

/**
 * Parquet, read one row group at a time so memory stays bounded by the largest row group. Errors
 * name the 0-based row. Features may be a list column or several numeric columns.
 */
export const readParquet: RecordReader = async function* (path, options) {
  const { file, metadata } = await openParquet(path);
  const names = parquetSchema(metadata).children.map((c) => c.element.name);
  const resolved = resolveColumns({ file: path }, names, options);
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    let rows: Record<string, unknown>[];
    try {
      rows = await parquetReadObjects({ file, metadata, compressors, rowStart, rowEnd });
    } catch (cause) {
      const problem = `cannot read rows ${rowStart} to ${rowEnd - 1}: ${reasonOf(cause)}`;
      throw new InputError({ file: path, row: rowStart }, problem, { cause });
    }
    for (let i = 0; i < rows.length; i++) {
      const row = rowStart + i;
      const fields = plain(rows[i]) as Record<string, unknown>;
      const record = toRecord(fields, row, { file: path, row }, resolved);
      yield { record, where: `${path}:row ${row}` };
    }
    rowStart = rowEnd;
  }
  if (rowStart === 0) throw new InputError({ file: path }, 'file is empty: no records');
};
