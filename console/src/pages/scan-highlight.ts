/**
 * Where a trigger pattern occurs in a record's text, as pieces to render (marked or not). Pure:
 * the page turns the pieces into React nodes, so record text is never parsed as HTML.
 *
 * A text trigger is the scanner's tokens joined by single spaces (docs/SCAN.md: lower-cased, NFC,
 * punctuation split off words). It is found again case-insensitively, with any white space
 * between tokens where the text had some and none needed between a word and punctuation, and
 * only at word boundaries: the trigger "cf" marks "CF," but not "cfg".
 */

export interface Piece {
  text: string;
  mark: boolean;
}

/** Feature-patch and spectral triggers describe vector positions, not words. */
export function isTextPattern(pattern: string): boolean {
  return pattern.trim() !== '' && !/^features\[/.test(pattern.trim());
}

const WORD = /[\p{L}\p{N}\p{M}_]/u;
/** Escapes the syntax characters, the only escapes a `u` expression allows outside a class. */
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** A global, case-insensitive expression matching the pattern's tokens (null for none). */
export function patternRegExp(pattern: string): RegExp | null {
  const tokens = pattern.split(/\s+/).filter((t) => t !== '');
  if (tokens.length === 0) return null;
  let source = '';
  tokens.forEach((t, i) => {
    if (i > 0) {
      const prev = tokens[i - 1]!;
      // Two words need white space between them; a word and punctuation may touch.
      const bothWords = WORD.test(prev.slice(-1)) && WORD.test(t.slice(0, 1));
      source += bothWords ? '\\s+' : '\\s*';
    }
    source += escape(t);
  });
  const first = tokens[0]!.slice(0, 1);
  const last = tokens[tokens.length - 1]!.slice(-1);
  if (WORD.test(first)) source = `(?<![\\p{L}\\p{N}\\p{M}_])${source}`;
  if (WORD.test(last)) source = `${source}(?![\\p{L}\\p{N}\\p{M}_])`;
  try {
    return new RegExp(source, 'giu');
  } catch {
    // Never break the page over a mark: the text shows unmarked.
    return null;
  }
}

/**
 * The text cut into pieces, the pattern's occurrences marked. At most `maxMarks` occurrences are
 * marked (a pathological text cannot make thousands of elements); text without an occurrence is
 * one unmarked piece.
 */
export function highlightPieces(text: string, pattern: string, maxMarks = 200): Piece[] {
  const re = isTextPattern(pattern) ? patternRegExp(pattern) : null;
  if (!re || text === '') return text === '' ? [] : [{ text, mark: false }];
  const pieces: Piece[] = [];
  let at = 0;
  let marks = 0;
  for (const m of text.matchAll(re)) {
    if (m[0] === '') continue;
    const start = m.index;
    if (start > at) pieces.push({ text: text.slice(at, start), mark: false });
    pieces.push({ text: m[0], mark: true });
    at = start + m[0].length;
    if (++marks >= maxMarks) break;
  }
  if (at < text.length) pieces.push({ text: text.slice(at), mark: false });
  return pieces;
}

/**
 * The marked pieces with long unmarked stretches cut to `context` characters next to each mark
 * ("…" where text was left out), so a trigger in a long mail shows where it sits. Null when
 * nothing is marked (the caller shows the text's start instead).
 */
export function excerptPieces(pieces: readonly Piece[], context = 160): Piece[] | null {
  if (!pieces.some((p) => p.mark)) return null;
  const out: Piece[] = [];
  pieces.forEach((p, i) => {
    if (p.mark) {
      out.push(p);
      return;
    }
    const first = i === 0;
    const last = i === pieces.length - 1;
    const t = p.text;
    if (first) out.push({ text: t.length > context ? `…${t.slice(-context)}` : t, mark: false });
    else if (last)
      out.push({ text: t.length > context ? `${t.slice(0, context)}…` : t, mark: false });
    else
      out.push({
        text: t.length > 2 * context ? `${t.slice(0, context)} … ${t.slice(-context)}` : t,
        mark: false,
      });
  });
  return out;
}
