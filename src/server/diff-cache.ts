import { compareIds, type ManifestEntry } from '../core/manifest.js';
import { diffManifests, type SnapshotDiff } from '../core/diff.js';
import { loadManifest } from '../engine/snapshots.js';
import type { Workspace } from '../engine/workspace.js';
import type { SnapshotRow } from '../store/metadata-store.js';

/**
 * The difference between two snapshots, kept whole so that the console can page through every
 * added, removed and changed row. Computing one at 1M rows means parsing two manifests (seconds);
 * a snapshot never changes, so the result for a pair of ids is good forever and is cached here.
 *
 * Rows are held compactly: ids (in id order) plus label and source indices into small string
 * tables, so a cached diff costs roughly its ids and 12 bytes a row, never the manifests.
 */
export interface DiffRows {
  /** Counts, label moves, class counts and per-source counts, as `diffManifests` computes them. */
  summary: Omit<SnapshotDiff, 'samples'>;
  /** Distinct labels and sources, indexed by the typed arrays below. */
  labels: (string | null)[];
  sources: (string | null)[];
  added: RowList;
  removed: RowList;
  changed: RowList & { labelBefore: Int32Array };
}

export interface RowList {
  ids: string[];
  /** The row's label in the snapshot that holds it (for changed rows: after). */
  label: Int32Array;
  source: Int32Array;
}

export type ChangeKind = 'added' | 'removed' | 'changed';

export interface RowFilter {
  /** Rows with this label (changed rows: before or after); null: rows without one. */
  label?: string | null;
  /** Changed rows only: the label before and after (a class pair). */
  labelFrom?: string | null;
  labelTo?: string | null;
  source?: string | null;
}

export interface RowPage {
  total: number;
  rows: {
    id: string;
    label: string | null;
    source: string | null;
    labelBefore?: string | null;
    labelAfter?: string | null;
  }[];
}

/** Walks both id-sorted manifests once, recording every row that is not unchanged. */
export function diffRows(
  before: readonly ManifestEntry[],
  after: readonly ManifestEntry[],
): DiffRows {
  const { samples: _samples, ...summary } = diffManifests(before, after, 0);
  const labels: (string | null)[] = [];
  const sources: (string | null)[] = [];
  const labelIndex = new Map<string | null, number>();
  const sourceIndex = new Map<string | null, number>();
  const intern = (
    table: (string | null)[],
    index: Map<string | null, number>,
    v: string | null,
  ): number => {
    let i = index.get(v);
    if (i === undefined) {
      i = table.length;
      table.push(v);
      index.set(v, i);
    }
    return i;
  };
  const added = builder(summary.added);
  const removed = builder(summary.removed);
  const changed = builder(summary.changed);
  const changedBefore = new Int32Array(summary.changed);
  let i = 0;
  let j = 0;
  while (i < before.length || j < after.length) {
    const a = before[i];
    const b = after[j];
    const c = a === undefined ? 1 : b === undefined ? -1 : compareIds(a.id, b.id);
    if (c < 0) {
      removed.push(
        a!.id,
        intern(labels, labelIndex, a!.label),
        intern(sources, sourceIndex, a!.source),
      );
      i++;
    } else if (c > 0) {
      added.push(
        b!.id,
        intern(labels, labelIndex, b!.label),
        intern(sources, sourceIndex, b!.source),
      );
      j++;
    } else {
      if (a!.digest !== b!.digest) {
        changedBefore[changed.length()] = intern(labels, labelIndex, a!.label);
        changed.push(
          b!.id,
          intern(labels, labelIndex, b!.label),
          intern(sources, sourceIndex, b!.source),
        );
      }
      i++;
      j++;
    }
  }
  return {
    summary,
    labels,
    sources,
    added: added.done(),
    removed: removed.done(),
    changed: { ...changed.done(), labelBefore: changedBefore },
  };
}

function builder(size: number) {
  const ids = new Array<string>(size);
  const label = new Int32Array(size);
  const source = new Int32Array(size);
  let n = 0;
  return {
    length: () => n,
    push(id: string, l: number, s: number) {
      ids[n] = id;
      label[n] = l;
      source[n] = s;
      n++;
    },
    done: (): RowList => ({ ids, label, source }),
  };
}

/** One page of one kind of change, filtered, with the number of rows the filter matches. */
export function pageRows(
  d: DiffRows,
  change: ChangeKind,
  filter: RowFilter,
  offset: number,
  limit: number,
): RowPage {
  const list = d[change];
  const want = (v: string | null | undefined, table: (string | null)[]): number | undefined =>
    v === undefined ? undefined : table.indexOf(v);
  const label = want(filter.label, d.labels);
  const from = want(filter.labelFrom, d.labels);
  const to = want(filter.labelTo, d.labels);
  const source = want(filter.source, d.sources);
  const before = change === 'changed' ? d.changed.labelBefore : undefined;
  // A class pair names a change of label: it matches changed rows only.
  const pairAsked = from !== undefined || to !== undefined;
  const rows: RowPage['rows'] = [];
  let total = 0;
  if (pairAsked && change !== 'changed') return { total, rows };
  const n = list.ids.length;
  for (let k = 0; k < n; k++) {
    const l = list.label[k]!;
    const lb = before ? before[k]! : l;
    if (label !== undefined && l !== label && lb !== label) continue;
    if (from !== undefined && lb !== from) continue;
    if (to !== undefined && l !== to) continue;
    if (source !== undefined && list.source[k] !== source) continue;
    if (total >= offset && rows.length < limit) {
      const row: RowPage['rows'][number] = {
        id: list.ids[k]!,
        label: d.labels[l] ?? null,
        source: d.sources[list.source[k]!] ?? null,
      };
      if (before) {
        row.labelBefore = d.labels[lb] ?? null;
        row.labelAfter = d.labels[l] ?? null;
      }
      rows.push(row);
    }
    total++;
  }
  return { total, rows };
}

/** The `limit` first ids of each kind: the `samples` of the plain diff. */
export function samplesOf(d: DiffRows, limit: number): SnapshotDiff['samples'] {
  const ids = (l: RowList) => l.ids.slice(0, limit);
  return {
    added: ids(d.added),
    removed: ids(d.removed),
    changed: d.changed.ids.slice(0, limit).map((id, k) => ({
      id,
      labelBefore: d.labels[d.changed.labelBefore[k]!] ?? null,
      labelAfter: d.labels[d.changed.label[k]!] ?? null,
    })),
  };
}

/** Rows a cached diff holds (its weight in the cache). */
const weightOf = (d: DiffRows): number =>
  d.added.ids.length + d.removed.ids.length + d.changed.ids.length;

/**
 * A small least-recently-used cache of diffs, bounded by entries and by the rows they hold (a
 * diff of two unrelated 1M-row snapshots holds 2M rows). The newest diff is always kept, even
 * when it alone is over the row budget. Concurrent requests for one pair share one computation.
 */
export class DiffCache {
  private entries = new Map<string, Promise<DiffRows>>();
  private weights = new Map<string, number>();

  constructor(
    readonly maxEntries = 8,
    readonly maxRows = 4_000_000,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  async get(ws: Workspace, from: SnapshotRow, to: SnapshotRow): Promise<DiffRows> {
    // Snapshot ids are digests of signed statements: the same pair is the same diff. The folder
    // keeps two workspaces served by one process apart all the same.
    const key = `${ws.dir}\0${from.id}\0${to.id}`;
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const computing = (async () => {
      const [a, b] = await Promise.all([loadManifest(ws, from), loadManifest(ws, to)]);
      return diffRows(a.entries, b.entries);
    })();
    this.entries.set(key, computing);
    try {
      const d = await computing;
      if (this.entries.get(key) === computing) {
        this.weights.set(key, weightOf(d));
        this.evict(key);
      }
      return d;
    } catch (e) {
      if (this.entries.get(key) === computing) this.entries.delete(key);
      throw e;
    }
  }

  clear(): void {
    this.entries.clear();
    this.weights.clear();
  }

  private evict(keep: string): void {
    let rows = 0;
    for (const w of this.weights.values()) rows += w;
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries && rows <= this.maxRows) break;
      if (key === keep) continue;
      const w = this.weights.get(key);
      // Still being computed: leave it to its callers.
      if (w === undefined) continue;
      this.entries.delete(key);
      this.weights.delete(key);
      rows -= w;
    }
  }
}

/** The process's one diff cache. */
export const diffCache = new DiffCache();
