import { createReadStream, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { Readable } from 'node:stream';
import type { Command } from 'commander';
import { CordonError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hashing.js';
import { commitItems, type CommitOptions } from '../../engine/commit.js';
import { detectFormat, readInput } from '../../engine/readers/read-input.js';
import type { InputFormat, ReadOptions } from '../../engine/readers/reader.js';
import { columnOptions, toColumnMap, type ColumnFlags } from '../columns.js';
import { loadManifest, resolveSnapshot, snapshotLabel } from '../../engine/snapshots.js';
import type { SnapshotRow } from '../../store/metadata-store.js';
import type { JobView } from '../../server/jobs.js';
import { collect, globals, printJson, remoteFor, withWorkspace } from '../context.js';
import { progress, short, type Io } from '../io.js';
import { seg, type QueryValue, type RemoteClient } from '../remote/client.js';
import { followJob } from '../remote/jobs.js';
import { snapshotRow } from '../remote/rows.js';
import type { ApiSnapshot } from '../remote/types.js';

interface ReaderFlags extends ColumnFlags {
  defaultSource?: string;
  requireLabel: boolean;
  stage: string;
  message?: string;
}

function readerOptions(cmd: Command, stage: string): Command {
  return columnOptions(cmd)
    .option('--default-source <name>', 'source for rows that have none')
    .option('--no-require-label', 'accept rows without a label')
    .option('--stage <stage>', 'stage of the new snapshot', stage)
    .option('-m, --message <text>', 'message recorded with the snapshot');
}

function toReadOptions(f: ReaderFlags): ReadOptions {
  return {
    columns: toColumnMap(f),
    defaultSource: f.defaultSource ?? null,
    requireLabel: f.requireLabel,
  };
}

/** Prints a new snapshot, committed locally or on a server. */
function report(io: Io, cmd: Command, row: SnapshotRow, verb: string): void {
  if (globals(cmd).json) {
    printJson(io, {
      snapshot: row.id,
      dataset: row.dataset,
      version: row.version,
      stage: row.stage,
      root: row.root,
      records: Number(row.record_count),
    });
  } else {
    io.stdout(
      `${verb} ${snapshotLabel(row)} (${row.stage}): ${row.record_count} records, root ${short(row.root)}, snapshot ${short(row.id)}, signed by ${row.author}\n`,
    );
  }
}

export function registerIngest(program: Command, io: Io): void {
  readerOptions(
    program
      .command('ingest <dataset> <path>')
      .description(
        'read a JSONL, CSV or Parquet file or a folder of files and commit it as a new signed snapshot',
      )
      .option('--append', 'keep the current records and add (or replace by id) the new ones'),
    'raw',
  ).action(
    async (
      dataset: string,
      path: string,
      flags: ReaderFlags & { append?: boolean },
      cmd: Command,
    ) => {
      const api = remoteFor(cmd, io);
      if (api) {
        const row = await remoteCommit(api, io, 'ingest', dataset, path, flags, {
          append: Boolean(flags.append),
          // The same message as a local ingest, naming the file as the caller did.
          message: flags.message ?? `ingest ${path}`,
        });
        report(io, cmd, row, 'Committed');
        return;
      }
      await withWorkspace(cmd, io, async (ws) => {
        const startedAt = new Date().toISOString();
        const head = (await ws.meta.getDataset(dataset))?.head ?? null;
        const headRow = head ? await ws.meta.getSnapshot(head) : undefined;
        const bar = progress(io, `ingest ${dataset}`);
        const options: CommitOptions = {
          dataset,
          stage: flags.stage,
          message: flags.message ?? `ingest ${path}`,
          parents: head ? [head] : [],
          expectedHead: head,
          run: {
            kind: 'ingest',
            inputs: flags.append && headRow ? [headRow] : [],
            command: null,
            codeDigest: null,
            params: flags.append ? { mode: 'append' } : {},
            source: path,
            startedAt,
          },
          onProgress: bar.update,
        };
        if (flags.append && headRow) options.base = await loadManifest(ws, headRow);
        try {
          const row = await commitItems(
            ws,
            readInput(resolve(io.cwd, path), flags.format, toReadOptions(flags)),
            options,
          );
          bar.stop();
          report(io, cmd, row, 'Committed');
        } finally {
          bar.stop();
        }
      });
    },
  );

  readerOptions(
    program
      .command('transform <dataset> <path>')
      .description(
        'record a derivation: commit the output of a transformation with lineage to its input snapshots',
      )
      .requiredOption('--from <snapshot>', 'input snapshot (repeatable)', collect)
      .option('--command <cmd>', 'the command that produced the output')
      .option('--code <file>', 'code that produced the output (its SHA-256 is recorded)')
      .option('--param <key=value>', 'a parameter of the transformation (repeatable)', collect),
    'curated',
  ).action(
    async (
      dataset: string,
      path: string,
      flags: ReaderFlags & { from: string[]; command?: string; code?: string; param?: string[] },
      cmd: Command,
    ) => {
      if (!flags.command && !flags.code)
        throw new CordonError('USAGE', 'transform needs --command or --code (or both)');
      const params = parseParams(flags.param ?? []);
      const codeDigest = flags.code ? sha256Hex(await readFile(resolve(io.cwd, flags.code))) : null;
      const api = remoteFor(cmd, io);
      if (api) {
        const row = await remoteCommit(api, io, 'transform', dataset, path, flags, {
          from: flags.from,
          command: flags.command,
          codeDigest: codeDigest ?? undefined,
          param: flags.param,
        });
        report(io, cmd, row, 'Committed');
        return;
      }
      await withWorkspace(cmd, io, async (ws) => {
        const startedAt = new Date().toISOString();
        const inputs: SnapshotRow[] = [];
        for (const ref of flags.from) inputs.push(await resolveSnapshot(ws, ref));
        const head = (await ws.meta.getDataset(dataset))?.head ?? null;
        const bar = progress(io, `transform ${dataset}`);
        try {
          const row = await commitItems(
            ws,
            readInput(resolve(io.cwd, path), flags.format, toReadOptions(flags)),
            {
              dataset,
              stage: flags.stage,
              message: flags.message ?? `transform of ${inputs.map(snapshotLabel).join(', ')}`,
              parents: inputs.map((r) => r.id),
              expectedHead: head,
              run: {
                kind: 'transform',
                inputs,
                command: flags.command ?? null,
                codeDigest,
                params,
                source: path,
                startedAt,
              },
              onProgress: bar.update,
            },
          );
          bar.stop();
          report(io, cmd, row, 'Committed');
        } finally {
          bar.stop();
        }
      });
    },
  );
}

const UPLOAD_TYPES: Record<Exclude<InputFormat, 'folder'>, string> = {
  jsonl: 'application/x-ndjson',
  csv: 'text/csv',
  parquet: 'application/vnd.apache.parquet',
};

/** The file's name as the server takes it (letters, digits, . _ -), for its lineage record. */
function uploadName(file: string): string {
  const name = basename(file)
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 128);
  return name || 'upload';
}

/**
 * Ingests or transforms a file on a server: streams it as the request body, then follows the
 * commit job's progress to the same progress bar as a local commit. A folder cannot be sent in
 * one request.
 */
async function remoteCommit(
  api: RemoteClient,
  io: Io,
  kind: 'ingest' | 'transform',
  dataset: string,
  path: string,
  flags: ReaderFlags,
  query: Record<string, QueryValue>,
): Promise<SnapshotRow> {
  const file = resolve(io.cwd, path);
  if (!existsSync(file))
    throw new CordonError('INPUT_NOT_FOUND', `${file}: no such file or folder`);
  const format = flags.format ?? detectFormat(file);
  if (format === 'folder')
    throw new CordonError(
      'USAGE',
      `${path} is a folder: against a server, ${kind} takes one JSON Lines, CSV or Parquet file (${kind} a folder where the workspace is)`,
    );
  const job = await api.json<JobView>('POST', `/v1/datasets/${seg(dataset)}/${kind}`, {
    query: {
      format,
      filename: uploadName(file),
      stage: flags.stage,
      message: flags.message,
      id: flags.id,
      label: flags.label,
      source: flags.source,
      text: flags.text,
      features: flags.features,
      defaultSource: flags.defaultSource,
      requireLabel: flags.requireLabel,
      ...query,
    },
    body: Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>,
    contentType: UPLOAD_TYPES[format],
    headers: file.toLowerCase().endsWith('.gz') ? { 'Content-Encoding': 'gzip' } : {},
  });
  const bar = progress(io, `${kind} ${dataset}`);
  try {
    const result = (await followJob(api, job, (p) => {
      if (p.records !== undefined) bar.update(p.records);
    })) as { snapshot: ApiSnapshot };
    return snapshotRow(result.snapshot);
  } finally {
    bar.stop();
  }
}

function parseParams(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new CordonError('USAGE', `--param "${p}" is not key=value`);
    out[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return out;
}

export { report as reportSnapshot };
