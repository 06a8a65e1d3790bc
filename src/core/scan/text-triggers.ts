/**
 * Detector `trigger/token-stat`: token and phrase backdoor triggers in labelled text
 * (field notes §5).
 *
 * 1. Tokens: the shared tokenizer (`text-normalize.ts`: lower-case, NFC, punctuation split off
 *    words, no stop-word removal), hashed to 32 bits, at most `maxTokens` per row, kept as one
 *    Uint32Array (4 bytes a token: no larger than the texts themselves).
 * 2. Counting, memory-lean: every n-gram (n = 1..maxN) goes through a one-row count-min sketch
 *    (a Uint32Array of occurrence counts, an upper bound of the rows containing it); only n-grams
 *    the sketch lets reach the support floor enter an exact open-addressing table, which counts
 *    each once per row (presence) and per label. Strings are recovered only for reported patterns.
 * 3. Candidates: per n-gram g with s rows, majority label c, a of them labelled c: s ≥ the floor
 *    max(minSupport, minSupportShare × rows), purity a/s ≥ minPurity, smoothed log-odds of c given
 *    g at least minLogOdds above c's base-rate log-odds (optionally χ² ≥ minChi2).
 * 4. Screening: naive Bayes (binary features, trained once) predicts a sample of g's rows
 *    leave-one-out with g's tokens removed; a genuine class word reads as its class and stops here.
 * 5. Phrases: a surviving candidate grows left and right while one token sits next to it in
 *    ≥ extendShare of its rows (an inserted sentence grows to its full length, a token inserted
 *    at random positions does not); equal phrases merge.
 * 6. Confirmation by leaving the pattern out (ConfirmMode): the model without the pattern's tokens
 *    and its rows, derived from the full model in closed form, predicts the pattern's rows.
 *    Disagreement = share predicted ≠ given label: a trigger relabels rows against their content
 *    (≈ 1), a genuine class word agrees with the rest of its text (≈ 0). Flagged when disagreement
 *    ≥ minDisagreement, purity ≥ minPurity, the disagreement beats the class's baseline
 *    disagreement (binomial test, Bonferroni over the candidates screened) and the rows are not
 *    a template cluster (cohesion ≤ maxCohesion, see DEFAULT_MAX_COHESION).
 * 7. Confirmed phrases merge into a better one that covers their rows; the rest are reported.
 *
 * Score (ranking, in [0, 1]): wilsonLow(disagreeing, evaluated) × wilsonLow(a, s), the 95 % Wilson
 * lower bounds of disagreement and purity. Both terms reward a rate near 1; the bounds make the
 * score support-aware, so 5 of 5 rows (0.57 × 0.57 ≈ 0.32) ranks far below 300 of 300 (≈ 0.97),
 * and a real trigger with both rates near 1 over many rows comes first.
 *
 * Limits: syntactic and style triggers have no token to count (field notes §11); a trigger past
 * the first `maxTokens` tokens of its row is not seen; ids are 32-bit hashes (rare collisions can
 * add a few rows to an n-gram's counts; phrase rows are re-checked token by token); unlabelled
 * rows are ignored; confirmation needs text whose class the bag-of-words model can read: where it
 * cannot (near-random labels), a trigger's rows do not disagree and nothing is reported.
 */
import { MultinomialNB } from './naive-bayes.js';
import type { Bags } from './naive-bayes.js';
import { mulberry32 } from './random.js';
import { binomialSf } from './stats.js';
import { fmix32, hashTokens, prepareForTokens, tokenize } from './text-normalize.js';
import type { Detector, DetectorResult, Issue, Progress, ScanRow, Trigger } from './types.js';
import { clamp01 } from './types.js';

export const TOKEN_STAT_ID = 'trigger/token-stat';

/** n = 1..4: rare tokens (cf, mb) and short phrases; longer inserted sentences grow from them (step 5). */
export const DEFAULT_MAX_NGRAM = 4;
/** At least 5 rows: below that neither purity nor disagreement can be told from chance. */
export const DEFAULT_MIN_SUPPORT = 5;
/** 0.1 % of rows: a trigger must poison a noticeable share to work; keeps big sets' candidate lists short. */
export const DEFAULT_MIN_SUPPORT_SHARE = 0.001;
/**
 * Purity 0.8, below the field notes' 0.9: a dirty-label trigger relabels every row it is planted
 * in, but natural occurrences elsewhere dilute it (in the SpamAssassin sample "cf" occurs in 4
 * ham rows, so a 1 % cf→spam trigger has purity 30/34 = 0.88). Disagreement does the separating.
 */
export const DEFAULT_MIN_PURITY = 0.8;
/**
 * No χ² gate by default (χ² is reported): for a majority target class a small trigger's χ² is low
 * (mb at 0.5 % into the 69 % ham class of the spam sample: χ² 2.7). The log-odds gate is used.
 */
export const DEFAULT_MIN_CHI2 = 0;
/** Log-odds of the label given the pattern ≥ base-rate log-odds + ln 2: the pattern at least doubles the odds. */
export const DEFAULT_MIN_LOG_ODDS = Math.LN2;
/** Disagreement 0.5: most of the pattern's rows read as another class once the pattern is removed (field notes §5). */
export const DEFAULT_MIN_DISAGREEMENT = 0.5;
/** 1,024 tokens per row: whole e-mails and reviews are read; a 1 MB row costs no more than a long e-mail. */
export const DEFAULT_MAX_TOKENS = 1024;
/** Candidates screened at most (highest χ² first): bounds time on very heterogeneous data (the 3,023-mail spam sample has ~33,000). */
export const DEFAULT_MAX_CANDIDATES = 200_000;
/** Phrases grow to 24 tokens at most: an inserted sentence fits. */
export const DEFAULT_MAX_PHRASE_TOKENS = 24;
/** A phrase grows by a neighbouring token present in ≥ 90 % of its rows. */
export const DEFAULT_EXTEND_SHARE = 0.9;
/** 2^18 naive-Bayes buckets: few collisions for vocabularies up to ~10^5 tokens, K × 2 MB of counts. */
export const DEFAULT_NB_HASH_BITS = 18;
/** Rows predicted per pattern at most (an even stride over its rows): the estimate is tight long before. */
export const DEFAULT_MAX_EVAL_ROWS = 4000;
/**
 * Family-wise error of confirmation: a pattern's disagreement must beat its class's baseline
 * disagreement with binomial p ≤ significance / candidates screened (Bonferroni), so a handful of
 * hard-to-read rows sharing a phrase is not reported on clean data.
 */
export const DEFAULT_SIGNIFICANCE = 0.01;
/**
 * Cohesion = mean Jaccard similarity among a pattern's rows ÷ mean similarity between its rows
 * and random rows of the class the model reads them as (pattern tokens removed). Poisoned rows are
 * ordinary rows of their source class and resemble each other no more than that class's rows do
 * (measured 0.8–1.2); a template cluster the model misreads (a newsletter's HTML, a spam run)
 * shares far more than the pattern (measured 2.0–9 in the SpamAssassin sample).
 */
export const DEFAULT_MAX_COHESION = 1.5;
/** Auto: the field notes' leave-rows-out test, falling back to leave-one-out where it cannot work. */
export const DEFAULT_CONFIRM: ConfirmMode = 'auto';
/** Triggers listed at most (all rows of each are reported). */
export const DEFAULT_MAX_TRIGGERS = 100;

/** Labelled text rows needed to run at all: fewer cannot hold a 5-row pattern against a base rate. */
export const MIN_ROWS = 20;
/** Auto mode leaves a pattern's rows out while they are at most half of their class. */
export const MAX_ROWS_OUT_SHARE = 0.5;
/** Rows per candidate on which its phrase is grown (an even stride): consensus shares are exact to a few %. */
export const EXTEND_ROWS = 256;
/** Rows per candidate predicted when screening: enough to tell ≈ 0 from ≥ 0.5. */
export const SCREEN_ROWS = 64;
/** Screening passes a candidate whose sample disagreement is at least this share of minDisagreement. */
export const SCREEN_FACTOR = 0.5;
/** Rows per class sampled for the baseline disagreement (error bars ≈ ±1 %). */
export const BASELINE_ROWS = 2000;
/** Rows of a pattern sampled for its cohesion (all pairs among them). */
export const COHESION_ROWS = 40;
/** Random partners per sampled row, from the class the model reads the row as. */
export const COHESION_PARTNERS = 3;
/** A confirmed phrase whose rows are ≥ 90 % inside a better phrase's rows is the same trigger. */
export const MERGE_OVERLAP = 0.9;
/** z of the 95 % Wilson lower bounds in the score. */
export const WILSON_Z = 1.96;
/** Issue score factor for a trigger's rows whose own content agrees with their label (natural occurrences or clean-label poison). */
export const AGREEING_ROW_FACTOR = 0.5;
/** Labels up to this many are counted per n-gram directly; beyond, a majority vote and a second pass. */
export const MAX_DIRECT_LABELS = 16;

/**
 * How the confirming model is trained. Always without the pattern's tokens, and
 * - 'leave-rows-out': without all of the pattern's rows (the field notes' test: poisoned rows
 *   cannot vouch for each other), class priors kept from the full data;
 * - 'leave-one-out': without only the predicted row (a pattern covering most of its class would
 *   otherwise leave the class with nothing to learn from);
 * - 'auto': leave-rows-out while the pattern's rows are at most MAX_ROWS_OUT_SHARE of their
 *   class, else leave-one-out.
 */
export type ConfirmMode = 'auto' | 'leave-one-out' | 'leave-rows-out';

export interface TokenStatOptions {
  maxN?: number;
  minSupport?: number;
  minSupportShare?: number;
  minPurity?: number;
  minChi2?: number;
  minLogOdds?: number;
  minDisagreement?: number;
  maxTokens?: number;
  maxCandidates?: number;
  maxPhraseTokens?: number;
  extendShare?: number;
  nbHashBits?: number;
  maxEvalRows?: number;
  maxTriggers?: number;
  confirm?: ConfirmMode;
  significance?: number;
  maxCohesion?: number;
}

type Params = Required<TokenStatOptions>;

function resolve(o: TokenStatOptions): Params {
  const int = (v: number | undefined, d: number, lo: number, hi: number, name: string): number => {
    const x = v ?? d;
    if (!Number.isInteger(x) || x < lo || x > hi) {
      throw new RangeError(`${name} must be an integer in [${lo}, ${hi}], got ${String(v)}`);
    }
    return x;
  };
  const real = (v: number | undefined, d: number, lo: number, hi: number, name: string): number => {
    const x = v ?? d;
    if (!(x >= lo && x <= hi)) throw new RangeError(`${name} must be in [${lo}, ${hi}]`);
    return x;
  };
  const confirm = o.confirm ?? DEFAULT_CONFIRM;
  if (confirm !== 'auto' && confirm !== 'leave-one-out' && confirm !== 'leave-rows-out') {
    throw new RangeError(`confirm must be auto, leave-one-out or leave-rows-out`);
  }
  return {
    maxN: int(o.maxN, DEFAULT_MAX_NGRAM, 1, 8, 'maxN'),
    minSupport: int(o.minSupport, DEFAULT_MIN_SUPPORT, 1, 1e9, 'minSupport'),
    minSupportShare: real(o.minSupportShare, DEFAULT_MIN_SUPPORT_SHARE, 0, 1, 'minSupportShare'),
    minPurity: real(o.minPurity, DEFAULT_MIN_PURITY, 0.5, 1, 'minPurity'),
    minChi2: real(o.minChi2, DEFAULT_MIN_CHI2, 0, 1e12, 'minChi2'),
    minLogOdds: real(o.minLogOdds, DEFAULT_MIN_LOG_ODDS, 0, 100, 'minLogOdds'),
    minDisagreement: real(o.minDisagreement, DEFAULT_MIN_DISAGREEMENT, 0, 1, 'minDisagreement'),
    maxTokens: int(o.maxTokens, DEFAULT_MAX_TOKENS, 1, 1 << 20, 'maxTokens'),
    maxCandidates: int(o.maxCandidates, DEFAULT_MAX_CANDIDATES, 1, 1e8, 'maxCandidates'),
    maxPhraseTokens: int(o.maxPhraseTokens, DEFAULT_MAX_PHRASE_TOKENS, 1, 256, 'maxPhraseTokens'),
    extendShare: real(o.extendShare, DEFAULT_EXTEND_SHARE, 0.5, 1, 'extendShare'),
    nbHashBits: int(o.nbHashBits, DEFAULT_NB_HASH_BITS, 8, 22, 'nbHashBits'),
    maxEvalRows: int(o.maxEvalRows, DEFAULT_MAX_EVAL_ROWS, 1, 1e9, 'maxEvalRows'),
    maxTriggers: int(o.maxTriggers, DEFAULT_MAX_TRIGGERS, 1, 1e6, 'maxTriggers'),
    confirm,
    significance: real(o.significance, DEFAULT_SIGNIFICANCE, 0, 1, 'significance'),
    maxCohesion: real(o.maxCohesion, DEFAULT_MAX_COHESION, 0, 1e9, 'maxCohesion'),
  };
}

// ---------------------------------------------------------------------------------------------
// Tokens and n-gram keys

/** Token hashes of many rows in CSR form: row r owns tokens[offsets[r]] .. tokens[offsets[r + 1] - 1]. */
export interface TokenCsr {
  offsets: Int32Array;
  tokens: Uint32Array;
}

/**
 * Tokenizes rows[start..end) (a range, so the engine may split the work) into token hashes.
 * Rows without text, and unlabelled rows when `labelledOnly`, get no tokens.
 */
export function tokenizeRows(
  rows: readonly ScanRow[],
  start: number,
  end: number,
  maxTokens: number,
  labelledOnly = true,
): TokenCsr {
  const n = Math.max(0, end - start);
  const offsets = new Int32Array(n + 1);
  let buf = new Uint32Array(Math.max(1024, Math.min(n * 32, 1 << 24)));
  let m = 0;
  for (let r = 0; r < n; r++) {
    const row = rows[start + r];
    const text = row?.text;
    if (
      row &&
      typeof text === 'string' &&
      text.length > 0 &&
      (!labelledOnly || row.label !== null)
    ) {
      if (buf.length - m < maxTokens) {
        const next = new Uint32Array(Math.max(buf.length * 2, m + maxTokens));
        next.set(buf.subarray(0, m));
        buf = next;
      }
      m += hashTokens(prepareForTokens(text, maxTokens), maxTokens, buf.subarray(m));
    }
    offsets[r + 1] = m;
  }
  return { offsets, tokens: buf.slice(0, m) };
}

const NGRAM_SEED = 0x2545f491;
const GOLDEN = 0x9e3779b1;
const N_SALT = 0x01000193;

/** Key of the n-gram seq[i..i+n): chained multiply-xor over the token hashes, finalised with n. */
export function ngramKey(seq: ArrayLike<number>, i: number, n: number): number {
  let h = NGRAM_SEED;
  for (let k = 0; k < n; k++) h = Math.imul(h ^ (seq[i + k] ?? 0), GOLDEN) + k;
  return fmix32(h ^ Math.imul(n, N_SALT));
}

/** One-row count-min sketch of n-gram occurrences (an upper bound of the rows containing each). */
export interface NgramSketch {
  bits: number;
  counts: Uint32Array;
}

export function newSketch(bits: number): NgramSketch {
  if (!Number.isInteger(bits) || bits < 4 || bits > 26)
    throw new RangeError('sketch bits in 4..26');
  return { bits, counts: new Uint32Array(1 << bits) };
}

/**
 * Adds the n-gram occurrences (n = 1..maxN) of rows[start..end) of `csr` to the sketch. Sketches
 * of disjoint row ranges add up element-wise.
 */
export function sketchNgrams(
  csr: TokenCsr,
  start: number,
  end: number,
  maxN: number,
  sk: NgramSketch,
): void {
  const { offsets, tokens } = csr;
  const counts = sk.counts;
  const shift = 32 - sk.bits;
  for (let r = start; r < end; r++) {
    const o1 = offsets[r + 1] ?? 0;
    for (let i = offsets[r] ?? 0; i < o1; i++) {
      let h = NGRAM_SEED;
      const top = Math.min(maxN, o1 - i);
      for (let n = 1; n <= top; n++) {
        h = Math.imul(h ^ (tokens[i + n - 1] ?? 0), GOLDEN) + (n - 1);
        const key = fmix32(h ^ Math.imul(n, N_SALT));
        counts[key >>> shift]!++;
      }
    }
  }
}

/** Growable open-addressing table of n-gram keys with per-key statistics. */
class NgramTable {
  size = 0;
  private slotBits = 12;
  private slots = new Int32Array(1 << 12);
  keys = new Uint32Array(1024);
  support = new Int32Array(1024);
  lastRow = new Int32Array(1024);
  firstRow = new Int32Array(1024);
  /** (token position within the row) × 16 + n, of the first occurrence. */
  firstMeta = new Int32Array(1024);
  /** Per-label row counts (width K) when K ≤ MAX_DIRECT_LABELS, else a majority vote. */
  labelCounts: Int32Array;
  bmLabel = new Int32Array(1024);
  bmCount = new Int32Array(1024);

  constructor(readonly width: number) {
    this.labelCounts = new Int32Array(1024 * width);
  }

  find(key: number): number {
    const mask = (1 << this.slotBits) - 1;
    let p = key & mask;
    for (;;) {
      const e = this.slots[p] ?? 0;
      if (e === 0) return -1;
      if (this.keys[e - 1] === key) return e - 1;
      p = (p + 1) & mask;
    }
  }

  insert(key: number): number {
    if ((this.size + 1) * 2 > 1 << this.slotBits) this.rehash();
    const mask = (1 << this.slotBits) - 1;
    let p = key & mask;
    for (;;) {
      const e = this.slots[p] ?? 0;
      if (e === 0) break;
      if (this.keys[e - 1] === key) return e - 1;
      p = (p + 1) & mask;
    }
    const idx = this.size++;
    if (idx >= this.keys.length) this.grow();
    this.slots[p] = idx + 1;
    this.keys[idx] = key;
    this.lastRow[idx] = -1;
    return idx;
  }

  private grow(): void {
    const cap = this.keys.length * 2;
    const u = (a: Uint32Array) => {
      const b = new Uint32Array(cap);
      b.set(a);
      return b;
    };
    const i = (a: Int32Array, w = 1) => {
      const b = new Int32Array(cap * w);
      b.set(a);
      return b;
    };
    this.keys = u(this.keys);
    this.support = i(this.support);
    this.lastRow = i(this.lastRow);
    this.firstRow = i(this.firstRow);
    this.firstMeta = i(this.firstMeta);
    this.bmLabel = i(this.bmLabel);
    this.bmCount = i(this.bmCount);
    this.labelCounts = i(this.labelCounts, this.width);
  }

  private rehash(): void {
    this.slotBits++;
    const mask = (1 << this.slotBits) - 1;
    const slots = new Int32Array(1 << this.slotBits);
    for (let e = 0; e < this.size; e++) {
      let p = (this.keys[e] ?? 0) & mask;
      while ((slots[p] ?? 0) !== 0) p = (p + 1) & mask;
      slots[p] = e + 1;
    }
    this.slots = slots;
  }
}

// ---------------------------------------------------------------------------------------------
// Statistics

/** 2×2 χ² of (pattern present) × (label = c) over n labelled rows: a of s pattern rows are c, nc rows are c. */
export function chi2x2(a: number, s: number, nc: number, n: number): number {
  const b = s - a;
  const c = nc - a;
  const d = n - nc - b;
  const den = s * (n - s) * nc * (n - nc);
  if (den <= 0) return 0;
  const x = a * d - b * c;
  return (n * x * x) / den;
}

/** Smoothed (+0.5) log-odds of label c among pattern rows minus c's base-rate log-odds. */
export function logOddsLift(a: number, s: number, nc: number, n: number): number {
  return Math.log((a + 0.5) / (s - a + 0.5)) - Math.log((nc + 0.5) / (n - nc + 0.5));
}

/** Lower end of the Wilson score interval for k successes in n trials. */
export function wilsonLower(k: number, n: number, z = WILSON_Z): number {
  if (n <= 0) return 0;
  const p = k / n;
  const z2 = z * z;
  const centre = p + z2 / (2 * n);
  const margin = z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return clamp01((centre - margin) / (1 + z2 / n));
}

/** Up to m entries of `list` at an even stride. */
function strideSample(list: ArrayLike<number>, m: number): Int32Array {
  const n = list.length;
  const k = Math.min(m, n);
  const out = new Int32Array(k);
  for (let i = 0; i < k; i++) out[i] = list[Math.floor((i * n) / k)] ?? 0;
  return out;
}

// ---------------------------------------------------------------------------------------------
// The scan

interface Phrase {
  tokens: Uint32Array;
  key: number;
  label: number;
  /** Labelled rows (indices into the input) containing the phrase, ascending. */
  rows: Int32Array;
  exampleRow: number;
  examplePos: number;
  support: number;
  hits: number;
  chi2: number;
  logOdds: number;
  evaluated: number;
  disagreeing: number;
  disagreement: number;
  pValue: number;
  cohesion: number;
  score: number;
  merged: string[];
}

/** A row carrying a trigger: its index in the input, and whether its content agrees with its label. */
export interface TriggerRow {
  index: number;
  /** The leave-pattern-out model reads the row as its own label (a natural occurrence, or clean-label poison). */
  contentAgrees: boolean;
}

export interface TokenStatResult {
  triggers: Trigger[];
  /** Each trigger's rows (those labelled with its target), aligned with `triggers`. */
  triggerRows: TriggerRow[][];
  summary: Record<string, unknown>;
  skipped?: string;
}

/** First position in tokens[o0..o1) where `seq` occurs, or -1. */
function findSeq(tokens: ArrayLike<number>, o0: number, o1: number, seq: Uint32Array): number {
  const n = seq.length;
  const first = seq[0] ?? 0;
  outer: for (let i = o0; i + n <= o1; i++) {
    if (tokens[i] !== first) continue;
    for (let k = 1; k < n; k++) if (tokens[i + k] !== seq[k]) continue outer;
    return i;
  }
  return -1;
}

/**
 * Finds token and phrase triggers in labelled text rows. Pure; `progress` gets the share of the
 * work done.
 */
export function findTextTriggers(
  rows: readonly ScanRow[],
  options: TokenStatOptions = {},
  progress?: Progress,
): TokenStatResult {
  const P = resolve(options);
  const nRows = rows.length;
  const labels = new Int32Array(nRows).fill(-1);
  const labelNames: string[] = [];
  const labelIndex = new Map<string, number>();
  let textRows = 0;
  let unlabelled = 0;
  for (let r = 0; r < nRows; r++) {
    const row = rows[r];
    if (!row || typeof row.text !== 'string' || row.text.length === 0) continue;
    textRows++;
    if (typeof row.label !== 'string') {
      unlabelled++;
      continue;
    }
    let c = labelIndex.get(row.label);
    if (c === undefined) {
      c = labelNames.length;
      labelIndex.set(row.label, c);
      labelNames.push(row.label);
    }
    labels[r] = c;
  }
  const K = labelNames.length;
  const N = textRows - unlabelled;
  const summary: Record<string, unknown> = {
    rows: nRows,
    textRows,
    labelledTextRows: N,
    unlabelledTextRows: unlabelled,
    classes: K,
  };
  const skip = (why: string): TokenStatResult => ({
    triggers: [],
    triggerRows: [],
    summary,
    skipped: why,
  });
  if (textRows === 0) return skip('no rows with text');
  if (N === 0) return skip('no labelled rows with text');
  if (K < 2) return skip('fewer than two labels among rows with text');
  if (N < MIN_ROWS) return skip(`fewer than ${MIN_ROWS} labelled rows with text (${N})`);

  const classCount = new Float64Array(K);
  for (let r = 0; r < nRows; r++) {
    const c = labels[r] ?? -1;
    if (c >= 0) classCount[c]!++;
  }
  const floor = Math.max(P.minSupport, Math.ceil(P.minSupportShare * N));
  Object.assign(summary, { minSupport: floor, maxN: P.maxN, maxTokens: P.maxTokens });

  // Phase 1: tokens (unlabelled rows get none).
  const csr = tokenizeRows(rows, 0, nRows, P.maxTokens, true);
  const { offsets, tokens } = csr;
  summary.tokens = tokens.length;
  progress?.(0.1);

  // Phase 2: sketch of n-gram occurrences, wide enough that the mean count per cell stays ≤ floor / 8.
  const occ = tokens.length * P.maxN;
  let bits = 12;
  while (bits < 23 && 1 << bits < (8 * occ) / floor) bits++;
  const sk = newSketch(bits);
  sketchNgrams(csr, 0, nRows, P.maxN, sk);
  progress?.(0.25);

  // Phase 3: exact presence counts, per label, for the n-grams the sketch lets through.
  const direct = K <= MAX_DIRECT_LABELS;
  const table = new NgramTable(direct ? K : 0);
  const shift = 32 - sk.bits;
  const skc = sk.counts;
  for (let r = 0; r < nRows; r++) {
    const c = labels[r] ?? -1;
    if (c < 0) continue;
    const o0 = offsets[r] ?? 0;
    const o1 = offsets[r + 1] ?? 0;
    for (let i = o0; i < o1; i++) {
      let h = NGRAM_SEED;
      const top = Math.min(P.maxN, o1 - i);
      for (let n = 1; n <= top; n++) {
        h = Math.imul(h ^ (tokens[i + n - 1] ?? 0), GOLDEN) + (n - 1);
        const key = fmix32(h ^ Math.imul(n, N_SALT));
        if ((skc[key >>> shift] ?? 0) < floor) continue;
        const e = table.insert(key);
        const last = table.lastRow[e] ?? -1;
        if (last === r) continue;
        if (last === -1) {
          table.firstRow[e] = r;
          table.firstMeta[e] = (i - o0) * 16 + n;
        }
        table.lastRow[e] = r;
        table.support[e]!++;
        if (direct) table.labelCounts[e * K + c]!++;
        else if (table.bmCount[e] === 0) {
          table.bmLabel[e] = c;
          table.bmCount[e] = 1;
        } else if (table.bmLabel[e] === c) table.bmCount[e]!++;
        else table.bmCount[e]!--;
      }
    }
  }
  sk.counts = new Uint32Array(0);
  const T = table.size;
  const majority = new Int32Array(T);
  const hits = new Int32Array(T).fill(-1);
  let atFloor = 0;
  for (let e = 0; e < T; e++) {
    table.lastRow[e] = -1;
    if ((table.support[e] ?? 0) < floor) continue;
    atFloor++;
    if (direct) {
      let best = 0;
      for (let c = 1; c < K; c++) {
        if ((table.labelCounts[e * K + c] ?? 0) > (table.labelCounts[e * K + best] ?? 0)) best = c;
      }
      majority[e] = best;
      hits[e] = table.labelCounts[e * K + best] ?? 0;
    } else {
      majority[e] = table.bmLabel[e] ?? 0;
      hits[e] = 0;
    }
  }
  summary.ngramsAtFloor = atFloor;
  progress?.(0.4);

  // Phase 3b (many labels only): exact count of the majority label.
  if (!direct) {
    forEachNgramHit(csr, labels, P.maxN, table, (e, _r, c) => {
      if ((hits[e] ?? -1) >= 0 && c === majority[e]) hits[e]!++;
    });
  }

  // Phase 4: candidates.
  const cand: { e: number; chi2: number }[] = [];
  for (let e = 0; e < T; e++) {
    const a = hits[e] ?? -1;
    if (a < 0) continue;
    const s = table.support[e] ?? 0;
    if (a < P.minPurity * s) continue;
    const nc = classCount[majority[e] ?? 0] ?? 0;
    if (!(logOddsLift(a, s, nc, N) >= P.minLogOdds)) continue;
    const x2 = chi2x2(a, s, nc, N);
    if (x2 < P.minChi2) continue;
    cand.push({ e, chi2: x2 });
  }
  summary.candidates = cand.length;
  cand.sort((x, y) => y.chi2 - x.chi2 || x.e - y.e);
  if (cand.length > P.maxCandidates) cand.length = P.maxCandidates;
  const C = cand.length;
  summary.candidatesScreened = C;

  // Phase 5: rows of each candidate (CSR sized by support).
  const candOf = new Int32Array(T).fill(-1);
  const candOff = new Int32Array(C + 1);
  for (let i = 0; i < C; i++) {
    const e = cand[i]!.e;
    candOf[e] = i;
    candOff[i + 1] = (candOff[i] ?? 0) + (table.support[e] ?? 0);
  }
  const candRows = new Int32Array(candOff[C] ?? 0);
  if (C > 0) {
    const fill = candOff.slice(0, C);
    forEachNgramHit(csr, labels, P.maxN, table, (e, r) => {
      const ci = candOf[e] ?? -1;
      if (ci >= 0) candRows[fill[ci]!++] = r;
    });
  }
  progress?.(0.55);

  // Phase 6: the confirming model (binary features over the token hashes) and its baseline.
  const nbBits = Math.max(8, Math.min(P.nbHashBits, Math.floor(Math.log2((1 << 24) / K))));
  const bags: Bags = { offsets, ids: tokens };
  const nb = MultinomialNB.train(bags, labels, {
    numClasses: K,
    mask: (1 << nbBits) - 1,
    binary: true,
  });
  const byClass: Int32Array[] = [];
  for (let c = 0; c < K; c++) byClass.push(new Int32Array(classCount[c] ?? 0));
  const fillC = new Int32Array(K);
  for (let r = 0; r < nRows; r++) {
    const c = labels[r] ?? -1;
    if (c >= 0) byClass[c]![fillC[c]!++] = r;
  }
  const baseError = new Float64Array(K);
  for (let c = 0; c < K; c++) {
    const sample = strideSample(byClass[c]!, BASELINE_ROWS);
    const pred = nb.predictLeaveOneOut(bags, labels, [], sample);
    let err = 0;
    for (let i = 0; i < sample.length; i++) if (pred[i] !== c) err++;
    baseError[c] = (err + 1) / (sample.length + 2);
  }
  summary.baselineDisagreement = Object.fromEntries(labelNames.map((l, c) => [l, baseError[c]]));

  // Phase 7: grow each candidate into a phrase on a sample of its rows, drop repeats, screen the
  // phrase (leave-one-out on that sample, all its tokens removed; a genuine class word reads as
  // its class and stops here), and only then collect all of its rows.
  const phrases: Phrase[] = [];
  const phraseKeys = new Set<number>();
  const spanStart = new Int32Array(nRows);
  const spanEnd = new Int32Array(nRows);
  const screenCut = SCREEN_FACTOR * P.minDisagreement;
  let screenedOut = 0;
  for (let ci = 0; ci < C; ci++) {
    if (progress && (ci & 1023) === 1023) progress(0.6 + (0.2 * ci) / C);
    const e = cand[ci]!.e;
    const meta = table.firstMeta[e] ?? 0;
    const fpos = (offsets[table.firstRow[e] ?? 0] ?? 0) + (meta >>> 4);
    let seq = tokens.slice(fpos, fpos + (meta & 15));
    const all = candRows.subarray(candOff[ci] ?? 0, candOff[ci + 1] ?? 0);
    let live: number[] = [];
    for (const r of strideSample(all, EXTEND_ROWS)) {
      const at = findSeq(tokens, offsets[r] ?? 0, offsets[r + 1] ?? 0, seq);
      if (at < 0) continue; // an n-gram hash collision, not this n-gram
      spanStart[r] = at;
      spanEnd[r] = at + seq.length;
      live.push(r);
    }
    if (live.length === 0) continue;
    const need = Math.ceil(P.extendShare * live.length);
    let grown = true;
    while (grown && seq.length < P.maxPhraseTokens) {
      grown = false;
      for (let side = 0; side < 2 && seq.length < P.maxPhraseTokens; side++) {
        const next = (r: number): number => {
          const t = side === 0 ? (spanStart[r] ?? 0) - 1 : (spanEnd[r] ?? 0);
          return t >= (offsets[r] ?? 0) && t < (offsets[r + 1] ?? 0) ? (tokens[t] ?? 0) : -1;
        };
        // Majority neighbour (Boyer–Moore), then the rows that have it.
        let maj = -1;
        let cnt = 0;
        for (const r of live) {
          const v = next(r);
          if (cnt === 0) {
            maj = v;
            cnt = 1;
          } else if (v === maj) cnt++;
          else cnt--;
        }
        if (maj < 0) continue;
        const keep = live.filter((r) => next(r) === maj);
        if (keep.length < need) continue;
        for (const r of keep) {
          if (side === 0) spanStart[r]!--;
          else spanEnd[r]!++;
        }
        const longer = new Uint32Array(seq.length + 1);
        if (side === 0) {
          longer[0] = maj;
          longer.set(seq, 1);
        } else {
          longer.set(seq);
          longer[seq.length] = maj;
        }
        seq = longer;
        live = keep;
        grown = true;
      }
    }
    const key = ngramKey(seq, 0, seq.length);
    if (phraseKeys.has(key)) continue;
    phraseKeys.add(key);
    const scr = strideSample(live, SCREEN_ROWS);
    const sp = nb.predictLeaveOneOut(bags, labels, seq, scr);
    let dis = 0;
    for (let i = 0; i < scr.length; i++) if (sp[i] !== labels[scr[i] ?? 0]) dis++;
    if (dis === 0 || dis < screenCut * scr.length) {
      screenedOut++;
      continue;
    }
    const rowsP: number[] = [];
    let exampleRow = -1;
    let examplePos = 0;
    for (const r of all) {
      const at = findSeq(tokens, offsets[r] ?? 0, offsets[r + 1] ?? 0, seq);
      if (at < 0) continue;
      if (exampleRow < 0) {
        exampleRow = r;
        examplePos = at - (offsets[r] ?? 0);
      }
      rowsP.push(r);
    }
    if (rowsP.length < floor) continue;
    const lc = new Float64Array(K);
    for (const r of rowsP) lc[labels[r] ?? 0]!++;
    let label = 0;
    for (let k = 1; k < K; k++) if ((lc[k] ?? 0) > (lc[label] ?? 0)) label = k;
    const sP = rowsP.length;
    const aP = lc[label] ?? 0;
    const nc = classCount[label] ?? 0;
    phrases.push({
      tokens: seq,
      key,
      label,
      rows: Int32Array.from(rowsP),
      exampleRow,
      examplePos,
      support: sP,
      hits: aP,
      chi2: chi2x2(aP, sP, nc, N),
      logOdds: logOddsLift(aP, sP, nc, N),
      evaluated: 0,
      disagreeing: 0,
      disagreement: 0,
      pValue: 1,
      cohesion: 0,
      score: 0,
      merged: [],
    });
  }
  summary.screenedOut = screenedOut;
  summary.phrases = phrases.length;
  progress?.(0.8);

  // Phase 8: confirmation.
  const alpha = P.significance / Math.max(1, C);
  const confirmed: Phrase[] = [];
  let clusters = 0;
  for (const p of phrases) {
    if (p.support < floor || p.hits < P.minPurity * p.support) continue;
    if (p.logOdds < P.minLogOdds || p.chi2 < P.minChi2) continue;
    const evalRows = strideSample(p.rows, P.maxEvalRows);
    const pred = predictFor(nb, bags, labels, p, evalRows, P.confirm, classCount[p.label] ?? 0);
    let dis = 0;
    for (let i = 0; i < evalRows.length; i++) if (pred[i] !== labels[evalRows[i] ?? 0]) dis++;
    p.evaluated = evalRows.length;
    p.disagreeing = dis;
    p.disagreement = evalRows.length > 0 ? dis / evalRows.length : 0;
    p.pValue = binomialSf(dis, evalRows.length, baseError[p.label] ?? 0.5);
    p.score = wilsonLower(dis, evalRows.length) * wilsonLower(p.hits, p.support);
    if (p.disagreement < P.minDisagreement || p.pValue > alpha) continue;
    const pick = strideSample(p.rows, COHESION_ROWS);
    const predPick = predictFor(nb, bags, labels, p, pick, P.confirm, classCount[p.label] ?? 0);
    p.cohesion = cohesion(bags, nbBits, p, pick, predPick, byClass);
    if (p.cohesion > P.maxCohesion) {
      clusters++;
      continue;
    }
    confirmed.push(p);
  }
  summary.clustersRejected = clusters;
  progress?.(0.95);

  // Phase 9: merge each confirmed phrase into a better one that covers it: most of its rows are
  // already that one's, or that one contains it and covers at least half of its rows (a sentence
  // trigger absorbs its own words, whose extra rows are natural occurrences).
  confirmed.sort(
    (x, y) =>
      y.score - x.score || y.hits - x.hits || y.tokens.length - x.tokens.length || x.key - y.key,
  );
  const accepted: Phrase[] = [];
  const owner = new Int32Array(nRows).fill(-1);
  const texts = new Map<Phrase, string>();
  const text = (p: Phrase): string => {
    let t = texts.get(p);
    if (t === undefined) {
      const strs = tokenize(rows[p.exampleRow]?.text ?? '', P.maxTokens);
      t = strs.slice(p.examplePos, p.examplePos + p.tokens.length).join(' ');
      texts.set(p, t);
    }
    return t;
  };
  for (const p of confirmed) {
    const counts = new Map<number, number>();
    for (const r of p.rows) {
      const o = labels[r] === p.label ? (owner[r] ?? -1) : -1;
      if (o >= 0) counts.set(o, (counts.get(o) ?? 0) + 1);
    }
    let into = -1;
    for (const [o, k] of counts) {
      const q = accepted[o]!;
      if (q.label !== p.label) continue;
      const inside =
        q.tokens.length >= p.tokens.length && findSeq(q.tokens, 0, q.tokens.length, p.tokens) >= 0;
      if (k >= MERGE_OVERLAP * p.hits || (inside && k >= 0.5 * p.hits)) {
        into = o;
        break;
      }
    }
    if (into >= 0) {
      const q = accepted[into]!;
      if (q.merged.length < 20) q.merged.push(text(p));
      continue;
    }
    for (const r of p.rows)
      if (labels[r] === p.label && (owner[r] ?? -1) < 0) owner[r] = accepted.length;
    accepted.push(p);
  }
  accepted.sort((x, y) => y.score - x.score || y.hits - x.hits || x.key - y.key);
  if (accepted.length > P.maxTriggers) accepted.length = P.maxTriggers;

  const triggers: Trigger[] = [];
  const triggerRows: TriggerRow[][] = [];
  for (const p of accepted) {
    const idxs: number[] = [];
    for (const r of p.rows) if (labels[r] === p.label) idxs.push(r);
    const pred = predictFor(nb, bags, labels, p, idxs, P.confirm, classCount[p.label] ?? 0);
    const list = idxs.map((index, i): TriggerRow => ({
      index,
      contentAgrees: pred[i] === p.label,
    }));
    triggerRows.push(list);
    triggers.push({
      pattern: text(p),
      label: labelNames[p.label] ?? '',
      rows: idxs.map((r) => rows[r]?.id ?? String(r)),
      score: clamp01(p.score),
      detail: {
        method: 'token-stat',
        support: p.support,
        purity: p.support > 0 ? p.hits / p.support : 0,
        chi2: p.chi2,
        logOdds: p.logOdds,
        disagreement: p.disagreement,
        evaluated: p.evaluated,
        baselineDisagreement: baseError[p.label] ?? 0,
        pValue: p.pValue,
        cohesion: p.cohesion,
        contentAgreesRows: list.filter((x) => x.contentAgrees).length,
        poisonRate: p.hits / N,
        n: p.tokens.length,
        ...(p.merged.length > 0 ? { mergedPatterns: p.merged } : {}),
      },
    });
  }
  summary.triggers = triggers.length;
  if (triggers.length === 0) {
    summary.note =
      'no token or phrase trigger found (token statistics cannot see syntactic or style triggers)';
  }
  progress?.(1);
  return { triggers, triggerRows, summary };
}

/**
 * Calls fn(entry, row, label) once per (n-gram in `table`, labelled row containing it). Uses and
 * resets `table.lastRow`.
 */
function forEachNgramHit(
  csr: TokenCsr,
  labels: Int32Array,
  maxN: number,
  table: NgramTable,
  fn: (e: number, r: number, c: number) => void,
): void {
  const { offsets, tokens } = csr;
  const rows = offsets.length - 1;
  for (let r = 0; r < rows; r++) {
    const c = labels[r] ?? -1;
    if (c < 0) continue;
    const o1 = offsets[r + 1] ?? 0;
    for (let i = offsets[r] ?? 0; i < o1; i++) {
      let h = NGRAM_SEED;
      const top = Math.min(maxN, o1 - i);
      for (let n = 1; n <= top; n++) {
        h = Math.imul(h ^ (tokens[i + n - 1] ?? 0), GOLDEN) + (n - 1);
        const e = table.find(fmix32(h ^ Math.imul(n, N_SALT)));
        if (e < 0 || table.lastRow[e] === r) continue;
        table.lastRow[e] = r;
        fn(e, r, c);
      }
    }
  }
  table.lastRow.fill(-1);
}

function predictFor(
  nb: MultinomialNB,
  bags: Bags,
  labels: Int32Array,
  p: Phrase,
  evalRows: ArrayLike<number>,
  mode: ConfirmMode,
  classRows: number,
): Int32Array {
  const rowsOut =
    mode === 'leave-rows-out' || (mode === 'auto' && p.hits <= MAX_ROWS_OUT_SHARE * classRows);
  return rowsOut
    ? nb.predictLeftOut(bags, labels, p.rows, p.tokens, evalRows, undefined, true)
    : nb.predictLeaveOneOut(bags, labels, p.tokens, evalRows);
}

/**
 * Cohesion of a pattern's rows (see DEFAULT_MAX_COHESION): Jaccard similarity of their feature
 * sets without the pattern's tokens, among the sampled rows `pick` versus each against
 * COHESION_PARTNERS random rows of the class the model reads it as (deterministic per pattern).
 */
function cohesion(
  bags: Bags,
  bits: number,
  p: Phrase,
  pick: Int32Array,
  predicted: Int32Array,
  byClass: readonly Int32Array[],
): number {
  const mask = (1 << bits) - 1;
  const { offsets, ids } = bags;
  const drop = new Set<number>();
  for (const t of p.tokens) drop.add(t & mask);
  const inPattern = new Set<number>(p.rows);
  const markA = new Int32Array(mask + 1);
  const markB = new Int32Array(mask + 1);
  let stamp = 0;
  const jaccard = (a: number, b: number): number => {
    stamp++;
    let na = 0;
    for (let k = offsets[a] ?? 0; k < (offsets[a + 1] ?? 0); k++) {
      const f = (ids[k] ?? 0) & mask;
      if (markA[f] === stamp || drop.has(f)) continue;
      markA[f] = stamp;
      na++;
    }
    let nb = 0;
    let both = 0;
    for (let k = offsets[b] ?? 0; k < (offsets[b + 1] ?? 0); k++) {
      const f = (ids[k] ?? 0) & mask;
      if (markB[f] === stamp || drop.has(f)) continue;
      markB[f] = stamp;
      nb++;
      if (markA[f] === stamp) both++;
    }
    const union = na + nb - both;
    return union > 0 ? both / union : 0;
  };
  const m = pick.length;
  let within = 0;
  let pairs = 0;
  for (let i = 0; i < m; i++) {
    for (let j = i + 1; j < m; j++) {
      within += jaccard(pick[i] ?? 0, pick[j] ?? 0);
      pairs++;
    }
  }
  const rand = mulberry32(p.key);
  let between = 0;
  let pairsB = 0;
  for (let i = 0; i < m; i++) {
    const pool = byClass[predicted[i] ?? -1] ?? byClass[p.label];
    if (!pool || pool.length === 0) continue;
    for (let t = 0, tries = 0; t < COHESION_PARTNERS && tries < 20 * COHESION_PARTNERS; tries++) {
      const r = pool[Math.floor(rand() * pool.length)] ?? 0;
      if (inPattern.has(r)) continue;
      between += jaccard(pick[i] ?? 0, r);
      pairsB++;
      t++;
    }
  }
  if (pairs === 0 || pairsB === 0) return 1;
  return within / pairs / Math.max(between / pairsB, 1e-3);
}

/**
 * One issue per row carrying a trigger (the highest-scoring one; others listed in detail). Rows
 * whose content agrees with their label once the pattern is removed get the trigger's score ×
 * AGREEING_ROW_FACTOR.
 */
export function triggerIssues(
  result: TokenStatResult,
  rows: readonly ScanRow[],
  method: string,
): Issue[] {
  const best = new Map<number, { t: number; agrees: boolean; also: string[] }>();
  result.triggerRows.forEach((list, t) => {
    for (const { index, contentAgrees } of list) {
      const cur = best.get(index);
      if (!cur) best.set(index, { t, agrees: contentAgrees, also: [] });
      else if (cur.also.length < 10) cur.also.push(result.triggers[t]?.pattern ?? '');
    }
  });
  const issues: Issue[] = [];
  for (const [r, { t, agrees, also }] of best) {
    const tr = result.triggers[t]!;
    issues.push({
      kind: 'trigger',
      row: rows[r]?.id ?? String(r),
      score: clamp01(agrees ? tr.score * AGREEING_ROW_FACTOR : tr.score),
      detail: {
        method,
        pattern: tr.pattern,
        label: tr.label,
        contentAgrees: agrees,
        ...(also.length > 0 ? { otherPatterns: also } : {}),
      },
    });
  }
  issues.sort((x, y) => y.score - x.score || (x.row < y.row ? -1 : x.row > y.row ? 1 : 0));
  return issues;
}

export const tokenStatDetector: Detector<TokenStatOptions> = {
  id: TOKEN_STAT_ID,
  meta: {
    kinds: ['trigger'],
    needs: ['labels', 'text'],
    description:
      'Token and phrase backdoor triggers: n-grams (n ≤ 4, grown into phrases) whose presence predicts one label far beyond its base rate, confirmed when naive Bayes without the pattern reads its rows as another class.',
  },
  run(rows: readonly ScanRow[], options: TokenStatOptions, progress?: Progress): DetectorResult {
    const res = findTextTriggers(rows, options ?? {}, progress);
    if (res.skipped !== undefined)
      return { issues: [], summary: res.summary, skipped: res.skipped };
    return {
      issues: triggerIssues(res, rows, 'token-stat'),
      triggers: res.triggers,
      summary: res.summary,
    };
  },
};
