import { resolve } from 'node:path';
import type { Command } from 'commander';
import { exportSnapshot } from '../../engine/export.js';
import { resolveSnapshot, snapshotLabel } from '../../engine/snapshots.js';
import { globals, printJson, withWorkspace } from '../context.js';
import type { Io } from '../io.js';

export function registerExport(program: Command, io: Io): void {
  program
    .command('export <snapshot>')
    .description(
      'write a snapshot as training files with its manifest and attestation, ready for "cordon verify"',
    )
    .requiredOption('--out <dir>', 'folder to create (must not exist or be empty)')
    .option('--parquet', 'also write records.parquet')
    .option(
      '--override-gate <reason>',
      'export although the snapshot has not passed its gate (owners only; the reason is logged)',
    )
    .action(
      async (
        ref: string,
        opts: { out: string; parquet?: boolean; overrideGate?: string },
        cmd: Command,
      ) => {
        await withWorkspace(cmd, io, async (ws) => {
          const row = await resolveSnapshot(ws, ref);
          const result = await exportSnapshot(ws, row, resolve(io.cwd, opts.out), {
            parquet: Boolean(opts.parquet),
            ...(opts.overrideGate !== undefined ? { overrideGate: opts.overrideGate } : {}),
          });
          if (globals(cmd).json) return printJson(io, { snapshot: row.id, ...result });
          io.stdout(
            `Exported ${snapshotLabel(row)} to ${result.dir}: ${result.records} records, ${result.files} files\n`,
          );
        });
      },
    );
}
