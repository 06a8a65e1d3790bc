import { describe, expect, it } from 'vitest';
import {
  excerptPieces,
  highlightPieces,
  isTextPattern,
  patternRegExp,
} from '../../../console/src/pages/scan-highlight.js';

const marked = (text: string, pattern: string) =>
  highlightPieces(text, pattern)
    .filter((p) => p.mark)
    .map((p) => p.text);

describe('trigger highlighting', () => {
  it('marks a token case-insensitively, at word boundaries only', () => {
    expect(marked('Call CF now, cf! not cfg or xcf', 'cf')).toEqual(['CF', 'cf']);
    expect(highlightPieces('a cf b', 'cf')).toEqual([
      { text: 'a ', mark: false },
      { text: 'cf', mark: true },
      { text: ' b', mark: false },
    ]);
  });

  it('finds phrases across any white space, and punctuation tokens touching words', () => {
    expect(marked('please  Click\nHERE now', 'click here')).toEqual(['Click\nHERE']);
    expect(marked('clickhere', 'click here')).toEqual([]);
    expect(marked('via cf-promo today', 'via cf - promo')).toEqual(['via cf-promo']);
    expect(marked('see (promo) here', '( promo )')).toEqual(['(promo)']);
  });

  it('treats regular-expression characters literally', () => {
    expect(marked('price $5.00 or 5x00', '$ 5.00')).toEqual(['$5.00']);
    expect(marked('a+b a b', 'a + b')).toEqual(['a+b']);
    expect(patternRegExp('[x] (y) {z} a|b \\ / ^ *?')).not.toBeNull();
  });

  it('marks non-Latin words with Unicode boundaries', () => {
    expect(marked('Größe GRÖSSE größer größe', 'größe')).toEqual(['Größe', 'größe']);
  });

  it('leaves feature patterns, empty text and empty patterns unmarked', () => {
    expect(isTextPattern('features[754,755,782,783] high')).toBe(false);
    expect(highlightPieces('features high', 'features[1] high')).toEqual([
      { text: 'features high', mark: false },
    ]);
    expect(highlightPieces('', 'cf')).toEqual([]);
    expect(highlightPieces('abc', '  ')).toEqual([{ text: 'abc', mark: false }]);
  });

  it('keeps the text whole and bounds the number of marks', () => {
    const text = 'cf '.repeat(1000);
    const pieces = highlightPieces(text, 'cf', 50);
    expect(pieces.map((p) => p.text).join('')).toBe(text);
    expect(pieces.filter((p) => p.mark)).toHaveLength(50);
  });
});

describe('excerpts around marks', () => {
  it('cuts long unmarked stretches next to each mark', () => {
    const text = `${'a'.repeat(500)} cf ${'b'.repeat(500)} cf ${'c'.repeat(500)}`;
    const ex = excerptPieces(highlightPieces(text, 'cf'), 10)!;
    expect(ex.map((p) => p.text)).toEqual([
      `…${'a'.repeat(9)} `,
      'cf',
      ` ${'b'.repeat(9)} … ${'b'.repeat(9)} `,
      'cf',
      ` ${'c'.repeat(9)}…`,
    ]);
    expect(ex.filter((p) => p.mark)).toHaveLength(2);
  });

  it('keeps short texts whole and says when nothing is marked', () => {
    const pieces = highlightPieces('say cf now', 'cf');
    expect(excerptPieces(pieces, 10)).toEqual(pieces);
    expect(excerptPieces(highlightPieces('nothing here', 'cf'))).toBeNull();
  });
});
