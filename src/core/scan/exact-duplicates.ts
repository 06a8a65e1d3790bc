/**
 * dup/exact: rows with identical content after normalisation, and identical content carrying
 * different labels (conflicting labels: a cheap, high-precision poisoning signal).
 *
 * Content of a row: its text after `normalizeText` (NFC, lowercase, whitespace collapsed), its
 * feature vector compared element by element (NaN equals NaN, -0 equals 0), or both when it has
 * both. A text that normalises to "" counts as no text. Rows are bucketed by a 64-bit hash (two
 * independent 32-bit halves) in an open-addressing typed-array table, and a hash match is only
 * accepted after the contents compare equal, so a hash collision can never merge two groups.
 *
 * Findings per group of two or more rows:
 * - every non-null label the same (or all null) → each row after the first is an
 *   `exact_duplicate` (weight inflation); score 1 − 1/size (0.5 for a pair, → 1 for a flood);
 * - two or more distinct non-null labels → every row of the group, the first included, is a
 *   `conflicting_label`; score 0.5 + 0.5 × balance, balance = (1 − top label share) /
 *   (1 − 1/labels), so an even split scores 1 and 99 : 1 scores ≈ 0.51. Rows with a null label
 *   are flagged with their group but not counted in the label statistics.
 */
import { clamp01, type Detector, type DetectorResult, type Issue, type ScanRow } from './types.js';
import { fmix32, hashString64, normalizeText } from './text-normalize.js';

export interface ExactDuplicateOptions {
  /** Compare feature vectors as part of the content (default `EXACT_USE_FEATURES`). */
  useFeatures?: boolean;
}

/** Vectors are content too: a copied embedding row is as much a duplicate as copied text. */
export const EXACT_USE_FEATURES = true;
/** Rows between progress reports: frequent enough for a bar, rare enough to cost nothing. */
export const EXACT_PROGRESS_EVERY = 65_536;

const HAS_TEXT = 1;
const HAS_FEATURES = 2;

const f64 = new Float64Array(1);
const f64Words = new Uint32Array(f64.buffer);

function canonicalText(row: ScanRow): string {
  return row.text === undefined || row.text.length === 0 ? '' : normalizeText(row.text);
}

/**
 * Content hashes of `rows[start..end)`: writes two 32-bit words per row into `hashes` at
 * `2 × (i − start)` and the content flags (1 text, 2 features, 0 none) into `flags[i − start]`.
 * Pure over the range, so the engine may split it across workers.
 */
export function contentHashes(
  rows: readonly ScanRow[],
  start: number,
  end: number,
  useFeatures: boolean,
  hashes: Uint32Array,
  flags: Uint8Array,
): void {
  const pair = new Uint32Array(2);
  for (let i = start; i < end; i++) {
    const row = rows[i] as ScanRow;
    const o = i - start;
    const text = canonicalText(row);
    let flag = 0;
    let a = 0x3c6ef372;
    let b = 0xa54ff53a;
    if (text.length > 0) {
      hashString64(text, pair, 0);
      a ^= pair[0] as number;
      b ^= pair[1] as number;
      flag |= HAS_TEXT;
    }
    const fs = useFeatures ? row.features : undefined;
    if (fs !== undefined) {
      flag |= HAS_FEATURES;
      a = Math.imul(a ^ fs.length, 0x9e3779b1);
      for (let j = 0; j < fs.length; j++) {
        const x = fs[j] as number;
        // One bit pattern per value: -0 folds to 0, every NaN to the canonical NaN.
        f64[0] = x === 0 ? 0 : x !== x ? NaN : x;
        const lo = f64Words[0] as number;
        const hi = f64Words[1] as number;
        a = Math.imul(a ^ lo, 0x85ebca6b);
        a = (a << 13) | (a >>> 19);
        b = Math.imul(b ^ hi, 0xc2b2ae35) + lo;
        b = (b << 17) | (b >>> 15);
      }
    }
    hashes[2 * o] = fmix32(a ^ flag);
    hashes[2 * o + 1] = fmix32(b + Math.imul(flag, 0x27d4eb2f));
    flags[o] = flag;
  }
}

function sameFeatures(x: readonly number[], y: readonly number[]): boolean {
  if (x.length !== y.length) return false;
  for (let j = 0; j < x.length; j++) {
    const p = x[j] as number;
    const q = y[j] as number;
    if (p !== q && !(p !== p && q !== q)) return false;
  }
  return true;
}

/** Rows grouped by identical content. Group indices follow first occurrence. */
export interface ContentGroups {
  /** Per row: its group, or -1 when the row has no content. */
  groupOf: Int32Array;
  /** Per group: its first (lowest-index) row. */
  first: Int32Array;
  /** Per group: its number of rows. */
  size: Int32Array;
  /** Per group: its 64-bit content hash as two 32-bit words. */
  hash: Uint32Array;
  groups: number;
  rowsWithoutContent: number;
}

/**
 * Groups rows by content (see the file comment). O(n) expected time; memory ≈ 30 bytes a row.
 * `hashes`/`flags` may be passed when `contentHashes` was run by the caller (e.g. in workers).
 */
export function groupByContent(
  rows: readonly ScanRow[],
  useFeatures: boolean = EXACT_USE_FEATURES,
  precomputed?: { hashes: Uint32Array; flags: Uint8Array },
  progress?: (done: number) => void,
): ContentGroups {
  const n = rows.length;
  let hashes: Uint32Array;
  let flags: Uint8Array;
  if (precomputed) {
    ({ hashes, flags } = precomputed);
  } else {
    hashes = new Uint32Array(2 * n);
    flags = new Uint8Array(n);
    for (let s = 0; s < n; s += EXACT_PROGRESS_EVERY) {
      const e = Math.min(n, s + EXACT_PROGRESS_EVERY);
      contentHashes(rows, s, e, useFeatures, hashes.subarray(2 * s), flags.subarray(s));
      progress?.(e);
    }
  }
  let withContent = 0;
  for (let i = 0; i < n; i++) if (flags[i] !== 0) withContent++;
  let cap = 16;
  while (cap < 2 * withContent) cap *= 2;
  const mask = cap - 1;
  const slots = new Int32Array(cap).fill(-1);
  const groupOf = new Int32Array(n).fill(-1);
  const first = new Int32Array(withContent);
  const size = new Int32Array(withContent);
  const hash = new Uint32Array(2 * withContent);
  // Canonical text of a group's first row, kept only once a second row hashed to the group.
  const firstText = new Map<number, string>();
  let groups = 0;
  for (let i = 0; i < n; i++) {
    const flag = flags[i] as number;
    if (flag === 0) continue;
    const a = hashes[2 * i] as number;
    const b = hashes[2 * i + 1] as number;
    let slot = a & mask;
    let text: string | undefined;
    for (;;) {
      const g = slots[slot] as number;
      if (g < 0) {
        slots[slot] = groups;
        first[groups] = i;
        size[groups] = 1;
        hash[2 * groups] = a;
        hash[2 * groups + 1] = b;
        groupOf[i] = groups++;
        break;
      }
      if (hash[2 * g] === a && hash[2 * g + 1] === b) {
        const f = first[g] as number;
        if (flags[f] === flag) {
          let same = true;
          if (flag & HAS_TEXT) {
            let ft = firstText.get(g);
            if (ft === undefined) firstText.set(g, (ft = canonicalText(rows[f] as ScanRow)));
            text ??= canonicalText(rows[i] as ScanRow);
            same = ft === text;
          }
          if (same && flag & HAS_FEATURES) {
            same = sameFeatures(
              (rows[f] as ScanRow).features as number[],
              (rows[i] as ScanRow).features as number[],
            );
          }
          if (same) {
            groupOf[i] = g;
            size[g] = (size[g] as number) + 1;
            break;
          }
        }
      }
      slot = (slot + 1) & mask;
    }
  }
  return { groupOf, first, size, hash, groups, rowsWithoutContent: n - withContent };
}

function hex8(x: number): string {
  return x.toString(16).padStart(8, '0');
}

export const exactDuplicates: Detector<ExactDuplicateOptions> = {
  id: 'dup/exact',
  meta: {
    kinds: ['exact_duplicate', 'conflicting_label'],
    needs: ['text', 'features'],
    description:
      'Rows whose normalised text and/or feature vector are identical: copies after the first ' +
      'are exact duplicates; identical content with different labels flags every copy as a ' +
      'conflicting label.',
  },
  run(rows, options, progress) {
    return findExactDuplicates(rows, options, progress);
  },
};

/**
 * The `dup/exact` detector as a plain function. `precomputed` holds `contentHashes` of every row
 * when they were computed elsewhere (in shards, by workers); the findings are the same.
 */
export function findExactDuplicates(
  rows: readonly ScanRow[],
  options: ExactDuplicateOptions = {},
  progress?: (fraction: number) => void,
  precomputed?: { hashes: Uint32Array; flags: Uint8Array },
): DetectorResult {
  const n = rows.length;
  const useFeatures = options.useFeatures ?? EXACT_USE_FEATURES;
  const baseSummary = { rows: n, useFeatures };
  if (n < 2) return { issues: [], summary: baseSummary, skipped: 'fewer than 2 rows' };
  const g = groupByContent(rows, useFeatures, precomputed, (done) => progress?.((0.9 * done) / n));
  if (g.rowsWithoutContent === n) {
    return {
      issues: [],
      summary: { ...baseSummary, rowsWithoutContent: n },
      skipped: useFeatures ? 'no row has text or features' : 'no row has text',
    };
  }

  // Members of groups with two or more rows, in row order, bucketed by group (counting sort).
  const multi = new Int32Array(g.groups).fill(-1);
  let nMulti = 0;
  let members = 0;
  for (let k = 0; k < g.groups; k++) {
    const s = g.size[k] as number;
    if (s > 1) {
      multi[k] = nMulti++;
      members += s;
    }
  }
  const offsets = new Int32Array(nMulti + 1);
  for (let k = 0; k < g.groups; k++) {
    const m = multi[k] as number;
    if (m >= 0) offsets[m + 1] = g.size[k] as number;
  }
  for (let m = 0; m < nMulti; m++)
    offsets[m + 1] = (offsets[m + 1] as number) + (offsets[m] as number);
  const fill = offsets.slice(0, nMulti);
  const order = new Int32Array(members);
  for (let i = 0; i < n; i++) {
    const k = g.groupOf[i] as number;
    if (k < 0) continue;
    const m = multi[k] as number;
    if (m < 0) continue;
    const at = fill[m] as number;
    order[at] = i;
    fill[m] = at + 1;
  }

  const issues: Issue[] = [];
  const usedIds = new Set<string>();
  let duplicateGroups = 0;
  let duplicateRows = 0;
  let conflictingGroups = 0;
  let conflictingRows = 0;
  let largestGroup = 1;
  for (let k = 0; k < g.groups; k++) {
    const m = multi[k] as number;
    if (m < 0) continue;
    const from = offsets[m] as number;
    const to = offsets[m + 1] as number;
    const size = to - from;
    if (size > largestGroup) largestGroup = size;
    let id = hex8(g.hash[2 * k] as number) + hex8(g.hash[2 * k + 1] as number);
    if (usedIds.has(id)) id += `-${k}`;
    usedIds.add(id);
    const counts = new Map<string, number>();
    let unlabelled = 0;
    for (let p = from; p < to; p++) {
      const label = (rows[order[p] as number] as ScanRow).label;
      if (label === null) unlabelled++;
      else counts.set(label, (counts.get(label) ?? 0) + 1);
    }
    const firstRow = (rows[order[from] as number] as ScanRow).id;
    if (counts.size <= 1) {
      duplicateGroups++;
      const label = counts.size === 1 ? ([...counts.keys()][0] as string) : null;
      const score = clamp01(1 - 1 / size);
      for (let p = from + 1; p < to; p++) {
        const row = rows[order[p] as number] as ScanRow;
        duplicateRows++;
        issues.push({
          kind: 'exact_duplicate',
          row: row.id,
          score,
          detail: { group: id, firstRow, groupSize: size, label, rowLabel: row.label },
        });
      }
    } else {
      conflictingGroups++;
      const labelled = size - unlabelled;
      const labels = [...counts.entries()]
        .map(([label, count]) => ({ label, count }))
        .sort((x, y) => y.count - x.count || (x.label < y.label ? -1 : 1));
      const top = (labels[0] as { count: number }).count / labelled;
      const balance = (1 - top) / (1 - 1 / labels.length);
      const score = clamp01(0.5 + 0.5 * balance);
      for (let p = from; p < to; p++) {
        const row = rows[order[p] as number] as ScanRow;
        conflictingRows++;
        issues.push({
          kind: 'conflicting_label',
          row: row.id,
          score,
          detail: { group: id, firstRow, groupSize: size, labels, unlabelled, rowLabel: row.label },
        });
      }
    }
  }
  progress?.(1);
  return {
    issues,
    summary: {
      ...baseSummary,
      rowsCompared: n - g.rowsWithoutContent,
      rowsWithoutContent: g.rowsWithoutContent,
      distinctContents: g.groups,
      duplicateGroups,
      duplicateRows,
      conflictingGroups,
      conflictingRows,
      largestGroup,
    },
  };
}
