import type { z } from 'zod';
import { snapshotSources, snapshotState } from '../engine/governance/facts.js';
import { loadLineage } from '../engine/lineage-graph.js';
import { snapshotLabel } from '../engine/snapshots.js';
import type { Workspace } from '../engine/workspace.js';
import type { LineageRunRow, SnapshotRow } from '../store/metadata-store.js';
import type { LineageGraphView } from './routes/datasets-schemas.js';
import { Visibility } from './visibility.js';

type View = z.input<typeof LineageGraphView>;
type Node = View['nodes'][number];
type Edge = View['edges'][number];
type Counts = { name: string | null; records: number }[];

/** How many snapshots a graph may hold before the walk downstream stops (marked truncated). */
export const LINEAGE_MAX_SNAPSHOTS = 300;

const snapshotKey = (id: string) => `snapshot:${id}`;
const runKey = (id: string) => `run:${id}`;

/**
 * The lineage of one snapshot as a graph for people to look at: raw sources feeding ingest runs,
 * snapshots and the runs between them (upstream to the raw ingests, downstream to what was
 * derived from it), each snapshot's state, and the releases made from them (with the model named
 * at release, when one was).
 *
 * Upstream follows `loadLineage` (the same walk as the exports). Downstream looks for runs that
 * read a snapshot already in the graph, breadth first, skipping datasets the caller may not read
 * and stopping at LINEAGE_MAX_SNAPSHOTS.
 */
export async function lineageGraphView(ws: Workspace, focus: SnapshotRow): Promise<View> {
  const visible = await Visibility.of(ws);
  const snapshots = new Map<string, SnapshotRow>();
  const runs = new Map<string, LineageRunRow>();
  let truncated = false;

  const { runs: upstream } = await loadLineage(ws, focus);
  snapshots.set(focus.id, focus);
  for (const { row } of upstream) runs.set(row.id, row);
  for (const run of runs.values()) {
    for (const id of [run.output_snapshot, ...inputsOf(run)]) {
      if (snapshots.has(id)) continue;
      const s = await ws.meta.getSnapshot(id);
      if (s) snapshots.set(id, s);
    }
  }

  // Downstream, breadth first from the focus.
  const queue = [focus.id];
  const walked = new Set<string>();
  while (queue.length > 0) {
    const id = queue.shift()!;
    if (walked.has(id)) continue;
    walked.add(id);
    for (const run of await ws.meta.listRunsReading(id)) {
      if (runs.has(run.id)) continue;
      const out = await ws.meta.getSnapshot(run.output_snapshot);
      if (!out || !(await visible.dataset(out.dataset))) continue;
      if (snapshots.size >= LINEAGE_MAX_SNAPSHOTS) {
        truncated = true;
        break;
      }
      runs.set(run.id, run);
      snapshots.set(out.id, out);
      // A merge downstream also read other snapshots: show them, without walking their history.
      for (const other of inputsOf(run))
        if (!snapshots.has(other)) {
          const s = await ws.meta.getSnapshot(other);
          if (s) snapshots.set(other, s);
        }
      queue.push(out.id);
    }
  }

  const nodes: Node[] = [];
  const edges: Edge[] = [];
  const producedBy = new Map<string, LineageRunRow>();
  for (const run of runs.values()) producedBy.set(run.output_snapshot, run);

  // A parent that is not an input of the run (a fresh ingest replacing the head) is an earlier
  // version: shown, linked as such, but its own history is not walked.
  for (const s of [...snapshots.values()]) {
    const run = producedBy.get(s.id);
    // A snapshot shown only as another run's input (its own run not walked) is a boundary.
    if (!run && s.id !== focus.id) continue;
    const inputs = new Set(run ? inputsOf(run) : []);
    for (const parent of JSON.parse(s.parents) as string[]) {
      if (inputs.has(parent)) continue;
      let p = snapshots.get(parent);
      if (!p) {
        p = await ws.meta.getSnapshot(parent);
        if (!p || !(await visible.dataset(p.dataset))) continue;
        snapshots.set(p.id, p);
      }
      edges.push({
        from: snapshotKey(p.id),
        to: run ? runKey(run.id) : snapshotKey(s.id),
        relation: 'parent',
      });
    }
  }

  const readable = async (dataset: string) => visible.dataset(dataset);
  for (const s of snapshots.values()) {
    const canRead = await readable(s.dataset);
    nodes.push({
      kind: 'snapshot',
      id: snapshotKey(s.id),
      label: snapshotLabel(s),
      focus: s.id === focus.id,
      snapshot: {
        id: s.id,
        ref: snapshotLabel(s),
        dataset: s.dataset,
        version: s.version,
        stage: s.stage,
        state: canRead ? await snapshotState(ws, s.id) : null,
        records: Number(s.record_count),
        createdAt: s.created_at,
        author: s.author,
      },
    });
  }

  const counts = new Map<string, Counts>();
  const countsOf = async (s: SnapshotRow): Promise<Counts> => {
    let c = counts.get(s.id);
    if (!c) counts.set(s.id, (c = await snapshotSources(ws, s)));
    return c;
  };
  const registered = new Map<string, Map<string, { trusted: boolean; external: boolean }>>();
  const registry = async (dataset: string) => {
    let r = registered.get(dataset);
    if (!r) {
      r = new Map();
      for (const src of await ws.meta.gov.listSources(dataset))
        r.set(src.name, { trusted: src.trusted === 1, external: src.external === 1 });
      registered.set(dataset, r);
    }
    return r;
  };
  const sourceNodes = new Map<string, Node>();

  for (const run of runs.values()) {
    const params = JSON.parse(run.params) as Record<string, string>;
    const { source, ...rest } = params;
    const out = snapshots.get(run.output_snapshot);
    nodes.push({
      kind: 'run',
      id: runKey(run.id),
      label: runLabel(run.kind, source),
      run: {
        id: run.id,
        kind: run.kind as 'ingest' | 'transform' | 'merge',
        command: run.command,
        codeDigest: run.code_digest,
        params: rest,
        actor: run.actor,
        startedAt: run.started_at,
        finishedAt: run.finished_at,
        ...(source !== undefined ? { file: source } : {}),
      },
    });
    for (const input of inputsOf(run))
      if (snapshots.has(input))
        edges.push({ from: snapshotKey(input), to: runKey(run.id), relation: 'input' });
    edges.push({ from: runKey(run.id), to: snapshotKey(run.output_snapshot), relation: 'output' });

    // Raw sources: what an ingest brought in, by record source (its counts in the signed
    // statement, less what the appended-to snapshot already held).
    if (run.kind !== 'ingest' || !out || !(await readable(out.dataset))) continue;
    const brought = new Map<string | null, number>();
    for (const c of await countsOf(out)) brought.set(c.name, c.records);
    for (const input of inputsOf(run)) {
      const base = snapshots.get(input);
      if (!base) continue;
      for (const c of await countsOf(base))
        brought.set(c.name, (brought.get(c.name) ?? 0) - c.records);
    }
    const known = await registry(out.dataset);
    for (const [name, records] of brought) {
      if (records <= 0) continue;
      const key = `source:${out.dataset}\0${name ?? ''}`;
      if (!sourceNodes.has(key)) {
        const reg = name === null ? undefined : known.get(name);
        sourceNodes.set(key, {
          kind: 'source',
          id: key,
          label: name ?? '(no source)',
          source: {
            name,
            dataset: out.dataset,
            registered: reg !== undefined,
            trusted: reg?.trusted ?? false,
            external: reg?.external ?? false,
          },
        });
      }
      edges.push({ from: key, to: runKey(run.id), relation: 'records', records });
    }
  }
  nodes.push(...sourceNodes.values());

  // Releases: one node per release event of a snapshot in the graph, named by its model.
  for (const e of await ws.meta.listEvents({ kind: 'snapshot.release' })) {
    if (e.snapshot_id === null || !snapshots.has(e.snapshot_id)) continue;
    const s = snapshots.get(e.snapshot_id)!;
    if (!(await readable(s.dataset))) continue;
    const detail = JSON.parse(e.detail) as { model?: unknown };
    const model = typeof detail.model === 'string' && detail.model !== '' ? detail.model : null;
    const key = `release:${e.seq}`;
    nodes.push({
      kind: 'release',
      id: key,
      label: model ?? 'released',
      release: {
        model,
        snapshot: s.id,
        ref: snapshotLabel(s),
        releasedAt: e.time,
        releasedBy: e.actor,
        event: e.seq,
      },
    });
    edges.push({ from: snapshotKey(s.id), to: key, relation: 'release' });
  }

  return { snapshot: focus.id, ref: snapshotLabel(focus), nodes, edges, truncated };
}

function inputsOf(run: LineageRunRow): string[] {
  return JSON.parse(run.inputs) as string[];
}

/** An ingest is named by its file (the last part of the path the CLI was given). */
function runLabel(kind: string, file: string | undefined): string {
  if (kind !== 'ingest') return kind;
  const name = file?.split(/[\\/]/).pop();
  return name ? `ingest ${name}` : 'ingest';
}
