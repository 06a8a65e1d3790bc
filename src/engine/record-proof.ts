import { CordonError } from '../core/errors.js';
import { manifestTree } from '../core/manifest.js';
import { leafHash, verifyInclusion } from '../core/merkle.js';
import type { SnapshotRow } from '../store/metadata-store.js';
import { loadManifest, snapshotLabel } from './snapshots.js';
import type { Workspace } from './workspace.js';

export interface RecordProof {
  snapshot: string;
  root: string;
  treeSize: number;
  leafIndex: number;
  record: string;
  recordDigest: string;
  leafHash: string;
  proof: string[];
  verified: boolean;
}

/**
 * An RFC 9162 inclusion proof that record `id` is a leaf under the snapshot's signed root,
 * checked before it is returned (VERIFY_FAILED if the stored manifest no longer agrees).
 */
export async function recordProof(
  ws: Workspace,
  row: SnapshotRow,
  id: string,
): Promise<RecordProof> {
  const { entries } = await loadManifest(ws, row);
  const index = entries.findIndex((e) => e.id === id);
  if (index < 0)
    throw new CordonError('RECORD_NOT_FOUND', `${snapshotLabel(row)} has no record "${id}"`);
  const proof = manifestTree(entries).inclusionProof(index);
  const leaf = leafHash(Buffer.from(entries[index]!.digest, 'hex'));
  const verified = verifyInclusion(
    index,
    entries.length,
    leaf,
    proof,
    Buffer.from(row.root, 'hex'),
  );
  if (!verified)
    throw new CordonError(
      'VERIFY_FAILED',
      `inclusion proof for "${id}" does not verify against root ${row.root}`,
    );
  return {
    snapshot: row.id,
    root: row.root,
    treeSize: entries.length,
    leafIndex: index,
    record: id,
    recordDigest: entries[index]!.digest,
    leafHash: leaf.toString('hex'),
    proof: proof.map((p) => p.toString('hex')),
    verified,
  };
}
