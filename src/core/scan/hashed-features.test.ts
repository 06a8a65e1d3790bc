import { describe, expect, it } from 'vitest';
import {
  concatCsr,
  DEFAULT_FEATURE_TOKENS,
  featurize,
  featurizeRange,
  hashTextFeatures,
  MAX_Z,
  planFeatures,
  type Csr,
} from './hashed-features.js';
import { gaussian, mulberry32 } from './random.js';
import type { ScanRow } from './types.js';

const row = (id: number, text?: string, features?: number[]): ScanRow => ({
  id: String(id),
  label: null,
  source: null,
  ...(text === undefined ? {} : { text }),
  ...(features === undefined ? {} : { features }),
});

function rowEntries(X: Csr, r: number): Map<number, number> {
  const m = new Map<number, number>();
  for (let q = X.indptr[r]!; q < X.indptr[r + 1]!; q++) m.set(X.indices[q]!, X.values[q]!);
  return m;
}

function rowNorm(X: Csr, r: number, lo = 0, hi = Infinity): number {
  let s = 0;
  for (let q = X.indptr[r]!; q < X.indptr[r + 1]!; q++) {
    const c = X.indices[q]!;
    if (c >= lo && c < hi) s += X.values[q]! ** 2;
  }
  return Math.sqrt(s);
}

describe('featurize: text', () => {
  it('builds a CSR matrix with sorted unique columns and unit-norm rows', () => {
    const rows = [
      row(0, 'Free money, click here now!'),
      row(1, 'Meeting moved to 3pm; see agenda.'),
      row(2, 'free MONEY free money'),
    ];
    const { X, dim, skipped } = featurize(rows);
    expect(dim).toBe(1 << 18);
    expect(X.rows).toBe(3);
    expect(X.indptr[0]).toBe(0);
    expect(skipped).toEqual([]);
    for (let r = 0; r < 3; r++) {
      expect(X.indptr[r + 1]! > X.indptr[r]!).toBe(true);
      for (let q = X.indptr[r]! + 1; q < X.indptr[r + 1]!; q++)
        expect(X.indices[q]!).toBeGreaterThan(X.indices[q - 1]!);
      expect(rowNorm(X, r)).toBeCloseTo(1, 5);
    }
  });

  it('is case-insensitive, deterministic and order-sensitive only through bigrams', () => {
    const a = featurize([row(0, 'Alpha beta gamma')]).X;
    const b = featurize([row(0, 'alpha BETA Gamma')]).X;
    expect([...rowEntries(a, 0)]).toEqual([...rowEntries(b, 0)]);
    const uni = featurize([row(0, 'alpha beta gamma'), row(1, 'gamma beta alpha')], {
      bigrams: false,
    }).X;
    expect([...rowEntries(uni, 0)]).toEqual([...rowEntries(uni, 1)]);
    const bi = featurize([row(0, 'alpha beta gamma'), row(1, 'gamma beta alpha')]).X;
    expect([...rowEntries(bi, 0)]).not.toEqual([...rowEntries(bi, 1)]);
    // 3 unigrams + 2 bigrams, no collisions expected in 2^18 buckets.
    expect(bi.indptr[1]).toBe(5);
  });

  it('uses sublinear tf (1 + ln c) and signed hashing', () => {
    const { X } = featurize([row(0, 'spam spam spam spam eggs')], { bigrams: false });
    const vals = [...rowEntries(X, 0).values()].map(Math.abs).sort((x, y) => x - y);
    expect(vals.length).toBe(2);
    expect(vals[1]! / vals[0]!).toBeCloseTo(1 + Math.log(4), 5);
    // Signs come from a hash bit: over many distinct words both signs occur.
    const words = Array.from({ length: 200 }, (_, i) => `w${i}`).join(' ');
    const many = featurize([row(0, words)], { bigrams: false }).X;
    const neg = [...rowEntries(many, 0).values()].filter((v) => v < 0).length;
    expect(neg).toBeGreaterThan(60);
    expect(neg).toBeLessThan(140);
  });

  it('adds sub-words of tokens with inner punctuation, and character n-grams on request', () => {
    const plain = featurize([row(0, 'http://cheap.pills.example')], {
      subwords: false,
      bigrams: false,
    }).X;
    const sub = featurize([row(0, 'http://cheap.pills.example')], { bigrams: false }).X;
    expect(plain.indptr[1]).toBe(1);
    expect(sub.indptr[1]).toBe(5); // the URL + http, cheap, pills, example
    const word = featurize([row(0, 'cheap')], { bigrams: false }).X;
    const cheapCol = word.indices[0]!;
    expect(rowEntries(sub, 0).has(cheapCol)).toBe(true);
    const chars = featurize([row(0, 'abcd')], { bigrams: false, charNgrams: [3, 5] }).X;
    // " abcd " (6 chars): 4 trigrams + 3 four-grams + 2 five-grams + the word itself.
    expect(chars.indptr[1]).toBe(10);
  });

  it('caps the work on a 1 MB text', () => {
    const huge = 'lorem ipsum dolor sit amet '.repeat(40_000);
    expect(huge.length).toBeGreaterThan(1_000_000);
    const out = new Uint32Array(4 * DEFAULT_FEATURE_TOKENS);
    const { plan } = planFeatures([row(0, huge)]);
    const m = hashTextFeatures(huge, plan, out);
    expect(m).toBeLessThanOrEqual(2 * DEFAULT_FEATURE_TOKENS);
    const blob = 'x'.repeat(1_000_000); // one giant token
    const t0 = performance.now();
    const { X } = featurize([row(0, huge), row(1, blob)]);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(X.indptr[1]).toBeLessThan(20);
    expect(X.indptr[2]! - X.indptr[1]!).toBe(1);
  });

  it('reports rows without usable input as skipped (empty rows in X)', () => {
    const { X, skipped } = featurize([
      row(0, 'hello world'),
      row(1, ''),
      row(2),
      row(3, '   \n\t '),
    ]);
    expect(skipped).toEqual([1, 2, 3]);
    expect(X.indptr[4]).toBe(X.indptr[1]);
  });

  it('handles an empty row list', () => {
    const f = featurize([]);
    expect(f.X.rows).toBe(0);
    expect(f.dim).toBe(0);
    expect(f.X.indptr).toEqual(new Int32Array([0]));
  });
});

describe('featurize: feature vectors', () => {
  const rand = mulberry32(7);
  const tab = Array.from({ length: 500 }, (_, i) =>
    row(i, undefined, [
      10 + 3 * gaussian(rand),
      -200 + 50 * gaussian(rand),
      4,
      gaussian(rand) * 1e-3,
    ]),
  );

  it('standardises columns, drops constant ones and gives the block norm ≈ 1', () => {
    const { X, dim, stats } = featurize(tab);
    expect(dim).toBe(3);
    expect(stats.droppedConstantColumns).toBe(1);
    const sums = [0, 0, 0];
    const sq = [0, 0, 0];
    let norm2 = 0;
    for (let r = 0; r < X.rows; r++) {
      for (const [c, v] of rowEntries(X, r)) {
        sums[c]! += v;
        sq[c]! += v * v;
      }
      norm2 += rowNorm(X, r) ** 2;
    }
    for (let c = 0; c < 3; c++) {
      expect(Math.abs(sums[c]! / X.rows)).toBeLessThan(1e-6);
      // z-scores times 1/sqrt(3): variance 1/3 per column.
      expect(sq[c]! / X.rows).toBeCloseTo(1 / 3, 2);
    }
    expect(norm2 / X.rows).toBeCloseTo(1, 1);
  });

  it('clips extreme z-scores', () => {
    const rows = Array.from({ length: 1000 }, (_, i) =>
      row(i, undefined, [i === 0 ? 1e9 : i % 7, i % 3]),
    );
    const { X } = featurize(rows);
    const v = rowEntries(X, 0).get(0)!;
    expect(v).toBeCloseTo(MAX_Z / Math.sqrt(2), 5);
  });

  it('skips NaN and wrong-length vectors and counts them', () => {
    const rows = [
      row(0, undefined, [1, 2, 3]),
      row(1, undefined, [2, 3, 1]),
      row(2, undefined, [NaN, 1, 2]),
      row(3, undefined, [1, 2]),
      row(4, 'some text', [1, Infinity, 2]),
      row(5, undefined, [3, 1, 2]),
    ];
    const { X, skipped, stats } = featurize(rows);
    expect(stats.featureLength).toBe(3);
    expect(stats.badFeatureRows).toBe(3);
    expect(stats.featureRows).toBe(3);
    expect(skipped).toEqual([2, 3]);
    // Row 4 keeps its text block only.
    for (const c of rowEntries(X, 4).keys()) expect(c).toBeLessThan(1 << 18);
  });

  it('normalises embeddings as they are in normalize mode', () => {
    const { X, dim } = featurize([row(0, undefined, [3, 4, 0]), row(1, undefined, [1, 1, 1])], {
      featureMode: 'normalize',
    });
    expect(dim).toBe(3);
    expect([...rowEntries(X, 0)]).toEqual([
      [0, expect.closeTo(0.6, 6) as number],
      [1, expect.closeTo(0.8, 6) as number],
    ]);
    expect(rowNorm(X, 1)).toBeCloseTo(1, 6);
  });

  it('concatenates the text and feature blocks', () => {
    const rows = [
      row(0, 'hello there', [1, 5]),
      row(1, 'general kenobi', [2, 7]),
      row(2, undefined, [3, 6]),
    ];
    const { X, dim, textDim, featureColumns } = featurize(rows);
    expect(textDim).toBe(1 << 18);
    expect(featureColumns).toBe(2);
    expect(dim).toBe(textDim + 2);
    expect(rowNorm(X, 0, 0, textDim)).toBeCloseTo(1, 5);
    expect(rowNorm(X, 0, textDim, dim)).toBeGreaterThan(0);
    expect([...rowEntries(X, 2).keys()].every((c) => c >= textDim)).toBe(true);
  });
});

describe('featurizeRange / concatCsr', () => {
  it('featurising ranges and joining them equals featurising at once', () => {
    const rand = mulberry32(3);
    const words = ['a', 'bb', 'ccc', 'free', 'money', 'meeting', 'report', '$$$', 'now!'];
    const rows = Array.from({ length: 300 }, (_, i) =>
      row(
        i,
        Array.from({ length: 3 + (i % 9) }, () => words[Math.floor(rand() * words.length)]!).join(
          ' ',
        ),
        [i % 5, gaussian(rand)],
      ),
    );
    const whole = featurize(rows).X;
    const { plan } = planFeatures(rows);
    const parts = [
      featurizeRange(rows, plan, 0, 100).X,
      featurizeRange(rows, plan, 100, 117).X,
      featurizeRange(rows, plan, 117, 300).X,
    ];
    const joined = concatCsr(parts);
    expect(joined.rows).toBe(300);
    expect(joined.indptr).toEqual(whole.indptr);
    expect(joined.indices).toEqual(whole.indices);
    expect(joined.values).toEqual(whole.values);
  });
});
