/**
 * Rows of a distributed scan. The coordinator reads the snapshot as `rowsFromSnapshot` does
 * (segment by segment, the lines the manifest places there) and records which lines of which
 * segment became rows: the row layout. Workers then read any range of rows straight from the
 * blob store, checking each segment's SHA-256, without loading the manifest.
 */
import { CordonError } from '../../../core/errors.js';
import { sha256Hex } from '../../../core/hashing.js';
import type { CordonRecord } from '../../../core/record.js';
import type { ScanRow } from '../../../core/scan/types.js';
import type { BlobStore } from '../../../store/blob-store.js';
import type { SnapshotRow } from '../../../store/metadata-store.js';
import { loadManifest, segmentLines } from '../../snapshots.js';
import type { Workspace } from '../../workspace.js';
import { toScanRow } from '../load-rows.js';
import type { RowLayout, SegmentSlice } from './protocol.js';

/**
 * Every row of a snapshot in the order `rowsFromSnapshot` gives them (so row indices, and with
 * them every order-dependent detail of the report, are the same), plus the layout workers use.
 */
export async function loadSnapshotRows(
  ws: Workspace,
  snapshot: SnapshotRow,
): Promise<{ rows: ScanRow[]; layout: RowLayout }> {
  const manifest = await loadManifest(ws, snapshot);
  const bySegment: Set<string>[] = manifest.header.segments.map(() => new Set<string>());
  for (const e of manifest.entries) bySegment[e.segment]!.add(e.id);
  const rows: ScanRow[] = [];
  const segments: SegmentSlice[] = [];
  for (let s = 0; s < manifest.header.segments.length; s++) {
    const wanted = bySegment[s]!;
    if (wanted.size === 0) continue;
    const digest = manifest.header.segments[s]!;
    const lines = segmentLines(await ws.blobs.get(digest));
    const kept: number[] = [];
    for (let li = 0; li < lines.length; li++) {
      const record = JSON.parse(lines[li]!.toString('utf8')) as CordonRecord;
      if (!wanted.has(record.id)) continue;
      rows.push(toScanRow(record));
      kept.push(li);
    }
    segments.push({ digest, lines: kept.length === lines.length ? null : kept, rows: kept.length });
  }
  return { rows, layout: { segments, rows: rows.length } };
}

/**
 * The stored segments holding rows [from, to) of a layout, as bytes (not yet checked or parsed):
 * a worker's main thread reads them and hands them to a compute thread, which checks and parses
 * them (`rowsFromSegments`), so rows exist once, in the thread that uses them.
 */
export interface SegmentBytes {
  segments: { digest: string; bytes: Uint8Array; lines: number[] | null; rows: number }[];
  /** Rows of the first segment before `from`. */
  skip: number;
  /** Rows wanted: to − from. */
  count: number;
}

export async function readLayoutSegments(
  blobs: BlobStore,
  layout: RowLayout,
  from: number,
  to: number,
): Promise<SegmentBytes> {
  const segments: SegmentBytes['segments'] = [];
  let skip = 0;
  let at = 0;
  for (const slice of layout.segments) {
    const sliceEnd = at + slice.rows;
    if (sliceEnd > from && at < to) {
      if (segments.length === 0) skip = from - at;
      const buf = await blobs.get(slice.digest);
      // A Buffer may share memory with others (Node's pool): give the thread its own copy then.
      const bytes =
        buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength
          ? new Uint8Array(buf.buffer, 0, buf.byteLength)
          : new Uint8Array(buf);
      segments.push({ digest: slice.digest, bytes, lines: slice.lines, rows: slice.rows });
    }
    at = sliceEnd;
    if (at >= to) break;
  }
  return { segments, skip, count: Math.max(0, to - from) };
}

/** Checks each segment's SHA-256 and parses the wanted rows. */
export function rowsFromSegments(source: SegmentBytes): ScanRow[] {
  const rows: ScanRow[] = [];
  let skip = source.skip;
  for (const seg of source.segments) {
    const bytes = Buffer.from(seg.bytes.buffer, seg.bytes.byteOffset, seg.bytes.byteLength);
    const actual = sha256Hex(bytes);
    if (actual !== seg.digest)
      throw new CordonError(
        'VERIFY_FAILED',
        `segment ${seg.digest} read back with SHA-256 ${actual}`,
      );
    const lines = segmentLines(bytes);
    const count = seg.lines ? seg.lines.length : lines.length;
    if (count !== seg.rows)
      throw new CordonError(
        'VERIFY_FAILED',
        `segment ${seg.digest} holds ${count} rows, the scan plan says ${seg.rows}`,
      );
    for (let q = skip; q < seg.rows && rows.length < source.count; q++) {
      const line = lines[seg.lines ? seg.lines[q]! : q]!;
      rows.push(toScanRow(JSON.parse(line.toString('utf8')) as CordonRecord));
    }
    skip = 0;
  }
  if (rows.length !== source.count)
    throw new CordonError('VERIFY_FAILED', `read ${rows.length} rows, wanted ${source.count}`);
  return rows;
}

/** Reads rows [from, to) of a layout from the blob store; every segment read is hash-checked. */
export async function readLayoutRows(
  blobs: BlobStore,
  layout: RowLayout,
  from: number,
  to: number,
): Promise<ScanRow[]> {
  return rowsFromSegments(await readLayoutSegments(blobs, layout, from, to));
}
