import type { Command } from 'commander';
import { CordonError } from '../../core/errors.js';
import {
  liftQuarantine,
  placeQuarantine,
  type QuarantineKind,
} from '../../engine/governance/quarantine.js';
import type { QuarantineRow } from '../../store/governance-store.js';
import { fromWorkspaceOrServer, globals, printJson } from '../context.js';
import { short, table, type Io } from '../io.js';
import { seg } from '../remote/client.js';
import { quarantineRow } from '../remote/rows.js';
import type { ApiQuarantine } from '../remote/types.js';

const KINDS: readonly QuarantineKind[] = ['snapshot', 'source', 'token'];

const shown = (q: QuarantineRow): string => (q.kind === 'snapshot' ? short(q.target) : q.target);

function printPlaced(io: Io, q: QuarantineRow, json: boolean | undefined): void {
  if (json) return printJson(io, q);
  io.stdout(`Quarantined ${q.kind} ${shown(q)} (quarantine ${q.id})\n`);
}

function printLifted(io: Io, q: QuarantineRow, json: boolean | undefined): void {
  if (json) return printJson(io, q);
  io.stdout(`Lifted quarantine ${q.id} on ${q.kind} ${shown(q)}\n`);
}

function printQuarantines(io: Io, rows: QuarantineRow[], json: boolean | undefined): void {
  if (json) return printJson(io, rows);
  io.stdout(
    table(
      ['ID', 'KIND', 'TARGET', 'DATASET', 'BY', 'REASON', 'LIFTED'],
      rows.map((r) => [
        r.id,
        r.kind,
        shown(r),
        r.dataset ?? '-',
        r.placed_by,
        r.reason,
        r.lifted_at ? `${r.lifted_at} by ${r.lifted_by ?? '?'}` : '-',
      ]),
    ),
  );
}

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
        const placement = {
          reason: opts.reason,
          ...(opts.dataset !== undefined ? { dataset: opts.dataset } : {}),
        };
        const row = await fromWorkspaceOrServer(cmd, io, {
          local: (ws) => placeQuarantine(ws, kind as QuarantineKind, target, placement),
          remote: async (api) =>
            quarantineRow(
              await api.post<ApiQuarantine>('/v1/quarantines', { kind, target, ...placement }),
            ),
        });
        printPlaced(io, row, globals(cmd).json);
      },
    );

  q.command('lift <id>')
    .description('lift a quarantine: needs someone other than who placed it, and is signed')
    .requiredOption('--reason <text>', 'why it is safe now (logged)')
    .action(async (id: string, opts: { reason: string }, cmd: Command) => {
      const row = await fromWorkspaceOrServer(cmd, io, {
        local: (ws) => liftQuarantine(ws, id, opts.reason),
        remote: async (api) =>
          quarantineRow(
            await api.post<ApiQuarantine>(`/v1/quarantines/${seg(id)}/lift`, {
              reason: opts.reason,
            }),
          ),
      });
      printLifted(io, row, globals(cmd).json);
    });

  q.command('list')
    .description('list quarantines')
    .option('--all', 'include lifted ones')
    .action(async (opts: { all?: boolean }, cmd: Command) => {
      const rows = await fromWorkspaceOrServer(cmd, io, {
        local: (ws) => ws.meta.gov.listQuarantines(opts.all ? {} : { active: true }),
        remote: async (api) =>
          (
            await api.get<{ quarantines: ApiQuarantine[] }>('/v1/quarantines', {
              all: Boolean(opts.all),
            })
          ).quarantines.map(quarantineRow),
      });
      printQuarantines(io, rows, globals(cmd).json);
    });
}
