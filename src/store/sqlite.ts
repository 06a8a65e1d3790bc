import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { MetadataStore } from './metadata-store.js';
import type { Database } from './schema.js';

/** Opens (and migrates) the embedded SQLite metadata store at `path` (":memory:" for tests). */
export async function openSqliteStore(path: string): Promise<MetadataStore> {
  const sqlite = new BetterSqlite3(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const store = new MetadataStore(
    new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) }),
    'sqlite',
  );
  await store.migrate();
  return store;
}
