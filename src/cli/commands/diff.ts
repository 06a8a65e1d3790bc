import type { Command } from 'commander';
import { diffManifests } from '../../core/diff.js';
import { loadManifest, resolveSnapshot, snapshotLabel } from '../../engine/snapshots.js';
import { globals, printJson, withWorkspace } from '../context.js';
import { short, table, type Io } from '../io.js';

const name = (s: string | null): string => s ?? '(none)';

export function registerDiff(program: Command, io: Io): void {
  program
    .command('diff <from> <to>')
    .description(
      'compare two snapshots: added, removed and changed records, label changes, class counts, sources',
    )
    .option('--limit <n>', 'ids listed per kind', '10')
    .action(async (fromRef: string, toRef: string, opts: { limit: string }, cmd: Command) => {
      await withWorkspace(cmd, io, async (ws) => {
        const a = await resolveSnapshot(ws, fromRef);
        const b = await resolveSnapshot(ws, toRef);
        const [ma, mb] = await Promise.all([loadManifest(ws, a), loadManifest(ws, b)]);
        const d = diffManifests(ma.entries, mb.entries, Math.max(0, Number(opts.limit) || 0));
        if (globals(cmd).json) {
          return printJson(io, {
            from: { snapshot: a.id, ref: snapshotLabel(a) },
            to: { snapshot: b.id, ref: snapshotLabel(b) },
            ...d,
          });
        }
        io.stdout(
          `diff ${snapshotLabel(a)} (${short(a.id)}) → ${snapshotLabel(b)} (${short(b.id)})\n`,
        );
        io.stdout(
          `  +${d.added} added   -${d.removed} removed   ~${d.changed} changed   ${d.unchanged} unchanged\n\n`,
        );
        io.stdout(
          table(
            ['CLASS', 'BEFORE', 'AFTER', 'CHANGE'],
            d.classCounts.map((c) => [
              name(c.label),
              c.before,
              c.after,
              signed(c.after - c.before),
            ]),
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
          io.stdout(`\nrecords (first ${opts.limit} of each kind):\n${samples.join('\n')}\n`);
      });
    });
}

const signed = (n: number): string => (n > 0 ? `+${n}` : String(n));
