import { describe, expect, it } from 'vitest';
import { MultinomialNB } from './naive-bayes.js';
import type { Bags } from './naive-bayes.js';
import { mulberry32 } from './random.js';

/** Random bags: class c prefers features [c*5, c*5+5), every feature common enough to be in the vocabulary everywhere. */
function toy(rows: number, K: number, F: number, seed: number): { bags: Bags; labels: Int32Array } {
  const rand = mulberry32(seed);
  const offsets = new Int32Array(rows + 1);
  const ids: number[] = [];
  const labels = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const c = Math.floor(rand() * K);
    labels[r] = c;
    const len = 5 + Math.floor(rand() * 10);
    for (let k = 0; k < len; k++) {
      ids.push(rand() < 0.4 ? c * 5 + Math.floor(rand() * 5) : Math.floor(rand() * F));
    }
    offsets[r + 1] = ids.length;
  }
  return { bags: { offsets, ids: Int32Array.from(ids) }, labels };
}

function rowIds(bags: Bags, r: number): number[] {
  return Array.from(bags.ids.subarray(bags.offsets[r], bags.offsets[r + 1]));
}

describe('MultinomialNB', () => {
  it('matches a hand computation of the log scores', () => {
    // Two classes, three features; class 0: rows [0,0,1], class 1: rows [2], [2,1].
    const bags: Bags = { offsets: Int32Array.of(0, 3, 4, 6), ids: Int32Array.of(0, 0, 1, 2, 2, 1) };
    const labels = Int32Array.of(0, 1, 1);
    const nb = MultinomialNB.train(bags, labels, { numClasses: 2, numFeatures: 3 });
    const s = nb.logScores([0, 2], new Float64Array(2));
    // V = 3, alpha = 1. Class 0: counts (2,1,0), total 3; class 1: counts (0,1,2), total 3.
    const e0 = Math.log(1) + Math.log(3 / 6) + Math.log(1 / 6);
    const e1 = Math.log(2) + Math.log(1 / 6) + Math.log(3 / 6);
    // log-numerators are stored as float32: ~1e-7 relative.
    expect(s[0]).toBeCloseTo(e0, 6);
    expect(s[1]).toBeCloseTo(e1, 6);
    expect(nb.predict([0, 0])).toBe(0);
    expect(nb.predict([2, 2, 1])).toBe(1);
  });

  it('learns separable classes', () => {
    const { bags, labels } = toy(600, 3, 40, 1);
    const nb = MultinomialNB.train(bags, labels, { numClasses: 3, numFeatures: 40 });
    let ok = 0;
    for (let r = 0; r < 600; r++) if (nb.predict(rowIds(bags, r)) === labels[r]) ok++;
    expect(ok / 600).toBeGreaterThan(0.9);
  });

  it('predictLeftOut equals a model retrained without those rows and features', () => {
    for (const binary of [false, true]) {
      const { bags, labels } = toy(400, 3, 30, 7);
      const rand = mulberry32(3);
      const leftOut: number[] = [];
      for (let r = 0; r < 400; r++) if (rand() < 0.2) leftOut.push(r);
      const dropped = [1, 7, 12];
      const full = MultinomialNB.train(bags, labels, { numClasses: 3, numFeatures: 30, binary });
      const fresh = MultinomialNB.train(bags, labels, {
        numClasses: 3,
        numFeatures: 30,
        binary,
        excludedRows: leftOut,
        excludedFeatures: dropped,
      });
      const all = Array.from({ length: 400 }, (_, r) => r);
      const pred = full.predictLeftOut(bags, labels, leftOut, dropped, all);
      let same = 0;
      for (let r = 0; r < 400; r++) if (pred[r] === fresh.predict(rowIds(bags, r))) same++;
      expect(same).toBe(400);
      // The scratch space is restored: the full model predicts as before.
      const again = full.predictLeftOut(bags, labels, [], [], all);
      for (let r = 0; r < 400; r++) expect(again[r]).toBe(full.predict(rowIds(bags, r)));
    }
  });

  it('predictLeaveOneOut equals retraining without each row', () => {
    const { bags, labels } = toy(150, 2, 12, 11);
    const full = MultinomialNB.train(bags, labels, {
      numClasses: 2,
      numFeatures: 12,
      binary: true,
    });
    const rows = Array.from({ length: 150 }, (_, r) => r);
    const pred = full.predictLeaveOneOut(bags, labels, [3], rows);
    for (const r of rows) {
      const fresh = MultinomialNB.train(bags, labels, {
        numClasses: 2,
        numFeatures: 12,
        binary: true,
        excludedRows: [r],
        excludedFeatures: [3],
      });
      expect(pred[r]).toBe(fresh.predict(rowIds(bags, r)));
    }
  });

  it('binary mode counts a feature once per row', () => {
    const dup: Bags = { offsets: Int32Array.of(0, 4, 6), ids: Int32Array.of(0, 0, 0, 1, 2, 2) };
    const once: Bags = { offsets: Int32Array.of(0, 2, 3), ids: Int32Array.of(0, 1, 2) };
    const labels = Int32Array.of(0, 1);
    const a = MultinomialNB.train(dup, labels, { numClasses: 2, numFeatures: 3, binary: true });
    const b = MultinomialNB.train(once, labels, { numClasses: 2, numFeatures: 3 });
    const sa = a.logScores([0, 2, 1], new Float64Array(2));
    const sb = b.logScores([0, 2, 1], new Float64Array(2));
    expect(sa[0]).toBeCloseTo(sb[0]!, 12);
    expect(sa[1]).toBeCloseTo(sb[1]!, 12);
  });

  it('keepPriors keeps a mostly left-out class predictable', () => {
    // Class 0 is 90 % of rows; leaving out most of class 0 must not flip everything to class 1
    // through the prior alone when the features still say class 0.
    const { bags, labels } = toy(500, 2, 20, 5);
    const nb = MultinomialNB.train(bags, labels, { numClasses: 2, numFeatures: 20 });
    const class0 = Array.from({ length: 500 }, (_, r) => r).filter((r) => labels[r] === 0);
    const out = class0.slice(0, Math.floor(class0.length * 0.95));
    const kept = nb.predictLeftOut(bags, labels, out, [], out, undefined, true);
    let ok = 0;
    for (let i = 0; i < out.length; i++) if (kept[i] === 0) ok++;
    expect(ok / out.length).toBeGreaterThan(0.8);
  });

  it('hashes 32-bit ids with a mask and ignores unlabelled rows', () => {
    const bags: Bags = {
      offsets: Int32Array.of(0, 2, 4, 6),
      ids: Uint32Array.of(0xdeadbeef, 0xfeedface, 0x12345678, 0x9abcdef0, 0xdeadbeef, 0x12345678),
    };
    const nb = MultinomialNB.train(bags, Int32Array.of(0, 1, -1), { numClasses: 2, mask: 0xff });
    expect(nb.numFeatures).toBe(256);
    expect(Array.from(nb.classDocs())).toEqual([1, 1]);
    expect(nb.predict([0xdeadbeef, 0xfeedface])).toBe(0);
    expect(nb.predict([0x12345678, 0x9abcdef0])).toBe(1);
  });

  it('refuses bad options and handles an empty class', () => {
    const bags: Bags = { offsets: Int32Array.of(0, 1), ids: Int32Array.of(0) };
    expect(() =>
      MultinomialNB.train(bags, Int32Array.of(0), { numClasses: 0, numFeatures: 1 }),
    ).toThrow(RangeError);
    expect(() => MultinomialNB.train(bags, Int32Array.of(0), { numClasses: 1, mask: 6 })).toThrow(
      RangeError,
    );
    expect(() => MultinomialNB.train(bags, Int32Array.of(0), { numClasses: 1 })).toThrow(
      RangeError,
    );
    expect(() =>
      MultinomialNB.train(bags, Int32Array.of(0), { numClasses: 1, numFeatures: 1, alpha: 0 }),
    ).toThrow(RangeError);
    const nb = MultinomialNB.train(bags, Int32Array.of(0), { numClasses: 2, numFeatures: 1 });
    expect(nb.predict([0])).toBe(0);
    // Leaving out the only row of the only trained class leaves no class to predict.
    expect(Array.from(nb.predictLeftOut(bags, Int32Array.of(0), [0], [], [0]))).toEqual([-1]);
  });
});
