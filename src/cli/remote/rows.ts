import type { QuarantineRow, ReviewItemRow, SourceRow } from '../../store/governance-store.js';
import type { EventRow, SnapshotRow } from '../../store/metadata-store.js';
import { seg, type RemoteClient } from './client.js';
import type {
  ApiQuarantine,
  ApiReviewItem,
  ApiSnapshot,
  ApiSnapshotDetail,
  ApiSource,
} from './types.js';

/**
 * The API's views turned back into the store's rows, with the same keys in the same order, so a
 * command prints the same --json whether its data came from a workspace or a server. JSON columns
 * come back as the compact JSON text the store keeps.
 */

export function snapshotRow(s: ApiSnapshot): SnapshotRow {
  return {
    id: s.id,
    dataset: s.dataset,
    version: s.version,
    stage: s.stage,
    root: s.root,
    record_count: s.records,
    manifest_digest: s.manifestDigest,
    envelope_digest: s.envelopeDigest,
    parents: JSON.stringify(s.parents),
    author: s.author,
    author_key_id: s.authorKeyId,
    created_at: s.createdAt,
    message: s.message,
  };
}

export function sourceRow(s: ApiSource): SourceRow {
  return {
    dataset: s.dataset,
    name: s.name,
    trusted: s.trusted ? 1 : 0,
    external: s.external ? 1 : 0,
    created_at: s.createdAt,
    created_by: s.createdBy,
  };
}

export function reviewItemRow(r: ApiReviewItem): ReviewItemRow {
  return {
    id: r.id,
    snapshot_id: r.snapshot,
    scan_id: r.scan,
    record_id: r.record,
    kinds: JSON.stringify(r.kinds),
    score: r.score,
    detail: JSON.stringify(r.detail),
    status: r.status,
    new_label: r.newLabel,
    decided_by: r.decidedBy,
    decided_at: r.decidedAt,
    applied_snapshot: r.appliedSnapshot,
  };
}

export function quarantineRow(q: ApiQuarantine): QuarantineRow {
  return {
    id: q.id,
    kind: q.kind,
    target: q.target,
    dataset: q.dataset,
    reason: q.reason,
    placed_by: q.placedBy,
    placed_at: q.placedAt,
    lifted_at: q.liftedAt,
    lifted_by: q.liftedBy,
    lift_reason: q.liftReason,
    lift_envelope_digest: q.liftEnvelopeDigest,
  };
}

export function eventRow(e: {
  seq: number;
  time: string;
  actor: string;
  kind: string;
  dataset: string | null;
  snapshot: string | null;
  detail: unknown;
}): EventRow {
  return {
    seq: e.seq,
    time: e.time,
    actor: e.actor,
    kind: e.kind,
    dataset: e.dataset,
    snapshot_id: e.snapshot,
    detail: JSON.stringify(e.detail),
  };
}

/** Resolves a snapshot reference on the server, as resolveSnapshot does in a workspace. */
export function remoteSnapshot(api: RemoteClient, ref: string): Promise<ApiSnapshotDetail> {
  return api.get<ApiSnapshotDetail>(`/v1/snapshots/${seg(ref)}`);
}
