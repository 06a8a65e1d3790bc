import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv } from './helpers/cli.js';
import { dropSchema, testPostgres, uniqueSchemaName } from './helpers/postgres.js';
import { startFakeS3, type FakeS3 } from './helpers/s3.js';
import { tempDir } from './helpers/workspace.js';

/**
 * The whole CLI over PostgreSQL metadata and S3 objects, chosen by CORDON_DATABASE_URL and
 * CORDON_OBJECT_URL: the same commands and results as on the embedded default.
 */
const service = await testPostgres();
const suite = service.url !== undefined || service.required ? describe : describe.skip;
if (service.url === undefined && !service.required)
  console.warn(`PostgreSQL + S3 end-to-end test skipped: ${service.why}`);

suite('the CLI on PostgreSQL and S3', () => {
  let s3: FakeS3;
  let schema: string;
  let env: Record<string, string>;
  let dir: string;
  let cleanup: () => void;

  beforeAll(async () => {
    if (service.url === undefined) throw new Error(`${service.why}; CORDON_REQUIRE_SERVICES=1`);
    s3 = await startFakeS3();
    schema = uniqueSchemaName();
    const client = new pg.Client({ connectionString: service.url });
    await client.connect();
    await client.query(`create schema "${schema}"`);
    await client.end();
    const url = new URL(service.url);
    url.searchParams.set('options', `-c search_path=${schema}`);
    env = {
      CORDON_DATABASE_URL: url.toString(),
      CORDON_OBJECT_URL: s3.url('ws1'),
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    ({ dir, cleanup } = tempDir());
    writeFileSync(
      join(dir, 'mail.jsonl'),
      readFileSync(join(import.meta.dirname, 'fixtures/spam-100.jsonl'), 'utf8'),
    );
  });
  afterAll(async () => {
    await s3?.stop();
    if (service.url !== undefined) await dropSchema(service.url, schema);
    cleanup?.();
  });

  const run = async (...args: string[]) => {
    const r = await cliEnv(dir, env, ...args);
    expect(r.status, `cordon ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r;
  };

  it('initialises, ingests, scans, verifies, exports and audits', async () => {
    await run('init', '--identity', 'root');
    const config = JSON.parse(readFileSync(join(dir, '.cordon/cordon.json'), 'utf8')) as object;
    expect(config).toMatchObject({ metadata: 'postgres', objects: 's3' });
    // Nothing landed in the workspace folder: no SQLite file, no object folder content.
    expect(() => readFileSync(join(dir, '.cordon/cordon.db'))).toThrow();
    await run('ingest', 'mail', 'mail.jsonl');
    writeFileSync(join(dir, 'more.jsonl'), '{"id":"x1","label":"ham","text":"hello again"}\n');
    await run('ingest', 'mail', 'more.jsonl', '--append');
    const diff = await run('diff', 'mail@1', 'mail@2');
    expect(diff.stdout).toMatch(/\+1 added/);
    await run('scan', 'mail');
    const verify = await run('verify');
    expect(verify.stdout).toMatch(/OK mail@2/);
    await run('export', 'mail', '--out', 'out', '--override-gate', 'backend test');
    expect((await run('verify', 'out')).stdout).toMatch(/OK mail@2 .* 101 records/);
    const audit = JSON.parse((await run('audit', 'verify', '--json')).stdout) as {
      ok: boolean;
      unsigned: number;
    };
    expect(audit).toMatchObject({ ok: true, unsigned: 0 });
    // The objects are in the bucket, under the prefix.
    const listed = await s3.client.send(
      new (await import('@aws-sdk/client-s3')).ListObjectsCommand({
        Bucket: s3.bucket,
        Prefix: 'ws1/sha256/',
      }),
    );
    expect((listed.Contents ?? []).length).toBeGreaterThan(3);
  });

  it('refuses to open the workspace without the environment it was created with', async () => {
    const r = await cliEnv(dir, {}, 'log', 'mail');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/CONFIG_INVALID.*PostgreSQL: set CORDON_DATABASE_URL/);
    const noObjects = await cliEnv(
      dir,
      { CORDON_DATABASE_URL: env['CORDON_DATABASE_URL']! },
      'log',
      'mail',
    );
    expect(noObjects.status).toBe(2);
    expect(noObjects.stderr).toMatch(/objects in S3: set CORDON_OBJECT_URL/);
  });
});
