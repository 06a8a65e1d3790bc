import { CordonError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hashing.js';
import type { ReviewItemRow } from '../../store/governance-store.js';
import type { SnapshotRow } from '../../store/metadata-store.js';
import { deriveSnapshot } from '../derive.js';
import type { Workspace } from '../workspace.js';
import { authorize } from './authorize.js';
import { datasetGovernance } from './facts.js';
import { loadVerifiedScan } from './gate.js';

export type ReviewDecision = 'keep' | 'drop' | 'relabel';

/**
 * Turns the newest scan's findings on a snapshot into review items: every record with a finding
 * scoring at least `threshold` (the dataset's review threshold by default), or carrying a
 * trigger. One item per record, with every kind that flagged it. Opening twice adds nothing new.
 */
export async function openReview(
  ws: Workspace,
  row: SnapshotRow,
  options: { threshold?: number } = {},
): Promise<{ scan: string; opened: number; threshold: number }> {
  const authz = await authorize(ws, 'review', { type: 'Snapshot', snapshot: row });
  const scan = await loadVerifiedScan(ws, row);
  if (!scan)
    throw new CordonError(
      'STATE_INVALID',
      `${row.dataset}@${row.version} has no recorded scan; run "cordon scan" first`,
    );
  const threshold = options.threshold ?? (await datasetGovernance(ws, row.dataset)).reviewThreshold;
  const byRecord = new Map<string, { kinds: Set<string>; score: number; detail: unknown[] }>();
  const add = (id: string, kind: string, score: number, detail: unknown): void => {
    const item = byRecord.get(id) ?? { kinds: new Set<string>(), score: 0, detail: [] };
    item.kinds.add(kind);
    item.score = Math.max(item.score, score);
    if (item.detail.length < 5) item.detail.push(detail);
    byRecord.set(id, item);
  };
  for (const issue of scan.report.issues) {
    if (issue.score >= threshold)
      add(issue.row, issue.kind, issue.score, { kind: issue.kind, ...issue.detail });
  }
  for (const t of scan.report.triggers) {
    for (const id of t.rows)
      add(id, 'trigger', Math.max(t.score, threshold), { trigger: t.pattern, label: t.label });
  }
  const existing = new Set(
    (await ws.meta.gov.listReviewItems({ snapshotId: row.id })).map((r) => r.id),
  );
  const rows: ReviewItemRow[] = [];
  for (const [recordId, item] of [...byRecord].sort((a, b) => b[1].score - a[1].score)) {
    const id = sha256Hex(`${scan.id}\0${recordId}`).slice(0, 16);
    if (existing.has(id)) continue;
    rows.push({
      id,
      snapshot_id: row.id,
      scan_id: scan.id,
      record_id: recordId,
      kinds: JSON.stringify([...item.kinds].sort()),
      score: item.score,
      detail: JSON.stringify(item.detail),
      status: 'open',
      new_label: null,
      decided_by: null,
      decided_at: null,
      applied_snapshot: null,
    });
  }
  const time = new Date().toISOString();
  await ws.meta.gov.addReviewItems(rows, {
    time,
    actor: ws.identity.name,
    kind: 'review.open',
    dataset: row.dataset,
    snapshot_id: row.id,
    detail: JSON.stringify({ scan: scan.id, threshold, opened: rows.length, authz }),
  });
  return { scan: scan.id, opened: rows.length, threshold };
}

/** Records a reviewer's decision on one item. Relabelling needs the new label. */
export async function decideReviewItem(
  ws: Workspace,
  id: string,
  decision: ReviewDecision,
  label?: string,
): Promise<ReviewItemRow> {
  const item = await ws.meta.gov.getReviewItem(id);
  if (!item) throw new CordonError('USAGE', `no review item ${id}`);
  if (item.applied_snapshot !== null)
    throw new CordonError('STATE_INVALID', `review item ${id} was already applied`);
  if (decision === 'relabel' && (label === undefined || label === ''))
    throw new CordonError('USAGE', 'relabel needs --label');
  const snapshot = await ws.meta.getSnapshot(item.snapshot_id);
  if (!snapshot)
    throw new CordonError('SNAPSHOT_NOT_FOUND', `snapshot ${item.snapshot_id} is gone`);
  const authz = await authorize(ws, 'review', { type: 'Snapshot', snapshot });
  const time = new Date().toISOString();
  const patch = {
    status: decision,
    new_label: decision === 'relabel' ? (label ?? null) : null,
    decided_by: ws.identity.name,
    decided_at: time,
  };
  await ws.meta.gov.decideReviewItem(id, patch, {
    time,
    actor: ws.identity.name,
    kind: 'review.decide',
    dataset: snapshot.dataset,
    snapshot_id: snapshot.id,
    detail: JSON.stringify({
      item: id,
      record: item.record_id,
      decision,
      label: patch.new_label,
      authz,
    }),
  });
  return { ...item, ...patch };
}

/**
 * Applies every decision on a snapshot's review items as a new derived snapshot: dropped records
 * leave, relabelled ones get their new label, kept ones stay as they were. Needs every item
 * decided. The derived snapshot's lineage names the scan and the reviewers.
 */
export async function applyReview(
  ws: Workspace,
  row: SnapshotRow,
): Promise<{
  snapshot: SnapshotRow;
  kept: number;
  dropped: number;
  relabelled: number;
}> {
  const items = (await ws.meta.gov.listReviewItems({ snapshotId: row.id })).filter(
    (i) => i.applied_snapshot === null,
  );
  if (items.length === 0)
    throw new CordonError(
      'STATE_INVALID',
      `${row.dataset}@${row.version} has no review decisions to apply`,
    );
  const open = items.filter((i) => i.status === 'open');
  if (open.length > 0)
    throw new CordonError(
      'STATE_INVALID',
      `${open.length} review item(s) of ${row.dataset}@${row.version} are still open (first: ${open[0]!.id})`,
    );
  const drop = new Set(items.filter((i) => i.status === 'drop').map((i) => i.record_id));
  const relabel = new Map(
    items.filter((i) => i.status === 'relabel').map((i) => [i.record_id, i.new_label] as const),
  );
  const reviewers = [...new Set(items.map((i) => i.decided_by ?? ''))].sort();
  const scans = [...new Set(items.map((i) => i.scan_id))].sort();
  const decisions = sha256Hex(
    JSON.stringify(items.map((i) => [i.id, i.record_id, i.status, i.new_label, i.decided_by])),
  );
  const snapshot = await deriveSnapshot(
    ws,
    row,
    { drop, relabel },
    {
      message: `review of ${row.dataset}@${row.version}: ${drop.size} dropped, ${relabel.size} relabelled`,
      command: 'cordon review apply',
      params: {
        review: 'true',
        scan: scans.join(','),
        reviewers: reviewers.join(','),
        decisions,
        dropped: String(drop.size),
        relabelled: String(relabel.size),
      },
    },
  );
  await ws.meta.gov.markReviewApplied(
    items.map((i) => i.id),
    snapshot.id,
  );
  return {
    snapshot,
    kept: items.length - drop.size - relabel.size,
    dropped: drop.size,
    relabelled: relabel.size,
  };
}
