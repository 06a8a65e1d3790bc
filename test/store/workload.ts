import type { MetadataStore } from '../../src/store/metadata-store.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { at, commitWithRetry, eventRow, type CommitOutcome } from './fixtures.js';

// Shared by the concurrency tests and the child processes they start (store-worker.ts), so this
// module must not import vitest.

/** Where a store lives, in a form a child process can be given (as JSON) to open it too. */
export type StoreTarget =
  { engine: 'sqlite'; path: string } | { engine: 'postgres'; url: string; schema: string };

export function openTarget(target: StoreTarget): Promise<MetadataStore> {
  return target.engine === 'sqlite'
    ? openSqliteStore(target.path)
    : openPostgresStore(target.url, { schema: target.schema });
}

/** The dataset every writer commits to. */
export const SHARED = 'shared';

/** The identity that exists before a workload starts (group members must name one). */
export const MEMBER = 'alice';

export type WorkloadMode = 'mixed' | 'commit';

export interface WorkloadResult {
  writer: string;
  /** Audit events this writer appended. */
  events: number;
  /** Snapshots it committed to SHARED. */
  commits: string[];
  /** Snapshot ids of attempts that got HEAD_CONFLICT. */
  lost: string[];
}

/**
 * Runs `n` operations as `writer`, each appending exactly one audit event. "commit" commits to
 * SHARED (retrying on HEAD_CONFLICT); "mixed" cycles through a plain event, a grant, a source, a
 * commit, a tag and a group membership, every one with the event the governance replay expects,
 * so the log must verify (Merkle tree and replayed state) afterwards.
 */
export async function runWorkload(
  store: MetadataStore,
  writer: string,
  n: number,
  mode: WorkloadMode,
): Promise<WorkloadResult> {
  const result: WorkloadResult = { writer, events: 0, commits: [], lost: [] };
  const commit = async (): Promise<CommitOutcome> => {
    const out = await commitWithRetry(store, SHARED, writer);
    result.commits.push(out.snapshot.id);
    result.lost.push(...out.lost);
    return out;
  };
  for (let i = 0; i < n; i++) {
    const name = `${writer}-${i}`;
    const time = at(i);
    const op = mode === 'commit' ? 3 : i % 6;
    switch (op) {
      case 0:
        await store.appendEvent(
          eventRow('test.append', { time, actor: writer, detail: JSON.stringify({ i }) }),
        );
        break;
      case 1: {
        const grant = { subject_type: 'Human', subject: name, role: 'viewer', dataset: '*' };
        await store.gov.addGrant(
          { ...grant, created_at: time, created_by: writer },
          eventRow('grant.add', { time, actor: writer, detail: JSON.stringify(grant) }),
        );
        break;
      }
      case 2:
        await store.gov.putSource(
          {
            dataset: SHARED,
            name,
            trusted: i % 2,
            external: 1,
            created_at: time,
            created_by: writer,
          },
          eventRow('source.set', {
            time,
            actor: writer,
            dataset: SHARED,
            detail: JSON.stringify({ source: name, trusted: i % 2 === 1, external: true }),
          }),
        );
        break;
      case 3:
        await commit();
        break;
      case 4: {
        const snapshot = result.commits.at(-1);
        if (snapshot === undefined) throw new Error('tag before any commit');
        await store.addTag(
          snapshot,
          name,
          writer,
          eventRow('snapshot.tag', {
            time,
            actor: writer,
            dataset: SHARED,
            snapshot_id: snapshot,
            detail: JSON.stringify({ tag: name }),
          }),
        );
        break;
      }
      default:
        await store.gov.addGroupMember(
          name,
          MEMBER,
          time,
          eventRow('group.join', {
            time,
            actor: writer,
            detail: JSON.stringify({ group: name, member: MEMBER }),
          }),
        );
    }
    result.events++;
  }
  return result;
}
