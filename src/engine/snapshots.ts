import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { CordonError, VerifyError } from '../core/errors.js';
import type { Digest } from '../core/hashing.js';
import {
  parseManifestEntry,
  parseManifestHeader,
  type ManifestEntry,
  type ManifestHeader,
} from '../core/manifest.js';
import type { SnapshotRow } from '../store/metadata-store.js';
import type { Workspace } from './workspace.js';

const HEX_PREFIX = /^[0-9a-f]{6,64}$/;

/**
 * Resolves a snapshot reference: `dataset` (its head), `dataset@N` (version N), `dataset@TAG`
 * (newest snapshot with that tag), or a hex prefix of a snapshot id (6+ characters).
 */
export async function resolveSnapshot(ws: Workspace, ref: string): Promise<SnapshotRow> {
  const at = ref.lastIndexOf('@');
  if (at > 0) {
    const dataset = ref.slice(0, at);
    const which = ref.slice(at + 1);
    await requireDataset(ws, dataset);
    if (/^\d+$/.test(which)) {
      const row = await ws.meta.getSnapshotByVersion(dataset, Number(which));
      if (!row)
        throw new CordonError('SNAPSHOT_NOT_FOUND', `dataset "${dataset}" has no version ${which}`);
      return row;
    }
    const tagged = (await ws.meta.listTags(dataset)).filter((t) => t.tag === which);
    const newest = tagged[tagged.length - 1];
    if (!newest)
      throw new CordonError(
        'SNAPSHOT_NOT_FOUND',
        `no snapshot of "${dataset}" is tagged "${which}"`,
      );
    return (await ws.meta.getSnapshot(newest.snapshot_id))!;
  }
  const dataset = await ws.meta.getDataset(ref);
  if (dataset) {
    if (!dataset.head)
      throw new CordonError('SNAPSHOT_NOT_FOUND', `dataset "${ref}" has no snapshot yet`);
    return (await ws.meta.getSnapshot(dataset.head))!;
  }
  if (HEX_PREFIX.test(ref)) {
    const rows = await ws.meta.findSnapshotsByPrefix(ref);
    if (rows.length > 1)
      throw new CordonError(
        'SNAPSHOT_AMBIGUOUS',
        `"${ref}" matches more than one snapshot; give more characters`,
      );
    if (rows[0]) return rows[0];
  }
  throw new CordonError('SNAPSHOT_NOT_FOUND', `no dataset or snapshot "${ref}"`);
}

export async function requireDataset(ws: Workspace, name: string): Promise<void> {
  if (!(await ws.meta.getDataset(name)))
    throw new CordonError('DATASET_NOT_FOUND', `no dataset "${name}"`);
}

export function snapshotLabel(row: SnapshotRow): string {
  return `${row.dataset}@${row.version}`;
}

export interface LoadedManifest {
  header: ManifestHeader;
  entries: ManifestEntry[];
}

/** Parses manifest text streamed from `chunks`, checking its SHA-256 against `digest`. */
export async function parseManifestStream(
  chunks: AsyncIterable<Buffer>,
  digest: Digest,
  name: string,
): Promise<LoadedManifest> {
  const hash = createHash('sha256');
  const source = Readable.from(
    (async function* () {
      for await (const c of chunks) {
        hash.update(c);
        yield c;
      }
    })(),
  );
  const lines = createInterface({ input: source, crlfDelay: Infinity });
  let header: ManifestHeader | undefined;
  const entries: ManifestEntry[] = [];
  let n = 0;
  let parseError: unknown;
  for await (const line of lines) {
    n++;
    if (parseError !== undefined) continue; // keep reading so the digest covers every byte
    try {
      if (!header) header = parseManifestHeader(line, name);
      else entries.push(parseManifestEntry(line, n, name, header.segments.length));
    } catch (e) {
      parseError = e;
    }
  }
  // A digest mismatch is the more basic finding: report it before any parse error it caused.
  const actual = hash.digest('hex');
  if (actual !== digest) {
    throw new VerifyError(
      name,
      `manifest SHA-256 is ${actual}, the signed statement says ${digest}`,
    );
  }
  if (parseError !== undefined) throw parseError as Error;
  if (!header) throw new VerifyError(name, 'manifest is empty');
  if (header.records !== entries.length) {
    throw new VerifyError(
      name,
      `header says ${header.records} records, manifest lists ${entries.length}`,
    );
  }
  return { header, entries };
}

export async function loadManifest(ws: Workspace, row: SnapshotRow): Promise<LoadedManifest> {
  return parseManifestStream(
    ws.blobs.stream(row.manifest_digest),
    row.manifest_digest,
    `manifest of ${snapshotLabel(row)}`,
  );
}

/** Splits a segment object into its lines (each the canonical bytes of one record). */
export function segmentLines(segment: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  for (;;) {
    const nl = segment.indexOf(10, start);
    if (nl < 0) break;
    lines.push(segment.subarray(start, nl));
    start = nl + 1;
  }
  if (start < segment.length) lines.push(segment.subarray(start));
  return lines;
}

/**
 * Every record of a snapshot as its canonical line, segment by segment. Segments inherited from a
 * parent may hold records the snapshot replaced or dropped; only lines whose id the manifest
 * places in that segment are yielded. Content is not re-hashed here (verify does that).
 */
export async function* snapshotLines(
  ws: Workspace,
  manifest: LoadedManifest,
): AsyncGenerator<{ line: Buffer; entry: ManifestEntry }> {
  const bySegment: Map<string, ManifestEntry>[] = manifest.header.segments.map(
    () => new Map<string, ManifestEntry>(),
  );
  for (const e of manifest.entries) bySegment[e.segment]!.set(e.id, e);
  for (let s = 0; s < manifest.header.segments.length; s++) {
    const wanted = bySegment[s]!;
    if (wanted.size === 0) continue;
    const segment = await ws.blobs.get(manifest.header.segments[s]!);
    for (const line of segmentLines(segment)) {
      const id = (JSON.parse(line.toString('utf8')) as { id: string }).id;
      const entry = wanted.get(id);
      if (entry) yield { line, entry };
    }
  }
}
