import { describe, expect, it } from 'vitest';
import { gaussian, mulberry32 } from './random.js';
import type { ScanRow } from './types.js';
import {
  collectVectors,
  describeFeatures,
  featureLevels,
  featurePatchDetector,
  findFeatureTriggers,
} from './vector-triggers.js';

interface ImageOptions {
  rows: number;
  side: number;
  max: number;
  seed: number;
  integer: boolean;
}

/**
 * Digit-like synthetic images: per class a template of Gaussian blobs in the central area; per
 * row a random one-pixel shift (30 % of rows), a brightness gain, and noise; clipped to [0, max].
 */
function images(o: ImageOptions): ScanRow[] {
  const rand = mulberry32(o.seed);
  const { side } = o;
  const templates: Float64Array[] = [];
  for (let c = 0; c < 10; c++) {
    const t = new Float64Array(side * side);
    for (let b = 0; b < 5; b++) {
      const cy = side * (0.2 + 0.6 * rand());
      const cx = side * (0.2 + 0.6 * rand());
      const s = side * (0.08 + 0.08 * rand());
      for (let y = 0; y < side; y++) {
        for (let x = 0; x < side; x++)
          t[y * side + x]! += Math.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * s * s));
      }
    }
    const m = Math.max(...t);
    for (let i = 0; i < t.length; i++) t[i] = Math.min(1, (t[i]! / m) * 1.3);
    templates.push(t);
  }
  const rows: ScanRow[] = [];
  for (let i = 0; i < o.rows; i++) {
    const c = Math.floor(rand() * 10);
    const shift = (): number => (rand() < 0.3 ? (rand() < 0.5 ? -1 : 1) : 0);
    const dy = shift();
    const dx = shift();
    const gain = 0.8 + 0.4 * rand();
    const f: number[] = [];
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const sy = y - dy;
        const sx = x - dx;
        const base =
          sy >= 0 && sy < side && sx >= 0 && sx < side ? templates[c]![sy * side + sx]! : 0;
        const v = Math.max(
          0,
          Math.min(1, base * gain + 0.08 * gaussian(rand) * (base > 0.05 ? 1 : 0.2)),
        );
        f.push(o.integer ? Math.round(v * o.max) : Math.round(v * o.max * 1000) / 1000);
      }
    }
    rows.push({ id: `i${i}`, label: String(c), source: null, features: f });
  }
  return rows;
}

/**
 * Stamps a size×size patch at the data's maximum value into round(rate × rows) rows not of
 * `target` (only `source` rows when given), `offset` pixels in from the bottom-right corner, and
 * relabels them. Returns the poisoned ids.
 */
function stamp(
  rows: ScanRow[],
  rate: number,
  target: string,
  seed: number,
  opts: { size?: number; offset?: number; source?: string } = {},
): Set<string> {
  const size = opts.size ?? 3;
  const offset = opts.offset ?? 0;
  const rand = mulberry32(seed);
  const side = Math.round(Math.sqrt(rows[0]!.features!.length));
  let max = 0;
  for (const r of rows) for (const v of r.features!) max = Math.max(max, v);
  const pool = rows
    .map((_, i) => i)
    .filter(
      (i) =>
        rows[i]!.label !== target && (opts.source === undefined || rows[i]!.label === opts.source),
    );
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  const ids = new Set<string>();
  for (const i of pool.slice(0, Math.round(rate * rows.length))) {
    const f = [...rows[i]!.features!];
    for (let y = side - size - offset; y < side - offset; y++) {
      for (let x = side - size - offset; x < side - offset; x++) f[y * side + x] = max;
    }
    rows[i] = { ...rows[i]!, features: f, label: target };
    ids.add(rows[i].id);
  }
  return ids;
}

function metrics(
  rowsFound: readonly string[],
  truth: Set<string>,
): { recall: number; precision: number } {
  let tp = 0;
  for (const id of rowsFound) if (truth.has(id)) tp++;
  return { recall: tp / truth.size, precision: rowsFound.length ? tp / rowsFound.length : 0 };
}

const digits = (seed: number, rows = 1800): ImageOptions => ({
  rows,
  side: 8,
  max: 16,
  seed,
  integer: true,
});
const mnist = (seed: number, rows = 3000): ImageOptions => ({
  rows,
  side: 28,
  max: 1,
  seed,
  integer: false,
});

describe('trigger/feature-patch', () => {
  it('finds a 1 % 3×3 corner patch on 8×8 digits with recall ≥ 0.90', () => {
    for (const seed of [1, 2, 3]) {
      const rows = images(digits(seed));
      const truth = stamp(rows, 0.01, '0', seed + 10, seed === 2 ? { source: '3' } : {});
      const res = findFeatureTriggers(rows);
      const t = res.triggers[0];
      expect(t, `seed ${seed}`).toBeDefined();
      expect(t!.label).toBe('0');
      expect(t!.pattern).toContain('features[');
      expect(t!.pattern).toContain('high (patch');
      const m = metrics(t!.rows, truth);
      expect(m.recall).toBeGreaterThanOrEqual(0.9);
      expect(m.precision).toBeGreaterThanOrEqual(0.6);
      // The patch's pixels are in the bottom-right 3×3 block.
      const grid = t!.detail.grid as { rows: number[]; cols: number[] };
      expect(grid.rows[0]).toBeGreaterThanOrEqual(5);
      expect(grid.cols[0]).toBeGreaterThanOrEqual(5);
    }
  });

  it('finds a patch stamped one pixel in from the corner (inside the strokes) as a block', () => {
    for (const seed of [4, 5]) {
      const rows = images(digits(seed, 3000));
      const truth = stamp(rows, 0.01, '7', seed, { offset: 1 });
      const t = findFeatureTriggers(rows).triggers[0];
      expect(t).toBeDefined();
      expect(metrics(t!.rows, truth).recall).toBeGreaterThanOrEqual(0.9);
    }
  });

  it('finds a 3×3 patch on 28×28 images and names its pixels', () => {
    const rows = images(mnist(6));
    const truth = stamp(rows, 0.01, '2', 16);
    const res = findFeatureTriggers(rows);
    expect(res.triggers).toHaveLength(1);
    const t = res.triggers[0]!;
    expect(t.pattern).toBe(
      'features[725..727,753..755,781..783] high (patch, 3×3 at row 25, col 25 of 28×28)',
    );
    expect(metrics(t.rows, truth)).toEqual({ recall: 1, precision: 1 });
    expect(t.detail.disagreement).toBeGreaterThanOrEqual(0.9);
    expect(t.detail.poisonRate).toBeCloseTo(0.01, 3);
  });

  it('reports nothing on clean images', () => {
    const seeds = Array.from({ length: 10 }, (_, i) => digits(30 + i));
    for (const opts of [digits(7), digits(8, 5000), mnist(9), ...seeds]) {
      const res = findFeatureTriggers(images(opts));
      expect(res.skipped).toBeUndefined();
      expect(res.triggers.map((t) => t.pattern)).toEqual([]);
      expect(res.summary.note).toMatch(/no feature-patch trigger found/);
    }
  });

  it('emits one issue per patched row, skips bad vectors and counts them', () => {
    const rows = images(digits(10));
    const truth = stamp(rows, 0.01, '4', 20);
    rows.push({
      id: 'nan',
      label: '1',
      source: null,
      features: [NaN, ...Array<number>(63).fill(0)],
    });
    rows.push({ id: 'short', label: '1', source: null, features: [1, 2, 3] });
    rows.push({
      id: 'unlabelled',
      label: null,
      source: null,
      features: Array<number>(64).fill(16),
    });
    rows.push({ id: 'text-only', label: '1', source: null, text: 'hello' });
    const res = featurePatchDetector.run(rows, {}) as Awaited<
      ReturnType<typeof featurePatchDetector.run>
    >;
    expect(res.summary).toMatchObject({
      skippedNonFinite: 1,
      skippedBadLength: 1,
      unlabelledVectorRows: 1,
      dim: 64,
    });
    expect(new Set(res.issues.map((i) => i.row)).size).toBe(res.issues.length);
    const flagged = res.issues.filter((i) => i.score >= 0.5 * (res.triggers?.[0]?.score ?? 1));
    expect(
      metrics(
        flagged.map((i) => i.row),
        truth,
      ).recall,
    ).toBeGreaterThanOrEqual(0.9);
    for (const i of res.issues) {
      expect(i.kind).toBe('trigger');
      expect(i.score).toBeGreaterThan(0);
      expect(i.score).toBeLessThanOrEqual(1);
    }
  });

  it('skips with a reason on data it cannot scan', () => {
    const row = (id: string, label: string | null, features?: number[]): ScanRow => ({
      id,
      label,
      source: null,
      ...(features ? { features } : {}),
    });
    expect(featurePatchDetector.run([], {})).toMatchObject({
      issues: [],
      skipped: 'no rows with feature vectors',
    });
    expect(featurePatchDetector.run([row('a', 'x')], {})).toMatchObject({
      skipped: 'no rows with feature vectors',
    });
    expect(featurePatchDetector.run([row('a', null, [1, 2])], {})).toMatchObject({
      skipped: 'no labelled rows with a valid feature vector',
    });
    const one = Array.from({ length: 30 }, (_, i) => row(String(i), 'x', [i, 1]));
    expect(featurePatchDetector.run(one, {})).toMatchObject({
      skipped: 'fewer than two labels among rows with feature vectors',
    });
    const few = [row('a', 'x', [1]), row('b', 'y', [2])];
    expect((featurePatchDetector.run(few, {}) as { skipped?: string }).skipped).toMatch(
      /fewer than 20/,
    );
  });
});

describe('feature-patch building blocks', () => {
  it('picks the modal length and counts bad vectors', () => {
    const rows: ScanRow[] = [
      { id: 'a', label: 'x', source: null, features: [1, 2] },
      { id: 'b', label: 'x', source: null, features: [1, 2] },
      { id: 'c', label: 'x', source: null, features: [1, 2, 3] },
      { id: 'd', label: 'x', source: null, features: [1, Infinity] },
      { id: 'e', label: null, source: null, features: [0, 0] },
    ];
    const v = collectVectors(rows);
    expect(v).toMatchObject({ dim: 2, index: [0, 1], badLength: 1, nonFinite: 1, unlabelled: 1 });
    expect(collectVectors(rows, false).index).toEqual([0, 1, 4]);
  });

  it('finds the k-th largest value per feature', () => {
    const rows: ScanRow[] = Array.from({ length: 3000 }, (_, i) => ({
      id: String(i),
      label: 'x',
      source: null,
      features: [i, -i, 7],
    }));
    const { lo, hi } = featureLevels(
      rows,
      rows.map((_, i) => i),
      3,
      1,
    );
    // k = ceil(0.1 % of 3000) = 3: the 3rd largest of 0..2999 is 2997.
    expect(Array.from(hi)).toEqual([2997, -2, 7]);
    expect(Array.from(lo)).toEqual([0, -2999, 7]);
  });

  it('describes feature sets with runs', () => {
    expect(describeFeatures([783, 781, 782, 5, 7])).toBe('features[5,7,781..783]');
  });
});
