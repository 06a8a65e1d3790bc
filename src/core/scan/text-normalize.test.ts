import { describe, expect, it } from 'vitest';
import { mulberry32 } from './random.js';
import {
  hashSpan,
  hashString64,
  hashTokens,
  normalizeText,
  prepareForTokens,
  scanTokenSpans,
  tokenize,
} from './text-normalize.js';

describe('normalizeText', () => {
  it('lowercases, composes (NFC), collapses every whitespace run and trims', () => {
    expect(normalizeText('  Hello,\t\tWORLD!\n')).toBe('hello, world!');
    expect(normalizeText('Cafe\u0301')).toBe('café'); // e + combining acute → é
    expect(normalizeText('CAFÉ')).toBe('café');
    expect(normalizeText('a\u00a0b\u2028c\u3000d\r\n\u000be')).toBe('a b c d e');
    expect(normalizeText('')).toBe('');
    expect(normalizeText(' \n\t ')).toBe('');
  });

  it('returns canonical text unchanged and is idempotent', () => {
    const s = 'already canonical text, with punctuation!';
    expect(normalizeText(s)).toBe(s);
    const r = mulberry32(5);
    const pieces = ['A', 'b', ' ', '  ', '\t', 'É', 'e\u0301', '\n', 'x', '😀', '\u00a0', 'Ω'];
    for (let i = 0; i < 500; i++) {
      let t = '';
      for (let j = 0; j < 12; j++) t += pieces[Math.floor(r() * pieces.length)] as string;
      const n = normalizeText(t);
      expect(normalizeText(n)).toBe(n);
      expect(n).toBe(n.trim());
      expect(/\s\s/.test(n)).toBe(false);
      expect(n).toBe(n.normalize('NFC'));
      // Independent reference: the straightforward regex pipeline.
      expect(n).toBe(t.toLowerCase().normalize('NFC').replace(/\s+/g, ' ').trim());
    }
  });
});

describe('tokenize', () => {
  it('splits leading and trailing punctuation off words', () => {
    expect(tokenize('Hello, World!')).toEqual(['hello', ',', 'world', '!']);
    expect(tokenize('(wow)!!! end.')).toEqual(['(', 'wow', ')!!!', 'end', '.']);
    expect(tokenize("don't e-mail http://x.co/a?b=1")).toEqual([
      "don't",
      'e-mail',
      'http://x.co/a?b=1',
    ]);
  });

  it('keeps rare punctuation-bearing strings whole (possible triggers)', () => {
    expect(tokenize('cf <3 $$$ :-) :D $5 !!! mn')).toEqual([
      'cf',
      '<3',
      '$$$',
      ':-)',
      ':d',
      '$5',
      '!!!',
      'mn',
    ]);
  });

  it('handles Unicode letters, marks and emoji', () => {
    expect(tokenize('ÜBER café naïve')).toEqual(['über', 'café', 'naïve']);
    expect(tokenize('wow😀 😀😀')).toEqual(['wow', '😀', '😀😀']);
    expect(tokenize('日本語 テキスト。')).toEqual(['日本語', 'テキスト', '。']);
  });

  it('caps the tokens and the characters read', () => {
    expect(tokenize('a b c d e f', 3)).toEqual(['a', 'b', 'c']);
    expect(tokenize('x', 0)).toEqual([]);
    expect(tokenize('')).toEqual([]);
    const huge = 'word, '.repeat(200_000); // 1.2 MB
    const t0 = performance.now();
    const toks = tokenize(huge, 100);
    expect(toks.length).toBe(100);
    expect(toks.slice(0, 4)).toEqual(['word', ',', 'word', ',']);
    expect(performance.now() - t0).toBeLessThan(200);
    // One giant token: bounded by the character budget, not the text length.
    expect((tokenize('z'.repeat(1_000_000), 10)[0] as string).length).toBeLessThanOrEqual(640);
  });

  it('gives the same tokens for a text and its normalised form', () => {
    const r = mulberry32(11);
    const words = ['Hello', 'WORLD', 'cf', '<3', '(x)', 'end.', '  ', '\t', '\n', 'É', '$$$'];
    for (let i = 0; i < 300; i++) {
      let t = '';
      for (let j = 0; j < 10; j++) t += (words[Math.floor(r() * words.length)] as string) + ' ';
      expect(tokenize(normalizeText(t))).toEqual(tokenize(t));
    }
  });
});

describe('hashing primitives', () => {
  it('hashTokens hashes exactly the tokens of tokenize', () => {
    const text = 'Free $$$ cf!!! Click (here) now :-) <3';
    const toks = tokenize(text);
    const out = new Uint32Array(64);
    const n = hashTokens(prepareForTokens(text, 64), 64, out);
    expect(n).toBe(toks.length);
    toks.forEach((tok, i) => expect(out[i]).toBe(hashSpan(tok, 0, tok.length)));
    const starts = new Int32Array(3);
    const ends = new Int32Array(3);
    expect(scanTokenSpans('a b c d', 10, starts, ends)).toBe(3); // bounded by the buffers
  });

  it('hashString64 separates 200,000 distinct strings', () => {
    const seen = new Set<string>();
    const out = new Uint32Array(2);
    for (let i = 0; i < 200_000; i++) {
      hashString64(`row ${i} text`, out, 0);
      seen.add(`${out[0]}:${out[1]}`);
    }
    expect(seen.size).toBe(200_000);
    const a = new Uint32Array(2);
    const b = new Uint32Array(2);
    hashString64('same', a, 0);
    hashString64('same', b, 0);
    expect(Array.from(a)).toEqual(Array.from(b));
  });
});
