import { CordonError } from './errors.js';

/**
 * The lineage model shared by the OpenLineage and SLSA exporters and by `cordon lineage`.
 *
 * Snapshots are the nodes; runs are the edges. Every run names the snapshots it read (`inputs`)
 * and the one snapshot it wrote (`output`). A snapshot has at most one producing run, because a
 * snapshot id is the digest of a signed statement that already names its parents. Snapshots whose
 * producing run has no inputs (ingest) or that have no recorded run at all are "raw": lineage
 * ends there.
 */

/** A snapshot as lineage sees it: enough to name it, check it and print it. */
export interface SnapshotRef {
  /** Snapshot id: SHA-256 (hex) of the signed statement. */
  id: string;
  dataset: string;
  version: number;
  /** Merkle root over the records (hex SHA-256). */
  root: string;
  stage: string;
  recordCount: number;
  /** RFC 3339, UTC. */
  createdAt: string;
}

export type LineageRunKind = 'ingest' | 'transform' | 'merge';

/** One recorded step that wrote a snapshot. */
export interface LineageRun {
  id: string;
  kind: LineageRunKind;
  /** Snapshots read, in the order the run read them. Empty for ingest runs. */
  inputs: SnapshotRef[];
  output: SnapshotRef;
  /** The command line that ran, when known. */
  command: string | null;
  /** SHA-256 (hex) of the code that ran, when known. */
  codeDigest: string | null;
  params: Record<string, string>;
  actor: string;
  /** RFC 3339, UTC. */
  startedAt: string;
  /** RFC 3339, UTC. */
  finishedAt: string;
  /** Ingest runs: the name of the file that was ingested. */
  source?: string;
}

export interface LineageGraph {
  nodes: SnapshotRef[];
  runs: LineageRun[];
}

/** Snapshot id -> the run that wrote it. Two runs claiming one output is an inconsistent graph. */
function producingRuns(graph: LineageGraph): Map<string, LineageRun> {
  const byOutput = new Map<string, LineageRun>();
  for (const run of graph.runs) {
    const prior = byOutput.get(run.output.id);
    if (prior !== undefined && prior.id !== run.id) {
      throw new CordonError(
        'INPUT_INVALID',
        `snapshot ${run.output.id} is the output of two runs: ${prior.id} and ${run.id}`,
      );
    }
    byOutput.set(run.output.id, run);
  }
  return byOutput;
}

function findSnapshot(
  graph: LineageGraph,
  byOutput: Map<string, LineageRun>,
  id: string,
): SnapshotRef {
  const found = graph.nodes.find((n) => n.id === id) ?? byOutput.get(id)?.output;
  if (found === undefined) {
    throw new CordonError('SNAPSHOT_NOT_FOUND', `snapshot ${id} is not in the lineage graph`);
  }
  return found;
}

/**
 * Walks from `from` towards the raw sources, depth first, inputs in run order, each snapshot
 * once. `visit` is called for every arrival, including repeated ones (`seen` = true), so that
 * callers can print back-references. Iterative: long transform chains must not exhaust the stack.
 */
function walk(
  graph: LineageGraph,
  from: string,
  visit: (snap: SnapshotRef, depth: number, run: LineageRun | undefined, seen: boolean) => void,
): void {
  const byOutput = producingRuns(graph);
  const start = findSnapshot(graph, byOutput, from);
  const seen = new Set<string>();
  const stack: { snap: SnapshotRef; depth: number }[] = [{ snap: start, depth: 0 }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const { snap, depth } = top;
    const run = byOutput.get(snap.id);
    if (seen.has(snap.id)) {
      visit(snap, depth, run, true);
      continue;
    }
    seen.add(snap.id);
    visit(snap, depth, run, false);
    if (run === undefined) continue;
    for (let i = run.inputs.length - 1; i >= 0; i--) {
      const input = run.inputs[i];
      if (input !== undefined) stack.push({ snap: input, depth: depth + 1 });
    }
  }
}

/** User-supplied text (commands, file names) on one line, with no terminal control characters. */
function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

function snapshotLabel(s: SnapshotRef): string {
  return `${oneLine(s.dataset)}@${s.version} ${oneLine(s.stage)} [${s.id.slice(0, 12)}]`;
}

function runLabel(run: LineageRun): string {
  const command = run.command === null ? '' : ` (${oneLine(run.command)})`;
  return `${run.kind} by ${oneLine(run.actor)}${command}`;
}

const INDENT = '  ';

/**
 * An indented tree from snapshot `from` back to its raw sources, one snapshot per line:
 *
 *     corpus@3 clean [0123456789ab] <- merge by alice (cordon merge a b)
 *       corpus-a@2 dedup [...] <- transform by bob (python dedup.py)
 *         raw@1 raw [...] <- ingest by carol (cordon ingest data.jsonl)
 *           source: data.jsonl
 *       corpus-b@2 filter [...] <- transform by bob
 *         raw@1 raw [...] (see above)
 *
 * Each snapshot is expanded once; a snapshot reached again (a shared ancestor) is printed as a
 * reference ending in "(see above)". Ingest runs end at their source file. The result ends in a
 * newline. Throws SNAPSHOT_NOT_FOUND when `from` is neither a node nor a run output.
 */
export function renderLineageText(graph: LineageGraph, from: string): string {
  const lines: string[] = [];
  walk(graph, from, (snap, depth, run, seen) => {
    const pad = INDENT.repeat(depth);
    if (seen) {
      lines.push(`${pad}${snapshotLabel(snap)} (see above)`);
      return;
    }
    lines.push(
      run === undefined
        ? `${pad}${snapshotLabel(snap)}`
        : `${pad}${snapshotLabel(snap)} <- ${runLabel(run)}`,
    );
    if (run?.kind === 'ingest' && run.source !== undefined) {
      lines.push(`${pad}${INDENT}source: ${oneLine(run.source)}`);
    }
  });
  return `${lines.join('\n')}\n`;
}

/**
 * The raw snapshots `from` descends from: those reachable from it (itself included) that have no
 * parent snapshot, because no run wrote them or the run that wrote them read no snapshot
 * (ingest). Each once, in the order the tree printed by renderLineageText meets them.
 */
export function lineageRoots(graph: LineageGraph, from: string): SnapshotRef[] {
  const roots: SnapshotRef[] = [];
  walk(graph, from, (snap, _depth, run, seen) => {
    if (!seen && (run === undefined || run.inputs.length === 0)) roots.push(snap);
  });
  return roots;
}
