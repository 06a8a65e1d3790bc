import { createHash } from 'node:crypto';
import { CordonError } from './errors.js';

/**
 * Merkle trees as RFC 9162 (Certificate Transparency v2) defines them:
 * leaf hash = SHA-256(0x00 ‖ data), node hash = SHA-256(0x01 ‖ left ‖ right), a tree of n
 * leaves splits at the largest power of two below n, the empty tree hashes to SHA-256("").
 * Used for snapshot manifests (one leaf per record) and for the audit log.
 *
 * Sizes and indices are plain numbers and use arithmetic, not 32-bit bit operations, so trees
 * up to 2^53 leaves are handled.
 */

export const HASH_SIZE = 32;
const LEAF_PREFIX = Buffer.from([0]);
const NODE_PREFIX = Buffer.from([1]);

export function leafHash(data: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(data).digest();
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

export function emptyRoot(): Buffer {
  return createHash('sha256').digest();
}

/** Largest power of two strictly below n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  let k = 1;
  while (k < n) k *= 2;
  return k === n;
}

const isOdd = (x: number): boolean => x % 2 === 1;
const half = (x: number): number => Math.floor(x / 2);

/**
 * A complete tree over a fixed list of leaf hashes, every level kept in one contiguous buffer
 * (2n hashes in all). Pairing each level left to right and carrying an odd last node up
 * unchanged yields exactly the RFC 9162 tree.
 */
export class MerkleTree {
  private readonly levels: Buffer[];
  readonly size: number;

  private constructor(levels: Buffer[], size: number) {
    this.levels = levels;
    this.size = size;
  }

  /** `leafHashes` holds size × 32 bytes: leaf i at [32i, 32i + 32). */
  static fromLeafHashes(leafHashes: Buffer): MerkleTree {
    if (leafHashes.length % HASH_SIZE !== 0) {
      throw new CordonError('INTERNAL', 'leaf hash buffer is not a multiple of 32 bytes');
    }
    const size = leafHashes.length / HASH_SIZE;
    const levels = [leafHashes];
    let level = leafHashes;
    let count = size;
    while (count > 1) {
      const nextCount = Math.ceil(count / 2);
      const next = Buffer.allocUnsafe(nextCount * HASH_SIZE);
      for (let i = 0; i + 1 < count; i += 2) {
        createHash('sha256')
          .update(NODE_PREFIX)
          .update(level.subarray(i * HASH_SIZE, (i + 2) * HASH_SIZE))
          .digest()
          .copy(next, (i / 2) * HASH_SIZE);
      }
      if (isOdd(count)) {
        level.copy(next, (nextCount - 1) * HASH_SIZE, (count - 1) * HASH_SIZE, count * HASH_SIZE);
      }
      levels.push(next);
      level = next;
      count = nextCount;
    }
    return new MerkleTree(levels, size);
  }

  static fromLeaves(leaves: Uint8Array[]): MerkleTree {
    const buf = Buffer.allocUnsafe(leaves.length * HASH_SIZE);
    leaves.forEach((leaf, i) => leafHash(leaf).copy(buf, i * HASH_SIZE));
    return MerkleTree.fromLeafHashes(buf);
  }

  root(): Buffer {
    if (this.size === 0) return emptyRoot();
    const top = this.levels[this.levels.length - 1]!;
    return Buffer.from(top.subarray(0, HASH_SIZE));
  }

  leafHash(index: number): Buffer {
    this.checkIndex(index);
    return Buffer.from(this.levels[0]!.subarray(index * HASH_SIZE, (index + 1) * HASH_SIZE));
  }

  /** RFC 9162 §2.1.3.1 audit path for leaf `index`, leaf to root. */
  inclusionProof(index: number): Buffer[] {
    this.checkIndex(index);
    const proof: Buffer[] = [];
    let idx = index;
    let count = this.size;
    for (let l = 0; count > 1; l++) {
      const sibling = isOdd(idx) ? idx - 1 : idx + 1;
      if (sibling < count) {
        const level = this.levels[l]!;
        proof.push(Buffer.from(level.subarray(sibling * HASH_SIZE, (sibling + 1) * HASH_SIZE)));
      }
      idx = half(idx);
      count = Math.ceil(count / 2);
    }
    return proof;
  }

  /** RFC 9162 §2.1.4.1 consistency proof between the first `m` leaves and the whole tree. */
  consistencyProof(m: number): Buffer[] {
    if (!Number.isInteger(m) || m < 0 || m > this.size) {
      throw new CordonError('INTERNAL', `consistency proof size ${m} outside 0..${this.size}`);
    }
    if (m === 0 || m === this.size) return [];
    return this.subproof(m, 0, this.size, true);
  }

  private subproof(m: number, lo: number, hi: number, complete: boolean): Buffer[] {
    const n = hi - lo;
    if (m === n) return complete ? [] : [this.rangeHash(lo, hi)];
    const k = splitPoint(n);
    if (m <= k) return [...this.subproof(m, lo, lo + k, complete), this.rangeHash(lo + k, hi)];
    return [...this.subproof(m - k, lo + k, hi, false), this.rangeHash(lo, lo + k)];
  }

  /** MTH of leaves [lo, hi). Left-aligned power-of-two ranges are read from the stored levels. */
  private rangeHash(lo: number, hi: number): Buffer {
    const n = hi - lo;
    if (n === 1) return this.leafHash(lo);
    let level = 0;
    let width = 1;
    while (width < n) {
      width *= 2;
      level++;
    }
    if (width === n && lo % width === 0) {
      const at = lo / width;
      return Buffer.from(this.levels[level]!.subarray(at * HASH_SIZE, (at + 1) * HASH_SIZE));
    }
    const k = splitPoint(n);
    return nodeHash(this.rangeHash(lo, lo + k), this.rangeHash(lo + k, hi));
  }

  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      throw new CordonError('INTERNAL', `leaf index ${index} outside 0..${this.size - 1}`);
    }
  }
}

/** RFC 9162 §2.1.3.2: does `proof` place `leaf` (a leaf hash) at `index` in a tree with `root`? */
export function verifyInclusion(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!Number.isInteger(index) || !Number.isInteger(size) || index < 0 || index >= size) {
    return false;
  }
  if (leaf.length !== HASH_SIZE || root.length !== HASH_SIZE) return false;
  let fn = index;
  let sn = size - 1;
  let r: Uint8Array = leaf;
  for (const p of proof) {
    if (p.length !== HASH_SIZE || sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && Buffer.compare(Buffer.from(r), Buffer.from(root)) === 0;
}

/** RFC 9162 §2.1.4.2: is the tree of `size2` leaves with `root2` an extension of (`size1`, `root1`)? */
export function verifyConsistency(
  size1: number,
  size2: number,
  root1: Uint8Array,
  root2: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!Number.isInteger(size1) || !Number.isInteger(size2) || size1 < 0 || size2 < size1) {
    return false;
  }
  const eq = (a: Uint8Array, b: Uint8Array): boolean =>
    a.length === b.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
  // Every tree extends the empty tree: such a "proof" proves nothing, so it is refused.
  if (size1 === 0) return false;
  if (size1 === size2) return proof.length === 0 && eq(root1, root2);
  if (root1.length !== HASH_SIZE || root2.length !== HASH_SIZE) return false;
  if (proof.length === 0 || proof.some((p) => p.length !== HASH_SIZE)) return false;

  const path: Uint8Array[] = [...proof];
  // When size1 is a power of two, the old root is itself a node of the new tree.
  if (isPowerOfTwo(size1)) path.unshift(root1);

  let fn = size1 - 1;
  let sn = size2 - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr: Uint8Array = path[0]!;
  let sr: Uint8Array = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return eq(fr, root1) && eq(sr, root2) && sn === 0;
}
