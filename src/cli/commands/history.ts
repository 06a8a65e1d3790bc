import type { Command } from 'commander';
import { CordonError } from '../../core/errors.js';
import { snapshotState } from '../../engine/governance/facts.js';
import { rollback, tagSnapshot } from '../../engine/history.js';
import { resolveSnapshot, snapshotLabel } from '../../engine/snapshots.js';
import type { Workspace } from '../../engine/workspace.js';
import type { SnapshotRow } from '../../store/metadata-store.js';
import { fromWorkspaceOrServer, globals, printJson } from '../context.js';
import { short, table, type Io } from '../io.js';
import { seg, type RemoteClient } from '../remote/client.js';
import { remoteSnapshot, snapshotRow } from '../remote/rows.js';
import type { ApiDatasetSummary, ApiSnapshot, ApiTag } from '../remote/types.js';

interface DatasetLine {
  dataset: string;
  current: string | null;
  stage: string | null;
  records: number;
  snapshot: string | null;
}

async function localDatasets(ws: Workspace): Promise<DatasetLine[]> {
  const rows = [];
  for (const d of await ws.meta.listDatasets()) {
    const head = d.head ? await ws.meta.getSnapshot(d.head) : undefined;
    rows.push({
      dataset: d.name,
      current: head ? snapshotLabel(head) : null,
      stage: head?.stage ?? null,
      records: head ? Number(head.record_count) : 0,
      snapshot: d.head,
    });
  }
  return rows;
}

async function remoteDatasets(api: RemoteClient): Promise<DatasetLine[]> {
  const { datasets } = await api.get<{ datasets: ApiDatasetSummary[] }>('/v1/datasets');
  return datasets.map((d) => ({
    dataset: d.name,
    current: d.current,
    stage: d.stage,
    records: d.records,
    snapshot: d.head,
  }));
}

function printDatasets(io: Io, rows: DatasetLine[], json: boolean | undefined): void {
  if (json) return printJson(io, rows);
  io.stdout(
    table(
      ['DATASET', 'CURRENT', 'STAGE', 'RECORDS', 'SNAPSHOT'],
      rows.map((r) => [
        r.dataset,
        r.current ?? '-',
        r.stage ?? '-',
        r.records,
        r.snapshot ? short(r.snapshot) : '-',
      ]),
    ),
  );
}

type LogLine = SnapshotRow & { current: boolean; state: string; tags: string[] };

async function localLog(ws: Workspace, dataset: string): Promise<LogLine[]> {
  const ds = await ws.meta.getDataset(dataset);
  if (!ds) throw new CordonError('DATASET_NOT_FOUND', `no dataset "${dataset}"`);
  const rows = [];
  for (const s of await ws.meta.listSnapshots(dataset))
    rows.push({
      ...s,
      record_count: Number(s.record_count),
      current: s.id === ds.head,
      state: await snapshotState(ws, s.id),
      tags: await ws.meta.tagsOf(s.id),
    });
  return rows;
}

async function remoteLog(api: RemoteClient, dataset: string): Promise<LogLine[]> {
  const { snapshots } = await api.get<{ snapshots: ApiSnapshot[] }>(
    `/v1/datasets/${seg(dataset)}/snapshots`,
  );
  return snapshots.map((s) => ({
    ...snapshotRow(s),
    current: s.current,
    state: s.state,
    tags: s.tags,
  }));
}

function printLog(io: Io, rows: LogLine[], json: boolean | undefined): void {
  if (json) return printJson(io, rows);
  io.stdout(
    table(
      [
        '',
        'VERSION',
        'SNAPSHOT',
        'STAGE',
        'STATE',
        'RECORDS',
        'ROOT',
        'AUTHOR',
        'CREATED',
        'TAGS',
        'MESSAGE',
      ],
      rows.map((r) => [
        r.current ? '*' : '',
        r.version,
        short(r.id),
        r.stage,
        r.state,
        r.record_count,
        short(r.root),
        r.author,
        r.created_at,
        r.tags.join(',') || '-',
        r.message,
      ]),
    ),
  );
}

type Counts = { name: string | null; records: number }[];

type ShownSnapshot = Omit<SnapshotRow, 'parents'> & {
  parents: string[];
  tags: string[];
  labels: Counts;
  sources: Counts;
};

async function localShow(ws: Workspace, ref: string): Promise<ShownSnapshot> {
  const row = await resolveSnapshot(ws, ref);
  const envelope = JSON.parse((await ws.blobs.get(row.envelope_digest)).toString('utf8')) as {
    payload: string;
  };
  const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as {
    predicate: { labels: Counts; sources: Counts };
  };
  return {
    ...row,
    record_count: Number(row.record_count),
    parents: JSON.parse(row.parents) as string[],
    tags: await ws.meta.tagsOf(row.id),
    labels: statement.predicate.labels,
    sources: statement.predicate.sources,
  };
}

async function remoteShow(api: RemoteClient, ref: string): Promise<ShownSnapshot> {
  const s = await remoteSnapshot(api, ref);
  return {
    ...snapshotRow(s),
    parents: s.parents,
    tags: s.tags,
    labels: s.labels,
    sources: s.sources,
  };
}

function printShow(io: Io, out: ShownSnapshot, json: boolean | undefined): void {
  if (json) return printJson(io, out);
  io.stdout(
    [
      `snapshot  ${out.id}`,
      `dataset   ${out.dataset} version ${out.version} (${out.stage})`,
      `records   ${out.record_count}`,
      `root      sha256:${out.root}`,
      `manifest  sha256:${out.manifest_digest}`,
      `author    ${out.author} (${out.author_key_id})`,
      `created   ${out.created_at}`,
      `parents   ${out.parents.map(short).join(', ') || '-'}`,
      `tags      ${out.tags.join(', ') || '-'}`,
      `message   ${out.message}`,
      '',
    ].join('\n'),
  );
  io.stdout(
    table(
      ['LABEL', 'RECORDS'],
      out.labels.map((l) => [l.name ?? '(none)', l.records]),
    ) + '\n',
  );
  io.stdout(
    table(
      ['SOURCE', 'RECORDS'],
      out.sources.map((s) => [s.name ?? '(none)', s.records]),
    ),
  );
}

export function registerHistory(program: Command, io: Io): void {
  program
    .command('datasets')
    .description('list datasets and their current snapshots')
    .action(async (_opts: unknown, cmd: Command) => {
      const rows = await fromWorkspaceOrServer(cmd, io, {
        local: localDatasets,
        remote: remoteDatasets,
      });
      printDatasets(io, rows, globals(cmd).json);
    });

  program
    .command('log <dataset>')
    .description('list the snapshots of a dataset, marking the current one')
    .action(async (dataset: string, _opts: unknown, cmd: Command) => {
      const rows = await fromWorkspaceOrServer(cmd, io, {
        local: (ws) => localLog(ws, dataset),
        remote: (api) => remoteLog(api, dataset),
      });
      printLog(io, rows, globals(cmd).json);
    });

  program
    .command('show <snapshot>')
    .description('show one snapshot: metadata, class counts, sources')
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const out = await fromWorkspaceOrServer(cmd, io, {
        local: (ws) => localShow(ws, ref),
        remote: (api) => remoteShow(api, ref),
      });
      printShow(io, out, globals(cmd).json);
    });

  program
    .command('rollback <dataset>')
    .description(
      'point a dataset back at a known-good snapshot (nothing is deleted; the move is recorded)',
    )
    .requiredOption('--to <snapshot>', 'the snapshot to return to')
    .requiredOption('--reason <text>', 'why (recorded in the event log)')
    .action(async (dataset: string, opts: { to: string; reason: string }, cmd: Command) => {
      const moved = await fromWorkspaceOrServer(cmd, io, {
        local: async (ws) => {
          const target = await resolveSnapshot(ws, opts.to);
          const { from, to } = await rollback(ws, dataset, target, opts.reason);
          return { from, to, label: snapshotLabel(target) };
        },
        remote: async (api) => {
          const target = await remoteSnapshot(api, opts.to);
          const { from, to } = await api.post<{ from: string | null; to: string }>(
            `/v1/datasets/${seg(dataset)}/rollback`,
            { to: target.id, reason: opts.reason },
          );
          return { from, to, label: target.ref };
        },
      });
      if (globals(cmd).json) return printJson(io, { dataset, from: moved.from, to: moved.to });
      io.stdout(
        `Rolled ${dataset} back to ${moved.label} (${short(moved.to)}); was ${moved.from ? short(moved.from) : '-'}\n`,
      );
    });

  program
    .command('tag <snapshot> <tag>')
    .description('mark a snapshot (for example known-good); --delete removes the mark')
    .option('--delete', 'remove the tag')
    .action(async (ref: string, tag: string, opts: { delete?: boolean }, cmd: Command) => {
      const label = await fromWorkspaceOrServer(cmd, io, {
        local: async (ws) => {
          const row = await resolveSnapshot(ws, ref);
          const changed = await tagSnapshot(ws, row, tag, Boolean(opts.delete));
          if (opts.delete && !changed)
            throw new CordonError('USAGE', `${snapshotLabel(row)} has no tag "${tag}"`);
          return snapshotLabel(row);
        },
        remote: async (api) => {
          const row = await remoteSnapshot(api, ref);
          if (opts.delete)
            await api.json('DELETE', `/v1/snapshots/${seg(row.id)}/tags/${seg(tag)}`);
          else await api.post(`/v1/snapshots/${seg(row.id)}/tags`, { tag });
          return row.ref;
        },
      });
      io.stdout(
        `${opts.delete ? 'Removed' : 'Tagged'} ${label} ${opts.delete ? 'tag ' : ''}${tag}\n`,
      );
    });

  program
    .command('tags [dataset]')
    .description('list tags')
    .action(async (dataset: string | undefined, _opts: unknown, cmd: Command) => {
      const rows = await fromWorkspaceOrServer(cmd, io, {
        local: (ws) => ws.meta.listTags(dataset),
        remote: async (api) =>
          (await api.get<{ tags: ApiTag[] }>('/v1/tags', { dataset })).tags.map((t) => ({
            snapshot_id: t.snapshot,
            tag: t.tag,
            dataset: t.dataset,
            version: t.version,
            created_at: t.createdAt,
            actor: t.actor,
          })),
      });
      if (globals(cmd).json) return printJson(io, rows);
      io.stdout(
        table(
          ['TAG', 'SNAPSHOT', 'ID', 'BY', 'AT'],
          rows.map((r) => [
            r.tag,
            `${r.dataset}@${r.version}`,
            short(r.snapshot_id),
            r.actor,
            r.created_at,
          ]),
        ),
      );
    });
}
