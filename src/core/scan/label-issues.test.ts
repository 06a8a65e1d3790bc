import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { detectLabelIssues, labelConfidentLearning, MIN_LABELLED_ROWS } from './label-issues.js';
import { gaussian, mulberry32, shuffleInPlace } from './random.js';
import type { DetectorResult, ScanRow } from './types.js';

function loadSpam(): ScanRow[] {
  const raw = gunzipSync(
    readFileSync(new URL('../../../data/spamassassin/sample.jsonl.gz', import.meta.url)),
  ).toString('utf8');
  return raw
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: string; label: string; source: string; text: string })
    .map(({ id, label, source, text }) => ({ id, label, source, text }));
}

/** Flips `count` labels chosen (seeded) among rows accepted by `from`, to `to(label)`. */
function flip(
  rows: readonly ScanRow[],
  count: number,
  seed: number,
  from: (r: ScanRow) => boolean,
  to: (label: string, rand: () => number) => string,
): { rows: ScanRow[]; flipped: Set<string> } {
  const rand = mulberry32(seed);
  const idx = rows.map((_, i) => i).filter((i) => from(rows[i]!));
  shuffleInPlace(idx, rand);
  const out = rows.map((r) => ({ ...r }));
  const flipped = new Set<string>();
  for (const i of idx.slice(0, count)) {
    out[i]!.label = to(out[i]!.label!, rand);
    flipped.add(out[i]!.id);
  }
  return { rows: out, flipped };
}

function f1(result: DetectorResult, truth: Set<string>): { p: number; r: number; f1: number } {
  let tp = 0;
  for (const is of result.issues) if (truth.has(is.row)) tp++;
  const p = result.issues.length ? tp / result.issues.length : 0;
  const r = truth.size ? tp / truth.size : 0;
  return { p, r, f1: p + r > 0 ? (2 * p * r) / (p + r) : 0 };
}

const row = (id: number, label: string | null, text?: string, features?: number[]): ScanRow => ({
  id: `r${id}`,
  label,
  source: null,
  ...(text === undefined ? {} : { text }),
  ...(features === undefined ? {} : { features }),
});

/** Topic texts: class k uses its own 40 words 25 % of the time, 300 shared words otherwise. */
function topicRows(n: number, K: number, seed: number): ScanRow[] {
  const rand = mulberry32(seed);
  return Array.from({ length: n }, (_, i) => {
    const k = i % K;
    const len = 8 + Math.floor(rand() * 25);
    const words = Array.from({ length: len }, () =>
      rand() < 0.25
        ? `topic${k}word${Math.floor(rand() * 40)}`
        : `shared${Math.floor(rand() ** 2 * 300)}`,
    );
    return row(i, `class-${k}`, words.join(' '));
  });
}

/** K Gaussian blobs in D dims, means on a simplex `dist` apart, columns rescaled and shifted. */
function blobRows(n: number, K: number, D: number, dist: number, seed: number): ScanRow[] {
  const rand = mulberry32(seed);
  const scale = Array.from({ length: D }, () => 0.5 + 3 * rand());
  const offset = Array.from({ length: D }, () => 5 * gaussian(rand));
  return Array.from({ length: n }, (_, i) => {
    const k = i % K;
    const f = Array.from(
      { length: D },
      (_, d) => ((d === k ? dist / Math.SQRT2 : 0) + gaussian(rand)) * scale[d]! + offset[d]!,
    );
    return row(i, `c${k}`, undefined, f);
  });
}

const otherOf = (labels: string[]) => (label: string, rand: () => number) => {
  const others = labels.filter((l) => l !== label);
  return others[Math.floor(rand() * others.length)]!;
};

describe('label/confident-learning: skips', () => {
  it('says why it cannot run', () => {
    expect(detectLabelIssues([]).skipped).toBe('no rows');
    const texts = Array.from({ length: 20 }, (_, i) => row(i, null, `text ${i}`));
    expect(detectLabelIssues(texts).skipped).toMatch(/no labels/);
    const one = texts.map((r) => ({ ...r, label: 'a' }));
    expect(detectLabelIssues(one).skipped).toMatch(/one class only/);
    const bare = Array.from({ length: 20 }, (_, i) => row(i, i % 2 ? 'a' : 'b'));
    expect(detectLabelIssues(bare).skipped).toBe('no text and no usable feature vectors');
    const nan = Array.from({ length: 20 }, (_, i) =>
      row(i, i % 2 ? 'a' : 'b', undefined, [NaN, 1]),
    );
    const r = detectLabelIssues(nan);
    expect(r.skipped).toBe('no text and no usable feature vectors');
    expect(r.summary.input).toMatchObject({ badFeatureRows: 20 });
    const blank = Array.from({ length: 20 }, (_, i) => row(i, i % 2 ? 'a' : 'b', ' \n '));
    expect(detectLabelIssues(blank).skipped).toMatch(/no row has usable input/);
    const few = Array.from({ length: 6 }, (_, i) => row(i, i % 2 ? 'a' : 'b', `w${i}`));
    expect(detectLabelIssues(few).skipped).toMatch(new RegExp(`need ${MIN_LABELLED_ROWS}`));
    const singletons = Array.from({ length: 30 }, (_, i) =>
      row(i, i < 28 ? 'a' : `odd${i}`, `w${i}`),
    );
    expect(detectLabelIssues(singletons).skipped).toMatch(/fewer than 2 classes/);
    const ids = Array.from({ length: 1200 }, (_, i) => row(i, `id${i}`, 'x'));
    expect(detectLabelIssues(ids).skipped).toMatch(/looks like an id/);
  });

  it('excludes tiny classes and unlabelled rows, reduces folds, and reports them', () => {
    const rows = topicRows(200, 2, 1);
    rows.push(
      row(900, 'rare', 'topic0word1 shared3'),
      row(901, 'small', 'a b c'),
      row(902, 'small', 'd e f'),
      row(903, 'small', 'g h'),
    );
    rows.push(row(904, null, 'topic1word2 shared1'), row(905, 'class-0', ''));
    const r = detectLabelIssues(rows);
    expect(r.skipped).toBeUndefined();
    expect(r.summary.excludedClasses).toEqual([{ label: 'rare', rows: 1 }]);
    expect(r.summary.labels).toEqual(['class-0', 'class-1', 'small']);
    expect(r.summary.folds).toBe(3);
    expect(r.summary.unlabelledRows).toBe(1);
    expect(r.summary.labelledRowsUsed).toBe(203);
    const flaggedRows = new Set(r.issues.map((i) => i.row));
    for (const id of ['r900', 'r904', 'r905']) expect(flaggedRows.has(id)).toBe(false);
  });

  it('survives a 1 MB text and mixed-length vectors', () => {
    const rows = topicRows(100, 2, 2).map((r, i) => ({
      ...r,
      features: i === 7 ? [1, 2] : [i % 3, (i * 7) % 5, 1],
    }));
    rows[3] = { ...rows[3]!, text: 'topic1word3 '.repeat(100_000) };
    const r = detectLabelIssues(rows);
    expect(r.skipped).toBeUndefined();
    expect(r.summary.input).toMatchObject({
      badFeatureRows: 1,
      featureLength: 3,
      featureColumns: 2,
      droppedConstantColumns: 1,
    });
  });
});

describe('label/confident-learning: planted flips', () => {
  it('finds 5 % random flips in synthetic topic texts (K = 3) and stays quiet on clean ones', () => {
    const clean = topicRows(3000, 3, 11);
    const labels = ['class-0', 'class-1', 'class-2'];
    const { rows, flipped } = flip(clean, 150, 12, () => true, otherOf(labels));
    const res = detectLabelIssues(rows);
    const m = f1(res, flipped);
    expect(m.f1).toBeGreaterThanOrEqual(0.8);
    expect(res.summary.estimatedNoiseRate).toBeGreaterThan(0.03);
    expect(detectLabelIssues(clean).issues.length).toBeLessThan(30);
  });

  it('finds 5 % flips in tabular Gaussian blobs (3 classes, 10 features)', () => {
    for (const seed of [1, 2]) {
      const clean = blobRows(3000, 3, 10, 4.5, seed);
      const { rows, flipped } = flip(
        clean,
        150,
        seed + 100,
        () => true,
        otherOf(['c0', 'c1', 'c2']),
      );
      const res = detectLabelIssues(rows);
      expect(res.summary.input).toMatchObject({ textDim: 0, featureColumns: 10 });
      expect(f1(res, flipped).f1).toBeGreaterThanOrEqual(0.8);
      expect(detectLabelIssues(clean).issues.length).toBeLessThan(30);
    }
  });
});

describe('label/confident-learning: SpamAssassin sample', () => {
  const spam = loadSpam();

  it('flags few rows of the clean sample', () => {
    const res = labelConfidentLearning.run(spam, {}) as DetectorResult;
    expect(res.skipped).toBeUndefined();
    // Measured: 1 row (hard-ham-1/00007, a German fax-service newsletter that reads like spam).
    expect(res.issues.length).toBeLessThanOrEqual(15);
    expect(res.summary.outOfFoldAccuracy as number).toBeGreaterThan(0.95);
    for (const is of res.issues) {
      expect(is.kind).toBe('label');
      expect(is.detail.givenLabel).not.toBe(is.detail.suggestedLabel);
      expect(is.score).toBeCloseTo(1 - (is.detail.selfConfidence as number), 3);
    }
  });

  it('finds 5 % random flips with F1 ≥ 0.8', () => {
    const { rows, flipped } = flip(
      spam,
      Math.round(0.05 * spam.length),
      1,
      () => true,
      (l) => (l === 'spam' ? 'ham' : 'spam'),
    );
    const res = detectLabelIssues(rows);
    const m = f1(res, flipped);
    expect(m.f1).toBeGreaterThanOrEqual(0.8);
    expect(res.issues.length).toBeGreaterThan(0);
    for (let i = 1; i < res.issues.length; i++)
      expect(res.issues[i - 1]!.score).toBeGreaterThanOrEqual(res.issues[i]!.score);
    expect(res.summary.estimatedNoiseRate as number).toBeGreaterThan(0.03);
    expect(res.summary.estimatedNoiseRate as number).toBeLessThan(0.08);
  });

  it('finds class-targeted flips (5 % of one class moved to the other) with F1 ≥ 0.8', () => {
    for (const [from, to] of [
      ['ham', 'spam'],
      ['spam', 'ham'],
    ] as const) {
      const n = spam.filter((r) => r.label === from).length;
      const { rows, flipped } = flip(
        spam,
        Math.round(0.05 * n),
        2,
        (r) => r.label === from,
        () => to,
      );
      const res = detectLabelIssues(rows);
      expect(f1(res, flipped).f1).toBeGreaterThanOrEqual(0.8);
      const perClass = res.summary.flaggedPerClass as Record<string, number>;
      expect(perClass[to]!).toBeGreaterThan(perClass[from]!);
    }
  });

  it('is deterministic', () => {
    const sub = spam.filter((_, i) => i % 4 === 0);
    expect(detectLabelIssues(sub)).toEqual(detectLabelIssues(sub));
  });
});
