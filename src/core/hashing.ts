import { createHash } from 'node:crypto';

export type Digest = string; // lower-case hex SHA-256, 64 characters

const HEX64 = /^[0-9a-f]{64}$/;

export function isDigest(s: unknown): s is Digest {
  return typeof s === 'string' && HEX64.test(s);
}

export function sha256(data: string | Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

export function sha256Hex(data: string | Uint8Array): Digest {
  return createHash('sha256').update(data).digest('hex');
}

/** Constant-time equality for digests and other secrets of equal public length. */
export { timingSafeEqual } from 'node:crypto';
