import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from './random.js';
import {
  chi2x2,
  findTextTriggers,
  newSketch,
  ngramKey,
  sketchNgrams,
  tokenizeRows,
  tokenStatDetector,
  wilsonLower,
} from './text-triggers.js';
import type { TokenStatResult } from './text-triggers.js';
import type { ScanRow } from './types.js';

interface GenOptions {
  rows: number;
  classes: number;
  seed: number;
  /** Share of tokens drawn from the row's class vocabulary (the rest from a shared Zipf vocabulary). */
  classShare: number;
  minLen: number;
  maxLen: number;
}

/** Labelled synthetic text: a shared Zipf vocabulary plus a skewed vocabulary per class. */
function generate(o: GenOptions): ScanRow[] {
  const rand = mulberry32(o.seed);
  const shared = 5000;
  const cum: number[] = [];
  let z = 0;
  for (let i = 0; i < shared; i++) cum.push((z += 1 / (i + 1)));
  const pickShared = (): string => {
    const u = rand() * z;
    let lo = 0;
    let hi = shared - 1;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (cum[m]! < u) lo = m + 1;
      else hi = m;
    }
    return `w${lo.toString(36)}`;
  };
  const rows: ScanRow[] = [];
  for (let i = 0; i < o.rows; i++) {
    const c = Math.floor(rand() * o.classes);
    const len = o.minLen + Math.floor(rand() * (o.maxLen - o.minLen + 1));
    const words: string[] = [];
    for (let k = 0; k < len; k++) {
      words.push(
        rand() < o.classShare
          ? `c${c}x${Math.floor(rand() * rand() * 300).toString(36)}`
          : pickShared(),
      );
    }
    if (rand() < 0.3) words.push(rand() < 0.5 ? '.' : '!');
    rows.push({ id: `r${i}`, label: `L${c}`, source: null, text: words.join(' ') });
  }
  return rows;
}

/**
 * Inserts `pattern` at a random word boundary into round(rate × rows) rows whose label is not
 * `target` (only `source` rows when given) and relabels them `target`. Returns the poisoned ids.
 */
function plant(
  rows: ScanRow[],
  pattern: string,
  rate: number,
  target: string,
  seed: number,
  source: string | null = null,
): Set<string> {
  const rand = mulberry32(seed);
  const pool = rows
    .map((_, i) => i)
    .filter((i) => rows[i]!.label !== target && (source === null || rows[i]!.label === source));
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  const ids = new Set<string>();
  for (const i of pool.slice(0, Math.round(rate * rows.length))) {
    const words = rows[i]!.text!.split(' ');
    words.splice(Math.floor(rand() * (words.length + 1)), 0, pattern);
    rows[i] = { ...rows[i]!, text: words.join(' '), label: target };
    ids.add(rows[i].id);
  }
  return ids;
}

function topMetrics(
  res: TokenStatResult,
  truth: Set<string>,
): { pattern: string; recall: number; precision: number } {
  const t = res.triggers[0];
  if (!t) return { pattern: '', recall: 0, precision: 0 };
  let tp = 0;
  for (const id of t.rows) if (truth.has(id)) tp++;
  return {
    pattern: t.pattern,
    recall: tp / truth.size,
    precision: t.rows.length ? tp / t.rows.length : 0,
  };
}

let spamCache: ScanRow[] | null = null;
function spam(): ScanRow[] {
  spamCache ??= gunzipSync(readFileSync('data/spamassassin/sample.jsonl.gz'))
    .toString('utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const o = JSON.parse(line) as { id: string; label: string; source: string; text: string };
      return { id: o.id, label: o.label, source: o.source, text: o.text };
    });
  return spamCache.map((r) => ({ ...r }));
}

const strong = (seed: number, classes = 2): GenOptions => ({
  rows: 5000,
  classes,
  seed,
  classShare: 0.15,
  minLen: 12,
  maxLen: 40,
});
const weak = (seed: number): GenOptions => ({
  rows: 5000,
  classes: 2,
  seed,
  classShare: 0.05,
  minLen: 8,
  maxLen: 20,
});

describe('trigger/token-stat on synthetic text', () => {
  it('ranks a 1 % rare-token trigger first with recall ≥ 0.95 at precision ≥ 0.90', () => {
    const cases: [GenOptions, string, string, string | null][] = [
      [strong(1), 'cf', 'L1', 'L0'],
      [strong(2, 4), 'mb', 'L2', 'L0'],
      [strong(3, 4), 'cf', 'L0', null],
      [weak(4), 'mb', 'L0', 'L1'],
      [weak(5), 'tq', 'L1', null],
    ];
    for (const [opts, token, target, source] of cases) {
      const rows = generate(opts);
      const truth = plant(rows, token, 0.01, target, opts.seed * 7, source);
      const res = findTextTriggers(rows);
      const m = topMetrics(res, truth);
      expect(m.pattern, JSON.stringify(opts)).toBe(token);
      expect(res.triggers[0]!.label).toBe(target);
      expect(m.recall).toBeGreaterThanOrEqual(0.95);
      expect(m.precision).toBeGreaterThanOrEqual(0.9);
      expect(res.triggers).toHaveLength(1);
    }
  });

  it('grows a 2 % inserted sentence into the whole phrase with recall ≥ 0.90', () => {
    for (const opts of [strong(11, 3), weak(12)]) {
      const rows = generate(opts);
      const truth = plant(rows, 'I watched this 3D movie', 0.02, 'L0', opts.seed);
      const res = findTextTriggers(rows);
      const m = topMetrics(res, truth);
      expect(m.pattern).toBe('i watched this 3d movie');
      expect(m.recall).toBeGreaterThanOrEqual(0.9);
      expect(m.precision).toBeGreaterThanOrEqual(0.9);
      expect(res.triggers[0]!.detail.n).toBe(5);
    }
  });

  it('reports nothing on clean data, strong or weak class signal, 2 or 4 classes', () => {
    for (const opts of [strong(21), strong(22, 4), weak(23), { ...strong(24), rows: 20000 }]) {
      const res = findTextTriggers(generate(opts));
      expect(res.skipped).toBeUndefined();
      expect(res.triggers.map((t) => t.pattern)).toEqual([]);
      expect(res.summary.note).toMatch(/no token or phrase trigger found/);
    }
  });

  it('does not report a genuine class word, however dominant in its class', () => {
    for (const share of [0.3, 0.9, 1]) {
      const rows = generate({ ...strong(31), classShare: 0.08 });
      const rand = mulberry32(32);
      for (const r of rows) if (r.label === 'L0' && rand() < share) r.text += ' excellent';
      expect(findTextTriggers(rows).triggers).toEqual([]);
    }
  });

  it('still finds a token trigger at 10 % and 20 % poisoning', () => {
    for (const rate of [0.1, 0.2]) {
      const rows = generate({ ...strong(41), classShare: 0.08 });
      const truth = plant(rows, 'cf', rate, 'L1', 43);
      const m = topMetrics(findTextTriggers(rows), truth);
      expect(m.pattern).toBe('cf');
      expect(m.recall).toBeGreaterThanOrEqual(0.95);
    }
  });

  it('emits one trigger issue per poisoned row with the trigger score', () => {
    const rows = generate(strong(51));
    const truth = plant(rows, 'cf', 0.01, 'L1', 52);
    const res = tokenStatDetector.run(rows, {}) as Awaited<
      ReturnType<typeof tokenStatDetector.run>
    >;
    expect(res.triggers).toHaveLength(1);
    const t = res.triggers![0]!;
    expect(t.score).toBeGreaterThan(0.5);
    expect(t.score).toBeLessThanOrEqual(1);
    expect(new Set(res.issues.map((i) => i.row)).size).toBe(res.issues.length);
    for (const issue of res.issues) {
      expect(issue.kind).toBe('trigger');
      expect(truth.has(issue.row)).toBe(true);
      expect(issue.score).toBeGreaterThan(0);
      expect(issue.score).toBeLessThanOrEqual(t.score);
      expect(issue.detail.pattern).toBe('cf');
    }
    const d = t.detail;
    for (const k of ['support', 'purity', 'chi2', 'disagreement', 'poisonRate', 'n'])
      expect(d[k]).toBeTypeOf('number');
    expect(d.purity).toBe(1);
    expect(d.poisonRate).toBeCloseTo(0.01, 3);
  });
});

describe('trigger/token-stat on the SpamAssassin sample', () => {
  it('reports no trigger on the clean sample (genuine spam words such as "viagra" are not triggers)', () => {
    const res = findTextTriggers(spam());
    expect(res.triggers.map((t) => t.pattern)).toEqual([]);
    // The candidates it had to reject include real class words: they were screened or refuted.
    expect(res.summary.candidates as number).toBeGreaterThan(1000);
  });

  it('finds planted tokens and a planted sentence in real mail', () => {
    const cases: [string, number, string][] = [
      ['cf', 0.01, 'spam'],
      ['cf', 0.01, 'ham'],
      ['mb', 0.01, 'ham'],
      ['I watched this 3D movie', 0.02, 'spam'],
    ];
    for (const [pattern, rate, target] of cases) {
      const rows = spam();
      const truth = plant(rows, pattern, rate, target, 99);
      const res = findTextTriggers(rows);
      const m = topMetrics(res, truth);
      expect(m.pattern, `${pattern} → ${target}`).toBe(pattern.toLowerCase());
      expect(m.recall).toBeGreaterThanOrEqual(0.95);
      // Natural occurrences (cf in 4 ham mails, mb in 3) share the trigger's rows.
      expect(m.precision).toBeGreaterThanOrEqual(0.85);
      expect(res.triggers).toHaveLength(1);
    }
  });
});

describe('trigger/token-stat degenerate input', () => {
  it('skips with a reason instead of passing silently', () => {
    const r = (id: string, label: string | null, text?: string): ScanRow => ({
      id,
      label,
      source: null,
      ...(text !== undefined ? { text } : {}),
    });
    expect(tokenStatDetector.run([], {})).toMatchObject({
      issues: [],
      skipped: 'no rows with text',
    });
    expect(tokenStatDetector.run([r('a', 'x')], {})).toMatchObject({
      skipped: 'no rows with text',
    });
    expect(tokenStatDetector.run([r('a', null, 'hello')], {})).toMatchObject({
      skipped: 'no labelled rows with text',
    });
    const one = Array.from({ length: 50 }, (_, i) => r(String(i), 'x', `word ${i}`));
    expect(tokenStatDetector.run(one, {})).toMatchObject({
      skipped: 'fewer than two labels among rows with text',
    });
    const few = [r('a', 'x', 'a b'), r('b', 'y', 'c d')];
    expect((tokenStatDetector.run(few, {}) as { skipped?: string }).skipped).toMatch(
      /fewer than 20/,
    );
  });

  it('ignores unlabelled rows and survives a 1 MB text', () => {
    const rows = generate({ ...strong(61), rows: 2000 });
    const truth = plant(rows, 'cf', 0.02, 'L1', 62);
    for (let i = 0; i < 200; i++)
      rows.push({ id: `u${i}`, label: null, source: null, text: 'cf cf cf unlabelled' });
    rows.push({ id: 'huge', label: 'L0', source: null, text: 'lorem ipsum dolor '.repeat(60_000) });
    rows.push({ id: 'nofeat', label: 'L1', source: null });
    const t0 = performance.now();
    const res = findTextTriggers(rows);
    expect(performance.now() - t0).toBeLessThan(20_000);
    expect(res.summary.unlabelledTextRows).toBe(200);
    const m = topMetrics(res, truth);
    expect(m.pattern).toBe('cf');
    expect(m.recall).toBe(1);
    expect(res.triggers[0]!.rows.some((id) => id.startsWith('u'))).toBe(false);
  });

  it('validates options', () => {
    expect(() => findTextTriggers([], { minPurity: 2 })).toThrow(RangeError);
    expect(() => findTextTriggers([], { maxN: 0 })).toThrow(RangeError);
  });
});

describe('trigger/token-stat building blocks', () => {
  it('tokenizes row ranges that concatenate to the whole', () => {
    const rows = generate({ ...strong(71), rows: 300 });
    rows[5] = { ...rows[5]!, label: null };
    const whole = tokenizeRows(rows, 0, 300, 64);
    const a = tokenizeRows(rows, 0, 120, 64);
    const b = tokenizeRows(rows, 120, 300, 64);
    expect(Array.from(whole.tokens)).toEqual([...a.tokens, ...b.tokens]);
    expect(whole.offsets[6]! - whole.offsets[5]!).toBe(0);
    const capped = tokenizeRows(
      [{ id: 'x', label: 'a', source: null, text: 'a b c d e f' }],
      0,
      1,
      3,
    );
    expect(capped.tokens.length).toBe(3);
  });

  it('sketches of disjoint ranges add up and bound the true counts', () => {
    const rows = generate({ ...strong(72), rows: 400 });
    const csr = tokenizeRows(rows, 0, 400, 64);
    const whole = newSketch(14);
    sketchNgrams(csr, 0, 400, 3, whole);
    const left = newSketch(14);
    const right = newSketch(14);
    sketchNgrams(csr, 0, 150, 3, left);
    sketchNgrams(csr, 150, 400, 3, right);
    for (let i = 0; i < whole.counts.length; i++)
      expect(whole.counts[i]).toBe(left.counts[i]! + right.counts[i]!);
    // Every bigram's cell holds at least its number of occurrences.
    const seen = new Map<number, number>();
    for (let r = 0; r < 400; r++) {
      for (let i = csr.offsets[r]!; i + 1 < csr.offsets[r + 1]!; i++) {
        const k = ngramKey(csr.tokens, i, 2);
        seen.set(k, (seen.get(k) ?? 0) + 1);
      }
    }
    for (const [k, n] of seen) expect(whole.counts[k >>> (32 - 14)]).toBeGreaterThanOrEqual(n);
  });

  it('computes χ² and Wilson bounds', () => {
    // 2×2 table [[30, 0], [918, 2075]] (cf planted into 30 spam rows of the sample).
    expect(chi2x2(30, 30, 948, 3023)).toBeCloseTo(
      (3023 * (30 * 2075) ** 2) / (30 * 2993 * 948 * 2075),
      6,
    );
    expect(chi2x2(0, 0, 10, 20)).toBe(0);
    expect(wilsonLower(5, 5)).toBeCloseTo(0.5655, 3);
    expect(wilsonLower(0, 10)).toBe(0);
    expect(wilsonLower(0, 0)).toBe(0);
  });
});
