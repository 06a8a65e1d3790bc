import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CordonRecord } from '../../src/core/record.js';
import { commitItems, type CommitOptions } from '../../src/engine/commit.js';
import type { IngestItem } from '../../src/engine/readers/reader.js';
import { initWorkspace, type Workspace } from '../../src/engine/workspace.js';
import type { SnapshotRow } from '../../src/store/metadata-store.js';

export function tempDir(prefix = 'cordon-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function tempWorkspace(
  identity = 'alice',
): Promise<{ ws: Workspace; dir: string; cleanup: () => Promise<void> }> {
  const t = tempDir();
  const ws = await initWorkspace(join(t.dir, '.cordon'), { identity });
  return {
    ws,
    dir: t.dir,
    cleanup: async () => {
      await ws.close();
      t.cleanup();
    },
  };
}

export function textRecords(
  n: number,
  opts: { offset?: number; label?: (i: number) => string; source?: string } = {},
): CordonRecord[] {
  const out: CordonRecord[] = [];
  for (let k = 0; k < n; k++) {
    const i = k + (opts.offset ?? 0);
    out.push({
      id: `row-${String(i).padStart(6, '0')}`,
      label: opts.label ? opts.label(i) : i % 3 === 0 ? 'spam' : 'ham',
      source: opts.source ?? (i % 2 === 0 ? 'feed-a' : 'feed-b'),
      text: `message number ${i} with some words ${i * 7919}`,
    });
  }
  return out;
}

export function* items(records: CordonRecord[]): Generator<IngestItem> {
  let line = 0;
  for (const record of records) yield { record, where: `test.jsonl:${++line}` };
}

/** Commits records as an ingest on top of the dataset's current head. */
export async function commit(
  ws: Workspace,
  dataset: string,
  records: CordonRecord[],
  extra: Partial<CommitOptions> = {},
): Promise<SnapshotRow> {
  const head = (await ws.meta.getDataset(dataset))?.head ?? null;
  return commitItems(ws, items(records), {
    dataset,
    stage: 'raw',
    message: 'test',
    parents: head ? [head] : [],
    expectedHead: head,
    run: {
      kind: 'ingest',
      inputs: [],
      command: null,
      codeDigest: null,
      params: {},
      source: 'test.jsonl',
      startedAt: new Date().toISOString(),
    },
    ...extra,
  });
}
