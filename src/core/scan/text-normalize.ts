/**
 * Text normalisation, tokenisation and string hashing shared by the text detectors.
 *
 * - `normalizeText` is the canonical form for "same content" (exact duplicates, MinHash).
 * - `tokenize` is the word tokenizer every n-gram feature uses (trigger scan, shingles, text
 *   features). It keeps punctuation and rare strings because any token can be a trigger.
 * - `scanTokenSpans`, `hashSpan`, `hashTokens` and `hashString64` are the allocation-free
 *   primitives behind them, for hot loops over a million rows.
 *
 * Tokenisation rules (documented once, here):
 * 1. The text is lowercased (`toLowerCase`) and put in NFC; only its first
 *    `maxTokens × CHARS_PER_TOKEN_BUDGET` characters are read, so a 1 MB text costs no more than
 *    its first tokens.
 * 2. It is split on whitespace (`\s`, Unicode-aware) into chunks.
 * 3. Characters are word characters (Unicode letters, numbers, marks, and `_`) or punctuation
 *    (everything else that is not whitespace: `\p{P}`, `\p{S}`, emoji …).
 * 4. In a chunk whose core (the part between its first and last word character) is at least two
 *    characters long, the leading and the trailing punctuation runs are split off as tokens of
 *    their own: `"hello,"` → `hello` `,`; `"(wow)!!!"` → `(` `wow` `)!!!`; inner punctuation stays
 *    (`don't`, `e-mail`, `http://x.co/a?b=1`).
 * 5. A chunk without word characters or with a one-character core is kept whole, so emoticons and
 *    symbol strings survive as tokens: `$$$`, `:-)`, `<3`, `:d`, `!!!`, `$5`.
 * No stop words are removed and no stemming is done.
 */

/** Default token cap per text: plenty for any labelled example, bounded for 1 MB inputs. */
export const DEFAULT_MAX_TOKENS = 10_000;

/** Characters read per requested token: mean English token ≈ 5 chars, so 64 never truncates
 * normal text early while bounding the work on huge or pathological (one giant token) texts. */
export const CHARS_PER_TOKEN_BUDGET = 64;

// Character classes: 1 whitespace, 2 word character, 3 punctuation (0 = not yet classified).
const WS = 1;
const WORD = 2;
const PUNCT = 3;
const bmpClass = new Uint8Array(65536);
const astralClass = new Map<number, number>();
const wsRe = /^\s$/u;
const wordRe = /^[\p{L}\p{N}\p{M}_]$/u;

/** Classes returned by `charClassOf`. */
export const CHAR_WHITESPACE = WS;
export const CHAR_WORD = WORD;
export const CHAR_PUNCT = PUNCT;

/**
 * Class of one UTF-16 code unit as the tokenizer sees it: `CHAR_WHITESPACE`, `CHAR_WORD`
 * (letter, number, mark, `_`) or `CHAR_PUNCT` (lone surrogates count as punctuation). Cached.
 */
export function charClassOf(code: number): number {
  return classOfUnit(code);
}

function classifyChar(ch: string): number {
  return wsRe.test(ch) ? WS : wordRe.test(ch) ? WORD : PUNCT;
}

function classOfUnit(c: number): number {
  let k = bmpClass[c] as number;
  if (k === 0) {
    k = c >= 0xd800 && c <= 0xdfff ? PUNCT : classifyChar(String.fromCharCode(c));
    bmpClass[c] = k;
  }
  return k;
}
for (let c = 0; c < 128; c++) classOfUnit(c);

function classOfCodePoint(cp: number): number {
  let k = astralClass.get(cp);
  if (k === undefined) {
    k = classifyChar(String.fromCodePoint(cp));
    if (astralClass.size < 65536) astralClass.set(cp, k);
  }
  return k;
}

function isLowSurrogate(d: number): boolean {
  return d >= 0xdc00 && d <= 0xdfff;
}

/** Class of the character at `i` (surrogate pairs classified as one code point). */
function classAt(t: string, i: number): number {
  const c = t.charCodeAt(i);
  if (c < 0xd800 || c > 0xdbff || i + 1 >= t.length) return classOfUnit(c);
  const d = t.charCodeAt(i + 1);
  if (!isLowSurrogate(d)) return PUNCT;
  return classOfCodePoint(((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000);
}

/**
 * Canonical text: lowercase (`toLowerCase`), NFC, every whitespace run (Unicode `\s`) collapsed
 * to one space, trimmed. One scan decides which steps are needed, so text that is already
 * canonical (lowercase ASCII, single spaces) is returned as is without allocating.
 */
export function normalizeText(s: string): string {
  const len = s.length;
  let nonAscii = false;
  let upper = false;
  let badSpace = false;
  let prevSpace = true; // a leading space is "bad" too
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128) {
      nonAscii = true;
      break;
    }
    if (c === 32) {
      if (prevSpace) badSpace = true;
      prevSpace = true;
    } else {
      if (c < 32) {
        if (bmpClass[c] === WS) badSpace = true;
      } else if (c >= 65 && c <= 90) upper = true;
      prevSpace = false;
    }
  }
  if (!nonAscii) {
    if (prevSpace && len > 0) badSpace = true; // trailing space
    if (!upper && !badSpace) return s;
    const t = upper ? s.toLowerCase() : s;
    return badSpace ? collapseSpaces(t) : t;
  }
  return collapseSpaces(s.toLowerCase().normalize('NFC'));
}

/** Collapses whitespace runs to one space and trims. */
function collapseSpaces(t: string): string {
  const len = t.length;
  let out = '';
  let runStart = -1; // start of the current non-space run
  for (let i = 0; i < len; i++) {
    const c = t.charCodeAt(i);
    const ws = c === 32 || (c < 128 ? bmpClass[c] === WS : classOfUnit(c) === WS);
    if (ws) {
      if (runStart >= 0) {
        out = out.length === 0 ? t.slice(runStart, i) : out + ' ' + t.slice(runStart, i);
        runStart = -1;
      }
    } else if (runStart < 0) runStart = i;
  }
  if (runStart >= 0) {
    out = out.length === 0 ? t.slice(runStart) : out + ' ' + t.slice(runStart);
  }
  return out;
}

/** Lowercased NFC prefix of `s` that `tokenize` reads for `maxTokens` tokens. */
export function prepareForTokens(s: string, maxTokens: number): string {
  const limit = maxTokens * CHARS_PER_TOKEN_BUDGET;
  const head = s.length > limit ? s.slice(0, limit) : s;
  return head.toLowerCase().normalize('NFC');
}

/**
 * Finds the token boundaries of `t` (which should already be lowercased and NFC, e.g. from
 * `normalizeText` or `prepareForTokens`; this function does not change case). Writes the start
 * (inclusive) and end (exclusive) offsets of up to `min(maxTokens, starts.length, ends.length)`
 * tokens and returns how many it wrote. No allocation.
 */
export function scanTokenSpans(
  t: string,
  maxTokens: number,
  starts: Int32Array,
  ends: Int32Array,
): number {
  const max = Math.min(maxTokens, starts.length, ends.length);
  const len = t.length;
  let n = 0;
  let i = 0;
  while (i < len && n < max) {
    // Skip whitespace (ASCII fast path).
    let c = t.charCodeAt(i);
    while (c === 32 || (c < 128 ? bmpClass[c] === WS : classAt(t, i) === WS)) {
      if (++i >= len) return n;
      c = t.charCodeAt(i);
    }
    const cs = i;
    let first = -1;
    let last = -1;
    while (i < len) {
      c = t.charCodeAt(i);
      const k = c < 128 ? (bmpClass[c] as number) : classAt(t, i);
      if (k === WS) break;
      const w = c >= 0xd800 && c <= 0xdbff && isLowSurrogate(t.charCodeAt(i + 1)) ? 2 : 1;
      if (k === WORD) {
        if (first < 0) first = i;
        last = i + w;
      }
      i += w;
    }
    const ce = i;
    if (first < 0 || last - first < 2) {
      starts[n] = cs;
      ends[n++] = ce;
      continue;
    }
    if (first > cs) {
      starts[n] = cs;
      ends[n++] = first;
      if (n >= max) break;
    }
    starts[n] = first;
    ends[n++] = last;
    if (last < ce && n < max) {
      starts[n] = last;
      ends[n++] = ce;
    }
  }
  return n;
}

let spanStarts = new Int32Array(1024);
let spanEnds = new Int32Array(1024);

/** Scratch span buffers of at least `size` slots (reused; valid until the next call). */
export function spanScratch(size: number): { starts: Int32Array; ends: Int32Array } {
  if (spanStarts.length < size) {
    let cap = spanStarts.length;
    while (cap < size) cap *= 2;
    spanStarts = new Int32Array(cap);
    spanEnds = new Int32Array(cap);
  }
  return { starts: spanStarts, ends: spanEnds };
}

/** Word tokens of `s` per the rules at the top of this file, at most `maxTokens` of them. */
export function tokenize(s: string, maxTokens: number = DEFAULT_MAX_TOKENS): string[] {
  if (maxTokens <= 0 || s.length === 0) return [];
  const t = prepareForTokens(s, maxTokens);
  const cap = Math.min(maxTokens, t.length);
  const { starts, ends } = spanScratch(cap);
  const n = scanTokenSpans(t, cap, starts, ends);
  const out = new Array<string>(n);
  for (let j = 0; j < n; j++) out[j] = t.slice(starts[j], ends[j]);
  return out;
}

/** murmur3's 32-bit finalizer: a bijective avalanche mix. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** 32-bit hash (FNV-1a over UTF-16 code units, then `fmix32`) of `t.slice(start, end)`. */
export function hashSpan(t: string, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ t.charCodeAt(i), 0x01000193);
  return fmix32(h);
}

/**
 * Hashes the tokens of `t` (already lowercased and NFC, see `scanTokenSpans`) into `out` with
 * `hashSpan`; at most `min(maxTokens, out.length)` tokens. Returns the token count.
 */
export function hashTokens(t: string, maxTokens: number, out: Uint32Array): number {
  const cap = Math.min(maxTokens, out.length, t.length);
  const { starts, ends } = spanScratch(cap);
  const n = scanTokenSpans(t, cap, starts, ends);
  for (let j = 0; j < n; j++) out[j] = hashSpan(t, starts[j] as number, ends[j] as number);
  return n;
}

/**
 * 64-bit content hash of a whole string as two independent 32-bit halves written to
 * `out[at]` and `out[at + 1]` (two FNV-1a-style lanes with different primes, murmur-finalised). For bucketing
 * only: callers that need certainty compare the strings when two hashes match.
 */
export function hashString64(s: string, out: Uint32Array, at: number): void {
  let a = 0x811c9dc5 ^ s.length;
  let b = 0x9747b28c ^ Math.imul(s.length, 0x9e3779b1);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  out[at] = fmix32(a);
  out[at + 1] = fmix32(b ^ (a >>> 7));
}
