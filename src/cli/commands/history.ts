import type { Command } from 'commander';
import { CordonError } from '../../core/errors.js';
import { snapshotState } from '../../engine/governance/facts.js';
import { rollback, tagSnapshot } from '../../engine/history.js';
import { resolveSnapshot, snapshotLabel } from '../../engine/snapshots.js';
import { globals, printJson, withWorkspace } from '../context.js';
import { short, table, type Io } from '../io.js';

export function registerHistory(program: Command, io: Io): void {
  program
    .command('datasets')
    .description('list datasets and their current snapshots')
    .action(async (_opts: unknown, cmd: Command) => {
      await withWorkspace(cmd, io, async (ws) => {
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
        if (globals(cmd).json) return printJson(io, rows);
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
      });
    });

  program
    .command('log <dataset>')
    .description('list the snapshots of a dataset, marking the current one')
    .action(async (dataset: string, _opts: unknown, cmd: Command) => {
      await withWorkspace(cmd, io, async (ws) => {
        const ds = await ws.meta.getDataset(dataset);
        if (!ds) throw new CordonError('DATASET_NOT_FOUND', `no dataset "${dataset}"`);
        const snaps = await ws.meta.listSnapshots(dataset);
        const rows = [];
        for (const s of snaps)
          rows.push({
            ...s,
            record_count: Number(s.record_count),
            current: s.id === ds.head,
            state: await snapshotState(ws, s.id),
            tags: await ws.meta.tagsOf(s.id),
          });
        if (globals(cmd).json) return printJson(io, rows);
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
      });
    });

  program
    .command('show <snapshot>')
    .description('show one snapshot: metadata, class counts, sources')
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      await withWorkspace(cmd, io, async (ws) => {
        const row = await resolveSnapshot(ws, ref);
        const envelope = JSON.parse((await ws.blobs.get(row.envelope_digest)).toString('utf8')) as {
          payload: string;
        };
        const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as {
          predicate: {
            labels: { name: string | null; records: number }[];
            sources: { name: string | null; records: number }[];
          };
        };
        const out = {
          ...row,
          record_count: Number(row.record_count),
          parents: JSON.parse(row.parents) as string[],
          tags: await ws.meta.tagsOf(row.id),
          labels: statement.predicate.labels,
          sources: statement.predicate.sources,
        };
        if (globals(cmd).json) return printJson(io, out);
        io.stdout(
          [
            `snapshot  ${row.id}`,
            `dataset   ${row.dataset} version ${row.version} (${row.stage})`,
            `records   ${out.record_count}`,
            `root      sha256:${row.root}`,
            `manifest  sha256:${row.manifest_digest}`,
            `author    ${row.author} (${row.author_key_id})`,
            `created   ${row.created_at}`,
            `parents   ${out.parents.map(short).join(', ') || '-'}`,
            `tags      ${out.tags.join(', ') || '-'}`,
            `message   ${row.message}`,
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
      });
    });

  program
    .command('rollback <dataset>')
    .description(
      'point a dataset back at a known-good snapshot (nothing is deleted; the move is recorded)',
    )
    .requiredOption('--to <snapshot>', 'the snapshot to return to')
    .requiredOption('--reason <text>', 'why (recorded in the event log)')
    .action(async (dataset: string, opts: { to: string; reason: string }, cmd: Command) => {
      await withWorkspace(cmd, io, async (ws) => {
        const target = await resolveSnapshot(ws, opts.to);
        const moved = await rollback(ws, dataset, target, opts.reason);
        if (globals(cmd).json) return printJson(io, { dataset, ...moved });
        io.stdout(
          `Rolled ${dataset} back to ${snapshotLabel(target)} (${short(target.id)}); was ${moved.from ? short(moved.from) : '-'}\n`,
        );
      });
    });

  program
    .command('tag <snapshot> <tag>')
    .description('mark a snapshot (for example known-good); --delete removes the mark')
    .option('--delete', 'remove the tag')
    .action(async (ref: string, tag: string, opts: { delete?: boolean }, cmd: Command) => {
      await withWorkspace(cmd, io, async (ws) => {
        const row = await resolveSnapshot(ws, ref);
        const changed = await tagSnapshot(ws, row, tag, Boolean(opts.delete));
        if (opts.delete && !changed)
          throw new CordonError('USAGE', `${snapshotLabel(row)} has no tag "${tag}"`);
        io.stdout(
          `${opts.delete ? 'Removed' : 'Tagged'} ${snapshotLabel(row)} ${opts.delete ? 'tag ' : ''}${tag}\n`,
        );
      });
    });

  program
    .command('tags [dataset]')
    .description('list tags')
    .action(async (dataset: string | undefined, _opts: unknown, cmd: Command) => {
      await withWorkspace(cmd, io, async (ws) => {
        const rows = await ws.meta.listTags(dataset);
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
    });
}
