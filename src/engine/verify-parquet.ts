import { createHash } from 'node:crypto';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { VerifyError } from '../core/errors.js';
import type { ManifestEntry } from '../core/manifest.js';
import type { CordonRecord } from '../core/record.js';

/**
 * Checks the optional records.parquet of an export: its `record` column must hold every record's
 * canonical line exactly once (each hashing to its manifest entry), and the convenience columns
 * `id`, `label`, `source` and `text` must agree with that record.
 */
export async function verifyParquet(
  path: string,
  name: string,
  entries: readonly ManifestEntry[],
  index: ReadonlyMap<string, number>,
): Promise<void> {
  let rows: Record<string, unknown>[];
  try {
    rows = (await parquetReadObjects({
      file: await asyncBufferFromFile(path),
      columns: ['record', 'id', 'label', 'source', 'text'],
      compressors,
    })) as Record<string, unknown>[];
  } catch (cause) {
    throw new VerifyError(
      name,
      `cannot be read as Parquet: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
  const seen = new Uint8Array(entries.length);
  rows.forEach((row, i) => {
    const where = `${name} row ${i}`;
    if (typeof row['record'] !== 'string')
      throw new VerifyError(where, 'has no record column value');
    const line = row['record'];
    let record: CordonRecord;
    try {
      record = JSON.parse(line) as CordonRecord;
    } catch (cause) {
      throw new VerifyError(where, 'record is not JSON', { cause });
    }
    const at = index.get(record.id);
    if (at === undefined)
      throw new VerifyError(`${where}, record "${record.id}"`, 'is not listed in the manifest');
    if (seen[at])
      throw new VerifyError(`${where}, record "${record.id}"`, 'appears more than once');
    seen[at] = 1;
    const digest = createHash('sha256').update(line, 'utf8').digest('hex');
    if (digest !== entries[at]!.digest) {
      throw new VerifyError(
        `${where}, record "${record.id}"`,
        `content SHA-256 is ${digest}, the manifest says ${entries[at]!.digest}`,
      );
    }
    const columns: [string, unknown][] = [
      ['id', record.id],
      ['label', record.label],
      ['source', record.source],
      ['text', record.text ?? null],
    ];
    for (const [column, expected] of columns) {
      if ((row[column] ?? null) !== expected) {
        throw new VerifyError(
          `${where}, record "${record.id}"`,
          `column ${column} differs from the record`,
        );
      }
    }
  });
  const missing = seen.indexOf(0);
  if (missing >= 0)
    throw new VerifyError(`record "${entries[missing]!.id}"`, `missing from ${name}`);
}
