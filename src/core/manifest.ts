import { canonicalJson } from './canonical-json.js';
import { CordonError, InputError } from './errors.js';
import { isDigest, type Digest } from './hashing.js';
import { MerkleTree } from './merkle.js';
import { RECORD_ENCODING } from './record.js';

/** One record's line in a manifest. */
export interface ManifestEntry {
  id: string;
  digest: Digest;
  label: string | null;
  source: string | null;
  /** Index into the manifest's `segments`: the object that holds the record's bytes. */
  segment: number;
}

export interface ManifestHeader {
  encoding: typeof MANIFEST_ENCODING;
  recordEncoding: typeof RECORD_ENCODING;
  records: number;
  root: Digest;
  segments: Digest[];
}

export const MANIFEST_ENCODING = 'cordon.manifest/v1';

/** Record ids are ordered by UTF-16 code units, as RFC 8785 orders object keys. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sortEntries(entries: ManifestEntry[]): ManifestEntry[] {
  return entries.sort((a, b) => compareIds(a.id, b.id));
}

/** Merkle tree over the entries in id order: leaf i is the 32-byte digest of record i. */
export function manifestTree(entries: readonly ManifestEntry[]): MerkleTree {
  const raw: Buffer[] = new Array<Buffer>(entries.length);
  for (let i = 0; i < entries.length; i++) raw[i] = Buffer.from(entries[i]!.digest, 'hex');
  return MerkleTree.fromLeaves(raw);
}

export function manifestRoot(entries: readonly ManifestEntry[]): Digest {
  return manifestTree(entries).root().toString('hex');
}

/** Throws unless ids are strictly increasing (so also unique). */
export function assertSortedUnique(entries: readonly ManifestEntry[]): void {
  for (let i = 1; i < entries.length; i++) {
    const c = compareIds(entries[i - 1]!.id, entries[i]!.id);
    if (c === 0) throw new CordonError('INPUT_INVALID', `duplicate record id "${entries[i]!.id}"`);
    if (c > 0)
      throw new CordonError('INPUT_INVALID', `manifest ids out of order at "${entries[i]!.id}"`);
  }
}

export function buildHeader(entries: readonly ManifestEntry[], segments: Digest[]): ManifestHeader {
  return {
    encoding: MANIFEST_ENCODING,
    recordEncoding: RECORD_ENCODING,
    records: entries.length,
    root: manifestRoot(entries),
    segments,
  };
}

/** The manifest as text, in chunks of about `chunkChars` characters, each ending in a newline. */
export function* encodeManifest(
  header: ManifestHeader,
  entries: readonly ManifestEntry[],
  chunkChars = 1 << 20,
): Generator<string> {
  let chunk = canonicalJson(header) + '\n';
  for (const e of entries) {
    chunk += canonicalJson([e.id, e.digest, e.label, e.source, e.segment]) + '\n';
    if (chunk.length >= chunkChars) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk.length > 0) yield chunk;
}

export function parseManifestHeader(line: string, file: string): ManifestHeader {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (cause) {
    throw new InputError({ file, line: 1 }, 'manifest header is not JSON', { cause });
  }
  const h = v as Partial<ManifestHeader>;
  if (h.encoding !== MANIFEST_ENCODING) {
    throw new InputError({ file, line: 1, field: 'encoding' }, `expected "${MANIFEST_ENCODING}"`);
  }
  if (h.recordEncoding !== RECORD_ENCODING) {
    throw new InputError(
      { file, line: 1, field: 'recordEncoding' },
      `expected "${RECORD_ENCODING}"`,
    );
  }
  if (!Number.isSafeInteger(h.records) || (h.records ?? -1) < 0) {
    throw new InputError({ file, line: 1, field: 'records' }, 'not a record count');
  }
  if (!isDigest(h.root))
    throw new InputError({ file, line: 1, field: 'root' }, 'not a SHA-256 hex digest');
  if (!Array.isArray(h.segments) || !h.segments.every(isDigest)) {
    throw new InputError({ file, line: 1, field: 'segments' }, 'not a list of SHA-256 hex digests');
  }
  return h as ManifestHeader;
}

export function parseManifestEntry(
  line: string,
  lineNo: number,
  file: string,
  segments: number,
): ManifestEntry {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (cause) {
    throw new InputError({ file, line: lineNo }, 'manifest entry is not JSON', { cause });
  }
  if (!Array.isArray(v) || v.length !== 5) {
    throw new InputError(
      { file, line: lineNo },
      'manifest entry is not [id, digest, label, source, segment]',
    );
  }
  const [id, digest, label, source, segment] = v as unknown[];
  if (typeof id !== 'string' || id.length === 0)
    throw new InputError({ file, line: lineNo, field: 'id' }, 'not a record id');
  if (!isDigest(digest))
    throw new InputError({ file, line: lineNo, field: 'digest' }, 'not a SHA-256 hex digest');
  if (label !== null && typeof label !== 'string')
    throw new InputError({ file, line: lineNo, field: 'label' }, 'not a string or null');
  if (source !== null && typeof source !== 'string')
    throw new InputError({ file, line: lineNo, field: 'source' }, 'not a string or null');
  if (
    typeof segment !== 'number' ||
    !Number.isInteger(segment) ||
    segment < 0 ||
    segment >= segments
  ) {
    throw new InputError(
      { file, line: lineNo, field: 'segment' },
      `not a segment index below ${segments}`,
    );
  }
  return { id, digest, label, source, segment };
}

/** Class and source counts, sorted by name (null = unlabelled / unknown source). */
export function countBy(
  entries: readonly ManifestEntry[],
  key: 'label' | 'source',
): { name: string | null; records: number }[] {
  const counts = new Map<string | null, number>();
  for (const e of entries) counts.set(e[key], (counts.get(e[key]) ?? 0) + 1);
  return [...counts.entries()]
    .map(([name, records]) => ({ name, records }))
    .sort((a, b) => compareIds(a.name ?? '', b.name ?? ''));
}
