import { readFile } from 'node:fs/promises';
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
import type { ReviewItemRow } from '../../store/governance-store.js';
import { fromWorkspaceOrServer, globals, printJson } from '../context.js';
import { short, table, type Io } from '../io.js';
import { seg } from '../remote/client.js';
import { remoteSnapshot, reviewItemRow } from '../remote/rows.js';
import type { ApiReviewItem, ApiSnapshot } from '../remote/types.js';

function printOpened(
  io: Io,
  o: { snapshot: string; label: string; scan: string; opened: number; threshold: number },
  json: boolean | undefined,
): void {
  if (json)
    return printJson(io, {
      snapshot: o.snapshot,
      scan: o.scan,
      opened: o.opened,
      threshold: o.threshold,
    });
  io.stdout(`Opened ${o.opened} review item(s) on ${o.label} from scan ${short(o.scan)}\n`);
}

function printItems(io: Io, rows: ReviewItemRow[], json: boolean | undefined): void {
  if (json)
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
}

function printDecided(
  io: Io,
  rows: ReviewItemRow[],
  decision: string,
  json: boolean | undefined,
): void {
  if (json) return printJson(io, rows);
  for (const row of rows)
    io.stdout(
      `${row.id}: ${decision}${row.new_label !== null ? ` → ${row.new_label}` : ''} (record ${row.record_id})\n`,
    );
}

interface Applied {
  from: string;
  fromLabel: string;
  snapshot: string;
  label: string;
  version: number;
  kept: number;
  dropped: number;
  relabelled: number;
}

function printApplied(io: Io, a: Applied, json: boolean | undefined): void {
  if (json)
    return printJson(io, {
      from: a.from,
      snapshot: a.snapshot,
      version: a.version,
      kept: a.kept,
      dropped: a.dropped,
      relabelled: a.relabelled,
    });
  io.stdout(
    `Committed ${a.label} from the review of ${a.fromLabel}: ${a.dropped} dropped, ${a.relabelled} relabelled, ${a.kept} kept\n`,
  );
}

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
      const options = threshold !== undefined ? { threshold } : {};
      const opened = await fromWorkspaceOrServer(cmd, io, {
        local: async (ws) => {
          const row = await resolveSnapshot(ws, ref);
          return {
            snapshot: row.id,
            label: snapshotLabel(row),
            ...(await openReview(ws, row, options)),
          };
        },
        remote: async (api) => {
          const row = await remoteSnapshot(api, ref);
          const r = await api.post<{ scan: string; opened: number; threshold: number }>(
            `/v1/snapshots/${seg(row.id)}/review`,
            options,
          );
          return { snapshot: row.id, label: row.ref, ...r };
        },
      });
      printOpened(io, opened, globals(cmd).json);
    });

  review
    .command('list [snapshot]')
    .description('list review items (open ones unless --all)')
    .option('--all', 'include decided and applied items')
    .action(async (ref: string | undefined, opts: { all?: boolean }, cmd: Command) => {
      const rows = await fromWorkspaceOrServer(cmd, io, {
        local: async (ws) => {
          const snapshotId = ref ? (await resolveSnapshot(ws, ref)).id : undefined;
          return ws.meta.gov.listReviewItems({
            ...(snapshotId !== undefined ? { snapshotId } : {}),
            ...(opts.all ? {} : { status: 'open' }),
          });
        },
        remote: async (api) => {
          // The listing is paged: read every page, as the local command lists everything.
          const items: ApiReviewItem[] = [];
          for (;;) {
            const page = await api.get<{ items: ApiReviewItem[]; total: number }>(
              '/v1/review-items',
              { snapshot: ref, all: Boolean(opts.all), offset: items.length, limit: 500 },
            );
            items.push(...page.items);
            if (page.items.length === 0 || items.length >= page.total) break;
          }
          return items.map(reviewItemRow);
        },
      });
      printItems(io, rows, globals(cmd).json);
    });

  review
    .command('decide <decision> <items...>')
    .description('keep, drop or relabel the records of one or more review items')
    .option('--label <label>', 'the new label (relabel)')
    .action(async (decision: string, items: string[], opts: { label?: string }, cmd: Command) => {
      if (!['keep', 'drop', 'relabel'].includes(decision))
        throw new CordonError('USAGE', 'decision must be keep, drop or relabel');
      const rows = await fromWorkspaceOrServer(cmd, io, {
        local: async (ws) => {
          const rows = [];
          for (const item of items)
            rows.push(await decideReviewItem(ws, item, decision as ReviewDecision, opts.label));
          return rows;
        },
        remote: async (api) => {
          const r = await api.post<{ items: ApiReviewItem[] }>('/v1/review-items/decisions', {
            items,
            decision,
            ...(opts.label !== undefined ? { label: opts.label } : {}),
          });
          return r.items.map(reviewItemRow);
        },
      });
      printDecided(io, rows, decision, globals(cmd).json);
    });

  review
    .command('apply <snapshot>')
    .description('commit the decisions as a new snapshot derived from this one')
    .action(async (ref: string, _o: unknown, cmd: Command) => {
      const applied = await fromWorkspaceOrServer<Applied>(cmd, io, {
        local: async (ws) => {
          const row = await resolveSnapshot(ws, ref);
          const r = await applyReview(ws, row);
          return {
            from: row.id,
            fromLabel: snapshotLabel(row),
            snapshot: r.snapshot.id,
            label: snapshotLabel(r.snapshot),
            version: r.snapshot.version,
            kept: r.kept,
            dropped: r.dropped,
            relabelled: r.relabelled,
          };
        },
        remote: async (api) => {
          const row = await remoteSnapshot(api, ref);
          const r = await api.post<{
            snapshot: ApiSnapshot;
            kept: number;
            dropped: number;
            relabelled: number;
          }>(`/v1/snapshots/${seg(row.id)}/review/apply`);
          return {
            from: row.id,
            fromLabel: row.ref,
            snapshot: r.snapshot.id,
            label: r.snapshot.ref,
            version: r.snapshot.version,
            kept: r.kept,
            dropped: r.dropped,
            relabelled: r.relabelled,
          };
        },
      });
      printApplied(io, applied, globals(cmd).json);
    });

  program
    .command('relabel <dataset> <file>')
    .description(
      'change labels only (labelers may): a CSV or JSONL of id,label applied to the current snapshot',
    )
    .option('-m, --message <text>', 'message recorded with the snapshot')
    .action(async (dataset: string, file: string, opts: { message?: string }, cmd: Command) => {
      const relabel = await readLabelFile(resolve(io.cwd, file), file);
      const message = opts.message ?? `relabel of ${relabel.size} record(s) from ${file}`;
      const out = await fromWorkspaceOrServer(cmd, io, {
        local: async (ws) => {
          const head = (await ws.meta.getDataset(dataset))?.head;
          if (!head) throw new CordonError('DATASET_NOT_FOUND', `no dataset "${dataset}"`);
          const row = await resolveSnapshot(ws, head);
          const derived = await deriveSnapshot(
            ws,
            row,
            { drop: new Set(), relabel },
            {
              message,
              command: `cordon relabel ${dataset} ${file}`,
              params: { relabelled: String(relabel.size) },
            },
          );
          return { snapshot: derived.id, version: derived.version, label: snapshotLabel(derived) };
        },
        // The file was read (and checked) here; the server reads it again as it receives it.
        remote: async (api) => {
          // Read as readLabelFile reads it: JSON Lines by its extension, CSV otherwise.
          const jsonl = /\.jsonl?$/i.test(file);
          const r = await api.json<{ snapshot: ApiSnapshot }>(
            'POST',
            `/v1/datasets/${seg(dataset)}/relabel`,
            {
              query: { message },
              body: await readFile(resolve(io.cwd, file)),
              contentType: jsonl ? 'application/x-ndjson' : 'text/csv',
            },
          );
          return { snapshot: r.snapshot.id, version: r.snapshot.version, label: r.snapshot.ref };
        },
      });
      if (globals(cmd).json)
        return printJson(io, {
          snapshot: out.snapshot,
          version: out.version,
          relabelled: relabel.size,
        });
      io.stdout(`Committed ${out.label}: ${relabel.size} label(s) changed\n`);
    });
}
