import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { gaussian, mulberry32 } from './random.js';
import type { ScanRow } from './types.js';
import {
  buildNeighborContext,
  findKnnLabelIssues,
  findKnnOutliers,
  findVectorDuplicates,
  knnGraph,
  knnLabelDetector,
  knnOutlierDetector,
  textFeatures,
  TEXT_FEATURE_NAMES,
  vectorNearDuplicates,
  type KnnGraph,
  type Metric,
} from './vector-neighbors.js';

/** Reference distances by brute force in plain doubles (independent of the code under test). */
function naiveDistances(vs: number[][], metric: Metric, k: number): number[][] {
  const unit = vs.map((v) => {
    const n = Math.hypot(...v);
    return metric === 'cosine' ? v.map((x) => x / n) : v;
  });
  return unit.map((a, i) =>
    unit
      .map((b, j) => {
        if (i === j) return Infinity;
        if (metric === 'cosine') return 1 - a.reduce((s, x, d) => s + x * (b[d] as number), 0);
        return Math.sqrt(a.reduce((s, x, d) => s + (x - (b[d] as number)) ** 2, 0));
      })
      .sort((x, y) => x - y)
      .slice(0, k),
  );
}

function blobs(
  seed: number,
  opts: { classes: number; per: number; dim: number; spread?: number; noise?: number },
): ScanRow[] {
  const r = mulberry32(seed);
  const centers = Array.from({ length: opts.classes }, () =>
    Array.from({ length: opts.dim }, () => gaussian(r) * (opts.spread ?? 4)),
  );
  const rows: ScanRow[] = [];
  for (let c = 0; c < opts.classes; c++) {
    for (let i = 0; i < opts.per; i++) {
      rows.push({
        id: `c${c}-${i}`,
        label: `L${c}`,
        source: null,
        features: (centers[c] as number[]).map((x) => x + gaussian(r) * (opts.noise ?? 1)),
      });
    }
  }
  return rows;
}

function expectValidGraph(g: KnnGraph): void {
  for (let i = 0; i < g.n; i++) {
    const ids = Array.from(g.indices.subarray(i * g.k, (i + 1) * g.k));
    expect(ids.includes(i)).toBe(false);
    expect(new Set(ids).size).toBe(g.k);
    for (let p = 1; p < g.k; p++) {
      expect(g.distances[i * g.k + p]).toBeGreaterThanOrEqual(
        g.distances[i * g.k + p - 1] as number,
      );
    }
  }
}

describe('knnGraph', () => {
  const r = mulberry32(21);
  const cases: { dim: number; n: number; metric: Metric; path: string }[] = [
    { dim: 2, n: 400, metric: 'euclidean', path: 'k-d tree (low dim)' },
    { dim: 8, n: 400, metric: 'euclidean', path: 'k-d tree (exact range)' },
    { dim: 8, n: 400, metric: 'cosine', path: 'k-d tree on unit vectors' },
    { dim: 24, n: 401, metric: 'cosine', path: 'brute force, odd n' },
    { dim: 24, n: 400, metric: 'euclidean', path: 'brute force' },
  ];
  for (const c of cases) {
    it(`matches brute force: ${c.path}, ${c.metric}, dim ${c.dim}`, () => {
      const vs = Array.from({ length: c.n }, () =>
        Array.from({ length: c.dim }, () => gaussian(r)),
      );
      const g = knnGraph(vs, 10, { metric: c.metric });
      expect(g.exact).toBe(true);
      expectValidGraph(g);
      const ref = naiveDistances(vs, c.metric, 10);
      for (let i = 0; i < c.n; i++) {
        for (let p = 0; p < 10; p++) {
          expect(g.distances[i * 10 + p]).toBeCloseTo((ref[i] as number[])[p] as number, 4);
        }
      }
    });
  }

  it('picks cosine above 3 dimensions and euclidean below', () => {
    expect(
      knnGraph(
        [
          [1, 2, 3, 4],
          [2, 3, 4, 5],
          [0, 1, 0, 1],
        ],
        1,
      ).metric,
    ).toBe('cosine');
    expect(
      knnGraph(
        [
          [1, 2],
          [2, 3],
          [0, 1],
        ],
        1,
      ).metric,
    ).toBe('euclidean');
  });

  it('handles tiny inputs, exact copies and many identical points', () => {
    expect(knnGraph([], 10).k).toBe(0);
    expect(knnGraph([[1, 2]], 10).k).toBe(0);
    const g = knnGraph(
      [
        [1, 2],
        [1, 2],
        [5, 5],
      ],
      10,
    );
    expect(g.k).toBe(2);
    expect(Array.from(g.indices.subarray(0, 2))).toEqual([1, 2]);
    expect(g.distances[0]).toBe(0);
    const same = Array.from({ length: 3000 }, (_, i) => (i % 2 === 0 ? [1, 1, 1] : [i, 0, 1]));
    const t0 = performance.now();
    const gs = knnGraph(same, 10);
    expect(performance.now() - t0).toBeLessThan(2000);
    expectValidGraph(gs);
    expect(gs.distances[0]).toBe(0);
    expect(() => knnGraph([[1, 2], [1]], 1)).toThrow(RangeError);
  });

  it('approximate search (NN-descent) reaches recall@10 ≥ 0.9 on clustered data', () => {
    for (const dim of [12, 48]) {
      const vs = blobs(7, { classes: 30, per: 200, dim }).map((row) => row.features as number[]);
      const approx = knnGraph(vs, 10, { maxExact: 1000 });
      const exact = knnGraph(vs, 10);
      expect(approx.exact).toBe(false);
      expect(exact.exact).toBe(true);
      expectValidGraph(approx);
      let hits = 0;
      for (let i = 0; i < vs.length; i++) {
        const truth = new Set(exact.indices.subarray(i * 10, i * 10 + 10));
        for (let p = 0; p < 10; p++) if (truth.has(approx.indices[i * 10 + p] as number)) hits++;
      }
      expect(hits / (vs.length * 10)).toBeGreaterThanOrEqual(0.9);
    }
  });
});

describe('dup/vector', () => {
  it('finds planted near-duplicates and exact copies as clusters', () => {
    const rows = blobs(3, { classes: 3, per: 800, dim: 16 });
    const r = mulberry32(4);
    const planted = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const src = rows[i * 53] as ScanRow;
      const exact = i % 4 === 0;
      const id = `dup${i}`;
      planted.add(id);
      rows.push({
        id,
        label: src.label,
        source: null,
        features: (src.features as number[]).map((x) => (exact ? x : x + gaussian(r) * 0.005)),
      });
    }
    // A flood: one vector copied 12 times with tiny noise.
    const flood = rows[7] as ScanRow;
    for (let c = 0; c < 12; c++) {
      planted.add(`flood${c}`);
      rows.push({
        id: `flood${c}`,
        label: 'L1',
        source: null,
        features: (flood.features as number[]).map((x) => x + gaussian(r) * 0.005),
      });
    }
    const res = findVectorDuplicates(rows);
    const flagged = new Set(res.issues.map((i) => i.row));
    const found = [...planted].filter((id) => flagged.has(id)).length;
    expect(found / planted.size).toBeGreaterThanOrEqual(0.9);
    expect(flagged.size - found).toBeLessThanOrEqual(5);
    const exactIssues = res.issues.filter((i) => i.detail.exactCopy === true);
    expect(exactIssues.length).toBe(10);
    for (const i of exactIssues) expect(i.score).toBe(1);
    const floodIssue = res.issues.find((i) => i.row === 'flood3');
    expect(floodIssue?.detail.clusterSize).toBe(13);
    expect(floodIssue?.detail.representative).toBe(flood.id);
    expect(res.summary.clusters).toBeGreaterThanOrEqual(40);
  });

  it('stays quiet on clean blobs', () => {
    const res = findVectorDuplicates(blobs(5, { classes: 4, per: 600, dim: 16 }));
    expect(res.issues.length).toBeLessThanOrEqual(5);
  });
});

describe('outlier/knn', () => {
  it('finds planted outliers in feature space (recall ≥ 0.9)', () => {
    const rows = blobs(8, { classes: 3, per: 1000, dim: 16 });
    const r = mulberry32(9);
    const planted = new Set<string>();
    for (let i = 0; i < 20; i++) {
      planted.add(`out${i}`);
      rows.push({
        id: `out${i}`,
        label: 'L0',
        source: null,
        features: Array.from({ length: 16 }, () => gaussian(r) * 12),
      });
    }
    const res = findKnnOutliers(rows);
    const flagged = new Map(res.issues.map((i) => [i.row, i]));
    const found = [...planted].filter((id) => flagged.has(id)).length;
    expect(found / planted.size).toBeGreaterThanOrEqual(0.9);
    expect(flagged.size).toBeLessThan(100); // permissive rule, but not a flood of flags
    // Planted outliers rank above the clean rows that cross the fence.
    const ranked = res.issues
      .slice()
      .sort((a, b) => b.score - a.score)
      .slice(0, 20);
    expect(ranked.filter((i) => planted.has(i.row)).length).toBeGreaterThanOrEqual(18);
    expect(flagged.get('out0')?.detail.space).toBe('features');
  });

  it('flags few rows on clean blobs, fewer with the strict multiplier', () => {
    const rows = blobs(10, { classes: 3, per: 1000, dim: 16 });
    const ctx = buildNeighborContext(rows);
    const loose = findKnnOutliers(rows, { context: ctx });
    const strict = findKnnOutliers(rows, { context: ctx, iqrMultiplier: 3 });
    expect(loose.issues.length / rows.length).toBeLessThanOrEqual(0.03);
    expect(strict.issues.length).toBeLessThan(loose.issues.length);
  });

  it('finds text outliers in a text-only dataset', () => {
    const r = mulberry32(12);
    const words =
      'the a meeting project report review attached data team update please thanks will call you tomorrow about budget'.split(
        ' ',
      );
    const rows: ScanRow[] = [];
    for (let i = 0; i < 2000; i++) {
      const len = 8 + Math.floor(r() * 20);
      const ws = Array.from({ length: len }, () => words[Math.floor(r() * words.length)] as string);
      ws[0] = (ws[0] as string).charAt(0).toUpperCase() + (ws[0] as string).slice(1);
      rows.push({ id: `t${i}`, label: null, source: null, text: `${ws.join(' ')}.` });
    }
    const odd = [
      'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTA=',
      '4111 1111 1111 1111 0000 9999 1234 5678 2222 3333 4444 5555 6666 7777',
      'BUY NOW!!! FREE $$$ CLICK HERE!!! LIMITED OFFER!!! ACT NOW!!!',
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
      'Заработай миллион рублей прямо сейчас без вложений и риска',
      'x',
      '<div><span>{{payload}}</span><script>alert(1)</script></div>',
      'ok ok ok ok ok ok ok ok ok ok ok ok ok ok ok ok ok ok ok ok ok ok ok ok',
      '0x7f3a 0x11bc 0xdead 0xbeef 0xcafe 0xf00d 0x1234 0x5678',
      '日本語のテキストがここにあります、スパムではありません。',
    ];
    odd.forEach((text, i) => rows.push({ id: `odd${i}`, label: null, source: null, text }));
    const res = findKnnOutliers(rows);
    expect(res.skipped).toBeUndefined();
    const flagged = new Set(res.issues.map((i) => i.row));
    const found = odd.filter((_, i) => flagged.has(`odd${i}`)).length;
    expect(found / odd.length).toBeGreaterThanOrEqual(0.9);
    // Permissive rule (field notes: ~5 % flagged): the planted texts must lead the ranking.
    expect(flagged.size - found).toBeLessThanOrEqual(0.06 * 2000);
    const top = res.issues
      .slice()
      .sort((a, b) => b.score - a.score)
      .slice(0, odd.length);
    expect(top.filter((i) => i.row.startsWith('odd')).length).toBeGreaterThanOrEqual(8);
    expect(res.issues.find((i) => i.row === 'odd0')?.detail.space).toBe('text');
    expect(res.summary.textFeaturesUsed).toContain('nonAscii');
  });

  it('computes the nine text features', () => {
    const out = new Float64Array(TEXT_FEATURE_NAMES.length);
    textFeatures('Hello World 42!', out, 0);
    expect(out[0]).toBeCloseTo(Math.log1p(15), 9);
    expect(out[1]).toBeCloseTo(10 / 15, 9); // letters
    expect(out[2]).toBeCloseTo(2 / 15, 9); // digits
    expect(out[3]).toBeCloseTo(1 / 15, 9); // punctuation
    expect(out[4]).toBeCloseTo(2 / 15, 9); // uppercase
    expect(out[5]).toBeCloseTo(2 / 15, 9); // whitespace
    expect(out[6]).toBe(0); // non-ASCII
    expect(out[7]).toBeCloseTo(13 / 4, 9); // tokens: hello world 42 !
    expect(out[8]).toBe(1);
  });

  it('runs on real e-mail and flags a small share', () => {
    const rows = readFileSync(
      new URL('../../../test/fixtures/spam-100.jsonl', import.meta.url),
      'utf8',
    )
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as ScanRow);
    const res = findKnnOutliers(rows);
    expect(res.skipped).toBeUndefined();
    expect(res.issues.length).toBeLessThanOrEqual(15);
    for (const i of res.issues) expect(i.score).toBeGreaterThanOrEqual(0.5);
  });
});

describe('label/knn', () => {
  it('finds label flips on separable blobs (recall ≥ 0.8)', () => {
    const rows = blobs(13, { classes: 3, per: 1000, dim: 16 });
    const r = mulberry32(14);
    const flipped = new Set<string>();
    for (let i = 0; i < rows.length; i++) {
      if (r() < 0.05) {
        const row = rows[i] as ScanRow;
        const c = Number((row.label as string).slice(1));
        rows[i] = { ...row, label: `L${(c + 1 + Math.floor(r() * 2)) % 3}` };
        flipped.add(row.id);
      }
    }
    const res = findKnnLabelIssues(rows);
    const flagged = new Set(res.issues.map((i) => i.row));
    const found = [...flipped].filter((id) => flagged.has(id)).length;
    expect(found / flipped.size).toBeGreaterThanOrEqual(0.8);
    expect(found / flagged.size).toBeGreaterThanOrEqual(0.8);
    const issue = res.issues.find((i) => flipped.has(i.row));
    expect(issue?.score).toBeGreaterThan(0.5);
    expect(issue?.detail.neighbourLabel).not.toBe(issue?.detail.label);
  });

  it('flags few rows on clean blobs and ignores unlabelled rows', () => {
    const rows = blobs(15, { classes: 3, per: 800, dim: 16 });
    for (let i = 0; i < rows.length; i += 7) rows[i] = { ...(rows[i] as ScanRow), label: null };
    const res = findKnnLabelIssues(rows);
    expect(res.issues.length).toBeLessThanOrEqual(0.01 * rows.length);
    const judged = res.summary.rowsJudged as number;
    expect(judged).toBeLessThanOrEqual(rows.length - Math.ceil(rows.length / 7));
  });

  it('skips without labels, with one class, or without vectors', () => {
    const rows = blobs(16, { classes: 2, per: 30, dim: 8 });
    expect(findKnnLabelIssues(rows.map((r) => ({ ...r, label: null }))).skipped).toBe('no labels');
    expect(findKnnLabelIssues(rows.map((r) => ({ ...r, label: 'x' }))).skipped).toBe(
      'fewer than 2 classes',
    );
    const noVec = rows.map(({ features: _f, ...r }) => ({ ...r, text: 'hello' }));
    expect(findKnnLabelIssues(noVec).skipped).toBe('no row has a feature vector');
  });
});

describe('shared context and bad input', () => {
  it('skips and counts NaN, wrong-length and zero vectors', () => {
    const rows = blobs(17, { classes: 2, per: 100, dim: 8 });
    rows.push({ id: 'nan', label: 'L0', source: null, features: [NaN, 1, 2, 3, 4, 5, 6, 7] });
    rows.push({ id: 'inf', label: 'L0', source: null, features: [Infinity, 1, 2, 3, 4, 5, 6, 7] });
    rows.push({ id: 'short', label: 'L0', source: null, features: [1, 2, 3] });
    rows.push({ id: 'zero', label: 'L0', source: null, features: new Array<number>(8).fill(0) });
    const ctx = buildNeighborContext(rows);
    expect(ctx.stats).toMatchObject({
      dim: 8,
      skippedNonFinite: 2,
      skippedWrongLength: 1,
      skippedZeroVector: 1,
    });
    expect(ctx.features?.graph.n).toBe(200);
    expect(ctx.text).toBeNull();
    const res = findKnnOutliers(rows, { context: ctx });
    expect(res.summary.skippedNonFinite).toBe(2);
  });

  it('gives the same results with a shared context as without', () => {
    const rows = blobs(18, { classes: 2, per: 300, dim: 8 }).map((r, i) => ({
      ...r,
      text: `row ${i} ${'x'.repeat(i % 13)}`,
    }));
    const ctx = buildNeighborContext(rows);
    expect(findKnnOutliers(rows, { context: ctx })).toEqual(findKnnOutliers(rows));
    expect(findVectorDuplicates(rows, { context: ctx })).toEqual(findVectorDuplicates(rows));
    expect(findKnnLabelIssues(rows, { context: ctx })).toEqual(findKnnLabelIssues(rows));
    expect(() => findKnnOutliers(rows.slice(1), { context: ctx })).toThrow(RangeError);
  });

  it('reports monotone progress ending at 1', () => {
    const rows = blobs(19, { classes: 2, per: 200, dim: 8 }).map((r, i) => ({
      ...r,
      text: `row ${i}`,
    }));
    for (const run of [findKnnOutliers, findVectorDuplicates, findKnnLabelIssues]) {
      const seen: number[] = [];
      run(rows, {}, (f) => seen.push(f));
      expect(seen.length).toBeGreaterThan(1);
      for (let i = 1; i < seen.length; i++)
        expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1] as number);
      expect(seen.at(-1)).toBe(1);
    }
  });

  it('skips empty and tiny inputs', () => {
    expect(findVectorDuplicates([]).skipped).toBe('fewer than 2 rows');
    expect(findKnnOutliers([]).skipped).toBe('fewer than 20 rows');
    const noVectors: ScanRow[] = Array.from({ length: 30 }, (_, i) => ({
      id: String(i),
      label: 'a',
      source: null,
    }));
    expect(findVectorDuplicates(noVectors).skipped).toBe('no row has a feature vector');
    expect(findKnnOutliers(noVectors).skipped).toContain('features: no row has a feature vector');
    expect([vectorNearDuplicates.id, knnOutlierDetector.id, knnLabelDetector.id]).toEqual([
      'dup/vector',
      'outlier/knn',
      'label/knn',
    ]);
  });
});
