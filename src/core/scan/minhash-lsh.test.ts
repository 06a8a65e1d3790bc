import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  bandHashes,
  candidateProbability,
  chooseBanding,
  findNearDuplicates,
  jaccardSorted,
  lshCandidates,
  mergeCandidates,
  minhashNearDuplicates,
  minhashParams,
  minhashSignatures,
  shingleSet,
} from './minhash-lsh.js';
import { mulberry32 } from './random.js';
import { normalizeText } from './text-normalize.js';
import type { DetectorResult, ScanRow } from './types.js';

function vocabulary(r: () => number, size: number): string[] {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const out = new Set<string>();
  while (out.size < size) {
    let w = '';
    const len = 2 + Math.floor(r() * 8);
    for (let j = 0; j < len; j++) w += letters[Math.floor(r() * 26)] as string;
    out.add(w);
  }
  return [...out];
}

function randomText(r: () => number, vocab: string[], tokens: number): string {
  const out: string[] = [];
  for (let i = 0; i < tokens; i++) {
    const u = r();
    out.push(vocab[Math.floor(u * u * vocab.length)] as string); // skewed word frequencies
    if (r() < 0.06) out.push(r() < 0.5 ? ',' : '.');
  }
  return out.join(' ');
}

/** A copy with 1–3 word edits (substitution, insertion or deletion) at random positions. */
function edited(r: () => number, vocab: string[], text: string): string {
  const w = text.split(' ');
  const edits = 1 + Math.floor(r() * 3);
  for (let e = 0; e < edits; e++) {
    const p = Math.floor(r() * w.length);
    const op = r();
    const word = vocab[Math.floor(r() * vocab.length)] as string;
    if (op < 0.5) w[p] = word;
    else if (op < 0.75) w.splice(p, 0, word);
    else if (w.length > 2) w.splice(p, 1);
  }
  return w.join(' ');
}

/** Row index → cluster number, from the issues (members) and their representatives. */
function clusterMap(rows: readonly ScanRow[], res: DetectorResult): Map<number, number> {
  const index = new Map(rows.map((r, i) => [r.id, i]));
  const out = new Map<number, number>();
  for (const issue of res.issues) {
    const c = issue.detail.cluster as number;
    out.set(index.get(issue.row) as number, c);
    out.set(index.get(issue.detail.representative as string) as number, c);
  }
  return out;
}

/**
 * Recall of the detector over the ground-truth pairs with J ≥ `min` inside each group. Rows whose
 * normalised text equals an earlier row's are exact copies (dup/exact's job) and left out.
 */
function pairRecall(
  rows: readonly ScanRow[],
  res: DetectorResult,
  groups: readonly number[][],
  min: number,
): { pairs: number; found: number } {
  const params = minhashParams();
  const clusters = clusterMap(rows, res);
  const norm = rows.map((row) => normalizeText(row.text ?? ''));
  const copy = new Set<number>();
  const firstSeen = new Set<string>();
  norm.forEach((t, i) => {
    if (firstSeen.has(t)) copy.add(i);
    firstSeen.add(t);
  });
  const sets = new Map<number, Uint32Array>();
  const setOf = (i: number): Uint32Array => {
    let s = sets.get(i);
    if (!s) sets.set(i, (s = shingleSet(norm[i] as string, params)));
    return s;
  };
  let pairs = 0;
  let found = 0;
  for (const g of groups) {
    for (let x = 0; x < g.length; x++) {
      for (let y = x + 1; y < g.length; y++) {
        const a = g[x] as number;
        const b = g[y] as number;
        if (copy.has(a) || copy.has(b)) continue;
        if (jaccardSorted(setOf(a), setOf(b)) < min) continue;
        pairs++;
        const ca = clusters.get(a);
        if (ca !== undefined && ca === clusters.get(b)) found++;
      }
    }
  }
  return { pairs, found };
}

describe('banding', () => {
  it('chooses 21 × 6 for threshold 0.8: ≥ 0.99 at J = 0.8, low at J = 0.5', () => {
    expect(chooseBanding(128, 0.8)).toEqual({ bands: 21, rowsPerBand: 6 });
    expect(candidateProbability(0.8, 21, 6)).toBeGreaterThan(0.99);
    expect(candidateProbability(0.5, 21, 6)).toBeLessThan(0.3);
    expect(candidateProbability(0.3, 21, 6)).toBeLessThan(0.02);
    for (const t of [0.5, 0.7, 0.9]) {
      const b = chooseBanding(128, t);
      expect(b.bands * b.rowsPerBand).toBeLessThanOrEqual(128);
      expect(candidateProbability(t, b.bands, b.rowsPerBand)).toBeGreaterThanOrEqual(0.99);
    }
    expect(minhashParams({ threshold: 0.8 }).bands).toBe(21);
    expect(() => minhashParams({ bands: 40, rowsPerBand: 4 })).toThrow(RangeError);
  });
});

describe('MinHash signatures', () => {
  const params = minhashParams();
  const r = mulberry32(17);
  const vocab = vocabulary(r, 4000);

  it('estimate Jaccard without bias and with binomial variance', () => {
    const texts: string[] = [];
    for (let i = 0; i < 400; i++) {
      const a = randomText(r, vocab, 80);
      let b = a;
      const rounds = Math.floor(r() * 6);
      for (let k = 0; k < rounds; k++) b = edited(r, vocab, b);
      texts.push(a, b);
    }
    const sig = minhashSignatures(texts, 0, texts.length, params).signatures;
    let bias = 0;
    let z2 = 0;
    let m = 0;
    for (let i = 0; i < texts.length; i += 2) {
      const j = jaccardSorted(
        shingleSet(normalizeText(texts[i] as string), params),
        shingleSet(normalizeText(texts[i + 1] as string), params),
      );
      if (j <= 0 || j >= 1) continue;
      let eq = 0;
      for (let p = 0; p < 128; p++) if (sig[i * 128 + p] === sig[(i + 1) * 128 + p]) eq++;
      const est = eq / 128;
      bias += est - j;
      z2 += (est - j) ** 2 / ((j * (1 - j)) / 128);
      m++;
    }
    expect(m).toBeGreaterThan(300);
    expect(Math.abs(bias / m)).toBeLessThan(0.01);
    expect(z2 / m).toBeLessThan(1.4); // ≈ 1 for independent permutations
  });

  it('are pure over row and band ranges', () => {
    const texts = Array.from({ length: 300 }, (_, i) =>
      i % 7 === 0 ? undefined : randomText(r, vocab, 30),
    );
    for (let i = 1; i < 300; i += 10) texts[i] = texts[i - 1]; // some identical rows to bucket
    const all = minhashSignatures(texts, 0, 300, params);
    const a = minhashSignatures(texts, 0, 123, params);
    const b = minhashSignatures(texts, 123, 300, params);
    expect(Array.from(all.signatures)).toEqual([...a.signatures, ...b.signatures]);
    expect(Array.from(all.flags)).toEqual([...a.flags, ...b.flags]);
    const bands = new Uint32Array(params.bands * 300);
    bandHashes(all.signatures, 300, params, bands, 300, 0);
    const active = all.flags.map((f) => f & 1);
    const whole = lshCandidates(bands, 300, active, 0, params.bands);
    const merged = mergeCandidates(
      [lshCandidates(bands, 300, active, 0, 7), lshCandidates(bands, 300, active, 7, params.bands)],
      300,
    );
    expect(whole.pairs.length).toBeGreaterThan(0);
    expect(Array.from(merged.pairs)).toEqual(Array.from(whole.pairs));
  });
});

// Word 5-grams: an edit changes up to 5 shingles, so texts of 40–400 tokens put the planted
// copies on both sides of the 0.8 threshold (recall is judged on the pairs with J ≥ 0.85).
describe('dup/minhash on generated near-duplicate floods', () => {
  const r = mulberry32(99);
  const vocab = vocabulary(r, 3000);
  const rows: ScanRow[] = [];
  for (let i = 0; i < 3000; i++) {
    const len = Math.round(40 * Math.pow(10, r())); // 40–400 tokens, log-uniform
    rows.push({
      id: `b${i}`,
      label: r() < 0.5 ? 'a' : 'b',
      source: null,
      text: randomText(r, vocab, len),
    });
  }
  const groups: number[][] = [];
  for (let f = 0; f < 30; f++) {
    const src = f * 100;
    const group = [src];
    const copies = 5 + Math.floor(r() * 11);
    for (let c = 0; c < copies; c++) {
      group.push(rows.length);
      const label = c === 0 ? 'b' : (rows[src] as ScanRow).label; // one relabelled copy
      rows.push({
        id: `f${f}-${c}`,
        label,
        source: null,
        text: edited(r, vocab, (rows[src] as ScanRow).text as string),
      });
    }
    groups.push(group);
  }
  const res = findNearDuplicates(rows);

  it('recalls ≥ 95 % of the pairs with J ≥ 0.85', () => {
    const { pairs, found } = pairRecall(rows, res, groups, 0.85);
    expect(pairs).toBeGreaterThan(300);
    expect(found / pairs).toBeGreaterThanOrEqual(0.95);
  });

  it('reports clusters only inside the planted floods, with J ≥ 0.8', () => {
    const planted = new Map<number, number>();
    groups.forEach((g, k) => g.forEach((i) => planted.set(i, k)));
    const index = new Map(rows.map((row, i) => [row.id, i]));
    expect(res.issues.length).toBeGreaterThan(100);
    for (const issue of res.issues) {
      const g = planted.get(index.get(issue.row) as number);
      expect(g).toBeDefined();
      expect(planted.get(index.get(issue.detail.representative as string) as number)).toBe(g);
      expect(issue.detail.jaccard).toBeGreaterThanOrEqual(0.8);
      expect(issue.score).toBeGreaterThanOrEqual(0.5);
      expect(issue.score).toBeLessThanOrEqual(1);
    }
    expect(res.summary.clusters).toBeLessThanOrEqual(30 * 2);
    expect(res.summary.confirmedPairs).toBeLessThanOrEqual(res.summary.candidatePairs as number);
  });

  it('never flags a representative and lists the labels of the cluster', () => {
    const reps = new Set(res.issues.map((i) => i.detail.representative));
    for (const i of res.issues) expect(reps.has(i.row)).toBe(false);
    expect(res.issues.some((i) => i.detail.labelDiffersFromRepresentative === true)).toBe(true);
  });

  it('finds nothing among distinct texts', () => {
    const clean = findNearDuplicates(rows.slice(0, 3000));
    expect(clean.issues).toEqual([]);
    expect(clean.summary.clusters).toBe(0);
  });
});

describe('dup/minhash on real e-mail', () => {
  it('recalls natural and planted near-duplicates in the SpamAssassin sample', () => {
    const all = gunzipSync(
      readFileSync(new URL('../../../data/spamassassin/sample.jsonl.gz', import.meta.url)),
    )
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as ScanRow);
    const r = mulberry32(5);
    const vocab = vocabulary(r, 500);
    const rows = all.slice(0, 700);
    for (let p = 0; p < 40; p++) {
      const src = rows[p * 17] as ScanRow;
      rows.push({ ...src, id: `planted${p}`, text: edited(r, vocab, src.text as string) });
    }
    // Ground truth over every pair of rows.
    const res = findNearDuplicates(rows);
    const { pairs, found } = pairRecall(rows, res, [rows.map((_, i) => i)], 0.85);
    expect(pairs).toBeGreaterThanOrEqual(30);
    expect(found / pairs).toBeGreaterThanOrEqual(0.95);
    const flagged = new Set(res.issues.map((i) => i.row));
    const plantedFound = rows.filter(
      (row) => row.id.startsWith('planted') && flagged.has(row.id),
    ).length;
    expect(plantedFound).toBeGreaterThanOrEqual(30); // edits to short messages cut J below 0.8
    for (const i of res.issues) expect(i.detail.jaccard).toBeGreaterThanOrEqual(0.8);
  });
});

describe('dup/minhash edge cases', () => {
  const row = (id: string, text?: string, label: string | null = 'a'): ScanRow => ({
    id,
    label,
    source: null,
    ...(text !== undefined ? { text } : {}),
  });

  it('uses character shingles for short texts', () => {
    const res = findNearDuplicates([
      row('1', 'Free money now, click here!!!'),
      row('2', 'free money now, click here!!'),
      row('3', 'meeting moved to thursday'),
    ]);
    expect(res.summary.charShingleRows).toBe(3);
    expect(res.issues.map((i) => i.row)).toEqual(['2']);
  });

  it('leaves exact copies to dup/exact', () => {
    const t = 'one two three four five six seven eight nine ten eleven twelve';
    const res = findNearDuplicates([
      row('1', t),
      row('2', ` ${t.toUpperCase()} `),
      row('3', `${t} thirteen`),
    ]);
    expect(res.summary.exactCopiesSkipped).toBe(1);
    expect(res.issues.map((i) => i.row)).toEqual(['3']);
  });

  it('caps the work on 1 MB texts', () => {
    const r = mulberry32(3);
    const vocab = vocabulary(r, 2000);
    const big = randomText(r, vocab, 150_000); // ~1 MB
    const t0 = performance.now();
    const res = findNearDuplicates([
      row('1', big),
      row('2', `${big} tail`),
      row('3', randomText(r, vocab, 50)),
    ]);
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(res.summary.truncatedRows).toBe(2);
    expect(res.issues.map((i) => i.row)).toEqual(['2']); // identical first 2,000 shingles
  });

  it('reports monotone progress ending at 1', () => {
    const seen: number[] = [];
    findNearDuplicates(
      [row('1', 'a b c d e f g h i j k'), row('2', 'a b c d e f g h i j x')],
      {},
      (f) => seen.push(f),
    );
    for (let i = 1; i < seen.length; i++)
      expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1] as number);
    expect(seen.at(-1)).toBe(1);
  });

  it('skips what it cannot run on', () => {
    expect(findNearDuplicates([]).skipped).toBe('fewer than 2 rows');
    expect(findNearDuplicates([row('1', 'x')]).skipped).toBe('fewer than 2 rows');
    expect(findNearDuplicates([row('1'), row('2', '  ')]).skipped).toBe('no row has text');
    expect(findNearDuplicates([row('1', 'same'), row('2', 'SAME')]).skipped).toBe(
      'fewer than 2 distinct texts',
    );
    expect(minhashNearDuplicates.id).toBe('dup/minhash');
  });
});
