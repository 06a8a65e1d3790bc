/**
 * dup/minhash: near-duplicate texts by MinHash signatures and LSH banding, every candidate
 * confirmed by the exact Jaccard similarity of the two rows' shingle sets, confirmed pairs merged
 * into clusters (union-find).
 *
 * Pipeline (all phases are pure functions over row or band ranges, so the engine may spread them
 * over workers):
 * 1. `minhashSignatures(texts, start, end, params)`: `normalizeText`, then shingles — word
 *    5-grams over `tokenize` tokens, or, for texts of fewer than 10 tokens, character 5-grams of
 *    the normalised text (a text shorter than 5 characters is one shingle). Only the first 2,000
 *    shingles of a text are used (a 1 MB text costs as much as a 2,000-token one). Each shingle is
 *    one 32-bit hash; permutation p maps it to `(a_p · h + b_p) mod 2^32` (`Math.imul`, odd a_p,
 *    a bijection), and the signature keeps the minimum per permutation (under signed 32-bit
 *    order, a fixed total order, which is all MinHash needs). Signatures: one Uint32Array.
 * 2. `bandHashes`: one 32-bit hash per band of r consecutive signature values, band-major.
 * 3. `lshCandidates`: per band, rows are bucketed by band hash in a typed-array open-addressing
 *    table (`bucketBand`); a bucket of up to 8 rows yields all its pairs, a larger bucket (a
 *    flood) yields the star from its lowest row plus the chain of consecutive rows, so candidates
 *    stay O(n) per band while a flood still connects (clusters are transitive). Pairs are
 *    deduplicated by sorting. `lshPartitionCandidates` does the same for the band hashes of one
 *    partition (`bandPartition`: hash mod P, so every bucket falls in one partition); merged
 *    with `mergeCandidates`, the partitions give exactly `lshCandidates`' pairs.
 * 4. Confirmation (`confirmNearDuplicates`): shingle sets are recomputed for candidate rows only,
 *    sorted and deduplicated, and a pair is confirmed when its exact Jaccard (on 32-bit shingle
 *    hashes) ≥ the threshold. Exact copies are marked before step 3 by `markTextCopies`.
 *
 * Banding (`chooseBanding`): b = ⌊128 / r⌋ bands of r rows; among those with
 * P(candidate | J = threshold) ≥ 0.99, where P(J) = 1 − (1 − J^r)^b, take the one with the fewest
 * false candidates at J = threshold − 0.3. For threshold 0.8 that is b = 21 bands × r = 6 rows
 * (126 of the 128 values; r = 7 gives 18 × 7 with P(0.8) = 0.986 only):
 *   P(J=0.3) ≈ 0.015, P(0.5) ≈ 0.28, P(0.6) ≈ 0.63, P(0.7) ≈ 0.93, P(0.8) ≈ 0.998,
 *   P(0.85) ≈ 0.9999, P(0.9) ≈ 1.
 * The S-curve's midpoint (1/b)^(1/r) ≈ 0.60 sits well below the reporting threshold (field notes:
 * threshold-"optimal" banding finds only ~40 % of the pairs at the threshold); the extra
 * candidates at J 0.5–0.7 are rejected by the exact check.
 *
 * Exact copies are dup/exact's job: a row whose normalised text equals an earlier row's is left
 * out of the LSH (counted as `exactCopiesSkipped`); its first occurrence stands in for it.
 *
 * Findings: every row of a cluster except its representative (lowest row index) is a
 * `near_duplicate`; score = 0.5 + 0.5 × (J − threshold) / (1 − threshold), J being the row's
 * highest confirmed Jaccard (0.5 at the threshold, 1 for J = 1).
 *
 * Known limits: an edit changes up to `shingleWords` shingles, so with word 5-grams one
 * substituted word in a 30-token text already brings J to ≈ 0.68. Measured on floods of 10 copies
 * with 1–3 word edits (3,000 background texts, none flagged in any setting), share of copies
 * flagged at J ≥ 0.8 — text length 20 / 40 / 80 / 200 tokens:
 *   word 5-grams 4 % / 10 % / 40 % / 99.7 %; word 3-grams 7 % / 42 % / 99.7 % / 99.7 %;
 *   word 2-grams (default) 40 % / 77 % / 100 % / 99.7 %.
 * So lightly edited very short texts are still partly missed. A pair whose texts fall on different sides of the 10-token line is compared across
 * shingle kinds and never matches. Shingles are 32-bit hashes (a collision inside 2,000 shingles
 * is ~1 in 2,000: negligible for Jaccard).
 */
import { clamp01, type Detector, type DetectorResult, type Issue, type ScanRow } from './types.js';
import { mulberry32 } from './random.js';
import { fmix32, hashSpan, hashString64, hashTokens, normalizeText } from './text-normalize.js';

/** MinHash values per signature: the field notes' 128–256 range, low end for 1M-row speed. */
export const MINHASH_NUM_PERM = 128;
/** Jaccard at which a pair is reported (field notes default). */
export const MINHASH_THRESHOLD = 0.8;
/** Wanted chance that a pair exactly at the threshold becomes a candidate (recall bias). */
export const MINHASH_MIN_CANDIDATE_PROB = 0.99;
/**
 * Word n-gram size. Word 2-grams, not the web-dedup default of 5: poison floods are lightly edited
 * copies of short rows, and one edit changes up to n shingles (measured recall on 1–3-edit copies
 * of 40-token texts: 77 % with 2-grams, 10 % with 5-grams; no clean row flagged with either).
 */
export const MINHASH_SHINGLE_WORDS = 2;
/** Character n-gram size for short texts (too few words for word 5-grams). */
export const MINHASH_SHINGLE_CHARS = 5;
/** Texts with fewer tokens than this use character shingles. */
export const MINHASH_SHORT_TEXT_TOKENS = 10;
/** Shingles per text at most: bounds the work on huge texts (first 2,000 only). */
export const MINHASH_MAX_SHINGLES = 2000;
/** Seed of the permutation parameters: fixed so results are reproducible. */
export const MINHASH_SEED = 0x5eed_1234;
/** Buckets up to this size yield all pairs (≤ 28); larger ones star + chain (O(size)). */
export const MINHASH_FULL_BUCKET = 8;
/** Rows per signature chunk: 16,384 × 128 × 4 B = 8 MB of signatures alive at a time. */
export const MINHASH_CHUNK_ROWS = 16_384;

export interface MinhashParams {
  numPerm: number;
  bands: number;
  rowsPerBand: number;
  threshold: number;
  shingleWords: number;
  shingleChars: number;
  shortTextTokens: number;
  maxShingles: number;
  seed: number;
}

export type MinhashOptions = Partial<MinhashParams>;

/** Probability that a pair with Jaccard `j` shares at least one band: 1 − (1 − j^r)^b. */
export function candidateProbability(j: number, bands: number, rowsPerBand: number): number {
  return 1 - Math.pow(1 - Math.pow(j, rowsPerBand), bands);
}

/**
 * LSH banding for a reporting threshold (see the file comment). Every signature value is used
 * (b = ⌊numPerm / r⌋, since they are computed anyway); among the r whose P(threshold) ≥ minProb,
 * the one with the lowest P(threshold − 0.3) wins. When no r reaches minProb, the highest
 * P(threshold) wins.
 */
export function chooseBanding(
  numPerm: number,
  threshold: number,
  minProb: number = MINHASH_MIN_CANDIDATE_PROB,
): { bands: number; rowsPerBand: number } {
  const low = Math.max(0, threshold - 0.3);
  let best = { bands: numPerm, rowsPerBand: 1 };
  let bestOk = false;
  let bestScore = -Infinity;
  for (let r = 1; r <= numPerm; r++) {
    const b = Math.floor(numPerm / r);
    const hit = candidateProbability(threshold, b, r);
    const ok = hit >= minProb;
    const score = ok ? -candidateProbability(low, b, r) : hit;
    if ((ok && !bestOk) || (ok === bestOk && score > bestScore)) {
      best = { bands: b, rowsPerBand: r };
      bestOk = ok;
      bestScore = score;
    }
  }
  return best;
}

/** Full parameters from options and defaults (banding chosen for the threshold if not given). */
export function minhashParams(options: MinhashOptions = {}): MinhashParams {
  const numPerm = options.numPerm ?? MINHASH_NUM_PERM;
  const threshold = options.threshold ?? MINHASH_THRESHOLD;
  const chosen = chooseBanding(numPerm, threshold);
  const bands = options.bands ?? chosen.bands;
  const rowsPerBand =
    options.rowsPerBand ?? (options.bands ? Math.floor(numPerm / bands) : chosen.rowsPerBand);
  if (!(bands >= 1 && rowsPerBand >= 1 && bands * rowsPerBand <= numPerm)) {
    throw new RangeError(
      `bands × rowsPerBand must be ≤ numPerm (${bands} × ${rowsPerBand} > ${numPerm})`,
    );
  }
  return {
    numPerm,
    bands,
    rowsPerBand,
    threshold,
    shingleWords: options.shingleWords ?? MINHASH_SHINGLE_WORDS,
    shingleChars: options.shingleChars ?? MINHASH_SHINGLE_CHARS,
    shortTextTokens: options.shortTextTokens ?? MINHASH_SHORT_TEXT_TOKENS,
    maxShingles: options.maxShingles ?? MINHASH_MAX_SHINGLES,
    seed: options.seed ?? MINHASH_SEED,
  };
}

/** Flags of a row in `minhashSignatures` output. */
export const SIG_VALID = 1;
export const SIG_CHAR_SHINGLES = 2;
export const SIG_TRUNCATED = 4;

let tokenScratch = new Uint32Array(4096);

/**
 * Shingle hashes of a normalised text (`normalizeText` output) into `out`, in text order and not
 * deduplicated, at most `min(params.maxShingles, out.length)` of them; returns the count. Which
 * kind was used and whether the text was cut short is left in `shingleInfo` (no allocation).
 */
export function shingleHashes(norm: string, params: MinhashParams, out: Uint32Array): number {
  const max = Math.min(params.maxShingles, out.length);
  const w = params.shingleWords;
  const wantTokens = max + w - 1;
  if (tokenScratch.length < wantTokens) tokenScratch = new Uint32Array(wantTokens);
  const t = hashTokens(norm, wantTokens, tokenScratch);
  shingleInfo.truncated = false;
  if (t >= params.shortTextTokens && t >= w) {
    shingleInfo.charShingles = false;
    const count = Math.min(t - w + 1, max);
    if (t === wantTokens) shingleInfo.truncated = true;
    for (let i = 0; i < count; i++) {
      let h = 0x9e3779b9 ^ w;
      for (let j = 0; j < w; j++) {
        h = Math.imul(h ^ (tokenScratch[i + j] as number), 0xcc9e2d51);
        h = (h << 15) | (h >>> 17);
      }
      out[i] = fmix32(h);
    }
    return count;
  }
  shingleInfo.charShingles = true;
  const c = params.shingleChars;
  const len = norm.length;
  if (len <= c) {
    if (max < 1) return 0;
    out[0] = hashSpan(norm, 0, len);
    return 1;
  }
  const count = Math.min(len - c + 1, max);
  if (count < len - c + 1) shingleInfo.truncated = true;
  for (let i = 0; i < count; i++) out[i] = hashSpan(norm, i, i + c);
  return count;
}

/** Side channel of the last `shingleHashes` call (avoids allocating a result object per row). */
export const shingleInfo = { charShingles: false, truncated: false };

/** Sorted, deduplicated shingle set of a normalised text. */
export function shingleSet(norm: string, params: MinhashParams): Uint32Array {
  const buf = new Uint32Array(Math.max(1, params.maxShingles));
  const n = shingleHashes(norm, params, buf);
  const s = buf.subarray(0, n).sort();
  let u = 0;
  for (let i = 0; i < n; i++) if (i === 0 || s[i] !== s[u - 1]) s[u++] = s[i] as number;
  return s.slice(0, u);
}

/** Exact Jaccard of two sorted, deduplicated arrays (0 when both are empty). */
export function jaccardSorted(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let i = 0;
  let j = 0;
  let inter = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as number;
    const y = b[j] as number;
    if (x === y) {
      inter++;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  const union = a.length + b.length - inter;
  return union === 0 ? 0 : inter / union;
}

/** The permutation parameters (a odd, b any) for `params.seed`, as signed 32-bit integers. */
export function permutationParams(params: MinhashParams): { a: Int32Array; b: Int32Array } {
  const rand = mulberry32(params.seed);
  const a = new Int32Array(params.numPerm);
  const b = new Int32Array(params.numPerm);
  for (let p = 0; p < params.numPerm; p++) {
    a[p] = (rand() * 4294967296) | 0 | 1;
    b[p] = (rand() * 4294967296) | 0;
  }
  return { a, b };
}

export interface SignatureBlock {
  /** (end − start) × numPerm MinHash values, row-major. */
  signatures: Uint32Array;
  /** Per row: SIG_VALID | SIG_CHAR_SHINGLES | SIG_TRUNCATED (0 = no text). */
  flags: Uint8Array;
  /** Per row: 64-bit hash of the normalised text, two words. */
  textHash: Uint32Array;
}

/**
 * MinHash signatures of `texts[start..end)` (raw texts; normalised here). Rows without text, or
 * whose text normalises to "", get flag 0 and an all-ones signature.
 */
export function minhashSignatures(
  texts: readonly (string | null | undefined)[],
  start: number,
  end: number,
  params: MinhashParams,
  perms: { a: Int32Array; b: Int32Array } = permutationParams(params),
): SignatureBlock {
  const count = Math.max(0, end - start);
  const P = params.numPerm;
  const sig = new Int32Array(count * P);
  const flags = new Uint8Array(count);
  const textHash = new Uint32Array(2 * count);
  const sh = new Int32Array(Math.max(1, params.maxShingles));
  const shU = new Uint32Array(sh.buffer);
  const { a: A, b: B } = perms;
  for (let i = 0; i < count; i++) {
    const raw = texts[start + i];
    const o = i * P;
    const norm = raw ? normalizeText(raw) : '';
    if (norm.length === 0) {
      sig.fill(-1, o, o + P);
      continue;
    }
    hashString64(norm, textHash, 2 * i);
    const k = shingleHashes(norm, params, shU);
    flags[i] =
      SIG_VALID |
      (shingleInfo.charShingles ? SIG_CHAR_SHINGLES : 0) |
      (shingleInfo.truncated ? SIG_TRUNCATED : 0);
    // Four permutations per pass over the shingles (one load, four multiplies).
    let p = 0;
    for (; p + 3 < P; p += 4) {
      const a0 = A[p] as number;
      const a1 = A[p + 1] as number;
      const a2 = A[p + 2] as number;
      const a3 = A[p + 3] as number;
      const b0 = B[p] as number;
      const b1 = B[p + 1] as number;
      const b2 = B[p + 2] as number;
      const b3 = B[p + 3] as number;
      let m0 = 0x7fffffff;
      let m1 = 0x7fffffff;
      let m2 = 0x7fffffff;
      let m3 = 0x7fffffff;
      for (let s = 0; s < k; s++) {
        const h = sh[s] as number;
        const v0 = (Math.imul(a0, h) + b0) | 0;
        const v1 = (Math.imul(a1, h) + b1) | 0;
        const v2 = (Math.imul(a2, h) + b2) | 0;
        const v3 = (Math.imul(a3, h) + b3) | 0;
        if (v0 < m0) m0 = v0;
        if (v1 < m1) m1 = v1;
        if (v2 < m2) m2 = v2;
        if (v3 < m3) m3 = v3;
      }
      sig[o + p] = m0;
      sig[o + p + 1] = m1;
      sig[o + p + 2] = m2;
      sig[o + p + 3] = m3;
    }
    for (; p < P; p++) {
      const ap = A[p] as number;
      const bp = B[p] as number;
      let m = 0x7fffffff;
      for (let s = 0; s < k; s++) {
        const v = (Math.imul(ap, sh[s] as number) + bp) | 0;
        if (v < m) m = v;
      }
      sig[o + p] = m;
    }
  }
  return { signatures: new Uint32Array(sig.buffer), flags, textHash };
}

/**
 * Band hashes of `count` signatures into `out`, band-major: band j of local row i goes to
 * `out[j × stride + offset + i]`.
 */
export function bandHashes(
  signatures: Uint32Array,
  count: number,
  params: MinhashParams,
  out: Uint32Array,
  stride: number,
  offset: number,
): void {
  const P = params.numPerm;
  const r = params.rowsPerBand;
  for (let i = 0; i < count; i++) {
    const o = i * P;
    for (let j = 0; j < params.bands; j++) {
      let h = Math.imul(j + 1, 0x9e3779b1);
      const from = o + j * r;
      for (let q = 0; q < r; q++) {
        h = Math.imul(h ^ (signatures[from + q] as number), 0x85ebca6b);
        h = (h << 13) | (h >>> 19);
      }
      out[j * stride + offset + i] = fmix32(h);
    }
  }
}

/** Growable buffer of pair keys a × n + b (exact in a double for n < 2^26). */
export class PairKeys {
  keys = new Float64Array(1024);
  length = 0;
  push(key: number): void {
    if (this.length === this.keys.length) {
      const next = new Float64Array(this.keys.length * 2);
      next.set(this.keys);
      this.keys = next;
    }
    this.keys[this.length++] = key;
  }
}

export interface CandidatePairs {
  /** Unique pairs (a < b), sorted by a then b: [a0, b0, a1, b1, …]. */
  pairs: Int32Array;
  /** Buckets larger than `fullBucket` that were reduced to star + chain. */
  largeBuckets: number;
}

/** Reusable scratch for `bucketBand`, sized for up to `capacity` members. */
export interface BandScratch {
  keys: Uint32Array;
  heads: Int32Array;
  sizes: Int32Array;
  next: Int32Array;
  multi: number[];
  members: number[];
}

export function bandScratch(capacity: number): BandScratch {
  let cap = 16;
  while (cap < 2 * capacity) cap *= 2;
  return {
    keys: new Uint32Array(cap),
    heads: new Int32Array(cap),
    sizes: new Int32Array(cap),
    next: new Int32Array(Math.max(1, capacity)),
    multi: [],
    members: [],
  };
}

/**
 * One band of the LSH: `rows[0..count)` (global row numbers, strictly ascending) with their band
 * hashes `hashes[0..count)` are bucketed by hash; a bucket of up to `fullBucket` rows adds all
 * its pairs to `out`, a larger one the star from its lowest row plus the chain of consecutive
 * rows. Pair keys are a × n + b with a < b. Returns the number of large buckets.
 *
 * Only bucket membership and row order matter, so any subset of rows that holds every member of
 * the buckets it touches (e.g. all rows whose band hash falls in one partition) gives exactly the
 * pairs the whole band gives for those buckets.
 */
export function bucketBand(
  rows: ArrayLike<number>,
  hashes: ArrayLike<number>,
  count: number,
  n: number,
  fullBucket: number,
  out: PairKeys,
  scratch: BandScratch = bandScratch(count),
): number {
  if (scratch.next.length < count) scratch = bandScratch(count);
  const { keys, heads, sizes, next, multi, members } = scratch;
  const mask = heads.length - 1;
  heads.fill(-1);
  multi.length = 0;
  // Insert in descending order so each chain reads in ascending row order.
  for (let m = count - 1; m >= 0; m--) {
    const h = hashes[m] as number;
    let slot = h & mask;
    for (;;) {
      const head = heads[slot] as number;
      if (head < 0) {
        keys[slot] = h;
        heads[slot] = m;
        sizes[slot] = 1;
        next[m] = -1;
        break;
      }
      if (keys[slot] === h) {
        next[m] = head;
        heads[slot] = m;
        const s = (sizes[slot] as number) + 1;
        sizes[slot] = s;
        if (s === 2) multi.push(slot);
        break;
      }
      slot = (slot + 1) & mask;
    }
  }
  let largeBuckets = 0;
  for (const slot of multi) {
    members.length = 0;
    for (let m = heads[slot] as number; m >= 0; m = next[m] as number)
      members.push(rows[m] as number);
    const size = members.length;
    if (size <= fullBucket) {
      for (let x = 0; x < size; x++) {
        const a = members[x] as number;
        for (let y = x + 1; y < size; y++) out.push(a * n + (members[y] as number));
      }
    } else {
      largeBuckets++;
      const first = members[0] as number;
      for (let y = 1; y < size; y++) {
        out.push(first * n + (members[y] as number));
        if (y > 1) out.push((members[y - 1] as number) * n + (members[y] as number));
      }
    }
  }
  return largeBuckets;
}

/**
 * Candidate pairs from bands `[bandStart, bandEnd)` of band-major `bands` (stride n). Rows with
 * `active[i] === 0` are ignored. Pure over the band range: results of several ranges can be
 * merged with `mergeCandidates`.
 */
export function lshCandidates(
  bands: Uint32Array,
  n: number,
  active: Uint8Array,
  bandStart: number,
  bandEnd: number,
  fullBucket: number = MINHASH_FULL_BUCKET,
): CandidatePairs {
  let activeCount = 0;
  for (let i = 0; i < n; i++) if (active[i]) activeCount++;
  const rows = new Int32Array(activeCount);
  for (let i = 0, m = 0; i < n; i++) if (active[i]) rows[m++] = i;
  const hashes = new Uint32Array(activeCount);
  const scratch = bandScratch(activeCount);
  const out = new PairKeys();
  let largeBuckets = 0;
  for (let band = bandStart; band < bandEnd; band++) {
    const base = band * n;
    for (let m = 0; m < activeCount; m++) hashes[m] = bands[base + (rows[m] as number)] as number;
    largeBuckets += bucketBand(rows, hashes, activeCount, n, fullBucket, out, scratch);
  }
  return { pairs: uniquePairs(out.keys.subarray(0, out.length), n), largeBuckets };
}

/** The rows of one band that fall in one partition, ascending, with their band hashes. */
export interface BandEntries {
  rows: Int32Array;
  hashes: Uint32Array;
}

/**
 * The LSH partition a band hash belongs to. Partitioning by hash keeps every bucket (one band,
 * one hash) whole inside one partition, so partitions can be bucketed independently.
 */
export function bandPartition(hash: number, partitions: number): number {
  return (hash >>> 0) % partitions;
}

/**
 * Candidate pairs of one partition: `perBand[j]` holds the active rows (ascending) whose band-j
 * hash falls in the partition. Together with `mergeCandidates` over all partitions this gives
 * exactly `lshCandidates` over all bands (see `bucketBand`).
 */
export function lshPartitionCandidates(
  perBand: readonly BandEntries[],
  n: number,
  fullBucket: number = MINHASH_FULL_BUCKET,
): CandidatePairs {
  let most = 0;
  for (const b of perBand) most = Math.max(most, b.rows.length);
  const scratch = bandScratch(most);
  const out = new PairKeys();
  let largeBuckets = 0;
  for (const b of perBand)
    largeBuckets += bucketBand(b.rows, b.hashes, b.rows.length, n, fullBucket, out, scratch);
  return { pairs: uniquePairs(out.keys.subarray(0, out.length), n), largeBuckets };
}

function uniquePairs(keys: Float64Array, n: number): Int32Array {
  keys.sort();
  let u = 0;
  for (let i = 0; i < keys.length; i++)
    if (i === 0 || keys[i] !== keys[u - 1]) keys[u++] = keys[i] as number;
  const pairs = new Int32Array(2 * u);
  for (let i = 0; i < u; i++) {
    const k = keys[i] as number;
    const a = Math.floor(k / n);
    pairs[2 * i] = a;
    pairs[2 * i + 1] = k - a * n;
  }
  return pairs;
}

/** Union of candidate pair lists from several band ranges (unique, sorted). */
export function mergeCandidates(parts: readonly CandidatePairs[], n: number): CandidatePairs {
  let total = 0;
  for (const p of parts) total += p.pairs.length / 2;
  const keys = new Float64Array(total);
  let at = 0;
  let largeBuckets = 0;
  for (const p of parts) {
    largeBuckets += p.largeBuckets;
    for (let i = 0; i < p.pairs.length; i += 2)
      keys[at++] = (p.pairs[i] as number) * n + (p.pairs[i + 1] as number);
  }
  return { pairs: uniquePairs(keys, n), largeBuckets };
}

/** Union-find whose root is always the lowest index of its set. */
function find(parent: Int32Array, x: number): number {
  while (parent[x] !== x) {
    const p = parent[x] as number;
    const g = parent[p] as number;
    parent[x] = g;
    x = g;
  }
  return x;
}

function union(parent: Int32Array, a: number, b: number): void {
  const ra = find(parent, a);
  const rb = find(parent, b);
  if (ra < rb) parent[rb] = ra;
  else if (rb < ra) parent[ra] = rb;
}

export const minhashNearDuplicates: Detector<MinhashOptions> = {
  id: 'dup/minhash',
  meta: {
    kinds: ['near_duplicate'],
    needs: ['text'],
    description:
      'Near-duplicate texts (shingle Jaccard ≥ threshold, default 0.8) found by MinHash-LSH and ' +
      'confirmed by exact Jaccard; clusters of copies with small edits. Exact copies are left ' +
      'to dup/exact.',
  },
  run(rows, options, progress) {
    return findNearDuplicates(rows, options, progress);
  },
};

/** The parameters as the report's summary shows them. */
export function minhashParamSummary(params: MinhashParams): Record<string, unknown> {
  return {
    numPerm: params.numPerm,
    bands: params.bands,
    rowsPerBand: params.rowsPerBand,
    threshold: params.threshold,
    shingles: `word ${params.shingleWords}-grams; char ${params.shingleChars}-grams below ${params.shortTextTokens} tokens`,
    maxShingles: params.maxShingles,
    candidateProbability: Object.fromEntries(
      [0.5, 0.7, params.threshold, 0.9].map((j) => [
        j.toFixed(2),
        Number(candidateProbability(j, params.bands, params.rowsPerBand).toFixed(4)),
      ]),
    ),
  };
}

/** Which rows enter the LSH, and the row counts the summary reports. */
export interface TextCopies {
  /** 1 for a row with text that is not an exact copy of an earlier row's text. */
  active: Uint8Array;
  withText: number;
  exactCopies: number;
  charRows: number;
  truncatedRows: number;
}

/**
 * Exact copies (same normalised text as an earlier row) leave the LSH: from the per-row flags and
 * 64-bit normalised-text hashes of `minhashSignatures`, a row is active unless an earlier row has
 * the same hash and, compared in full, the same normalised text.
 */
export function markTextCopies(
  rows: readonly ScanRow[],
  flags: Uint8Array,
  textHash: Uint32Array,
): TextCopies {
  const n = rows.length;
  const active = new Uint8Array(n);
  let withText = 0;
  let exactCopies = 0;
  let charRows = 0;
  let truncatedRows = 0;
  let cap = 16;
  while (cap < 2 * n) cap *= 2;
  const mask = cap - 1;
  const slots = new Int32Array(cap).fill(-1);
  for (let i = 0; i < n; i++) {
    const f = flags[i] as number;
    if (!(f & SIG_VALID)) continue;
    withText++;
    if (f & SIG_CHAR_SHINGLES) charRows++;
    if (f & SIG_TRUNCATED) truncatedRows++;
    const a = textHash[2 * i] as number;
    const b = textHash[2 * i + 1] as number;
    let slot = a & mask;
    let copy = false;
    let norm: string | undefined;
    for (;;) {
      const g = slots[slot] as number;
      if (g < 0) {
        slots[slot] = i;
        break;
      }
      if (textHash[2 * g] === a && textHash[2 * g + 1] === b) {
        norm ??= normalizeText((rows[i] as ScanRow).text as string);
        if (normalizeText((rows[g] as ScanRow).text as string) === norm) {
          copy = true;
          break;
        }
      }
      slot = (slot + 1) & mask;
    }
    if (copy) exactCopies++;
    else active[i] = 1;
  }
  return { active, withText, exactCopies, charRows, truncatedRows };
}

/** The summary fields known before the LSH runs, and the skip reason if it need not run. */
export function minhashBaseSummary(
  n: number,
  copies: TextCopies,
  params: MinhashParams,
): { summary: Record<string, unknown>; skipped?: string } {
  const summary = {
    rows: n,
    rowsWithText: copies.withText,
    rowsWithoutText: n - copies.withText,
    exactCopiesSkipped: copies.exactCopies,
    charShingleRows: copies.charRows,
    truncatedRows: copies.truncatedRows,
    params: minhashParamSummary(params),
  };
  if (copies.withText === 0) return { summary, skipped: 'no row has text' };
  if (copies.withText - copies.exactCopies < 2)
    return { summary, skipped: 'fewer than 2 distinct texts' };
  return { summary };
}

/** `dup/minhash` on fewer than two rows: nothing to compare. */
export function minhashTooFewRows(n: number, params: MinhashParams): DetectorResult {
  return {
    issues: [],
    summary: { rows: n, params: minhashParamSummary(params) },
    skipped: 'fewer than 2 rows',
  };
}

/** The `dup/minhash` detector as a plain function. */
export function findNearDuplicates(
  rows: readonly ScanRow[],
  options: MinhashOptions = {},
  progress?: (fraction: number) => void,
): DetectorResult {
  const params = minhashParams(options);
  const n = rows.length;
  if (n < 2) return minhashTooFewRows(n, params);

  // 1–2. Signatures chunk by chunk, kept only as band hashes.
  const perms = permutationParams(params);
  const texts = rows.map((r) => r.text);
  const bands = new Uint32Array(params.bands * n);
  const flags = new Uint8Array(n);
  const textHash = new Uint32Array(2 * n);
  for (let s = 0; s < n; s += MINHASH_CHUNK_ROWS) {
    const e = Math.min(n, s + MINHASH_CHUNK_ROWS);
    const block = minhashSignatures(texts, s, e, params, perms);
    bandHashes(block.signatures, e - s, params, bands, n, s);
    flags.set(block.flags, s);
    textHash.set(block.textHash, 2 * s);
    progress?.((0.7 * e) / n);
  }

  const copies = markTextCopies(rows, flags, textHash);
  const base = minhashBaseSummary(n, copies, params);
  if (base.skipped !== undefined)
    return { issues: [], summary: base.summary, skipped: base.skipped };

  // 3. Candidates.
  const cand = lshCandidates(bands, n, copies.active, 0, params.bands);
  progress?.(0.85);
  return confirmNearDuplicates(rows, params, cand, base.summary, progress);
}

/**
 * Step 4 and the findings: confirms candidate pairs by exact Jaccard, clusters the confirmed
 * pairs and flags every clustered row but its cluster's representative. `baseSummary` is the
 * summary so far (`minhashBaseSummary`).
 */
export function confirmNearDuplicates(
  rows: readonly ScanRow[],
  params: MinhashParams,
  cand: CandidatePairs,
  baseSummary: Record<string, unknown>,
  progress?: (fraction: number) => void,
): DetectorResult {
  const n = rows.length;
  const pairs = cand.pairs;
  const nPairs = pairs.length / 2;

  // 4. Confirm with exact Jaccard on shingle sets of candidate rows.
  const slotOf = new Int32Array(n).fill(-1);
  const setRows: number[] = [];
  for (let p = 0; p < pairs.length; p++) {
    const r = pairs[p] as number;
    if (slotOf[r] === -1) {
      slotOf[r] = setRows.length;
      setRows.push(r);
    }
  }
  const setOffsets = new Int32Array(setRows.length + 1);
  const sets: Uint32Array[] = [];
  {
    let total = 0;
    for (let q = 0; q < setRows.length; q++) {
      const set = shingleSet(
        normalizeText((rows[setRows[q] as number] as ScanRow).text as string),
        params,
      );
      sets.push(set);
      total += set.length;
      setOffsets[q + 1] = total;
    }
  }
  const flat = new Uint32Array(setOffsets[setRows.length] as number);
  for (let q = 0; q < sets.length; q++) flat.set(sets[q] as Uint32Array, setOffsets[q]);
  sets.length = 0;
  const setOf = (r: number): Uint32Array => {
    const q = slotOf[r] as number;
    return flat.subarray(setOffsets[q], setOffsets[q + 1]);
  };

  const parent = new Int32Array(n);
  for (let i = 0; i < n; i++) parent[i] = i;
  const bestJ = new Float64Array(n);
  let confirmed = 0;
  for (let p = 0; p < nPairs; p++) {
    const a = pairs[2 * p] as number;
    const b = pairs[2 * p + 1] as number;
    const j = jaccardSorted(setOf(a), setOf(b));
    if (j >= params.threshold) {
      confirmed++;
      union(parent, a, b);
      if (j > (bestJ[a] as number)) bestJ[a] = j;
      if (j > (bestJ[b] as number)) bestJ[b] = j;
    }
  }
  progress?.(0.95);

  // Clusters: rows in a confirmed pair, grouped by root (the lowest row index).
  const clusterOf = new Int32Array(n).fill(-1);
  const clusterRoots: number[] = [];
  const clusterSizes: number[] = [];
  const clusterLabels: Map<string | null, number>[] = [];
  for (let i = 0; i < n; i++) {
    if ((bestJ[i] as number) === 0) continue;
    const root = find(parent, i);
    let c = clusterOf[root] as number;
    if (c < 0) {
      c = clusterRoots.length;
      clusterOf[root] = c;
      clusterRoots.push(root);
      clusterSizes.push(0);
      clusterLabels.push(new Map());
    }
    clusterOf[i] = c;
    clusterSizes[c] = (clusterSizes[c] as number) + 1;
    const labels = clusterLabels[c] as Map<string | null, number>;
    const label = (rows[i] as ScanRow).label;
    labels.set(label, (labels.get(label) ?? 0) + 1);
  }
  const labelLists = clusterLabels.map((m) =>
    [...m.entries()]
      .map(([label, count]) => ({ label, count }))
      .sort((x, y) => y.count - x.count || String(x.label).localeCompare(String(y.label))),
  );

  const issues: Issue[] = [];
  let largestCluster = 0;
  for (const s of clusterSizes) if (s > largestCluster) largestCluster = s;
  const span = 1 - params.threshold;
  for (let i = 0; i < n; i++) {
    const c = clusterOf[i] as number;
    if (c < 0) continue;
    const root = clusterRoots[c] as number;
    if (root === i) continue;
    const j = bestJ[i] as number;
    const labels = labelLists[c] as { label: string | null; count: number }[];
    const row = rows[i] as ScanRow;
    const rep = rows[root] as ScanRow;
    issues.push({
      kind: 'near_duplicate',
      row: row.id,
      score: clamp01(0.5 + 0.5 * (span > 0 ? (j - params.threshold) / span : 1)),
      detail: {
        cluster: c,
        representative: rep.id,
        jaccard: Number(j.toFixed(4)),
        jaccardToRepresentative: Number(jaccardSorted(setOf(i), setOf(root)).toFixed(4)),
        clusterSize: clusterSizes[c],
        labels,
        labelDiffersFromRepresentative: row.label !== rep.label,
      },
    });
  }
  progress?.(1);
  return {
    issues,
    summary: {
      ...baseSummary,
      candidatePairs: nPairs,
      pairsChecked: nPairs,
      confirmedPairs: confirmed,
      largeBuckets: cand.largeBuckets,
      clusters: clusterRoots.length,
      largestCluster,
      rowsFlagged: issues.length,
    },
  };
}
