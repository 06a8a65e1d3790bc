import { canonicalJson, type JsonValue } from './canonical-json.js';
import { CordonError } from './errors.js';
import { sha256Hex, type Digest } from './hashing.js';

/** A file a record points at, stored by content. `path` is relative, with forward slashes. */
export interface FileRef {
  path: string;
  sha256: Digest;
  size: number;
  mediaType?: string;
}

/**
 * One training example. `label` and `source` are null when unknown. A record carries at least
 * one of `text`, `features` or `file`; `meta` keeps every other column of the input.
 */
export interface CordonRecord {
  id: string;
  label: string | null;
  source: string | null;
  text?: string;
  features?: number[];
  file?: FileRef;
  meta?: Record<string, JsonValue>;
}

export const RECORD_ENCODING = 'cordon.record/v1';

/**
 * Canonical bytes of a record: RFC 8785 JSON of the record object, with `label` and `source`
 * always present (null when unknown) and absent optional fields left out. Documented in
 * docs/FORMATS.md; the digest of a record is SHA-256 of these bytes (UTF-8).
 */
export function encodeRecord(record: CordonRecord): string {
  return canonicalJson(record);
}

export function recordDigest(record: CordonRecord): Digest {
  return sha256Hex(encodeRecord(record));
}

/**
 * Id for a row that has none: "r" + the first 24 hex characters of
 * SHA-256("cordon.row-id/v1\n" + position + "\n" + canonical bytes of the record with id "").
 * `position` is the 0-based index of the row in its input (file order; a folder's files in
 * sorted path order). The same row at the same place always gets the same id; the same content at
 * two places gets two ids, so exact duplicates stay visible as two records.
 */
export function deriveRowId(record: Omit<CordonRecord, 'id'>, position: number): string {
  const body = encodeRecord({ ...record, id: '' });
  return 'r' + sha256Hex(`cordon.row-id/v1\n${position}\n${body}`).slice(0, 24);
}

/** Validates the shape of a record built by a reader; throws with the offending field named. */
export function assertRecord(r: CordonRecord): void {
  if (typeof r.id !== 'string' || r.id.length === 0) {
    throw new CordonError('INPUT_INVALID', 'record id must be a non-empty string');
  }
  if (r.text === undefined && r.features === undefined && r.file === undefined) {
    throw new CordonError('INPUT_INVALID', `record ${r.id}: no content (text, features or file)`);
  }
  if (r.features !== undefined) {
    for (let i = 0; i < r.features.length; i++) {
      const v = r.features[i];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new CordonError(
          'INPUT_INVALID',
          `record ${r.id}: features[${i}] is ${String(v)}, not a finite number`,
        );
      }
    }
  }
}
