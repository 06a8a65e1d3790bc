import { describe, expect, it } from 'vitest';
import { gaussian, mulberry32, randomInt, shuffleInPlace } from './random.js';

describe('mulberry32', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const c = mulberry32(43);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c())).not.toEqual(xs);
  });

  it('yields floats in [0, 1) with a uniform spread', () => {
    const r = mulberry32(7);
    const bins = new Array<number>(10).fill(0);
    const n = 100_000;
    let sum = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const x = r();
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
      sum += x;
      const b = Math.floor(x * 10);
      bins[b] = (bins[b] as number) + 1;
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.01);
    for (const b of bins) expect(Math.abs(b - n / 10)).toBeLessThan(600); // ~6 sd
  });

  it('randomInt stays in range and gaussian has mean 0, variance 1', () => {
    const r = mulberry32(9);
    for (let i = 0; i < 1000; i++) {
      const k = randomInt(r, 7);
      expect(Number.isInteger(k) && k >= 0 && k < 7).toBe(true);
    }
    let s = 0;
    let ss = 0;
    const n = 50_000;
    for (let i = 0; i < n; i++) {
      const g = gaussian(r);
      s += g;
      ss += g * g;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.03);
    expect(Math.abs(ss / n - 1)).toBeLessThan(0.03);
  });
});

describe('shuffleInPlace', () => {
  it('permutes arrays and typed arrays deterministically', () => {
    const a = Array.from({ length: 50 }, (_, i) => i);
    shuffleInPlace(a, mulberry32(1));
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(a).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    const t = Int32Array.from({ length: 50 }, (_, i) => i);
    shuffleInPlace(t, mulberry32(1));
    expect(Array.from(t)).toEqual(a);
  });

  it('puts every element in every position about equally often', () => {
    const r = mulberry32(3);
    const counts = new Array<number>(4).fill(0);
    for (let rep = 0; rep < 20_000; rep++) {
      const a = [0, 1, 2, 3];
      shuffleInPlace(a, r);
      const first = a[0] as number;
      counts[first] = (counts[first] as number) + 1;
    }
    for (const c of counts) expect(Math.abs(c - 5000)).toBeLessThan(350);
  });
});
