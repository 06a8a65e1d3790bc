import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.js';
import { MerkleTree } from './merkle.js';
import {
  assertRecord,
  deriveRowId,
  encodeRecord,
  recordDigest,
  type CordonRecord,
} from './record.js';

// These vectors are published in docs/FORMATS.md; another implementation must reproduce them.
// The digests were cross-checked with Python's json.dumps(sort_keys, compact) + hashlib.
const r1: CordonRecord = {
  id: 'a-1',
  label: 'spam',
  source: 'feed-a',
  text: 'Win £100 now!\n',
  meta: { score: 0.5, lang: 'en' },
};
const r2: CordonRecord = { id: 'b-2', label: null, source: null, features: [1, -0, 2.5e-7, 1e21] };

describe('canonical record encoding (docs/FORMATS.md vectors)', () => {
  it('encodes r1 byte for byte', () => {
    expect(encodeRecord(r1)).toBe(
      '{"id":"a-1","label":"spam","meta":{"lang":"en","score":0.5},"source":"feed-a","text":"Win £100 now!\\n"}',
    );
    expect(recordDigest(r1)).toBe(
      '784ae4c593ab16ea61d2cbec3c1918d17b73ae3ff6085d517f118ee9068ef43e',
    );
  });
  it('encodes numbers as ECMAScript does (RFC 8785)', () => {
    expect(encodeRecord(r2)).toBe(
      '{"features":[1,0,2.5e-7,1e+21],"id":"b-2","label":null,"source":null}',
    );
    expect(recordDigest(r2)).toBe(
      '629c2a8033c1802922b0833de3a6692c55e0e3364af93bfbbcbf5f8436c51ca0',
    );
  });
  it('builds the documented two-record root', () => {
    const tree = MerkleTree.fromLeaves([
      Buffer.from(recordDigest(r1), 'hex'),
      Buffer.from(recordDigest(r2), 'hex'),
    ]);
    expect(tree.root().toString('hex')).toBe(
      'e64d6c4ac11339c6137621b7f4810a766f4193df6826c568cc48979a14ddcbd3',
    );
  });
  it('derives stable ids from content and position', () => {
    const { id: _id, ...rest } = r1;
    expect(deriveRowId(rest, 0)).toBe('rec139dcca3f7b806ce5bbd5e');
    expect(deriveRowId(rest, 1)).not.toBe(deriveRowId(rest, 0));
    expect(deriveRowId({ ...rest, text: 'other' }, 0)).not.toBe(deriveRowId(rest, 0));
  });
});

describe('canonicalJson', () => {
  it('sorts keys by UTF-16 code units and escapes like JSON.stringify', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x"\u0001'], é: {}, A: 'z' })).toBe(
      '{"A":"z","a":[true,null,"x\\"\\u0001"],"b":1,"é":{}}',
    );
  });
  it('refuses values JSON cannot carry', () => {
    expect(() => canonicalJson({ f: [1, Number.NaN] })).toThrow(/\$\.f\[1\]: NaN has no JSON form/);
    expect(() => canonicalJson({ t: 'bad \uD800 surrogate' })).toThrow(/lone UTF-16 surrogate/);
    expect(() => canonicalJson({ u: undefined, n: 1 })).not.toThrow();
  });
});

describe('assertRecord', () => {
  it('requires content and finite features', () => {
    expect(() => assertRecord({ id: 'x', label: null, source: null })).toThrow(/no content/);
    expect(() =>
      assertRecord({ id: 'x', label: null, source: null, features: [1, Infinity] }),
    ).toThrow(/features\[1\] is Infinity/);
    expect(() => assertRecord({ id: '', label: null, source: null, text: 't' })).toThrow(
      /non-empty/,
    );
  });
});
