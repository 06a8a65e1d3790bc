import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  MerkleTree,
  emptyRoot,
  leafHash,
  nodeHash,
  verifyConsistency,
  verifyInclusion,
} from './merkle.js';

const VECTORS = join(import.meta.dirname, '../../test/fixtures/merkle/testdata');
const b64 = (s: string): Buffer => Buffer.from(s, 'base64');

function vectorFiles(kind: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.json')) out.push(p);
    }
  };
  walk(join(VECTORS, kind));
  return out.sort();
}

interface InclusionCase {
  leafIdx: number;
  treeSize: number;
  root: string | null;
  leafHash: string | null;
  proof: string[] | null;
  wantErr: boolean;
}
interface ConsistencyCase {
  size1: number;
  size2: number;
  root1: string | null;
  root2: string | null;
  proof: string[] | null;
  wantErr: boolean;
}

describe('RFC 9162 reference vectors (transparency-dev/merkle)', () => {
  const inclusion = vectorFiles('inclusion');
  const consistency = vectorFiles('consistency');
  it('has the vectors', () => {
    expect(inclusion.length).toBeGreaterThan(50);
    expect(consistency.length).toBeGreaterThan(50);
  });
  it.each(inclusion)('inclusion %s', (file) => {
    const c = JSON.parse(readFileSync(file, 'utf8')) as InclusionCase;
    const ok = verifyInclusion(
      c.leafIdx,
      c.treeSize,
      b64(c.leafHash ?? ''),
      (c.proof ?? []).map(b64),
      b64(c.root ?? ''),
    );
    expect(ok).toBe(!c.wantErr);
  });
  it.each(consistency)('consistency %s', (file) => {
    const c = JSON.parse(readFileSync(file, 'utf8')) as ConsistencyCase;
    const ok = verifyConsistency(
      c.size1,
      c.size2,
      b64(c.root1 ?? ''),
      b64(c.root2 ?? ''),
      (c.proof ?? []).map(b64),
    );
    expect(ok).toBe(!c.wantErr);
  });
});

/** The RFC's recursive definition, written as plainly as possible, as an oracle. */
function referenceRoot(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return emptyRoot();
  if (leaves.length === 1) return leafHash(leaves[0]!);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  const l = referenceRoot(leaves.slice(0, k));
  const r = referenceRoot(leaves.slice(k));
  return nodeHash(l, r);
}

describe('MerkleTree', () => {
  const leaves = Array.from({ length: 70 }, (_, i) => Buffer.from(`leaf-${i}`));

  it('matches the recursive definition for every size up to 70', () => {
    for (let n = 0; n <= 70; n++) {
      const tree = MerkleTree.fromLeaves(leaves.slice(0, n));
      expect(tree.root().toString('hex')).toBe(referenceRoot(leaves.slice(0, n)).toString('hex'));
    }
  });

  it('proves and checks inclusion of every leaf, and rejects a tampered leaf', () => {
    for (let n = 1; n <= 70; n++) {
      const tree = MerkleTree.fromLeaves(leaves.slice(0, n));
      const root = tree.root();
      for (let i = 0; i < n; i++) {
        const proof = tree.inclusionProof(i);
        expect(verifyInclusion(i, n, tree.leafHash(i), proof, root)).toBe(true);
        expect(verifyInclusion(i, n, leafHash(Buffer.from('forged')), proof, root)).toBe(false);
        if (n > 1)
          expect(verifyInclusion((i + 1) % n, n, tree.leafHash(i), proof, root)).toBe(false);
      }
    }
  });

  it('proves consistency for every pair of sizes, and rejects a rewritten prefix', () => {
    for (let n = 1; n <= 40; n++) {
      const big = MerkleTree.fromLeaves(leaves.slice(0, n));
      for (let m = 1; m <= n; m++) {
        const small = MerkleTree.fromLeaves(leaves.slice(0, m));
        const proof = big.consistencyProof(m);
        expect(verifyConsistency(m, n, small.root(), big.root(), proof)).toBe(true);
        if (m < n) {
          const rewritten = leaves.slice(0, m);
          rewritten[0] = Buffer.from('rewritten');
          const forged = MerkleTree.fromLeaves(rewritten).root();
          expect(verifyConsistency(m, n, forged, big.root(), proof)).toBe(false);
        }
      }
    }
  });

  it('hashes the empty tree to SHA-256 of nothing', () => {
    expect(MerkleTree.fromLeaves([]).root().toString('hex')).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });
});
