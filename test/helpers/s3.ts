import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

/** The parts of s3rver (CommonJS, untyped) that the tests use. */
interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
type S3rverClass = new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  vhostBuckets: boolean;
}) => S3rverInstance;

/** s3rver accepts this one key pair. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface FakeS3 {
  endpoint: string;
  bucket: string;
  region: string;
  /** An `s3://` URL for the bucket, credentials included, as `CORDON_OBJECT_URL` would carry. */
  url(prefix?: string): string;
  /** A client for the stores under test and for reaching behind their backs. */
  client: S3Client;
  stop(): Promise<void>;
}

/**
 * Starts s3rver on an ephemeral loopback port, keeping its files in a fresh temporary folder,
 * and creates one bucket through the S3 API.
 */
export async function startFakeS3(bucket = 'cordon-test'): Promise<FakeS3> {
  // The SDK warns on every run that its 2027 releases will need Node 22; tests need not hear it.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;
  const directory = mkdtempSync(join(tmpdir(), 'cordon-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    vhostBuckets: false,
  });
  let client: S3Client | undefined;
  try {
    const { port } = await server.run();
    const endpoint = `http://127.0.0.1:${port}`;
    const region = 'us-east-1';
    client = new S3Client({
      endpoint,
      region,
      forcePathStyle: true,
      credentials: S3RVER_CREDENTIALS,
      // s3rver keeps objects as files and races with itself when requests touch one folder at
      // once (a DeleteObjects of two keys in one folder can answer 500); retries absorb that.
      maxAttempts: 6,
    });
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    const c = client;
    return {
      endpoint,
      bucket,
      region,
      client: c,
      url: (prefix = '') =>
        `s3://${S3RVER_CREDENTIALS.accessKeyId}:${S3RVER_CREDENTIALS.secretAccessKey}@${bucket}/` +
        `${prefix}?endpoint=${encodeURIComponent(endpoint)}&region=${region}&forcePathStyle=true`,
      stop: async () => {
        c.destroy();
        await server.close();
        rmSync(directory, { recursive: true, force: true });
      },
    };
  } catch (e) {
    client?.destroy();
    await server.close().catch(() => undefined);
    rmSync(directory, { recursive: true, force: true });
    throw e;
  }
}
