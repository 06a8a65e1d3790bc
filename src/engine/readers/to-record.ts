import { hasLoneSurrogate, type JsonValue } from '../../core/canonical-json.js';
import { InputError, type InputLocation } from '../../core/errors.js';
import { deriveRowId, type CordonRecord } from '../../core/record.js';
import { DEFAULT_COLUMNS, type ReadOptions } from './reader.js';

/** Where a row sits: its file plus a 1-based line (text formats) or a 0-based row (Parquet). */
export type RowLocation = InputLocation & { file: string };

export interface RecordOptions extends ReadOptions {
  /**
   * Cells are text (CSV): an empty cell is a missing value, and features are parsed from text
   * (a JSON array or numbers separated by spaces or commas).
   */
  textCells?: boolean;
  /** Tabular feature columns already matched against the header (see resolveColumns). */
  featureColumns?: string[];
}

export const NO_CONTENT = 'row has no content: expected a text, features or file field';

/**
 * Maps one input row (field name → value) to a record, following options.columns. `position` is
 * the 0-based data row index in the file, used to derive an id for rows that have none.
 */
export function toRecord(
  fields: Record<string, unknown>,
  position: number,
  loc: RowLocation,
  options: RecordOptions,
): CordonRecord {
  const cols = options.columns;
  const textCells = options.textCells === true;
  const given = (v: unknown): boolean => v !== undefined && v !== null && !(textCells && v === '');

  const record: Omit<CordonRecord, 'id'> = {
    label: labelOf(fields[cols.label], loc, cols.label, options.requireLabel),
    source: sourceOf(fields[cols.source], loc, cols.source, options.defaultSource),
  };
  const text = fields[cols.text];
  if (given(text)) record.text = textOf(text, loc, cols.text);

  let featureCols: string[] | undefined;
  if (Array.isArray(cols.features)) {
    featureCols = options.featureColumns ?? expandFeatureColumns(Object.keys(fields), loc, options);
    record.features = featureCols.map((c, i) => cellNumber(fields[c], loc, c, i, textCells));
  } else if (given(fields[cols.features])) {
    record.features = vectorOf(fields[cols.features], loc, cols.features, textCells);
  }
  if (record.text === undefined && record.features === undefined) {
    throw new InputError(loc, NO_CONTENT);
  }

  const isFeature = featureCols === undefined ? null : new Set(featureCols);
  const isColumn = (key: string): boolean =>
    key === cols.id ||
    key === cols.label ||
    key === cols.source ||
    key === cols.text ||
    (isFeature ? isFeature.has(key) : key === cols.features);
  const meta: [string, JsonValue][] = [];
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    if (value !== undefined && !isColumn(key)) meta.push([key, jsonOf(value, loc, key)]);
  }
  if (meta.length > 0) record.meta = Object.fromEntries(meta);

  const id = idOf(fields[cols.id], loc, cols.id);
  return {
    id: id ?? (options.missingId === 'index' ? String(position) : deriveRowId(record, position)),
    ...record,
  };
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : `a ${typeof v}`;
}

/** An error about one field of a row; the location object is only built when something fails. */
function fieldError(loc: RowLocation, field: string, problem: string): InputError {
  return new InputError({ ...loc, field }, problem);
}

function checkString(s: string, loc: RowLocation, field: string): string {
  if (hasLoneSurrogate(s)) {
    throw fieldError(loc, field, 'invalid text: holds a lone UTF-16 surrogate');
  }
  return s;
}

function idOf(v: unknown, loc: RowLocation, field: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string') return checkString(v, loc, field);
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'bigint') return v.toString();
  throw fieldError(loc, field, `id must be a string or a number, found ${describe(v)}`);
}

function labelOf(v: unknown, loc: RowLocation, field: string, required: boolean): string | null {
  if (v === undefined || v === null || v === '') {
    if (required) throw fieldError(loc, field, 'missing label');
    return null;
  }
  if (typeof v === 'string') return checkString(v, loc, field);
  if (
    (typeof v === 'number' && Number.isFinite(v)) ||
    typeof v === 'boolean' ||
    typeof v === 'bigint'
  ) {
    return String(v);
  }
  throw fieldError(loc, field, `label must be a string, number or boolean, found ${describe(v)}`);
}

function sourceOf(
  v: unknown,
  loc: RowLocation,
  field: string,
  fallback: string | null,
): string | null {
  if (v === undefined || v === null || v === '') return fallback;
  if (typeof v === 'string') return checkString(v, loc, field);
  throw fieldError(loc, field, `source must be a string, found ${describe(v)}`);
}

function textOf(v: unknown, loc: RowLocation, field: string): string {
  if (typeof v !== 'string') {
    throw fieldError(loc, field, `text must be a string, found ${describe(v)}`);
  }
  return checkString(v, loc, field);
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A feature value: a finite number, or with text cells a decimal number written as text. */
function toFinite(v: unknown, textCells: boolean): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'bigint') return Number(v);
  if (textCells && typeof v === 'string') {
    const s = v.trim();
    if (!DECIMAL.test(s)) return undefined;
    const n = Number(s);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function cellNumber(
  v: unknown,
  loc: RowLocation,
  field: string,
  index: number,
  textCells: boolean,
): number {
  const n = toFinite(v, textCells);
  if (n !== undefined) return n;
  const what = v === undefined || v === '' ? 'is empty' : `is ${describe(v)}`;
  throw fieldError(loc, field, `feature ${index} ${what}, not a finite number`);
}

/** The single features column: an array, or with text cells a JSON array or separated numbers. */
function vectorOf(v: unknown, loc: RowLocation, field: string, textCells: boolean): number[] {
  let list: unknown[];
  let written = false; // numbers written as text, separated by spaces or commas
  if (Array.isArray(v)) {
    list = v;
  } else if (textCells && typeof v === 'string') {
    const s = v.trim();
    if (s.startsWith('[')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(s);
      } catch (cause) {
        throw fieldError(
          loc,
          field,
          `features is not a valid JSON array: ${(cause as Error).message}`,
        );
      }
      if (!Array.isArray(parsed)) throw fieldError(loc, field, 'features is not a JSON array');
      list = parsed;
    } else {
      list = s.split(/[\s,]+/).filter((x) => x !== '');
      written = true;
    }
  } else {
    throw fieldError(loc, field, `features must be an array of numbers, found ${describe(v)}`);
  }
  if (list.length === 0) {
    throw fieldError(loc, field, 'features is empty: expected at least one number');
  }
  return list.map((x, i) => {
    const n = toFinite(x, written);
    if (n === undefined) {
      throw fieldError(loc, field, `features[${i}] is ${describe(x)}, not a finite number`);
    }
    return n;
  });
}

/** Checks that a meta value is JSON Cordon can store: finite numbers, no lone surrogates. */
function jsonOf(v: unknown, loc: RowLocation, field: string): JsonValue {
  if (v === null || typeof v === 'boolean') return v;
  if (typeof v === 'string') return checkString(v, loc, field);
  if (typeof v === 'number') {
    if (Number.isFinite(v)) return v;
    throw fieldError(loc, field, `${String(v)} is not a finite number, so it cannot be stored`);
  }
  if (Array.isArray(v)) {
    for (const item of v) jsonOf(item, loc, field);
    return v as JsonValue[];
  }
  if (typeof v === 'object') {
    const obj = v as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      checkString(key, loc, field);
      if (obj[key] !== undefined) jsonOf(obj[key], loc, field);
    }
    return obj as JsonValue;
  }
  throw fieldError(loc, field, `a ${typeof v} value cannot be stored`);
}

/**
 * Expands a tabular features spec against the column names: an element ending in `*` stands for
 * every column with that prefix, in column order (skipping the id, label, source and text
 * columns); other elements are kept. Duplicates are dropped.
 */
export function expandFeatureColumns(
  names: readonly string[],
  loc: RowLocation,
  options: ReadOptions,
): string[] {
  const { id, label, source, text, features } = options.columns;
  const reserved = new Set([id, label, source, text]);
  const out = new Set<string>();
  for (const spec of typeof features === 'string' ? [features] : features) {
    if (!spec.endsWith('*')) {
      out.add(spec);
      continue;
    }
    const prefix = spec.slice(0, -1);
    const matches = names.filter((n) => n.startsWith(prefix) && !reserved.has(n));
    if (matches.length === 0) {
      throw new InputError(
        { ...loc, field: spec },
        `no column matches the features pattern "${spec}"`,
      );
    }
    for (const m of matches) out.add(m);
  }
  return [...out];
}

function columnList(names: readonly string[]): string {
  const shown = names.slice(0, 20).map((n) => JSON.stringify(n));
  return (
    (shown.join(', ') || '(none)') + (names.length > 20 ? `, … (${names.length - 20} more)` : '')
  );
}

/**
 * Checks a header (CSV) or schema (Parquet) against the configured columns before any row is
 * read: the label column must be there unless labels are optional, and so must any column the
 * caller named explicitly. Returns the options with tabular feature patterns expanded.
 */
export function resolveColumns(
  loc: RowLocation,
  names: readonly string[],
  options: RecordOptions,
): RecordOptions {
  const cols = options.columns;
  const have = new Set(names);
  const missing = (col: string, role: string): InputError =>
    new InputError(
      { ...loc, field: col },
      `missing ${role} column "${col}"; columns found: ${columnList(names)}`,
    );
  if (options.requireLabel && !have.has(cols.label)) throw missing(cols.label, 'label');
  for (const role of ['id', 'source', 'text'] as const) {
    if (cols[role] !== DEFAULT_COLUMNS[role] && !have.has(cols[role])) {
      throw missing(cols[role], role);
    }
  }
  if (typeof cols.features === 'string') {
    if (cols.features !== DEFAULT_COLUMNS.features && !have.has(cols.features)) {
      throw missing(cols.features, 'features');
    }
    return options;
  }
  const featureColumns = expandFeatureColumns(names, loc, options);
  for (const c of featureColumns) if (!have.has(c)) throw missing(c, 'feature');
  return { ...options, featureColumns };
}
