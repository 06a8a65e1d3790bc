import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { countNewlines, firstInvalidUtf8, incompleteTail } from './utf8.js';

const valid = (b: Uint8Array): boolean => {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
};

describe('utf8 helpers', () => {
  it('agrees with the fatal TextDecoder on random and tricky bytes', () => {
    const tricky = [
      [0xed, 0xa0, 0x80], // surrogate
      [0xc0, 0xaf], // overlong
      [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
      [0xe2, 0x82], // cut off
      [0xf0, 0x9f, 0x98, 0x80], // valid emoji
    ].map((b) => Uint8Array.from(b));
    const random = Array.from({ length: 2000 }, (_, i) => randomBytes(1 + (i % 12)));
    for (const b of [...tricky, ...random]) expect(firstInvalidUtf8(b) === -1).toBe(valid(b));
  });

  it('finds the first bad byte and ignores a cut-off end unless final', () => {
    const b = Buffer.concat([Buffer.from('ab\ncd'), Buffer.from([0xff]), Buffer.from('\n')]);
    expect(firstInvalidUtf8(b)).toBe(5);
    expect(countNewlines(b, 0, 5)).toBe(1);
    const cut = Buffer.from('x€').subarray(0, 3);
    expect(firstInvalidUtf8(cut)).toBe(1);
    expect(firstInvalidUtf8(cut, false)).toBe(-1);
  });

  it('returns the bytes of an incomplete last character', () => {
    const euro = Buffer.from('€'); // e2 82 ac
    expect([...incompleteTail(Buffer.from([0x61, 0xe2, 0x82]))]).toEqual([0xe2, 0x82]);
    expect(incompleteTail(Buffer.concat([Buffer.from('a'), euro])).length).toBe(0);
    expect(incompleteTail(Buffer.from('abc')).length).toBe(0);
  });
});
