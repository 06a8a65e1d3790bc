/**
 * k-nearest-neighbour rules on row vectors: one kNN graph, three detectors.
 *
 * Graph (`knnGraph`): k = 10; cosine distance (1 − cos) when dim > 3, else euclidean (field
 * notes). Three searches, picked by size and dimension (pure TS, no native index):
 * - exact k-d tree (median splits, Arya–Mount incremental cell distances) for dim ≤ 4 at any n,
 *   and for dim ≤ 10 up to the exact limit (1M 2-d points ≈ 2.5 s; 20k 9-d points ≈ 0.5 s);
 * - exact brute force up to `defaultMaxExact(dim)` rows (20,000 for dim ≤ 64, fewer above so
 *   n² · dim stays ≤ 20,000² · 64): 2 × 4 register tiles over cache-sized column tiles, each pair
 *   computed once and offered to both rows (20,000 × 64: ≈ 6–8 s CPU on the 2-core dev box);
 * - above that, approximate: NN-descent (Dong, Moses & Li, WWW 2011) seeded by three
 *   random-projection trees (leaves of 2k points offer all their pairs), points renumbered in
 *   leaf order for cache locality, stopped when < 1 % of the entries change in a round. Measured
 *   recall@10 against the exact graph: ≥ 0.98 on 9–12-d clustered data, 0.95 on 64-d Gaussian
 *   blobs (with 1.5 k candidates per row above 16 dims); lower on uniformly random
 *   high-dimensional data, where nearest neighbours are barely nearer than the rest. The
 *   duplicate sets built on it are still consistent (union-find), they may miss members.
 *
 * Spaces (`buildNeighborContext`): built once and shared by the three detectors.
 * - features: `row.features`. The most common length is the dimension; rows with another length,
 *   with a non-finite value, or (cosine) with a zero vector are skipped and counted.
 * - text: nine features per row with text, standardised (z-scores; constant features dropped),
 *   euclidean: log(1 + chars), share of letters, digits, punctuation, uppercase, whitespace and
 *   non-ASCII characters (over the first 4,096 characters), mean token length and distinct-token
 *   ratio (over the first 512 tokens). Style, not meaning: it finds texts unlike the rest
 *   (binary blobs, base64, tables of numbers, one-word rows), so text-only datasets get outliers.
 *
 * Detectors:
 * - `dup/vector` (near_duplicate): graph edges shorter than 0.13 × the median nearest-neighbour
 *   distance (or of length 0) are merged into clusters (union-find, so sets stay consistent even
 *   with an approximate graph); every member but the lowest row is flagged. Score 1 for an exact
 *   copy of another member, else 0.5 + 0.5 × (1 − d / limit).
 * - `outlier/knn` (outlier): mean distance to the k neighbours above Q3 + 1.7 × IQR of all rows'
 *   means, in each space; score 0.5 + 0.5 × (1 − exp(−(m − fence) / IQR)) — 0.5 at the fence,
 *   → 1 far beyond. Permissive by design (field notes); `iqrMultiplier: 3` is the strict option.
 *   A row flagged in both spaces gets one issue with both details.
 * - `label/knn` (label): a row whose label differs from the weighted plurality of its labelled
 *   neighbours (weight 1 / (1 + d / median neighbour distance)); score = share of the neighbour
 *   weight against the row's label. Needs labels with ≥ 2 classes; unlabelled rows are neither
 *   judged nor counted as votes.
 */
import { clamp01, type Detector, type DetectorResult, type Issue, type ScanRow } from './types.js';
import { mulberry32, randomInt } from './random.js';
import {
  CHAR_PUNCT,
  CHAR_WHITESPACE,
  charClassOf,
  hashSpan,
  prepareForTokens,
  scanTokenSpans,
  spanScratch,
} from './text-normalize.js';

export type Metric = 'cosine' | 'euclidean';

/** Neighbours per row: the field notes' k. */
export const KNN_K = 10;
/** Largest n searched exactly (field notes: exact kNN is quadratic; 40k rows cost 4× 20k). */
export const KNN_MAX_EXACT = 20_000;
/** Exact-search work cap, n² · dim: 20,000 rows at 64 dims (~6 s single-threaded). */
export const KNN_EXACT_WORK = 20_000 * 20_000 * 64;
/** Above this dimension NN-descent keeps wider candidate lists; at ≤ 16 dims k gives ≥ 0.98. */
export const NN_DESCENT_WIDE_ABOVE_DIM = 16;
/** Width of those lists in units of k: recall@10 on 64-d blobs 0.82 → 0.95 for 1.5× the time. */
export const NN_DESCENT_K_FACTOR = 1.5;
/** Up to this dimension a k-d tree gives the exact graph at any n (1M 2-d points: ~2.5 s). */
export const KD_TREE_ANY_N_DIM = 4;
/** Up to this dimension exact searches use the k-d tree (9-d, 20k rows: 0.5 s vs 1.9 s brute
 * force); above it the tree visits nearly every leaf and brute force wins (12-d: 4.2 s vs 2.4). */
export const KD_TREE_MAX_DIM = 10;
/** Above this dimension cosine is used (field notes: cosine if dim > 3, else euclidean). */
export const KNN_COSINE_ABOVE_DIM = 3;
/** Seed for the approximate search, fixed so scans are reproducible. */
export const KNN_SEED = 0x6b6e6e;
/** NN-descent stops when fewer than this share of the n·k graph entries changed in a round
 * (0.01 vs 0.001: one round less, recall 0.985 vs 0.986 on 9-d blobs). */
export const NN_DESCENT_DELTA = 0.01;
/** NN-descent round cap: from a random-projection-forest start it converges in 2–6 rounds. */
export const NN_DESCENT_MAX_ROUNDS = 12;
/** Random-projection trees that seed NN-descent. */
export const NN_DESCENT_TREES = 3;
/** Near-duplicate limit as a share of the median nearest-neighbour distance (field notes). */
export const DUP_VECTOR_FACTOR = 0.13;
/** Outlier fence multiplier on the IQR of mean kNN distances (field notes; 3 = strict). */
export const OUTLIER_IQR_MULTIPLIER = 1.7;
/** Fewest rows in a space for quartiles of kNN distances to mean anything. */
export const OUTLIER_MIN_ROWS = 20;
/** Fewest labelled neighbours for a label vote. */
export const LABEL_KNN_MIN_VOTES = 3;
/** Characters of a text read for the character-share features (bounded work on 1 MB texts). */
export const TEXT_FEATURE_CHARS = 4096;
/** Tokens of a text read for the token features. */
export const TEXT_FEATURE_TOKENS = 512;
/** Names of the text features, in vector order. */
export const TEXT_FEATURE_NAMES = [
  'logChars',
  'letters',
  'digits',
  'punctuation',
  'uppercase',
  'whitespace',
  'nonAscii',
  'meanTokenLength',
  'distinctTokenRatio',
] as const;

/** Vectors packed row-major into one typed array (unit length when the metric is cosine). */
export interface PackedVectors {
  n: number;
  dim: number;
  data: Float32Array;
}

export interface KnnGraph {
  n: number;
  /** Neighbours per row (min(k, n − 1)). */
  k: number;
  /** n × k neighbour indices, nearest first. */
  indices: Int32Array;
  /** n × k distances (1 − cos for cosine, L2 for euclidean), ascending per row. */
  distances: Float32Array;
  metric: Metric;
  exact: boolean;
  /** NN-descent rounds run (0 when exact). */
  rounds: number;
}

export interface KnnOptions {
  /** 'auto' (default): cosine when dim > 3, else euclidean. */
  metric?: Metric | 'auto';
  /** Largest n searched exactly (default `defaultMaxExact(dim)`; dim ≤ 4 is always exact). */
  maxExact?: number;
  seed?: number;
  progress?: (fraction: number) => void;
}

/** The metric `auto` picks for a dimension. */
export function autoMetric(dim: number): Metric {
  return dim > KNN_COSINE_ABOVE_DIM ? 'cosine' : 'euclidean';
}

/**
 * Packs equal-length vectors into a Float32Array, normalised to unit length for cosine. Throws
 * on mixed lengths, non-finite values or (cosine) zero vectors: callers filter rows first, as
 * `buildNeighborContext` does.
 */
export function packVectors(vectors: readonly ArrayLike<number>[], metric: Metric): PackedVectors {
  const n = vectors.length;
  const dim = n > 0 ? (vectors[0] as ArrayLike<number>).length : 0;
  const data = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const v = vectors[i] as ArrayLike<number>;
    if (v.length !== dim)
      throw new RangeError(`vector ${i} has length ${v.length}, expected ${dim}`);
    let ss = 0;
    for (let d = 0; d < dim; d++) {
      const x = v[d] as number;
      if (!Number.isFinite(x)) throw new RangeError(`vector ${i} has a non-finite value`);
      ss += x * x;
    }
    const scale = metric === 'cosine' ? 1 / Math.sqrt(ss) : 1;
    if (!Number.isFinite(scale)) throw new RangeError(`vector ${i} is zero (cosine undefined)`);
    const o = i * dim;
    for (let d = 0; d < dim; d++) data[o + d] = (v[d] as number) * scale;
  }
  return { n, dim, data };
}

/** Per-row top-k lists kept sorted by an internal key (1 − dot, or squared L2). */
class TopK {
  readonly keys: Float64Array;
  readonly ids: Int32Array;
  readonly fresh: Uint8Array;
  /** Per row: the worst key in its list (Infinity while not full). */
  readonly worst: Float64Array;
  constructor(
    readonly n: number,
    readonly k: number,
  ) {
    this.keys = new Float64Array(n * k).fill(Infinity);
    this.ids = new Int32Array(n * k).fill(-1);
    this.fresh = new Uint8Array(n * k);
    this.worst = new Float64Array(n).fill(Infinity);
  }
  /** Offers neighbour j at key d to row i; returns 1 if the list changed. */
  push(i: number, j: number, d: number, checkDuplicate: boolean): number {
    const k = this.k;
    const o = i * k;
    const keys = this.keys;
    const ids = this.ids;
    if (!(d < (keys[o + k - 1] as number))) return 0;
    if (checkDuplicate) for (let p = 0; p < k; p++) if (ids[o + p] === j) return 0;
    let p = k - 1;
    while (p > 0 && (keys[o + p - 1] as number) > d) {
      keys[o + p] = keys[o + p - 1] as number;
      ids[o + p] = ids[o + p - 1] as number;
      this.fresh[o + p] = this.fresh[o + p - 1] as number;
      p--;
    }
    keys[o + p] = d;
    ids[o + p] = j;
    this.fresh[o + p] = 1;
    this.worst[i] = keys[o + k - 1] as number;
    return 1;
  }
}

function squaredNorms(v: PackedVectors): Float64Array {
  const { n, dim, data } = v;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    const o = i * dim;
    for (let d = 0; d < dim; d++) {
      const x = data[o + d] as number;
      s += x * x;
    }
    out[i] = s;
  }
  return out;
}

/** Columns of j per cache tile in the exact search (64 dims × 4 B × 1,024 = 256 KB). */
const EXACT_TILE = 1024;

function exactSearch(
  v: PackedVectors,
  top: TopK,
  metric: Metric,
  progress?: (f: number) => void,
): void {
  const { n, dim, data: X } = v;
  const cosine = metric === 'cosine';
  const norms = cosine ? new Float64Array(0) : squaredNorms(v);
  const worst = top.worst;
  // Key of a pair from its dot product: 1 − dot (unit vectors) or |a|² + |b|² − 2 a·b.
  const offer = (i: number, j: number, dot: number): void => {
    let key = cosine ? 1 - dot : (norms[i] as number) + (norms[j] as number) - 2 * dot;
    if (key < 0) key = 0;
    if (key < (worst[i] as number)) top.push(i, j, key, false);
    if (key < (worst[j] as number)) top.push(j, i, key, false);
  };
  const dot1 = (a: number, b: number): number => {
    const oa = a * dim;
    const ob = b * dim;
    let s = 0;
    for (let d = 0; d < dim; d++) s += (X[oa + d] as number) * (X[ob + d] as number);
    return s;
  };
  const tiles = Math.ceil(n / EXACT_TILE);
  for (let t = 0; t < tiles; t++) {
    const jb = t * EXACT_TILE;
    const je = Math.min(n, jb + EXACT_TILE);
    for (let i0 = 0; i0 + 1 < n && i0 < je; i0 += 2) {
      const i1 = i0 + 1;
      if (i1 >= jb && i1 < je) offer(i0, i1, dot1(i0, i1));
      const a0 = i0 * dim;
      const a1 = a0 + dim;
      let j = Math.max(jb, i0 + 2);
      for (; j + 3 < je; j += 4) {
        const o0 = j * dim;
        const o1 = o0 + dim;
        const o2 = o1 + dim;
        const o3 = o2 + dim;
        let s00 = 0;
        let s01 = 0;
        let s02 = 0;
        let s03 = 0;
        let s10 = 0;
        let s11 = 0;
        let s12 = 0;
        let s13 = 0;
        for (let d = 0; d < dim; d++) {
          const x = X[a0 + d] as number;
          const y = X[a1 + d] as number;
          const b0 = X[o0 + d] as number;
          const b1 = X[o1 + d] as number;
          const b2 = X[o2 + d] as number;
          const b3 = X[o3 + d] as number;
          s00 += x * b0;
          s01 += x * b1;
          s02 += x * b2;
          s03 += x * b3;
          s10 += y * b0;
          s11 += y * b1;
          s12 += y * b2;
          s13 += y * b3;
        }
        offer(i0, j, s00);
        offer(i0, j + 1, s01);
        offer(i0, j + 2, s02);
        offer(i0, j + 3, s03);
        offer(i1, j, s10);
        offer(i1, j + 1, s11);
        offer(i1, j + 2, s12);
        offer(i1, j + 3, s13);
      }
      for (; j < je; j++) {
        offer(i0, j, dot1(i0, j));
        offer(i1, j, dot1(i1, j));
      }
    }
    progress?.((je * je) / (n * n));
  }
}

/** Points per k-d tree leaf. */
const KD_LEAF = 12;

/**
 * Exact kNN of every point by a k-d tree (median splits on the widest dimension, queries with
 * Arya–Mount incremental cell distances). Keys are squared L2, halved at the end for cosine on
 * unit vectors (1 − cos = |a − b|² / 2). Fast for low dimensions at any n.
 */
function kdTreeSearch(
  v: PackedVectors,
  top: TopK,
  cosine: boolean,
  progress?: (f: number) => void,
): void {
  const { n, dim, data: X } = v;
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const maxNodes = 2 * Math.ceil(n / KD_LEAF) * 2 + 1;
  const nodeLo = new Int32Array(maxNodes);
  const nodeHi = new Int32Array(maxNodes);
  const nodeDim = new Int32Array(maxNodes); // -1 leaf, -2 leaf of identical points
  const nodeVal = new Float64Array(maxNodes);
  const nodeLeft = new Int32Array(maxNodes);
  const nodeRight = new Int32Array(maxNodes);
  let nodes = 0;
  const newNode = (lo: number, hi: number): number => {
    nodeLo[nodes] = lo;
    nodeHi[nodes] = hi;
    nodeDim[nodes] = -1;
    return nodes++;
  };
  const coord = (p: number, d: number): number => X[(perm[p] as number) * dim + d] as number;
  // Quickselect perm[lo..hi) so that position `kth` holds its order statistic along d.
  const select = (lo: number, hi: number, kth: number, d: number): void => {
    let l = lo;
    let r = hi - 1;
    while (r > l) {
      const pivot = coord((l + r) >> 1, d);
      let i = l;
      let j = r;
      while (i <= j) {
        while (coord(i, d) < pivot) i++;
        while (coord(j, d) > pivot) j--;
        if (i <= j) {
          const t = perm[i] as number;
          perm[i] = perm[j] as number;
          perm[j] = t;
          i++;
          j--;
        }
      }
      if (kth <= j) r = j;
      else if (kth >= i) l = i;
      else break;
    }
  };
  const stack: number[] = [newNode(0, n)];
  while (stack.length > 0) {
    const node = stack.pop() as number;
    const lo = nodeLo[node] as number;
    const hi = nodeHi[node] as number;
    if (hi - lo <= KD_LEAF) continue;
    let bestDim = -1;
    let bestSpread = 0;
    for (let d = 0; d < dim; d++) {
      let mn = Infinity;
      let mx = -Infinity;
      for (let p = lo; p < hi; p++) {
        const x = coord(p, d);
        if (x < mn) mn = x;
        if (x > mx) mx = x;
      }
      if (mx - mn > bestSpread) {
        bestSpread = mx - mn;
        bestDim = d;
      }
    }
    if (bestDim < 0) {
      nodeDim[node] = -2;
      continue;
    }
    const mid = (lo + hi) >> 1;
    select(lo, hi, mid, bestDim);
    nodeDim[node] = bestDim;
    nodeVal[node] = coord(mid, bestDim);
    const left = newNode(lo, mid);
    const right = newNode(mid, hi);
    nodeLeft[node] = left;
    nodeRight[node] = right;
    stack.push(left, right);
  }

  const worst = top.worst;
  const off = new Float64Array(dim);
  let qi = 0;
  let qo = 0;
  const scanLeaf = (node: number): void => {
    const lo = nodeLo[node] as number;
    const hi = nodeHi[node] as number;
    const same = nodeDim[node] === -2;
    let key = -1;
    for (let p = lo; p < hi; p++) {
      const j = perm[p] as number;
      if (j === qi) continue;
      if (!same || key < 0) {
        const oj = j * dim;
        key = 0;
        for (let d = 0; d < dim; d++) {
          const t = (X[qo + d] as number) - (X[oj + d] as number);
          key += t * t;
        }
      }
      if (key < (worst[qi] as number)) top.push(qi, j, key, false);
      else if (same) return;
    }
  };
  const search = (node: number, rd: number): void => {
    const sd = nodeDim[node] as number;
    if (sd < 0) {
      scanLeaf(node);
      return;
    }
    const diff = (X[qo + sd] as number) - (nodeVal[node] as number);
    const near = diff < 0 ? (nodeLeft[node] as number) : (nodeRight[node] as number);
    const far = diff < 0 ? (nodeRight[node] as number) : (nodeLeft[node] as number);
    search(near, rd);
    const old = off[sd] as number;
    const rd2 = rd - old * old + diff * diff;
    if (rd2 < (worst[qi] as number)) {
      off[sd] = diff;
      search(far, rd2);
      off[sd] = old;
    }
  };
  for (let p = 0; p < n; p++) {
    qi = perm[p] as number;
    qo = qi * dim;
    off.fill(0);
    search(0, 0);
    if ((p & 65535) === 65535) progress?.(p / n);
  }
  if (cosine) for (let e = 0; e < top.keys.length; e++) top.keys[e] = (top.keys[e] as number) / 2;
}

/** Key of one pair for the approximate search (1 − dot on unit vectors, or squared L2). */
function pairKey(X: Float32Array, dim: number, a: number, b: number, cosine: boolean): number {
  const oa = a * dim;
  const ob = b * dim;
  let s = 0;
  if (cosine) {
    for (let d = 0; d < dim; d++) s += (X[oa + d] as number) * (X[ob + d] as number);
    const key = 1 - s;
    return key < 0 ? 0 : key;
  }
  for (let d = 0; d < dim; d++) {
    const t = (X[oa + d] as number) - (X[ob + d] as number);
    s += t * t;
  }
  return s;
}

/** Offers the pair (a, b) at `key` to both rows; returns how many lists changed. */
function offerBoth(top: TopK, a: number, b: number, key: number): number {
  let c = 0;
  if (key < (top.worst[a] as number)) c += top.push(a, b, key, true);
  if (key < (top.worst[b] as number)) c += top.push(b, a, key, true);
  return c;
}

/**
 * Partitions the points by one random-projection tree (Annoy-style: split at the median of the
 * projection on the line through two random points of the cell) into leaves of ≤ `leaf` points.
 * Leaves `perm` in leaf order and returns the leaf start offsets (plus n at the end).
 */
function rpTreePartition(
  v: PackedVectors,
  leaf: number,
  rand: () => number,
  perm: Int32Array,
  vals: Float64Array,
): Int32Array {
  const { n, dim, data: X } = v;
  for (let i = 0; i < n; i++) perm[i] = i;
  const starts: number[] = [];
  const stack: number[] = [0, n];
  while (stack.length > 0) {
    const hi = stack.pop() as number;
    const lo = stack.pop() as number;
    const size = hi - lo;
    if (size <= leaf) {
      starts.push(lo);
      continue;
    }
    const pa = (perm[lo + randomInt(rand, size)] as number) * dim;
    const pb = (perm[lo + randomInt(rand, size)] as number) * dim;
    let spread = false;
    for (let p = lo; p < hi; p++) {
      const o = (perm[p] as number) * dim;
      let s = 0;
      for (let d = 0; d < dim; d++)
        s += (X[o + d] as number) * ((X[pa + d] as number) - (X[pb + d] as number));
      vals[p] = s;
      if (s !== vals[lo]) spread = true;
    }
    if (!spread) {
      // The two points coincide or all projections tie: split on a random axis, ties by position.
      const d = randomInt(rand, dim);
      let axis = false;
      for (let p = lo; p < hi; p++) {
        vals[p] = X[(perm[p] as number) * dim + d] as number;
        if (vals[p] !== vals[lo]) axis = true;
      }
      if (!axis) for (let p = lo; p < hi; p++) vals[p] = p;
    }
    // Quickselect the median position, swapping perm and vals together.
    const mid = (lo + hi) >> 1;
    let l = lo;
    let r = hi - 1;
    while (r > l) {
      const pivot = vals[(l + r) >> 1] as number;
      let i = l;
      let j = r;
      while (i <= j) {
        while ((vals[i] as number) < pivot) i++;
        while ((vals[j] as number) > pivot) j--;
        if (i <= j) {
          const tv = vals[i] as number;
          vals[i] = vals[j] as number;
          vals[j] = tv;
          const tp = perm[i] as number;
          perm[i] = perm[j] as number;
          perm[j] = tp;
          i++;
          j--;
        }
      }
      if (mid <= j) r = j;
      else if (mid >= i) l = i;
      else break;
    }
    // Right half first on the stack so leaves come out left to right.
    stack.push(mid, hi, lo, mid);
  }
  starts.push(n);
  return Int32Array.from(starts);
}

/** Offers every pair inside each leaf of a partition. */
function offerLeaves(
  v: PackedVectors,
  top: TopK,
  cosine: boolean,
  perm: Int32Array | null,
  starts: Int32Array,
): void {
  const { dim, data: X } = v;
  for (let q = 0; q + 1 < starts.length; q++) {
    const lo = starts[q] as number;
    const hi = starts[q + 1] as number;
    for (let x = lo; x < hi; x++) {
      const a = perm ? (perm[x] as number) : x;
      for (let y = x + 1; y < hi; y++) {
        const b = perm ? (perm[y] as number) : y;
        offerBoth(top, a, b, pairKey(X, dim, a, b, cosine));
      }
    }
  }
}

/** CSR lists built from (node, item) pushes, with a per-node cap by random sampling. */
function buildLists(
  n: number,
  owners: Int32Array,
  items: Int32Array,
  count: number,
  cap: number,
  rand: () => number,
): { offsets: Int32Array; items: Int32Array } {
  const sizes = new Int32Array(n + 1);
  for (let e = 0; e < count; e++) {
    const o = (owners[e] as number) + 1;
    sizes[o] = (sizes[o] as number) + 1;
  }
  for (let i = 0; i < n; i++) sizes[i + 1] = (sizes[i + 1] as number) + (sizes[i] as number);
  const fill = sizes.slice(0, n);
  const all = new Int32Array(count);
  for (let e = 0; e < count; e++) {
    const o = owners[e] as number;
    const at = fill[o] as number;
    all[at] = items[e] as number;
    fill[o] = at + 1;
  }
  // Sample down to `cap` per node (partial Fisher–Yates), compacting in place.
  const offsets = new Int32Array(n + 1);
  let w = 0;
  for (let i = 0; i < n; i++) {
    const from = sizes[i] as number;
    const len = (sizes[i + 1] as number) - from;
    const take = Math.min(len, cap);
    if (take < len) {
      for (let q = 0; q < take; q++) {
        const r = q + randomInt(rand, len - q);
        const t = all[from + r] as number;
        all[from + r] = all[from + q] as number;
        all[from + q] = t;
      }
    }
    for (let q = 0; q < take; q++) all[w + q] = all[from + q] as number;
    w += take;
    offsets[i + 1] = w;
  }
  return { offsets, items: all.subarray(0, w) };
}

/** Appends the items of node v in `list` not yet stamped with v to `out` from `at`. */
function gather(
  list: { offsets: Int32Array; items: Int32Array },
  v: number,
  stamp: Int32Array,
  out: Int32Array,
  at: number,
): number {
  const end = list.offsets[v + 1] as number;
  for (let q = list.offsets[v] as number; q < end; q++) {
    const u = list.items[q] as number;
    if (stamp[u] !== v) {
      stamp[u] = v;
      out[at++] = u;
    }
  }
  return at;
}

function approximateSearch(
  original: PackedVectors,
  result: TopK,
  metric: Metric,
  seed: number,
  progress?: (f: number) => void,
): number {
  const { n, dim } = original;
  const k = result.k;
  const cosine = metric === 'cosine';
  const rand = mulberry32(seed);
  const leaf = Math.max(2 * k, 8);
  // Renumber the points in the leaf order of a first tree, so that neighbours sit close in
  // memory (the search is bound by cache misses at 1M rows); map back at the end.
  const perm = new Int32Array(n);
  const vals = new Float64Array(n);
  const firstStarts = rpTreePartition(original, leaf, rand, perm, vals);
  const order = perm.slice();
  const X = new Float32Array(n * dim);
  for (let q = 0; q < n; q++)
    X.set(
      original.data.subarray((order[q] as number) * dim, ((order[q] as number) + 1) * dim),
      q * dim,
    );
  const v: PackedVectors = { n, dim, data: X };
  const top = new TopK(n, k);
  offerLeaves(v, top, cosine, null, firstStarts);
  for (let t = 1; t < NN_DESCENT_TREES; t++) {
    offerLeaves(v, top, cosine, perm, rpTreePartition(v, leaf, rand, perm, vals));
  }
  // Fill lists that are still short with random rows.
  for (let i = 0; i < n; i++) {
    for (let tries = 0; top.worst[i] === Infinity && tries < 4 * k; tries++) {
      const j = randomInt(rand, n);
      if (j !== i) top.push(i, j, pairKey(X, dim, i, j, cosine), true);
    }
  }
  progress?.(0.2);

  const nk = n * k;
  const oldOwners = new Int32Array(nk);
  const oldItems = new Int32Array(nk);
  const newOwners = new Int32Array(nk);
  const newItems = new Int32Array(nk);
  const stamp = new Int32Array(n).fill(-1);
  const newList = new Int32Array(2 * k);
  const oldList = new Int32Array(2 * k);
  let rounds = 0;
  while (rounds < NN_DESCENT_MAX_ROUNDS) {
    rounds++;
    // Forward new/old lists; entries sampled as new become old.
    let cn = 0;
    let co = 0;
    for (let e = 0; e < nk; e++) {
      const j = top.ids[e] as number;
      if (j < 0) continue;
      const i = (e / k) | 0;
      if (top.fresh[e]) {
        top.fresh[e] = 0;
        newOwners[cn] = i;
        newItems[cn++] = j;
      } else {
        oldOwners[co] = i;
        oldItems[co++] = j;
      }
    }
    const fwdNew = buildLists(n, newOwners, newItems, cn, k, rand);
    const fwdOld = buildLists(n, oldOwners, oldItems, co, k, rand);
    const revNew = buildLists(n, newItems, newOwners, cn, k, rand);
    const revOld = buildLists(n, oldItems, oldOwners, co, k, rand);
    let changes = 0;
    stamp.fill(-1);
    for (let v0 = 0; v0 < n; v0++) {
      const nn = gather(revNew, v0, stamp, newList, gather(fwdNew, v0, stamp, newList, 0));
      const no = gather(revOld, v0, stamp, oldList, gather(fwdOld, v0, stamp, oldList, 0));
      for (let x = 0; x < nn; x++) {
        const a = newList[x] as number;
        for (let y = x + 1; y < nn; y++) {
          const b = newList[y] as number;
          changes += offerBoth(top, a, b, pairKey(X, dim, a, b, cosine));
        }
        for (let y = 0; y < no; y++) {
          const b = oldList[y] as number;
          if (a !== b) changes += offerBoth(top, a, b, pairKey(X, dim, a, b, cosine));
        }
      }
    }
    progress?.(Math.min(0.95, 0.2 + rounds / 10));
    if (changes < NN_DESCENT_DELTA * nk) break;
  }
  for (let q = 0; q < n; q++) {
    const i = order[q] as number;
    for (let p = 0; p < k; p++) {
      const j = top.ids[q * k + p] as number;
      result.ids[i * k + p] = j < 0 ? -1 : (order[j] as number);
      result.keys[i * k + p] = top.keys[q * k + p] as number;
    }
  }
  return rounds;
}

/** The first k entries of each row of a wider top-k list. */
function narrow(wide: TopK, k: number): TopK {
  const out = new TopK(wide.n, k);
  for (let i = 0; i < wide.n; i++) {
    out.keys.set(wide.keys.subarray(i * wide.k, i * wide.k + k), i * k);
    out.ids.set(wide.ids.subarray(i * wide.k, i * wide.k + k), i * k);
  }
  return out;
}

/** Default exact-search limit for a dimension: `KNN_MAX_EXACT` rows, fewer for dim > 64. */
export function defaultMaxExact(dim: number): number {
  return Math.min(KNN_MAX_EXACT, Math.floor(Math.sqrt(KNN_EXACT_WORK / Math.max(1, dim))));
}

/**
 * k-nearest-neighbour graph of `vectors` (equal lengths, finite; see `packVectors`), each row's
 * own index excluded. Exact up to `maxExact` rows, NN-descent above (file comment).
 */
export function knnGraph(
  vectors: readonly ArrayLike<number>[] | PackedVectors,
  k: number = KNN_K,
  options: KnnOptions = {},
): KnnGraph {
  let packed: PackedVectors;
  let metric: Metric;
  if ('data' in vectors && !Array.isArray(vectors)) {
    packed = vectors;
    metric =
      options.metric === undefined || options.metric === 'auto'
        ? autoMetric(packed.dim)
        : options.metric;
  } else {
    const list = vectors as readonly ArrayLike<number>[];
    const dim = list.length > 0 ? (list[0] as ArrayLike<number>).length : 0;
    metric =
      options.metric === undefined || options.metric === 'auto' ? autoMetric(dim) : options.metric;
    packed = packVectors(list, metric);
  }
  const n = packed.n;
  const kk = Math.max(0, Math.min(k, n - 1));
  let exact = true;
  let rounds = 0;
  let top = new TopK(n, kk);
  if (kk > 0) {
    const maxExact = options.maxExact ?? defaultMaxExact(packed.dim);
    if (packed.dim <= KD_TREE_ANY_N_DIM || (n <= maxExact && packed.dim <= KD_TREE_MAX_DIM)) {
      kdTreeSearch(packed, top, metric === 'cosine', options.progress);
    } else if (n <= maxExact) {
      exactSearch(packed, top, metric, options.progress);
    } else {
      exact = false;
      const factor = packed.dim > NN_DESCENT_WIDE_ABOVE_DIM ? NN_DESCENT_K_FACTOR : 1;
      const wide = new TopK(n, Math.min(n - 1, Math.ceil(kk * factor)));
      rounds = approximateSearch(packed, wide, metric, options.seed ?? KNN_SEED, options.progress);
      top = wide.k === kk ? wide : narrow(wide, kk);
    }
  }
  const distances = new Float32Array(n * kk);
  for (let e = 0; e < n * kk; e++) {
    const key = top.keys[e] as number;
    distances[e] = metric === 'euclidean' ? Math.sqrt(key) : key;
  }
  options.progress?.(1);
  return { n, k: kk, indices: top.ids, distances, metric, exact, rounds };
}

// ---------------------------------------------------------------------------------------------
// Spaces and the shared context

export interface NeighborSpace {
  kind: 'features' | 'text';
  /** Graph node → index into the scanned rows. */
  rowIndex: Int32Array;
  vectors: PackedVectors;
  graph: KnnGraph;
}

function featureStats(ctx: NeighborContext): Record<string, unknown> {
  const { rowsWithFeatures, dim, skippedNonFinite, skippedWrongLength, skippedZeroVector } =
    ctx.stats;
  return { rowsWithFeatures, dim, skippedNonFinite, skippedWrongLength, skippedZeroVector };
}

export interface NeighborContext {
  rows: number;
  features: NeighborSpace | null;
  /** Why there is no feature space (when `features` is null). */
  featuresSkipped?: string;
  text: NeighborSpace | null;
  textSkipped?: string;
  stats: {
    rowsWithFeatures: number;
    dim: number;
    skippedNonFinite: number;
    skippedWrongLength: number;
    skippedZeroVector: number;
    /** Whether feature columns were z-scored (they were in different units). */
    standardized?: boolean;
    rowsWithText: number;
    textFeaturesUsed: string[];
  };
}

/**
 * A row is a kNN label issue only when at least this share of its neighbours' weight is against
 * its label: near-unanimous neighbours, not a plurality (rows between classes are common in real
 * data and are confident learning's business). Measured with 5 % flips on wine, breast cancer and
 * digits: a plurality gave precision 0.25–0.67; 0.9 gave union F1 0.74–0.90 with confident
 * learning, and on clean MNIST it flags 1.4 % of rows (0.7: 3.8 %).
 */
export const KNN_LABEL_MIN_AGAINST = 0.9;

/** Largest/median column scale above which feature columns count as different units (z-scored). */
export const NEIGHBOR_UNIT_RATIO = 10;

export interface NeighborOptions {
  k?: number;
  /** Metric of the feature space; the text space is always euclidean on z-scores. */
  metric?: Metric | 'auto';
  maxExact?: number;
  seed?: number;
  /** A context from `buildNeighborContext`, to share one graph between detectors. */
  context?: NeighborContext;
}

/** The nine text-style features of one text (`TEXT_FEATURE_NAMES` order) into `out[at..]`. */
export function textFeatures(text: string, out: Float64Array, at: number): void {
  const len = Math.min(text.length, TEXT_FEATURE_CHARS);
  let letters = 0;
  let digits = 0;
  let punct = 0;
  let upper = 0;
  let space = 0;
  let nonAscii = 0;
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i);
    if (c < 128) {
      if (c >= 97 && c <= 122) letters++;
      else if (c >= 65 && c <= 90) {
        letters++;
        upper++;
      } else if (c >= 48 && c <= 57) digits++;
      else if (c === 32 || (c >= 9 && c <= 13)) space++;
      else punct++;
    } else {
      nonAscii++;
      const k = charClassOf(c);
      if (k === CHAR_WHITESPACE) space++;
      else if (k === CHAR_PUNCT) punct++;
      else {
        letters++;
        const ch = String.fromCharCode(c);
        if (ch !== ch.toLowerCase()) upper++;
      }
    }
  }
  const t = prepareForTokens(text, TEXT_FEATURE_TOKENS);
  const { starts, ends } = spanScratch(TEXT_FEATURE_TOKENS);
  const nt = scanTokenSpans(t, TEXT_FEATURE_TOKENS, starts, ends);
  let tokenChars = 0;
  const hashes = new Uint32Array(nt);
  for (let j = 0; j < nt; j++) {
    const s = starts[j] as number;
    const e = ends[j] as number;
    tokenChars += e - s;
    hashes[j] = hashSpan(t, s, e);
  }
  hashes.sort();
  let distinct = 0;
  for (let j = 0; j < nt; j++) if (j === 0 || hashes[j] !== hashes[j - 1]) distinct++;
  const l = len > 0 ? len : 1;
  out[at] = Math.log1p(text.length);
  out[at + 1] = letters / l;
  out[at + 2] = digits / l;
  out[at + 3] = punct / l;
  out[at + 4] = upper / l;
  out[at + 5] = space / l;
  out[at + 6] = nonAscii / l;
  out[at + 7] = nt > 0 ? tokenChars / nt : 0;
  out[at + 8] = nt > 0 ? distinct / nt : 0;
}

/**
 * Columns in different units (a table with one column in thousands and another in fractions)
 * would let the largest dominate every distance, so such data is z-scored per column. Data whose
 * columns share one scale (pixels, embeddings) is left as it is: z-scoring would blow up the
 * noise of near-constant columns such as image borders. "Different units" means the largest
 * per-column maximum |x| exceeds the median one by more than NEIGHBOR_UNIT_RATIO.
 */
function scaleColumns(
  vectors: number[][],
  dim: number,
  stats: NeighborContext['stats'],
): number[][] {
  const maxAbs = new Float64Array(dim);
  for (const v of vectors)
    for (let d = 0; d < dim; d++)
      maxAbs[d] = Math.max(maxAbs[d] as number, Math.abs(v[d] as number));
  const sorted = Float64Array.from(maxAbs).sort();
  const med = sorted[Math.floor(dim / 2)] as number;
  const top = sorted[dim - 1] as number;
  stats.standardized = med > 0 && top / med > NEIGHBOR_UNIT_RATIO;
  if (!stats.standardized) return vectors;
  const n = vectors.length;
  const mean = new Float64Array(dim);
  const sd = new Float64Array(dim);
  for (const v of vectors) for (let d = 0; d < dim; d++) mean[d]! += (v[d] as number) / n;
  for (const v of vectors)
    for (let d = 0; d < dim; d++) sd[d]! += ((v[d] as number) - (mean[d] as number)) ** 2 / n;
  for (let d = 0; d < dim; d++) sd[d] = Math.sqrt(sd[d] as number) || 1;
  return vectors.map((v) => v.map((x, d) => (x - (mean[d] as number)) / (sd[d] as number)));
}

function buildFeatureSpace(
  rows: readonly ScanRow[],
  options: NeighborOptions,
  stats: NeighborContext['stats'],
  progress?: (fraction: number) => void,
): { space: NeighborSpace | null; skipped?: string } {
  const n = rows.length;
  // Dimension = most common length.
  const lengths = new Map<number, number>();
  for (const r of rows)
    if (r.features) lengths.set(r.features.length, (lengths.get(r.features.length) ?? 0) + 1);
  let dim = 0;
  let best = 0;
  for (const [len, c] of lengths)
    if (len > 0 && (c > best || (c === best && len < dim))) [dim, best] = [len, c];
  stats.dim = dim;
  if (dim === 0) return { space: null, skipped: 'no row has a feature vector' };
  const metric =
    options.metric === undefined || options.metric === 'auto' ? autoMetric(dim) : options.metric;
  const keep: number[] = [];
  for (let i = 0; i < n; i++) {
    const f = (rows[i] as ScanRow).features;
    if (!f) continue;
    stats.rowsWithFeatures++;
    if (f.length !== dim) {
      stats.skippedWrongLength++;
      continue;
    }
    let ok = true;
    let ss = 0;
    for (let d = 0; d < dim; d++) {
      const x = f[d] as number;
      if (!Number.isFinite(x)) {
        ok = false;
        break;
      }
      ss += x * x;
    }
    if (!ok) stats.skippedNonFinite++;
    else if (metric === 'cosine' && ss === 0) stats.skippedZeroVector++;
    else keep.push(i);
  }
  if (keep.length < 2) return { space: null, skipped: 'fewer than 2 usable feature vectors' };
  const vectors = packVectors(
    scaleColumns(
      keep.map((i) => (rows[i] as ScanRow).features as number[]),
      dim,
      stats,
    ),
    metric,
  );
  const graph = knnGraph(vectors, options.k ?? KNN_K, {
    metric,
    ...(options.maxExact !== undefined ? { maxExact: options.maxExact } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(progress ? { progress } : {}),
  });
  return { space: { kind: 'features', rowIndex: Int32Array.from(keep), vectors, graph } };
}

function buildTextSpace(
  rows: readonly ScanRow[],
  options: NeighborOptions,
  stats: NeighborContext['stats'],
  progress?: (fraction: number) => void,
): { space: NeighborSpace | null; skipped?: string } {
  const keep: number[] = [];
  for (let i = 0; i < rows.length; i++) {
    const t = (rows[i] as ScanRow).text;
    if (t !== undefined && t.length > 0) keep.push(i);
  }
  stats.rowsWithText = keep.length;
  if (keep.length < 2) return { space: null, skipped: 'fewer than 2 rows with text' };
  const F = TEXT_FEATURE_NAMES.length;
  const m = keep.length;
  const raw = new Float64Array(m * F);
  for (let q = 0; q < m; q++)
    textFeatures((rows[keep[q] as number] as ScanRow).text as string, raw, q * F);
  // z-scores; constant features are dropped.
  const used: number[] = [];
  const mean = new Float64Array(F);
  const sd = new Float64Array(F);
  for (let f = 0; f < F; f++) {
    let s = 0;
    for (let q = 0; q < m; q++) s += raw[q * F + f] as number;
    const mu = s / m;
    let v = 0;
    for (let q = 0; q < m; q++) v += ((raw[q * F + f] as number) - mu) ** 2;
    mean[f] = mu;
    sd[f] = Math.sqrt(v / m);
    if ((sd[f] as number) > 1e-12) used.push(f);
  }
  stats.textFeaturesUsed = used.map((f) => TEXT_FEATURE_NAMES[f] as string);
  if (used.length === 0) return { space: null, skipped: 'all texts have the same style features' };
  const dim = used.length;
  const data = new Float32Array(m * dim);
  for (let q = 0; q < m; q++) {
    for (let u = 0; u < dim; u++) {
      const f = used[u] as number;
      data[q * dim + u] = ((raw[q * F + f] as number) - (mean[f] as number)) / (sd[f] as number);
    }
  }
  const vectors: PackedVectors = { n: m, dim, data };
  const graph = knnGraph(vectors, options.k ?? KNN_K, {
    metric: 'euclidean',
    ...(options.maxExact !== undefined ? { maxExact: options.maxExact } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(progress ? { progress } : {}),
  });
  return { space: { kind: 'text', rowIndex: Int32Array.from(keep), vectors, graph } };
}

/**
 * Builds the kNN spaces once so `dup/vector`, `outlier/knn` and `label/knn` can share them
 * (pass the result as `options.context`). `spaces` limits which are built (default both).
 */
export function buildNeighborContext(
  rows: readonly ScanRow[],
  options: NeighborOptions & { spaces?: readonly ('features' | 'text')[] } = {},
  progress?: (fraction: number) => void,
): NeighborContext {
  const spaces = options.spaces ?? ['features', 'text'];
  const stats: NeighborContext['stats'] = {
    rowsWithFeatures: 0,
    dim: 0,
    skippedNonFinite: 0,
    skippedWrongLength: 0,
    skippedZeroVector: 0,
    rowsWithText: 0,
    textFeaturesUsed: [],
  };
  const ctx: NeighborContext = { rows: rows.length, features: null, text: null, stats };
  const both = spaces.includes('features') && spaces.includes('text');
  const part =
    (from: number) =>
    (f: number): void =>
      progress?.(both ? from + f / 2 : f);
  if (spaces.includes('features')) {
    const r = buildFeatureSpace(rows, options, stats, progress && part(0));
    ctx.features = r.space;
    if (r.skipped !== undefined) ctx.featuresSkipped = r.skipped;
  } else ctx.featuresSkipped = 'not built';
  if (spaces.includes('text')) {
    const r = buildTextSpace(rows, options, stats, progress && part(0.5));
    ctx.text = r.space;
    if (r.skipped !== undefined) ctx.textSkipped = r.skipped;
  } else ctx.textSkipped = 'not built';
  progress?.(1);
  return ctx;
}

function contextFor(
  rows: readonly ScanRow[],
  options: NeighborOptions,
  spaces: readonly ('features' | 'text')[],
  progress?: (fraction: number) => void,
): NeighborContext {
  if (options.context) {
    if (options.context.rows !== rows.length) {
      throw new RangeError('neighbour context was built for a different row list');
    }
    return options.context;
  }
  return buildNeighborContext(rows, { ...options, spaces }, progress && ((f) => progress(0.9 * f)));
}

/** Quantile (linear interpolation) of sorted values. */
function quantileSorted(s: Float64Array, q: number): number {
  if (s.length === 0) return NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(s.length - 1, lo + 1);
  return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (pos - lo);
}

function median(values: Float64Array): number {
  return quantileSorted(Float64Array.from(values).sort(), 0.5);
}

function sameVector(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let d = 0; d < a.length; d++) if (a[d] !== b[d]) return false;
  return true;
}

function findRoot(parent: Int32Array, x: number): number {
  while (parent[x] !== x) {
    const g = parent[parent[x] as number] as number;
    parent[x] = g;
    x = g;
  }
  return x;
}

function labelCounts(
  rows: readonly ScanRow[],
  members: readonly number[],
): { label: string | null; count: number }[] {
  const m = new Map<string | null, number>();
  for (const i of members) {
    const l = (rows[i] as ScanRow).label;
    m.set(l, (m.get(l) ?? 0) + 1);
  }
  return [...m.entries()]
    .map(([label, count]) => ({ label, count }))
    .sort((x, y) => y.count - x.count || String(x.label).localeCompare(String(y.label)));
}

function graphSummary(space: NeighborSpace): Record<string, unknown> {
  return {
    rows: space.graph.n,
    dim: space.vectors.dim,
    k: space.graph.k,
    metric: space.graph.metric,
    exact: space.graph.exact,
    ...(space.graph.exact ? {} : { nnDescentRounds: space.graph.rounds }),
  };
}

// ---------------------------------------------------------------------------------------------
// dup/vector

export interface VectorDuplicateOptions extends NeighborOptions {
  /** Near-duplicate limit as a share of the median nearest-neighbour distance. */
  factor?: number;
}

/** The `dup/vector` detector as a plain function. */
export function findVectorDuplicates(
  rows: readonly ScanRow[],
  options: VectorDuplicateOptions = {},
  progress?: (fraction: number) => void,
): DetectorResult {
  const factor = options.factor ?? DUP_VECTOR_FACTOR;
  if (rows.length < 2)
    return { issues: [], summary: { rows: rows.length }, skipped: 'fewer than 2 rows' };
  const ctx = contextFor(rows, options, ['features'], progress);
  const space = ctx.features;
  if (!space) {
    return {
      issues: [],
      summary: { rows: rows.length, ...featureStats(ctx) },
      skipped: ctx.featuresSkipped ?? 'no vectors',
    };
  }
  progress?.(0.9);
  const { graph, rowIndex } = space;
  const { n, k, indices, distances } = graph;
  const nn = new Float64Array(n);
  for (let i = 0; i < n; i++) nn[i] = distances[i * k] as number;
  const medianNN = median(nn);
  const limit = factor * medianNN;
  const parent = new Int32Array(n);
  for (let i = 0; i < n; i++) parent[i] = i;
  const closest = new Float64Array(n).fill(Infinity);
  const closestTo = new Int32Array(n).fill(-1);
  let edges = 0;
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < k; p++) {
      const d = distances[i * k + p] as number;
      if (!(d === 0 || d < limit)) break;
      const j = indices[i * k + p] as number;
      if (j < 0) break;
      edges++;
      const ra = findRoot(parent, i);
      const rb = findRoot(parent, j);
      if (ra < rb) parent[rb] = ra;
      else if (rb < ra) parent[ra] = rb;
      if (d < (closest[i] as number)) {
        closest[i] = d;
        closestTo[i] = j;
      }
      if (d < (closest[j] as number)) {
        closest[j] = d;
        closestTo[j] = i;
      }
    }
  }
  // Clusters by root (lowest graph node = lowest row, since rowIndex ascends).
  const members = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    if (closestTo[i] === -1) continue;
    const r = findRoot(parent, i);
    let list = members.get(r);
    if (!list) members.set(r, (list = []));
    list.push(i);
  }
  const issues: Issue[] = [];
  let cluster = 0;
  let largest = 0;
  let exactCopies = 0;
  for (const [root, list] of [...members.entries()].sort((a, b) => a[0] - b[0])) {
    const rowsOf = list.map((i) => rowIndex[i] as number);
    const labels = labelCounts(rows, rowsOf);
    if (list.length > largest) largest = list.length;
    const rep = rows[rowIndex[root] as number] as ScanRow;
    for (const i of list) {
      if (i === root) continue;
      const row = rows[rowIndex[i] as number] as ScanRow;
      const d = closest[i] as number;
      const other = rows[rowIndex[closestTo[i] as number] as number] as ScanRow;
      const exact = sameVector(row.features as number[], other.features as number[]);
      if (exact) exactCopies++;
      issues.push({
        kind: 'near_duplicate',
        row: row.id,
        score: exact ? 1 : clamp01(0.5 + 0.5 * (limit > 0 ? 1 - d / limit : 1)),
        detail: {
          space: 'features',
          cluster,
          representative: rep.id,
          nearest: other.id,
          distance: Number(d.toPrecision(6)),
          limit: Number(limit.toPrecision(6)),
          exactCopy: exact,
          clusterSize: list.length,
          labels,
          labelDiffersFromRepresentative: row.label !== rep.label,
        },
      });
    }
    cluster++;
  }
  progress?.(1);
  return {
    issues,
    summary: {
      ...graphSummary(space),
      ...featureStats(ctx),
      medianNearestDistance: medianNN,
      limit,
      factor,
      edges,
      clusters: cluster,
      largestCluster: largest,
      rowsFlagged: issues.length,
      exactCopies,
    },
  };
}

export const vectorNearDuplicates: Detector<VectorDuplicateOptions> = {
  id: 'dup/vector',
  meta: {
    kinds: ['near_duplicate'],
    needs: ['features'],
    description:
      'Feature vectors closer than 0.13 × the median nearest-neighbour distance (exact copies ' +
      'included), merged into duplicate sets; every member but the first is flagged.',
  },
  run(rows, options, progress) {
    return findVectorDuplicates(rows, options, progress);
  },
};

// ---------------------------------------------------------------------------------------------
// outlier/knn

export interface OutlierOptions extends NeighborOptions {
  /** Fence = Q3 + iqrMultiplier × IQR (default 1.7; 3 is strict). */
  iqrMultiplier?: number;
}

/** Outliers of one space: the fence and the flagged graph nodes with their scores. */
export interface SpaceOutliers {
  summary: Record<string, unknown>;
  flagged: { node: number; mean: number; score: number }[];
  fence: number;
}

/** Mean kNN distance per graph node. */
export function meanKnnDistances(graph: KnnGraph): Float64Array {
  const { n, k, distances } = graph;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += distances[i * k + p] as number;
    out[i] = k > 0 ? s / k : 0;
  }
  return out;
}

/**
 * The outlier rule on one graph: mean kNN distance m above Q3 + mult × IQR. When the IQR is 0
 * (over half the rows share one mean distance, e.g. duplicates) the standard deviation stands in;
 * when that is 0 too nothing is flagged.
 */
export function knnOutliers(graph: KnnGraph, mult: number): SpaceOutliers {
  const m = meanKnnDistances(graph);
  const sorted = Float64Array.from(m).sort();
  const q1 = quantileSorted(sorted, 0.25);
  const q3 = quantileSorted(sorted, 0.75);
  const med = quantileSorted(sorted, 0.5);
  let scale = q3 - q1;
  if (!(scale > 0)) {
    let mu = 0;
    for (const x of m) mu += x;
    mu /= m.length;
    let v = 0;
    for (const x of m) v += (x - mu) ** 2;
    scale = Math.sqrt(v / m.length);
  }
  const fence = q3 + mult * (q3 - q1 > 0 ? q3 - q1 : scale);
  const flagged: SpaceOutliers['flagged'] = [];
  if (scale > 0) {
    for (let i = 0; i < m.length; i++) {
      const x = m[i] as number;
      if (x > fence)
        flagged.push({
          node: i,
          mean: x,
          score: clamp01(0.5 + 0.5 * (1 - Math.exp(-(x - fence) / scale))),
        });
    }
  }
  return {
    fence,
    flagged,
    summary: { q1, median: med, q3, iqr: q3 - q1, fence, rowsFlagged: flagged.length },
  };
}

/** The `outlier/knn` detector as a plain function. */
export function findKnnOutliers(
  rows: readonly ScanRow[],
  options: OutlierOptions = {},
  progress?: (fraction: number) => void,
): DetectorResult {
  const mult = options.iqrMultiplier ?? OUTLIER_IQR_MULTIPLIER;
  if (rows.length < OUTLIER_MIN_ROWS) {
    return {
      issues: [],
      summary: { rows: rows.length },
      skipped: `fewer than ${OUTLIER_MIN_ROWS} rows`,
    };
  }
  const ctx = contextFor(rows, options, ['features', 'text'], progress);
  progress?.(0.9);
  const summary: Record<string, unknown> = { rows: rows.length, iqrMultiplier: mult, ...ctx.stats };
  const perRow = new Map<number, { score: number; detail: Record<string, unknown> }>();
  let spacesRun = 0;
  const reasons: string[] = [];
  for (const space of [ctx.features, ctx.text]) {
    if (!space) continue;
    if (space.graph.n < OUTLIER_MIN_ROWS) {
      reasons.push(`${space.kind}: fewer than ${OUTLIER_MIN_ROWS} rows`);
      continue;
    }
    spacesRun++;
    const res = knnOutliers(space.graph, mult);
    summary[space.kind] = { ...graphSummary(space), ...res.summary };
    for (const f of res.flagged) {
      const row = space.rowIndex[f.node] as number;
      let entry = perRow.get(row);
      if (!entry) perRow.set(row, (entry = { score: 0, detail: {} }));
      entry.score = Math.max(entry.score, f.score);
      entry.detail[space.kind] = {
        meanKnnDistance: Number(f.mean.toPrecision(6)),
        fence: Number(res.fence.toPrecision(6)),
        score: Number(f.score.toFixed(4)),
      };
    }
  }
  if (spacesRun === 0) {
    const why = [
      ctx.features ? null : `features: ${ctx.featuresSkipped ?? 'none'}`,
      ctx.text ? null : `text: ${ctx.textSkipped ?? 'none'}`,
      ...reasons,
    ].filter((x): x is string => x !== null);
    return { issues: [], summary, skipped: why.join('; ') };
  }
  const issues: Issue[] = [...perRow.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([row, e]) => ({
      kind: 'outlier' as const,
      row: (rows[row] as ScanRow).id,
      score: e.score,
      detail: {
        space: Object.keys(e.detail).length > 1 ? 'both' : Object.keys(e.detail)[0],
        ...e.detail,
      },
    }));
  summary.rowsFlagged = issues.length;
  progress?.(1);
  return { issues, summary };
}

export const knnOutlierDetector: Detector<OutlierOptions> = {
  id: 'outlier/knn',
  meta: {
    kinds: ['outlier'],
    needs: ['features', 'text'],
    description:
      'Rows whose mean distance to their 10 nearest neighbours exceeds Q3 + 1.7 × IQR, on ' +
      'feature vectors and on standardised text-style features (length, character shares, ' +
      'token length and diversity). A permissive review queue.',
  },
  run(rows, options, progress) {
    return findKnnOutliers(rows, options, progress);
  },
};

// ---------------------------------------------------------------------------------------------
// label/knn

export interface LabelKnnOptions extends NeighborOptions {
  /** Fewest labelled neighbours for a vote (default `LABEL_KNN_MIN_VOTES`). */
  minVotes?: number;
}

/** The `label/knn` detector as a plain function. */
export function findKnnLabelIssues(
  rows: readonly ScanRow[],
  options: LabelKnnOptions = {},
  progress?: (fraction: number) => void,
): DetectorResult {
  const minVotes = options.minVotes ?? LABEL_KNN_MIN_VOTES;
  const classes = new Set<string>();
  for (const r of rows) if (r.label !== null) classes.add(r.label);
  const base = { rows: rows.length, classes: classes.size };
  if (classes.size === 0) return { issues: [], summary: base, skipped: 'no labels' };
  if (classes.size < 2) return { issues: [], summary: base, skipped: 'fewer than 2 classes' };
  if (rows.length < 4) return { issues: [], summary: base, skipped: 'fewer than 4 rows' };
  const ctx = contextFor(rows, options, ['features'], progress);
  const space = ctx.features;
  if (!space) {
    return {
      issues: [],
      summary: { ...base, ...featureStats(ctx) },
      skipped: ctx.featuresSkipped ?? 'no vectors',
    };
  }
  progress?.(0.9);
  const { graph, rowIndex } = space;
  const { n, k, indices, distances } = graph;
  const all = new Float64Array(n * k);
  for (let e = 0; e < n * k; e++) all[e] = distances[e] as number;
  const scale = median(all);
  const votes = new Map<string, number>();
  const issues: Issue[] = [];
  let judged = 0;
  const flaggedByLabel = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const row = rows[rowIndex[i] as number] as ScanRow;
    if (row.label === null) continue;
    votes.clear();
    let total = 0;
    let count = 0;
    for (let p = 0; p < k; p++) {
      const j = indices[i * k + p] as number;
      if (j < 0) continue;
      const l = (rows[rowIndex[j] as number] as ScanRow).label;
      if (l === null) continue;
      const d = distances[i * k + p] as number;
      const w = scale > 0 ? 1 / (1 + d / scale) : 1;
      votes.set(l, (votes.get(l) ?? 0) + w);
      total += w;
      count++;
    }
    if (count < minVotes || total <= 0) continue;
    judged++;
    let top: string | null = null;
    let topW = -1;
    for (const [l, w] of votes) {
      if (w > topW || (w === topW && l === row.label)) {
        top = l;
        topW = w;
      }
    }
    const own = votes.get(row.label) ?? 0;
    if (top === row.label || own >= topW) continue;
    const against = 1 - own / total;
    if (against < KNN_LABEL_MIN_AGAINST) continue;
    flaggedByLabel.set(row.label, (flaggedByLabel.get(row.label) ?? 0) + 1);
    issues.push({
      kind: 'label',
      row: row.id,
      score: clamp01(against),
      detail: {
        check: 'knn-consistency',
        label: row.label,
        neighbourLabel: top,
        shareAgainst: Number(against.toFixed(4)),
        votes: Object.fromEntries(
          [...votes.entries()].map(([l, w]) => [l, Number((w / total).toFixed(4))]),
        ),
        labelledNeighbours: count,
      },
    });
  }
  progress?.(1);
  return {
    issues,
    summary: {
      ...base,
      ...graphSummary(space),
      ...featureStats(ctx),
      rowsJudged: judged,
      rowsFlagged: issues.length,
      flaggedByLabel: Object.fromEntries(flaggedByLabel),
      distanceScale: scale,
    },
  };
}

export const knnLabelDetector: Detector<LabelKnnOptions> = {
  id: 'label/knn',
  meta: {
    kinds: ['label'],
    needs: ['labels', 'features'],
    description:
      'Rows whose label disagrees with the distance-weighted plurality of their 10 nearest ' +
      'neighbours (Deep k-NN defence): the main signal against clean-label poisons; depends on ' +
      'embedding quality.',
  },
  run(rows, options, progress) {
    return findKnnLabelIssues(rows, options, progress);
  },
};
