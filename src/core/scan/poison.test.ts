import { describe, expect, it } from 'vitest';
import { parseAttack, poison } from './poison.js';
import type { ScanRow } from './types.js';

const rows: ScanRow[] = Array.from({ length: 400 }, (_, i) => ({
  id: `r${i}`,
  label: i % 2 ? 'a' : 'b',
  source: 's',
  text: `row ${i} has some words in it for the generator to edit here and there`,
  features: Array.from({ length: 16 }, (_, d) => (d + i) % 5),
}));

describe('poison', () => {
  it('is deterministic for a seed and records ground truth', () => {
    const attacks = [
      'flip:0.05',
      'token:cf:0.02:a',
      'patch:0.02:a:2',
      'secrets:3',
      'outliers:2',
      'source:evil',
    ].map(parseAttack);
    const one = poison(rows, attacks, 5);
    const two = poison(rows, attacks, 5);
    expect(one).toEqual(two);
    const kinds = Object.values(one.truth.rows).flat();
    expect(kinds.filter((k) => k === 'label')).toHaveLength(20);
    expect(one.truth.triggers.map((t) => t.rows.length)).toEqual([8, 8]);
    for (const id of one.truth.triggers[0]!.rows) {
      const r = one.rows.find((x) => x.id === id)!;
      expect(r.label).toBe('a');
      expect(r.text).toMatch(/\bcf\b/);
      expect(r.source).toBe('evil');
    }
    // The patch sits in the bottom-right corner of the 4×4 image.
    const patched = one.rows.find((x) => x.id === one.truth.triggers[1]!.rows[0])!;
    expect([10, 11, 14, 15].map((i) => patched.features![i])).toEqual([4, 4, 4, 4]);
    expect(one.rows).toHaveLength(402);
    // The input is not modified.
    expect(rows[0]!.label).toBe('b');
  });

  it('refuses malformed attack specs', () => {
    expect(() => parseAttack('flip:2')).toThrow(/rate must be between 0 and 1/);
    expect(() => parseAttack('token:cf')).toThrow(/not understood/);
    expect(() => parseAttack('explode:1')).toThrow(/not understood/);
  });
});
