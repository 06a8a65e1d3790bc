import { statSync, type Stats } from 'node:fs';
import { basename, extname } from 'node:path';
import { CordonError } from '../../core/errors.js';
import { readCsv } from './csv-reader.js';
import { readFolder } from './folder-reader.js';
import { readJsonl } from './jsonl-reader.js';
import { readParquet } from './parquet-reader.js';
import type { IngestItem, InputFormat, ReadOptions, RecordReader } from './reader.js';

const BY_EXTENSION = new Map<string, InputFormat>([
  ['.jsonl', 'jsonl'],
  ['.ndjson', 'jsonl'],
  ['.json', 'jsonl'],
  ['.csv', 'csv'],
  ['.parquet', 'parquet'],
]);

const READERS: Record<InputFormat, RecordReader> = {
  jsonl: readJsonl,
  csv: readCsv,
  parquet: readParquet,
  folder: readFolder,
};

function statInput(path: string): Stats {
  try {
    return statSync(path);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') throw cause;
    throw new CordonError('INPUT_NOT_FOUND', `${path}: no such file or folder`, { cause });
  }
}

/**
 * The input format from the path: a folder, or the extension (.jsonl, .ndjson and .json are JSON
 * Lines, .csv, .parquet; .gz after jsonl or csv means gzip-compressed).
 */
export function detectFormat(path: string): InputFormat {
  if (statInput(path).isDirectory()) return 'folder';
  const name = basename(path).toLowerCase();
  const gzip = name.endsWith('.gz');
  const format = BY_EXTENSION.get(extname(gzip ? name.slice(0, -3) : name));
  if (format === undefined) {
    throw new CordonError(
      'INPUT_INVALID',
      `${path}: cannot tell the input format from the file name; pass --format jsonl, csv, parquet or folder`,
    );
  }
  if (gzip && format === 'parquet') {
    throw new CordonError(
      'INPUT_INVALID',
      `${path}: gzip-compressed Parquet is not supported; decompress it first`,
    );
  }
  return format;
}

/**
 * Reads any supported input as records: the format given, or the one detectFormat finds. JSON
 * Lines and CSV files ending in `.gz` are gunzipped while streaming.
 */
export async function* readInput(
  path: string,
  format: InputFormat | undefined,
  options: ReadOptions,
): AsyncGenerator<IngestItem, void, undefined> {
  let chosen: InputFormat;
  if (format === undefined) {
    chosen = detectFormat(path);
  } else {
    const isFolder = statInput(path).isDirectory();
    if (isFolder !== (format === 'folder')) {
      const problem = isFolder ? `is a folder, not a ${format} file` : 'is a file, not a folder';
      throw new CordonError('INPUT_INVALID', `${path}: ${problem}`);
    }
    chosen = format;
  }
  yield* READERS[chosen](path, options);
}
