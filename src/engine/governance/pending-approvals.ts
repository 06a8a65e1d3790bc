import type { ApprovalPredicate } from '../../core/approval.js';
import { parseApproval } from '../../core/approval.js';
import type { DsseEnvelope } from '../../core/dsse.js';
import type { GateCheck } from '../../core/gate/evaluate-gate.js';
import { parseGateVerdict } from '../../core/gate/verdict.js';
import { sha256Hex } from '../../core/hashing.js';
import { parseStatement } from '../../core/statement.js';
import type { GateRunRow } from '../../store/governance-store.js';
import type { SnapshotRow } from '../../store/metadata-store.js';
import type { Workspace } from '../workspace.js';
import { approvalStatus, type ApprovalStatus } from './approvals.js';
import { decide } from './authorize.js';
import { accountableHumans } from './facts.js';

/** The newest gate verdict of a snapshot, in brief. */
export interface GateSummary {
  run: string;
  passed: boolean;
  createdAt: string;
  actor: string;
  /** Ids of the checks that failed. */
  failed: string[];
}

export function gateSummary(run: GateRunRow | undefined): GateSummary | null {
  if (!run) return null;
  const checks = JSON.parse(run.checks) as GateCheck[];
  return {
    run: run.id,
    passed: run.passed === 1,
    createdAt: run.created_at,
    actor: run.actor,
    failed: checks.filter((c) => !c.passed).map((c) => c.id),
  };
}

export interface PendingApproval {
  snapshot: SnapshotRow;
  approvals: ApprovalStatus;
  gate: GateSummary | null;
}

/**
 * The snapshots the acting identity could approve now: scanned, on a dataset `visible` says it
 * may read, not something it is accountable for (its author, or the owner of the bot that wrote
 * it), not yet approved by it, and allowed by Cedar (`decide`, which logs nothing, so a steward's
 * inbox does not write a denial for every snapshot it leaves out). Newest state change first.
 */
export async function pendingApprovals(
  ws: Workspace,
  visible: (dataset: string) => Promise<boolean>,
): Promise<PendingApproval[]> {
  const me = ws.identity.name;
  const out: PendingApproval[] = [];
  for (const id of await ws.meta.gov.snapshotsInState('scanned')) {
    const row = await ws.meta.getSnapshot(id);
    if (!row || !(await visible(row.dataset))) continue;
    // Cheap refusals first: Cedar would say the same (no-self-approval), at a higher price.
    if ((await accountableHumans(ws, row.author)).includes(me)) continue;
    const approvals = await approvalStatus(ws, row);
    if (approvals.independent.includes(me)) continue;
    if (!(await decide(ws, 'approve', { type: 'ChangeRequest', snapshot: row })).allowed) continue;
    out.push({ snapshot: row, approvals, gate: gateSummary(await ws.meta.gov.latestGateRun(id)) });
  }
  return out;
}

/** One stored approval of a snapshot, as signed. */
export interface ApprovalRecord {
  id: string;
  approver: string;
  keyId: string;
  envelopeDigest: string;
  createdAt: string;
  submittedBy: string;
  comment: string | null;
  /** Whether it counts as an independent approval now (see approvalStatus). */
  counts: boolean;
}

/** Every stored approval of a snapshot, oldest first, with whether it counts. */
export async function approvalRecords(
  ws: Workspace,
  row: SnapshotRow,
  status?: ApprovalStatus,
): Promise<ApprovalRecord[]> {
  const independent = new Set((status ?? (await approvalStatus(ws, row))).independent);
  const out: ApprovalRecord[] = [];
  for (const a of await ws.meta.gov.listApprovals(row.id)) {
    let comment: string | null = null;
    try {
      const bytes = await ws.blobs.get(a.envelope_digest);
      const envelope = JSON.parse(bytes.toString('utf8')) as DsseEnvelope;
      const predicate: ApprovalPredicate = parseApproval(
        parseStatement(Buffer.from(envelope.payload, 'base64')),
      ).predicate;
      comment = predicate.comment;
    } catch {
      // Shown without its comment; approvalStatus says why it does not count.
    }
    out.push({
      id: a.id,
      approver: a.approver,
      keyId: a.approver_key_id,
      envelopeDigest: a.envelope_digest,
      createdAt: a.created_at,
      submittedBy: a.submitted_by,
      comment,
      counts: independent.has(a.approver),
    });
  }
  return out;
}

/** The policy a dataset was last gated with, when its text is stored (gates run since it is). */
export interface StoredGatePolicy {
  text: string;
  name: string;
  digest: string;
  run: string;
  snapshot: string;
  createdAt: string;
}

export async function latestGatePolicy(
  ws: Workspace,
  dataset: string,
): Promise<StoredGatePolicy | null> {
  const run = await ws.meta.gov.latestGateRunOfDataset(dataset);
  if (!run || !(await ws.blobs.has(run.policy_digest))) return null;
  const bytes = await ws.blobs.get(run.policy_digest);
  if (sha256Hex(bytes) !== run.policy_digest) return null;
  let name = 'gate.yaml';
  try {
    const envelope = JSON.parse(
      (await ws.blobs.get(run.envelope_digest)).toString('utf8'),
    ) as DsseEnvelope;
    name =
      parseGateVerdict(parseStatement(Buffer.from(envelope.payload, 'base64'))).policy?.uri ?? name;
  } catch {
    // The name is a label only; the default does.
  }
  return {
    text: bytes.toString('utf8'),
    name,
    digest: run.policy_digest,
    run: run.id,
    snapshot: run.snapshot_id,
    createdAt: run.created_at,
  };
}
