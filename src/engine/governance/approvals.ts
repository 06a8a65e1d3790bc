import { canonicalJson } from '../../core/canonical-json.js';
import { approvalStatement, parseApproval, type ApprovalPredicate } from '../../core/approval.js';
import {
  IN_TOTO_PAYLOAD_TYPE,
  signEnvelope,
  verifyEnvelope,
  type DsseEnvelope,
} from '../../core/dsse.js';
import { CordonError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hashing.js';
import { parsePublicKey } from '../../core/keys.js';
import { parseStatement, statementBytes } from '../../core/statement.js';
import type { SnapshotRow } from '../../store/metadata-store.js';
import type { Workspace } from '../workspace.js';
import { authorize, type DecisionRecord } from './authorize.js';
import {
  accountableHumans,
  datasetGovernance,
  lastQuarantinedAt,
  quarantineOf,
  snapshotState,
} from './facts.js';

/** Signs an approval of `row` (or of lifting `quarantine` on it) with the acting identity's key. */
export function signApproval(
  ws: Workspace,
  row: SnapshotRow,
  options: { comment?: string; purpose?: ApprovalPredicate['purpose']; quarantine?: string } = {},
): DsseEnvelope {
  const predicate: ApprovalPredicate = {
    result: 'pass',
    reviewer: { identity: ws.identity.name, keyId: ws.identity.keyId },
    snapshot: row.id,
    dataset: row.dataset,
    version: row.version,
    purpose: options.purpose ?? 'promote',
    ...(options.quarantine !== undefined ? { quarantine: options.quarantine } : {}),
    timestamp: new Date().toISOString(),
    comment: options.comment ?? '',
  };
  const payload = statementBytes(approvalStatement(row.root, predicate));
  return signEnvelope(IN_TOTO_PAYLOAD_TYPE, payload, [
    { keyId: ws.identity.keyId, key: ws.identity.privateKey },
  ]);
}

/**
 * Checks an approval envelope against a snapshot: the signature verifies with the registered key
 * of the reviewer it names, and its subject is this snapshot's id and exact root. Throws
 * APPROVAL_INVALID saying which of these fails.
 */
export async function checkApproval(
  ws: Workspace,
  envelope: DsseEnvelope,
  row: SnapshotRow,
  purpose: ApprovalPredicate['purpose'] = 'promote',
): Promise<ApprovalPredicate> {
  let statement;
  try {
    statement = parseStatement(Buffer.from(envelope.payload, 'base64'));
  } catch (cause) {
    throw new CordonError('APPROVAL_INVALID', 'the approval payload is not an in-toto statement', {
      cause,
    });
  }
  const { root, subjectName, predicate } = parseApproval(statement);
  const reviewer = await ws.meta.getIdentity(predicate.reviewer.identity);
  if (!reviewer)
    throw new CordonError(
      'APPROVAL_INVALID',
      `the approval names reviewer "${predicate.reviewer.identity}", who is not an identity here`,
    );
  const key = parsePublicKey(reviewer.public_key, `identity ${reviewer.name}`);
  try {
    verifyEnvelope(envelope, new Map([[reviewer.key_id, key]]));
  } catch (cause) {
    throw new CordonError(
      'APPROVAL_INVALID',
      `the approval's signature does not verify with ${reviewer.name}'s key ${reviewer.key_id}: it is forged or altered`,
      { cause },
    );
  }
  if (subjectName !== row.id || root !== row.root)
    throw new CordonError(
      'APPROVAL_INVALID',
      `the approval is for snapshot ${subjectName.slice(0, 12)} with root ${root.slice(0, 12)}, not ${row.dataset}@${row.version} (snapshot ${row.id.slice(0, 12)}, root ${row.root.slice(0, 12)}); a changed snapshot needs a new approval`,
    );
  if (predicate.purpose !== purpose)
    throw new CordonError(
      'APPROVAL_INVALID',
      `the approval is for "${predicate.purpose}", not "${purpose}"`,
    );
  if (predicate.result !== 'pass')
    throw new CordonError('APPROVAL_INVALID', 'the approval records a "fail" review');
  return predicate;
}

/** Records an approval attempt that failed, then rethrows it. */
async function rejected(ws: Workspace, row: SnapshotRow, e: unknown): Promise<never> {
  if (e instanceof CordonError && e.code === 'APPROVAL_INVALID') {
    await ws.meta.appendEvent({
      time: new Date().toISOString(),
      actor: ws.identity.name,
      kind: 'approval.rejected',
      dataset: row.dataset,
      snapshot_id: row.id,
      detail: JSON.stringify({ reason: e.message }),
    });
  }
  throw e;
}

export interface ApprovalStatus {
  /** Distinct humans with a verifying approval of this root who are not accountable for it. */
  independent: string[];
  required: number;
  /** Stored approvals that no longer hold, and why (a doctored row, a disabled approver…). */
  invalid: { approver: string; reason: string }[];
}

/** Re-verifies every stored approval of a snapshot and counts the independent ones. */
export async function approvalStatus(ws: Workspace, row: SnapshotRow): Promise<ApprovalStatus> {
  const accountable = new Set(await accountableHumans(ws, row.author));
  const quarantinedAt = await lastQuarantinedAt(ws, row);
  const independent = new Set<string>();
  const invalid: ApprovalStatus['invalid'] = [];
  for (const a of await ws.meta.gov.listApprovals(row.id)) {
    try {
      const bytes = await ws.blobs.get(a.envelope_digest);
      if (sha256Hex(bytes) !== a.envelope_digest)
        throw new CordonError('APPROVAL_INVALID', 'stored envelope does not match its digest');
      const predicate = await checkApproval(
        ws,
        JSON.parse(bytes.toString('utf8')) as DsseEnvelope,
        row,
      );
      if (predicate.reviewer.identity !== a.approver)
        throw new CordonError(
          'APPROVAL_INVALID',
          'the row names a different approver than the signature',
        );
      // The signed timestamp, not the row's, decides whether the approval predates a quarantine.
      // An unreadable timestamp counts as too old (fail closed).
      if (quarantinedAt !== null && !(Date.parse(predicate.timestamp) > Date.parse(quarantinedAt)))
        throw new CordonError(
          'APPROVAL_INVALID',
          `given before the snapshot was quarantined on ${quarantinedAt}; approve it again`,
        );
      const who = await ws.meta.getIdentity(a.approver);
      if (!who || who.kind !== 'human')
        throw new CordonError('APPROVAL_INVALID', 'approver is not a human');
      if (who.disabled_at !== null)
        throw new CordonError('APPROVAL_INVALID', 'approver was disabled');
      if (accountable.has(a.approver))
        throw new CordonError('APPROVAL_INVALID', 'approver is accountable for the snapshot');
      independent.add(a.approver);
    } catch (e) {
      invalid.push({ approver: a.approver, reason: e instanceof Error ? e.message : String(e) });
    }
  }
  const required = (await datasetGovernance(ws, row.dataset)).requiredApprovals;
  return { independent: [...independent].sort(), required, invalid };
}

export interface ApproveResult {
  approval: string;
  status: ApprovalStatus;
  state: string;
  promoted: boolean;
}

/**
 * Approves a snapshot as the acting identity: signs a new approval, or submits one signed
 * elsewhere (`envelope`), which must be the acting identity's own. Cedar decides whether this
 * human may approve (stewards only, never the author or the bot's owner); the approval is bound
 * to the snapshot's root. When enough independent approvals exist, the snapshot is promoted.
 */
export async function approveSnapshot(
  ws: Workspace,
  row: SnapshotRow,
  options: { comment?: string; envelope?: DsseEnvelope } = {},
): Promise<ApproveResult> {
  const envelope = options.envelope ?? signApproval(ws, row, options);
  let predicate: ApprovalPredicate;
  try {
    predicate = await checkApproval(ws, envelope, row);
    if (predicate.reviewer.identity !== ws.identity.name)
      throw new CordonError(
        'APPROVAL_INVALID',
        `the approval is signed by ${predicate.reviewer.identity}; submit your own approval (acting as ${ws.identity.name})`,
      );
  } catch (e) {
    return rejected(ws, row, e);
  }
  const authz = await authorize(ws, 'approve', { type: 'ChangeRequest', snapshot: row });
  const q = await quarantineOf(ws, row);
  if (q)
    throw new CordonError(
      'QUARANTINED',
      `${row.dataset}@${row.version} is quarantined (${q.reason})`,
    );
  const state = await snapshotState(ws, row.id);
  if (state === 'draft')
    throw new CordonError(
      'STATE_INVALID',
      `${row.dataset}@${row.version} has not been scanned; run "cordon scan ${row.dataset}@${row.version}" before approving`,
    );
  const bytes = Buffer.from(canonicalJson(envelope));
  const id = sha256Hex(bytes);
  const quarantinedAt = await lastQuarantinedAt(ws, row);
  const existing = (await ws.meta.gov.listApprovals(row.id)).find(
    (a) =>
      a.approver === ws.identity.name && (quarantinedAt === null || a.created_at > quarantinedAt),
  );
  if (!existing) {
    const staging = await ws.blobs.stage();
    try {
      const digest = await staging.put(bytes);
      await staging.publish();
      const time = new Date().toISOString();
      await ws.meta.gov.addApproval(
        {
          id,
          snapshot_id: row.id,
          root: row.root,
          approver: ws.identity.name,
          approver_key_id: ws.identity.keyId,
          envelope_digest: digest,
          submitted_by: ws.identity.name,
          created_at: time,
        },
        {
          time,
          actor: ws.identity.name,
          kind: 'snapshot.approve',
          dataset: row.dataset,
          snapshot_id: row.id,
          detail: JSON.stringify({
            approval: id,
            root: row.root,
            comment: predicate.comment,
            authz,
          }),
        },
      );
    } catch (e) {
      await staging.abort();
      throw e;
    }
  }
  const status = await approvalStatus(ws, row);
  let promoted = false;
  if (state === 'scanned' && status.independent.length >= status.required) {
    await promoteSnapshot(ws, row, status);
    promoted = true;
  }
  return { approval: existing?.id ?? id, status, state: promoted ? 'approved' : state, promoted };
}

/**
 * Moves a scanned snapshot to "approved". Cedar's two-person rule decides, given the number of
 * independent, verifying approvals of this exact root.
 */
export async function promoteSnapshot(
  ws: Workspace,
  row: SnapshotRow,
  known?: ApprovalStatus,
): Promise<ApprovalStatus> {
  const status = known ?? (await approvalStatus(ws, row));
  const state = await snapshotState(ws, row.id);
  const authz: DecisionRecord = await authorize(
    ws,
    'promote',
    { type: 'ChangeRequest', snapshot: row },
    { independentApprovals: status.independent.length, requiredApprovals: status.required },
  );
  if (state !== 'scanned')
    throw new CordonError(
      'STATE_INVALID',
      `${row.dataset}@${row.version} is ${state}; only a scanned snapshot can be approved`,
    );
  const time = new Date().toISOString();
  await ws.meta.gov.setState(row.id, 'approved', ws.identity.name, time, {
    time,
    actor: ws.identity.name,
    kind: 'snapshot.promote',
    dataset: row.dataset,
    snapshot_id: row.id,
    detail: JSON.stringify({
      state: 'approved',
      approvers: status.independent,
      required: status.required,
      authz,
    }),
  });
  return status;
}
