import { existsSync } from 'node:fs';
import type { ScanRow } from '../../core/scan/types.js';
import type { SnapshotRow } from '../../store/metadata-store.js';
import { readInput } from '../readers/read-input.js';
import type { InputFormat, ReadOptions } from '../readers/reader.js';
import { loadManifest, snapshotLines } from '../snapshots.js';
import type { Workspace } from '../workspace.js';
import type { CordonRecord } from '../../core/record.js';

export function toScanRow(r: CordonRecord): ScanRow {
  const row: ScanRow = { id: r.id, label: r.label, source: r.source };
  if (r.text !== undefined) row.text = r.text;
  if (r.features !== undefined) row.features = r.features;
  return row;
}

/**
 * Reads a file for scanning. Labels are optional (label detectors skip unlabelled rows) and rows
 * without an id are named by their 0-based index, as the report contract says.
 */
export async function rowsFromFile(
  path: string,
  format: InputFormat | undefined,
  options: Omit<ReadOptions, 'requireLabel' | 'missingId'>,
  onProgress?: (n: number) => void,
): Promise<ScanRow[]> {
  const rows: ScanRow[] = [];
  for await (const item of readInput(path, format, {
    ...options,
    requireLabel: false,
    missingId: 'index',
  })) {
    rows.push(toScanRow(item.record));
    if (onProgress && rows.length % 10_000 === 0) onProgress(rows.length);
  }
  return rows;
}

/** Reads every record of a stored snapshot for scanning. */
export async function rowsFromSnapshot(ws: Workspace, row: SnapshotRow): Promise<ScanRow[]> {
  const manifest = await loadManifest(ws, row);
  const rows: ScanRow[] = [];
  for await (const { line } of snapshotLines(ws, manifest))
    rows.push(toScanRow(JSON.parse(line.toString('utf8')) as CordonRecord));
  return rows;
}

export function isFile(path: string): boolean {
  return existsSync(path);
}
