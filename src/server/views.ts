import type { z } from 'zod';
import { CordonError } from '../core/errors.js';
import { authorize } from '../engine/governance/authorize.js';
import { snapshotState } from '../engine/governance/facts.js';
import { resolveSnapshot, snapshotLabel } from '../engine/snapshots.js';
import type { Workspace } from '../engine/workspace.js';
import type {
  QuarantineRow,
  ReviewItemRow,
  SourceRow,
  TokenRow,
} from '../store/governance-store.js';
import type { DatasetRow, ScanRecordRow, SnapshotRow } from '../store/metadata-store.js';
import type * as S from './schemas.js';

/** Turns store rows into the API's shapes (camelCase, JSON columns parsed, counts as numbers). */

export async function snapshotView(
  ws: Workspace,
  row: SnapshotRow,
  head?: string | null,
): Promise<z.input<typeof S.Snapshot>> {
  const current = head === undefined ? (await ws.meta.getDataset(row.dataset))?.head : head;
  return {
    id: row.id,
    ref: snapshotLabel(row),
    dataset: row.dataset,
    version: row.version,
    stage: row.stage,
    state: await snapshotState(ws, row.id),
    root: row.root,
    records: Number(row.record_count),
    manifestDigest: row.manifest_digest,
    envelopeDigest: row.envelope_digest,
    parents: JSON.parse(row.parents) as string[],
    author: row.author,
    authorKeyId: row.author_key_id,
    createdAt: row.created_at,
    message: row.message,
    tags: await ws.meta.tagsOf(row.id),
    current: current === row.id,
  };
}

export async function datasetSummary(
  ws: Workspace,
  d: DatasetRow,
): Promise<z.input<typeof S.DatasetSummary>> {
  const head = d.head ? await ws.meta.getSnapshot(d.head) : undefined;
  return {
    name: d.name,
    head: d.head,
    current: head ? snapshotLabel(head) : null,
    stage: head?.stage ?? null,
    records: head ? Number(head.record_count) : 0,
    createdAt: d.created_at,
    createdBy: d.created_by,
  };
}

export function sourceView(s: SourceRow): z.input<typeof S.Source> {
  return {
    dataset: s.dataset,
    name: s.name,
    trusted: s.trusted === 1,
    external: s.external === 1,
    createdAt: s.created_at,
    createdBy: s.created_by,
  };
}

export function tokenView(t: TokenRow): z.input<typeof S.Token> {
  return {
    keyId: t.key_id,
    identity: t.identity,
    kind: t.kind === 'nhi' ? 'nhi' : 'pat',
    env: t.env === 'test' ? 'test' : 'live',
    display: `cordon_${t.kind}_${t.env}_${t.key_id}_…${t.last4}`,
    scopes: JSON.parse(t.scopes) as string[],
    createdAt: t.created_at,
    expiresAt: t.expires_at,
    revokedAt: t.revoked_at,
    rotatedFrom: t.rotated_from,
    lastUsedAt: t.last_used_at,
    lastUsedAgent: t.last_used_agent,
  };
}

export function quarantineView(q: QuarantineRow): z.input<typeof S.Quarantine> {
  return {
    id: q.id,
    kind: q.kind as 'snapshot' | 'source' | 'token',
    target: q.target,
    dataset: q.dataset,
    reason: q.reason,
    placedBy: q.placed_by,
    placedAt: q.placed_at,
    liftedAt: q.lifted_at,
    liftedBy: q.lifted_by,
    liftReason: q.lift_reason,
    liftEnvelopeDigest: q.lift_envelope_digest,
  };
}

export function reviewItemView(r: ReviewItemRow): z.input<typeof S.ReviewItem> {
  return {
    id: r.id,
    snapshot: r.snapshot_id,
    scan: r.scan_id,
    record: r.record_id,
    kinds: JSON.parse(r.kinds) as string[],
    score: r.score,
    detail: JSON.parse(r.detail) as unknown,
    status: r.status as 'open' | 'keep' | 'drop' | 'relabel',
    newLabel: r.new_label,
    decidedBy: r.decided_by,
    decidedAt: r.decided_at,
    appliedSnapshot: r.applied_snapshot,
  };
}

export function scanView(s: ScanRecordRow): z.input<typeof S.ScanRecord> {
  return {
    id: s.id,
    snapshot: s.snapshot_id,
    reportDigest: s.report_digest,
    envelopeDigest: s.envelope_digest,
    actor: s.actor,
    createdAt: s.created_at,
    summary: JSON.parse(s.summary) as z.input<typeof S.ScanRecord>['summary'],
  };
}

/**
 * Resolves a snapshot reference and checks that the caller may read its dataset. Every read of
 * a snapshot goes through here, so reads are authorized by the same authorize() as changes.
 */
export async function readableSnapshot(ws: Workspace, ref: string): Promise<SnapshotRow> {
  const row = await resolveSnapshot(ws, ref);
  await authorize(ws, 'read', { type: 'Dataset', dataset: row.dataset });
  return row;
}

export async function readableDataset(ws: Workspace, name: string): Promise<DatasetRow> {
  const row = await ws.meta.getDataset(name);
  if (!row) throw new CordonError('DATASET_NOT_FOUND', `no dataset "${name}"`);
  await authorize(ws, 'read', { type: 'Dataset', dataset: name });
  return row;
}
