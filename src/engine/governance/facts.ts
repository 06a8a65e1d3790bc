import { CordonError } from '../../core/errors.js';
import type { SnapshotRow } from '../../store/metadata-store.js';
import { checkStatement, parseEnvelope } from '../verify-snapshot.js';
import { trustedKeys, type Workspace } from '../workspace.js';

export const SNAPSHOT_STATES = ['draft', 'scanned', 'approved', 'released', 'quarantined'] as const;
export type SnapshotState = (typeof SNAPSHOT_STATES)[number];

/** Default for how high a finding must score to become a review item. */
export const DEFAULT_REVIEW_THRESHOLD = 0.8;

export interface DatasetGovernance {
  name: string;
  highImpact: boolean;
  /** Marked external, or holding a source marked external. */
  externallySourced: boolean;
  /** Independent approvals a snapshot needs: the setting, and at least 2 if external or high impact. */
  requiredApprovals: number;
  reviewThreshold: number;
}

export async function datasetGovernance(ws: Workspace, name: string): Promise<DatasetGovernance> {
  const settings = await ws.meta.gov.getSettings(name);
  const sources = await ws.meta.gov.listSources(name);
  const highImpact = settings?.high_impact === 1;
  const externallySourced =
    settings?.externally_sourced === 1 || sources.some((s) => s.external === 1);
  const configured = settings?.required_approvals ?? 1;
  return {
    name,
    highImpact,
    externallySourced,
    requiredApprovals: Math.max(configured, highImpact || externallySourced ? 2 : 1),
    reviewThreshold: settings?.review_threshold ?? DEFAULT_REVIEW_THRESHOLD,
  };
}

export async function snapshotState(ws: Workspace, id: string): Promise<SnapshotState> {
  return ((await ws.meta.gov.getState(id)) ?? 'draft') as SnapshotState;
}

/**
 * The sources a snapshot holds, with record counts, read from its signed statement (verified), so
 * a doctored database cannot hide a source.
 */
export async function snapshotSources(
  ws: Workspace,
  row: SnapshotRow,
): Promise<{ name: string | null; records: number }[]> {
  const bytes = await ws.blobs.get(row.envelope_digest);
  const envelope = parseEnvelope(bytes, row.envelope_digest, `snapshot ${row.id} attestation`);
  return checkStatement(envelope, await trustedKeys(ws), `snapshot ${row.id}`).predicate.sources;
}

/**
 * Humans accountable for a snapshot: its author, or the owners of the service account that
 * produced it. They may not approve it.
 */
export async function accountableHumans(ws: Workspace, author: string): Promise<string[]> {
  const row = await ws.meta.getIdentity(author);
  if (!row) throw new CordonError('INTERNAL', `snapshot author "${author}" is not an identity`);
  return row.kind === 'service' ? (JSON.parse(row.owners) as string[]) : [author];
}

/**
 * When the snapshot was last placed in quarantine (lifted or not), or null if never. Approvals and
 * gate verdicts older than this no longer count: a lifted snapshot must be approved and gated
 * again before it moves on.
 */
export async function lastQuarantinedAt(ws: Workspace, row: SnapshotRow): Promise<string | null> {
  const placed = await ws.meta.gov.listQuarantines({ kind: 'snapshot', target: row.id });
  return placed.at(-1)?.placed_at ?? null;
}

/** An active quarantine that covers the snapshot: on itself, or on one of its sources. */
export async function quarantineOf(
  ws: Workspace,
  row: SnapshotRow,
): Promise<{ id: string; kind: string; target: string; reason: string; placedBy: string } | null> {
  const own = await ws.meta.gov.listQuarantines({ kind: 'snapshot', target: row.id, active: true });
  const hit = own[0];
  if (hit)
    return {
      id: hit.id,
      kind: hit.kind,
      target: hit.target,
      reason: hit.reason,
      placedBy: hit.placed_by,
    };
  const sourceQuarantines = await ws.meta.gov.listQuarantines({ kind: 'source', active: true });
  const relevant = sourceQuarantines.filter((q) => q.dataset === null || q.dataset === row.dataset);
  if (relevant.length === 0) return null;
  const names = new Set((await snapshotSources(ws, row)).map((s) => s.name));
  const q = relevant.find((r) => names.has(r.target));
  return q
    ? { id: q.id, kind: q.kind, target: q.target, reason: q.reason, placedBy: q.placed_by }
    : null;
}
