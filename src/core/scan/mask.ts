/**
 * Masking for values that detectors found in rows. A scan report is shared more widely than the data
 * it describes, so every finding carries only masked values: enough to recognise the value in the
 * source row, never enough to use it.
 */

/** Characters kept at the start of a masked secret (prefixes like "AKIA", "ghp_" name the type). */
export const MASK_KEEP_START = 4;
/** Characters kept at the end of a masked secret (helps matching a finding to the row). */
export const MASK_KEEP_END = 2;
/**
 * Values shorter than this are masked entirely: keeping 6 characters of a 12-character secret would
 * reveal half of it.
 */
export const MASK_MIN_PARTIAL = 16;
/** Masked output never grows beyond this many characters (a 1 MB key block stays readable). */
export const MASK_MAX_LENGTH = 64;

/** Replacement for hidden characters. */
const STAR = '*';

/**
 * Masks a secret: keeps at most the first 4 and last 2 characters of a value of 16 characters or
 * more and replaces the rest with "*"; shorter values are fully masked. The number of stars equals
 * the number of hidden characters up to MASK_MAX_LENGTH (then "…(N chars)" is appended).
 */
export function maskSecret(value: string): string {
  const chars = Array.from(value);
  const n = chars.length;
  if (n === 0) return '';
  if (n < MASK_MIN_PARTIAL) return stars(n);
  const head = chars.slice(0, MASK_KEEP_START).join('');
  const tail = chars.slice(n - MASK_KEEP_END).join('');
  return head + stars(n - MASK_KEEP_START - MASK_KEEP_END) + tail;
}

function stars(count: number): string {
  if (count <= MASK_MAX_LENGTH) return STAR.repeat(count);
  return `${STAR.repeat(MASK_MAX_LENGTH)}…(${count} chars)`;
}

/**
 * Masks an e-mail address: first character of the local part, the rest starred; the domain's
 * top-level label kept ("j*******@e******.com"). Not an address → maskSecret.
 */
export function maskEmail(value: string): string {
  const at = value.lastIndexOf('@');
  if (at <= 0 || at === value.length - 1) return maskSecret(value);
  const local = value.slice(0, at);
  const domain = value.slice(at + 1);
  const dot = domain.lastIndexOf('.');
  const host = dot > 0 ? domain.slice(0, dot) : domain;
  const tld = dot > 0 ? domain.slice(dot) : '';
  const maskedLocal = local.slice(0, 1) + stars(Math.max(0, Array.from(local).length - 1));
  const maskedHost = host.slice(0, 1) + stars(Math.max(0, Array.from(host).length - 1));
  return `${maskedLocal}@${maskedHost}${tld}`;
}

/** Masks a payment card number: only the last 4 digits stay; separators are kept in place. */
export function maskCard(value: string): string {
  return maskDigitsKeepLast(value, 4);
}

/**
 * Masks a phone number: a leading "+" and the last 2 digits stay, every other digit becomes "*",
 * separators are kept (so the shape, not the number, is visible).
 */
export function maskPhone(value: string): string {
  return maskDigitsKeepLast(value, 2);
}

/** Masks an IBAN: the country code and the last 4 characters stay. */
export function maskIban(value: string): string {
  const compact = value.replace(/\s+/g, '');
  if (compact.length < 8) return stars(compact.length);
  return compact.slice(0, 2) + stars(compact.length - 6) + compact.slice(-4);
}

function maskDigitsKeepLast(value: string, keep: number): string {
  let digits = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
  }
  let seen = 0;
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] as string;
    const c = value.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      seen++;
      out += seen > digits - keep ? ch : STAR;
    } else if (ch === '+' || ch === ' ' || ch === '-' || ch === '.' || ch === '(' || ch === ')') {
      out += ch;
    } else {
      out += STAR;
    }
  }
  return out;
}
