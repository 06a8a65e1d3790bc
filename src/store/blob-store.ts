import { createHash } from 'node:crypto';
import { VerifyError } from '../core/errors.js';
import { sha256Hex, type Digest } from '../core/hashing.js';

/**
 * Content-addressed object storage. Objects are named by the SHA-256 of their bytes and never
 * change. Writes go through a staging area: nothing appears under its final name until the whole
 * batch is complete, and an object is never visible half-written.
 */
export interface BlobStore {
  has(digest: Digest): Promise<boolean>;
  get(digest: Digest): Promise<Buffer>;
  stream(digest: Digest): AsyncIterable<Buffer>;
  size(digest: Digest): Promise<number>;
  /** Every stored object, in no particular order. */
  list(): AsyncIterable<Digest>;
  /** Opens a staging area for a batch of new objects. */
  stage(): Promise<BlobStaging>;
  /** Removes staging areas left behind by writers that died. Returns how many were removed. */
  cleanStaging(): Promise<number>;
}

export interface BlobStaging {
  put(data: Uint8Array | string): Promise<Digest>;
  putStream(
    chunks: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  ): Promise<{ digest: Digest; size: number }>;
  /** Moves every staged object to its final name. Idempotent per object. */
  publish(): Promise<void>;
  /** Drops everything staged. */
  abort(): Promise<void>;
}

/**
 * `get` and `stream` hand back the stored bytes as they are, even when they no longer hash to the
 * digest: verify (engine/verify-snapshot.ts) needs a damaged segment's bytes to name the record
 * that changed. Callers that only want intact bytes read through these two helpers, which behave
 * the same over every BlobStore.
 */
export async function getVerified(store: BlobStore, digest: Digest): Promise<Buffer> {
  const bytes = await store.get(digest);
  const actual = sha256Hex(bytes);
  if (actual !== digest) throw new VerifyError(`object ${digest}`, `SHA-256 is ${actual}`);
  return bytes;
}

/**
 * Streams an object and throws VerifyError after the last chunk if the bytes did not hash to the
 * digest, so a consumer must not act on what it read until the iteration has finished.
 */
export async function* streamVerified(store: BlobStore, digest: Digest): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  for await (const chunk of store.stream(digest)) {
    hash.update(chunk);
    yield chunk;
  }
  const actual = hash.digest('hex');
  if (actual !== digest) throw new VerifyError(`object ${digest}`, `SHA-256 is ${actual}`);
}
