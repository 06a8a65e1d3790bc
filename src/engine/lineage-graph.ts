import type { LineageGraph, LineageRun } from '../core/lineage.js';
import type { LineageRunRow, SnapshotRow } from '../store/metadata-store.js';
import { toRef } from './commit.js';
import type { Workspace } from './workspace.js';

export interface LoadedRun {
  run: LineageRun;
  row: LineageRunRow;
}

/** Walks from a snapshot back through the runs that produced it to the raw ingests. */
export async function loadLineage(
  ws: Workspace,
  from: SnapshotRow,
): Promise<{ graph: LineageGraph; runs: LoadedRun[] }> {
  const nodes = new Map<string, SnapshotRow>();
  const runs: LoadedRun[] = [];
  const todo = [from];
  while (todo.length > 0) {
    const snap = todo.pop()!;
    if (nodes.has(snap.id)) continue;
    nodes.set(snap.id, snap);
    const row = await ws.meta.getRunByOutput(snap.id);
    if (!row) continue;
    const inputs: SnapshotRow[] = [];
    for (const id of JSON.parse(row.inputs) as string[]) {
      const input = await ws.meta.getSnapshot(id);
      if (input) {
        inputs.push(input);
        todo.push(input);
      }
    }
    const params = JSON.parse(row.params) as Record<string, string>;
    const { source, ...rest } = params;
    runs.push({
      row,
      run: {
        id: row.id,
        kind: row.kind as LineageRun['kind'],
        inputs: inputs.map(toRef),
        output: toRef(snap),
        command: row.command,
        codeDigest: row.code_digest,
        params: rest,
        actor: row.actor,
        startedAt: row.started_at,
        finishedAt: row.finished_at,
        ...(source !== undefined ? { source } : {}),
      },
    });
  }
  return { graph: { nodes: [...nodes.values()].map(toRef), runs: runs.map((r) => r.run) }, runs };
}
