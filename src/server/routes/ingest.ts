import { mkdtemp, rm } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { z } from 'zod';
import { CordonError } from '../../core/errors.js';
import { commitItems, type CommitOptions } from '../../engine/commit.js';
import { deriveSnapshot } from '../../engine/derive.js';
import { authorize } from '../../engine/governance/authorize.js';
import { mergeSnapshots } from '../../engine/merge.js';
import { readLabelFile } from '../../engine/readers/label-file.js';
import { readInput } from '../../engine/readers/read-input.js';
import type { InputFormat, ReadOptions } from '../../engine/readers/reader.js';
import { loadManifest, resolveSnapshot } from '../../engine/snapshots.js';
import type { Workspace } from '../../engine/workspace.js';
import type { SnapshotRow } from '../../store/metadata-store.js';
import type { AppContext, RouteList } from '../api.js';
import type { ServerDeps } from '../app.js';
import { checkDeclaredLength, streamBodyToFile } from '../body.js';
import type { JobContext, JobSpec, JobView } from '../jobs.js';
import { HttpProblem } from '../problem.js';
import * as S from '../schemas.js';
import { snapshotView } from '../views.js';

const NameParam = z.object({ name: S.DatasetName });

const UPLOAD_TYPES: Record<string, InputFormat> = {
  'application/x-ndjson': 'jsonl',
  'application/ndjson': 'jsonl',
  'application/jsonl': 'jsonl',
  'application/jsonlines': 'jsonl',
  'application/json-lines': 'jsonl',
  'application/json': 'jsonl',
  'text/csv': 'csv',
  'application/vnd.apache.parquet': 'parquet',
  'application/x-parquet': 'parquet',
};

const UPLOAD_BODY = {
  raw: {
    contentTypes: [
      'application/x-ndjson',
      'text/csv',
      'application/vnd.apache.parquet',
      'application/octet-stream',
    ],
    description:
      "The input file, streamed: JSON Lines, CSV with a header, or Parquet. The format comes from Content-Type (or the format parameter). JSON Lines and CSV may be sent with Content-Encoding: gzip. At most the server's upload limit (413 beyond it).",
  },
};

const JOB_STARTED = {
  description:
    'The upload was received and the commit runs as a job; follow it at Location (its result is a CommitResult)',
  json: S.Job,
  headers: {
    Location: { description: 'The job', schema: { type: 'string' } },
  },
};

interface Upload {
  dir: string;
  file: string;
  /** The name the caller gave the file: recorded as the ingest's source and used in messages. */
  name: string;
  format: InputFormat;
}

/** The input format of an upload: the format parameter, else its Content-Type. */
function uploadFormat(c: AppContext, explicit: InputFormat | undefined): InputFormat {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const format = explicit ?? UPLOAD_TYPES[type];
  if (!format)
    throw new HttpProblem(
      'UNSUPPORTED_MEDIA_TYPE',
      `cannot tell the input format from Content-Type "${type || '(none)'}": send application/x-ndjson, text/csv or application/vnd.apache.parquet, or pass format=jsonl|csv|parquet`,
    );
  return format;
}

/**
 * Streams the request body into a private temporary folder (never into memory), stopping with
 * 413 at `limit` bytes. The caller removes `dir` when it is done with the file.
 */
async function receiveUpload(
  c: AppContext,
  deps: ServerDeps,
  format: InputFormat,
  filename: string | undefined,
  limit: number,
): Promise<Upload> {
  const encoding = (c.req.header('content-encoding') ?? 'identity').trim().toLowerCase();
  const gzip = encoding === 'gzip';
  if (!gzip && encoding !== 'identity')
    throw new HttpProblem(
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Encoding "${encoding}" is not supported; use gzip or none`,
    );
  if (gzip && format === 'parquet')
    throw new HttpProblem('UNSUPPORTED_MEDIA_TYPE', 'gzip-compressed Parquet is not supported');
  checkDeclaredLength(c.req.header('content-length'), limit, 'the upload');
  const name = filename ?? `upload.${format}`;
  const dir = await mkdtemp(join(deps.uploadDir, 'cordon-upload-'));
  // The readers gunzip a file whose name ends in .gz while they stream it.
  const file = join(dir, gzip && !name.endsWith('.gz') ? `${name}.gz` : name);
  try {
    await streamBodyToFile(c.req.raw.body, file, limit, 'the upload');
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return { dir, file, name, format };
}

/** Messages about the upload name it as the caller did, not by the server's temporary path. */
function scrub(e: unknown, upload: Upload): unknown {
  if (!(e instanceof CordonError) || !e.message.includes(upload.dir)) return e;
  const message = e.message.replaceAll(upload.dir + sep, '').replaceAll(upload.dir, '');
  return new CordonError(e.code, message, { cause: e });
}

/** Passes items through, stopping (and so aborting the commit's staging) once cancelled. */
async function* cancellable<T>(items: AsyncIterable<T>, ctx: JobContext): AsyncGenerator<T> {
  for await (const item of items) {
    ctx.checkCancelled();
    yield item;
  }
}

function readOptions(q: z.output<typeof S.ReaderQuery>): ReadOptions {
  const features =
    q.features.includes(',') || q.features.endsWith('*')
      ? q.features.split(',').map((f) => f.trim())
      : q.features;
  return {
    columns: { id: q.id, label: q.label, source: q.source, text: q.text, features },
    defaultSource: q.defaultSource ?? null,
    requireLabel: q.requireLabel,
  };
}

/** Checks before reading a large body what the commit will check again: may the caller write? */
async function mayWrite(ws: Workspace, dataset: string): Promise<void> {
  if (!(await ws.meta.getDataset(dataset)))
    await authorize(ws, 'createDataset', { type: 'Workspace' });
  await authorize(ws, 'ingest', { type: 'Dataset', dataset });
}

/**
 * Runs a commit of an upload as a job. The job signs in again when it starts (a token revoked
 * while the job waited is refused), commits as that identity, and signs the audit log when done.
 */
function startCommitJob(
  deps: ServerDeps,
  caller: { owner: string; signInAgain: () => Promise<Workspace> },
  upload: Upload,
  kind: 'ingest' | 'transform',
  dataset: string,
  commit: (ws: Workspace, ctx: JobContext) => Promise<SnapshotRow>,
): JobView {
  let ws: Workspace | undefined;
  const job: JobSpec = {
    kind,
    owner: caller.owner,
    description: `${kind} ${upload.name} into ${dataset}`,
    run: async (ctx) => {
      ws = await caller.signInAgain();
      ctx.progress({ phase: 'commit', records: 0 });
      try {
        return { snapshot: await snapshotView(ws, await commit(ws, ctx)) };
      } catch (e) {
        throw scrub(e, upload);
      }
    },
    cleanup: async () => {
      await rm(upload.dir, { recursive: true, force: true });
      await ws?.close();
    },
  };
  try {
    return deps.jobs.submit(job);
  } catch (e) {
    // Not taken (the server is stopping): nothing will clean up the upload but us.
    void rm(upload.dir, { recursive: true, force: true });
    throw e;
  }
}

export function ingestRoutes(api: RouteList, deps: ServerDeps): void {
  api.route({
    method: 'post',
    path: '/v1/datasets/{name}/ingest',
    operationId: 'ingest',
    summary: 'Upload a file and commit it as a new signed snapshot (as a job)',
    description:
      'The body is streamed to disk, then committed by a job: all-or-nothing, so a failed or cancelled job leaves no snapshot. With append=true the current records are kept and the upload adds or replaces records by id.',
    tags: ['ingest'],
    params: NameParam,
    query: S.IngestQuery,
    body: UPLOAD_BODY,
    responses: { 202: JOB_STARTED },
    handler: async ({ c, ws, params, query, signInAgain }) => {
      const dataset = params.name;
      await mayWrite(ws, dataset);
      const upload = await receiveUpload(
        c,
        deps,
        uploadFormat(c, query.format),
        query.filename,
        deps.limits.upload,
      );
      const caller = { owner: ws.identity.name, signInAgain };
      const job = startCommitJob(deps, caller, upload, 'ingest', dataset, async (ws, ctx) => {
        const startedAt = new Date().toISOString();
        const head = (await ws.meta.getDataset(dataset))?.head ?? null;
        if (query.expectedHead !== undefined && query.expectedHead !== head)
          throw new CordonError(
            'HEAD_CONFLICT',
            `the head of "${dataset}" is ${head ?? '(none)'}, not ${query.expectedHead}`,
          );
        const headRow = head ? await ws.meta.getSnapshot(head) : undefined;
        const base = query.append ? headRow : undefined;
        const options: CommitOptions = {
          dataset,
          stage: query.stage,
          message: query.message ?? `ingest ${upload.name}`,
          parents: head ? [head] : [],
          expectedHead: head,
          run: {
            kind: 'ingest',
            inputs: base ? [base] : [],
            command: null,
            codeDigest: null,
            params: query.append ? { mode: 'append' } : {},
            source: upload.name,
            startedAt,
          },
          onProgress: (records) => ctx.progress({ phase: 'commit', records }),
        };
        if (base) options.base = await loadManifest(ws, base);
        return commitItems(
          ws,
          cancellable(readInput(upload.file, upload.format, readOptions(query)), ctx),
          options,
        );
      });
      return { status: 202, json: job, headers: { Location: `/v1/jobs/${job.id}` } };
    },
  });

  api.route({
    method: 'post',
    path: '/v1/datasets/{name}/transform',
    operationId: 'transform',
    summary: 'Upload the output of a transformation, with lineage to its inputs (as a job)',
    tags: ['ingest'],
    params: NameParam,
    query: S.TransformQuery,
    body: UPLOAD_BODY,
    responses: { 202: JOB_STARTED },
    handler: async ({ c, ws, params, query, signInAgain }) => {
      const dataset = params.name;
      if (query.command === undefined && query.codeDigest === undefined)
        throw new CordonError('USAGE', 'a transform needs command or codeDigest (or both)');
      const transformParams: Record<string, string> = {};
      for (const p of query.param) {
        const eq = p.indexOf('=');
        transformParams[p.slice(0, eq)] = p.slice(eq + 1);
      }
      const inputs: SnapshotRow[] = [];
      for (const ref of query.from) inputs.push(await resolveSnapshot(ws, ref));
      await mayWrite(ws, dataset);
      const upload = await receiveUpload(
        c,
        deps,
        uploadFormat(c, query.format),
        query.filename,
        deps.limits.upload,
      );
      const caller = { owner: ws.identity.name, signInAgain };
      const job = startCommitJob(deps, caller, upload, 'transform', dataset, async (ws, ctx) => {
        const head = (await ws.meta.getDataset(dataset))?.head ?? null;
        return commitItems(
          ws,
          cancellable(readInput(upload.file, upload.format, readOptions(query)), ctx),
          {
            dataset,
            stage: query.stage,
            message:
              query.message ??
              `transform of ${inputs.map((r) => `${r.dataset}@${r.version}`).join(', ')}`,
            parents: inputs.map((r) => r.id),
            expectedHead: head,
            run: {
              kind: 'transform',
              inputs,
              command: query.command ?? null,
              codeDigest: query.codeDigest ?? null,
              params: transformParams,
              source: upload.name,
              startedAt: new Date().toISOString(),
            },
            onProgress: (records) => ctx.progress({ phase: 'commit', records }),
          },
        );
      });
      return { status: 202, json: job, headers: { Location: `/v1/jobs/${job.id}` } };
    },
  });

  api.route({
    method: 'post',
    path: '/v1/datasets/{name}/merge',
    operationId: 'merge',
    summary: 'Merge snapshots into a new snapshot of this dataset (union by id)',
    tags: ['ingest'],
    params: NameParam,
    body: { json: S.MergeBody },
    responses: {
      201: { description: 'The merged snapshot', json: z.object({ snapshot: S.Snapshot }) },
    },
    handler: async ({ ws, params, body }) => {
      const inputs: SnapshotRow[] = [];
      for (const ref of body.snapshots) inputs.push(await resolveSnapshot(ws, ref));
      const row = await mergeSnapshots(ws, params.name, inputs, {
        onConflict: body.onConflict,
        stage: body.stage,
        ...(body.message !== undefined ? { message: body.message } : {}),
      });
      return { status: 201, json: { snapshot: await snapshotView(ws, row) } };
    },
  });

  api.route({
    method: 'post',
    path: '/v1/datasets/{name}/relabel',
    operationId: 'relabel',
    summary: 'Change labels only (labelers may): id,label pairs applied to the current snapshot',
    tags: ['ingest'],
    params: NameParam,
    query: z.object({ message: z.string().max(2000).optional() }),
    body: {
      raw: {
        contentTypes: ['text/csv', 'application/x-ndjson'],
        description:
          'CSV with id and label columns, or JSON Lines of {"id", "label"}; an empty or null label removes it',
      },
    },
    responses: {
      201: {
        description: 'The relabelled snapshot',
        json: z.object({ snapshot: S.Snapshot, relabelled: z.number().int() }),
      },
    },
    handler: async ({ c, ws, params, query }) => {
      const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      const format = UPLOAD_TYPES[type];
      if (format !== 'csv' && format !== 'jsonl')
        throw new HttpProblem(
          'UNSUPPORTED_MEDIA_TYPE',
          'send the labels as text/csv or application/x-ndjson',
        );
      const head = (await ws.meta.getDataset(params.name))?.head;
      if (!head) throw new CordonError('DATASET_NOT_FOUND', `no dataset "${params.name}"`);
      await authorize(ws, 'relabel', { type: 'LabelSet', dataset: params.name });
      const upload = await receiveUpload(c, deps, format, `labels.${format}`, deps.limits.labels);
      try {
        const relabel = await readLabelFile(upload.file, upload.name);
        const row = await deriveSnapshot(
          ws,
          await resolveSnapshot(ws, head),
          { drop: new Set(), relabel },
          {
            message: query.message ?? `relabel of ${relabel.size} record(s) over the API`,
            command: `POST /v1/datasets/${params.name}/relabel`,
            params: { relabelled: String(relabel.size) },
          },
        );
        return {
          status: 201,
          json: { snapshot: await snapshotView(ws, row), relabelled: relabel.size },
        };
      } catch (e) {
        throw scrub(e, upload);
      } finally {
        await rm(upload.dir, { recursive: true, force: true });
      }
    },
  });
}
