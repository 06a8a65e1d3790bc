import { CordonError } from '../core/errors.js';
import { compareIds, type ManifestEntry } from '../core/manifest.js';
import type { SnapshotRow } from '../store/metadata-store.js';
import { assertName, checkCommit, finish, type RunInfo } from './commit.js';
import { loadManifest, snapshotLabel } from './snapshots.js';
import type { Workspace } from './workspace.js';

export type OnConflict = 'error' | 'first' | 'last';

/**
 * Merges snapshots into a new snapshot of `dataset`: the union of their records by id. A record id
 * present in several inputs with the same content is kept once; with different content it is a
 * conflict, resolved by `onConflict` (error: refuse; first/last: the earliest/latest input wins).
 * No record bytes are copied: the merged manifest points into the inputs' segments.
 */
export async function mergeSnapshots(
  ws: Workspace,
  dataset: string,
  inputs: SnapshotRow[],
  options: { onConflict: OnConflict; stage: string; message?: string },
): Promise<SnapshotRow> {
  assertName('dataset', dataset);
  if (inputs.length < 2) throw new CordonError('USAGE', 'merge needs at least two snapshots');
  const run: RunInfo = {
    kind: 'merge',
    inputs,
    command: null,
    codeDigest: null,
    params: { onConflict: options.onConflict },
    startedAt: new Date().toISOString(),
  };
  const authz = await checkCommit(ws, { dataset, run });
  const segments: string[] = [];
  const lists: ManifestEntry[][] = [];
  for (const row of inputs) {
    const m = await loadManifest(ws, row);
    const offset = segments.length;
    segments.push(...m.header.segments);
    lists.push(m.entries.map((e) => ({ ...e, segment: e.segment + offset })));
  }
  const all: { e: ManifestEntry; input: number }[] = [];
  lists.forEach((list, input) => list.forEach((e) => all.push({ e, input })));
  all.sort((a, b) => compareIds(a.e.id, b.e.id) || a.input - b.input);
  const merged: ManifestEntry[] = [];
  for (let i = 0; i < all.length;) {
    let j = i + 1;
    while (j < all.length && all[j]!.e.id === all[i]!.e.id) j++;
    const group = all.slice(i, j);
    const distinct = new Set(group.map((g) => g.e.digest));
    if (distinct.size > 1 && options.onConflict === 'error') {
      const names = group.map((g) => snapshotLabel(inputs[g.input]!)).join(' and ');
      throw new CordonError(
        'MERGE_CONFLICT',
        `record "${group[0]!.e.id}" differs between ${names}; choose --on-conflict first or last, or fix the inputs`,
      );
    }
    merged.push(options.onConflict === 'last' ? group[group.length - 1]!.e : group[0]!.e);
    i = j;
  }
  const head = (await ws.meta.getDataset(dataset))?.head ?? null;
  const staging = await ws.blobs.stage();
  try {
    return await finish(ws, staging, merged, segments, {
      dataset,
      stage: options.stage,
      message: options.message ?? `merge of ${inputs.map(snapshotLabel).join(', ')}`,
      parents: inputs.map((r) => r.id),
      expectedHead: head,
      run,
      authz,
    });
  } catch (e) {
    await staging.abort();
    throw e;
  }
}
