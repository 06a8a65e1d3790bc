import { describe, expect, it } from 'vitest';
import {
  confidentJoint,
  estimateNoise,
  findLabelIssues,
  type FilterBy,
} from './confident-learning.js';
import { gaussian, mulberry32 } from './random.js';

// Worked example, 2 classes, 8 rows (thresholds t0 = 0.625, t1 = 0.7):
//   labelled 0: [.9 .1] [.8 .2] [.7 .3] [.1 .9]  → C[0] = [3, 1]
//   labelled 1: [.2 .8] [.1 .9] [.3 .7] [.6 .4]  → C[1] = [0, 3] (the last row is above no threshold)
const P8 = Float32Array.from([
  0.9, 0.1, 0.8, 0.2, 0.7, 0.3, 0.1, 0.9, 0.2, 0.8, 0.1, 0.9, 0.3, 0.7, 0.6, 0.4,
]);
const Y8 = Int32Array.from([0, 0, 0, 0, 1, 1, 1, 1]);

describe('confidentJoint / estimateNoise', () => {
  it('computes thresholds, the raw and the calibrated joint', () => {
    const cj = confidentJoint(P8, Y8, 2);
    expect(cj.thresholds[0]).toBeCloseTo(0.625, 6);
    expect(cj.thresholds[1]).toBeCloseTo(0.7, 6);
    expect(Array.from(cj.raw)).toEqual([3, 1, 0, 3]);
    expect(Array.from(cj.calibrated).map((x) => +x.toFixed(6))).toEqual([3, 1, 0, 4]);
    expect(cj.n).toBe(8);
    const noise = estimateNoise(cj);
    expect(noise.noiseRate).toBeCloseTo(1 / 8, 6);
    // P(given | true): true 0 is always given 0; true 1 is given 0 one time in five.
    expect(Array.from(noise.noiseMatrix).map((x) => +x.toFixed(6))).toEqual([1, 0.2, 0, 0.8]);
    expect(Array.from(noise.inverseNoiseMatrix).map((x) => +x.toFixed(6))).toEqual([
      0.75, 0.25, 0, 1,
    ]);
    expect(noise.perClassNoiseRate[0]).toBeCloseTo(0.25, 6);
    expect(noise.perClassNoiseRate[1]).toBeCloseTo(0, 6);
  });

  it('keeps the labels of a class with no confident row', () => {
    // Class 1's rows all sit below its own threshold except none: P[.][1] equal → all ≥ t1.
    const P = Float32Array.from([0.9, 0.1, 0.8, 0.2, 0.5, 0.5, 0.5, 0.5]);
    const y = Int32Array.from([0, 0, 1, 1]);
    const cj = confidentJoint(P, y, 2);
    for (let y0 = 0; y0 < 2; y0++) {
      expect(cj.calibrated[y0 * 2]! + cj.calibrated[y0 * 2 + 1]!).toBeCloseTo(
        cj.classCounts[y0]!,
        9,
      );
    }
  });
});

describe('findLabelIssues', () => {
  it('prunes by noise rate: the largest-margin rows of each off-diagonal cell', () => {
    const r = findLabelIssues(P8, Y8, 2);
    expect(Array.from(r.flagged)).toEqual([0, 0, 0, 1, 0, 0, 0, 0]);
    expect(Array.from(r.suggested)).toEqual([0, 0, 0, 1, 1, 1, 1, 0]);
    expect(r.score[3]).toBeCloseTo(0.9, 6);
    expect(r.score[7]).toBeCloseTo(0.6, 6);
    expect(r.selfConfidence[3]).toBeCloseTo(0.1, 6);
    expect(r.margin[3]).toBeCloseTo(-0.8, 6);
    expect(Array.from(r.flaggedPerClass)).toEqual([1, 0]);
    // Ranking by normalised margin: (1 − margin) / 2.
    const m = findLabelIssues(P8, Y8, 2, { rankBy: 'normalized_margin' });
    expect(m.score[3]).toBeCloseTo(0.9, 6);
    expect(m.score[0]).toBeCloseTo(0.1, 6);
  });

  it('supports the other filters', () => {
    const flagged = (filterBy: FilterBy): number[] =>
      Array.from(findLabelIssues(P8, Y8, 2, { filterBy }).flagged.entries())
        .filter(([, f]) => f === 1)
        .map(([i]) => i);
    expect(flagged('predicted_neq_given')).toEqual([3, 7]);
    expect(flagged('confident_joint')).toEqual([3]);
    expect(flagged('prune_by_class')).toEqual([3]);
    expect(flagged('both')).toEqual([3]);
  });

  it('ignores unlabelled rows and checks shapes', () => {
    const y = Y8.slice();
    y[3] = -1;
    y[5] = 7;
    const r = findLabelIssues(P8, y, 2);
    expect(r.flagged[3]).toBe(0);
    expect(r.suggested[3]).toBe(-1);
    expect(r.score[3]).toBe(0);
    expect(Number.isNaN(r.selfConfidence[5])).toBe(true);
    expect(r.joint.n).toBe(6);
    expect(() => findLabelIssues(P8, Y8, 3)).toThrow(RangeError);
    expect(() => findLabelIssues(P8, Y8, 1)).toThrow(RangeError);
  });

  it('never flags a row the model agrees with, nor a whole class away', () => {
    // Every class-1 row looks like class 0.
    const P = Float32Array.from([0.9, 0.1, 0.95, 0.05, 0.8, 0.2, 0.85, 0.15, 0.9, 0.1]);
    const y = Int32Array.from([0, 0, 1, 1, 1]);
    const r = findLabelIssues(P, y, 2);
    expect(r.flagged[0]).toBe(0);
    expect(r.flagged[1]).toBe(0);
    expect(r.flaggedPerClass[1]).toBeLessThanOrEqual(2);
  });

  /** Simulated out-of-sample probabilities: softmax(4 · onehot(true) + N(0, 1)); the simulated
   * model errs on ~0.2 % (K = 2) to ~1.5 % (K = 7) of rows. */
  function simulate(
    n: number,
    K: number,
    flip: (t: number, rand: () => number) => number,
    seed: number,
  ) {
    const rand = mulberry32(seed);
    const P = new Float32Array(n * K);
    const labels = new Int32Array(n);
    const truth = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const t = i % K;
      let s = 0;
      const z = Array.from({ length: K }, (_, k) => Math.exp((k === t ? 4 : 0) + gaussian(rand)));
      for (const v of z) s += v;
      z.forEach((v, k) => (P[i * K + k] = v / s));
      const g = flip(t, rand);
      labels[i] = g;
      truth[i] = g === t ? 0 : 1;
    }
    return { P, labels, truth };
  }

  function prf(flagged: Uint8Array, truth: Uint8Array): { p: number; r: number } {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let i = 0; i < truth.length; i++) {
      if (flagged[i] === 1 && truth[i] === 1) tp++;
      else if (flagged[i] === 1) fp++;
      else if (truth[i] === 1) fn++;
    }
    return { p: tp / (tp + fp), r: tp / (tp + fn) };
  }

  it('finds random flips among K = 2, 3 and 7 classes', () => {
    for (const K of [2, 3, 7]) {
      const { P, labels, truth } = simulate(
        6000,
        K,
        (t, rand) => (rand() < 0.05 ? (t + 1 + Math.floor(rand() * (K - 1))) % K : t),
        K,
      );
      const r = findLabelIssues(P, labels, K);
      const { p, r: rec } = prf(r.flagged, truth);
      expect(p).toBeGreaterThan(0.8);
      expect(rec).toBeGreaterThan(0.8);
      expect(r.noise.noiseRate).toBeGreaterThan(0.03);
      expect(r.noise.noiseRate).toBeLessThan(0.08);
    }
  });

  it('estimates an asymmetric noise matrix', () => {
    // 20 % of true class 0 is labelled 2; nothing else is flipped.
    const { P, labels, truth } = simulate(
      9000,
      3,
      (t, rand) => (t === 0 && rand() < 0.2 ? 2 : t),
      5,
    );
    const r = findLabelIssues(P, labels, 3);
    const nm = r.noise.noiseMatrix; // [given * 3 + true]
    // Thresholds at the class mean under-count a little (measured 0.14 for the true 0.20).
    expect(nm[2 * 3 + 0]!).toBeGreaterThan(0.1);
    expect(nm[2 * 3 + 0]!).toBeLessThan(0.3);
    expect(nm[1 * 3 + 0]!).toBeLessThan(0.03);
    expect(nm[0 * 3 + 1]!).toBeLessThan(0.03);
    expect(r.flaggedPerClass[2]!).toBeGreaterThan(r.flaggedPerClass[0]! + r.flaggedPerClass[1]!);
    expect(prf(r.flagged, truth).p).toBeGreaterThan(0.8);
  });

  it('flags few rows when labels are clean', () => {
    const { P, labels } = simulate(6000, 3, (t) => t, 9);
    const r = findLabelIssues(P, labels, 3);
    const flagged = r.flagged.reduce((a, b) => a + b, 0);
    // The simulated model errs on ~0.5 % of rows (~30); confident learning flags fewer.
    expect(flagged).toBeLessThan(30);
  });
});
