import type { Command } from 'commander';
import { CordonError } from '../../core/errors.js';
import { auditProof, verifyAudit, type AuditVerification } from '../../engine/audit.js';
import type { EventRow } from '../../store/metadata-store.js';
import { fromWorkspaceOrServer, globals, printJson } from '../context.js';
import { short, table, type Io } from '../io.js';
import type { RemoteClient } from '../remote/client.js';
import { eventRow } from '../remote/rows.js';
import type { ApiAuditPage, ApiAuditProof, ApiAuditVerification } from '../remote/types.js';

function isoTime(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  const t = new Date(value);
  if (Number.isNaN(t.getTime()))
    throw new CordonError('USAGE', `${flag} "${value}" is not a date or time`);
  return t.toISOString();
}

function printEvents(io: Io, rows: EventRow[], json: boolean | undefined): void {
  if (json)
    return printJson(
      io,
      rows.map((r) => ({ ...r, detail: JSON.parse(r.detail) as unknown })),
    );
  io.stdout(
    table(
      ['SEQ', 'TIME', 'ACTOR', 'KIND', 'DATASET', 'SNAPSHOT', 'DETAIL'],
      rows.map((r) => [
        r.seq,
        r.time,
        r.actor,
        r.kind,
        r.dataset ?? '-',
        r.snapshot_id ? short(r.snapshot_id) : '-',
        r.detail,
      ]),
    ),
  );
}

type AuditProof = Awaited<ReturnType<typeof auditProof>>;

type Filter = { dataset?: string; actor?: string; kind?: string; since?: string; until?: string };

/** Every event matching the filter, page after page. */
async function remoteEvents(api: RemoteClient, filter: Filter): Promise<EventRow[]> {
  const rows: EventRow[] = [];
  let after = 0;
  for (;;) {
    const page = await api.get<ApiAuditPage>('/v1/audit/events', {
      ...filter,
      after,
      limit: 1000,
    });
    rows.push(...page.events.map(eventRow));
    if (page.next === null) return rows;
    after = page.next;
  }
}

function printAuditVerified(io: Io, r: AuditVerification, json: boolean | undefined): void {
  if (json) return printJson(io, { ok: true, ...r });
  io.stdout(
    `OK audit log: ${r.events} events, ${r.checkpoints} signed checkpoints consistent, root ${short(r.root)}${r.unsigned ? `; ${r.unsigned} newest events not yet checkpointed` : ''}\n`,
  );
}

function printAuditProof(io: Io, p: AuditProof, json: boolean | undefined): void {
  if (json) return printJson(io, p);
  io.stdout(
    `event ${p.seq} is leaf ${p.index} of ${p.size} under checkpoint root ${p.root}\naudit path:\n${p.proof.map((h) => `  ${h}`).join('\n')}\nverified: ${p.verified ? 'yes' : 'NO'}\n`,
  );
}

export function registerAudit(program: Command, io: Io): void {
  const audit = program
    .command('audit')
    .description('the tamper-evident event log: show, verify, prove');

  audit
    .command('show')
    .description('list recorded events (ingests, commits, scans, rollbacks, tags), oldest first')
    .option('--dataset <name>', 'only events of this dataset')
    .option('--actor <identity>', 'only events by this identity')
    .option('--kind <kind>', 'only events of this kind, e.g. dataset.rollback')
    .option('--since <time>', 'only events at or after this time')
    .option('--until <time>', 'only events before this time')
    .option('--json', 'print machine-readable JSON')
    .action(
      async (
        opts: { dataset?: string; actor?: string; kind?: string; since?: string; until?: string },
        cmd: Command,
      ) => {
        const since = isoTime(opts.since, '--since');
        const until = isoTime(opts.until, '--until');
        const filter: Filter = {
          ...(opts.dataset !== undefined ? { dataset: opts.dataset } : {}),
          ...(opts.actor !== undefined ? { actor: opts.actor } : {}),
          ...(opts.kind !== undefined ? { kind: opts.kind } : {}),
          ...(since !== undefined ? { since } : {}),
          ...(until !== undefined ? { until } : {}),
        };
        const rows = await fromWorkspaceOrServer(cmd, io, {
          local: (ws) => ws.meta.listEvents(filter),
          remote: (api) => remoteEvents(api, filter),
        });
        printEvents(io, rows, globals(cmd).json);
      },
    );

  audit
    .command('verify')
    .description(
      'recompute the Merkle tree of all events and check every signed checkpoint; fails closed',
    )
    .option('--json', 'print machine-readable JSON')
    .action(async (_opts: unknown, cmd: Command) => {
      const r = await fromWorkspaceOrServer<AuditVerification>(cmd, io, {
        local: (ws) => verifyAudit(ws.meta),
        remote: async (api) => {
          const { ok: _ok, ...v } = await api.get<ApiAuditVerification>('/v1/audit/verify');
          return v;
        },
      });
      printAuditVerified(io, r, globals(cmd).json);
    });

  audit
    .command('proof <seq>')
    .description('RFC 9162 inclusion proof that an event is in the signed log')
    .option('--json', 'print machine-readable JSON')
    .action(async (seq: string, _opts: unknown, cmd: Command) => {
      if (!/^\d+$/.test(seq))
        throw new CordonError('USAGE', `event "${seq}" is not a sequence number`);
      const p = await fromWorkspaceOrServer<AuditProof>(cmd, io, {
        local: (ws) => auditProof(ws.meta, Number(seq)),
        remote: (api) => api.get<ApiAuditProof>(`/v1/audit/proof/${seq}`),
      });
      printAuditProof(io, p, globals(cmd).json);
    });
}
