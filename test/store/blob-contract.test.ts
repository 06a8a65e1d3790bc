import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import {
  DeleteObjectsCommand,
  ListObjectsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CordonError, VerifyError } from '../../src/core/errors.js';
import { sha256Hex, type Digest } from '../../src/core/hashing.js';
import {
  getVerified,
  streamVerified,
  type BlobStaging,
  type BlobStore,
} from '../../src/store/blob-store.js';
import { FsBlobStore } from '../../src/store/fs-blob-store.js';
import { parseObjectUrl, type S3ObjectConfig } from '../../src/store/object-url.js';
import { S3BlobStore, type S3BlobStoreOptions } from '../../src/store/s3-blob-store.js';
import { tempDir } from '../helpers/workspace.js';
import { startFakeS3, type FakeS3 } from '../helpers/s3.js';

const MiB = 1024 * 1024;
/** The S3 stores under test use S3's smallest part so that small streams cross part borders. */
const PART = 5 * MiB;

/** One store under test, with the back doors the contract needs to simulate damage and crashes. */
interface Subject {
  store: BlobStore;
  /** Replaces an object's stored bytes behind the store's back. */
  corrupt(digest: Digest, bytes: Buffer): Promise<void>;
  /** Leaves one staged object behind, as a writer that died before publish or abort would. */
  abandonStaging(bytes: Buffer): Promise<void>;
  /** Staged files or objects present, across every staging area. */
  stagedCount(): Promise<number>;
  dispose(): Promise<void>;
}

interface Kind {
  name: string;
  make: () => Promise<Subject>;
}

// ---- FsBlobStore ----

function fsSubject(): Promise<Subject> {
  const t = tempDir('cordon-blob-');
  const root = join(t.dir, 'objects');
  const store = new FsBlobStore(root);
  return Promise.resolve({
    store,
    corrupt: (digest, bytes) => writeFile(store.pathOf(digest), bytes),
    abandonStaging: async (bytes) => {
      // The pid of a process that has exited: a writer that is certainly dead.
      const { pid } = spawnSync(process.execPath, ['-e', '']);
      const dir = join(root, 'staging', `${pid}-${randomBytes(6).toString('hex')}`);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, '0'), bytes);
    },
    stagedCount: async () => {
      try {
        const entries = await readdir(join(root, 'staging'), {
          recursive: true,
          withFileTypes: true,
        });
        return entries.filter((e) => e.isFile()).length;
      } catch {
        return 0;
      }
    },
    dispose: () => Promise.resolve(t.cleanup()),
  });
}

// ---- S3BlobStore ----

/** Keys under `prefix`, listed by a client of the test's own. */
async function keysUnder(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let marker: string | undefined;
  for (;;) {
    const out = await client.send(
      new ListObjectsCommand({
        Bucket: bucket,
        Prefix: prefix,
        ...(marker === undefined ? {} : { Marker: marker }),
      }),
    );
    for (const o of out.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
    if (!out.IsTruncated || keys.length === 0) return keys;
    marker = keys[keys.length - 1];
  }
}

async function s3Subject(
  client: S3Client,
  config: Omit<S3ObjectConfig, 'kind'>,
  extra: Partial<S3BlobStoreOptions> = {},
): Promise<Subject> {
  // Each test writes under a fresh prefix of its own, so tests never see each other's objects.
  const prefix = [config.prefix, `cordon-test-${randomBytes(6).toString('hex')}`]
    .filter((p) => p !== '')
    .join('/');
  const store = new S3BlobStore({
    ...config,
    client,
    prefix,
    partSize: PART,
    queueSize: 2,
    staleAfterMs: 0,
    pageSize: 3, // every listing pages, even in small tests
    ...extra,
  });
  const { bucket } = config;
  return Promise.resolve({
    store,
    corrupt: async (digest, bytes) => {
      await client.send(
        new PutObjectCommand({ Bucket: bucket, Key: store.keyOf(digest), Body: bytes }),
      );
    },
    abandonStaging: async (bytes) => {
      const key = `${prefix}/staging/${Date.now().toString(36)}-1-${randomBytes(6).toString('hex')}/0`;
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
    },
    stagedCount: async () => (await keysUnder(client, bucket, `${prefix}/staging/`)).length,
    dispose: async () => {
      const keys = await keysUnder(client, bucket, `${prefix}/`);
      for (let i = 0; i < keys.length; i += 1000) {
        await client.send(
          new DeleteObjectsCommand({
            Bucket: bucket,
            Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })) },
          }),
        );
      }
      store.close();
    },
  });
}

let fake: FakeS3 | undefined;
let external: { client: S3Client; config: S3ObjectConfig } | undefined;

beforeAll(async () => {
  fake = await startFakeS3();
  const url = process.env['CORDON_TEST_OBJECT_URL'];
  if (url) {
    const config = parseObjectUrl(url, process.env, 'CORDON_TEST_OBJECT_URL');
    if (config.kind !== 's3') throw new Error('CORDON_TEST_OBJECT_URL must be an s3:// URL');
    const clientConfig = {
      region: config.region,
      forcePathStyle: config.forcePathStyle,
      ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
      ...(config.credentials === undefined ? {} : { credentials: config.credentials }),
    };
    external = { client: new S3Client(clientConfig), config };
  }
});

afterAll(async () => {
  external?.client.destroy();
  await fake?.stop();
});

function fakeConfig(f: FakeS3): Omit<S3ObjectConfig, 'kind'> {
  return {
    bucket: f.bucket,
    prefix: '',
    region: f.region,
    endpoint: f.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  };
}

const kinds: Kind[] = [
  { name: 'FsBlobStore', make: fsSubject },
  { name: 'S3BlobStore on s3rver', make: () => s3Subject(fake!.client, fakeConfig(fake!)) },
];
if (process.env['CORDON_TEST_OBJECT_URL']) {
  kinds.push({
    name: 'S3BlobStore on CORDON_TEST_OBJECT_URL',
    make: () => s3Subject(external!.client, external!.config),
  });
}

// ---- helpers ----

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts);
}

async function listed(store: BlobStore): Promise<Digest[]> {
  const out: Digest[] = [];
  for await (const d of store.list()) out.push(d);
  return out.sort();
}

async function rejection(p: Promise<unknown>): Promise<CordonError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(CordonError);
    return e as CordonError;
  }
  throw new Error('expected a rejection');
}

/**
 * `size` bytes in chunks of `chunk` bytes, each chunk distinct; `hash` receives every byte so the
 * test knows the digest without holding the stream.
 */
function* generated(
  size: number,
  chunk: number,
  seed: Buffer,
  hash?: ReturnType<typeof createHash>,
) {
  let sent = 0;
  for (let i = 0; sent < size; i++) {
    const n = Math.min(chunk, size - sent);
    const block = Buffer.alloc(n);
    for (let at = 0; at < n; at += seed.length)
      seed.copy(block, at, 0, Math.min(seed.length, n - at));
    block.write(String(i).padStart(8, '0').slice(-n), 0, 'latin1');
    hash?.update(block);
    sent += n;
    yield block;
  }
}

/** Yields to the event loop before each item, as a file or network stream would. */
async function* asynchronously<T>(items: Iterable<T>): AsyncGenerator<T> {
  for (const item of items) {
    await tick();
    yield item;
  }
}

/** Stages, publishes and returns the digest of `bytes`. */
async function putPublished(store: BlobStore, bytes: Buffer | string): Promise<Digest> {
  const s = await store.stage();
  const d = await s.put(bytes);
  await s.publish();
  return d;
}

describe.each(kinds)('BlobStore contract: $name', ({ make }) => {
  let subject: Subject;
  let store: BlobStore;

  beforeEach(async () => {
    subject = await make();
    store = subject.store;
  });
  afterEach(async () => {
    await subject.dispose();
  });

  it('put returns the lower-case hex SHA-256, and the bytes read back after publish', async () => {
    const text = 'héllo, objects\n';
    const bytes = new Uint8Array([0, 1, 2, 250, 251, 252]);
    const empty = Buffer.alloc(0);
    const s = await store.stage();
    const dText = await s.put(text);
    const dBytes = await s.put(bytes);
    const dEmpty = await s.put(empty);
    expect(dText).toBe(sha256Hex(Buffer.from(text, 'utf8')));
    expect(dText).toMatch(/^[0-9a-f]{64}$/);
    expect(dBytes).toBe(sha256Hex(bytes));
    expect(dEmpty).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    await s.publish();

    expect(await store.has(dText)).toBe(true);
    expect((await store.get(dText)).toString('utf8')).toBe(text);
    expect([...(await store.get(dBytes))]).toEqual([...bytes]);
    expect((await store.get(dEmpty)).length).toBe(0);
    expect(await store.size(dText)).toBe(Buffer.byteLength(text));
    expect(await store.size(dEmpty)).toBe(0);
    expect((await collect(store.stream(dText))).toString('utf8')).toBe(text);
    expect((await collect(store.stream(dEmpty))).length).toBe(0);
    expect(await listed(store)).toEqual([dText, dBytes, dEmpty].sort());
    expect(await subject.stagedCount()).toBe(0);
  });

  it('keeps staged objects invisible until publish', async () => {
    const s = await store.stage();
    const d = await s.put('staged, not yet published');
    const { digest: ds } = await s.putStream(['streamed, ', 'not yet published']);
    expect(await subject.stagedCount()).toBe(2);
    for (const digest of [d, ds]) {
      expect(await store.has(digest)).toBe(false);
      expect((await rejection(store.get(digest))).code).toBe('OBJECT_NOT_FOUND');
    }
    expect(await listed(store)).toEqual([]);

    await s.publish();
    expect(await store.has(d)).toBe(true);
    expect(await store.has(ds)).toBe(true);
    expect(await listed(store)).toEqual([d, ds].sort());
    expect(await subject.stagedCount()).toBe(0);
    // Publishing again changes nothing.
    await s.publish();
    expect(await listed(store)).toEqual([d, ds].sort());
  });

  it('abort leaves nothing visible and nothing staged', async () => {
    const s = await store.stage();
    const d = await s.put('to be dropped');
    const { digest: ds } = await s.putStream(generated(PART + 7, 1 * MiB, randomBytes(64)));
    await s.abort();
    expect(await store.has(d)).toBe(false);
    expect(await store.has(ds)).toBe(false);
    expect(await listed(store)).toEqual([]);
    expect(await subject.stagedCount()).toBe(0);
    // A publish after the abort has nothing left to publish.
    await s.publish();
    expect(await listed(store)).toEqual([]);
  });

  it('abort after publish does not take published objects back', async () => {
    const s = await store.stage();
    const d = await s.put('kept');
    await s.publish();
    await s.abort();
    expect(await store.has(d)).toBe(true);
    expect((await store.get(d)).toString()).toBe('kept');
  });

  it('reports a missing object as OBJECT_NOT_FOUND, naming its digest', async () => {
    const d = sha256Hex('never stored');
    expect(await store.has(d)).toBe(false);
    for (const read of [() => store.get(d), () => store.size(d), () => collect(store.stream(d))]) {
      const e = await rejection(read());
      expect(e.code).toBe('OBJECT_NOT_FOUND');
      expect(e.message).toContain(d);
    }
  });

  it('putStream stores a 64 MiB generated stream and streams it back', async () => {
    const size = 64 * MiB;
    const expected = createHash('sha256');
    const s = await store.stage();
    const put = await s.putStream(
      asynchronously(generated(size, 1 * MiB, randomBytes(4096), expected)),
    );
    await s.publish();
    expect(put).toEqual({ digest: expected.digest('hex'), size });
    expect(await store.size(put.digest)).toBe(size);
    const back = createHash('sha256');
    let read = 0;
    for await (const chunk of store.stream(put.digest)) {
      back.update(chunk);
      read += chunk.length;
    }
    expect(read).toBe(size);
    expect(back.digest('hex')).toBe(put.digest);
  });

  it('putStream gets every size around part borders right, from any kind of chunk', async () => {
    // ASCII, so that chunks passed as strings keep their byte length.
    const seed = Buffer.from(randomBytes(500).toString('hex'));
    const sizes = [0, 1, PART - 1, PART, PART + 1, 2 * PART, 2 * PART + 3];
    const s = await store.stage();
    const want = new Map<Digest, number>();
    for (const size of sizes) {
      const hash = createHash('sha256');
      // Odd chunk sizes, as a sync iterable, mixing strings and byte arrays.
      const chunks = [...generated(size, 777_777, seed, hash)].map((c, i) =>
        i % 3 === 1 ? c.toString('latin1') : new Uint8Array(c),
      );
      const put = await s.putStream(chunks);
      expect(put).toEqual({ digest: hash.digest('hex'), size });
      want.set(put.digest, size);
    }
    await s.publish();
    for (const [digest, size] of want) {
      expect(await store.size(digest)).toBe(size);
      expect(sha256Hex(await store.get(digest))).toBe(digest);
    }
  });

  it('a putStream whose input fails publishes nothing', async () => {
    const s = await store.stage();
    const boom = new Error('input broke');
    const failing = (async function* () {
      yield* asynchronously(generated(2 * PART + 100, 1 * MiB, randomBytes(64)));
      throw boom;
    })();
    await expect(s.putStream(failing)).rejects.toBe(boom);
    await s.abort();
    expect(await listed(store)).toEqual([]);
    expect(await subject.stagedCount()).toBe(0);
  });

  it('re-putting content that exists is idempotent', async () => {
    const bytes = randomBytes(10_000);
    const s1 = await store.stage();
    const d = await s1.put(bytes);
    expect(await s1.put(bytes)).toBe(d);
    expect((await s1.putStream([bytes])).digest).toBe(d);
    expect(await subject.stagedCount()).toBe(1);
    await s1.publish();

    const s2 = await store.stage();
    expect(await s2.put(bytes)).toBe(d);
    expect(await s2.putStream([bytes.subarray(0, 10), bytes.subarray(10)])).toEqual({
      digest: d,
      size: bytes.length,
    });
    // Already stored: nothing needs staging.
    expect(await subject.stagedCount()).toBe(0);
    await s2.publish();
    expect(await listed(store)).toEqual([d]);
    expect(Buffer.compare(await store.get(d), bytes)).toBe(0);
  });

  it('concurrent writers of the same content all succeed and store it once', async () => {
    const small = randomBytes(50_000);
    const large = Buffer.concat([...generated(PART + 12_345, 1 * MiB, randomBytes(333))]);
    const writers = Array.from({ length: 6 }, async () => {
      const s = await store.stage();
      const [a, b, c] = await Promise.all([
        s.put(small),
        s.put(small),
        s.putStream([large.subarray(0, 3 * MiB), large.subarray(3 * MiB)]),
      ]);
      await s.publish();
      return [a, b, c.digest];
    });
    const results = await Promise.all(writers);
    const dSmall = sha256Hex(small);
    const dLarge = sha256Hex(large);
    for (const r of results) expect(r).toEqual([dSmall, dSmall, dLarge]);
    expect(await listed(store)).toEqual([dSmall, dLarge].sort());
    expect(Buffer.compare(await store.get(dSmall), small)).toBe(0);
    expect(Buffer.compare(await store.get(dLarge), large)).toBe(0);
    expect(await subject.stagedCount()).toBe(0);
  });

  it('lists every object, however many pages that takes', async () => {
    const s = await store.stage();
    const digests = await Promise.all(Array.from({ length: 25 }, (_, i) => s.put(`object ${i}`)));
    await s.publish();
    expect(await listed(store)).toEqual([...digests].sort());
  });

  it('cleanStaging removes what a dead writer left and spares open staging areas', async () => {
    const kept = await putPublished(store, 'published before the crash');
    await subject.abandonStaging(Buffer.from('left behind by a writer that died'));
    const open: BlobStaging = await store.stage();
    const d = await open.put('staged by a live writer');
    expect(await subject.stagedCount()).toBe(2);

    expect(await store.cleanStaging()).toBe(1);
    expect(await subject.stagedCount()).toBe(1);
    expect(await store.has(kept)).toBe(true);

    await open.publish();
    expect(await store.has(d)).toBe(true);
    expect(await store.cleanStaging()).toBe(0);
    expect(await subject.stagedCount()).toBe(0);
  });

  it('returns a corrupted object as stored; verified reads reject it with VerifyError', async () => {
    const good = await putPublished(store, 'intact object');
    const d = await putPublished(store, 'object that will be damaged');
    const garbage = Buffer.from('garbage written behind the store’s back');
    await subject.corrupt(d, garbage);

    // The store hides nothing: verify (engine) hashes what it reads and names the damage.
    expect(await store.has(d)).toBe(true);
    const bytes = await store.get(d);
    expect(Buffer.compare(bytes, garbage)).toBe(0);
    expect(sha256Hex(bytes)).not.toBe(d);
    expect(Buffer.compare(await collect(store.stream(d)), garbage)).toBe(0);

    for (const read of [() => getVerified(store, d), () => collect(streamVerified(store, d))]) {
      const e = await rejection(read());
      expect(e).toBeInstanceOf(VerifyError);
      expect(e.code).toBe('VERIFY_FAILED');
      expect(e.message).toContain(d);
      expect(e.message).toContain(sha256Hex(garbage));
    }
    expect((await getVerified(store, good)).toString()).toBe('intact object');
    expect((await collect(streamVerified(store, good))).toString()).toBe('intact object');
  });
});

describe('S3BlobStore specifics (s3rver)', () => {
  function spiedClient(f: FakeS3): {
    client: S3Client;
    calls: { name: string; bytes: number }[];
    peakParts: () => number;
  } {
    const client = new S3Client({
      endpoint: f.endpoint,
      region: f.region,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    const calls: { name: string; bytes: number }[] = [];
    let active = 0;
    let peak = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const name = String(context.commandName);
        const body = (args.input as { Body?: unknown }).Body;
        calls.push({ name, bytes: Buffer.isBuffer(body) ? body.length : 0 });
        const isPart = name === 'UploadPartCommand';
        if (isPart) peak = Math.max(peak, ++active);
        try {
          return await next(args);
        } finally {
          if (isPart) active--;
        }
      },
      { step: 'initialize', name: 'cordonTestSpy' },
    );
    return { client, calls, peakParts: () => peak };
  }

  it('uploads a long stream in parts: one part per request, at most queueSize at once', async () => {
    const spy = spiedClient(fake!);
    const store = new S3BlobStore({
      bucket: fake!.bucket,
      prefix: `spy-${randomBytes(4).toString('hex')}`,
      client: spy.client,
      partSize: PART,
      queueSize: 2,
    });
    const size = 24 * MiB + 5;
    const hash = createHash('sha256');
    const s = await store.stage();
    const put = await s.putStream(generated(size, 256 * 1024, randomBytes(256), hash));
    expect(put).toEqual({ digest: hash.digest('hex'), size });
    const names = spy.calls.map((c) => c.name);
    expect(names.filter((n) => n === 'PutObjectCommand')).toEqual([]);
    expect(names.filter((n) => n === 'CreateMultipartUploadCommand')).toHaveLength(1);
    const parts = spy.calls.filter((c) => c.name === 'UploadPartCommand');
    expect(parts.map((p) => p.bytes)).toEqual([PART, PART, PART, PART, 4 * MiB + 5]);
    expect(spy.peakParts()).toBeLessThanOrEqual(2);
    expect(names.filter((n) => n === 'CompleteMultipartUploadCommand')).toHaveLength(1);
    await s.publish();
    expect(await store.size(put.digest)).toBe(size);
    spy.client.destroy();
  });

  it('by default spares another writer’s staging area until it is stale', async () => {
    const subject = await s3Subject(fake!.client, fakeConfig(fake!), { staleAfterMs: 60_000 });
    await subject.abandonStaging(Buffer.from('another host may still be writing this'));
    expect(await subject.store.cleanStaging()).toBe(0);
    expect(await subject.stagedCount()).toBe(1);
    await subject.dispose();
  });

  it('fromUrl builds a working store from a CORDON_OBJECT_URL', async () => {
    const store = S3BlobStore.fromUrl(fake!.url(`from-url-${randomBytes(4).toString('hex')}`), {});
    await store.probe();
    expect(store.location).toMatch(/^s3:\/\/cordon-test\/from-url-/);
    const d = await putPublished(store, 'via URL');
    expect((await store.get(d)).toString()).toBe('via URL');
    store.close();
    const e = await rejection(Promise.resolve().then(() => S3BlobStore.fromUrl('file:///tmp/x')));
    expect(e.code).toBe('CONFIG_INVALID');
  });

  it('reports a missing bucket and refused credentials as CONFIG_INVALID', async () => {
    const base = {
      endpoint: fake!.endpoint,
      region: fake!.region,
      forcePathStyle: true,
    };
    const noBucket = new S3BlobStore({
      ...base,
      bucket: 'no-such-bucket',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    for (const call of [() => noBucket.probe(), () => noBucket.get(sha256Hex('x'))]) {
      const e = await rejection(call());
      expect(e.code).toBe('CONFIG_INVALID');
      expect(e.message).toContain('no-such-bucket');
    }
    noBucket.close();
    const stranger = new S3BlobStore({
      ...base,
      bucket: fake!.bucket,
      credentials: { accessKeyId: 'NOT-A-KEY', secretAccessKey: 'nope' },
    });
    const e = await rejection(listed(stranger));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toContain('InvalidAccessKeyId');
    stranger.close();
  });

  it('a publish that fails part-way leaves the object invisible (s3rver has no UploadPartCopy)', async () => {
    // Above copyLimit the store copies in parts, which s3rver does not implement.
    const subject = await s3Subject(fake!.client, fakeConfig(fake!), {
      copyLimit: PART,
      copyPartSize: PART,
    });
    const s = await subject.store.stage();
    const { digest } = await s.putStream(generated(PART + 1, MiB, randomBytes(64)));
    const e = await rejection(s.publish());
    expect(e.message).toContain('UploadPartCopy');
    expect(await subject.store.has(digest)).toBe(false);
    await s.abort();
    expect(await subject.stagedCount()).toBe(0);
    await subject.dispose();
  });
});

describe.skipIf(!process.env['CORDON_TEST_OBJECT_URL'])(
  'S3BlobStore on CORDON_TEST_OBJECT_URL',
  () => {
    it('publishes an object above the single-copy limit by multipart copy', async () => {
      const subject = await s3Subject(external!.client, external!.config, {
        copyLimit: PART,
        copyPartSize: PART,
      });
      const hash = createHash('sha256');
      const s = await subject.store.stage();
      const put = await s.putStream(generated(2 * PART + 99, MiB, randomBytes(64), hash));
      await s.publish();
      expect(put.digest).toBe(hash.digest('hex'));
      expect(sha256Hex(await subject.store.get(put.digest))).toBe(put.digest);
      await subject.dispose();
    });
  },
);
