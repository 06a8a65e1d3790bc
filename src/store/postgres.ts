import { CompiledQuery, Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { CordonError } from '../core/errors.js';
import { MetadataStore } from './metadata-store.js';
import type { Database } from './schema.js';

export interface PostgresStoreOptions {
  /**
   * The PostgreSQL schema that holds Cordon's tables, created if missing, and made the only entry
   * of every connection's search_path. Default: the server's current schema (usually public).
   * Lowercase letters, digits and underscores, starting with a letter or underscore.
   */
  schema?: string;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** How long a session may sit idle inside an open transaction before the server ends it. */
const IDLE_IN_TRANSACTION = '60s';

/** OID of PostgreSQL's int8 (bigint), which pg returns as a string by default. */
const INT8_OID = 20;

/**
 * Opens (and migrates) the metadata store in the PostgreSQL database at `url`
 * (postgres://user:password@host:port/database). The same queries as SQLite run through Kysely's
 * PostgreSQL dialect over a pg connection pool; the store reads back the same value types (see
 * migrations.ts for the column types and write-transaction.ts for how audit appends are ordered).
 */
export async function openPostgresStore(
  url: string,
  options: PostgresStoreOptions = {},
): Promise<MetadataStore> {
  const { schema } = options;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new CordonError(
      'CONFIG_INVALID',
      `PostgreSQL schema name "${schema}" is not allowed: use lowercase letters, digits and underscores`,
    );
  }
  const where = describeServer(url);
  const pool = new pg.Pool({ connectionString: url, types: bigintAsNumber() });
  // An idle client whose server connection drops emits "error" on the pool; unheard, that would
  // end the process. The next query fails on its own and is reported where it was made.
  pool.on('error', () => undefined);

  const db = new Kysely<Database>({
    dialect: new PostgresDialect({
      pool,
      onCreateConnection: async (conn) => {
        // Every write that appends audit events holds one lock until it commits (see
        // write-transaction.ts), and the store never waits on anything else inside a transaction.
        // A session that stops half-way through one (a frozen process, a lost network) is ended
        // by the server, so it cannot hold every other writer up for longer than this.
        await conn.executeQuery(
          CompiledQuery.raw(`set idle_in_transaction_session_timeout = '${IDLE_IN_TRANSACTION}'`),
        );
        // Every connection looks in our schema only, so unqualified table names mean ours.
        if (schema !== undefined)
          await conn.executeQuery(CompiledQuery.raw(`set search_path to "${schema}"`));
      },
    }),
  });
  try {
    let migrationSchema = schema;
    if (schema === undefined) {
      const r = await sql<{ s: string | null }>`select current_schema() as s`.execute(db);
      migrationSchema = r.rows[0]?.s ?? undefined;
      if (migrationSchema === undefined) {
        throw new CordonError(
          'CONFIG_INVALID',
          `PostgreSQL at ${where}: the search_path names no existing schema; pass a schema`,
        );
      }
    } else {
      await createSchema(db, schema);
    }
    const store = new MetadataStore(db, 'postgres', migrationSchema);
    await store.migrate();
    return store;
  } catch (e) {
    await db.destroy().catch(() => undefined);
    if (e instanceof CordonError && e.code !== 'INTERNAL') throw e;
    throw new CordonError(
      'INTERNAL',
      `cannot open the metadata store in PostgreSQL at ${where}: ${explain(e)}`,
      { cause: e },
    );
  }
}

/** A driver error's message (a refused connection has an empty one, but a code), with causes. */
function explain(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = 'code' in e && typeof e.code === 'string' ? e.code : undefined;
  const own = e.message || code || e.name;
  return e.cause !== undefined && e.cause !== e ? `${own}: ${explain(e.cause)}` : own;
}

/**
 * `create schema if not exists` can still fail when another process creates the same schema at
 * the same moment; that is fine as long as the schema exists afterwards.
 */
async function createSchema(db: Kysely<Database>, schema: string): Promise<void> {
  try {
    await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  } catch (e) {
    const r = await sql<{ n: number }>`
      select count(*) as n from pg_namespace where nspname = ${schema}`.execute(db);
    if (r.rows[0]?.n !== 1) throw e;
  }
}

/**
 * Type parsers for this pool only (never pg's global ones, which other code may rely on):
 * bigint columns (record_count, seq, size) and count(*) read back as JavaScript numbers, as they
 * do from SQLite. The values Cordon keeps there stay far below 2^53.
 */
function bigintAsNumber(): pg.CustomTypesConfig {
  const types = new pg.TypeOverrides();
  types.setTypeParser(INT8_OID, (text: string) => Number(text));
  return types;
}

/** host:port/database of a URL, without the user name or password, for messages. */
function describeServer(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}
