import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { parquetWriteFile } from 'hyparquet-writer';
import { CordonError } from '../core/errors.js';
import type { CordonRecord } from '../core/record.js';
import type { SnapshotRow } from '../store/metadata-store.js';
import { safeRelativePath } from './safe-path.js';
import { loadManifest, snapshotLabel, snapshotLines } from './snapshots.js';
import { authorize, type DecisionRecord } from './governance/authorize.js';
import { verifyInputs } from './verify-snapshot.js';
import type { Workspace } from './workspace.js';

/** File names inside an exported snapshot folder. See docs/FORMATS.md. */
export const EXPORT_FILES = {
  records: 'records.jsonl',
  parquet: 'records.parquet',
  manifest: 'manifest.ndjson',
  attestation: 'attestation.dsse.json',
  provenance: 'provenance.dsse.json',
  verdict: 'verdict.dsse.json',
  summary: 'snapshot.json',
  signer: 'signer.pub',
  files: 'files',
} as const;

export interface ExportResult {
  dir: string;
  records: number;
  files: number;
  bytes: number;
}

/**
 * Writes a snapshot as training files plus everything needed to verify them offline. The folder
 * is assembled under a temporary name beside the target and renamed into place at the end, so a
 * consumer never sees a half-written export.
 */
export async function exportSnapshot(
  ws: Workspace,
  row: SnapshotRow,
  outDir: string,
  options: { parquet?: boolean; overrideGate?: string } = {},
): Promise<ExportResult> {
  // Training data leaves only through a passed gate, unless an owner overrides it with a reason.
  const authz: DecisionRecord[] = [];
  const override = options.overrideGate?.trim();
  if (options.overrideGate !== undefined && !override)
    throw new CordonError('USAGE', '--override-gate needs a reason');
  if (override)
    authz.push(await authorize(ws, 'overrideGate', { type: 'Snapshot', snapshot: row }));
  authz.push(
    await authorize(
      ws,
      'export',
      { type: 'Snapshot', snapshot: row },
      override ? { gateOverridden: true } : {},
    ),
  );
  await verifyInputs(ws, [row]);
  const target = resolve(outDir);
  const existing = await readdir(target).catch(() => null);
  if (existing && existing.length > 0)
    throw new CordonError('USAGE', `${target} exists and is not empty`);
  if (existing) await rm(target, { recursive: true });
  await mkdir(dirname(target), { recursive: true });
  const tmp = `${target}.partial-${randomBytes(4).toString('hex')}`;
  await mkdir(tmp);
  try {
    const manifest = await loadManifest(ws, row);
    let records = 0;
    let files = 0;
    const parquetRows: {
      record: string;
      id: string;
      label: string | null;
      source: string | null;
      text: string | null;
    }[] = [];
    const out = createWriteStream(join(tmp, EXPORT_FILES.records));
    const fileRefs: { path: string; sha256: string }[] = [];
    await pipeline(
      Readable.from(
        (async function* () {
          let batch: Buffer[] = [];
          for await (const { line } of snapshotLines(ws, manifest)) {
            records++;
            batch.push(line, NEWLINE);
            const record = JSON.parse(line.toString('utf8')) as CordonRecord;
            if (record.file) fileRefs.push({ path: record.file.path, sha256: record.file.sha256 });
            if (options.parquet) {
              parquetRows.push({
                record: line.toString('utf8'),
                id: record.id,
                label: record.label,
                source: record.source,
                text: record.text ?? null,
              });
            }
            if (batch.length >= 8192) {
              yield Buffer.concat(batch);
              batch = [];
            }
          }
          if (batch.length) yield Buffer.concat(batch);
        })(),
      ),
      out,
    );
    for (const ref of fileRefs) {
      const rel = safeRelativePath(ref.path, `record file path`);
      const dest = join(tmp, EXPORT_FILES.files, rel);
      await mkdir(dirname(dest), { recursive: true });
      await pipeline(Readable.from(ws.blobs.stream(ref.sha256)), createWriteStream(dest));
      files++;
    }
    await pipeline(
      Readable.from(ws.blobs.stream(row.manifest_digest)),
      createWriteStream(join(tmp, EXPORT_FILES.manifest)),
    );
    await writeFile(join(tmp, EXPORT_FILES.attestation), await ws.blobs.get(row.envelope_digest));
    const run = await ws.meta.getRunByOutput(row.id);
    if (run)
      await writeFile(join(tmp, EXPORT_FILES.provenance), await ws.blobs.get(run.envelope_digest));
    const gate = await ws.meta.gov.latestGateRun(row.id);
    if (gate?.passed === 1)
      await writeFile(join(tmp, EXPORT_FILES.verdict), await ws.blobs.get(gate.envelope_digest));
    const author = await ws.meta.getIdentity(row.author);
    if (author) await writeFile(join(tmp, EXPORT_FILES.signer), author.public_key);
    if (options.parquet) {
      parquetWriteFile({
        filename: join(tmp, EXPORT_FILES.parquet),
        columnData: [
          { name: 'record', data: parquetRows.map((r) => r.record), type: 'STRING' },
          { name: 'id', data: parquetRows.map((r) => r.id), type: 'STRING' },
          { name: 'label', data: parquetRows.map((r) => r.label), type: 'STRING' },
          { name: 'source', data: parquetRows.map((r) => r.source), type: 'STRING' },
          { name: 'text', data: parquetRows.map((r) => r.text), type: 'STRING' },
        ],
      });
    }
    const summary = {
      format: 'cordon.export/v1',
      snapshot: row.id,
      dataset: row.dataset,
      version: row.version,
      stage: row.stage,
      root: row.root,
      records,
      files,
      author: row.author,
      createdAt: row.created_at,
      exportedAt: new Date().toISOString(),
      note: 'Informative only. Run "cordon verify <this folder> --key <trusted key>" before training.',
    };
    await writeFile(join(tmp, EXPORT_FILES.summary), JSON.stringify(summary, null, 2) + '\n');
    await rename(tmp, target);
    const bytes = (await stat(join(target, EXPORT_FILES.records))).size;
    await ws.meta.appendEvent({
      time: new Date().toISOString(),
      actor: ws.identity.name,
      kind: 'snapshot.export',
      dataset: row.dataset,
      snapshot_id: row.id,
      detail: JSON.stringify({
        version: row.version,
        out: target,
        records,
        files,
        parquet: Boolean(options.parquet),
        ...(override ? { gateOverride: { reason: override } } : { gate: gate?.id ?? null }),
        authz,
      }),
    });
    return { dir: target, records, files, bytes };
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    if (e instanceof CordonError) throw e;
    throw new CordonError(
      'INTERNAL',
      `export of ${snapshotLabel(row)} failed: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
}

const NEWLINE = Buffer.from('\n');
