import { type KeyObject } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { open, readFile, readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { verifyEnvelope, type DsseEnvelope } from '../core/dsse.js';
import { parseGateVerdict } from '../core/gate/verdict.js';
import { parseStatement } from '../core/statement.js';
import { CordonError, VerifyError } from '../core/errors.js';
import type { ManifestEntry } from '../core/manifest.js';
import { EXPORT_FILES } from './export.js';
import { HashPool, type FileHash, type LinesHash } from './hash-pool.js';
import { safeRelativePath } from './safe-path.js';
import { verifyParquet } from './verify-parquet.js';
import { parseManifestStream } from './snapshots.js';
import { checkManifest, checkStatement } from './verify-snapshot.js';

export interface ExportVerification {
  dir: string;
  snapshot: string;
  dataset: string;
  version: number;
  root: string;
  records: number;
  files: number;
  bytes: number;
  signer: string;
  /** The gate verdict shipped with the export (verified), or null when there is none. */
  gate: { passed: boolean; signer: string } | null;
}

const RANGE_BYTES = 16 << 20;
/** Small files are hashed in batches of about this many bytes: one message per batch. */
const BATCH_BYTES = 8 << 20;

/**
 * Verifies an exported snapshot folder, as a training job does before it trains. Fails closed at
 * the first problem, naming the record or file and what differed: the attestation must verify
 * with a trusted key, the manifest must hash to the signed digest and rebuild the signed Merkle
 * root, every line of records.jsonl must hash to its manifest entry (each entry exactly once),
 * every referenced file must hash to its record's digest, and nothing else may be in the folder.
 */
export async function verifyExport(
  dir: string,
  trusted: ReadonlyMap<string, KeyObject>,
  options: { threads?: number } = {},
): Promise<ExportVerification> {
  if (trusted.size === 0) {
    throw new CordonError(
      'USAGE',
      "no trusted keys: pass --key with the signer's public key, or run inside a workspace",
    );
  }
  const path = (name: string): string => join(dir, name);
  // Start the hash threads and queue the files first: they boot and hash while the attestation
  // and manifest are checked here.
  const pool = new HashPool(options.threads);
  try {
    // Queue every file in the folder at once, largest first (so a big file does not start last
    // and leave the other threads idle), small files in batches of about BATCH_BYTES.
    const onDisk = await listFiles(path(EXPORT_FILES.files));
    const sizes = await Promise.all(
      onDisk.map(async (rel) => (await stat(join(path(EXPORT_FILES.files), rel))).size),
    );
    const bySize = onDisk
      .map((rel, i) => ({ rel, size: sizes[i]! }))
      .sort((a, b) => b.size - a.size);
    const fileHashes = new Map<string, Promise<FileHash>>();
    for (let i = 0; i < bySize.length;) {
      const batch: string[] = [];
      let bytes = 0;
      while (i < bySize.length && (batch.length === 0 || bytes + bySize[i]!.size <= BATCH_BYTES)) {
        bytes += bySize[i]!.size;
        batch.push(bySize[i++]!.rel);
      }
      const hashed = pool.hashFiles(batch.map((rel) => join(path(EXPORT_FILES.files), rel)));
      batch.forEach((rel, k) =>
        fileHashes.set(
          rel,
          hashed.then((all) => all[k]!),
        ),
      );
    }
    for (const p of fileHashes.values()) p.catch(() => undefined);
    let envelopeBytes: Buffer;
    try {
      envelopeBytes = await readFile(path(EXPORT_FILES.attestation));
    } catch (cause) {
      throw new VerifyError(EXPORT_FILES.attestation, 'missing', { cause });
    }
    let envelope: DsseEnvelope;
    try {
      envelope = JSON.parse(envelopeBytes.toString('utf8')) as DsseEnvelope;
    } catch (cause) {
      throw new VerifyError(EXPORT_FILES.attestation, 'not JSON', { cause });
    }
    const { predicate, root, id, signer } = checkStatement(
      envelope,
      trusted,
      EXPORT_FILES.attestation,
    );

    const { header, entries } = await parseManifestStream(
      fileChunks(path(EXPORT_FILES.manifest)),
      predicate.manifest.digest,
      EXPORT_FILES.manifest,
    );
    if (header.root !== root)
      throw new VerifyError(
        EXPORT_FILES.manifest,
        `header root ${header.root} is not the signed root ${root}`,
      );
    checkManifest(entries, root, predicate, EXPORT_FILES.manifest);

    const ranges = await lineRanges(path(EXPORT_FILES.records));
    const results = await Promise.all(
      ranges.map(([s, e]) => pool.hashLines(path(EXPORT_FILES.records), s, e)),
    );

    const index = new Map<string, number>();
    entries.forEach((e, i) => index.set(e.id, i));
    const seen = new Uint8Array(entries.length);
    const referenced = new Map<
      string,
      { sha256: unknown; size: unknown; line: number; id: string }
    >();
    let line = 0;
    for (const r of results) checkLines(r, entries, index, seen, referenced, () => ++line);
    const missing = seen.indexOf(0);
    if (missing >= 0) {
      throw new VerifyError(
        `record "${entries[missing]!.id}"`,
        `listed in the manifest but missing from ${EXPORT_FILES.records}`,
      );
    }

    let bytes = (await stat(path(EXPORT_FILES.records))).size;
    for (const [rel, ref] of referenced) {
      const hashed = fileHashes.get(rel);
      const what = `${EXPORT_FILES.files}/${rel} (record "${ref.id}", ${EXPORT_FILES.records} line ${ref.line})`;
      if (!hashed) throw new VerifyError(what, 'file is missing');
      const h = await hashed;
      if (h.sha256 !== ref.sha256)
        throw new VerifyError(
          what,
          `SHA-256 is ${h.sha256}, the record says ${String(ref.sha256)}`,
        );
      if (h.size !== ref.size)
        throw new VerifyError(what, `size is ${h.size} bytes, the record says ${String(ref.size)}`);
      bytes += h.size;
    }
    for (const rel of onDisk) {
      if (!referenced.has(rel))
        throw new VerifyError(
          `${EXPORT_FILES.files}/${rel}`,
          'is not referenced by any record (unexpected file)',
        );
    }
    if (existsSync(path(EXPORT_FILES.parquet))) {
      await verifyParquet(path(EXPORT_FILES.parquet), EXPORT_FILES.parquet, entries, index);
    }
    await checkTopLevel(dir);
    const gate = await checkVerdict(path(EXPORT_FILES.verdict), trusted, id, root);
    return {
      dir,
      snapshot: id,
      dataset: predicate.dataset,
      version: predicate.version,
      root,
      records: entries.length,
      files: referenced.size,
      bytes,
      signer,
      gate,
    };
  } finally {
    await pool.close();
  }
}

function checkLines(
  r: LinesHash,
  entries: ManifestEntry[],
  index: Map<string, number>,
  seen: Uint8Array,
  referenced: Map<string, { sha256: unknown; size: unknown; line: number; id: string }>,
  nextLine: () => number,
): void {
  const errors = new Map(r.errors.map((e) => [e.index, e.message]));
  const digests = Buffer.from(r.digests.buffer, r.digests.byteOffset, r.digests.byteLength);
  let fileAt = 0;
  for (let k = 0; k < r.ids.length; k++) {
    const line = nextLine();
    const where = `${EXPORT_FILES.records} line ${line}`;
    const err = errors.get(k);
    if (err !== undefined) throw new VerifyError(where, err);
    const id = r.ids[k];
    if (id === null || id === undefined) throw new VerifyError(where, 'record has no id');
    const at = index.get(id);
    if (at === undefined)
      throw new VerifyError(
        `${where}, record "${id}"`,
        'is not listed in the manifest (unexpected record)',
      );
    if (seen[at]) throw new VerifyError(`${where}, record "${id}"`, 'appears more than once');
    seen[at] = 1;
    const entry = entries[at]!;
    const digest = digests.toString('hex', k * 32, k * 32 + 32);
    if (digest !== entry.digest) {
      throw new VerifyError(
        `${where}, record "${id}"`,
        `content SHA-256 is ${digest}, the manifest says ${entry.digest}`,
      );
    }
    if (r.labels[k] !== entry.label) {
      throw new VerifyError(
        `${where}, record "${id}"`,
        `label ${JSON.stringify(r.labels[k])} differs from the manifest's ${JSON.stringify(entry.label)}`,
      );
    }
    while (fileAt < r.files.length && r.files[fileAt]!.index < k) fileAt++;
    const f = r.files[fileAt];
    if (f && f.index === k) {
      const rel = safeRelativePath(f.path, `${where}, record "${id}", file path`);
      referenced.set(rel, { sha256: f.sha256, size: f.size, line, id });
    }
  }
}

/** Splits a file into ranges of about RANGE_BYTES that start and end on line boundaries. */
async function lineRanges(file: string): Promise<[number, number][]> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (cause) {
    throw new VerifyError(EXPORT_FILES.records, 'missing', { cause });
  }
  const fh = await open(file, 'r');
  try {
    const cuts = [0];
    const probe = Buffer.alloc(64 << 10);
    let pos = RANGE_BYTES;
    while (pos < size) {
      let found = -1;
      let at = pos;
      while (found < 0 && at < size) {
        const { bytesRead } = await fh.read(probe, 0, probe.length, at);
        const nl = probe.subarray(0, bytesRead).indexOf(10);
        if (nl >= 0) found = at + nl + 1;
        else at += bytesRead;
        if (bytesRead === 0) break;
      }
      if (found < 0 || found >= size) break;
      cuts.push(found);
      pos = found + RANGE_BYTES;
    }
    cuts.push(size);
    const ranges: [number, number][] = [];
    for (let i = 0; i + 1 < cuts.length; i++) ranges.push([cuts[i]!, cuts[i + 1]!]);
    return ranges;
  } finally {
    await fh.close();
  }
}

async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let names;
    try {
      names = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const d of names) {
      const p = join(dir, d.name);
      if (d.isDirectory()) await walk(p);
      else out.push(relative(root, p).split(sep).join('/'));
    }
  };
  await walk(root);
  return out.sort();
}

const KNOWN = new Set<string>(Object.values(EXPORT_FILES));

async function checkTopLevel(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    if (!KNOWN.has(name)) throw new VerifyError(name, 'unexpected file in the export folder');
  }
}

async function* fileChunks(file: string): AsyncIterable<Buffer> {
  try {
    for await (const c of createReadStream(file, { highWaterMark: 1 << 20 })) yield c as Buffer;
  } catch (cause) {
    throw new VerifyError(relative(process.cwd(), file), 'cannot be read', { cause });
  }
}

/**
 * Checks the gate verdict shipped with an export, if any: signed by a trusted key, about this
 * snapshot's id and root. A verdict that does not verify fails the whole export (fail closed).
 */
async function checkVerdict(
  file: string,
  trusted: ReadonlyMap<string, KeyObject>,
  snapshotId: string,
  root: string,
): Promise<ExportVerification['gate']> {
  if (!existsSync(file)) return null;
  const what = EXPORT_FILES.verdict;
  try {
    const envelope = JSON.parse(await readFile(file, 'utf8')) as DsseEnvelope;
    const v = verifyEnvelope(envelope, trusted);
    const verdict = parseGateVerdict(parseStatement(v.payload));
    if (verdict.snapshotId !== snapshotId || verdict.root !== root)
      throw new Error(
        `the verdict is about snapshot ${verdict.snapshotId.slice(0, 12)}, not this one`,
      );
    return { passed: verdict.passed, signer: v.verifiedBy[0]! };
  } catch (cause) {
    throw new VerifyError(what, cause instanceof Error ? cause.message : String(cause), { cause });
  }
}
