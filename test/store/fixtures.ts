import { createHash } from 'node:crypto';
import { CordonError } from '../../src/core/errors.js';
import type { MetadataStore, NewEvent, SnapshotRow } from '../../src/store/metadata-store.js';

export const hex = (s: string): string => createHash('sha256').update(s).digest('hex');

/** A time `i` seconds after a fixed instant, as the store keeps times (RFC 3339, UTC). */
export const at = (i: number): string => new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString();

export function snapshotRow(
  dataset: string,
  version: number,
  parents: string[],
  overrides: Partial<SnapshotRow> = {},
): SnapshotRow {
  const id = overrides.id ?? hex(`${dataset}/${version}/${parents.join(',')}`);
  return {
    id,
    dataset,
    version,
    stage: 'raw',
    root: hex(`root ${id}`),
    record_count: 1000 + version,
    manifest_digest: hex(`manifest ${id}`),
    envelope_digest: hex(`envelope ${id}`),
    parents: JSON.stringify(parents),
    author: 'alice',
    author_key_id: 'key-alice',
    created_at: at(version),
    message: `version ${version}`,
    ...overrides,
  };
}

export function eventRow(kind: string, overrides: Partial<NewEvent> = {}): NewEvent {
  return {
    time: at(0),
    actor: 'alice',
    kind,
    dataset: null,
    snapshot_id: null,
    detail: '{}',
    ...overrides,
  };
}

export interface CommitOutcome {
  snapshot: SnapshotRow;
  /** Snapshot ids of the attempts that lost the race (each got HEAD_CONFLICT). */
  lost: string[];
}

/**
 * Commits one snapshot on top of whatever the head of `dataset` is, retrying as HEAD_CONFLICT
 * asks, and checks that every refusal is a HEAD_CONFLICT that says to re-run. Every attempt has
 * its own snapshot id, so a test can check that no losing attempt left anything behind.
 */
export async function commitWithRetry(
  store: MetadataStore,
  dataset: string,
  writer: string,
  maxAttempts = 1000,
): Promise<CommitOutcome> {
  const lost: string[] = [];
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const head = (await store.getDataset(dataset))?.head ?? null;
    const parent = head === null ? undefined : await store.getSnapshot(head);
    const version = (parent?.version ?? 0) + 1;
    const snapshot = snapshotRow(dataset, version, head === null ? [] : [head], {
      id: hex(`${dataset} ${writer} ${version} ${attempt} ${lost.length}`),
      author: writer,
    });
    try {
      await store.commitSnapshot({
        snapshot,
        expectedHead: head,
        event: eventRow('snapshot.ingest', {
          actor: writer,
          dataset,
          snapshot_id: snapshot.id,
          detail: JSON.stringify({ writer, version }),
        }),
      });
      return { snapshot, lost };
    } catch (e) {
      if (!(e instanceof CordonError) || e.code !== 'HEAD_CONFLICT' || !/Re-run/.test(e.message))
        throw e;
      lost.push(snapshot.id);
    }
  }
  throw new Error(`${writer}: no commit to ${dataset} after ${maxAttempts} attempts`);
}

/**
 * Walks `dataset` from its head through first parents and checks the chain has no gaps: versions
 * n, n-1, ..., 1, each snapshot's parent the one before it, and no snapshot off the chain.
 * Returns n.
 */
export async function checkChain(store: MetadataStore, dataset: string): Promise<number> {
  const all = await store.listSnapshots(dataset);
  let id = (await store.getDataset(dataset))?.head ?? null;
  let expected = all.length;
  while (id !== null) {
    const s = await store.getSnapshot(id);
    if (!s) throw new Error(`head chain of ${dataset}: ${id} is missing`);
    if (s.version !== expected)
      throw new Error(`head chain of ${dataset}: version ${s.version} where ${expected} belongs`);
    const parents = JSON.parse(s.parents) as string[];
    id = parents[0] ?? null;
    expected--;
  }
  if (expected !== 0)
    throw new Error(`head chain of ${dataset}: ${expected} snapshot(s) are not on the chain`);
  return all.length;
}
