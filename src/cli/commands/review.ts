import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CordonError } from '../../core/errors.js';
import { deriveSnapshot } from '../../engine/derive.js';
import {
  applyReview,
  decideReviewItem,
  openReview,
  type ReviewDecision,
} from '../../engine/governance/review.js';
import { readLabelFile } from '../../engine/readers/label-file.js';
import { resolveSnapshot, snapshotLabel } from '../../engine/snapshots.js';
import { globals, printJson, withWorkspace } from '../context.js';
import { short, table, type Io } from '../io.js';

export function registerReview(program: Command, io: Io): void {
  const review = program
    .command('review')
    .description('the human review queue: findings a person must keep, drop or relabel');

  review
    .command('open <snapshot>')
    .description('queue the records of the newest scan whose findings score at least the threshold')
    .option('--threshold <x>', 'score from 0 to 1 (default: the dataset setting, 0.8)')
    .action(async (ref: string, opts: { threshold?: string }, cmd: Command) => {
      const threshold = opts.threshold === undefined ? undefined : Number(opts.threshold);
      if (threshold !== undefined && !(threshold >= 0 && threshold <= 1))
        throw new CordonError('USAGE', '--threshold must be between 0 and 1');
      await withWorkspace(cmd, io, async (ws) => {
        const row = await resolveSnapshot(ws, ref);
        const r = await openReview(ws, row, threshold !== undefined ? { threshold } : {});
        if (globals(cmd).json) return printJson(io, { snapshot: row.id, ...r });
        io.stdout(
          `Opened ${r.opened} review item(s) on ${snapshotLabel(row)} from scan ${short(r.scan)}\n`,
        );
      });
    });

  review
    .command('list [snapshot]')
    .description('list review items (open ones unless --all)')
    .option('--all', 'include decided and applied items')
    .action(async (ref: string | undefined, opts: { all?: boolean }, cmd: Command) => {
      await withWorkspace(cmd, io, async (ws) => {
        const snapshotId = ref ? (await resolveSnapshot(ws, ref)).id : undefined;
        const rows = await ws.meta.gov.listReviewItems({
          ...(snapshotId !== undefined ? { snapshotId } : {}),
          ...(opts.all ? {} : { status: 'open' }),
        });
        if (globals(cmd).json)
          return printJson(
            io,
            rows.map((r) => ({
              ...r,
              kinds: JSON.parse(r.kinds) as string[],
              detail: JSON.parse(r.detail) as unknown,
            })),
          );
        io.stdout(
          table(
            ['ITEM', 'SNAPSHOT', 'RECORD', 'KINDS', 'SCORE', 'STATUS'],
            rows.map((r) => [
              r.id,
              short(r.snapshot_id),
              r.record_id,
              (JSON.parse(r.kinds) as string[]).join(','),
              r.score.toFixed(2),
              r.status + (r.new_label !== null ? ` → ${r.new_label}` : ''),
            ]),
          ),
        );
      });
    });

  review
    .command('decide <decision> <items...>')
    .description('keep, drop or relabel the records of one or more review items')
    .option('--label <label>', 'the new label (relabel)')
    .action(async (decision: string, items: string[], opts: { label?: string }, cmd: Command) => {
      if (!['keep', 'drop', 'relabel'].includes(decision))
        throw new CordonError('USAGE', 'decision must be keep, drop or relabel');
      await withWorkspace(cmd, io, async (ws) => {
        const rows = [];
        for (const item of items)
          rows.push(await decideReviewItem(ws, item, decision as ReviewDecision, opts.label));
        if (globals(cmd).json) return printJson(io, rows);
        for (const row of rows)
          io.stdout(
            `${row.id}: ${decision}${row.new_label !== null ? ` → ${row.new_label}` : ''} (record ${row.record_id})\n`,
          );
      });
    });

  review
    .command('apply <snapshot>')
    .description('commit the decisions as a new snapshot derived from this one')
    .action(async (ref: string, _o: unknown, cmd: Command) => {
      await withWorkspace(cmd, io, async (ws) => {
        const row = await resolveSnapshot(ws, ref);
        const r = await applyReview(ws, row);
        if (globals(cmd).json)
          return printJson(io, {
            from: row.id,
            snapshot: r.snapshot.id,
            version: r.snapshot.version,
            kept: r.kept,
            dropped: r.dropped,
            relabelled: r.relabelled,
          });
        io.stdout(
          `Committed ${snapshotLabel(r.snapshot)} from the review of ${snapshotLabel(row)}: ${r.dropped} dropped, ${r.relabelled} relabelled, ${r.kept} kept\n`,
        );
      });
    });

  program
    .command('relabel <dataset> <file>')
    .description(
      'change labels only (labelers may): a CSV or JSONL of id,label applied to the current snapshot',
    )
    .option('-m, --message <text>', 'message recorded with the snapshot')
    .action(async (dataset: string, file: string, opts: { message?: string }, cmd: Command) => {
      const relabel = await readLabelFile(resolve(io.cwd, file), file);
      await withWorkspace(cmd, io, async (ws) => {
        const head = (await ws.meta.getDataset(dataset))?.head;
        if (!head) throw new CordonError('DATASET_NOT_FOUND', `no dataset "${dataset}"`);
        const row = await resolveSnapshot(ws, head);
        const out = await deriveSnapshot(
          ws,
          row,
          { drop: new Set(), relabel },
          {
            message: opts.message ?? `relabel of ${relabel.size} record(s) from ${file}`,
            command: `cordon relabel ${dataset} ${file}`,
            params: { relabelled: String(relabel.size) },
          },
        );
        if (globals(cmd).json)
          return printJson(io, {
            snapshot: out.id,
            version: out.version,
            relabelled: relabel.size,
          });
        io.stdout(`Committed ${snapshotLabel(out)}: ${relabel.size} label(s) changed\n`);
      });
    });
}
