import { describe, expect, it } from 'vitest';
import { gaussian, mulberry32 } from './random.js';
import { secondaryModes, spectralDetector, spectralScan, topDirection } from './spectral.js';
import type { SpectralClassSummary } from './spectral.js';
import type { Issue, ScanRow } from './types.js';

interface Blobs {
  rows: number;
  dim: number;
  classes: number;
  seed: number;
  /** Share of class c0 shifted by `shift` along one random unit direction (the poison). */
  poison?: number;
  shift?: number;
  /** Per-dimension scale 2/√(1 + j) instead of 1. */
  anisotropic?: boolean;
  /** Student-like scale mixture (heavy tails). */
  heavy?: boolean;
}

function blobs(o: Blobs): { rows: ScanRow[]; truth: Set<string> } {
  const rand = mulberry32(o.seed);
  const centres = Array.from({ length: o.classes }, () =>
    Array.from({ length: o.dim }, () => 3 * gaussian(rand)),
  );
  const dir = Array.from({ length: o.dim }, () => gaussian(rand));
  const norm = Math.hypot(...dir);
  const rows: ScanRow[] = [];
  const truth = new Set<string>();
  for (let i = 0; i < o.rows; i++) {
    const c = Math.floor(rand() * o.classes);
    const t = o.heavy ? 1 / Math.sqrt(Math.max(0.05, -Math.log(1 - rand()) / 1.5)) : 1;
    const f = centres[c]!.map(
      (m, j) => m + (o.anisotropic ? 2 / Math.sqrt(1 + j) : 1) * gaussian(rand) * t,
    );
    if (c === 0 && o.poison && rand() < o.poison) {
      for (let j = 0; j < o.dim; j++) f[j]! += ((o.shift ?? 0) * dir[j]!) / norm;
      truth.add(`r${i}`);
    }
    rows.push({ id: `r${i}`, label: `c${c}`, source: null, features: f });
  }
  return { rows, truth };
}

function classes(summary: Record<string, unknown>): SpectralClassSummary[] {
  return summary.classes as SpectralClassSummary[];
}

function confident(issues: readonly Issue[]): Issue[] {
  return issues.filter((i) => i.score >= 0.5);
}

describe('trigger/spectral', () => {
  it('separates a shifted 5 % of one class and flags it', () => {
    for (const seed of [1, 2, 3]) {
      const { rows, truth } = blobs({
        rows: 8000,
        dim: 32,
        classes: 4,
        seed,
        poison: 0.05,
        shift: 8,
      });
      const res = spectralScan(rows);
      expect(res.summary.separationFound).toEqual(['c0']);
      const sure = confident(res.issues);
      let tp = 0;
      for (const i of sure) if (truth.has(i.row)) tp++;
      expect(tp / truth.size).toBeGreaterThanOrEqual(0.9);
      expect(tp / sure.length).toBeGreaterThanOrEqual(0.8);
      // Every truly poisoned row is flagged at all (the 1 − 1.5ε quantile or beyond the valley).
      const flagged = new Set(res.issues.map((i) => i.row));
      expect([...truth].filter((id) => flagged.has(id)).length / truth.size).toBeGreaterThanOrEqual(
        0.95,
      );
      for (const i of res.issues) {
        expect(i.kind).toBe('trigger');
        expect(i.detail).toMatchObject({ method: 'spectral', class: 'c0' });
        expect(i.detail.score).toBeTypeOf('number');
      }
    }
  });

  it('finds a larger poisoned share beyond ε through the density valley', () => {
    const { rows, truth } = blobs({
      rows: 6000,
      dim: 16,
      classes: 2,
      seed: 4,
      poison: 0.15,
      shift: 10,
    });
    const res = spectralScan(rows, { epsilon: 0.02 });
    const flagged = new Set(res.issues.map((i) => i.row));
    expect([...truth].filter((id) => flagged.has(id)).length / truth.size).toBeGreaterThanOrEqual(
      0.95,
    );
  });

  it('says "no separation found" (never clean) on unimodal classes, and flags nothing', () => {
    const cases: Blobs[] = [
      { rows: 6000, dim: 32, classes: 3, seed: 5 },
      { rows: 6000, dim: 32, classes: 3, seed: 6, anisotropic: true },
      { rows: 6000, dim: 32, classes: 3, seed: 7, heavy: true },
      { rows: 6000, dim: 32, classes: 3, seed: 8, anisotropic: true, heavy: true },
    ];
    for (const o of cases) {
      const res = spectralScan(blobs(o).rows);
      expect(res.issues, JSON.stringify(o)).toEqual([]);
      expect(res.summary.separationFound).toEqual([]);
      expect(res.summary.note).toMatch(/^no separation found/);
      expect(JSON.stringify(res.summary)).not.toMatch(/"clean"/);
      for (const c of classes(res.summary)) expect(c.separation).toBe('no separation found');
    }
  });

  it('flags the top 1.5·ε of unseparated classes only on request, with low scores', () => {
    const { rows } = blobs({ rows: 4000, dim: 8, classes: 2, seed: 9 });
    const res = spectralScan(rows, { flagUnseparated: true, epsilon: 0.05 });
    const per = classes(res.summary);
    for (const c of per) expect(c.flagged / c.rows).toBeCloseTo(0.075, 2);
    for (const i of res.issues) expect(i.score).toBeLessThanOrEqual(0.3);
  });

  it('skips, lists small classes and counts bad vectors', () => {
    expect(spectralDetector.run([], {})).toMatchObject({ skipped: 'no rows with feature vectors' });
    const unlabelled: ScanRow[] = [{ id: 'a', label: null, source: null, features: [1, 2] }];
    expect(spectralDetector.run(unlabelled, {})).toMatchObject({
      skipped: 'no labelled rows with a valid feature vector',
    });
    const small: ScanRow[] = Array.from({ length: 10 }, (_, i) => ({
      id: String(i),
      label: 'x',
      source: null,
      features: [i, 1],
    }));
    expect((spectralDetector.run(small, {}) as { skipped?: string }).skipped).toMatch(
      /no class has 20/,
    );
    const { rows } = blobs({ rows: 500, dim: 4, classes: 1, seed: 10 });
    rows.push({ id: 'nan', label: 'c0', source: null, features: [NaN, 0, 0, 0] });
    rows.push({ id: 'short', label: 'c0', source: null, features: [0] });
    rows.push({ id: 'tiny-1', label: 'tiny', source: null, features: [0, 0, 0, 0] });
    const res = spectralScan(rows);
    expect(res.skipped).toBeUndefined();
    expect(res.summary).toMatchObject({
      skippedNonFinite: 1,
      skippedBadLength: 1,
      classesTooSmall: ['tiny'],
    });
    expect(() => spectralScan(rows, { epsilon: 0.9 })).toThrow(RangeError);
  });
});

describe('spectral building blocks', () => {
  it('power iteration recovers the dominant direction', () => {
    const rand = mulberry32(11);
    const n = 2000;
    const d = 20;
    const u = Array.from({ length: d }, () => gaussian(rand));
    const un = Math.hypot(...u);
    const x = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      const a = 5 * gaussian(rand);
      for (let j = 0; j < d; j++) x[i * d + j] = (a * u[j]!) / un + 0.5 * gaussian(rand);
    }
    const mean = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += x[i * d + j]! / n;
    const { v, eigenvalue } = topDirection(x, n, d, mean, 1);
    let dot = 0;
    for (let j = 0; j < d; j++) dot += (v[j]! * u[j]!) / un;
    expect(Math.abs(dot)).toBeGreaterThan(0.99);
    expect(eigenvalue).toBeGreaterThan(20);
    expect(eigenvalue).toBeLessThan(30);
  });

  it('finds a secondary density mode only when there is one', () => {
    const rand = mulberry32(12);
    const uni = Float64Array.from({ length: 10000 }, () => gaussian(rand));
    expect(secondaryModes(uni, 0.005)).toEqual([]);
    const bi = Float64Array.from({ length: 10000 }, (_, i) => (i < 300 ? 7 : 0) + gaussian(rand));
    const modes = secondaryModes(bi, 0.005);
    expect(modes).toHaveLength(1);
    expect(modes[0]!.side).toBe(1);
    expect(modes[0]!.cut).toBeGreaterThan(2);
    expect(modes[0]!.cut).toBeLessThan(6);
    expect(modes[0]!.peak).toBeGreaterThan(6);
    expect(secondaryModes(new Float64Array([1, 1, 1, 1]), 0.005)).toEqual([]);
  });
});
