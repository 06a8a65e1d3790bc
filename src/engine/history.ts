import { CordonError } from '../core/errors.js';
import type { SnapshotRow } from '../store/metadata-store.js';
import { assertName } from './commit.js';
import { authorize } from './governance/authorize.js';
import { snapshotLabel } from './snapshots.js';
import type { Workspace } from './workspace.js';

/**
 * Moves a dataset's head back to an earlier snapshot of the same dataset. Nothing is deleted: the
 * snapshots after it stay, and the move is an event naming who did it and why.
 */
export async function rollback(
  ws: Workspace,
  dataset: string,
  target: SnapshotRow,
  reason: string,
): Promise<{ from: string | null; to: string }> {
  if (target.dataset !== dataset) {
    throw new CordonError('USAGE', `${snapshotLabel(target)} is not a snapshot of "${dataset}"`);
  }
  if (!reason.trim()) throw new CordonError('USAGE', 'a rollback needs a --reason');
  const ds = await ws.meta.getDataset(dataset);
  if (!ds) throw new CordonError('DATASET_NOT_FOUND', `no dataset "${dataset}"`);
  if (ds.head === target.id)
    throw new CordonError(
      'USAGE',
      `${snapshotLabel(target)} is already the current snapshot of "${dataset}"`,
    );
  const authz = await authorize(ws, 'rollback', { type: 'Dataset', dataset });
  await ws.meta.moveHead(dataset, ds.head, target.id, {
    time: new Date().toISOString(),
    actor: ws.identity.name,
    kind: 'dataset.rollback',
    dataset,
    snapshot_id: target.id,
    detail: JSON.stringify({
      from: ds.head,
      to: target.id,
      version: target.version,
      reason,
      authz,
    }),
  });
  return { from: ds.head, to: target.id };
}

export async function tagSnapshot(
  ws: Workspace,
  row: SnapshotRow,
  tag: string,
  remove: boolean,
): Promise<boolean> {
  assertName('tag', tag);
  const authz = await authorize(ws, 'tag', { type: 'Dataset', dataset: row.dataset });
  const event = {
    time: new Date().toISOString(),
    actor: ws.identity.name,
    kind: remove ? 'snapshot.untag' : 'snapshot.tag',
    dataset: row.dataset,
    snapshot_id: row.id,
    detail: JSON.stringify({ tag, version: row.version, authz }),
  };
  if (remove) return ws.meta.removeTag(row.id, tag, event);
  await ws.meta.addTag(row.id, tag, ws.identity.name, event);
  return true;
}
