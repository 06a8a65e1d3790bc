import type { Command } from 'commander';
import { CordonError } from '../../core/errors.js';
import { mergeSnapshots, type OnConflict } from '../../engine/merge.js';
import { resolveSnapshot } from '../../engine/snapshots.js';
import type { SnapshotRow } from '../../store/metadata-store.js';
import { fromWorkspaceOrServer } from '../context.js';
import type { Io } from '../io.js';
import { seg } from '../remote/client.js';
import { snapshotRow } from '../remote/rows.js';
import type { ApiSnapshot } from '../remote/types.js';
import { reportSnapshot } from './ingest.js';

export function registerMerge(program: Command, io: Io): void {
  program
    .command('merge <dataset> <snapshots...>')
    .description(
      'merge snapshots into a new snapshot of <dataset>, recording lineage to each input',
    )
    .option(
      '--on-conflict <rule>',
      'when one id has different content: error, first or last',
      'error',
    )
    .option('--stage <stage>', 'stage of the merged snapshot', 'curated')
    .option('-m, --message <text>', 'message recorded with the snapshot')
    .action(
      async (
        dataset: string,
        refs: string[],
        opts: { onConflict: string; stage: string; message?: string },
        cmd: Command,
      ) => {
        if (!['error', 'first', 'last'].includes(opts.onConflict)) {
          throw new CordonError(
            'USAGE',
            `--on-conflict must be error, first or last, not "${opts.onConflict}"`,
          );
        }
        const options = {
          onConflict: opts.onConflict as OnConflict,
          stage: opts.stage,
          ...(opts.message !== undefined ? { message: opts.message } : {}),
        };
        const row = await fromWorkspaceOrServer(cmd, io, {
          local: async (ws) => {
            const inputs: SnapshotRow[] = [];
            for (const ref of refs) inputs.push(await resolveSnapshot(ws, ref));
            return mergeSnapshots(ws, dataset, inputs, options);
          },
          remote: async (api) => {
            const r = await api.post<{ snapshot: ApiSnapshot }>(
              `/v1/datasets/${seg(dataset)}/merge`,
              { snapshots: refs, ...options },
            );
            return snapshotRow(r.snapshot);
          },
        });
        reportSnapshot(io, cmd, row, 'Merged into');
      },
    );
}
