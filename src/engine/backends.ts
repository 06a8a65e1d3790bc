import { join } from 'node:path';
import { CordonError } from '../core/errors.js';
import type { BlobStore } from '../store/blob-store.js';
import { FsBlobStore } from '../store/fs-blob-store.js';
import type { MetadataStore } from '../store/metadata-store.js';
import { parseObjectUrl } from '../store/object-url.js';
import { openPostgresStore } from '../store/postgres.js';
import { S3BlobStore } from '../store/s3-blob-store.js';
import { openSqliteStore } from '../store/sqlite.js';

/** Where a workspace keeps its metadata and objects, when not in its own folder. */
export interface Backends {
  /** PostgreSQL connection URL (CORDON_DATABASE_URL). Absent: SQLite in the workspace folder. */
  databaseUrl?: string;
  /** `s3://bucket/prefix?endpoint=…` or `file:///path` (CORDON_OBJECT_URL). Absent: objects/. */
  objectUrl?: string;
  /** Environment for object-store credentials (AWS_ACCESS_KEY_ID, …). */
  env?: Readonly<Record<string, string | undefined>>;
}

export type MetadataEngine = 'sqlite' | 'postgres';
export type ObjectEngine = 'folder' | 's3';

/** The backends the environment asks for. */
export function backendsFromEnv(env: Readonly<Record<string, string | undefined>>): Backends {
  const databaseUrl = env['CORDON_DATABASE_URL'];
  const objectUrl = env['CORDON_OBJECT_URL'];
  return {
    ...(databaseUrl ? { databaseUrl } : {}),
    ...(objectUrl ? { objectUrl } : {}),
    env,
  };
}

export function engineOf(backends: Backends): { metadata: MetadataEngine; objects: ObjectEngine } {
  const objects = backends.objectUrl
    ? parseObjectUrl(backends.objectUrl, backends.env ?? {}).kind === 's3'
      ? 's3'
      : 'folder'
    : 'folder';
  return { metadata: backends.databaseUrl ? 'postgres' : 'sqlite', objects };
}

/**
 * Opens the metadata store and the object store of the workspace at `root`. A workspace records
 * which engines it was created with; opening it with other ones is refused, so a missing
 * environment variable can never split one workspace's data over two stores.
 */
export async function openBackends(
  root: string,
  recorded: { metadata: MetadataEngine; objects: ObjectEngine },
  backends: Backends,
): Promise<{ meta: MetadataStore; blobs: BlobStore; close: () => Promise<void> }> {
  const asked = engineOf(backends);
  if (asked.metadata !== recorded.metadata)
    throw new CordonError(
      'CONFIG_INVALID',
      recorded.metadata === 'postgres'
        ? `this workspace keeps its metadata in PostgreSQL: set CORDON_DATABASE_URL`
        : `this workspace keeps its metadata in SQLite (${join(root, 'cordon.db')}): unset CORDON_DATABASE_URL`,
    );
  if (asked.objects !== recorded.objects)
    throw new CordonError(
      'CONFIG_INVALID',
      recorded.objects === 's3'
        ? `this workspace keeps its objects in S3: set CORDON_OBJECT_URL`
        : `this workspace keeps its objects in ${join(root, 'objects')}: unset CORDON_OBJECT_URL or use a file:// URL`,
    );
  const meta = backends.databaseUrl
    ? await openPostgresStore(backends.databaseUrl)
    : await openSqliteStore(join(root, 'cordon.db'));
  let blobs: BlobStore;
  let closeBlobs = (): void => undefined;
  try {
    const config = backends.objectUrl
      ? parseObjectUrl(backends.objectUrl, backends.env ?? {})
      : null;
    if (config?.kind === 's3') {
      const s3 = new S3BlobStore(config);
      await s3.probe();
      blobs = s3;
      closeBlobs = () => s3.close();
    } else {
      blobs = new FsBlobStore(config?.kind === 'file' ? config.root : join(root, 'objects'));
    }
  } catch (e) {
    await meta.close();
    throw e;
  }
  return {
    meta,
    blobs,
    close: async () => {
      closeBlobs();
      await meta.close();
    },
  };
}
