import type { CordonRecord } from '../../core/record.js';

/** Which input columns (or JSON fields) hold each part of a record. */
export interface ColumnMap {
  id: string;
  label: string;
  source: string;
  text: string;
  /**
   * One column holding a JSON array (or space/comma separated numbers), or a list of numeric
   * columns that together form the feature vector (tabular data), in that order.
   */
  features: string | string[];
}

export const DEFAULT_COLUMNS: ColumnMap = {
  id: 'id',
  label: 'label',
  source: 'source',
  text: 'text',
  features: 'features',
};

export interface ReadOptions {
  columns: ColumnMap;
  /** Source for rows that have none. */
  defaultSource: string | null;
  /** When true (default), a row without a label is an error naming file, line and field. */
  requireLabel: boolean;
  /**
   * How a row without an id is named: "derive" (default) gives the stable content-and-position id
   * of docs/FORMATS.md, used when storing; "index" uses the 0-based row index as a string, as the
   * scan report contract asks for files scanned directly.
   */
  missingId?: 'derive' | 'index';
}

/** One row read from an input, with where it came from (for error messages). */
export interface IngestItem {
  record: CordonRecord;
  /** "file:line" or "file:row N": used when two rows clash (duplicate id). */
  where: string;
  /** Absolute path of the file whose bytes back `record.file`, to be stored by content. */
  filePath?: string;
}

export type InputFormat = 'jsonl' | 'csv' | 'parquet' | 'folder';

/** Reads an input as records, streaming. Throws InputError (file, line or row, field) on bad input. */
export type RecordReader = (path: string, options: ReadOptions) => AsyncIterable<IngestItem>;
