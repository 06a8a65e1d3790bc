import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { canonicalJson } from '../../core/canonical-json.js';
import { CordonError, VerifyError } from '../../core/errors.js';
import { compareIds } from '../../core/manifest.js';
import { MerkleTree } from '../../core/merkle.js';
import type { CordonRecord } from '../../core/record.js';
import { EXPORT_FILES, exportSnapshot, type ExportResult } from '../../engine/export.js';
import { resolveSnapshot, snapshotLabel } from '../../engine/snapshots.js';
import { fromWorkspaceOrServer, globals, printJson } from '../context.js';
import type { Io } from '../io.js';
import { seg, type RemoteClient } from '../remote/client.js';
import { remoteSnapshot } from '../remote/rows.js';
import type { ApiGateResult } from '../remote/types.js';

interface ExportOptions {
  out: string;
  parquet?: boolean;
  overrideGate?: string;
}

type Exported = ExportResult & { snapshot: string; label: string };

function printExported(io: Io, e: Exported, json: boolean | undefined): void {
  if (json)
    return printJson(io, {
      snapshot: e.snapshot,
      dir: e.dir,
      records: e.records,
      files: e.files,
      bytes: e.bytes,
    });
  io.stdout(`Exported ${e.label} to ${e.dir}: ${e.records} records, ${e.files} files\n`);
}

/**
 * Downloads records.jsonl into `file`, and gives back what is needed to check it: the number of
 * records, the Merkle root over them (leaves in id order, as the manifest has them), and how
 * many reference files (which the download does not carry).
 */
async function downloadRecords(
  body: ReadableStream<Uint8Array>,
  file: string,
): Promise<{ records: number; root: string; bytes: number; withFiles: number }> {
  const leaves: { id: string; digest: Buffer }[] = [];
  let bytes = 0;
  let withFiles = 0;
  const take = (line: Buffer): void => {
    const record = JSON.parse(line.toString('utf8')) as CordonRecord;
    leaves.push({ id: record.id, digest: createHash('sha256').update(line).digest() });
    if (record.file) withFiles++;
  };
  await pipeline(
    Readable.fromWeb(body),
    async function* (chunks: AsyncIterable<Buffer>) {
      let rest = Buffer.alloc(0);
      for await (const chunk of chunks) {
        bytes += chunk.length;
        const data = rest.length ? Buffer.concat([rest, chunk]) : chunk;
        let start = 0;
        for (let nl = data.indexOf(10); nl >= 0; nl = data.indexOf(10, start)) {
          take(data.subarray(start, nl));
          start = nl + 1;
        }
        rest = Buffer.from(data.subarray(start));
        yield chunk;
      }
      if (rest.length) take(rest);
    },
    createWriteStream(file),
  );
  leaves.sort((a, b) => compareIds(a.id, b.id));
  const root = MerkleTree.fromLeaves(leaves.map((l) => l.digest))
    .root()
    .toString('hex');
  return { records: leaves.length, root, bytes, withFiles };
}

/** The newest gate verdict's envelope if that gate passed (as a local export includes it). */
async function passedVerdict(api: RemoteClient, id: string): Promise<unknown> {
  try {
    const gate = await api.get<ApiGateResult>(`/v1/snapshots/${seg(id)}/gate`);
    return gate.passed ? gate.envelope : null;
  } catch (e) {
    if (e instanceof CordonError && e.code === 'INPUT_NOT_FOUND') return null;
    throw e;
  }
}

/**
 * Exports from a server: the API serves the records (records.jsonl, checked here against the
 * snapshot's root) and the gate verdict, not the manifest, attestation and provenance of a
 * local export, so the folder holds records.jsonl and verdict.dsse.json only.
 */
async function remoteExport(
  api: RemoteClient,
  io: Io,
  ref: string,
  opts: ExportOptions,
): Promise<Exported> {
  if (opts.parquet)
    throw new CordonError(
      'USAGE',
      '--parquet needs a local workspace: an export from a server writes records.jsonl and the gate verdict only',
    );
  if (opts.overrideGate !== undefined && !opts.overrideGate.trim())
    throw new CordonError('USAGE', '--override-gate needs a reason');
  const row = await remoteSnapshot(api, ref);
  const target = resolve(io.cwd, opts.out);
  const existing = await readdir(target).catch(() => null);
  if (existing && existing.length > 0)
    throw new CordonError('USAGE', `${target} exists and is not empty`);
  const res = await api.request('GET', `/v1/snapshots/${seg(row.id)}/export`, {
    query: { overrideGate: opts.overrideGate },
  });
  if (!res.body) throw new CordonError('INTERNAL', `the server sent no records for ${row.ref}`);
  if (existing) await rm(target, { recursive: true });
  await mkdir(dirname(target), { recursive: true });
  const tmp = `${target}.partial-${randomBytes(4).toString('hex')}`;
  await mkdir(tmp);
  try {
    const got = await downloadRecords(res.body, join(tmp, EXPORT_FILES.records));
    if (got.records !== row.records || got.root !== row.root)
      throw new VerifyError(
        `the download of ${row.ref}`,
        `${got.records} records with root ${got.root}, not the ${row.records} records under the signed root ${row.root}`,
      );
    const verdict = await passedVerdict(api, row.id);
    if (verdict) await writeFile(join(tmp, EXPORT_FILES.verdict), canonicalJson(verdict));
    await rename(tmp, target);
    if (got.withFiles)
      io.stderr(
        `cordon: ${got.withFiles} record(s) of ${row.ref} reference files, which an export from a server does not include\n`,
      );
    return {
      snapshot: row.id,
      label: row.ref,
      dir: target,
      records: got.records,
      files: 0,
      bytes: got.bytes,
    };
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

export function registerExport(program: Command, io: Io): void {
  program
    .command('export <snapshot>')
    .description(
      'write a snapshot as training files with its manifest and attestation, ready for "cordon verify" (from a server: records.jsonl and the gate verdict only)',
    )
    .requiredOption('--out <dir>', 'folder to create (must not exist or be empty)')
    .option('--parquet', 'also write records.parquet (local workspace only)')
    .option(
      '--override-gate <reason>',
      'export although the snapshot has not passed its gate (owners only; the reason is logged)',
    )
    .action(async (ref: string, opts: ExportOptions, cmd: Command) => {
      const exported = await fromWorkspaceOrServer(cmd, io, {
        local: async (ws) => {
          const row = await resolveSnapshot(ws, ref);
          const result = await exportSnapshot(ws, row, resolve(io.cwd, opts.out), {
            parquet: Boolean(opts.parquet),
            ...(opts.overrideGate !== undefined ? { overrideGate: opts.overrideGate } : {}),
          });
          return { snapshot: row.id, label: snapshotLabel(row), ...result };
        },
        remote: (api) => remoteExport(api, io, ref, opts),
      });
      printExported(io, exported, globals(cmd).json);
    });
}
