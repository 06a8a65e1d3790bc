import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type GetObjectCommandOutput,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { CordonError } from '../core/errors.js';
import { isDigest, type Digest } from '../core/hashing.js';
import type { BlobStaging, BlobStore } from './blob-store.js';
import { MAX_PART_SIZE, MIN_PART_SIZE, parseObjectUrl, type S3Credentials } from './object-url.js';

export interface S3BlobStoreOptions {
  bucket: string;
  /** Key prefix under which everything of this store lives; no leading or trailing slash. */
  prefix?: string;
  region?: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  credentials?: S3Credentials;
  /** Use this client instead of building one from the fields above; close() leaves it open. */
  client?: S3Client;
  /** Bytes per part of a multipart upload (5 MiB to 5 GiB). Default 8 MiB. */
  partSize?: number;
  /** Parts of one putStream in flight at once. Default 4. */
  queueSize?: number;
  /**
   * A staging area that no process here holds open is removed by cleanStaging once its newest
   * object is this old. Default 24 hours; 0 removes every area not open in this process.
   */
  staleAfterMs?: number;
  /** Objects larger than this are published by a multipart copy. Default 5 GiB (S3's limit). */
  copyLimit?: number;
  /** Bytes per part of a multipart copy. Default 512 MiB. */
  copyPartSize?: number;
  /** Keys per listing request (at most 1000). Default 1000. */
  pageSize?: number;
}

const MiB = 1024 * 1024;
const MAX_PARTS = 10_000;
const DEFAULTS = {
  partSize: 8 * MiB,
  queueSize: 4,
  staleAfterMs: 24 * 60 * 60 * 1000,
  copyLimit: 5 * 1024 * MiB,
  copyPartSize: 512 * MiB,
  pageSize: 1000,
  publishConcurrency: 8,
};

/** Staging areas open in this process, by bucket and key prefix: cleanStaging leaves them be. */
const openAreas = new Set<string>();

/**
 * Content-addressed objects in an S3-compatible bucket.
 *
 * Objects live at `<prefix>/sha256/<first two hex>/<remaining 62 hex>`. A batch is staged under
 * `<prefix>/staging/<time>-<pid>-<random>/<n>`: `put` uploads in one request, `putStream`
 * in one request when the stream fits one part and by multipart upload otherwise, hashing as
 * it goes. Publishing copies each staged object to its final key inside the bucket (skipped when
 * the object is already there: same name, same bytes), and only when every copy has succeeded
 * deletes the staging area. S3 makes each PUT, copy and completed multipart upload appear whole
 * or not at all, so no reader sees a partial object; a writer that dies leaves only staging data,
 * which cleanStaging removes once it is stale.
 *
 * (s3rver, the fake used in tests, writes objects in place, so it gives no such guarantee.)
 *
 * `get` and `stream` return the stored bytes without re-hashing them, as FsBlobStore does; see
 * getVerified in blob-store.ts.
 *
 * Listings use ListObjects (version 1) and page with markers. AWS and the usual S3-compatible
 * servers support it, and s3rver cannot page version 2: its continuation tokens are encrypted
 * with DES, which the OpenSSL in Node 20 refuses, so every truncated page is a 500 there.
 */
export class S3BlobStore implements BlobStore {
  readonly bucket: string;
  readonly prefix: string;
  /** `s3://bucket/prefix`, for messages. */
  readonly location: string;
  private readonly client: S3Client;
  private readonly ownsClient: boolean;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly staleAfterMs: number;
  private readonly copyLimit: number;
  private readonly copyPartSize: number;
  private readonly pageSize: number;
  private readonly base: string;

  constructor(options: S3BlobStoreOptions) {
    const bad = (problem: string): never => {
      throw new CordonError('CONFIG_INVALID', `S3 object store: ${problem}`);
    };
    if (options.bucket === '') bad('bucket is empty');
    this.bucket = options.bucket;
    this.prefix = (options.prefix ?? '').replace(/^\/+/, '').replace(/\/+$/, '');
    this.base = this.prefix === '' ? '' : `${this.prefix}/`;
    this.location = `s3://${this.bucket}${this.prefix === '' ? '' : `/${this.prefix}`}`;
    this.partSize = options.partSize ?? DEFAULTS.partSize;
    if (!(this.partSize >= MIN_PART_SIZE && this.partSize <= MAX_PART_SIZE)) {
      bad(`partSize ${this.partSize} is outside S3's limits (5 MiB to 5 GiB)`);
    }
    this.queueSize = options.queueSize ?? DEFAULTS.queueSize;
    if (!Number.isInteger(this.queueSize) || this.queueSize < 1) bad('queueSize must be ≥ 1');
    this.staleAfterMs = options.staleAfterMs ?? DEFAULTS.staleAfterMs;
    if (!(this.staleAfterMs >= 0)) bad('staleAfterMs must be ≥ 0');
    this.copyLimit = options.copyLimit ?? DEFAULTS.copyLimit;
    this.copyPartSize = options.copyPartSize ?? DEFAULTS.copyPartSize;
    if (!(this.copyPartSize >= MIN_PART_SIZE && this.copyPartSize <= MAX_PART_SIZE)) {
      bad(`copyPartSize ${this.copyPartSize} is outside S3's limits (5 MiB to 5 GiB)`);
    }
    this.pageSize = options.pageSize ?? DEFAULTS.pageSize;
    if (!Number.isInteger(this.pageSize) || this.pageSize < 1 || this.pageSize > 1000) {
      bad('pageSize must be between 1 and 1000');
    }
    if (options.client) {
      this.client = options.client;
      this.ownsClient = false;
    } else {
      const config: S3ClientConfig = { region: options.region ?? 'us-east-1' };
      if (options.endpoint !== undefined) config.endpoint = options.endpoint;
      if (options.forcePathStyle !== undefined) config.forcePathStyle = options.forcePathStyle;
      if (options.credentials !== undefined) config.credentials = options.credentials;
      this.client = new S3Client(config);
      this.ownsClient = true;
    }
  }

  /** Builds a store from an `s3://` URL (see object-url.ts); credentials may come from `env`. */
  static fromUrl(
    url: string,
    env: Readonly<Record<string, string | undefined>> = process.env,
    source = 'CORDON_OBJECT_URL',
  ): S3BlobStore {
    const config = parseObjectUrl(url, env, source);
    if (config.kind !== 's3') {
      throw new CordonError('CONFIG_INVALID', `${source}: expected an s3:// URL`);
    }
    return new S3BlobStore(config);
  }

  /** Releases the HTTP connections of a client this store built. */
  close(): void {
    if (this.ownsClient) this.client.destroy();
  }

  /** Checks that the bucket exists and the credentials may use it (HeadBucket). */
  async probe(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (cause) {
      // A HEAD response has no body to name the error: 404 is the bucket itself.
      if (statusOf(cause) === 404) {
        throw new CordonError('CONFIG_INVALID', `bucket "${this.bucket}" does not exist`, {
          cause,
        });
      }
      throw this.wrap('HeadBucket', undefined, cause);
    }
  }

  keyOf(digest: Digest): string {
    if (!isDigest(digest)) throw new CordonError('INTERNAL', `not a digest: ${String(digest)}`);
    return `${this.base}sha256/${digest.slice(0, 2)}/${digest.slice(2)}`;
  }

  private get stagingBase(): string {
    return `${this.base}staging/`;
  }

  async has(digest: Digest): Promise<boolean> {
    if (!isDigest(digest)) return false;
    return (await this.head(this.keyOf(digest))) !== undefined;
  }

  async get(digest: Digest): Promise<Buffer> {
    const { key, body } = await this.open(digest);
    if (body === undefined) return Buffer.alloc(0);
    const bytes = await this.call('GetObject', key, () => body.transformToByteArray());
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  async *stream(digest: Digest): AsyncIterable<Buffer> {
    const { key, body } = await this.open(digest);
    if (body === undefined) return;
    if (!(body instanceof Readable)) {
      // Not Node's HTTP handler: the body is not a Node stream, so read it at once.
      const bytes = await this.call('GetObject', key, () => body.transformToByteArray());
      yield Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      return;
    }
    try {
      for await (const chunk of body) yield chunk as Buffer;
    } catch (cause) {
      throw this.wrap('GetObject', key, cause);
    } finally {
      // Frees the connection when the consumer stops early.
      if (!body.readableEnded) body.destroy();
    }
  }

  async size(digest: Digest): Promise<number> {
    const size = isDigest(digest) ? await this.head(this.keyOf(digest)) : undefined;
    if (size === undefined) throw this.missing(digest);
    return size;
  }

  async *list(): AsyncIterable<Digest> {
    const from = `${this.base}sha256/`;
    for await (const { key } of this.listKeys(from)) {
      const rest = key.slice(from.length);
      const digest = rest.slice(0, 2) + rest.slice(3);
      if (rest[2] === '/' && isDigest(digest)) yield digest;
    }
  }

  stage(): Promise<BlobStaging> {
    const id = `${Date.now().toString(36)}-${process.pid}-${randomBytes(6).toString('hex')}`;
    const area = `${this.stagingBase}${id}/`;
    openAreas.add(this.areaTag(area));
    return Promise.resolve(new S3Staging(this, area));
  }

  async cleanStaging(): Promise<number> {
    const now = Date.now();
    const stale = (when: Date | undefined): boolean =>
      this.staleAfterMs === 0 || when === undefined || now - when.getTime() >= this.staleAfterMs;
    const areaOf = (key: string): string | undefined => {
      const id = key.slice(this.stagingBase.length).split('/')[0];
      return id ? `${this.stagingBase}${id}/` : undefined;
    };

    const areas = new Map<string, { keys: string[]; newest: number }>();
    for await (const { key, modified } of this.listKeys(this.stagingBase)) {
      const area = areaOf(key);
      if (area === undefined || openAreas.has(this.areaTag(area))) continue;
      const a = areas.get(area) ?? { keys: [], newest: 0 };
      a.keys.push(key);
      a.newest = Math.max(a.newest, modified?.getTime() ?? 0);
      areas.set(area, a);
    }
    const removed = new Set<string>();
    for (const [area, a] of areas) {
      if (!stale(a.newest === 0 ? undefined : new Date(a.newest))) continue;
      await this.deleteKeys(a.keys);
      removed.add(area);
    }

    // Unfinished multipart uploads are invisible to listings but still cost storage.
    for (const upload of await this.stagedUploads()) {
      const area = areaOf(upload.key);
      if (area === undefined || openAreas.has(this.areaTag(area))) continue;
      if ((areas.has(area) && !removed.has(area)) || !stale(upload.initiated)) continue;
      await this.abortUpload(upload.key, upload.uploadId);
      removed.add(area);
    }
    return removed.size;
  }

  // ---- used by S3Staging ----

  /** @internal */
  releaseArea(area: string): void {
    openAreas.delete(this.areaTag(area));
  }

  /** @internal Uploads bytes whose digest is known in one request. */
  async putBytes(key: string, bytes: Buffer, digest: Digest): Promise<void> {
    await this.call('PutObject', key, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: bytes,
          ContentLength: bytes.length,
          ContentType: 'application/octet-stream',
          // The server checks the bytes it received against our own digest.
          ChecksumSHA256: Buffer.from(digest, 'hex').toString('base64'),
        }),
      ),
    );
  }

  /**
   * @internal Uploads a stream of unknown length, hashing it on the way: one request if it fits
   * one part, else a multipart upload. Memory holds the parts in flight (`queueSize`) plus the
   * one being filled, never the whole stream.
   */
  async putChunks(
    key: string,
    chunks: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  ): Promise<{ digest: Digest; size: number }> {
    const hash = createHash('sha256');
    const pending: Buffer[] = [];
    let pendingBytes = 0;
    let size = 0;
    let upload: MultipartUpload | undefined;
    try {
      for await (const chunk of chunks) {
        // A copy: the producer may reuse its buffer while the part waits for upload.
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk);
        if (bytes.length === 0) continue;
        hash.update(bytes);
        size += bytes.length;
        pending.push(bytes);
        pendingBytes += bytes.length;
        // Send a part only once more bytes follow it, so the last part is never empty and a
        // stream of exactly one part goes up in a single request.
        while (pendingBytes > this.partSize) {
          upload ??= await this.startUpload(key);
          await upload.add(takeBytes(pending, this.partSize));
          pendingBytes -= this.partSize;
        }
      }
      const digest = hash.digest('hex');
      const rest = takeBytes(pending, pendingBytes);
      if (upload === undefined) {
        await this.putBytes(key, rest, digest);
      } else {
        await upload.add(rest);
        await upload.complete();
      }
      return { digest, size };
    } catch (e) {
      if (upload) await upload.abort();
      throw e;
    }
  }

  /** @internal Server-side copy of a staged object to its final key. */
  async copy(from: string, to: string, size: number): Promise<void> {
    const source = `${encodeKey(this.bucket)}/${encodeKey(from)}`;
    if (size <= this.copyLimit) {
      await this.call('CopyObject', to, () =>
        this.client.send(
          new CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource: source }),
        ),
      );
      return;
    }
    const created = await this.call('CreateMultipartUpload', to, () =>
      this.client.send(
        new CreateMultipartUploadCommand({
          Bucket: this.bucket,
          Key: to,
          ContentType: 'application/octet-stream',
        }),
      ),
    );
    const uploadId = created.UploadId;
    if (uploadId === undefined) throw this.wrap('CreateMultipartUpload', to, 'no UploadId');
    try {
      const ranges: { part: number; first: number; last: number }[] = [];
      for (let first = 0, part = 1; first < size; first += this.copyPartSize, part++) {
        ranges.push({ part, first, last: Math.min(size, first + this.copyPartSize) - 1 });
      }
      const parts = await mapLimit(ranges, this.queueSize, async (r) => {
        const out = await this.call('UploadPartCopy', to, () =>
          this.client.send(
            new UploadPartCopyCommand({
              Bucket: this.bucket,
              Key: to,
              UploadId: uploadId,
              PartNumber: r.part,
              CopySource: source,
              CopySourceRange: `bytes=${r.first}-${r.last}`,
            }),
          ),
        );
        return { PartNumber: r.part, ETag: out.CopyPartResult?.ETag };
      });
      await this.call('CompleteMultipartUpload', to, () =>
        this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.bucket,
            Key: to,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts },
          }),
        ),
      );
    } catch (e) {
      await this.abortUpload(to, uploadId);
      throw e;
    }
  }

  /** @internal Deletes every object whose key starts with `prefix`. */
  async deletePrefix(prefix: string): Promise<void> {
    const keys: string[] = [];
    for await (const { key } of this.listKeys(prefix)) keys.push(key);
    await this.deleteKeys(keys);
  }

  /** @internal */
  async deleteKeys(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const out = await this.call('DeleteObjects', batch[0], () =>
        this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        ),
      );
      const first = out.Errors?.[0];
      if (first !== undefined) {
        throw new CordonError(
          'INTERNAL',
          `S3 DeleteObjects in ${this.location} failed for ${out.Errors?.length} key(s), ` +
            `first ${String(first.Key)}: ${String(first.Code)} ${String(first.Message)}`,
        );
      }
    }
  }

  /** @internal Size of the object at `key`, or undefined if there is none. */
  async head(key: string): Promise<number | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return out.ContentLength ?? 0;
    } catch (cause) {
      if (isNotFound(cause)) return undefined;
      throw this.wrap('HeadObject', key, cause);
    }
  }

  // ---- internals ----

  private areaTag(area: string): string {
    return `${this.bucket}\n${area}`;
  }

  private missing(digest: Digest, cause?: unknown): CordonError {
    return new CordonError(
      'OBJECT_NOT_FOUND',
      `object ${String(digest)} is missing from ${this.location}`,
      { cause },
    );
  }

  private async open(
    digest: Digest,
  ): Promise<{ key: string; body: GetObjectCommandOutput['Body'] }> {
    if (!isDigest(digest)) throw this.missing(digest);
    const key = this.keyOf(digest);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return { key, body: out.Body };
    } catch (cause) {
      if (isNotFound(cause)) throw this.missing(digest, cause);
      throw this.wrap('GetObject', key, cause);
    }
  }

  private async startUpload(key: string): Promise<MultipartUpload> {
    const out = await this.call('CreateMultipartUpload', key, () =>
      this.client.send(
        new CreateMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          ContentType: 'application/octet-stream',
          ChecksumAlgorithm: 'CRC32',
        }),
      ),
    );
    if (out.UploadId === undefined) throw this.wrap('CreateMultipartUpload', key, 'no UploadId');
    const uploadId = out.UploadId;
    const partSize = this.partSize;
    return new MultipartUpload(this.queueSize, {
      uploadPart: async (part, body) => {
        if (part > MAX_PARTS) {
          throw new CordonError(
            'CONFIG_INVALID',
            `${this.location}: an object needs more than ${MAX_PARTS} parts of ${partSize} bytes; ` +
              'raise partSize',
          );
        }
        const r = await this.call('UploadPart', key, () =>
          this.client.send(
            new UploadPartCommand({
              Bucket: this.bucket,
              Key: key,
              UploadId: uploadId,
              PartNumber: part,
              Body: body,
              ContentLength: body.length,
              ChecksumAlgorithm: 'CRC32',
            }),
          ),
        );
        const done: CompletedPart = { PartNumber: part, ETag: r.ETag };
        if (r.ChecksumCRC32 !== undefined) done.ChecksumCRC32 = r.ChecksumCRC32;
        return done;
      },
      complete: async (parts) => {
        await this.call('CompleteMultipartUpload', key, () =>
          this.client.send(
            new CompleteMultipartUploadCommand({
              Bucket: this.bucket,
              Key: key,
              UploadId: uploadId,
              MultipartUpload: { Parts: parts },
            }),
          ),
        );
      },
      abort: () => this.abortUpload(key, uploadId),
    });
  }

  /** Best effort: a server without AbortMultipartUpload (s3rver) keeps the parts. */
  private async abortUpload(key: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(
        new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }),
      );
    } catch {
      // cleanStaging retries on servers that list unfinished uploads.
    }
  }

  private async *listKeys(prefix: string): AsyncGenerator<{ key: string; modified?: Date }> {
    let marker: string | undefined;
    for (;;) {
      const out = await this.call('ListObjects', prefix, () =>
        this.client.send(
          new ListObjectsCommand({
            Bucket: this.bucket,
            Prefix: prefix,
            MaxKeys: this.pageSize,
            ...(marker === undefined ? {} : { Marker: marker }),
          }),
        ),
      );
      let last: string | undefined;
      for (const o of out.Contents ?? []) {
        if (o.Key === undefined) continue;
        last = o.Key;
        yield o.LastModified === undefined
          ? { key: o.Key }
          : { key: o.Key, modified: o.LastModified };
      }
      const next = out.NextMarker ?? last;
      if (!out.IsTruncated || next === undefined || next === marker) return;
      marker = next;
    }
  }

  /** Unfinished multipart uploads under the staging prefix; none if the server cannot list them. */
  private async stagedUploads(): Promise<{ key: string; uploadId: string; initiated?: Date }[]> {
    const found: { key: string; uploadId: string; initiated?: Date }[] = [];
    let keyMarker: string | undefined;
    let idMarker: string | undefined;
    for (;;) {
      let out;
      try {
        out = await this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.bucket,
            Prefix: this.stagingBase,
            ...(keyMarker === undefined ? {} : { KeyMarker: keyMarker }),
            ...(idMarker === undefined ? {} : { UploadIdMarker: idMarker }),
          }),
        );
      } catch (cause) {
        // s3rver does not implement the call, and a role may lack the permission: the uploads
        // then stay until a bucket lifecycle rule (AbortIncompleteMultipartUpload) ends them.
        const status = statusOf(cause);
        if (status === 501 || status === 403 || status === 405) return found;
        throw this.wrap('ListMultipartUploads', this.stagingBase, cause);
      }
      for (const u of out.Uploads ?? []) {
        if (u.Key === undefined || u.UploadId === undefined) continue;
        found.push(
          u.Initiated === undefined
            ? { key: u.Key, uploadId: u.UploadId }
            : { key: u.Key, uploadId: u.UploadId, initiated: u.Initiated },
        );
      }
      if (!out.IsTruncated || out.NextKeyMarker === undefined) return found;
      keyMarker = out.NextKeyMarker;
      idMarker = out.NextUploadIdMarker;
    }
  }

  private async call<T>(what: string, key: string | undefined, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (cause) {
      throw this.wrap(what, key, cause);
    }
  }

  /** Driver errors stop here: each becomes a CordonError naming the call and the key. */
  private wrap(what: string, key: string | undefined, cause: unknown): CordonError {
    if (cause instanceof CordonError) return cause;
    const name = nameOf(cause);
    const status = statusOf(cause);
    const at = key === undefined ? this.location : `s3://${this.bucket}/${key}`;
    if (name === 'NoSuchBucket') {
      return new CordonError('CONFIG_INVALID', `bucket "${this.bucket}" does not exist`, { cause });
    }
    if (status === 401 || status === 403 || AUTH_ERRORS.has(name)) {
      return new CordonError(
        'CONFIG_INVALID',
        `S3 ${what} of ${at} was refused (${name}): check the credentials and their permissions`,
        { cause },
      );
    }
    const detail = cause instanceof Error ? cause.message : String(cause);
    const code = status === undefined ? name : `${name}, HTTP ${status}`;
    return new CordonError('INTERNAL', `S3 ${what} of ${at} failed (${code}): ${detail}`, {
      cause,
    });
  }
}

const AUTH_ERRORS = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'CredentialsProviderError',
]);

function nameOf(e: unknown): string {
  if (typeof e === 'object' && e !== null) {
    const o = e as { name?: unknown; Code?: unknown };
    if (typeof o.Code === 'string') return o.Code;
    if (typeof o.name === 'string') return o.name;
  }
  return 'Error';
}

function statusOf(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const meta = (e as { $metadata?: { httpStatusCode?: unknown } }).$metadata;
  return typeof meta?.httpStatusCode === 'number' ? meta.httpStatusCode : undefined;
}

function isNotFound(e: unknown): boolean {
  const name = nameOf(e);
  if (name === 'NoSuchBucket') return false;
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(e) === 404;
}

/** Percent-encodes a bucket or key for x-amz-copy-source, keeping the slashes. */
function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

/** Removes exactly `n` bytes from the front of `list` and returns them as one buffer. */
function takeBytes(list: Buffer[], n: number): Buffer {
  if (list.length === 1 && list[0]!.length === n) return list.shift()!;
  const out = Buffer.allocUnsafe(n);
  let filled = 0;
  while (filled < n) {
    const head = list[0]!;
    const k = Math.min(head.length, n - filled);
    head.copy(out, filled, 0, k);
    filled += k;
    if (k === head.length) list.shift();
    else list[0] = head.subarray(k);
  }
  return out;
}

/** Runs `fn` over `items`, at most `limit` at a time, keeping the order of results. */
async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!);
      } catch (e) {
        failed = true; // start nothing new once one item has failed
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

interface UploadOps {
  uploadPart(part: number, body: Buffer): Promise<CompletedPart>;
  complete(parts: CompletedPart[]): Promise<void>;
  abort(): Promise<void>;
}

/** The parts of one multipart upload, at most `queueSize` in flight. */
class MultipartUpload {
  private readonly parts: CompletedPart[] = [];
  private readonly inflight = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;
  private nextPart = 1;

  constructor(
    private readonly queueSize: number,
    private readonly ops: UploadOps,
  ) {}

  /** Starts uploading `body` as the next part; waits only while the queue is full. */
  async add(body: Buffer): Promise<void> {
    while (this.inflight.size >= this.queueSize) await Promise.race(this.inflight);
    this.rethrow();
    const part = this.nextPart++;
    const task: Promise<void> = this.ops
      .uploadPart(part, body)
      .then(
        (done) => {
          this.parts.push(done);
        },
        (error: unknown) => {
          this.failure ??= { error };
        },
      )
      .finally(() => this.inflight.delete(task));
    this.inflight.add(task);
  }

  async complete(): Promise<void> {
    await Promise.all(this.inflight);
    this.rethrow();
    this.parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    await this.ops.complete(this.parts);
  }

  async abort(): Promise<void> {
    await Promise.all(this.inflight);
    await this.ops.abort();
  }

  private rethrow(): void {
    if (this.failure) throw this.failure.error;
  }
}

interface StagedObject {
  key: string;
  size: number;
}

class S3Staging implements BlobStaging {
  private readonly staged = new Map<Digest, StagedObject>();
  private counter = 0;
  private closed = false;

  constructor(
    private readonly store: S3BlobStore,
    private readonly area: string,
  ) {}

  async put(data: Uint8Array | string): Promise<Digest> {
    this.assertOpen();
    const bytes =
      typeof data === 'string'
        ? Buffer.from(data, 'utf8')
        : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const digest = createHash('sha256').update(bytes).digest('hex');
    if (this.staged.has(digest) || (await this.store.has(digest))) return digest;
    const key = this.nextKey();
    await this.store.putBytes(key, bytes, digest);
    await this.keep(digest, key, bytes.length);
    return digest;
  }

  async putStream(
    chunks: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  ): Promise<{ digest: Digest; size: number }> {
    this.assertOpen();
    const key = this.nextKey();
    const { digest, size } = await this.store.putChunks(key, chunks);
    if (this.staged.has(digest) || (await this.store.has(digest))) {
      await this.store.deleteKeys([key]);
    } else {
      await this.keep(digest, key, size);
    }
    return { digest, size };
  }

  async publish(): Promise<void> {
    if (this.closed) return;
    const entries = [...this.staged];
    await mapLimit(entries, DEFAULTS.publishConcurrency, async ([digest, { key, size }]) => {
      const target = this.store.keyOf(digest);
      // Content-addressed: an object already under its name holds these very bytes.
      if ((await this.store.head(target)) !== undefined) return;
      try {
        await this.store.copy(key, target, size);
      } catch (e) {
        // Another writer may have published the same bytes meanwhile, and a server can refuse
        // concurrent writes to one key (S3 answers 503 SlowDown; s3rver races on its files).
        const now = await this.store.head(target).catch(() => undefined);
        if (now !== size) throw e;
      }
    });
    // Only now that every object is in place may the staged copies go.
    await this.store.deletePrefix(this.area);
    this.finish();
  }

  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.store.deletePrefix(this.area);
    this.finish();
  }

  private async keep(digest: Digest, key: string, size: number): Promise<void> {
    if (this.closed || this.staged.has(digest)) {
      // Aborted meanwhile, or a concurrent put of the same bytes got there first.
      await this.store.deleteKeys([key]);
      this.assertOpen();
      return;
    }
    this.staged.set(digest, { key, size });
  }

  private finish(): void {
    this.closed = true;
    this.staged.clear();
    this.store.releaseArea(this.area);
  }

  private nextKey(): string {
    return `${this.area}${this.counter++}`;
  }

  private assertOpen(): void {
    if (this.closed) {
      throw new CordonError('INTERNAL', 'this staging area has been published or aborted');
    }
  }
}
