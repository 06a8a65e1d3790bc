import type { Digest } from '../core/hashing.js';

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
