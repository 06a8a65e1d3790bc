import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { exactDuplicates, findExactDuplicates, groupByContent } from './exact-duplicates.js';
import { mulberry32 } from './random.js';
import type { Issue, ScanRow } from './types.js';

const WORDS =
  'the a cheap offer meeting project report free money click now please review attached data model train label spam ham urgent price deal team update'.split(
    ' ',
  );

function sentence(r: () => number, words: number): string {
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(WORDS[Math.floor(r() * WORDS.length)] as string);
  return out.join(' ');
}

/** Distinct rows (unique index suffix) with random labels. */
function cleanRows(n: number, seed: number): ScanRow[] {
  const r = mulberry32(seed);
  return Array.from({ length: n }, (_, i) => ({
    id: `r${i}`,
    label: r() < 0.5 ? 'ham' : 'spam',
    source: null,
    text: `${sentence(r, 12)} #${i}`,
  }));
}

/** Case and whitespace variants that normalise to the same text. */
function variant(text: string, r: () => number): string {
  const t = r() < 0.5 ? text.toUpperCase() : text;
  return `  ${t.replace(/ /g, () => (r() < 0.3 ? ' \t\n ' : ' '))}\n`;
}

const byKind = (issues: Issue[], kind: Issue['kind']): Set<string> =>
  new Set(issues.filter((i) => i.kind === kind).map((i) => i.row));

describe('dup/exact on planted duplicates and conflicts', () => {
  const r = mulberry32(2024);
  const rows = cleanRows(5000, 1);
  const dupRows = new Set<string>();
  const conflictRows = new Set<string>();
  const used = new Set<string>();
  // 100 duplicate groups (2–4 copies, same label) and 60 conflicting groups (2–3 copies).
  for (let g = 0; g < 160; g++) {
    const src = rows[Math.floor(r() * 5000)] as ScanRow;
    if (used.has(src.id)) continue;
    used.add(src.id);
    const conflict = g >= 100;
    const copies = conflict ? 1 + Math.floor(r() * 2) : 1 + Math.floor(r() * 3);
    for (let c = 0; c < copies; c++) {
      const id = `copy${g}-${c}`;
      const label = conflict && c === 0 ? (src.label === 'ham' ? 'spam' : 'ham') : src.label;
      rows.push({ id, label, source: null, text: variant(src.text as string, r) });
      (conflict ? conflictRows : dupRows).add(id);
    }
    if (conflict) conflictRows.add(src.id);
  }
  const res = findExactDuplicates(rows);

  it('flags exactly the copies after the first as exact duplicates', () => {
    expect(byKind(res.issues, 'exact_duplicate')).toEqual(dupRows);
  });

  it('flags every row of a conflicting group, the first included', () => {
    expect(byKind(res.issues, 'conflicting_label')).toEqual(conflictRows);
    for (const i of res.issues.filter((x) => x.kind === 'conflicting_label')) {
      const labels = i.detail.labels as { label: string; count: number }[];
      expect(labels.length).toBe(2);
      expect(i.detail.groupSize).toBe(labels.reduce((s, l) => s + l.count, 0));
      expect(i.score).toBeGreaterThanOrEqual(0.5);
      expect(i.score).toBeLessThanOrEqual(1);
    }
  });

  it('summarises groups and reports a stable group id and first row', () => {
    expect(res.skipped).toBeUndefined();
    expect(res.summary.duplicateRows).toBe(dupRows.size);
    expect(res.summary.conflictingRows).toBe(conflictRows.size);
    const d = res.issues.find((i) => i.kind === 'exact_duplicate') as Issue;
    expect(d.detail.group).toMatch(/^[0-9a-f]{16}$/);
    expect(d.detail.firstRow).toMatch(/^r\d+$/); // the original precedes its copies
    expect(d.score).toBeGreaterThanOrEqual(0.5);
  });

  it('finds nothing on distinct rows', () => {
    const clean = findExactDuplicates(cleanRows(3000, 9));
    expect(clean.issues).toEqual([]);
    expect(clean.summary.distinctContents).toBe(3000);
  });
});

describe('dup/exact scoring and labels', () => {
  const row = (id: string, label: string | null, text?: string, features?: number[]): ScanRow => ({
    id,
    label,
    source: null,
    ...(text !== undefined ? { text } : {}),
    ...(features !== undefined ? { features } : {}),
  });

  it('scores an even split 1 and a lopsided one near 0.5', () => {
    const even = findExactDuplicates([row('1', 'a', 'x'), row('2', 'b', 'x')]);
    expect(even.issues.map((i) => i.score)).toEqual([1, 1]);
    const rows = [row('0', 'b', 'y')];
    for (let i = 1; i < 100; i++) rows.push(row(String(i), 'a', 'y'));
    const lop = findExactDuplicates(rows);
    expect(lop.issues.length).toBe(100);
    expect(lop.issues[0]?.score).toBeCloseTo(0.51, 5);
  });

  it('scores duplicate floods higher than a single copy', () => {
    const pair = findExactDuplicates([row('1', 'a', 'x'), row('2', 'a', 'x')]);
    const flood = findExactDuplicates(
      Array.from({ length: 20 }, (_, i) => row(String(i), 'a', 'x')),
    );
    expect(pair.issues[0]?.score).toBe(0.5);
    expect(flood.issues.length).toBe(19);
    expect(flood.issues[0]?.score).toBeCloseTo(0.95, 5);
  });

  it('leaves null labels out of label statistics', () => {
    const dup = findExactDuplicates([row('1', 'a', 'x'), row('2', null, 'x'), row('3', 'a', 'x')]);
    expect(dup.issues.map((i) => [i.kind, i.row])).toEqual([
      ['exact_duplicate', '2'],
      ['exact_duplicate', '3'],
    ]);
    const conflict = findExactDuplicates([
      row('1', 'a', 'x'),
      row('2', null, 'x'),
      row('3', 'b', 'x'),
    ]);
    expect(conflict.issues.map((i) => i.kind)).toEqual(Array(3).fill('conflicting_label'));
    expect(conflict.issues[0]?.detail.unlabelled).toBe(1);
    expect(conflict.issues[0]?.score).toBe(1);
  });

  it('compares feature vectors exactly (NaN = NaN, -0 = 0) and together with text', () => {
    const res = findExactDuplicates([
      row('1', 'a', undefined, [1, 2, NaN, 0]),
      row('2', 'a', undefined, [1, 2, NaN, -0]),
      row('3', 'a', undefined, [1, 2, NaN]),
      row('4', 'a', undefined, [1, 2.0000001, NaN, 0]),
      row('5', 'a', 'same', [1]),
      row('6', 'a', 'same', [2]),
      row('7', 'a', 'SAME ', [1]),
      row('8', 'a', 'same'),
    ]);
    expect(res.issues.map((i) => i.row)).toEqual(['2', '7']);
    const textOnly = findExactDuplicates([row('5', 'a', 'same', [1]), row('6', 'a', 'same', [2])], {
      useFeatures: false,
    });
    expect(textOnly.issues.map((i) => i.row)).toEqual(['6']);
  });

  it('never merges different contents even when every hash collides', () => {
    const rows = ['x', 'y', 'x', 'z', 'y'].map((t, i) => row(String(i), 'a', t));
    const g = groupByContent(rows, true, {
      hashes: new Uint32Array(2 * rows.length), // all zero: one hash for everything
      flags: new Uint8Array(rows.length).fill(1),
    });
    expect(g.groups).toBe(3);
    expect(Array.from(g.groupOf)).toEqual([0, 1, 0, 2, 1]);
  });

  it('skips what it cannot run on and counts rows without content', () => {
    expect(findExactDuplicates([]).skipped).toBe('fewer than 2 rows');
    expect(findExactDuplicates([row('1', 'a', 'x')]).skipped).toBe('fewer than 2 rows');
    const none = findExactDuplicates([row('1', 'a'), row('2', 'a', '   ')]);
    expect(none.skipped).toBe('no row has text or features');
    const some = findExactDuplicates([row('1', 'a'), row('2', 'a', 'x'), row('3', 'a', 'x')]);
    expect(some.summary.rowsWithoutContent).toBe(1);
    expect(some.issues.length).toBe(1);
  });

  it('handles 1 MB texts', () => {
    const big = 'lorem ipsum '.repeat(90_000);
    const res = findExactDuplicates([
      row('1', 'a', big),
      row('2', 'b', big + ' '),
      row('3', 'a', big + '!'),
    ]);
    expect(res.issues.map((i) => [i.kind, i.row])).toEqual([
      ['conflicting_label', '1'],
      ['conflicting_label', '2'],
    ]);
  });

  it('is exposed as a Detector', () => {
    expect(exactDuplicates.id).toBe('dup/exact');
    expect(exactDuplicates.meta.kinds).toEqual(['exact_duplicate', 'conflicting_label']);
  });
});

describe('dup/exact on real e-mail', () => {
  it('finds planted relabelled copies among 100 real ham messages', () => {
    const rows = readFileSync(
      new URL('../../../test/fixtures/spam-100.jsonl', import.meta.url),
      'utf8',
    )
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as ScanRow);
    const base = findExactDuplicates(rows);
    const planted = rows.slice(0, 5).map((r, i) => ({ ...r, id: `poison${i}`, label: 'spam' }));
    const res = findExactDuplicates([...rows, ...planted]);
    const flagged = byKind(res.issues, 'conflicting_label');
    for (const p of planted) expect(flagged.has(p.id)).toBe(true);
    for (const r of rows.slice(0, 5)) expect(flagged.has(r.id)).toBe(true);
    expect(res.issues.length - base.issues.length).toBe(10);
  });

  it('groups the SpamAssassin sample consistently with a naive reference', () => {
    const rows = gunzipSync(
      readFileSync(new URL('../../../data/spamassassin/sample.jsonl.gz', import.meta.url)),
    )
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as ScanRow);
    const res = findExactDuplicates(rows, { useFeatures: false });
    // Reference: a Map over the regex-normalised text.
    const groups = new Map<string, ScanRow[]>();
    for (const r of rows) {
      const key = (r.text ?? '').toLowerCase().normalize('NFC').replace(/\s+/g, ' ').trim();
      if (!key) continue;
      const g = groups.get(key);
      if (g) g.push(r);
      else groups.set(key, [r]);
    }
    let expected = 0;
    for (const g of groups.values()) {
      if (g.length < 2) continue;
      const labels = new Set(g.map((r) => r.label).filter((l) => l !== null));
      expected += labels.size > 1 ? g.length : g.length - 1;
    }
    expect(res.issues.length).toBe(expected);
    expect(res.summary.distinctContents).toBe(groups.size);
  });
});
