import { compareIds, type ManifestEntry } from './manifest.js';

export interface SnapshotDiff {
  added: number;
  removed: number;
  changed: number;
  unchanged: number;
  /** Changed records whose label moved, counted by (from, to). */
  labelChanges: { from: string | null; to: string | null; records: number }[];
  classCounts: { label: string | null; before: number; after: number }[];
  bySource: { source: string | null; added: number; removed: number; changed: number }[];
  /** Up to `limit` ids of each kind, in id order. */
  samples: {
    added: string[];
    removed: string[];
    changed: { id: string; labelBefore: string | null; labelAfter: string | null }[];
  };
}

/**
 * Compares two manifests by a single merge walk over their id-sorted entries: O(n + m) time and
 * memory for the counters only. A record is "changed" when its id stays and its digest differs.
 */
export function diffManifests(
  before: readonly ManifestEntry[],
  after: readonly ManifestEntry[],
  limit = 20,
): SnapshotDiff {
  const d: SnapshotDiff = {
    added: 0,
    removed: 0,
    changed: 0,
    unchanged: 0,
    labelChanges: [],
    classCounts: [],
    bySource: [],
    samples: { added: [], removed: [], changed: [] },
  };
  const pairs = new Map<string, { from: string | null; to: string | null; records: number }>();
  const classes = new Map<string | null, { before: number; after: number }>();
  const sources = new Map<string | null, { added: number; removed: number; changed: number }>();
  const cls = (l: string | null): { before: number; after: number } => {
    let c = classes.get(l);
    if (!c) classes.set(l, (c = { before: 0, after: 0 }));
    return c;
  };
  const src = (s: string | null): { added: number; removed: number; changed: number } => {
    let c = sources.get(s);
    if (!c) sources.set(s, (c = { added: 0, removed: 0, changed: 0 }));
    return c;
  };
  for (const e of before) cls(e.label).before++;
  for (const e of after) cls(e.label).after++;

  let i = 0;
  let j = 0;
  while (i < before.length || j < after.length) {
    const a = before[i];
    const b = after[j];
    const c = a === undefined ? 1 : b === undefined ? -1 : compareIds(a.id, b.id);
    if (c < 0) {
      d.removed++;
      src(a!.source).removed++;
      if (d.samples.removed.length < limit) d.samples.removed.push(a!.id);
      i++;
    } else if (c > 0) {
      d.added++;
      src(b!.source).added++;
      if (d.samples.added.length < limit) d.samples.added.push(b!.id);
      j++;
    } else {
      if (a!.digest === b!.digest) {
        d.unchanged++;
      } else {
        d.changed++;
        src(b!.source).changed++;
        if (a!.label !== b!.label) {
          const key = JSON.stringify([a!.label, b!.label]);
          const p = pairs.get(key);
          if (p) p.records++;
          else pairs.set(key, { from: a!.label, to: b!.label, records: 1 });
        }
        if (d.samples.changed.length < limit) {
          d.samples.changed.push({ id: a!.id, labelBefore: a!.label, labelAfter: b!.label });
        }
      }
      i++;
      j++;
    }
  }
  const byName = (x: string | null, y: string | null): number => compareIds(x ?? '', y ?? '');
  d.labelChanges = [...pairs.values()].sort(
    (x, y) => y.records - x.records || byName(x.from, y.from) || byName(x.to, y.to),
  );
  d.classCounts = [...classes.entries()]
    .map(([label, c]) => ({ label, ...c }))
    .sort((x, y) => byName(x.label, y.label));
  d.bySource = [...sources.entries()]
    .map(([source, c]) => ({ source, ...c }))
    .sort((x, y) => byName(x.source, y.source));
  return d;
}
