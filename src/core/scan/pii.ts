/**
 * `leak/pii`: personal data in row text. One issue per row that holds any, with counts per type and
 * masked examples; the summary counts occurrences and rows per type.
 *
 * - **email**: RFC 5322-ish `local@domain.tld` (dot-atom local part, dotted host labels, alphabetic
 *   TLD of 2–24 letters). Message-IDs shaped like addresses count too.
 * - **phone**: digit groups with separators (space . - / parentheses), validated by digit count:
 *   E.164 `+CC…` with 8–15 digits (separators optional); `00CC…` with 10–15 digits; NANP
 *   `(AAA) EEE-NNNN` / `AAA-EEE-NNNN` / `1 AAA EEE NNNN` (10 digits, or 11 with a leading 1; area
 *   and exchange codes start with 2–9, groups 3-3-4); European national numbers starting with a
 *   single 0, 9–12 digits, at least one separator, groups of 2–8 digits. Bare digit runs without
 *   "+" are not phones (ids, timestamps and order numbers look the same).
 * - **card**: 13–19 digits, optionally in space/hyphen groups (first group of 4, the same separator
 *   throughout), Luhn-valid, and a known issuer prefix with a length that issuer uses (Visa,
 *   Mastercard, Amex, Discover, Diners, JCB, UnionPay, Maestro).
 * - **iban**: country code with its registered length, check digits by ISO 7064 mod 97-10.
 *
 * The spam corpus is full of real addresses: e-mail is by far the most common type and its score is
 * low; cards and IBANs score high. Only masked values leave this module.
 */

import { maskCard, maskEmail, maskIban, maskPhone } from './mask.js';
import type { Detector, DetectorResult, Issue, Progress, ScanRow } from './types.js';

export type PiiType = 'email' | 'phone' | 'card' | 'iban';

/** All types, in the order findings are reported. */
export const PII_TYPES: readonly PiiType[] = ['card', 'iban', 'phone', 'email'];

/** Characters of a row scanned: 256 KiB bounds the work on 1 MB rows; PII past it is not seen. */
export const PII_MAX_CHARS = 256 * 1024;
/** Masked examples kept per row (the counts are always exact). */
export const PII_MAX_EXAMPLES_PER_ROW = 10;
/** Score per type: how harmful one leaked value is (a card number far more than an address). */
export const PII_TYPE_SCORES: Readonly<Record<PiiType, number>> = {
  card: 0.9,
  iban: 0.8,
  phone: 0.5,
  email: 0.4,
};

export interface PiiOptions {
  /** Types to look for (default all). */
  types?: readonly PiiType[];
  /** Characters scanned per row (default PII_MAX_CHARS). */
  maxChars?: number;
}

export interface PiiFinding {
  type: PiiType;
  start: number;
  end: number;
}

// ---------------------------------------------------------------------------------------------
// Validators
// ---------------------------------------------------------------------------------------------

/** Luhn (mod 10) check over the digits of a string (other characters ignored). */
export function luhnValid(value: string): boolean {
  let sum = 0;
  let double = false;
  let digits = 0;
  for (let i = value.length - 1; i >= 0; i--) {
    const c = value.charCodeAt(i) - 48;
    if (c < 0 || c > 9) continue;
    digits++;
    let d = c;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits > 0 && sum % 10 === 0;
}

/** Issuer of a card number (digits only) when prefix and length match a known scheme. */
export function cardIssuer(digits: string): string | undefined {
  const n = digits.length;
  const p2 = Number(digits.slice(0, 2));
  const p3 = Number(digits.slice(0, 3));
  const p4 = Number(digits.slice(0, 4));
  const p6 = Number(digits.slice(0, 6));
  if (digits[0] === '4' && (n === 13 || n === 16 || n === 19)) return 'visa';
  if (((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) && n === 16) return 'mastercard';
  if ((p2 === 34 || p2 === 37) && n === 15) return 'amex';
  if (
    (p4 === 6011 || (p3 >= 644 && p3 <= 649) || p2 === 65 || (p6 >= 622126 && p6 <= 622925)) &&
    n >= 16 &&
    n <= 19
  ) {
    return 'discover';
  }
  if (p4 >= 3528 && p4 <= 3589 && n >= 16 && n <= 19) return 'jcb';
  if (((p3 >= 300 && p3 <= 305) || p2 === 36 || p2 === 38 || p2 === 39) && n >= 14 && n <= 19) {
    return 'diners';
  }
  if (p2 === 62 && n >= 16 && n <= 19) return 'unionpay';
  if ([5018, 5020, 5038, 5893, 6304, 6759, 6761, 6762, 6763].includes(p4) && n >= 13 && n <= 19) {
    return 'maestro';
  }
  return undefined;
}

/** Registered IBAN lengths per country (ISO 13616 registry). */
export const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24,
  AE: 23,
  AL: 28,
  AT: 20,
  AZ: 28,
  BA: 20,
  BE: 16,
  BG: 22,
  BH: 22,
  BR: 29,
  CH: 21,
  CR: 22,
  CY: 28,
  CZ: 24,
  DE: 22,
  DK: 18,
  DO: 28,
  EE: 20,
  ES: 24,
  FI: 18,
  FO: 18,
  FR: 27,
  GB: 22,
  GE: 22,
  GI: 23,
  GL: 18,
  GR: 27,
  GT: 28,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IS: 26,
  IT: 27,
  JO: 30,
  KW: 30,
  KZ: 20,
  LB: 28,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  MC: 27,
  MD: 24,
  ME: 22,
  MK: 19,
  MR: 27,
  MT: 31,
  MU: 30,
  NL: 18,
  NO: 15,
  PK: 24,
  PL: 28,
  PS: 29,
  PT: 25,
  QA: 29,
  RO: 24,
  RS: 22,
  SA: 24,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  TN: 24,
  TR: 26,
  UA: 29,
  VG: 24,
  XK: 20,
};

/** IBAN check: registered length for its country and (rearranged number) mod 97 = 1. */
export function ibanValid(value: string): boolean {
  const s = value.replace(/\s+/g, '').toUpperCase();
  const len = IBAN_LENGTHS[s.slice(0, 2)];
  if (len === undefined || s.length !== len || !/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(s)) return false;
  const r = s.slice(4) + s.slice(0, 4);
  let mod = 0;
  for (let i = 0; i < r.length; i++) {
    const c = r.charCodeAt(i);
    if (c >= 65) mod = (mod * 100 + (c - 55)) % 97;
    else mod = (mod * 10 + (c - 48)) % 97;
  }
  return mod === 1;
}

// ---------------------------------------------------------------------------------------------
// Finders
// ---------------------------------------------------------------------------------------------

const EMAIL =
  /(?<![A-Za-z0-9._%+-])[A-Za-z0-9_%+-](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24}(?![A-Za-z0-9-])/g;
/** Phone candidates: an optional + or (, then digits and separators, ending in a digit. */
const PHONE_CANDIDATE = /(?<![\w.+/=?&-])(?:\+|\()?\d[\d ()./-]{6,22}\d(?![\w/-]|\.\d)/g;
const CARD_CANDIDATE = /(?<![\w.-])\d(?:[ -]?\d){12,18}(?![\w-]|\.\d)/g;
const IBAN_CANDIDATE =
  /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])/g;

function digitGroups(s: string): { digits: string; groups: number[]; seps: string } {
  let digits = '';
  let seps = '';
  const groups: number[] = [];
  let g = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i] as string;
    if (ch >= '0' && ch <= '9') {
      digits += ch;
      g++;
    } else {
      if (g > 0) groups.push(g);
      g = 0;
      seps += ch;
    }
  }
  if (g > 0) groups.push(g);
  return { digits, groups, seps };
}

/** Validates a phone candidate (see the module comment for the accepted shapes). */
export function isPhone(candidate: string): boolean {
  // Separators: single characters, no doubled punctuation except ") ".
  if (/[./-]{2}|\s{2}|\(\(|\)\)/.test(candidate)) return false;
  if (candidate.split('/').length > 2) return false; // paths and dates, not 0171/1234567
  const open = candidate.split('(').length - 1;
  const close = candidate.split(')').length - 1;
  if (open !== close || open > 1) return false;
  const { digits, groups } = digitGroups(candidate);
  const D = digits.length;
  if (candidate.startsWith('+')) {
    return D >= 8 && D <= 15 && digits[0] !== '0';
  }
  if (groups.length < 2) return false; // bare digit runs are ids, not phones
  if (groups.slice(1).some((g) => g < 2)) return false;
  if (digits.startsWith('00')) return D >= 10 && D <= 15 && digits[2] !== '0';
  // One separator kind (besides parentheses and the space after them) keeps dates and versions out.
  const kinds = new Set(candidate.replace(/\)\s?/g, '').replace(/[(\d]/g, ''));
  if (kinds.size > 1) return false;
  const nanp = (a: number): boolean => digits.charCodeAt(a) >= 50 && digits.charCodeAt(a + 3) >= 50;
  if (D === 10 && groups.join(',') === '3,3,4' && nanp(0)) return true;
  if (D === 11 && digits[0] === '1' && groups.join(',') === '1,3,3,4' && nanp(1)) return true;
  if (digits[0] === '0' && digits[1] !== '0' && D >= 9 && D <= 12) {
    if (kinds.has('.') && groups.length === 3 && (groups[2] === 4 || groups[0] === 4)) {
      return false; // 01.02.2003-like date
    }
    return groups.every((g) => g >= 2 && g <= 8);
  }
  return false;
}

/** Validates a card candidate: consistent grouping, issuer prefix and length, Luhn. */
export function isCard(candidate: string): boolean {
  const { digits, groups, seps } = digitGroups(candidate);
  if (digits.length < 13 || digits.length > 19) return false;
  if (seps.length > 0) {
    if (new Set(seps).size !== 1) return false;
    if (groups[0] !== 4) return false;
    for (let i = 1; i < groups.length; i++) {
      const g = groups[i] as number;
      if (g < 3 || g > 6) return false;
    }
  }
  if (new Set(digits).size < 3) return false; // 0000 0000 … and 1111 … are placeholders
  return cardIssuer(digits) !== undefined && luhnValid(digits);
}

function digitCount(text: string): number {
  let d = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) d++;
  }
  return d;
}

/** All PII findings in one text (already capped), sorted by start; cards win over phones. */
export function findPii(text: string, types: ReadonlySet<PiiType>): PiiFinding[] {
  const out: PiiFinding[] = [];
  if (types.has('email') && text.includes('@')) {
    EMAIL.lastIndex = 0;
    for (let m = EMAIL.exec(text); m; m = EMAIL.exec(text)) {
      out.push({ type: 'email', start: m.index, end: m.index + m[0].length });
    }
  }
  if (digitCount(text) < 8) return out;
  const taken: PiiFinding[] = [];
  if (types.has('card')) {
    CARD_CANDIDATE.lastIndex = 0;
    for (let m = CARD_CANDIDATE.exec(text); m; m = CARD_CANDIDATE.exec(text)) {
      if (isCard(m[0])) taken.push({ type: 'card', start: m.index, end: m.index + m[0].length });
    }
  }
  if (types.has('iban')) {
    IBAN_CANDIDATE.lastIndex = 0;
    for (let m = IBAN_CANDIDATE.exec(text); m; m = IBAN_CANDIDATE.exec(text)) {
      if (ibanValid(m[0])) taken.push({ type: 'iban', start: m.index, end: m.index + m[0].length });
    }
  }
  if (types.has('phone')) {
    PHONE_CANDIDATE.lastIndex = 0;
    for (let m = PHONE_CANDIDATE.exec(text); m; m = PHONE_CANDIDATE.exec(text)) {
      const s = m.index;
      const e = s + m[0].length;
      if (taken.some((t) => t.start < e && s < t.end)) continue;
      if (out.some((t) => t.start < e && s < t.end)) continue; // inside an e-mail address
      if (isPhone(m[0])) taken.push({ type: 'phone', start: s, end: e });
    }
  }
  for (const t of taken) out.push(t);
  return out.sort((a, b) => a.start - b.start);
}

function maskOf(type: PiiType, value: string): string {
  switch (type) {
    case 'email':
      return maskEmail(value);
    case 'phone':
      return maskPhone(value);
    case 'card':
      return maskCard(value);
    case 'iban':
      return maskIban(value);
  }
}

/** Per-row PII over rows [start, end): pure, safe to shard. */
export function scanPiiRange(
  rows: readonly ScanRow[],
  start: number,
  end: number,
  options: PiiOptions = {},
): {
  issues: Issue[];
  occurrences: Record<PiiType, number>;
  rowsByType: Record<PiiType, number>;
  withText: number;
  truncated: number;
} {
  const types = new Set(options.types ?? PII_TYPES);
  const maxChars = options.maxChars ?? PII_MAX_CHARS;
  const occurrences: Record<PiiType, number> = { card: 0, iban: 0, phone: 0, email: 0 };
  const rowsByType: Record<PiiType, number> = { card: 0, iban: 0, phone: 0, email: 0 };
  const issues: Issue[] = [];
  let withText = 0;
  let truncated = 0;
  for (let i = start; i < end; i++) {
    const row = rows[i] as ScanRow;
    const raw = row.text;
    if (typeof raw !== 'string' || raw.length === 0) continue;
    withText++;
    let text = raw;
    if (text.length > maxChars) {
      text = text.slice(0, maxChars);
      truncated++;
    }
    const found = findPii(text, types);
    if (found.length === 0) continue;
    const perType: Partial<Record<PiiType, number>> = {};
    for (const f of found) perType[f.type] = (perType[f.type] ?? 0) + 1;
    let top: PiiType = 'email';
    let score = 0;
    for (const t of PII_TYPES) {
      const c = perType[t];
      if (c === undefined) continue;
      occurrences[t] += c;
      rowsByType[t]++;
      if (PII_TYPE_SCORES[t] > score) {
        score = PII_TYPE_SCORES[t];
        top = t;
      }
    }
    const first = found.find((f) => f.type === top) as PiiFinding;
    issues.push({
      kind: 'pii',
      row: row.id,
      score,
      detail: {
        type: top,
        masked: maskOf(top, text.slice(first.start, first.end)),
        counts: perType,
        findings: found.slice(0, PII_MAX_EXAMPLES_PER_ROW).map((f) => ({
          type: f.type,
          masked: maskOf(f.type, text.slice(f.start, f.end)),
        })),
      },
    });
  }
  return { issues, occurrences, rowsByType, withText, truncated };
}

/** Rows between progress reports. */
const PROGRESS_CHUNK = 65_536;

/** What `scanPiiRange` returns for one range of rows. */
export type PiiPart = ReturnType<typeof scanPiiRange>;

/** The detector's result from the parts of consecutive row ranges covering `n` rows, in order. */
export function piiResult(
  n: number,
  parts: readonly PiiPart[],
  options: PiiOptions = {},
): DetectorResult {
  const issues: Issue[] = [];
  const occurrences: Record<PiiType, number> = { card: 0, iban: 0, phone: 0, email: 0 };
  const rowsByType: Record<PiiType, number> = { card: 0, iban: 0, phone: 0, email: 0 };
  let withText = 0;
  let truncated = 0;
  for (const r of parts) {
    for (const i of r.issues) issues.push(i);
    for (const t of PII_TYPES) {
      occurrences[t] += r.occurrences[t];
      rowsByType[t] += r.rowsByType[t];
    }
    withText += r.withText;
    truncated += r.truncated;
  }
  const parameters = {
    types: [...(options.types ?? PII_TYPES)],
    maxChars: options.maxChars ?? PII_MAX_CHARS,
    scores: PII_TYPE_SCORES,
  };
  if (withText === 0) {
    return {
      issues: [],
      summary: { rows: n, rowsWithText: 0, parameters },
      skipped: 'no row has text',
    };
  }
  return {
    issues,
    summary: {
      rows: n,
      rowsWithText: withText,
      rowsFlagged: issues.length,
      occurrences,
      rowsByType,
      rowsTruncated: truncated,
      parameters,
    },
  };
}

export const piiDetector: Detector<PiiOptions> = {
  id: 'leak/pii',
  meta: {
    kinds: ['pii'],
    needs: ['text'],
    description:
      'Personal data in row text: e-mail addresses, phone numbers, Luhn-valid card numbers with known issuer prefixes, IBANs (mod 97); values are masked.',
  },
  run(rows: readonly ScanRow[], options: PiiOptions = {}, progress?: Progress): DetectorResult {
    const n = rows.length;
    const parts: PiiPart[] = [];
    for (let s = 0; s < n; s += PROGRESS_CHUNK) {
      parts.push(scanPiiRange(rows, s, Math.min(n, s + PROGRESS_CHUNK), options));
      progress?.(Math.min(n, s + PROGRESS_CHUNK) / n);
    }
    return piiResult(n, parts, options);
  },
};
