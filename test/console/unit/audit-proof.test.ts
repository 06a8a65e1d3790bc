import { describe, expect, it } from 'vitest';
import {
  canonicalFlatJson,
  checkProof,
  eventLeafBytes,
  fromHex,
  leafHash,
  rootFromPath,
  toHex,
  type LeafEvent,
} from '../../../console/src/pages/audit-proof.js';
import { eventLeaf } from '../../../src/core/audit-log.js';
import { canonicalJson } from '../../../src/core/canonical-json.js';
import { MerkleTree, leafHash as serverLeafHash } from '../../../src/core/merkle.js';

/** The console's proof check must agree with the server's Merkle code (src/core) exactly. */

function event(seq: number, overrides: Partial<LeafEvent> = {}): LeafEvent {
  return {
    seq,
    time: new Date(Date.UTC(2025, 0, 1, 0, seq)).toISOString(),
    actor: seq % 2 ? 'alice' : 'feed-bot',
    kind: 'snapshot.ingest',
    dataset: seq % 3 ? 'spam' : null,
    snapshot: seq % 4 ? null : 'ab'.repeat(32),
    detail: JSON.stringify({ n: seq, note: 'naïve "quoted" \u2028 line', emoji: '🙂' }),
    ...overrides,
  };
}

const serverLeaf = (e: LeafEvent) => eventLeaf({ ...e, snapshot_id: e.snapshot });

function proofFor(events: LeafEvent[], index: number) {
  const tree = MerkleTree.fromLeaves(events.map(serverLeaf));
  return {
    index,
    size: tree.size,
    root: tree.root().toString('hex'),
    leaf: tree.leafHash(index).toString('hex'),
    proof: tree.inclusionProof(index).map((b) => b.toString('hex')),
    event: events[index]!,
  };
}

describe('audit proof checking in the browser', () => {
  it('builds the same leaf bytes and leaf hash as the server', async () => {
    for (const e of [event(1), event(4), event(12, { actor: 'Zoë', kind: 'a.b' })]) {
      expect(new TextDecoder().decode(eventLeafBytes(e))).toBe(
        canonicalJson({ ...e, snapshot: e.snapshot }),
      );
      expect(toHex(await leafHash(eventLeafBytes(e)))).toBe(
        serverLeafHash(serverLeaf(e)).toString('hex'),
      );
    }
    expect(canonicalFlatJson({ b: 1, a: null, B: 'x' })).toBe('{"B":"x","a":null,"b":1}');
  });

  it('verifies every leaf of trees of 1 to 19 leaves', async () => {
    for (let size = 1; size <= 19; size++) {
      const events = Array.from({ length: size }, (_, i) => event(i + 1));
      for (let index = 0; index < size; index++) {
        const check = await checkProof(proofFor(events, index));
        expect(check, `leaf ${index} of ${size}`).toMatchObject({
          verified: true,
          leafMatches: true,
          rootMatches: true,
          problem: '',
        });
      }
    }
  });

  it('fails a changed event, a changed path, a wrong index and a wrong size, in words', async () => {
    const events = Array.from({ length: 11 }, (_, i) => event(i + 1));
    const good = proofFor(events, 6);
    const edited = await checkProof({ ...good, event: { ...good.event, actor: 'mallory' } });
    expect(edited).toMatchObject({ verified: false, leafMatches: false, rootMatches: true });
    expect(edited.problem).toMatch(/do not hash to the leaf/);
    const flipped = good.proof.map((h, i) =>
      i === 1 ? h.replace(/^./, (c) => (c === '0' ? '1' : '0')) : h,
    );
    const path = await checkProof({ ...good, proof: flipped });
    expect(path).toMatchObject({ verified: false, leafMatches: true, rootMatches: false });
    expect(path.problem).toMatch(/another root/);
    expect((await checkProof({ ...good, index: 7 })).verified).toBe(false);
    const tooBig = await checkProof({ ...good, size: 40 });
    expect(tooBig.verified).toBe(false);
    expect((await checkProof({ ...good, index: 11 })).problem).toMatch(/does not fit/);
    expect((await checkProof({ ...good, proof: good.proof.slice(1) })).verified).toBe(false);
    expect((await checkProof({ ...good, event: null })).problem).toMatch(/did not send/);
    expect((await checkProof({ ...good, root: 'zz' })).problem).toMatch(/malformed/);
  });

  it('walks a path of the single-leaf tree and rejects odd inputs', async () => {
    const leaf = await leafHash(new Uint8Array([1, 2, 3]));
    expect(toHex((await rootFromPath(0, 1, leaf, []))!)).toBe(toHex(leaf));
    expect(await rootFromPath(0, 1, leaf, [leaf])).toBeNull();
    expect(await rootFromPath(-1, 2, leaf, [leaf])).toBeNull();
    expect(await rootFromPath(0, 2, leaf.subarray(1), [leaf])).toBeNull();
    expect(toHex(fromHex('00ff10'))).toBe('00ff10');
    expect(() => fromHex('abc')).toThrow(/not hex/);
  });
});
