import type { Command } from 'commander';
import { canonicalJson } from '../../core/canonical-json.js';
import { CordonError } from '../../core/errors.js';
import { renderLineageText, type LineageGraph } from '../../core/lineage.js';
import { toOpenLineageEvents } from '../../core/openlineage.js';
import { loadLineage } from '../../engine/lineage-graph.js';
import { resolveSnapshot } from '../../engine/snapshots.js';
import type { Workspace } from '../../engine/workspace.js';
import { fromWorkspaceOrServer } from '../context.js';
import type { Io } from '../io.js';
import { seg, type RemoteClient } from '../remote/client.js';
import type { ApiLineage } from '../remote/types.js';

const PRODUCER = 'https://cordon.dev/cli';
const FORMATS = ['text', 'json', 'openlineage', 'slsa'];

/** A lineage as printed: the graph (text, json), or one JSON document per line. */
type LineageView = { snapshot: string; graph: LineageGraph } | { lines: string[] };

async function localLineage(
  ws: Workspace,
  ref: string,
  format: string,
  namespace: string,
): Promise<LineageView> {
  const row = await resolveSnapshot(ws, ref);
  const { graph, runs } = await loadLineage(ws, row);
  if (format === 'text' || format === 'json') return { snapshot: row.id, graph };
  const lines: string[] = [];
  if (format === 'openlineage') {
    for (const { run, row: r } of runs)
      for (const event of toOpenLineageEvents(run, {
        namespace,
        producer: PRODUCER,
        attestation: { envelopeDigest: r.envelope_digest },
      }))
        lines.push(JSON.stringify(event));
  } else if (format === 'slsa') {
    for (const { row: r } of runs)
      lines.push((await ws.blobs.get(r.envelope_digest)).toString('utf8'));
  }
  return { lines };
}

/**
 * The server builds OpenLineage events as their producer (https://cordon.dev/api). SLSA envelopes
 * are stored as canonical JSON, so printing them canonically gives back the stored bytes.
 */
async function remoteLineage(
  api: RemoteClient,
  ref: string,
  format: string,
  namespace: string,
): Promise<LineageView> {
  const l = await api.get<ApiLineage>(`/v1/snapshots/${seg(ref)}/lineage`, {
    format: format === 'text' ? 'json' : format,
    namespace,
  });
  // The graph's optional fields are left out of the JSON, never sent as undefined.
  if (l.format === 'json') return { snapshot: l.snapshot, graph: l.graph as LineageGraph };
  if (l.format === 'openlineage') return { lines: l.events.map((e) => JSON.stringify(e)) };
  return { lines: l.envelopes.map((e) => canonicalJson(e)) };
}

function printLineage(io: Io, view: LineageView, format: string): void {
  if ('lines' in view) {
    for (const line of view.lines) io.stdout(line + '\n');
  } else if (format === 'text') {
    io.stdout(renderLineageText(view.graph, view.snapshot));
  } else {
    io.stdout(JSON.stringify(view.graph, null, 2) + '\n');
  }
}

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
      const view = await fromWorkspaceOrServer(cmd, io, {
        local: async (ws) => {
          const v = await localLineage(ws, ref, opts.format, opts.namespace);
          checkFormat(opts.format);
          return v;
        },
        remote: (api) => {
          checkFormat(opts.format);
          return remoteLineage(api, ref, opts.format, opts.namespace);
        },
      });
      printLineage(io, view, opts.format);
    });
}

function checkFormat(format: string): void {
  if (!FORMATS.includes(format))
    throw new CordonError(
      'USAGE',
      `--format must be text, json, openlineage or slsa, not "${format}"`,
    );
}
