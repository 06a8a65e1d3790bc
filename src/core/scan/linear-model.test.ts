import { describe, expect, it } from 'vitest';
import { featurize, type Csr } from './hashed-features.js';
import {
  autoEpochs,
  foldRows,
  MAX_EPOCHS,
  MIN_EPOCHS,
  outOfFoldProba,
  predictProba,
  stratifiedFolds,
  trainFold,
  trainSoftmax,
} from './linear-model.js';
import { gaussian, mulberry32 } from './random.js';
import type { ScanRow } from './types.js';

/** K Gaussian blobs in D dims (class k's mean is `sep` along axis k), as feature rows. */
function blobs(
  n: number,
  K: number,
  D: number,
  sep: number,
  seed: number,
): { X: Csr; y: Int32Array } {
  const rand = mulberry32(seed);
  const rows: ScanRow[] = [];
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % K;
    y[i] = k;
    rows.push({
      id: String(i),
      label: null,
      source: null,
      features: Array.from({ length: D }, (_, d) => (d === k ? sep : 0) + gaussian(rand)),
    });
  }
  return { X: featurize(rows).X, y };
}

/** Topic texts: each class has 30 own words, mixed with 200 shared words. */
function topics(n: number, K: number, seed: number): { X: Csr; y: Int32Array } {
  const rand = mulberry32(seed);
  const rows: ScanRow[] = [];
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = Math.floor(rand() * K);
    y[i] = k;
    const words: string[] = [];
    for (let j = 0; j < 20; j++)
      words.push(
        rand() < 0.25 ? `t${k}w${Math.floor(rand() * 30)}` : `s${Math.floor(rand() * 200)}`,
      );
    rows.push({ id: String(i), label: null, source: null, text: words.join(' ') });
  }
  return { X: featurize(rows).X, y };
}

const argmax = (P: Float32Array, K: number, i: number): number => {
  let b = 0;
  for (let k = 1; k < K; k++) if (P[i * K + k]! > P[i * K + b]!) b = k;
  return b;
};

function accuracy(P: Float32Array, y: Int32Array, K: number): number {
  let c = 0;
  for (let i = 0; i < y.length; i++) if (argmax(P, K, i) === y[i]) c++;
  return c / y.length;
}

describe('trainSoftmax / predictProba', () => {
  it('fits separable blobs for K = 2, 3 and 5, probabilities sum to 1', () => {
    for (const K of [2, 3, 5]) {
      const train = blobs(1500, K, 8, 4, 1);
      const test = blobs(600, K, 8, 4, 2);
      const m = trainSoftmax(train.X, train.y, K, { seed: 1 });
      // Same standardisation is not shared between sets here; blobs are centred alike.
      const P = predictProba(m, test.X);
      expect(P.length).toBe(600 * K);
      for (let i = 0; i < 600; i++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += P[i * K + k]!;
        expect(s).toBeCloseTo(1, 5);
      }
      expect(accuracy(P, test.y, K)).toBeGreaterThan(0.93);
    }
  });

  it('fits hashed text', () => {
    const train = topics(2000, 4, 3);
    const test = topics(500, 4, 4);
    const m = trainSoftmax(train.X, train.y, 4);
    expect(accuracy(predictProba(m, test.X), test.y, 4)).toBeGreaterThan(0.95);
  });

  it('is deterministic for a seed and depends on it', () => {
    const { X, y } = topics(500, 3, 5);
    const a = trainSoftmax(X, y, 3, { seed: 9, epochs: 3 });
    const b = trainSoftmax(X, y, 3, { seed: 9, epochs: 3 });
    const c = trainSoftmax(X, y, 3, { seed: 10, epochs: 3 });
    const bytes = (w: Float32Array): Buffer => Buffer.from(w.buffer, w.byteOffset, w.byteLength);
    expect(bytes(a.W).equals(bytes(b.W))).toBe(true);
    expect(a.b).toEqual(b.b);
    expect(bytes(a.W).equals(bytes(c.W))).toBe(false);
  });

  it('ignores rows without a label in [0, K) and predicts a subset of rows in order', () => {
    const { X, y } = blobs(300, 2, 4, 4, 6);
    const y2 = y.slice();
    for (let i = 0; i < 300; i += 3) y2[i] = -1;
    const m = trainSoftmax(X, y2, 2);
    const rows = Int32Array.from([5, 0, 299]);
    const P = predictProba(m, X, rows);
    const all = predictProba(m, X);
    expect(Array.from(P)).toEqual([
      ...all.subarray(10, 12),
      ...all.subarray(0, 2),
      ...all.subarray(598, 600),
    ]);
  });

  it('class weights move probabilities towards a rare class', () => {
    // 90 % class 0, overlapping blobs: balanced training predicts class 1 more often.
    const rand = mulberry32(11);
    const rows: ScanRow[] = [];
    const y = new Int32Array(2000);
    for (let i = 0; i < 2000; i++) {
      const k = i % 10 === 0 ? 1 : 0;
      y[i] = k;
      rows.push({
        id: String(i),
        label: null,
        source: null,
        features: [k * 1.5 + gaussian(rand), gaussian(rand)],
      });
    }
    const { X } = featurize(rows);
    const ones = (P: Float32Array): number =>
      y.reduce((s, _, i) => s + (argmax(P, 2, i) === 1 ? 1 : 0), 0);
    const plain = ones(predictProba(trainSoftmax(X, y, 2), X));
    const balanced = ones(predictProba(trainSoftmax(X, y, 2, { balanced: true }), X));
    expect(balanced).toBeGreaterThan(plain * 2);
  });

  it('rejects K < 2 and mismatched labels', () => {
    const { X, y } = blobs(10, 2, 2, 3, 1);
    expect(() => trainSoftmax(X, y, 1)).toThrow(RangeError);
    expect(() => trainSoftmax(X, y.subarray(1), 2)).toThrow(RangeError);
  });

  it('chooses more epochs for small sets, fewer for big ones', () => {
    expect(autoEpochs(100)).toBe(MAX_EPOCHS);
    expect(autoEpochs(800_000)).toBe(MIN_EPOCHS);
    expect(autoEpochs(0)).toBe(MIN_EPOCHS);
  });
});

describe('stratifiedFolds', () => {
  it('spreads every class evenly over the folds and is seeded', () => {
    const y = new Int32Array(1000);
    for (let i = 0; i < 1000; i++) y[i] = i < 700 ? 0 : i < 990 ? 1 : i < 997 ? 2 : -1;
    const f = stratifiedFolds(y, 3, 5, 1);
    for (const k of [0, 1, 2, -1]) {
      const per = [0, 0, 0, 0, 0];
      for (let i = 0; i < 1000; i++) if (y[i] === k) per[f[i]!]!++;
      expect(Math.max(...per) - Math.min(...per)).toBeLessThanOrEqual(1);
    }
    let total = 0;
    for (let fold = 0; fold < 5; fold++) total += foldRows(f, fold).length;
    expect(total).toBe(1000);
    expect(stratifiedFolds(y, 3, 5, 1)).toEqual(f);
    expect(stratifiedFolds(y, 3, 5, 2)).not.toEqual(f);
    expect(() => stratifiedFolds(y, 3, 1)).toThrow(RangeError);
  });
});

describe('outOfFoldProba', () => {
  it('predicts each row with a model that never saw it', () => {
    // Each row carries a unique token plus shared class words; row 0's unique token is absent
    // elsewhere, so an in-sample model would memorise its (wrong) label, an out-of-fold one cannot.
    const rand = mulberry32(21);
    const rows: ScanRow[] = [];
    const y = new Int32Array(400);
    for (let i = 0; i < 400; i++) {
      const k = i % 2;
      y[i] = k;
      const words = Array.from({ length: 8 }, () => `c${k}w${Math.floor(rand() * 10)}`);
      rows.push({ id: String(i), label: null, source: null, text: `${words.join(' ')} uniq${i}` });
    }
    y[0] = 1; // wrong label, text says class 0
    const { X } = featurize(rows);
    const P = outOfFoldProba(X, y, 2, 5, 3);
    expect(P[0 * 2 + 0]!).toBeGreaterThan(0.8);
    const inSample = predictProba(trainSoftmax(X, y, 2, { epochs: 30 }), X);
    expect(inSample[0 * 2 + 1]!).toBeGreaterThan(P[0 * 2 + 1]!);
    expect(accuracy(P, y, 2)).toBeGreaterThan(0.97);
  });

  it('matches trainFold + predictProba fold by fold (the parallel path)', () => {
    const { X, y } = topics(600, 3, 8);
    const P = outOfFoldProba(X, y, 3, 4, 5, { epochs: 4 });
    const folds = stratifiedFolds(y, 3, 4, 5);
    const Q = new Float32Array(600 * 3);
    for (let f = 0; f < 4; f++) {
      const rows = foldRows(folds, f);
      const part = predictProba(trainFold(X, y, 3, folds, f, { epochs: 4, seed: 5 }), X, rows);
      rows.forEach((r, j) => Q.set(part.subarray(j * 3, j * 3 + 3), r * 3));
    }
    expect(Q).toEqual(P);
  });

  it('reports progress per fold', () => {
    const { X, y } = blobs(100, 2, 3, 3, 2);
    const seen: number[] = [];
    outOfFoldProba(X, y, 2, 5, 1, {}, (f) => seen.push(f));
    expect(seen).toEqual([0.2, 0.4, 0.6, 0.8, 1]);
  });
});
