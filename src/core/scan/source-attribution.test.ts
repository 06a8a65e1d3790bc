import { describe, expect, it } from 'vitest';
import { mulberry32 } from './random.js';
import { attributeSources, type KindRisk } from './source-attribution.js';
import type { Issue, ScanRow, Trigger } from './types.js';

const SOURCES = ['feed-a', 'feed-b', 'feed-c', 'feed-d', 'feed-e'];

function makeRows(n: number): ScanRow[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `r${i}`,
    label: i % 2 === 0 ? 'ham' : 'spam',
    source: SOURCES[i % SOURCES.length]!,
  }));
}

function labelIssue(row: string): Issue {
  return { kind: 'label', row, score: 0.8, detail: {} };
}

function kindsOf(risk: { detail: Record<string, unknown> }): Record<string, KindRisk> {
  return risk.detail.kinds as Record<string, KindRisk>;
}

describe('attributeSources', () => {
  it('names no source when label noise is spread evenly (30 seeds)', () => {
    const rows = makeRows(10_000);
    let named = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const rnd = mulberry32(seed);
      const issues = rows.filter(() => rnd() < 0.03).map((r) => labelIssue(r.id));
      const risks = attributeSources(rows, issues);
      expect(risks).toHaveLength(5);
      named += risks.filter((r) => r.suspicious).length;
      for (const r of risks) {
        expect(r.score).toBeGreaterThanOrEqual(0);
        expect(r.score).toBeLessThanOrEqual(1);
      }
    }
    expect(named).toBe(0);
  });

  it('names the one source carrying all the poison, first, with the evidence', () => {
    const rows = makeRows(10_000);
    const rnd = mulberry32(77);
    const noise = rows.filter(() => rnd() < 0.02).map((r) => labelIssue(r.id));
    // 40 trigger rows, all from feed-c (1 % of the data, 2 % of feed-c).
    const poisoned = rows.filter((r) => r.source === 'feed-c').slice(0, 40);
    const trigger: Trigger = {
      pattern: 'cf',
      label: 'spam',
      rows: poisoned.map((r) => r.id),
      score: 1,
      detail: {},
    };
    const risks = attributeSources(rows, noise, { triggers: [trigger] });
    expect(risks[0]!.source).toBe('feed-c');
    expect(risks[0]!.suspicious).toBe(true);
    expect(risks.filter((r) => r.suspicious).map((r) => r.source)).toEqual(['feed-c']);
    const k = kindsOf(risks[0]!).trigger!;
    expect(k.flagged).toBe(40);
    expect(k.rows).toBe(2000);
    expect(k.restFlagged).toBe(0);
    expect(k.pAdjusted).toBeLessThan(1e-10);
    expect(k.ratio).toBeGreaterThan(10);
    expect(risks[0]!.detail.suspiciousKinds).toEqual(['trigger']);
    // The label kind is reported too, and is not suspicious for anyone.
    for (const r of risks) expect(kindsOf(r).label!.suspicious).toBe(false);
  });

  it('score is monotone in the evidence', () => {
    const rows = makeRows(10_000);
    const fromC = rows.filter((r) => r.source === 'feed-c');
    const scoreWith = (k: number) => {
      const issues = fromC
        .slice(0, k)
        .map((r) => ({ ...labelIssue(r.id), kind: 'trigger' as const }));
      return attributeSources(rows, issues).find((r) => r.source === 'feed-c')!.score;
    };
    const s = [3, 6, 12, 24, 48].map(scoreWith);
    for (let i = 1; i < s.length; i++) expect(s[i]!).toBeGreaterThanOrEqual(s[i - 1]!);
    expect(s[4]!).toBeGreaterThan(0.9);
  });

  it('needs a material excess: 3 flagged rows are not enough, nor a 1.3× rate', () => {
    const rows = makeRows(10_000);
    const fromC = rows.filter((r) => r.source === 'feed-c');
    const few = attributeSources(
      rows,
      fromC.slice(0, 3).map((r) => labelIssue(r.id)),
    );
    expect(few.some((r) => r.suspicious)).toBe(false);
    // feed-c at 13 %, the others at 10 %: significant with this much data, but only 1.3×.
    const rnd = mulberry32(3);
    const big = Array.from({ length: 200_000 }, (_, i) => ({
      id: `b${i}`,
      label: null,
      source: SOURCES[i % 5]!,
    }));
    const issues = big
      .filter((r) => rnd() < (r.source === 'feed-c' ? 0.13 : 0.1))
      .map((r) => labelIssue(r.id));
    const res = attributeSources(big, issues);
    const c = res.find((r) => r.source === 'feed-c')!;
    expect(kindsOf(c).label!.pAdjusted).toBeLessThan(1e-6);
    expect(c.suspicious).toBe(false);
  });

  it('degenerate input: no rows, one source, null sources, unknown row ids', () => {
    expect(attributeSources([], [])).toEqual([]);
    const one = makeRows(100).map((r) => ({ ...r, source: 'only' }));
    const res = attributeSources(
      one,
      one.slice(0, 50).map((r) => labelIssue(r.id)),
    );
    expect(res).toHaveLength(1);
    expect(res[0]!.suspicious).toBe(false);
    expect(res[0]!.detail.note).toMatch(/single source/);
    const mixed = makeRows(100).map((r, i) => ({ ...r, source: i < 50 ? null : 'x' }));
    const r2 = attributeSources(mixed, [labelIssue('nope'), labelIssue('r1')]);
    expect(r2.map((r) => r.source).sort()).toEqual(['(none)', 'x']);
  });
});
