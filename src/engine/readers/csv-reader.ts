import { Readable, pipeline } from 'node:stream';
import { parse } from 'csv-parse';
import { InputError } from '../../core/errors.js';
import { inputChunks } from './input-stream.js';
import type { RecordReader } from './reader.js';
import { resolveColumns, toRecord, type RecordOptions } from './to-record.js';
import { checkUtf8 } from './utf8.js';

/** One data row of a CSV file: its values by column name and the line it starts on (1-based). */
export interface CsvRow {
  line: number;
  fields: Record<string, string>;
}

interface ParsedRecord {
  record: string[];
  info: { lines: number };
}

/**
 * Line breaks inside the (quoted) values of a record. csv-parse counts each CR and each LF there
 * as a line, so a CRLF inside quotes counts twice; `crlf` says how many of those there were.
 */
function breaksIn(values: readonly string[]): { counted: number; crlf: number } {
  let counted = 0;
  let crlf = 0;
  for (const v of values) {
    if (v.indexOf('\n') === -1 && v.indexOf('\r') === -1) continue;
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c === 0x0a) counted++;
      if (c === 0x0d) {
        counted++;
        if (v.charCodeAt(i + 1) === 0x0a) crlf++;
      }
    }
  }
  return { counted, crlf };
}

function parseError(file: string, e: unknown, drift: number): unknown {
  const err = e as { code?: unknown; lines?: unknown; message?: unknown };
  if (typeof err.code !== 'string' || !err.code.startsWith('CSV_')) return e;
  const line = typeof err.lines === 'number' ? err.lines - drift : undefined;
  const where = line === undefined ? { file } : { file, line };
  return new InputError(where, `malformed CSV: ${String(err.message)}`, { cause: e });
}

/**
 * Streams the rows of a CSV file with a header row (`.gz` gunzipped, UTF-8 checked, blank lines
 * skipped). `onHeader` sees the column names (and their line) before the first row and may throw. A row whose
 * column count differs from the header's throws, naming file and line.
 */
export async function* csvRows(
  path: string,
  onHeader: (names: string[], line: number) => void,
): AsyncGenerator<CsvRow, void, undefined> {
  const parser = parse({ bom: true, info: true, relax_column_count: true, skip_empty_lines: true });
  pipeline(Readable.from(checkUtf8(inputChunks(path), path)), parser, () => {});
  let header: string[] | undefined;
  let drift = 0; // CRLFs inside quotes so far, which csv-parse counted as two lines each
  try {
    for await (const parsed of parser as AsyncIterable<ParsedRecord>) {
      const values = parsed.record;
      const breaks = breaksIn(values);
      const line = parsed.info.lines - breaks.counted - drift;
      drift += breaks.crlf;
      if (header === undefined) {
        header = values;
        const seen = new Set<string>();
        for (const name of header) {
          if (seen.has(name)) {
            throw new InputError({ file: path, line, field: name }, 'duplicate column name');
          }
          seen.add(name);
        }
        onHeader(header, line);
        continue;
      }
      if (values.length !== header.length) {
        throw new InputError(
          { file: path, line },
          `expected ${header.length} columns (as in the header), found ${values.length}`,
        );
      }
      const fields = Object.create(null) as Record<string, string>;
      for (let i = 0; i < values.length; i++) fields[header[i]!] = values[i]!;
      yield { line, fields };
    }
  } catch (e) {
    throw parseError(path, e, drift);
  } finally {
    parser.destroy();
  }
}

/**
 * CSV with a header row. Every value is a string: labels stay strings, an empty cell is a missing
 * value, and feature columns are parsed as finite numbers.
 */
export const readCsv: RecordReader = async function* (path, options) {
  let resolved: RecordOptions = { ...options, textCells: true };
  const onHeader = (names: string[], line: number): void => {
    resolved = resolveColumns({ file: path, line }, names, resolved);
  };
  let position = 0;
  for await (const row of csvRows(path, onHeader)) {
    const record = toRecord(row.fields, position++, { file: path, line: row.line }, resolved);
    yield { record, where: `${path}:${row.line}` };
  }
  if (position === 0) throw new InputError({ file: path }, 'file is empty: no records');
};
