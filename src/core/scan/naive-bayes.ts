/**
 * Multinomial naive Bayes over bags of token ids, with Laplace (add-alpha) smoothing.
 *
 * The scan engine's cheap confirmation model. Training is one counting pass (closed form), so a
 * model "trained without" some rows and some features is derived from the full model by
 * subtracting those rows' counts and dropping those features' counts, in time proportional to the
 * rows left out, not to the data set (`predictLeftOut`, `predictLeaveOneOut`). This is what makes
 * leave-pattern-out confirmation of thousands of trigger candidates affordable.
 *
 * Bags are given in CSR form (row r owns ids[offsets[r]] .. ids[offsets[r + 1] - 1]). Ids are
 * either dense in [0, numFeatures) or, with `mask`, 32-bit hashes reduced with `id & mask`
 * (numFeatures = mask + 1). With `binary` a feature counts once per row however often it occurs
 * ("binarized" multinomial NB, steadier on long repetitive texts); otherwise repeats count.
 */

/** Add-one (Laplace) smoothing: the textbook default; smaller values trust rare counts more. */
export const DEFAULT_NB_ALPHA = 1;

/** Bags of ids in CSR form: row r owns ids[offsets[r]] .. ids[offsets[r + 1] - 1]. */
export interface Bags {
  offsets: Int32Array;
  ids: Int32Array | Uint32Array;
}

export interface NaiveBayesOptions {
  /** Number of classes; labels are 0 .. numClasses - 1, and -1 marks an unlabelled row. */
  numClasses: number;
  /** Dense feature ids: ids must lie in [0, numFeatures). Give this or `mask`. */
  numFeatures?: number;
  /** Hashed ids: feature = id & mask, mask = 2^b - 1 (b ≤ 24). Give this or `numFeatures`. */
  mask?: number;
  /** Smoothing pseudo-count (> 0). */
  alpha?: number;
  /** Count each feature at most once per row. */
  binary?: boolean;
  /** Rows left out of training (indices into the bags). */
  excludedRows?: ArrayLike<number>;
  /** Feature ids (masked when hashed) dropped from the vocabulary: they neither train nor predict. */
  excludedFeatures?: ArrayLike<number>;
}

/** A trained model. Counts are kept (not just log-probabilities) so rows can be subtracted. */
export class MultinomialNB {
  readonly numClasses: number;
  readonly numFeatures: number;
  readonly alpha: number;
  readonly binary: boolean;
  private readonly mask: number;
  /** counts[c * F + f]: occurrences of feature f in training rows of class c. */
  private readonly counts: Float64Array;
  /** Feature occurrences (kept features) per class. */
  private readonly totals: Float64Array;
  /** Training rows per class. */
  private readonly docs: Float64Array;
  /** 1 for features dropped from the vocabulary. */
  private readonly excluded: Uint8Array;
  /** Features with a non-zero count in some class (the smoothing vocabulary). */
  private vocab = 0;
  /** log(counts + alpha), filled lazily. */
  private logNum: Float32Array | null = null;
  // Scratch space, restored after each call: per-call feature marks, a row's features, deltas.
  private readonly mark: Int32Array;
  private stamp = 0;
  private rowBuf = new Int32Array(256);
  private delta: Float64Array | null = null;
  private readonly touch: Int32Array;
  private touchStamp = 0;

  private constructor(K: number, F: number, mask: number, alpha: number, binary: boolean) {
    this.numClasses = K;
    this.numFeatures = F;
    this.mask = mask;
    this.alpha = alpha;
    this.binary = binary;
    this.counts = new Float64Array(K * F);
    this.totals = new Float64Array(K);
    this.docs = new Float64Array(K);
    this.excluded = new Uint8Array(F);
    this.mark = new Int32Array(F);
    this.touch = new Int32Array(F);
  }

  /** Trains on every labelled row of `bags` except `excludedRows`, without `excludedFeatures`. */
  static train(bags: Bags, labels: Int32Array, options: NaiveBayesOptions): MultinomialNB {
    const K = options.numClasses;
    if (!Number.isInteger(K) || K < 1)
      throw new RangeError('numClasses must be a positive integer');
    let F: number;
    let mask: number;
    if (options.mask !== undefined) {
      mask = options.mask;
      if (!Number.isInteger(mask) || mask < 0 || mask > 0xffffff || (mask & (mask + 1)) !== 0) {
        throw new RangeError('mask must be 2^b - 1 with b ≤ 24');
      }
      F = mask + 1;
    } else if (options.numFeatures !== undefined) {
      F = options.numFeatures;
      if (!Number.isInteger(F) || F < 1) throw new RangeError('numFeatures must be ≥ 1');
      mask = -1;
    } else {
      throw new RangeError('give numFeatures or mask');
    }
    const alpha = options.alpha ?? DEFAULT_NB_ALPHA;
    if (!(alpha > 0)) throw new RangeError('alpha must be > 0');
    const rows = bags.offsets.length - 1;
    if (labels.length < rows) throw new RangeError('labels shorter than bags');
    const m = new MultinomialNB(K, F, mask, alpha, options.binary ?? false);
    if (options.excludedFeatures) {
      for (let i = 0; i < options.excludedFeatures.length; i++) {
        m.excluded[m.feature(options.excludedFeatures[i] ?? 0)] = 1;
      }
    }
    let skipRow: Uint8Array | null = null;
    if (options.excludedRows && options.excludedRows.length > 0) {
      skipRow = new Uint8Array(rows);
      for (let i = 0; i < options.excludedRows.length; i++)
        skipRow[options.excludedRows[i] ?? 0] = 1;
    }
    const { counts, totals, docs } = m;
    for (let r = 0; r < rows; r++) {
      const c = labels[r] ?? -1;
      if (c < 0 || (skipRow !== null && skipRow[r] === 1)) continue;
      if (c >= K) throw new RangeError(`label ${c} out of range`);
      docs[c]!++;
      const n = m.rowFeatures(bags, r, 0);
      const buf = m.rowBuf;
      const base = c * F;
      for (let i = 0; i < n; i++) counts[base + buf[i]!]!++;
      totals[c]! += n;
    }
    for (let f = 0; f < F; f++) {
      for (let c = 0; c < K; c++) {
        if ((counts[c * F + f] ?? 0) > 0) {
          m.vocab++;
          break;
        }
      }
    }
    return m;
  }

  /** The feature index of an id (masked when the model uses hashed ids). */
  feature(id: number): number {
    if (this.mask >= 0) return id & this.mask;
    if (id < 0 || id >= this.numFeatures || !Number.isInteger(id)) {
      throw new RangeError(`feature id ${id} out of range`);
    }
    return id;
  }

  /** Training rows seen per class. */
  classDocs(): Float64Array {
    return this.docs.slice();
  }

  /**
   * Writes row r's kept features (not excluded, not marked with `drop`, once each when binary)
   * into rowBuf and returns how many. Uses a fresh stamp for the per-row dedupe.
   */
  private rowFeatures(bags: Bags, r: number, drop: number): number {
    const start = bags.offsets[r] ?? 0;
    const end = bags.offsets[r + 1] ?? 0;
    if (this.rowBuf.length < end - start) this.rowBuf = new Int32Array(end - start);
    const buf = this.rowBuf;
    const mark = this.mark;
    const stamp = this.binary ? this.nextStamp() : 0;
    let n = 0;
    for (let k = start; k < end; k++) {
      const f = this.feature(bags.ids[k] ?? 0);
      if (this.excluded[f] === 1) continue;
      const mf = mark[f] ?? 0;
      if (drop !== 0 && mf === drop) continue;
      if (this.binary) {
        if (mf === stamp) continue;
        mark[f] = stamp;
      }
      buf[n++] = f;
    }
    return n;
  }

  /** A positive stamp no mark holds yet (marks are cleared on wrap-around). */
  private nextStamp(): number {
    if (this.stamp >= 0x3ffffffe) {
      this.mark.fill(0);
      this.stamp = 0;
    }
    return ++this.stamp;
  }

  private logNumerators(): Float32Array {
    if (this.logNum) return this.logNum;
    const t = new Float32Array(this.counts.length);
    for (let i = 0; i < t.length; i++) t[i] = Math.log((this.counts[i] ?? 0) + this.alpha);
    this.logNum = t;
    return t;
  }

  /**
   * Log joint scores (up to a shared constant) of ids[start..end) into `out` (length ≥ K).
   * Classes with no training rows score -Infinity.
   */
  logScores(ids: ArrayLike<number>, out: Float64Array, start = 0, end = ids.length): Float64Array {
    const bags: Bags = {
      offsets: Int32Array.of(start, end),
      ids: Int32Array.from(ids),
    };
    const n = this.rowFeatures(bags, 0, 0);
    const buf = this.rowBuf;
    const K = this.numClasses;
    const F = this.numFeatures;
    const ln = this.logNumerators();
    const V = Math.max(1, this.vocab);
    for (let c = 0; c < K; c++) {
      const d = this.docs[c] ?? 0;
      if (d <= 0) {
        out[c] = -Infinity;
        continue;
      }
      const denom = Math.log((this.totals[c] ?? 0) + this.alpha * V);
      let s = Math.log(d);
      const base = c * F;
      for (let i = 0; i < n; i++) s += (ln[base + buf[i]!] ?? 0) - denom;
      out[c] = s;
    }
    return out;
  }

  /** The most probable class of ids[start..end) (ties → the lower class index); -1 if untrained. */
  predict(ids: ArrayLike<number>, start = 0, end = ids.length): number {
    return argmax(this.logScores(ids, new Float64Array(this.numClasses), start, end));
  }

  /**
   * Predicts rows of `bags` with the model as it would be if trained without `leftOutRows` and
   * without `excludedFeatures` (in addition to whatever this model already excludes), without
   * retraining: the left-out rows' counts are subtracted in scratch space, used, and restored.
   * Cost: O(ids of leftOutRows + ids of predictRows) × K.
   *
   * `leftOutRows` must be distinct rows that this model was trained on (labelled, not excluded)
   * or unlabelled rows (ignored). With `keepPriors`, class priors stay those of the full model
   * (only the likelihoods lose the rows), so leaving out most of one class's rows does not by
   * itself push predictions away from that class. Returns the predicted class per entry of
   * `predictRows` (-1 when no class has training rows left).
   */
  predictLeftOut(
    bags: Bags,
    labels: Int32Array,
    leftOutRows: ArrayLike<number>,
    excludedFeatures: ArrayLike<number>,
    predictRows: ArrayLike<number>,
    out: Int32Array = new Int32Array(predictRows.length),
    keepPriors = false,
  ): Int32Array {
    const K = this.numClasses;
    const F = this.numFeatures;
    const delta = (this.delta ??= new Float64Array(K * F));
    const drop = -this.nextStamp();
    const dTotals = new Float64Array(K);
    const dDocs = new Float64Array(K);
    let vocab = this.vocab;
    // Features dropped for this call: their counts leave the totals and the vocabulary.
    const dropped = this.dropFeatures(excludedFeatures, drop, dTotals);
    vocab -= dropped.seen;
    // Subtract the left-out rows.
    const touched: number[] = [];
    if (this.touchStamp >= 0x3ffffffe) {
      this.touch.fill(0);
      this.touchStamp = 0;
    }
    const ts = ++this.touchStamp;
    const touch = this.touch;
    for (let i = 0; i < leftOutRows.length; i++) {
      const r = leftOutRows[i] ?? 0;
      const c = labels[r] ?? -1;
      if (c < 0) continue;
      dDocs[c]!++;
      const n = this.rowFeatures(bags, r, drop);
      const buf = this.rowBuf;
      const base = c * F;
      for (let j = 0; j < n; j++) {
        const f = buf[j]!;
        if (touch[f] !== ts) {
          touch[f] = ts;
          touched.push(f);
        }
        delta[base + f]!++;
      }
      dTotals[c]! += n;
    }
    // Features whose every count was left out leave the vocabulary.
    for (const f of touched) {
      let wasSeen = false;
      let left = false;
      for (let c = 0; c < K; c++) {
        const n = this.counts[c * F + f] ?? 0;
        if (n > 0) wasSeen = true;
        if (n - (delta[c * F + f] ?? 0) > 0) left = true;
      }
      if (wasSeen && !left) vocab--;
    }
    const V = Math.max(1, vocab);
    const ln = this.logNumerators();
    const alpha = this.alpha;
    const logPrior = new Float64Array(K);
    const denom = new Float64Array(K);
    for (let c = 0; c < K; c++) {
      const d = (this.docs[c] ?? 0) - (dDocs[c] ?? 0);
      // A class left with no rows has no likelihoods to speak of, whatever its prior.
      logPrior[c] = d > 0 ? Math.log(keepPriors ? (this.docs[c] ?? 0) : d) : -Infinity;
      denom[c] = Math.log(Math.max(0, (this.totals[c] ?? 0) - (dTotals[c] ?? 0)) + alpha * V);
    }
    const sc = new Float64Array(K);
    for (let i = 0; i < predictRows.length; i++) {
      const n = this.rowFeatures(bags, predictRows[i] ?? 0, drop);
      const buf = this.rowBuf;
      for (let c = 0; c < K; c++) {
        const lp = logPrior[c] ?? -Infinity;
        if (lp === -Infinity) {
          sc[c] = lp;
          continue;
        }
        const base = c * F;
        const dn = denom[c] ?? 0;
        let s = lp;
        for (let j = 0; j < n; j++) {
          const f = buf[j]!;
          const d = delta[base + f] ?? 0;
          s +=
            (d === 0 ? (ln[base + f] ?? 0) : Math.log((this.counts[base + f] ?? 0) - d + alpha)) -
            dn;
        }
        sc[c] = s;
      }
      out[i] = argmax(sc);
    }
    // Restore the scratch space.
    for (const f of touched) {
      for (let c = 0; c < K; c++) delta[c * F + f] = 0;
    }
    for (const f of dropped.list) this.mark[f] = 0;
    return out;
  }

  /**
   * Leave-one-out predictions: each of `predictRows` is predicted by the model as it would be if
   * trained without that one row, and without `excludedFeatures` for all rows. Closed form: the
   * row's own counts are subtracted on the fly (the smoothing vocabulary is kept as trained, less
   * the excluded features). Cost: O(ids of predictRows + excluded features) × K.
   * Rows must have been trained on (labelled, not excluded) or be unlabelled (predicted as is).
   */
  predictLeaveOneOut(
    bags: Bags,
    labels: Int32Array,
    excludedFeatures: ArrayLike<number>,
    predictRows: ArrayLike<number>,
    out: Int32Array = new Int32Array(predictRows.length),
  ): Int32Array {
    const K = this.numClasses;
    const F = this.numFeatures;
    const own = (this.delta ??= new Float64Array(K * F)); // the first F entries: the row's counts
    const drop = -this.nextStamp();
    const dTotals = new Float64Array(K);
    const dropped = this.dropFeatures(excludedFeatures, drop, dTotals);
    const V = Math.max(1, this.vocab - dropped.seen);
    const ln = this.logNumerators();
    const alpha = this.alpha;
    const sc = new Float64Array(K);
    for (let i = 0; i < predictRows.length; i++) {
      const r = predictRows[i] ?? 0;
      const y = labels[r] ?? -1;
      const n = this.rowFeatures(bags, r, drop);
      const buf = this.rowBuf;
      if (y >= 0) for (let j = 0; j < n; j++) own[buf[j]!]!++;
      for (let c = 0; c < K; c++) {
        const d = (this.docs[c] ?? 0) - (c === y ? 1 : 0);
        if (d <= 0) {
          sc[c] = -Infinity;
          continue;
        }
        const tot = (this.totals[c] ?? 0) - (dTotals[c] ?? 0) - (c === y ? n : 0);
        const dn = Math.log(Math.max(0, tot) + alpha * V);
        const base = c * F;
        let s = Math.log(d);
        if (c === y) {
          for (let j = 0; j < n; j++) {
            const f = buf[j]!;
            s += Math.log((this.counts[base + f] ?? 0) - (own[f] ?? 0) + alpha) - dn;
          }
        } else {
          for (let j = 0; j < n; j++) s += (ln[base + buf[j]!] ?? 0) - dn;
        }
        sc[c] = s;
      }
      if (y >= 0) for (let j = 0; j < n; j++) own[buf[j]!] = 0;
      out[i] = argmax(sc);
    }
    for (const f of dropped.list) this.mark[f] = 0;
    return out;
  }

  /** Marks features to drop with `drop`, adds their counts to dTotals; returns them and how many were in the vocabulary. */
  private dropFeatures(
    excludedFeatures: ArrayLike<number>,
    drop: number,
    dTotals: Float64Array,
  ): { list: number[]; seen: number } {
    const K = this.numClasses;
    const F = this.numFeatures;
    const list: number[] = [];
    let seen = 0;
    for (let i = 0; i < excludedFeatures.length; i++) {
      const f = this.feature(excludedFeatures[i] ?? 0);
      if (this.excluded[f] === 1 || this.mark[f] === drop) continue;
      this.mark[f] = drop;
      list.push(f);
      let any = false;
      for (let c = 0; c < K; c++) {
        const n = this.counts[c * F + f] ?? 0;
        if (n > 0) any = true;
        dTotals[c]! += n;
      }
      if (any) seen++;
    }
    return { list, seen };
  }
}

/** Index of the largest finite entry (first on ties), or -1 if none is finite. */
function argmax(a: Float64Array): number {
  let best = -1;
  let bv = -Infinity;
  for (let c = 0; c < a.length; c++) {
    const v = a[c] ?? -Infinity;
    if (v > bv) {
      bv = v;
      best = c;
    }
  }
  return best;
}
