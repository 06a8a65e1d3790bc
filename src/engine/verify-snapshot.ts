import { createHash } from 'node:crypto';
import { type KeyObject } from 'node:crypto';
import { verifyEnvelope, type DsseEnvelope } from '../core/dsse.js';
import { CordonError, VerifyError } from '../core/errors.js';
import { sha256Hex } from '../core/hashing.js';
import { countBy, manifestRoot, compareIds, type ManifestEntry } from '../core/manifest.js';
import type { CordonRecord } from '../core/record.js';
import {
  SNAPSHOT_PREDICATE,
  parseStatement,
  snapshotIdOf,
  subjectDigest,
  type SnapshotPredicate,
} from '../core/statement.js';
import { canonicalJson } from '../core/canonical-json.js';
import type { SnapshotRow } from '../store/metadata-store.js';
import { parseManifestStream, segmentLines, snapshotLabel } from './snapshots.js';
import { trustedKeys, type Workspace } from './workspace.js';

export interface SnapshotVerification {
  snapshot: string;
  records: number;
  segments: number;
  files: number;
  signer: string;
}

/** Parses a stored DSSE envelope, checking the bytes against their digest first. */
export function parseEnvelope(bytes: Buffer, expectedDigest: string, what: string): DsseEnvelope {
  const actual = sha256Hex(bytes);
  if (actual !== expectedDigest) {
    throw new VerifyError(what, `SHA-256 is ${actual}, expected ${expectedDigest}`);
  }
  try {
    return JSON.parse(bytes.toString('utf8')) as DsseEnvelope;
  } catch (cause) {
    throw new VerifyError(what, 'not a JSON DSSE envelope', { cause });
  }
}

/**
 * Checks that the signed statement verifies with a trusted key and agrees with every field of the
 * metadata row; returns the predicate. Shared by stored and exported verification.
 */
export function checkStatement(
  envelope: DsseEnvelope,
  trusted: ReadonlyMap<string, KeyObject>,
  what: string,
): { predicate: SnapshotPredicate; root: string; id: string; signer: string } {
  let payload: Buffer;
  let signer: string;
  try {
    const v = verifyEnvelope(envelope, trusted);
    payload = v.payload;
    signer = v.verifiedBy[0]!;
  } catch (cause) {
    throw new VerifyError(what, cause instanceof Error ? cause.message : String(cause), { cause });
  }
  const statement = parseStatement(payload);
  if (statement.predicateType !== SNAPSHOT_PREDICATE) {
    throw new VerifyError(
      what,
      `predicateType is ${statement.predicateType}, expected ${SNAPSHOT_PREDICATE}`,
    );
  }
  const predicate = statement.predicate as SnapshotPredicate;
  if (predicate.author?.keyId !== signer) {
    throw new VerifyError(
      what,
      `signed by ${signer} but names ${String(predicate.author?.keyId)} as author`,
    );
  }
  return { predicate, root: subjectDigest(statement), id: snapshotIdOf(payload), signer };
}

function compareRow(row: SnapshotRow, id: string, root: string, p: SnapshotPredicate): void {
  const what = `snapshot ${snapshotLabel(row)} (metadata row)`;
  const expect: [string, unknown, unknown][] = [
    ['id', row.id, id],
    ['dataset', row.dataset, p.dataset],
    ['version', row.version, p.version],
    ['stage', row.stage, p.stage],
    ['root', row.root, root],
    ['record_count', Number(row.record_count), p.manifest.records],
    ['manifest_digest', row.manifest_digest, p.manifest.digest],
    ['parents', row.parents, JSON.stringify(p.parents)],
    ['author', row.author, p.author.identity],
    ['author_key_id', row.author_key_id, p.author.keyId],
    ['created_at', row.created_at, p.createdAt],
    ['message', row.message, p.message],
  ];
  for (const [field, stored, signed] of expect) {
    if (stored !== signed) {
      throw new VerifyError(
        what,
        `${field} is ${JSON.stringify(stored)} but the signed statement says ${JSON.stringify(signed)}`,
      );
    }
  }
}

/** Checks manifest entries against the root and the signed label and source counts. */
export function checkManifest(
  entries: ManifestEntry[],
  root: string,
  p: SnapshotPredicate,
  what: string,
): void {
  for (let i = 1; i < entries.length; i++) {
    if (compareIds(entries[i - 1]!.id, entries[i]!.id) >= 0) {
      throw new VerifyError(what, `record ids are not strictly increasing at "${entries[i]!.id}"`);
    }
  }
  const rebuilt = manifestRoot(entries);
  if (rebuilt !== root)
    throw new VerifyError(
      what,
      `Merkle root rebuilt from the manifest is ${rebuilt}, signed root is ${root}`,
    );
  for (const key of ['labels', 'sources'] as const) {
    const counted = canonicalJson(countBy(entries, key === 'labels' ? 'label' : 'source'));
    if (counted !== canonicalJson(p[key]))
      throw new VerifyError(what, `${key} counts differ from the signed statement`);
  }
}

/** Checks one record line against its manifest entry. */
export function checkRecordLine(
  line: Buffer,
  entry: ManifestEntry | undefined,
  where: string,
): CordonRecord {
  let record: CordonRecord;
  try {
    record = JSON.parse(line.toString('utf8')) as CordonRecord;
  } catch (cause) {
    throw new VerifyError(where, 'record is not JSON', { cause });
  }
  if (!entry)
    throw new VerifyError(`${where}, record "${String(record.id)}"`, 'not listed in the manifest');
  const digest = createHash('sha256').update(line).digest('hex');
  const subject = `${where}, record "${entry.id}"`;
  if (digest !== entry.digest) {
    throw new VerifyError(
      subject,
      `content SHA-256 is ${digest}, the manifest says ${entry.digest}`,
    );
  }
  if (record.label !== entry.label)
    throw new VerifyError(
      subject,
      `label ${JSON.stringify(record.label)} differs from the manifest's ${JSON.stringify(entry.label)}`,
    );
  if (record.source !== entry.source)
    throw new VerifyError(subject, `source differs from the manifest`);
  return record;
}

/**
 * Verifies a stored snapshot end to end and fails closed at the first problem: the envelope's
 * bytes and signature, every metadata field against the signed statement, the manifest's digest
 * and Merkle root, every segment's digest, every record's digest, and every referenced file.
 */
export async function verifySnapshot(
  ws: Workspace,
  row: SnapshotRow,
  trusted: ReadonlyMap<string, KeyObject>,
): Promise<SnapshotVerification> {
  const label = snapshotLabel(row);
  const envelope = parseEnvelope(
    await ws.blobs.get(row.envelope_digest),
    row.envelope_digest,
    `attestation of ${label}`,
  );
  const { predicate, root, id, signer } = checkStatement(
    envelope,
    trusted,
    `attestation of ${label}`,
  );
  compareRow(row, id, root, predicate);
  const manifestName = `manifest of ${label}`;
  let loaded;
  try {
    loaded = await parseManifestStream(
      ws.blobs.stream(predicate.manifest.digest),
      predicate.manifest.digest,
      manifestName,
    );
  } catch (e) {
    if (e instanceof CordonError && e.code !== 'VERIFY_FAILED')
      throw new VerifyError(manifestName, e.message, { cause: e });
    throw e;
  }
  const { header, entries } = loaded;
  if (header.root !== root)
    throw new VerifyError(
      manifestName,
      `header root ${header.root} is not the signed root ${root}`,
    );
  checkManifest(entries, root, predicate, manifestName);

  const bySegment: Map<string, ManifestEntry>[] = header.segments.map(
    () => new Map<string, ManifestEntry>(),
  );
  for (const e of entries) bySegment[e.segment]!.set(e.id, e);
  let seen = 0;
  let files = 0;
  for (let s = 0; s < header.segments.length; s++) {
    const digest = header.segments[s]!;
    const wanted = bySegment[s]!;
    if (wanted.size === 0) continue;
    const what = `segment ${s} (object ${digest.slice(0, 12)}…) of ${label}`;
    let bytes: Buffer;
    try {
      bytes = await ws.blobs.get(digest);
    } catch (cause) {
      throw new VerifyError(what, 'object is missing', { cause });
    }
    const actual = sha256Hex(bytes);
    if (actual !== digest) {
      // Name the first record whose bytes no longer match, which is what a user needs to know.
      const lines = segmentLines(bytes);
      lines.forEach((line, i) => {
        const parsedId = safeId(line);
        const entry = parsedId === undefined ? undefined : wanted.get(parsedId);
        if (entry) checkRecordLine(line, entry, `${what}, line ${i + 1}`);
      });
      throw new VerifyError(what, `SHA-256 is ${actual}, expected ${digest}`);
    }
    const lines = segmentLines(bytes);
    for (let i = 0; i < lines.length; i++) {
      const id = safeId(lines[i]!);
      const entry = id === undefined ? undefined : wanted.get(id);
      if (!entry) continue; // a record of an ancestor that this snapshot replaced
      const record = checkRecordLine(lines[i]!, entry, `${what}, line ${i + 1}`);
      wanted.delete(entry.id);
      seen++;
      if (record.file) {
        files++;
        const fileWhat = `file "${record.file.path}" of record "${entry.id}"`;
        if (!(await ws.blobs.has(record.file.sha256)))
          throw new VerifyError(fileWhat, 'content object is missing');
        const h = createHash('sha256');
        for await (const chunk of ws.blobs.stream(record.file.sha256)) h.update(chunk);
        const fileDigest = h.digest('hex');
        if (fileDigest !== record.file.sha256) {
          throw new VerifyError(
            fileWhat,
            `SHA-256 is ${fileDigest}, the record says ${record.file.sha256}`,
          );
        }
      }
    }
    const missing = wanted.keys().next();
    if (!missing.done)
      throw new VerifyError(`record "${missing.value}" of ${label}`, `not found in segment ${s}`);
  }
  if (seen !== entries.length)
    throw new VerifyError(label, `found ${seen} records, the manifest lists ${entries.length}`);
  return { snapshot: label, records: seen, segments: header.segments.length, files, signer };
}

/**
 * Fails closed unless every snapshot verifies against the workspace's identities: run at each
 * hand-off, before a snapshot is derived from, merged or exported.
 */
export async function verifyInputs(ws: Workspace, rows: readonly SnapshotRow[]): Promise<void> {
  if (rows.length === 0) return;
  const trusted = await trustedKeys(ws);
  for (const row of rows) await verifySnapshot(ws, row, trusted);
}

function safeId(line: Buffer): string | undefined {
  try {
    const id = (JSON.parse(line.toString('utf8')) as { id?: unknown }).id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}
