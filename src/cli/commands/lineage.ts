import type { Command } from 'commander';
import { CordonError } from '../../core/errors.js';
import { renderLineageText } from '../../core/lineage.js';
import { toOpenLineageEvents } from '../../core/openlineage.js';
import { loadLineage } from '../../engine/lineage-graph.js';
import { resolveSnapshot } from '../../engine/snapshots.js';
import { printJson, withWorkspace } from '../context.js';
import type { Io } from '../io.js';

const PRODUCER = 'https://cordon.dev/cli';

export function registerLineage(program: Command, io: Io): void {
  program
    .command('lineage <snapshot>')
    .description(
      'show where a snapshot came from, back to its raw sources; export as OpenLineage or SLSA provenance',
    )
    .option(
      '--format <format>',
      'text, json, openlineage (RunEvents, one JSON per line) or slsa (signed DSSE envelopes, one per line)',
      'text',
    )
    .option('--namespace <ns>', 'OpenLineage namespace', 'cordon')
    .action(async (ref: string, opts: { format: string; namespace: string }, cmd: Command) => {
      await withWorkspace(cmd, io, async (ws) => {
        const row = await resolveSnapshot(ws, ref);
        const { graph, runs } = await loadLineage(ws, row);
        switch (opts.format) {
          case 'text':
            io.stdout(renderLineageText(graph, row.id));
            return;
          case 'json':
            printJson(io, graph);
            return;
          case 'openlineage':
            for (const { run, row: r } of runs) {
              for (const event of toOpenLineageEvents(run, {
                namespace: opts.namespace,
                producer: PRODUCER,
                attestation: { envelopeDigest: r.envelope_digest },
              })) {
                io.stdout(JSON.stringify(event) + '\n');
              }
            }
            return;
          case 'slsa':
            for (const { row: r } of runs)
              io.stdout((await ws.blobs.get(r.envelope_digest)).toString('utf8') + '\n');
            return;
          default:
            throw new CordonError(
              'USAGE',
              `--format must be text, json, openlineage or slsa, not "${opts.format}"`,
            );
        }
      });
    });
}
