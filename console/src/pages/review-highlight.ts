/** A piece of a record's text: plain, or one occurrence of a flagged pattern. */
export interface Segment {
  text: string;
  mark: boolean;
}

const WORD = /[\p{L}\p{N}_]/u;

/**
 * Splits `text` around the occurrences of `patterns` (a trigger such as "cf-promo"), compared
 * without case and only as whole words: "cf" marks "CF today", not "cfo". Overlapping matches
 * merge into one mark.
 */
export function highlightSegments(text: string, patterns: readonly string[]): Segment[] {
  const wanted = [...new Set(patterns.map((p) => p.trim().toLowerCase()).filter((p) => p !== ''))];
  if (wanted.length === 0 || text === '') return text === '' ? [] : [{ text, mark: false }];
  const lower = text.toLowerCase();
  // Lower-casing keeps the length for the scripts the corpus holds; if not, do not guess.
  if (lower.length !== text.length) return [{ text, mark: false }];
  const ranges: [number, number][] = [];
  for (const p of wanted) {
    for (let at = lower.indexOf(p); at >= 0; at = lower.indexOf(p, at + 1)) {
      const end = at + p.length;
      const before = at > 0 ? text[at - 1]! : '';
      const after = end < text.length ? text[end]! : '';
      if ((before && WORD.test(before)) || (after && WORD.test(after))) continue;
      ranges.push([at, end]);
    }
  }
  if (ranges.length === 0) return [{ text, mark: false }];
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged: [number, number][] = [];
  for (const r of ranges) {
    const last = merged.at(-1);
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  const out: Segment[] = [];
  let pos = 0;
  for (const [start, end] of merged) {
    if (start > pos) out.push({ text: text.slice(pos, start), mark: false });
    out.push({ text: text.slice(start, end), mark: true });
    pos = end;
  }
  if (pos < text.length) out.push({ text: text.slice(pos), mark: false });
  return out;
}

/** The trigger patterns named in a review item's finding details. */
export function triggerPatterns(detail: unknown): string[] {
  if (!Array.isArray(detail)) return [];
  const out: string[] = [];
  for (const d of detail as unknown[]) {
    if (d && typeof d === 'object') {
      const t = (d as Record<string, unknown>)['trigger'];
      if (typeof t === 'string') out.push(t);
      const p = (d as Record<string, unknown>)['pattern'];
      if (typeof p === 'string') out.push(p);
    }
  }
  return out;
}
