import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from './random.js';
import {
  classBalanceDetector,
  compareDistributions,
  homogeneityTest,
  imbalanceOf,
  type DriftComparison,
} from './class-balance.js';
import type { ScanRow } from './types.js';

/** n rows with labels drawn from `shares` (label → probability), optional source per row. */
function drawRows(
  rnd: () => number,
  n: number,
  shares: Record<string, number>,
  source: (i: number) => string | null = () => null,
): ScanRow[] {
  const entries = Object.entries(shares);
  return Array.from({ length: n }, (_, i) => {
    let u = rnd();
    let label = entries[entries.length - 1]![0];
    for (const [l, p] of entries) {
      if (u < p) {
        label = l;
        break;
      }
      u -= p;
    }
    return { id: String(i), label, source: source(i) };
  });
}

function countsOf(rows: readonly ScanRow[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const r of rows) if (r.label !== null) c[r.label] = (c[r.label] ?? 0) + 1;
  return c;
}

type Summary = {
  drift: boolean;
  severity: string;
  baseline: DriftComparison | null;
  imbalance: { imbalanced: boolean; rarest: string };
  unusualSources: string[];
  driftedSources: string[];
  vanishedSources: string[];
  sources: { source: string; vsRest: DriftComparison | null; vsBaseline: DriftComparison | null }[];
};

async function run(rows: ScanRow[], options = {}) {
  const r = await classBalanceDetector.run(rows, options);
  return { ...r, s: r.summary as Summary };
}

describe('drift/class-balance', () => {
  it('skips without labels, and with one class and no baseline', async () => {
    expect((await run([])).skipped).toMatch(/no labelled rows/);
    expect((await run([{ id: '1', label: null, source: null }])).skipped).toMatch(/no labelled/);
    const one = await run([
      { id: '1', label: 'a', source: null },
      { id: '2', label: 'a', source: null },
    ]);
    expect(one.skipped).toMatch(/single class/);
    expect(one.issues).toEqual([]);
  });

  it('imbalance: rarest class below 0.1 × 1/K', () => {
    const imb = imbalanceOf(
      new Map([
        ['a', 1000],
        ['b', 1000],
        ['c', 15],
      ]),
    );
    expect(imb.imbalanced).toBe(true);
    expect(imb.rarest).toBe('c');
    expect(imb.threshold).toBeCloseTo(0.1 / 3, 12);
    expect(
      imbalanceOf(
        new Map([
          ['a', 1000],
          ['b', 700],
          ['c', 300],
        ]),
      ).imbalanced,
    ).toBe(false);
  });

  it('no drift when the current data is drawn from the baseline distribution (20 seeds)', async () => {
    const shares = { ham: 0.6, spam: 0.3, promo: 0.08, rare: 0.02 };
    let flagged = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const rnd = mulberry32(seed);
      const baseline = countsOf(drawRows(rnd, 20_000, shares));
      const rows = drawRows(rnd, 5_000, shares);
      const { s } = await run(rows, { baseline });
      if (s.drift || s.severity !== 'ok') flagged++;
      expect(s.baseline!.test.p).toBeGreaterThan(0); // a real test ran
    }
    expect(flagged).toBe(0);
  });

  it('a trivial but significant shift on a huge dataset does not fail (effect-size gate)', () => {
    const c = compareDistributions({ a: 510_000, b: 490_000 }, { a: 500_000, b: 500_000 });
    expect(c.test.p).toBeLessThan(1e-20);
    expect(c.psi).toBeLessThan(0.01);
    expect(c.severity).toBe('ok');
    expect(c.drift).toBe(false);
  });

  it('a large shift fails, a moderate one warns', () => {
    const big = compareDistributions({ a: 800, b: 200 }, { a: 500, b: 500 });
    expect(big.severity).toBe('fail');
    expect(big.drift).toBe(true);
    expect(big.relativeChange.a).toBeCloseTo(0.6, 12);
    const mid = compareDistributions({ a: 6700, b: 3300 }, { a: 5000, b: 5000 });
    expect(mid.psi).toBeGreaterThan(0.1);
    expect(mid.psi).toBeLessThan(0.25);
    expect(mid.severity).toBe('warn');
    expect(mid.drift).toBe(false);
    // Same shift on a tiny sample is not significant: no verdict.
    expect(compareDistributions({ a: 8, b: 2 }, { a: 5, b: 5 }).severity).toBe('ok');
  });

  it('reports classes that appear or vanish; pools rare classes; Fisher for tiny 2×2', () => {
    const c = compareDistributions(
      { a: 500, b: 480, c: 60, new1: 5 },
      { a: 500, b: 490, c: 55, old1: 4, old2: 3 },
    );
    expect(c.appeared).toEqual(['new1']);
    expect(c.vanished).toEqual(['old1', 'old2']);
    expect(c.test.method).toBe('chi-squared-merged');
    // Rarest first until the pooled row's expected count reaches 5; larger classes stay apart.
    expect(c.test.merged).toEqual(['old2', 'old1', 'new1']);
    expect(c.test.df).toBe(3);
    const tiny = homogeneityTest(['a', 'b'], [3, 1], [1, 3]);
    expect(tiny.method).toBe('fisher');
    expect(tiny.p).toBeGreaterThan(0.4);
    const none = homogeneityTest(['a'], [3], [0]);
    expect(none.method).toBe('none');
  });

  it('per source: a source with flipped labels is unusual; a source drifting from its baseline drifts', async () => {
    const rnd = mulberry32(5);
    const sources = ['s1', 's2', 's3', 's4', 's5'];
    const rows = drawRows(rnd, 10_000, { ham: 0.7, spam: 0.3 }, (i) => sources[i % 5]!);
    // s3's labeller flips 40 % of ham to spam.
    for (const r of rows)
      if (r.source === 's3' && r.label === 'ham' && rnd() < 0.4) r.label = 'spam';
    const sourceBaselines = Object.fromEntries(sources.map((s) => [s, { ham: 1400, spam: 600 }]));
    const { s } = await run(rows, { sourceBaselines });
    expect(s.unusualSources).toEqual(['s3']);
    expect(s.driftedSources).toEqual(['s3']);
    expect(s.drift).toBe(true);
    const s3 = s.sources.find((x) => x.source === 's3')!;
    expect(s3.vsRest!.pAdjusted).toBeLessThan(0.01);
    expect(s3.vsBaseline!.psi).toBeGreaterThanOrEqual(0.25);
    // Without the flip, nobody is unusual.
    const clean = drawRows(mulberry32(6), 10_000, { ham: 0.7, spam: 0.3 }, (i) => sources[i % 5]!);
    const c = await run(clean, { sourceBaselines });
    expect(c.s.unusualSources).toEqual([]);
    expect(c.s.drift).toBe(false);
  });

  it('a baseline source with no rows now is listed as vanished', async () => {
    const rows = drawRows(mulberry32(8), 1000, { a: 0.5, b: 0.5 }, () => 'live');
    const { s } = await run(rows, { sourceBaselines: { gone: { a: 10, b: 10 } } });
    expect(s.vanishedSources).toEqual(['gone']);
  });

  it('real sample: ham/spam counts, one source vs the others, no baseline → no drift verdict', async () => {
    const raw = gunzipSync(readFileSync('data/spamassassin/sample.jsonl.gz')).toString('utf8');
    const rows = raw
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ScanRow);
    const r = await run(rows);
    expect(r.skipped).toBeUndefined();
    expect(r.s.drift).toBe(false);
    expect(r.s.baseline).toBeNull();
    // Sources are ham-only or spam-only folders, so every source differs from the rest.
    expect(r.s.unusualSources.length).toBeGreaterThan(0);
    // Against its own counts as a baseline, nothing drifts.
    const again = await run(rows, { baseline: countsOf(rows) });
    expect(again.s.baseline!.test.p).toBeCloseTo(1, 10);
    expect(again.s.drift).toBe(false);
  });
});
