import { type KeyObject } from 'node:crypto';
import { eventLeaf, openCheckpoint, signCheckpoint } from '../core/audit-log.js';
import { VerifyError } from '../core/errors.js';
import { parsePublicKey } from '../core/keys.js';
import { MerkleTree, verifyConsistency, verifyInclusion } from '../core/merkle.js';
import type { EventRow, MetadataStore } from '../store/metadata-store.js';
import { checkGovernanceState } from './governance/state-audit.js';
import type { Identity } from './workspace.js';

export const AUDIT_ORIGIN = 'cordon.audit/v1';

function tree(events: readonly EventRow[]): MerkleTree {
  return MerkleTree.fromLeaves(events.map(eventLeaf));
}

/**
 * Signs a checkpoint over every event recorded so far, if any event came after the last one.
 * Runs when a workspace is closed, so every command that recorded an event leaves it covered.
 */
export async function checkpointAudit(
  meta: MetadataStore,
  identity: Identity,
): Promise<number | null> {
  const last = (await meta.listCheckpoints()).at(-1);
  const count = await meta.countEvents();
  if (count === 0 || (last && last.size >= count)) return null;
  const events = await meta.listEventsFrom(0);
  const root = tree(events).root();
  const note = signCheckpoint(
    { origin: AUDIT_ORIGIN, size: events.length, root },
    identity.name,
    identity.privateKey,
    identity.publicKey,
  );
  await meta.addCheckpoint({
    size: events.length,
    root: root.toString('hex'),
    note,
    created_at: new Date().toISOString(),
  });
  return events.length;
}

async function trustedByName(meta: MetadataStore): Promise<Map<string, KeyObject>> {
  const keys = new Map<string, KeyObject>();
  for (const id of await meta.listIdentities())
    keys.set(id.name, parsePublicKey(id.public_key, `identity ${id.name}`));
  return keys;
}

export interface AuditVerification {
  events: number;
  checkpoints: number;
  /** Events recorded after the newest checkpoint (not yet signed). */
  unsigned: number;
  root: string;
}

/**
 * Recomputes the Merkle tree of the stored events and checks every signed checkpoint against it:
 * the newest by its root, each older one by a consistency proof to the newest. Any edited,
 * deleted, inserted or reordered event that a checkpoint covers fails, naming the checkpoint.
 */
export async function verifyAudit(meta: MetadataStore): Promise<AuditVerification> {
  const events = await meta.listEventsFrom(0);
  const rows = await meta.listCheckpoints();
  const trusted = await trustedByName(meta);
  if (rows.length === 0)
    return { events: events.length, checkpoints: 0, unsigned: events.length, root: '' };
  const checkpoints = rows.map((r) => {
    const c = openCheckpoint(r.note, trusted);
    if (c.size !== r.size || c.root.toString('hex') !== r.root) {
      throw new VerifyError(
        `audit checkpoint ${r.size}`,
        'the stored size or root differs from the signed note',
      );
    }
    return c;
  });
  const newest = checkpoints.at(-1)!;
  if (events.length < newest.size) {
    throw new VerifyError(
      'audit log',
      `holds ${events.length} events but checkpoint ${newest.size} signed ${newest.size}: events were deleted`,
    );
  }
  const t = tree(events.slice(0, newest.size));
  if (!t.root().equals(newest.root)) {
    throw new VerifyError(
      'audit log',
      `the first ${newest.size} events no longer hash to the signed checkpoint root: an event was edited, removed or reordered`,
    );
  }
  for (const c of checkpoints.slice(0, -1)) {
    if (!verifyConsistency(c.size, newest.size, c.root, newest.root, t.consistencyProof(c.size))) {
      throw new VerifyError(
        `audit checkpoint ${c.size}`,
        `is not a prefix of checkpoint ${newest.size}: the log was rewritten`,
      );
    }
  }
  // The Merkle checks prove the events untouched; now prove the tables agree with them.
  const problems = await checkGovernanceState(meta);
  if (problems.length > 0) {
    throw new VerifyError(
      'governance state',
      `the database differs from what the audit log records (${problems.length === 20 ? 'first 20 differences' : problems.length + ' difference(s)'}): ${problems.join('; ')}`,
    );
  }
  return {
    events: events.length,
    checkpoints: checkpoints.length,
    unsigned: events.length - newest.size,
    root: newest.root.toString('hex'),
  };
}

/** RFC 9162 inclusion proof of one event against the newest checkpoint. */
export async function auditProof(
  meta: MetadataStore,
  seq: number,
): Promise<{
  seq: number;
  index: number;
  size: number;
  root: string;
  leaf: string;
  proof: string[];
  verified: boolean;
}> {
  const events = await meta.listEventsFrom(0);
  const newest = (await meta.listCheckpoints()).at(-1);
  const index = events.findIndex((e) => e.seq === seq);
  if (index < 0) throw new VerifyError(`event ${seq}`, 'no such event');
  if (!newest || index >= newest.size)
    throw new VerifyError(`event ${seq}`, 'not covered by a signed checkpoint yet');
  const t = tree(events.slice(0, newest.size));
  const proof = t.inclusionProof(index);
  const leaf = t.leafHash(index);
  const verified = verifyInclusion(
    index,
    newest.size,
    leaf,
    proof,
    Buffer.from(newest.root, 'hex'),
  );
  return {
    seq,
    index,
    size: newest.size,
    root: newest.root,
    leaf: leaf.toString('hex'),
    proof: proof.map((p) => p.toString('hex')),
    verified,
  };
}
