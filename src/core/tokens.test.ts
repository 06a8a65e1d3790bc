import { describe, expect, it } from 'vitest';
import { CordonError } from './errors.js';
import { sha256Hex } from './hashing.js';
import { findCordonSecrets } from './scan/secrets.js';
import {
  BASE62_ALPHABET,
  CHECKSUM_LENGTH,
  KEY_ID_LENGTH,
  SCOPES,
  SECRET_LENGTH,
  assertScopes,
  base62Encode,
  checksumValid,
  crc32,
  hashToken,
  maskToken,
  mintToken,
  parseDuration,
  parseToken,
  tokenChecksum,
  tokenMatches,
} from './tokens.js';

// The scanner's pattern, copied from src/core/scan/secrets.ts (it is not exported there).
const SCANNER_RE =
  /(?<![A-Za-z0-9_])cordon_(?:nhi|pat)_(?:live|test)_[A-Za-z0-9]{1,64}_[A-Za-z0-9]{26,128}(?![A-Za-z0-9_])/;

/** A deterministic byte source: each call returns bytes continuing a simple counter sequence. */
function counterBytes(seed = 0): (n: number) => Uint8Array {
  let next = seed;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = (next++ * 37 + 11) & 0xff;
    return out;
  };
}

function expectUnauthenticated(fn: () => unknown, mustNotContain: string[] = []): CordonError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(CordonError);
  const err = caught as CordonError;
  expect(err.code).toBe('UNAUTHENTICATED');
  for (const s of mustNotContain) expect(err.message).not.toContain(s);
  return err;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof CordonError ? e.code : `not a CordonError: ${String(e)}`;
  }
  return undefined;
}

function replaceAt(s: string, i: number, c: string): string {
  return s.slice(0, i) + c + s.slice(i + 1);
}

describe('crc32 and base62', () => {
  it('matches the standard CRC-32 check value', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
    expect(crc32('')).toBe(0);
    expect(crc32(new Uint8Array([0]))).toBe(0xd202ef8d);
  });

  it('encodes base62 with left padding and refuses values that do not fit', () => {
    expect(base62Encode(0, 3)).toBe('000');
    expect(base62Encode(61, 2)).toBe('0z');
    expect(base62Encode(62, 2)).toBe('10');
    expect(base62Encode(new Uint8Array([1, 0]), 3)).toBe('048'); // 256 = 4*62 + 8
    expect(() => base62Encode(62 ** 2, 2)).toThrow(CordonError);
    expect(base62Encode(new Uint8Array(32).fill(0xff), SECRET_LENGTH)).toHaveLength(SECRET_LENGTH);
    expect(base62Encode(0xffffffff, CHECKSUM_LENGTH)).toHaveLength(CHECKSUM_LENGTH);
  });
});

describe('mintToken / parseToken', () => {
  it('round-trips every kind and env with fixed-length parts', () => {
    for (const kind of ['nhi', 'pat'] as const) {
      for (const env of ['live', 'test'] as const) {
        const minted = mintToken({ kind, env });
        const parsed = parseToken(minted.token);
        expect(parsed.kind).toBe(kind);
        expect(parsed.env).toBe(env);
        expect(parsed.keyId).toBe(minted.keyId);
        expect(parsed.keyId).toMatch(/^[0-9A-Za-z]{12}$/);
        expect(parsed.secret).toMatch(/^[0-9A-Za-z]{43}$/);
        expect(parsed.checksum).toMatch(/^[0-9A-Za-z]{6}$/);
        expect(minted.token).toBe(
          `cordon_${kind}_${env}_${parsed.keyId}_${parsed.secret}${parsed.checksum}`,
        );
        expect(minted.token).toHaveLength(
          `cordon_${kind}_${env}_`.length + KEY_ID_LENGTH + 1 + SECRET_LENGTH + CHECKSUM_LENGTH,
        );
        expect(minted.hash).toBe(sha256Hex(minted.token));
        expect(minted.hash).toBe(hashToken(minted.token));
        expect(minted.last4).toBe(minted.token.slice(-4));
        expect(checksumValid(minted.token)).toBe(true);
      }
    }
  });

  it('mints distinct tokens from the real random source', () => {
    const tokens = new Set(
      Array.from({ length: 50 }, () => mintToken({ kind: 'nhi', env: 'live' }).token),
    );
    expect(tokens.size).toBe(50);
  });

  it('is deterministic with an injected random source', () => {
    const a = mintToken({ kind: 'pat', env: 'test', randomBytes: counterBytes(5) });
    const b = mintToken({ kind: 'pat', env: 'test', randomBytes: counterBytes(5) });
    const c = mintToken({ kind: 'pat', env: 'test', randomBytes: counterBytes(6) });
    expect(a).toEqual(b);
    expect(c.token).not.toBe(a.token);
    // All-zero bytes give an all-'0' key id and secret; the checksum is still computed.
    const zero = mintToken({ kind: 'nhi', env: 'live', randomBytes: (n) => new Uint8Array(n) });
    const body = `cordon_nhi_live_${'0'.repeat(12)}_${'0'.repeat(43)}`;
    expect(zero.token).toBe(body + tokenChecksum(body));
    expect(zero.keyId).toBe('0'.repeat(12));
    // The largest secret still fits in 43 characters.
    const max = mintToken({
      kind: 'nhi',
      env: 'live',
      randomBytes: (n) => new Uint8Array(n).fill(255),
    });
    expect(parseToken(max.token).secret).toHaveLength(SECRET_LENGTH);
  });

  it('refuses a random source that returns the wrong number of bytes', () => {
    expect(() =>
      mintToken({ kind: 'nhi', env: 'live', randomBytes: () => new Uint8Array(3) }),
    ).toThrow(CordonError);
  });

  it('is found by the secret scanner pattern and by the scanner itself', () => {
    for (let i = 0; i < 20; i++) {
      const { token } = mintToken({ kind: i % 2 ? 'nhi' : 'pat', env: i % 3 ? 'live' : 'test' });
      expect(SCANNER_RE.test(token)).toBe(true);
      const text = `export CORDON_TOKEN="${token}"\n`;
      const hits = findCordonSecrets(text, 'off').filter((f) => f.rule === 'cordon/api-token');
      expect(hits).toHaveLength(1);
      expect(text.slice(hits[0]!.start, hits[0]!.end)).toBe(token);
    }
  });
});

describe('checksum', () => {
  const { token } = mintToken({ kind: 'nhi', env: 'live', randomBytes: counterBytes(1) });
  const keyIdStart = 'cordon_nhi_live_'.length;
  const secretStart = keyIdStart + KEY_ID_LENGTH + 1;

  it('detects every single-character change in the key id and the secret', () => {
    let checked = 0;
    const positions = [
      ...Array.from({ length: KEY_ID_LENGTH }, (_, i) => keyIdStart + i),
      ...Array.from({ length: SECRET_LENGTH }, (_, i) => secretStart + i),
    ];
    for (const pos of positions) {
      for (const c of BASE62_ALPHABET) {
        if (c === token[pos]) continue;
        const altered = replaceAt(token, pos, c);
        expect(checksumValid(altered), `position ${pos} -> ${c}`).toBe(false);
        checked++;
      }
    }
    expect(checked).toBe((KEY_ID_LENGTH + SECRET_LENGTH) * 61);
  });

  it('detects a change in the checksum itself and a relabelled kind or env', () => {
    const last = token.length - 1;
    expect(checksumValid(replaceAt(token, last, token[last] === 'a' ? 'b' : 'a'))).toBe(false);
    expect(checksumValid(token.replace('cordon_nhi_', 'cordon_pat_'))).toBe(false);
    expect(checksumValid(token.replace('_live_', '_test_'))).toBe(false);
  });

  it('rejects a bad checksum with UNAUTHENTICATED and no secret in the message', () => {
    const { secret } = parseToken(token);
    const altered = replaceAt(token, secretStart, token[secretStart] === 'x' ? 'y' : 'x');
    const err = expectUnauthenticated(
      () => parseToken(altered),
      [secret, secret.slice(1), altered],
    );
    expect(err.message).toMatch(/checksum/);
  });
});

describe('malformed tokens', () => {
  const { token, keyId } = mintToken({ kind: 'pat', env: 'live', randomBytes: counterBytes(9) });
  const tail = token.slice(token.lastIndexOf('_') + 1);
  const secret = tail.slice(0, SECRET_LENGTH);

  const cases: Array<[string, string]> = [
    ['empty', ''],
    ['wrong prefix', token.replace(/^cordon_/, 'kordon_')],
    ['upper-case prefix', token.replace(/^cordon_/, 'CORDON_')],
    ['wrong kind', token.replace('_pat_', '_svc_')],
    ['wrong env', token.replace('_live_', '_prod_')],
    ['missing env', token.replace('_live_', '_')],
    ['missing key id', `cordon_pat_live_${tail}`],
    ['missing secret', `cordon_pat_live_${keyId}_`],
    ['extra part', `${token}_extra`],
    ['leading space', ` ${token}`],
    ['trailing newline', `${token}\n`],
    ['bad char in key id', token.replace(`_${keyId}_`, `_${keyId.slice(0, 11)}-_`)],
    ['bad char in secret', replaceAt(token, token.length - 20, '+')],
    ['short key id', token.replace(`_${keyId}_`, `_${keyId.slice(1)}_`)],
    ['long key id', token.replace(`_${keyId}_`, `_${keyId}A_`)],
    ['short secret', token.slice(0, -1)],
    ['long secret', `${token}0`],
    ['way too long', `${token}${'a'.repeat(1000)}`],
  ];

  it.each(cases)('rejects %s with UNAUTHENTICATED', (_name, bad) => {
    const err = expectUnauthenticated(() => parseToken(bad), [secret, tail.slice(-10)]);
    expect(err.message).not.toContain(secret.slice(0, 8));
    expect(checksumValid(bad)).toBe(false);
  });

  it('rejects non-string input without throwing a TypeError', () => {
    expectUnauthenticated(() => parseToken(undefined as unknown as string));
    expect(checksumValid(42 as unknown as string)).toBe(false);
  });
});

describe('tokenMatches', () => {
  const { token, hash } = mintToken({ kind: 'nhi', env: 'live' });

  it('accepts the right token and refuses another', () => {
    expect(tokenMatches(token, hash)).toBe(true);
    expect(tokenMatches(token, hash.toUpperCase())).toBe(true);
    expect(tokenMatches(mintToken({ kind: 'nhi', env: 'live' }).token, hash)).toBe(false);
    expect(tokenMatches(`${token}x`, hash)).toBe(false);
  });

  it('is false, not a throw, for a garbage stored hash', () => {
    for (const stored of ['', 'abc', hash.slice(0, 62), `${hash}00`, 'z'.repeat(64), ` ${hash}`]) {
      expect(tokenMatches(token, stored)).toBe(false);
    }
    expect(tokenMatches(token, null as unknown as string)).toBe(false);
  });
});

describe('maskToken', () => {
  it('shows kind, env, key id and only the last 4 characters', () => {
    const { token, keyId, last4 } = mintToken({ kind: 'nhi', env: 'live' });
    const masked = maskToken(token);
    expect(masked).toBe(`cordon_nhi_live_${keyId}_…${last4}`);
    const { secret } = parseToken(token);
    expect(masked).not.toContain(secret.slice(0, 5));
    expect(masked.length).toBeLessThan(token.length);
  });

  it('reveals nothing of strings that are not tokens', () => {
    expect(maskToken('hunter2-super-secret-password')).toBe('…');
    expect(maskToken('')).toBe('…');
  });
});

describe('scopes', () => {
  it('lists exactly the known scopes', () => {
    expect([...SCOPES]).toEqual([
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
    ]);
    expect(Object.isFrozen(SCOPES)).toBe(true);
  });

  it('accepts known scopes and names unknown ones', () => {
    expect(() => assertScopes([])).not.toThrow();
    expect(() => assertScopes(['datasets:read', 'audit:read'])).not.toThrow();
    let caught: unknown;
    try {
      assertScopes(['datasets:read', 'datasets:delete', 'root', 'root']);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(CordonError);
    const err = caught as CordonError;
    expect(err.code).toBe('USAGE');
    expect(err.message).toContain('"datasets:delete"');
    expect(err.message).toContain('"root"');
    expect(err.message.match(/"root"/g)).toHaveLength(1);
    for (const s of SCOPES) expect(err.message).toContain(s);
  });
});

describe('parseDuration', () => {
  it.each([
    ['90d', 90 * 86_400_000],
    ['24h', 24 * 3_600_000],
    ['30m', 30 * 60_000],
    ['3600s', 3_600_000],
    ['1s', 1000],
  ])('parses %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    '',
    '90',
    'd',
    '0d',
    '-1d',
    '1.5h',
    '90 d',
    ' 90d',
    '90D',
    '90days',
    '1w',
    '1d2h',
    'abc',
  ])('refuses %j with USAGE', (text) => {
    expect(codeOf(() => parseDuration(text))).toBe('USAGE');
  });
});
