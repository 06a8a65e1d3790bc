import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const POSTGRES_NOT_CONFIGURED = 'PostgreSQL not configured: set CORDON_TEST_DATABASE_URL';

/** Whether the PostgreSQL half of the store tests can run, must fail, or is skipped. */
export interface TestPostgres {
  /** The server's URL when it answered; undefined otherwise. */
  url: string | undefined;
  /** Why `url` is undefined (empty when it is set). */
  why: string;
  /** CORDON_REQUIRE_SERVICES=1: a missing or unreachable server fails the tests, never skips them. */
  required: boolean;
}

/** Reads CORDON_TEST_DATABASE_URL and checks that the server answers `select 1`. */
export async function testPostgres(env = process.env): Promise<TestPostgres> {
  const url = env['CORDON_TEST_DATABASE_URL'];
  const required = env['CORDON_REQUIRE_SERVICES'] === '1';
  if (url === undefined || url === '')
    return { url: undefined, why: POSTGRES_NOT_CONFIGURED, required };
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return { url, why: '', required };
  } catch (e) {
    const detail = e instanceof Error ? e.message || e.name : String(e);
    return {
      url: undefined,
      why: `PostgreSQL at CORDON_TEST_DATABASE_URL is unreachable (${detail})`,
      required,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A schema name no other test (or test process) uses. */
export function uniqueSchemaName(): string {
  return `cordon_test_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** Drops a schema and everything in it (no-op if it is gone already). */
export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}
