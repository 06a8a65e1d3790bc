import { CordonError } from '../core/errors.js';
import type { CordonRecord } from '../core/record.js';
import type { SnapshotRow } from '../store/metadata-store.js';
import { commitItems } from './commit.js';
import type { IngestItem } from './readers/reader.js';
import { loadManifest, snapshotLabel, snapshotLines } from './snapshots.js';
import type { Workspace } from './workspace.js';

export interface Derivation {
  /** Record ids to leave out. */
  drop: ReadonlySet<string>;
  /** New labels by record id (null removes the label). */
  relabel: ReadonlyMap<string, string | null>;
}

/**
 * Commits a snapshot derived from `row` (which must be its dataset's head) by dropping and
 * relabelling records. Nothing else in a record changes. A derivation that only relabels is
 * authorised as a label change ('relabel'); dropping records is a content change ('ingest').
 * Lineage records the input snapshot and `params` (who decided, from which scan).
 */
export async function deriveSnapshot(
  ws: Workspace,
  row: SnapshotRow,
  change: Derivation,
  options: { stage?: string; message: string; command: string; params: Record<string, string> },
): Promise<SnapshotRow> {
  const head = (await ws.meta.getDataset(row.dataset))?.head ?? null;
  if (head !== row.id)
    throw new CordonError(
      'HEAD_CONFLICT',
      `${snapshotLabel(row)} is no longer the head of "${row.dataset}"; derive from the current head instead`,
    );
  const manifest = await loadManifest(ws, row);
  const ids = new Set(manifest.entries.map((e) => e.id));
  for (const id of [...change.drop, ...change.relabel.keys()]) {
    if (!ids.has(id))
      throw new CordonError('RECORD_NOT_FOUND', `${snapshotLabel(row)} has no record "${id}"`);
  }
  const base = {
    header: manifest.header,
    entries: manifest.entries.filter((e) => !change.drop.has(e.id)),
  };
  const relabel = change.relabel;
  async function* items(): AsyncGenerator<IngestItem> {
    if (relabel.size === 0) return;
    for await (const { line, entry } of snapshotLines(ws, manifest)) {
      if (!relabel.has(entry.id) || change.drop.has(entry.id)) continue;
      const record = JSON.parse(line.toString('utf8')) as CordonRecord;
      yield {
        record: { ...record, label: relabel.get(entry.id) ?? null },
        where: `${snapshotLabel(row)} record ${entry.id}`,
      };
    }
  }
  return commitItems(ws, items(), {
    dataset: row.dataset,
    stage: options.stage ?? row.stage,
    message: options.message,
    parents: [row.id],
    expectedHead: row.id,
    base,
    action: change.drop.size > 0 ? 'ingest' : 'relabel',
    run: {
      kind: 'transform',
      inputs: [row],
      command: options.command,
      codeDigest: null,
      params: options.params,
      startedAt: new Date().toISOString(),
    },
  });
}
