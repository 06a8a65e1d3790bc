import type { Command } from 'commander';
import { diffManifests, type SnapshotDiff } from '../../core/diff.js';
import { loadManifest, resolveSnapshot, snapshotLabel } from '../../engine/snapshots.js';
import type { Workspace } from '../../engine/workspace.js';
import { fromWorkspaceOrServer, globals, printJson } from '../context.js';
import { short, table, type Io } from '../io.js';
import type { RemoteClient } from '../remote/client.js';
import type { ApiDiff } from '../remote/types.js';

const name = (s: string | null): string => s ?? '(none)';

type Side = { snapshot: string; ref: string };
type DiffView = { from: Side; to: Side } & SnapshotDiff;

async function localDiff(ws: Workspace, fromRef: string, toRef: string, limit: number) {
  const a = await resolveSnapshot(ws, fromRef);
  const b = await resolveSnapshot(ws, toRef);
  const [ma, mb] = await Promise.all([loadManifest(ws, a), loadManifest(ws, b)]);
  return {
    from: { snapshot: a.id, ref: snapshotLabel(a) },
    to: { snapshot: b.id, ref: snapshotLabel(b) },
    ...diffManifests(ma.entries, mb.entries, limit),
  };
}

function remoteDiff(api: RemoteClient, from: string, to: string, limit: number): Promise<DiffView> {
  return api.get<ApiDiff>('/v1/diff', { from, to, limit });
}

/** `limit` is printed as given on the command line. */
function printDiff(io: Io, d: DiffView, limit: string, json: boolean | undefined): void {
  if (json) return printJson(io, d);
  io.stdout(
    `diff ${d.from.ref} (${short(d.from.snapshot)}) → ${d.to.ref} (${short(d.to.snapshot)})\n`,
  );
  io.stdout(
    `  +${d.added} added   -${d.removed} removed   ~${d.changed} changed   ${d.unchanged} unchanged\n\n`,
  );
  io.stdout(
    table(
      ['CLASS', 'BEFORE', 'AFTER', 'CHANGE'],
      d.classCounts.map((c) => [name(c.label), c.before, c.after, signed(c.after - c.before)]),
    ) + '\n',
  );
  if (d.labelChanges.length) {
    io.stdout(
      table(
        ['LABEL FROM', 'LABEL TO', 'RECORDS'],
        d.labelChanges.map((p) => [name(p.from), name(p.to), p.records]),
      ) + '\n',
    );
  }
  io.stdout(
    table(
      ['SOURCE', 'ADDED', 'REMOVED', 'CHANGED'],
      d.bySource.map((s) => [name(s.source), s.added, s.removed, s.changed]),
    ),
  );
  const samples = [
    ...d.samples.added.map((id) => `  + ${id}`),
    ...d.samples.removed.map((id) => `  - ${id}`),
    ...d.samples.changed.map(
      (c) =>
        `  ~ ${c.id}${c.labelBefore !== c.labelAfter ? ` (label ${name(c.labelBefore)} → ${name(c.labelAfter)})` : ''}`,
    ),
  ];
  if (samples.length)
    io.stdout(`\nrecords (first ${limit} of each kind):\n${samples.join('\n')}\n`);
}

export function registerDiff(program: Command, io: Io): void {
  program
    .command('diff <from> <to>')
    .description(
      'compare two snapshots: added, removed and changed records, label changes, class counts, sources',
    )
    .option('--limit <n>', 'ids listed per kind', '10')
    .action(async (fromRef: string, toRef: string, opts: { limit: string }, cmd: Command) => {
      const limit = Math.max(0, Number(opts.limit) || 0);
      const d = await fromWorkspaceOrServer(cmd, io, {
        local: (ws) => localDiff(ws, fromRef, toRef, limit),
        remote: (api) => remoteDiff(api, fromRef, toRef, limit),
      });
      printDiff(io, d, opts.limit, globals(cmd).json);
    });
}

const signed = (n: number): string => (n > 0 ? `+${n}` : String(n));
