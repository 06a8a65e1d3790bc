/**
 * API tokens for people (personal access tokens) and for non-human identities (service accounts).
 *
 * Shape: `cordon_<kind>_<env>_<keyId>_<secret><checksum>`
 *
 * - `kind` is `nhi` or `pat`, `env` is `live` or `test`: both readable at a glance, both covered by
 *   the checksum so a token cannot be relabelled.
 * - `keyId` (12 base62 characters) is public. The server looks the token up by it, then compares
 *   the SHA-256 of the whole token with the stored hash in constant time. Only the hash is stored.
 * - `secret` is 32 random bytes written in base62, left-padded to 43 characters.
 * - `checksum` is the CRC-32 of everything before it, in base62, padded to 6 characters. It is not
 *   a security control: it lets secret scanners and the server reject typos and random lookalikes
 *   offline, without a database lookup.
 *
 * Nothing in this module ever puts a secret into an error message.
 */
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { CordonError } from './errors.js';
import { sha256Hex, timingSafeEqual } from './hashing.js';

export type TokenKind = 'nhi' | 'pat';
export type TokenEnv = 'live' | 'test';

export const TOKEN_PREFIX = 'cordon';
export const KEY_ID_LENGTH = 12;
export const SECRET_BYTES = 32;
export const SECRET_LENGTH = 43;
export const CHECKSUM_LENGTH = 6;
/** Random bytes drawn for a key id; far more than 12 base62 digits need, so the modulo is unbiased in practice. */
const KEY_ID_BYTES = 16;

const TOKEN_KINDS: readonly TokenKind[] = ['nhi', 'pat'];
const TOKEN_ENVS: readonly TokenEnv[] = ['live', 'test'];

// ---------------------------------------------------------------------------------------------
// base62 and CRC-32
// ---------------------------------------------------------------------------------------------

export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BASE62_RE = /^[0-9A-Za-z]*$/;

function bytesToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

/**
 * Writes a non-negative integer (or a big-endian byte string read as one) in base62, left-padded
 * with '0' to exactly `width` characters. Throws if the value needs more than `width` digits.
 */
export function base62Encode(value: bigint | number | Uint8Array, width: number): string {
  let n = value instanceof Uint8Array ? bytesToBigInt(value) : BigInt(value);
  if (n < 0n) throw new CordonError('INTERNAL', 'base62Encode: negative value');
  let out = '';
  while (n > 0n) {
    out = BASE62_ALPHABET.charAt(Number(n % 62n)) + out;
    n /= 62n;
  }
  if (out.length > width) {
    throw new CordonError('INTERNAL', `base62Encode: value needs more than ${width} digits`);
  }
  return out.padStart(width, '0');
}

/** Reflected CRC-32 lookup table for the IEEE 802.3 polynomial (0xEDB88320). */
const CRC32_TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[i] = c >>> 0;
  }
  return table;
})();

const utf8 = new TextEncoder();

/** CRC-32 (IEEE, as in zip and PNG) of a string's UTF-8 bytes or of raw bytes, as an unsigned integer. */
export function crc32(data: string | Uint8Array): number {
  const bytes = typeof data === 'string' ? utf8.encode(data) : data;
  let crc = 0xffffffff;
  for (const b of bytes) crc = CRC32_TABLE[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** The 6-character base62 checksum of everything in a token before the checksum. */
export function tokenChecksum(body: string): string {
  return base62Encode(crc32(body), CHECKSUM_LENGTH);
}

// ---------------------------------------------------------------------------------------------
// Minting
// ---------------------------------------------------------------------------------------------

export interface MintedToken {
  /** The full token. Shown to its owner once, never stored. */
  token: string;
  keyId: string;
  /** Hex SHA-256 of the whole token string: what the store keeps. */
  hash: string;
  /** The last 4 characters of the token, for display next to the masked form. */
  last4: string;
}

/**
 * Mints a fresh token. `randomBytes` may be injected for deterministic tests; it is called twice,
 * first for the key id (16 bytes), then for the secret (32 bytes).
 */
export function mintToken(opts: {
  kind: TokenKind;
  env: TokenEnv;
  randomBytes?: (n: number) => Uint8Array;
}): MintedToken {
  const { kind, env } = opts;
  if (!TOKEN_KINDS.includes(kind)) throw new CordonError('USAGE', 'token kind must be nhi or pat');
  if (!TOKEN_ENVS.includes(env)) throw new CordonError('USAGE', 'token env must be live or test');
  const draw = (n: number): Uint8Array => {
    const bytes = (opts.randomBytes ?? nodeRandomBytes)(n);
    if (!(bytes instanceof Uint8Array) || bytes.length !== n) {
      throw new CordonError('INTERNAL', `random source returned the wrong number of bytes`);
    }
    return bytes;
  };
  const keyId = base62Encode(
    bytesToBigInt(draw(KEY_ID_BYTES)) % 62n ** BigInt(KEY_ID_LENGTH),
    KEY_ID_LENGTH,
  );
  const secret = base62Encode(draw(SECRET_BYTES), SECRET_LENGTH);
  const body = `${TOKEN_PREFIX}_${kind}_${env}_${keyId}_${secret}`;
  const token = body + tokenChecksum(body);
  return { token, keyId, hash: hashToken(token), last4: token.slice(-4) };
}

// ---------------------------------------------------------------------------------------------
// Parsing and checking
// ---------------------------------------------------------------------------------------------

export interface ParsedToken {
  kind: TokenKind;
  env: TokenEnv;
  keyId: string;
  secret: string;
  checksum: string;
}

/** Why a string is not a well-formed token, in words safe to show (no token content). */
type SplitResult = { ok: true; parsed: ParsedToken } | { ok: false; reason: string };

const TAIL_LENGTH = SECRET_LENGTH + CHECKSUM_LENGTH;
/** Anything longer than this is not a token; checked before splitting huge inputs. */
const MAX_TOKEN_LENGTH = 256;

function splitToken(token: unknown): SplitResult {
  if (typeof token !== 'string' || token.length === 0) {
    return { ok: false, reason: 'no token given' };
  }
  if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'token is too long' };
  const parts = token.split('_');
  if (parts.length !== 5) {
    return {
      ok: false,
      reason: `expected 5 parts separated by "_" (cordon_<kind>_<env>_<keyId>_<secret>), got ${parts.length}`,
    };
  }
  const [prefix, kind, env, keyId, tail] = parts as [string, string, string, string, string];
  if (prefix !== TOKEN_PREFIX) return { ok: false, reason: 'token does not start with "cordon_"' };
  if (!(TOKEN_KINDS as readonly string[]).includes(kind)) {
    return { ok: false, reason: 'token kind must be "nhi" or "pat"' };
  }
  if (!(TOKEN_ENVS as readonly string[]).includes(env)) {
    return { ok: false, reason: 'token environment must be "live" or "test"' };
  }
  if (keyId.length !== KEY_ID_LENGTH || !BASE62_RE.test(keyId)) {
    return { ok: false, reason: `key id must be ${KEY_ID_LENGTH} characters from [0-9A-Za-z]` };
  }
  if (tail.length !== TAIL_LENGTH || !BASE62_RE.test(tail)) {
    return {
      ok: false,
      reason: `secret part must be ${TAIL_LENGTH} characters from [0-9A-Za-z]`,
    };
  }
  return {
    ok: true,
    parsed: {
      kind: kind as TokenKind,
      env: env as TokenEnv,
      keyId,
      secret: tail.slice(0, SECRET_LENGTH),
      checksum: tail.slice(SECRET_LENGTH),
    },
  };
}

function checksumHolds(p: ParsedToken): boolean {
  const body = `${TOKEN_PREFIX}_${p.kind}_${p.env}_${p.keyId}_${p.secret}`;
  // The checksum is public, so a plain comparison leaks nothing.
  return tokenChecksum(body) === p.checksum;
}

/**
 * Splits a token into its parts and checks its checksum. Throws CordonError('UNAUTHENTICATED') on
 * anything malformed; the message says what is wrong but never repeats the token or its secret.
 */
export function parseToken(token: string): ParsedToken {
  const split = splitToken(token);
  if (!split.ok) throw new CordonError('UNAUTHENTICATED', `malformed API token: ${split.reason}`);
  if (!checksumHolds(split.parsed)) {
    throw new CordonError(
      'UNAUTHENTICATED',
      'invalid API token: checksum does not match (the token was mistyped, truncated or is not a Cordon token)',
    );
  }
  return split.parsed;
}

/** True when the string is a well-formed token whose checksum holds. Never throws. */
export function checksumValid(token: string): boolean {
  const split = splitToken(token);
  return split.ok && checksumHolds(split.parsed);
}

/** Hex SHA-256 of the whole token string: the value the store keeps. */
export function hashToken(token: string): string {
  return sha256Hex(token);
}

const HEX64 = /^[0-9a-fA-F]{64}$/;

/**
 * Compares sha256(token) with a stored hex hash in constant time. False (never a throw) when the
 * stored hash is not 64 hex characters or the token is not a string.
 */
export function tokenMatches(token: string, storedHash: string): boolean {
  if (typeof token !== 'string' || typeof storedHash !== 'string' || !HEX64.test(storedHash)) {
    return false;
  }
  const actual = Buffer.from(hashToken(token), 'hex');
  const expected = Buffer.from(storedHash, 'hex');
  if (actual.length !== expected.length) return false;
  return timingSafeEqual(actual, expected);
}

const LOOSE_TOKEN_RE = /^cordon_(nhi|pat)_(live|test)_([A-Za-z0-9]{1,64})_([A-Za-z0-9]{26,128})$/;

/**
 * For display: `cordon_nhi_live_<keyId>_…<last4>`. Reveals at most the last 4 characters of the
 * part after the key id. Strings that do not look like a token at all are shown as `…`.
 */
export function maskToken(token: string): string {
  const m = typeof token === 'string' ? LOOSE_TOKEN_RE.exec(token) : null;
  if (!m) return '…';
  const [, kind, env, keyId, tail] = m as unknown as [string, string, string, string, string];
  return `${TOKEN_PREFIX}_${kind}_${env}_${keyId}_…${tail.slice(-4)}`;
}

// ---------------------------------------------------------------------------------------------
// Scopes
// ---------------------------------------------------------------------------------------------

const SCOPE_LIST = [
  'datasets:read',
  'datasets:write',
  'labels:write',
  'scans:write',
  'reviews:write',
  'approvals:write',
  'gates:write',
  'snapshots:export',
  'quarantine:write',
  'identities:admin',
  'policies:admin',
  'audit:read',
] as const;

export type Scope = (typeof SCOPE_LIST)[number];

/** Every scope a token may hold. */
export const SCOPES: readonly string[] = Object.freeze([...SCOPE_LIST]);

export function isScope(scope: string): scope is Scope {
  return SCOPES.includes(scope);
}

/** Throws CordonError('USAGE') naming every unknown scope and listing the valid ones. */
export function assertScopes(scopes: readonly string[]): void {
  const unknown = [...new Set(scopes.filter((s) => !isScope(s)))];
  if (unknown.length === 0) return;
  const names = unknown.map((s) => JSON.stringify(s)).join(', ');
  throw new CordonError(
    'USAGE',
    `unknown scope${unknown.length === 1 ? '' : 's'} ${names}; valid scopes: ${SCOPES.join(', ')}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Durations
// ---------------------------------------------------------------------------------------------

const UNIT_MS: Readonly<Record<string, number>> = {
  s: 1000,
  m: 60 * 1000,
  h: 60 * 60 * 1000,
  d: 24 * 60 * 60 * 1000,
};

/**
 * Parses a positive whole number followed by one unit (s, m, h or d), e.g. '90d', '24h', '30m',
 * '3600s', into milliseconds. Anything else, zero included, is CordonError('USAGE').
 */
export function parseDuration(text: string): number {
  const m = typeof text === 'string' ? /^(\d{1,12})([smhd])$/.exec(text) : null;
  const amount = m ? Number(m[1]) : NaN;
  const unit = m ? UNIT_MS[m[2]!] : undefined;
  if (unit === undefined || !(amount > 0) || !Number.isSafeInteger(amount * unit)) {
    throw new CordonError(
      'USAGE',
      `invalid duration ${JSON.stringify(String(text))}: use a positive whole number with a unit s, m, h or d, such as 90d, 24h, 30m or 3600s`,
    );
  }
  return amount * unit;
}
