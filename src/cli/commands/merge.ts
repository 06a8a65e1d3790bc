import type { Command } from 'commander';
import { CordonError } from '../../core/errors.js';
import { mergeSnapshots, type OnConflict } from '../../engine/merge.js';
import { resolveSnapshot } from '../../engine/snapshots.js';
import type { SnapshotRow } from '../../store/metadata-store.js';
import { withWorkspace } from '../context.js';
import type { Io } from '../io.js';
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
        await withWorkspace(cmd, io, async (ws) => {
          const inputs: SnapshotRow[] = [];
          for (const ref of refs) inputs.push(await resolveSnapshot(ws, ref));
          const row = await mergeSnapshots(ws, dataset, inputs, {
            onConflict: opts.onConflict as OnConflict,
            stage: opts.stage,
            ...(opts.message !== undefined ? { message: opts.message } : {}),
          });
          reportSnapshot(io, cmd, row, 'Merged into');
        });
      },
    );
}
