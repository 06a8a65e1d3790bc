/**
 * Sparse feature vectors for the scan engine's cheap models, in CSR form.
 *
 * - Text: hashed word unigrams and bigrams (optionally character n-grams inside word boundaries)
 *   into 2^bits buckets with signed hashing (the sign of a feature comes from an independent hash
 *   bit, so collisions cancel in expectation instead of piling up), sublinear tf (1 + ln c) per
 *   distinct n-gram, then L2 normalisation of the text block.
 * - Tabular features: per-column z-scores over the rows (constant columns dropped), clipped to
 *   ±MAX_Z and scaled by 1/sqrt(columns) so the block has norm ≈ 1 like the text block.
 * - Embedding vectors (`featureMode: 'normalize'`): used as they are, L2-normalised.
 *
 * A row with both text and features gets both blocks side by side: columns [0, 2^bits) are text,
 * the rest are features. Tokens are text-normalize's (shared with the trigger scan); their hashes
 * are taken straight from the text, with no string allocated per token.
 */
import {
  CHAR_WORD,
  charClassOf,
  fmix32,
  hashSpan,
  prepareForTokens,
  scanTokenSpans,
  spanScratch,
} from './text-normalize.js';
import type { ScanRow } from './types.js';

/** Compressed sparse rows: row r owns entries indptr[r] .. indptr[r+1]-1, columns ascending. */
export interface Csr {
  rows: number;
  cols: number;
  indptr: Int32Array;
  indices: Int32Array;
  values: Float32Array;
}

/** 2^18 buckets: few collisions for ~10^5 distinct n-grams; K weights per bucket stay a few MB. */
export const DEFAULT_HASH_BITS = 18;
/** Tokens read per text: a 1 MB row costs what a long e-mail costs; typical rows are read whole. */
export const DEFAULT_FEATURE_TOKENS = 512;
/** Characters of a token that yield character n-grams (long URLs, base64 runs add no more). */
export const MAX_TOKEN_CHARS = 64;
/** Word bigrams on: phrase-level signal ("click here") for about twice the unigram cost. */
export const DEFAULT_BIGRAMS = true;
/** Sub-words on: URLs and addresses hide spam words; +9 % non-zeros on the SpamAssassin sample. */
export const DEFAULT_SUBWORDS = true;
/** Char n-grams off: 3–5-grams gave no measurable F1 gain for 3–5× the non-zeros and time. */
export const DEFAULT_CHAR_NGRAMS: readonly [number, number] | null = null;
/** z-scores are clipped here so one extreme value cannot dominate SGD updates. */
export const MAX_Z = 8;

export type FeatureMode = 'standardize' | 'normalize';

export interface FeaturizeOptions {
  /** log2 of the number of text buckets (8..24). */
  hashBits?: number;
  /** Tokens read per text (the rest is ignored, documented cap for huge rows). */
  maxTokens?: number;
  bigrams?: boolean;
  /** Also hash the word runs inside tokens with inner punctuation (URLs, e-mail addresses). */
  subwords?: boolean;
  /** Inclusive [min, max] character n-gram lengths inside word boundaries, or null for none. */
  charNgrams?: readonly [number, number] | null;
  /** 'standardize' (tabular: z-scores, default) or 'normalize' (embeddings: L2 as is). */
  featureMode?: FeatureMode;
  /** Use the text block; default: when any row has a non-empty text. */
  useText?: boolean;
  /** Use the feature block; default: when any row has a valid feature vector. */
  useFeatures?: boolean;
}

/** Everything a worker needs to featurise a range of rows (column statistics are global). */
export interface FeaturePlan {
  text: boolean;
  hashBits: number;
  maxTokens: number;
  bigrams: boolean;
  subwords: boolean;
  charMin: number;
  charMax: number;
  /** Width of the text block (2^hashBits when text is used, else 0). */
  textDim: number;
  features: {
    mode: FeatureMode;
    /** Expected vector length (the most common length among rows). */
    length: number;
    /** Source columns kept, in output order. */
    keep: Int32Array;
    mean: Float64Array;
    /** 1/std per kept column, times the block scale 1/sqrt(kept). */
    scale: Float64Array;
  } | null;
  dim: number;
}

export interface FeaturePlanStats {
  textRows: number;
  featureRows: number;
  /** Rows whose vector has a NaN/infinite value or a length other than the modal one. */
  badFeatureRows: number;
  featureLength: number;
  droppedConstantColumns: number;
}

export interface Featurized {
  X: Csr;
  dim: number;
  /** Row indices with no usable input (no tokens and no valid vector): empty rows in X. */
  skipped: number[];
  stats: FeaturePlanStats;
  /** Width of the text block (0 when no text is used); feature columns follow it. */
  textDim: number;
  featureColumns: number;
}

// ---------------------------------------------------------------------------------------------
// Hashing

const BIGRAM_SALT = 0x27d4eb2f;
const CHAR_SALT = 0x165667b1;
const BOUNDARY = 0x20;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * Hashes the n-grams of one text into `out` (unsorted 32-bit feature hashes, repeats kept) and
 * returns how many were written. Tokens are text-normalize's (`prepareForTokens` +
 * `scanTokenSpans`: lower-cased, NFC, punctuation kept), so features match the trigger scan's.
 * Bounded by maxTokens tokens (and the characters they may span) and out.length features.
 */
export function hashTextFeatures(
  text: string,
  plan: Pick<FeaturePlan, 'maxTokens' | 'bigrams' | 'subwords' | 'charMin' | 'charMax'>,
  out: Uint32Array,
): number {
  const cap = out.length;
  const t = prepareForTokens(text, plan.maxTokens);
  const want = Math.min(plan.maxTokens, t.length);
  const { starts, ends } = spanScratch(want);
  const nt = scanTokenSpans(t, want, starts, ends);
  let m = 0;
  let prev = 0;
  for (let j = 0; j < nt && m < cap; j++) {
    const s = starts[j]!;
    const e = ends[j]!;
    const u = hashSpan(t, s, e);
    out[m++] = u;
    if (plan.bigrams && j > 0 && m < cap)
      out[m++] = fmix32((Math.imul(prev, 0x9e3779b1) + u) ^ BIGRAM_SALT);
    prev = u;
    if (plan.subwords && e - s > 2) {
      // A token with inner punctuation (URL, e-mail, "color=red", "don't") also yields its
      // word-character runs, hashed like standalone words, so "http://cheap.pills" shares
      // "cheap" and "pills" with plain text.
      let words = 0;
      let puncts = 0;
      for (let q = s; q < e; q++) {
        if (charClassOf(t.charCodeAt(q)) === CHAR_WORD) words++;
        else puncts++;
      }
      if (words > 0 && puncts > 0) {
        let ws = -1;
        for (let q = s; q <= e && m < cap; q++) {
          const word = q < e && charClassOf(t.charCodeAt(q)) === CHAR_WORD;
          if (word && ws < 0) ws = q;
          else if (!word && ws >= 0) {
            out[m++] = hashSpan(t, ws, q);
            ws = -1;
          }
        }
      }
    }
    if (plan.charMin > 0) {
      // Character n-grams of " token " (boundaries marked by a space), never across tokens;
      // only the first MAX_TOKEN_CHARS characters of a token are used.
      const L = Math.min(e - s, MAX_TOKEN_CHARS) + 2;
      for (let n = plan.charMin; n <= plan.charMax && m < cap; n++) {
        for (let p = 0; p + n <= L && m < cap; p++) {
          let g = FNV_OFFSET ^ Math.imul(CHAR_SALT, n);
          for (let q = p; q < p + n; q++) {
            const c = q === 0 || q === L - 1 ? BOUNDARY : t.charCodeAt(s + q - 1);
            g = Math.imul(g ^ c, FNV_PRIME);
          }
          out[m++] = fmix32(g);
        }
      }
    }
  }
  return m;
}

// ---------------------------------------------------------------------------------------------
// Planning (global statistics)

function intOpt(v: number | undefined, def: number, lo: number, hi: number, name: string): number {
  const x = v ?? def;
  if (!Number.isInteger(x) || x < lo || x > hi) {
    throw new RangeError(`${name} must be an integer in [${lo}, ${hi}], got ${String(v)}`);
  }
  return x;
}

function validVector(f: readonly number[] | undefined, length: number): boolean {
  if (!Array.isArray(f) || f.length !== length || length === 0) return false;
  for (let j = 0; j < length; j++) if (!Number.isFinite(f[j])) return false;
  return true;
}

/** Modal length of the rows' feature vectors (0 when none has one). */
function modalLength(rows: readonly ScanRow[]): number {
  const counts = new Map<number, number>();
  for (const r of rows) {
    const f = r.features;
    if (Array.isArray(f) && f.length > 0) counts.set(f.length, (counts.get(f.length) ?? 0) + 1);
  }
  let best = 0;
  let bestCount = 0;
  for (const [len, c] of counts) {
    if (c > bestCount || (c === bestCount && len < best)) {
      best = len;
      bestCount = c;
    }
  }
  return best;
}

/** Decides the blocks and computes column statistics over all rows (one or two passes). */
export function planFeatures(
  rows: readonly ScanRow[],
  options: FeaturizeOptions = {},
): { plan: FeaturePlan; stats: FeaturePlanStats } {
  const hashBits = intOpt(options.hashBits, DEFAULT_HASH_BITS, 8, 24, 'hashBits');
  const maxTokens = intOpt(options.maxTokens, DEFAULT_FEATURE_TOKENS, 1, 1 << 20, 'maxTokens');
  const cg = options.charNgrams === undefined ? DEFAULT_CHAR_NGRAMS : options.charNgrams;
  const charMin = cg ? intOpt(cg[0], 3, 1, MAX_TOKEN_CHARS, 'charNgrams[0]') : 0;
  const charMax = cg ? intOpt(cg[1], 5, charMin, MAX_TOKEN_CHARS, 'charNgrams[1]') : 0;
  const mode: FeatureMode = options.featureMode ?? 'standardize';

  let textRows = 0;
  for (const r of rows) if (typeof r.text === 'string' && r.text.length > 0) textRows++;
  const text = options.useText ?? textRows > 0;

  const length = modalLength(rows);
  let featureRows = 0;
  let badFeatureRows = 0;
  const sum = new Float64Array(length);
  for (const r of rows) {
    const f = r.features;
    if (f === undefined) continue;
    if (!validVector(f, length)) {
      badFeatureRows++;
      continue;
    }
    featureRows++;
    for (let j = 0; j < length; j++) sum[j]! += f[j]!;
  }
  const useFeatures = (options.useFeatures ?? featureRows > 0) && featureRows > 0;
  let features: FeaturePlan['features'] = null;
  let dropped = 0;
  if (useFeatures) {
    if (mode === 'normalize') {
      const keep = new Int32Array(length);
      for (let j = 0; j < length; j++) keep[j] = j;
      features = {
        mode,
        length,
        keep,
        mean: new Float64Array(length),
        scale: new Float64Array(length).fill(1),
      };
    } else {
      const mean = sum.map((s) => s / featureRows);
      const sq = new Float64Array(length);
      for (const r of rows) {
        const f = r.features;
        if (!validVector(f, length)) continue;
        for (let j = 0; j < length; j++) {
          const d = f![j]! - mean[j]!;
          sq[j]! += d * d;
        }
      }
      const keepList: number[] = [];
      const stds: number[] = [];
      for (let j = 0; j < length; j++) {
        const sd = Math.sqrt(sq[j]! / featureRows);
        if (sd > 1e-9 * Math.max(1, Math.abs(mean[j]!))) {
          keepList.push(j);
          stds.push(sd);
        }
      }
      dropped = length - keepList.length;
      const block = keepList.length > 0 ? 1 / Math.sqrt(keepList.length) : 0;
      features =
        keepList.length > 0
          ? {
              mode,
              length,
              keep: Int32Array.from(keepList),
              mean: Float64Array.from(keepList, (j) => mean[j]!),
              scale: Float64Array.from(stds, (sd) => block / sd),
            }
          : null;
    }
  }
  const textDim = text ? 1 << hashBits : 0;
  const plan: FeaturePlan = {
    text,
    hashBits,
    maxTokens,
    bigrams: options.bigrams ?? DEFAULT_BIGRAMS,
    subwords: options.subwords ?? DEFAULT_SUBWORDS,
    charMin,
    charMax,
    textDim,
    features,
    dim: textDim + (features ? features.keep.length : 0),
  };
  return {
    plan,
    stats: {
      textRows,
      featureRows,
      badFeatureRows,
      featureLength: length,
      droppedConstantColumns: dropped,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Featurising

function scratchSize(plan: FeaturePlan): number {
  const perToken =
    (plan.bigrams ? 2 : 1) +
    (plan.subwords ? 2 : 0) +
    (plan.charMin > 0 ? 3 * (plan.charMax - plan.charMin + 1) * 4 : 0);
  return Math.min(1 << 22, plan.maxTokens * perToken);
}

/** Average non-zeros per row over a strided sample of at most 1,000 rows (sizes the buffers). */
function estimateNnz(
  rows: readonly ScanRow[],
  plan: FeaturePlan,
  start: number,
  end: number,
  buf: Uint32Array,
): number {
  const n = end - start;
  if (n <= 0) return 0;
  const step = Math.max(1, Math.floor(n / 1000));
  let total = 0;
  let seen = 0;
  for (let r = start; r < end; r += step) {
    const t = rows[r]?.text;
    if (plan.text && typeof t === 'string') total += hashTextFeatures(t, plan, buf);
    seen++;
  }
  // Repeats collapse, so the raw count over-estimates: a safe upper-ish bound.
  return total / seen + (plan.features ? plan.features.keep.length : 0);
}

/**
 * Featurises rows [start, end) with a plan from planFeatures. Pure over the range so the engine
 * can spread ranges over workers and join them with concatCsr.
 */
export function featurizeRange(
  rows: readonly ScanRow[],
  plan: FeaturePlan,
  start = 0,
  end = rows.length,
): { X: Csr; skipped: number[] } {
  const n = Math.max(0, end - start);
  const buf = new Uint32Array(plan.text ? scratchSize(plan) : 1);
  let cap = Math.ceil(estimateNnz(rows, plan, start, end, buf) * n * 1.1) + 1024;
  let indices = new Int32Array(cap);
  let values = new Float32Array(cap);
  const indptr = new Int32Array(n + 1);
  const skipped: number[] = [];
  let nnz = 0;
  const ensure = (extra: number): void => {
    if (nnz + extra <= cap) return;
    cap = Math.max(nnz + extra, Math.ceil(cap * 1.5));
    const ni = new Int32Array(cap);
    ni.set(indices.subarray(0, nnz));
    indices = ni;
    const nv = new Float32Array(cap);
    nv.set(values.subarray(0, nnz));
    values = nv;
  };
  const shift = 32 - plan.hashBits;
  const fp = plan.features;
  for (let r = start; r < end; r++) {
    const row = rows[r]!;
    const rowStart = nnz;
    const t = row.text;
    if (plan.text && typeof t === 'string' && t.length > 0) {
      const m = hashTextFeatures(t, plan, buf);
      if (m > 0) {
        const hs = buf.subarray(0, m).sort();
        ensure(m);
        let j = 0;
        while (j < m) {
          const h = hs[j]!;
          let c = 1;
          j++;
          while (j < m && hs[j] === h) {
            c++;
            j++;
          }
          const v = (h & 1) === 1 ? -(1 + Math.log(c)) : 1 + Math.log(c);
          const bucket = h >>> shift;
          if (nnz > rowStart && indices[nnz - 1] === bucket) values[nnz - 1]! += v;
          else {
            indices[nnz] = bucket;
            values[nnz] = v;
            nnz++;
          }
        }
        let ss = 0;
        for (let q = rowStart; q < nnz; q++) ss += values[q]! * values[q]!;
        if (ss > 0) {
          const inv = 1 / Math.sqrt(ss);
          for (let q = rowStart; q < nnz; q++) values[q]! *= inv;
        }
      }
    }
    const f = row.features;
    if (fp && f !== undefined && validVector(f, fp.length)) {
      const k = fp.keep.length;
      ensure(k);
      const base = plan.textDim;
      if (fp.mode === 'normalize') {
        let ss = 0;
        for (let j = 0; j < k; j++) ss += f[j]! * f[j]!;
        const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
        for (let j = 0; j < k; j++) {
          const v = f[j]! * inv;
          if (v !== 0) {
            indices[nnz] = base + j;
            values[nnz] = v;
            nnz++;
          }
        }
      } else {
        // (x - mean)/sd is clipped to ±MAX_Z; scale already carries the block factor 1/sqrt(k).
        const lim = MAX_Z / Math.sqrt(k);
        for (let j = 0; j < k; j++) {
          let z = (f[fp.keep[j]!]! - fp.mean[j]!) * fp.scale[j]!;
          if (z > lim) z = lim;
          else if (z < -lim) z = -lim;
          if (z !== 0) {
            indices[nnz] = base + j;
            values[nnz] = z;
            nnz++;
          }
        }
      }
    }
    if (nnz === rowStart) skipped.push(r);
    indptr[r - start + 1] = nnz;
  }
  // Trim when the estimate was far off; otherwise keep views (at most ~10 % slack).
  const trim = nnz < cap * 0.75;
  return {
    X: {
      rows: n,
      cols: plan.dim,
      indptr,
      indices: trim ? indices.slice(0, nnz) : indices.subarray(0, nnz),
      values: trim ? values.slice(0, nnz) : values.subarray(0, nnz),
    },
    skipped,
  };
}

/** Joins row ranges featurised separately (same plan) into one matrix. */
export function concatCsr(parts: readonly Csr[]): Csr {
  let rows = 0;
  let nnz = 0;
  let cols = 0;
  for (const p of parts) {
    rows += p.rows;
    nnz += p.indptr[p.rows]!;
    cols = Math.max(cols, p.cols);
  }
  const indptr = new Int32Array(rows + 1);
  const indices = new Int32Array(nnz);
  const values = new Float32Array(nnz);
  let r0 = 0;
  let z0 = 0;
  for (const p of parts) {
    const pn = p.indptr[p.rows]!;
    indices.set(p.indices.subarray(0, pn), z0);
    values.set(p.values.subarray(0, pn), z0);
    for (let r = 1; r <= p.rows; r++) indptr[r0 + r] = z0 + p.indptr[r]!;
    r0 += p.rows;
    z0 += pn;
  }
  return { rows, cols, indptr, indices, values };
}

/** Plans and featurises all rows in one call. */
export function featurize(rows: readonly ScanRow[], options: FeaturizeOptions = {}): Featurized {
  const { plan, stats } = planFeatures(rows, options);
  const { X, skipped } = featurizeRange(rows, plan, 0, rows.length);
  return {
    X,
    dim: plan.dim,
    skipped,
    stats,
    textDim: plan.textDim,
    featureColumns: plan.features ? plan.features.keep.length : 0,
  };
}
