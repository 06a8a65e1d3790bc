import { randomUUID } from 'node:crypto';
import { canonicalJson } from '../../core/canonical-json.js';
import { CordonError } from '../../core/errors.js';
import type { QuarantineRow } from '../../store/governance-store.js';
import type { SnapshotRow } from '../../store/metadata-store.js';
import { resolveSnapshot } from '../snapshots.js';
import type { Workspace } from '../workspace.js';
import { signApproval } from './approvals.js';
import { authorize, type DecisionRecord } from './authorize.js';

export type QuarantineKind = 'snapshot' | 'source' | 'token';

async function authorizeFor(
  ws: Workspace,
  kind: QuarantineKind,
  target: { snapshot?: SnapshotRow; source?: string; dataset?: string; tokenOwner?: string },
  lifting: boolean,
  placedBy?: string,
): Promise<DecisionRecord> {
  const extras = placedBy !== undefined ? { placedBy } : {};
  if (kind === 'snapshot')
    return authorize(
      ws,
      lifting ? 'liftQuarantine' : 'quarantine',
      { type: 'Snapshot', snapshot: target.snapshot! },
      extras,
    );
  if (kind === 'source')
    return authorize(
      ws,
      lifting ? 'liftSourceQuarantine' : 'quarantineSource',
      { type: 'Source', dataset: target.dataset!, source: target.source! },
      extras,
    );
  return authorize(ws, 'manageTokens', { type: 'Identity', name: target.tokenOwner! });
}

/**
 * Quarantines a snapshot, a source (of one dataset) or a token. Quarantined snapshots and
 * snapshots holding a quarantined source cannot be exported, merged, transformed or approved; a
 * quarantined token cannot sign in.
 */
export async function placeQuarantine(
  ws: Workspace,
  kind: QuarantineKind,
  target: string,
  options: { reason: string; dataset?: string },
): Promise<QuarantineRow> {
  const reason = options.reason.trim();
  if (!reason) throw new CordonError('USAGE', 'a quarantine needs a --reason');
  let snapshot: SnapshotRow | undefined;
  let dataset: string | null = null;
  let resolved = target;
  let authz: DecisionRecord;
  if (kind === 'snapshot') {
    snapshot = await resolveSnapshot(ws, target);
    resolved = snapshot.id;
    dataset = snapshot.dataset;
    authz = await authorizeFor(ws, kind, { snapshot }, false);
  } else if (kind === 'source') {
    if (!options.dataset) throw new CordonError('USAGE', 'quarantining a source needs --dataset');
    dataset = options.dataset;
    authz = await authorizeFor(ws, kind, { source: target, dataset }, false);
  } else {
    const token = await ws.meta.gov.getToken(target);
    if (!token) throw new CordonError('USAGE', `no token with key id ${target}`);
    authz = await authorizeFor(ws, kind, { tokenOwner: token.identity }, false);
  }
  const active = await ws.meta.gov.listQuarantines({ kind, target: resolved, active: true });
  const already = active.find((q) => q.dataset === dataset);
  if (already) return already;
  const row: QuarantineRow = {
    id: randomUUID(),
    kind,
    target: resolved,
    dataset,
    reason,
    placed_by: ws.identity.name,
    placed_at: new Date().toISOString(),
    lifted_at: null,
    lifted_by: null,
    lift_reason: null,
    lift_envelope_digest: null,
  };
  await ws.meta.gov.addQuarantine(
    row,
    {
      time: row.placed_at,
      actor: ws.identity.name,
      kind: 'quarantine.place',
      dataset,
      snapshot_id: snapshot?.id ?? null,
      detail: JSON.stringify({ quarantine: row.id, kind, target: resolved, reason, authz }),
    },
    snapshot ? { snapshotId: snapshot.id, state: 'quarantined' } : undefined,
  );
  return row;
}

/**
 * Lifts a quarantine. It needs an approval: someone other than whoever placed it, allowed by
 * policy to lift it, signs the lift (for a snapshot, over its root), and the signed approval is
 * kept with the record. A lifted snapshot goes back to "scanned" (or "draft" if never scanned)
 * and must be approved again before it moves on.
 */
export async function liftQuarantine(
  ws: Workspace,
  id: string,
  reasonText: string,
): Promise<QuarantineRow> {
  const reason = reasonText.trim();
  if (!reason) throw new CordonError('USAGE', 'lifting a quarantine needs a --reason');
  const q = await ws.meta.gov.getQuarantine(id);
  if (!q) throw new CordonError('USAGE', `no quarantine ${id}`);
  if (q.lifted_at !== null)
    throw new CordonError('USAGE', `quarantine ${id} was already lifted on ${q.lifted_at}`);
  const kind = q.kind as QuarantineKind;
  let snapshot: SnapshotRow | undefined;
  let authz: DecisionRecord;
  if (kind === 'snapshot') {
    snapshot = await ws.meta.getSnapshot(q.target);
    if (!snapshot)
      throw new CordonError('SNAPSHOT_NOT_FOUND', `quarantined snapshot ${q.target} is gone`);
    authz = await authorizeFor(ws, kind, { snapshot }, true, q.placed_by);
  } else if (kind === 'source') {
    authz = await authorizeFor(
      ws,
      kind,
      { source: q.target, dataset: q.dataset ?? '*' },
      true,
      q.placed_by,
    );
  } else {
    const token = await ws.meta.gov.getToken(q.target);
    authz = await authorizeFor(ws, kind, { tokenOwner: token?.identity ?? '' }, true, q.placed_by);
  }
  if (q.placed_by === ws.identity.name) {
    // Cedar forbids this for snapshots and sources; tokens get the same four-eyes rule here, and
    // the refusal is logged like any other denial.
    const reason = `${ws.identity.name} placed quarantine ${id}; someone else must approve lifting it`;
    await ws.meta.appendEvent({
      time: new Date().toISOString(),
      actor: ws.identity.name,
      kind: 'authz.deny',
      dataset: q.dataset,
      snapshot_id: snapshot?.id ?? null,
      detail: JSON.stringify({
        action: authz.action,
        policies: [],
        credential: authz.credential,
        quarantine: q.id,
        resource: `${kind} ${q.target}`,
        reason,
      }),
    });
    throw new CordonError('FORBIDDEN', reason);
  }
  const staging = await ws.blobs.stage();
  try {
    const approval = snapshot
      ? signApproval(ws, snapshot, {
          purpose: 'lift-quarantine',
          quarantine: q.id,
          comment: reason,
        })
      : null;
    const digest = await staging.put(
      canonicalJson(approval ?? { quarantine: q.id, liftedBy: ws.identity.name, reason }),
    );
    await staging.publish();
    const time = new Date().toISOString();
    const back = snapshot
      ? (await ws.meta.listScans(snapshot.id)).length > 0
        ? 'scanned'
        : 'draft'
      : undefined;
    await ws.meta.gov.liftQuarantine(
      q.id,
      {
        lifted_at: time,
        lifted_by: ws.identity.name,
        lift_reason: reason,
        lift_envelope_digest: digest,
      },
      {
        time,
        actor: ws.identity.name,
        kind: 'quarantine.lift',
        dataset: q.dataset,
        snapshot_id: snapshot?.id ?? null,
        detail: JSON.stringify({
          quarantine: q.id,
          kind,
          target: q.target,
          reason,
          approval: digest,
          ...(back ? { state: back } : {}),
          authz,
        }),
      },
      snapshot && back ? { snapshotId: snapshot.id, state: back } : undefined,
    );
    return {
      ...q,
      lifted_at: time,
      lifted_by: ws.identity.name,
      lift_reason: reason,
      lift_envelope_digest: digest,
    };
  } catch (e) {
    await staging.abort();
    throw e;
  }
}
