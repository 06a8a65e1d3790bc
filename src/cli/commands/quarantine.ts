import type { Command } from 'commander';
import { CordonError } from '../../core/errors.js';
import {
  liftQuarantine,
  placeQuarantine,
  type QuarantineKind,
} from '../../engine/governance/quarantine.js';
import { globals, printJson, withWorkspace } from '../context.js';
import { short, table, type Io } from '../io.js';

const KINDS: readonly QuarantineKind[] = ['snapshot', 'source', 'token'];

export function registerQuarantine(program: Command, io: Io): void {
  const q = program
    .command('quarantine')
    .description(
      'stop a snapshot, a source or a token from being used until someone else lifts it',
    );

  q.command('add <kind> <target>')
    .description('quarantine a snapshot (ref), a source (name, with --dataset) or a token (key id)')
    .requiredOption('--reason <text>', 'why (logged)')
    .option('--dataset <name>', 'dataset of a quarantined source')
    .action(
      async (
        kind: string,
        target: string,
        opts: { reason: string; dataset?: string },
        cmd: Command,
      ) => {
        if (!(KINDS as readonly string[]).includes(kind))
          throw new CordonError('USAGE', `kind must be one of ${KINDS.join(', ')}`);
        await withWorkspace(cmd, io, async (ws) => {
          const row = await placeQuarantine(ws, kind as QuarantineKind, target, {
            reason: opts.reason,
            ...(opts.dataset !== undefined ? { dataset: opts.dataset } : {}),
          });
          if (globals(cmd).json) return printJson(io, row);
          io.stdout(
            `Quarantined ${kind} ${kind === 'snapshot' ? short(row.target) : row.target} (quarantine ${row.id})\n`,
          );
        });
      },
    );

  q.command('lift <id>')
    .description('lift a quarantine: needs someone other than who placed it, and is signed')
    .requiredOption('--reason <text>', 'why it is safe now (logged)')
    .action(async (id: string, opts: { reason: string }, cmd: Command) => {
      await withWorkspace(cmd, io, async (ws) => {
        const row = await liftQuarantine(ws, id, opts.reason);
        if (globals(cmd).json) return printJson(io, row);
        io.stdout(
          `Lifted quarantine ${id} on ${row.kind} ${row.kind === 'snapshot' ? short(row.target) : row.target}\n`,
        );
      });
    });

  q.command('list')
    .description('list quarantines')
    .option('--all', 'include lifted ones')
    .action(async (opts: { all?: boolean }, cmd: Command) => {
      await withWorkspace(cmd, io, async (ws) => {
        const rows = await ws.meta.gov.listQuarantines(opts.all ? {} : { active: true });
        if (globals(cmd).json) return printJson(io, rows);
        io.stdout(
          table(
            ['ID', 'KIND', 'TARGET', 'DATASET', 'BY', 'REASON', 'LIFTED'],
            rows.map((r) => [
              r.id,
              r.kind,
              r.kind === 'snapshot' ? short(r.target) : r.target,
              r.dataset ?? '-',
              r.placed_by,
              r.reason,
              r.lifted_at ? `${r.lifted_at} by ${r.lifted_by ?? '?'}` : '-',
            ]),
          ),
        );
      });
    });
}
