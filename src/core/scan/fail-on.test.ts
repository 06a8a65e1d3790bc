import { describe, expect, it } from 'vitest';
import { evaluateFailOn, parseFailOn } from './fail-on.js';
import { buildReport } from './report.js';
import type { ScanRow } from './types.js';

const rows: ScanRow[] = Array.from({ length: 100 }, (_, i) => ({
  id: String(i),
  label: 'a',
  source: 's',
  text: 't',
}));
const report = buildReport(
  rows,
  [
    {
      id: 'x',
      kinds: ['label'],
      seconds: 1,
      result: {
        issues: Array.from({ length: 6 }, (_, i) => ({
          kind: 'label' as const,
          row: String(i),
          score: 0.9,
          detail: {},
        })),
        summary: {},
      },
    },
  ],
  [],
  1,
);

describe('--fail-on', () => {
  it('counts rows against absolute and percentage limits', () => {
    expect(evaluateFailOn(report, parseFailOn('label'))).toHaveLength(1);
    expect(evaluateFailOn(report, parseFailOn('label>5'))).toHaveLength(1);
    expect(evaluateFailOn(report, parseFailOn('label>6'))).toEqual([]);
    expect(evaluateFailOn(report, parseFailOn('label>5%'))).toHaveLength(1);
    expect(evaluateFailOn(report, parseFailOn('label>10%, triggers, sources'))).toEqual([]);
    expect(evaluateFailOn(report, parseFailOn('any'))).toEqual(['6 rows flagged']);
  });
  it('reports every bad rule at once', () => {
    expect(() => parseFailOn('labels, trigger>x, triggers>2')).toThrow(
      /"labels": unknown kind.*"trigger>x".*"triggers>2": triggers takes no threshold/,
    );
  });
  it('summarises per kind with rates and detector timings', () => {
    expect(report.summary.counts.label).toBe(6);
    expect(report.summary.rates.label).toBeCloseTo(0.06);
    expect(report.summary.detectors[0]).toMatchObject({ id: 'x', flagged: 6, rowsPerSecond: 100 });
    expect(report.issues[0]!.detail).toEqual({ detector: 'x' });
  });
});
