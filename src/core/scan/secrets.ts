/**
 * `leak/secrets`: credentials left in training rows (a model trained on them can regurgitate them).
 *
 * Two layers run on every row's text (capped at SECRETS_MAX_CHARS characters):
 *
 * 1. **Cordon's own rules** (synchronous, one regex pass each):
 *    - `cordon/private-key`: PEM / OpenSSH / PGP private key blocks, also with the line breaks
 *      escaped as `\n` (as in a GCP service-account JSON's `private_key`), needing at least
 *      PEM_MIN_BODY base64 characters after the header (a bare header in a how-to is not a key);
 *    - `cordon/jwt`: three base64url segments whose first decodes to a JSON object with `alg`;
 *    - `cordon/api-token`: Cordon's own `cordon_(nhi|pat)_(live|test)_<keyId>_<secret+checksum>`
 *      (shape only, governance notes §3);
 *    - `cordon/prefixed-key`: well-known prefixed keys the secretlint preset lacks (Stripe
 *      `sk_live_`/`rk_`/`pk_`, Google API `AIza…`, GitLab `glpat-`, Hugging Face `hf_`, PyPI,
 *      DigitalOcean);
 *    - `cordon/keyword-entropy`: a value assigned to a credential-like name
 *      (`api_key = …`, `"token": "…"`, `Authorization: Bearer …`) that is ≥ 16 characters of the
 *      base64/hex alphabet and close to random (see below);
 *    - `cordon/high-entropy`: a free-standing run of ≥ 20 base64/base64url characters that looks
 *      random: upper case, lower case and digits all present, frequent character-class changes,
 *      at most one `-`, Shannon entropy close to that of a random string of the same length.
 *      Pure hex (checksums, Message-IDs) needs a keyword. Runs inside URLs, e-mail addresses,
 *      PGP signature / public-key / message blocks, MIME encoded words (`=?utf-8?B?…?=`) and
 *      multi-line base64 bodies (attachments) are not considered: they are encoded content,
 *      not credentials. Random "hash-buster" strings that spammers add to defeat filters are
 *      random too and DO get flagged (score 0.5): on the 3,023-message SpamAssassin sample,
 *      10 rows, all of them such strings (no named rule fires there).
 *
 * 2. **secretlint's recommended preset** (`@secretlint/core` `lintSource`, in process): AWS,
 *    GCP service-account JSON, private keys, npm, basic auth in URLs, Slack, SendGrid, Shopify,
 *    GitHub, OpenAI, Anthropic, Linear, 1Password, database connection strings. It costs ≈ 0.2 ms
 *    per call whatever the input size, so rows are first screened with one cheap regex of the
 *    prefixes/keywords its rules need (SECRETLINT_PREFILTER), and the rows that pass are linted in
 *    batches joined by a separator no rule can match across. Its comment-directive rule
 *    (`secretlint-disable`) is turned off: row text is untrusted and must not switch the scan off.
 *    AWS account ids are not reported (an account id is not a credential).
 *
 * Findings overlapping a finding of the same family, or generic entropy findings overlapping a
 * named one, are merged. One issue per row: score = the highest finding's confidence.
 * Detail: `{ rule, masked, range: [start, end], findings: [{ rule, masked, range }] }`. Values are
 * masked with `maskSecret`; the raw value never leaves this module.
 *
 * PGP signatures and public keys in mailing-list mail are public by design and are NOT flagged;
 * PGP *private* key blocks are.
 */

import { lintSource } from '@secretlint/core';
import { rules as presetRules } from '@secretlint/secretlint-rule-preset-recommend';
import { maskSecret } from './mask.js';
import { logChoose } from './stats.js';
import type { Detector, DetectorResult, Issue, Progress, ScanRow } from './types.js';

// ---------------------------------------------------------------------------------------------
// Defaults
// ---------------------------------------------------------------------------------------------

/** Characters of a row scanned: 256 KiB covers any real credential-bearing text; bounds 1 MB rows. */
export const SECRETS_MAX_CHARS = 256 * 1024;
/** Findings kept per row in the detail (the count is always exact). */
export const SECRETS_MAX_FINDINGS_PER_ROW = 20;
/** Minimum length of a free-standing high-entropy token (the brief's floor; shorter is too noisy). */
export const ENTROPY_MIN_LENGTH = 20;
/** Minimum length of a keyword-assigned value (passwords and short API keys are 16–20 chars). */
export const KEYWORD_MIN_LENGTH = 16;
/** Longer runs are encoded blobs (attachments, images), not credentials, for the generic rules. */
export const ENTROPY_MAX_LENGTH = 512;
/**
 * A free-standing token must reach E[H of a random string of its length] − this many bits. The
 * 1st percentile of random base62 strings sits 0.35–0.45 bits below the mean for lengths 20–64,
 * so 0.6 bits keeps recall on random keys ≈ 99 % and rejects words and identifiers.
 */
export const ENTROPY_MARGIN_BITS = 0.6;
/** Looser margin when a credential keyword names the value (context already says "secret"). */
export const KEYWORD_ENTROPY_MARGIN_BITS = 1.0;
/**
 * Share of adjacent character pairs that change class (upper/lower/digit) in a free-standing
 * token. Random base62: ≈ 0.62; CamelCase identifiers and words with a number: 0.1–0.3.
 */
export const MIN_CLASS_CHANGE_RATIO = 0.35;
/** Base64 characters needed in a private key body (a real RSA/EC key has hundreds). */
export const PEM_MIN_BODY = 40;
/** Characters per secretlint batch: amortises its ≈ 0.2 ms setup per call over many rows. */
export const SECRETLINT_BATCH_CHARS = 64 * 1024;

/** Confidence per rule family (row score = the highest). */
export const SECRET_RULE_SCORES: Readonly<Record<string, number>> = {
  'private-key': 1,
  'cordon/api-token': 1,
  'cordon/prefixed-key': 0.95,
  'cordon/jwt': 0.9,
  secretlint: 0.95,
  'secretlint-weak': 0.8,
  'cordon/keyword-entropy': 0.7,
  'cordon/high-entropy': 0.5,
};

export interface SecretsOptions {
  /** Run secretlint's recommended preset (default true). */
  secretlint?: boolean;
  /** Generic entropy rules: 'any' (keyword and free-standing, default), 'keyword', or 'off'. */
  entropy?: 'any' | 'keyword' | 'off';
  /** Characters scanned per row (default SECRETS_MAX_CHARS). */
  maxChars?: number;
  /** Strings never reported (exact values, e.g. documented example keys). */
  allow?: readonly string[];
}

/** One secret found in a text. Offsets are UTF-16 code unit indices into the row text. */
export interface SecretFinding {
  rule: string;
  start: number;
  end: number;
  score: number;
}

// ---------------------------------------------------------------------------------------------
// Entropy
// ---------------------------------------------------------------------------------------------

const counts = new Int32Array(128);

/** Shannon entropy (bits per character) of text[start, end), ASCII only (others share a bin). */
export function shannonEntropy(text: string, start = 0, end = text.length): number {
  const n = end - start;
  if (n <= 0) return 0;
  counts.fill(0);
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    const bin = c < 128 ? c : 0;
    counts[bin] = (counts[bin] as number) + 1;
  }
  let h = 0;
  for (let c = 0; c < 128; c++) {
    const k = counts[c] as number;
    if (k > 0) {
      const p = k / n;
      h -= p * Math.log2(p);
    }
  }
  return h;
}

const expectedCache = new Map<number, Float64Array>();

/**
 * Expected plug-in Shannon entropy of a uniformly random string of length `length` over an
 * alphabet of `alphabet` symbols: A · Σ_k Binom(k; L, 1/A) · (−(k/L) log2(k/L)). Exact, cached.
 */
export function expectedRandomEntropy(length: number, alphabet: number): number {
  let table = expectedCache.get(alphabet);
  if (!table) {
    table = new Float64Array(ENTROPY_MAX_LENGTH + 1).fill(Number.NaN);
    expectedCache.set(alphabet, table);
  }
  const L = Math.min(length, ENTROPY_MAX_LENGTH);
  const cached = table[L] as number;
  if (!Number.isNaN(cached)) return cached;
  const p = 1 / alphabet;
  let e = 0;
  for (let k = 1; k <= L; k++) {
    const lp = logChoose(L, k) + k * Math.log(p) + (L - k) * Math.log1p(-p);
    const q = k / L;
    e += Math.exp(lp) * -q * Math.log2(q);
  }
  e *= alphabet;
  table[L] = e;
  return e;
}

const enum Cls {
  Upper = 1,
  Lower = 2,
  Digit = 3,
  Other = 4,
}

function charClass(c: number): Cls {
  if (c >= 65 && c <= 90) return Cls.Upper;
  if (c >= 97 && c <= 122) return Cls.Lower;
  if (c >= 48 && c <= 57) return Cls.Digit;
  return Cls.Other;
}

interface TokenShape {
  upper: number;
  lower: number;
  digit: number;
  dash: number;
  underscore: number;
  slashPlus: number;
  changes: number;
  hexOnly: boolean;
}

function shapeOf(text: string, start: number, end: number): TokenShape {
  let upper = 0;
  let lower = 0;
  let digit = 0;
  let dash = 0;
  let underscore = 0;
  let slashPlus = 0;
  let changes = 0;
  let hexLower = true;
  let hexUpper = true;
  let prev: Cls = Cls.Other;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    const k = charClass(c);
    if (k === Cls.Upper) upper++;
    else if (k === Cls.Lower) lower++;
    else if (k === Cls.Digit) digit++;
    else if (c === 45) dash++;
    else if (c === 95) underscore++;
    else slashPlus++;
    if (!(k === Cls.Digit || (c >= 97 && c <= 102))) hexLower = false;
    if (!(k === Cls.Digit || (c >= 65 && c <= 70))) hexUpper = false;
    if (i > start && k !== prev && k !== Cls.Other && prev !== Cls.Other) changes++;
    prev = k;
  }
  return {
    upper,
    lower,
    digit,
    dash,
    underscore,
    slashPlus,
    changes,
    hexOnly: hexLower || hexUpper,
  };
}

/**
 * True when text[start, end) looks like a random credential rather than a word, identifier,
 * number or hash. `keyword`: a credential name precedes it (looser thresholds, hex allowed).
 */
export function looksRandom(text: string, start: number, end: number, keyword: boolean): boolean {
  const n = end - start;
  if (n < (keyword ? KEYWORD_MIN_LENGTH : ENTROPY_MIN_LENGTH) || n > ENTROPY_MAX_LENGTH) {
    return false;
  }
  const s = shapeOf(text, start, end);
  const h = shannonEntropy(text, start, end);
  if (s.hexOnly) {
    if (!keyword || s.digit === 0 || s.digit === n) return false;
    return h >= expectedRandomEntropy(n, 16) - KEYWORD_ENTROPY_MARGIN_BITS;
  }
  if (s.digit === 0 || s.upper + s.lower === 0) return false;
  const alphabet = s.dash + s.underscore + s.slashPlus > 0 ? 64 : 62;
  if (keyword) return h >= expectedRandomEntropy(n, alphabet) - KEYWORD_ENTROPY_MARGIN_BITS;
  if (s.upper === 0 || s.lower === 0) return false;
  if (s.dash > 1 || s.underscore > 2) return false;
  if (s.changes < MIN_CLASS_CHANGE_RATIO * (n - 1 - s.dash - s.underscore - s.slashPlus)) {
    return false;
  }
  return h >= expectedRandomEntropy(n, alphabet) - ENTROPY_MARGIN_BITS;
}

// ---------------------------------------------------------------------------------------------
// Cordon's own rules
// ---------------------------------------------------------------------------------------------

const PEM_HEADER = /-----BEGIN ((?:[A-Z0-9]+ ){0,3})PRIVATE KEY(?: BLOCK)?-----/g;
const PEM_FOOTER = /-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----/g;
const JWT = /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g;
const CORDON_TOKEN =
  /(?<![A-Za-z0-9_])cordon_(?:nhi|pat)_(?:live|test)_[A-Za-z0-9]{1,64}_[A-Za-z0-9]{26,128}(?![A-Za-z0-9_])/g;
const PREFIXED_KEY = new RegExp(
  '(?<![A-Za-z0-9_])(?:' +
    [
      String.raw`(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,247}`, // Stripe secret / restricted / publishable
      String.raw`AIza[0-9A-Za-z_-]{35}`, // Google API key
      String.raw`glpat-[0-9A-Za-z_-]{20,}`, // GitLab personal access token
      String.raw`hf_[A-Za-z]{34,}`, // Hugging Face token
      String.raw`pypi-AgEIcHlwaS5vcmc[0-9A-Za-z_-]{50,}`, // PyPI upload token
      String.raw`dop_v1_[a-f0-9]{64}`, // DigitalOcean personal access token
    ].join('|') +
    ')(?![A-Za-z0-9_])',
  'g',
);
/** Substrings one of which every PREFIXED_KEY match contains (a cheap gate before the regex). */
const PREFIXED_KEY_MARKERS = ['_live_', '_test_', 'AIza', 'glpat-', 'hf_', 'pypi-', 'dop_v1_'];
/** Characters of candidate runs for the generic rules: the base64 and base64url alphabets. */
const RUN_CHAR = (() => {
  const t = new Uint8Array(128);
  for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-') {
    t[ch.charCodeAt(0)] = 1;
  }
  return t;
})();
/** A credential-like name right before a value (tested on the 48 characters before the run). */
const KEYWORD_BEFORE =
  /(?:api[_-]?key|apikey|secret|token|passw(?:or)?d|passwd|pwd|auth|bearer|credential|access[_-]?key|private[_-]?key|client[_-]?id|session[_-]?id|signature)[A-Za-z0-9_.-]{0,20}["']?\s{0,3}(?:[:=]|=>|\s)\s{0,3}["']?$/i;
const PGP_PUBLIC_BLOCK =
  /-----BEGIN PGP (?:SIGNATURE|PUBLIC KEY BLOCK|MESSAGE|SIGNED MESSAGE)-----[\s\S]*?(?:-----END PGP (?:SIGNATURE|PUBLIC KEY BLOCK|MESSAGE)-----|$)/g;
const B64_LINE = /^[A-Za-z0-9+/]{40,}={0,2}$/;

/** Base64 characters in a key body; escaped "\n" sequences count as separators. */
function pemBodyChars(text: string, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 92 && text.charCodeAt(i + 1) === 110) {
      i++;
      continue;
    }
    if (charClass(c) !== Cls.Other || c === 43 || c === 47 || c === 61) n++;
  }
  return n;
}

function findPrivateKeys(text: string, out: SecretFinding[]): void {
  if (!text.includes('PRIVATE KEY')) return;
  PEM_HEADER.lastIndex = 0;
  for (let m = PEM_HEADER.exec(text); m; m = PEM_HEADER.exec(text)) {
    const bodyStart = m.index + m[0].length;
    PEM_FOOTER.lastIndex = bodyStart;
    const f = PEM_FOOTER.exec(text);
    let end: number;
    if (f) {
      end = f.index + f[0].length;
    } else {
      // Truncated text: the key runs as far as base64, whitespace and escaped newlines go.
      end = bodyStart;
      while (end < text.length) {
        const c = text.charCodeAt(end);
        if (charClass(c) !== Cls.Other || c === 43 || c === 47 || c === 61 || c <= 32 || c === 92) {
          end++;
        } else break;
      }
    }
    const bodyEnd = f ? f.index : end;
    if (pemBodyChars(text, bodyStart, bodyEnd) >= PEM_MIN_BODY) {
      out.push({ rule: 'cordon/private-key', start: m.index, end, score: 1 });
      PEM_HEADER.lastIndex = end;
    }
  }
}

function base64UrlJson(segment: string): unknown {
  try {
    const json = Buffer.from(segment, 'base64url').toString('utf8');
    return JSON.parse(json) as unknown;
  } catch {
    return undefined;
  }
}

function findJwts(text: string, out: SecretFinding[]): void {
  if (!text.includes('eyJ')) return;
  JWT.lastIndex = 0;
  for (let m = JWT.exec(text); m; m = JWT.exec(text)) {
    const token = m[0];
    const header = base64UrlJson(token.slice(0, token.indexOf('.')));
    if (
      header !== null &&
      typeof header === 'object' &&
      !Array.isArray(header) &&
      typeof (header as Record<string, unknown>).alg === 'string'
    ) {
      out.push({
        rule: 'cordon/jwt',
        start: m.index,
        end: m.index + token.length,
        score: SECRET_RULE_SCORES['cordon/jwt'] as number,
      });
    }
  }
}

function findByRegex(text: string, re: RegExp, rule: string, out: SecretFinding[]): void {
  re.lastIndex = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    out.push({
      rule,
      start: m.index,
      end: m.index + m[0].length,
      score: SECRET_RULE_SCORES[rule] as number,
    });
  }
}

/** Ranges [start, end) of PGP signature/public-key/message blocks (public by design). */
function pgpRanges(text: string): number[] {
  if (!text.includes('-----BEGIN PGP')) return [];
  const r: number[] = [];
  PGP_PUBLIC_BLOCK.lastIndex = 0;
  for (let m = PGP_PUBLIC_BLOCK.exec(text); m; m = PGP_PUBLIC_BLOCK.exec(text)) {
    r.push(m.index, m.index + m[0].length);
    if (m[0].length === 0) PGP_PUBLIC_BLOCK.lastIndex++;
  }
  return r;
}

function inRanges(ranges: number[], pos: number): boolean {
  for (let i = 0; i < ranges.length; i += 2) {
    if (pos >= (ranges[i] as number) && pos < (ranges[i + 1] as number)) return true;
  }
  return false;
}

/** The line containing pos: [start, end) without the newline. */
function lineAround(text: string, pos: number): [number, number] {
  const s = text.lastIndexOf('\n', pos - 1) + 1;
  let e = text.indexOf('\n', pos);
  if (e < 0) e = text.length;
  return [s, e];
}

function isBase64Line(text: string, s: number, e: number): boolean {
  let a = s;
  let b = e;
  while (a < b && text.charCodeAt(a) <= 32) a++;
  while (b > a && text.charCodeAt(b - 1) <= 32) b--;
  return b - a >= 40 && B64_LINE.test(text.slice(a, b));
}

/** True when the run is a whole line of a multi-line base64 body (MIME attachment, armour). */
function inBase64Block(text: string, start: number, end: number): boolean {
  if (end - start < 40) return false;
  const [ls, le] = lineAround(text, start);
  if (!isBase64Line(text, ls, le) || end < le - 2) return false;
  if (ls > 0) {
    const [ps, pe] = lineAround(text, ls - 1);
    if (isBase64Line(text, ps, pe)) return true;
  }
  if (le < text.length) {
    const [ns, ne] = lineAround(text, le + 1);
    if (isBase64Line(text, ns, ne)) return true;
  }
  return false;
}

/** True when the run sits inside a URL or an e-mail address (tracking ids, paths, hosts). */
function inUrlOrEmail(text: string, start: number, end: number): boolean {
  if (text.charCodeAt(end) === 64 || text.charCodeAt(start - 1) === 64) return true;
  let i = start - 1;
  const stop = Math.max(0, start - 2048);
  for (; i >= stop; i--) {
    const c = text.charCodeAt(i);
    if (c <= 32 || c === 60 || c === 34 || c === 39 || c === 40 || c === 62) break;
  }
  const prefix = text.slice(i + 1, start);
  return prefix.includes('://') || prefix.startsWith('www.') || prefix.includes('@');
}

/** True when the run is the payload of an RFC 2047 encoded word (`=?charset?B?…?=`). */
function isEncodedWord(text: string, start: number): boolean {
  const c = text.charCodeAt(start - 2);
  return (
    start >= 3 &&
    text.charCodeAt(start - 1) === 63 &&
    (c === 66 || c === 98 || c === 81 || c === 113) &&
    text.charCodeAt(start - 3) === 63
  );
}

/** Runs of base64/base64url characters [start, end) of at least `min` characters. */
function forEachRun(text: string, min: number, fn: (start: number, end: number) => void): void {
  // A hand-written scan: the equivalent regex retries at every position inside every word and
  // costs ~10× more on ordinary prose.
  const len = text.length;
  let i = 0;
  while (i < len) {
    const c = text.charCodeAt(i);
    if (c < 128 && RUN_CHAR[c] === 1) {
      let j = i + 1;
      while (j < len) {
        const d = text.charCodeAt(j);
        if (d < 128 && RUN_CHAR[d] === 1) j++;
        else break;
      }
      if (j - i >= min) fn(i, j);
      i = j + 1;
    } else i++;
  }
}

function findGeneric(text: string, mode: 'any' | 'keyword', out: SecretFinding[]): void {
  let pgp: number[] | undefined;
  forEachRun(text, KEYWORD_MIN_LENGTH, (start, end) => {
    if (end - start > ENTROPY_MAX_LENGTH) return;
    const before = text.slice(Math.max(0, start - 48), start);
    const keyword = KEYWORD_BEFORE.test(before);
    if (!keyword && mode === 'keyword') return;
    if (!keyword && end - start < ENTROPY_MIN_LENGTH) return;
    pgp ??= pgpRanges(text);
    if (pgp.length > 0 && inRanges(pgp, start)) return;
    if (keyword) {
      if (looksRandom(text, start, end, true)) {
        out.push({ rule: 'cordon/keyword-entropy', start, end, score: 0.7 });
      }
      return;
    }
    if (inUrlOrEmail(text, start, end) || inBase64Block(text, start, end)) return;
    if (isEncodedWord(text, start)) return;
    // A path: judge the longest '/'-separated segment on its own.
    let s = start;
    let e = end;
    if (text.slice(start, end).includes('/')) {
      let best = 0;
      let segStart = start;
      for (let i = start; i <= end; i++) {
        if (i === end || text.charCodeAt(i) === 47) {
          if (i - segStart > best) {
            best = i - segStart;
            s = segStart;
            e = i;
          }
          segStart = i + 1;
        }
      }
    }
    if (looksRandom(text, s, e, false)) {
      out.push({ rule: 'cordon/high-entropy', start: s, end: e, score: 0.5 });
    }
  });
}

/**
 * Cordon's own rules on one text (already capped). Findings are unsorted and may overlap; see
 * `mergeFindings`.
 */
export function findCordonSecrets(
  text: string,
  entropy: 'any' | 'keyword' | 'off' = 'any',
): SecretFinding[] {
  const out: SecretFinding[] = [];
  findPrivateKeys(text, out);
  findJwts(text, out);
  if (text.includes('cordon_')) findByRegex(text, CORDON_TOKEN, 'cordon/api-token', out);
  if (PREFIXED_KEY_MARKERS.some((m) => text.includes(m))) {
    findByRegex(text, PREFIXED_KEY, 'cordon/prefixed-key', out);
  }
  if (entropy !== 'off') findGeneric(text, entropy, out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// secretlint
// ---------------------------------------------------------------------------------------------

type SecretlintConfig = Parameters<typeof lintSource>[0]['options']['config'];

const FILTER_COMMENTS_RULE = '@secretlint/secretlint-rule-filter-comments';

/**
 * The preset's rules registered one by one rather than as the preset: @secretlint/core 11 ignores
 * `disabled` on a rule inside a preset, and the comment-directive rule must be off (row text is
 * untrusted: a "secretlint-disable" line in it must not hide the key on the next line).
 */
const SECRETLINT_CONFIG: SecretlintConfig = {
  rules: presetRules
    .filter((rule) => rule.meta.id !== FILTER_COMMENTS_RULE)
    .map((rule) =>
      rule.meta.id === '@secretlint/secretlint-rule-aws'
        ? {
            id: rule.meta.id,
            rule,
            options: { enableIDScanRule: true },
            allowMessageIds: ['AWSAccountID'],
          }
        : { id: rule.meta.id, rule },
    ),
};

/**
 * Cheap screen for rows secretlint could flag: the prefixes and keywords every rule of the
 * recommended preset needs (AWS key ids and secret keys, Slack, SendGrid, Shopify, GitHub,
 * OpenAI, Anthropic, Linear, 1Password, npm, private keys, credentials in URLs, database URLs,
 * GCP service-account JSON).
 */
export const SECRETLINT_PREFILTER =
  /(?:A3T[A-Z0-9]|AKIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ASIA)[A-Z0-9]{16}|secret_?access_?key|xox[bpaor]-|xapp-|hooks\.slack\.com|SG\.\w|shp(?:pa|ca|at|ss)_|gh[pousr]_|github_pat_|T3BlbkFJ|sk-ant-api|lin_api_|ops_ey|npm_|_authToken|PRIVATE KEY|:\/\/[^\s/:@]{1,256}:[^\s/@]{1,256}@|mongodb|mysql|postgres|private_key/i;

/** Separator between rows in one secretlint batch: NUL stops every rule's character class. */
const BATCH_SEPARATOR = '\n\u0000\n';

const AWS_SECRET_VALUE = /["']?\s*(?::|=>|=)\s*["']?([A-Za-z0-9/+=]{40})/g;

function secretlintRule(ruleId: string, messageId: string): { rule: string; score: number } {
  const short = ruleId.replace(/^@secretlint\/secretlint-rule-/, '');
  const weak = short === 'basicauth' || short === 'database-connection-string';
  return {
    rule: `secretlint/${short}:${messageId}`,
    score:
      short === 'privatekey'
        ? 1
        : ((weak
            ? SECRET_RULE_SCORES['secretlint-weak']
            : SECRET_RULE_SCORES.secretlint) as number),
  };
}

async function lintOne(content: string, json: boolean) {
  return lintSource({
    source: {
      content,
      filePath: json ? 'row.json' : 'row.txt',
      ext: json ? '.json' : '.txt',
      contentType: 'text',
    },
    options: { config: SECRETLINT_CONFIG, maskSecrets: true, noPhysicFilePath: true },
  });
}

function toFinding(
  text: string,
  ruleId: string,
  messageId: string,
  range: readonly [number, number],
): SecretFinding {
  const { rule, score } = secretlintRule(ruleId, messageId);
  let [start, end] = range;
  if (messageId === 'AWSSecretAccessKey') {
    // secretlint reports the key name's start with the secret's length: point at the value.
    AWS_SECRET_VALUE.lastIndex = start;
    const m = AWS_SECRET_VALUE.exec(text);
    if (m && m.index < start + 64 && m[1] !== undefined) {
      end = m.index + m[0].length;
      start = end - m[1].length;
    }
  }
  return { rule, start, end, score };
}

/**
 * Runs secretlint's recommended preset over texts (already capped); returns the findings per
 * text. Texts are batched (SECRETLINT_BATCH_CHARS) except JSON objects, which are linted alone
 * so the GCP service-account rule can parse them.
 */
export async function secretlintTexts(texts: readonly string[]): Promise<SecretFinding[][]> {
  const out: SecretFinding[][] = texts.map(() => []);
  let batch: number[] = [];
  let batchChars = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const offsets: number[] = [];
    let content = '';
    for (const i of batch) {
      if (content.length > 0) content += BATCH_SEPARATOR;
      offsets.push(content.length);
      content += texts[i] as string;
    }
    const result = await lintOne(content, false);
    for (const msg of result.messages) {
      if (msg.type !== 'message') continue;
      // Find the row holding the range start (binary search over offsets).
      let lo = 0;
      let hi = offsets.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if ((offsets[mid] as number) <= msg.range[0]) lo = mid;
        else hi = mid - 1;
      }
      const row = batch[lo] as number;
      const base = offsets[lo] as number;
      const text = texts[row] as string;
      const s = msg.range[0] - base;
      const e = msg.range[1] - base;
      if (s < 0 || e > text.length) continue; // spans a separator: cannot be one row's secret
      (out[row] as SecretFinding[]).push(toFinding(text, msg.ruleId, msg.messageId, [s, e]));
    }
    batch = [];
    batchChars = 0;
  };
  for (let i = 0; i < texts.length; i++) {
    const text = texts[i] as string;
    const trimmed = text.trimStart();
    if (trimmed.startsWith('{') && text.includes('private_key')) {
      const result = await lintOne(text, true);
      for (const msg of result.messages) {
        if (msg.type !== 'message') continue;
        (out[i] as SecretFinding[]).push(toFinding(text, msg.ruleId, msg.messageId, msg.range));
      }
      continue;
    }
    batch.push(i);
    batchChars += text.length + BATCH_SEPARATOR.length;
    if (batchChars >= SECRETLINT_BATCH_CHARS) await flush();
  }
  await flush();
  return out;
}

// ---------------------------------------------------------------------------------------------
// Merging and the detector
// ---------------------------------------------------------------------------------------------

function family(rule: string): string {
  if (rule === 'cordon/private-key' || rule.startsWith('secretlint/privatekey'))
    return 'private-key';
  if (rule === 'cordon/keyword-entropy' || rule === 'cordon/high-entropy') return 'generic';
  return rule;
}

/**
 * Sorts findings by start and drops: generic entropy findings that overlap any named finding,
 * and findings that overlap a kept finding of the same family (secretlint and Cordon both see a
 * PEM block), and exact duplicates.
 */
export function mergeFindings(findings: readonly SecretFinding[]): SecretFinding[] {
  const sorted = [...findings].sort(
    (a, b) =>
      (family(a.rule) === 'generic' ? 1 : 0) - (family(b.rule) === 'generic' ? 1 : 0) ||
      b.score - a.score ||
      a.start - b.start,
  );
  const kept: SecretFinding[] = [];
  for (const f of sorted) {
    const fam = family(f.rule);
    const clash = kept.some(
      (k) =>
        k.start < f.end &&
        f.start < k.end &&
        (fam === 'generic' || family(k.rule) === fam || (k.start === f.start && k.end === f.end)),
    );
    if (!clash) kept.push(f);
  }
  return kept.sort((a, b) => a.start - b.start || a.end - b.end);
}

export interface RowSecrets {
  index: number;
  findings: SecretFinding[];
}

/**
 * The synchronous part over rows [start, end): Cordon's rules on each (capped) text, and the
 * indices of the rows the secretlint prefilter lets through. Pure; safe to shard.
 */
export function scanSecretsRange(
  rows: readonly ScanRow[],
  start: number,
  end: number,
  options: SecretsOptions = {},
): { found: RowSecrets[]; secretlintCandidates: number[]; truncated: number; withText: number } {
  const maxChars = options.maxChars ?? SECRETS_MAX_CHARS;
  const entropy = options.entropy ?? 'any';
  const useSecretlint = options.secretlint ?? true;
  const found: RowSecrets[] = [];
  const secretlintCandidates: number[] = [];
  let truncated = 0;
  let withText = 0;
  for (let i = start; i < end; i++) {
    const raw = (rows[i] as ScanRow).text;
    if (typeof raw !== 'string' || raw.length === 0) continue;
    withText++;
    let text = raw;
    if (text.length > maxChars) {
      text = text.slice(0, maxChars);
      truncated++;
    }
    const f = findCordonSecrets(text, entropy);
    if (f.length > 0) found.push({ index: i, findings: f });
    if (useSecretlint && SECRETLINT_PREFILTER.test(text)) secretlintCandidates.push(i);
  }
  return { found, secretlintCandidates, truncated, withText };
}

function cappedText(row: ScanRow, maxChars: number): string {
  const t = row.text ?? '';
  return t.length > maxChars ? t.slice(0, maxChars) : t;
}

/** Chunk of rows between progress reports and event-loop yields. */
const PROGRESS_CHUNK = 16_384;

/** Secret findings over a range of rows, and the counts the detector's summary adds up. */
export interface SecretsPart {
  /** Flagged rows of the range, in row order. */
  issues: Issue[];
  withText: number;
  truncated: number;
  sentToSecretlint: number;
  findings: number;
  /** Findings per rule, keys in the order the rules were first met (row order). */
  byRule: Record<string, number>;
}

/**
 * The whole detector over rows [start, end): Cordon's rules, secretlint on the rows its
 * prefilter passes, merging and masking. Every step looks at one row at a time (secretlint
 * batches rows, but a NUL separator keeps each row's findings its own), so ranges can run
 * anywhere and `secretsResult` adds them up to what one run over all rows gives.
 */
export async function scanSecretRows(
  rows: readonly ScanRow[],
  start: number,
  end: number,
  options: SecretsOptions = {},
  progress?: Progress,
): Promise<SecretsPart> {
  const maxChars = options.maxChars ?? SECRETS_MAX_CHARS;
  const allow = new Set(options.allow ?? []);
  const total = Math.max(1, end - start);
  const perRow = new Map<number, SecretFinding[]>();
  const candidates: number[] = [];
  let truncated = 0;
  let withText = 0;
  for (let s = start; s < end; s += PROGRESS_CHUNK) {
    const e = Math.min(end, s + PROGRESS_CHUNK);
    const r = scanSecretsRange(rows, s, e, options);
    for (const f of r.found) perRow.set(f.index, f.findings);
    for (const c of r.secretlintCandidates) candidates.push(c);
    truncated += r.truncated;
    withText += r.withText;
    progress?.((0.5 * (e - start)) / total);
  }
  for (let s = 0; s < candidates.length; s += 1024) {
    const idx = candidates.slice(s, s + 1024);
    const res = await secretlintTexts(idx.map((i) => cappedText(rows[i] as ScanRow, maxChars)));
    for (let k = 0; k < idx.length; k++) {
      const f = res[k] as SecretFinding[];
      if (f.length === 0) continue;
      const i = idx[k] as number;
      const prev = perRow.get(i);
      if (prev) prev.push(...f);
      else perRow.set(i, f);
    }
    progress?.(0.5 + (0.5 * Math.min(candidates.length, s + 1024)) / candidates.length);
  }
  const issues: Issue[] = [];
  const byRule: Record<string, number> = {};
  let findings = 0;
  for (const i of [...perRow.keys()].sort((a, b) => a - b)) {
    const row = rows[i] as ScanRow;
    const text = cappedText(row, maxChars);
    const merged = mergeFindings(perRow.get(i) as SecretFinding[]).filter(
      (f) => !allow.has(text.slice(f.start, f.end)),
    );
    if (merged.length === 0) continue;
    findings += merged.length;
    let top = merged[0] as SecretFinding;
    for (const f of merged) {
      byRule[f.rule] = (byRule[f.rule] ?? 0) + 1;
      if (f.score > top.score) top = f;
    }
    const shown = merged.slice(0, SECRETS_MAX_FINDINGS_PER_ROW).map((f) => ({
      rule: f.rule,
      masked: maskSecret(text.slice(f.start, f.end)),
      range: [f.start, f.end],
    }));
    issues.push({
      kind: 'secret',
      row: row.id,
      score: top.score,
      detail: {
        rule: top.rule,
        masked: maskSecret(text.slice(top.start, top.end)),
        range: [top.start, top.end],
        count: merged.length,
        findings: shown,
      },
    });
  }
  return { issues, withText, truncated, sentToSecretlint: candidates.length, findings, byRule };
}

/** The detector's result from the parts of consecutive row ranges covering `n` rows, in order. */
export function secretsResult(
  n: number,
  parts: readonly SecretsPart[],
  options: SecretsOptions = {},
): DetectorResult {
  const parameters = {
    secretlint: options.secretlint ?? true,
    entropy: options.entropy ?? 'any',
    maxChars: options.maxChars ?? SECRETS_MAX_CHARS,
    entropyMinLength: ENTROPY_MIN_LENGTH,
    keywordMinLength: KEYWORD_MIN_LENGTH,
    entropyMarginBits: ENTROPY_MARGIN_BITS,
    keywordEntropyMarginBits: KEYWORD_ENTROPY_MARGIN_BITS,
    minClassChangeRatio: MIN_CLASS_CHANGE_RATIO,
  };
  let withText = 0;
  let truncated = 0;
  let sent = 0;
  let findings = 0;
  const byRule: Record<string, number> = {};
  const issues: Issue[] = [];
  for (const p of parts) {
    withText += p.withText;
    truncated += p.truncated;
    sent += p.sentToSecretlint;
    findings += p.findings;
    for (const [rule, count] of Object.entries(p.byRule))
      byRule[rule] = (byRule[rule] ?? 0) + count;
    for (const issue of p.issues) issues.push(issue);
  }
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
      findings,
      byRule,
      rowsSentToSecretlint: sent,
      rowsTruncated: truncated,
      parameters,
    },
  };
}

export const secretsDetector: Detector<SecretsOptions> = {
  id: 'leak/secrets',
  meta: {
    kinds: ['secret'],
    needs: ['text'],
    description:
      'Credentials in row text: secretlint recommended preset plus private keys, JWTs, Cordon API tokens, prefixed vendor keys and high-entropy tokens; values are masked.',
  },
  async run(
    rows: readonly ScanRow[],
    options: SecretsOptions = {},
    progress?: Progress,
  ): Promise<DetectorResult> {
    const part = await scanSecretRows(rows, 0, rows.length, options, progress);
    const result = secretsResult(rows.length, [part], options);
    if (result.skipped === undefined) progress?.(1);
    return result;
  },
};
