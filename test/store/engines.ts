import { join } from 'node:path';
import { describe, it } from 'vitest';
import type { MetadataStore } from '../../src/store/metadata-store.js';
import { dropSchema, testPostgres, uniqueSchemaName } from '../helpers/postgres.js';
import { tempDir } from '../helpers/workspace.js';
import { openTarget, type StoreTarget } from './workload.js';

/** A fresh, empty store location: open it as often as needed, then remove it. */
export interface FreshStore {
  target: StoreTarget;
  /** Opens another handle on the store (its own connection or pool). */
  open(): Promise<MetadataStore>;
  /** Closes every handle `open` returned and deletes the data (temp file or schema). */
  remove(): Promise<void>;
}

export interface EngineUnderTest {
  name: 'sqlite' | 'postgres';
  /**
   * Declares `body` as a describe block for this engine; for PostgreSQL, skipped with the reason
   * in its title when no server is configured, or failing when CORDON_REQUIRE_SERVICES=1.
   */
  describe(title: string, body: () => void): void;
  /** A new, empty store location (a temp file or a fresh PostgreSQL schema), migrated when opened. */
  fresh(): Promise<FreshStore>;
}

function tracked(target: StoreTarget, drop: () => Promise<void>): FreshStore {
  const open: MetadataStore[] = [];
  return {
    target,
    async open() {
      const store = await openTarget(target);
      open.push(store);
      return store;
    },
    async remove() {
      for (const s of open.splice(0)) await s.close();
      await drop();
    },
  };
}

/** SQLite (always) and PostgreSQL (as CORDON_TEST_DATABASE_URL and the server allow). */
export async function enginesUnderTest(): Promise<EngineUnderTest[]> {
  const pg = await testPostgres();
  const sqlite: EngineUnderTest = {
    name: 'sqlite',
    describe: (title, body) => describe(`${title} [sqlite]`, body),
    fresh() {
      const t = tempDir('cordon-store-');
      return Promise.resolve(
        tracked({ engine: 'sqlite', path: join(t.dir, 'cordon.db') }, () => {
          t.cleanup();
          return Promise.resolve();
        }),
      );
    },
  };
  const url = pg.url;
  const postgres: EngineUnderTest = {
    name: 'postgres',
    describe(title, body) {
      if (url !== undefined) describe(`${title} [postgres]`, body);
      else if (pg.required)
        describe(`${title} [postgres]`, () => {
          it('needs PostgreSQL (CORDON_REQUIRE_SERVICES=1)', () => {
            throw new Error(`${pg.why}; CORDON_REQUIRE_SERVICES=1 forbids skipping these tests`);
          });
        });
      else {
        console.warn(`${title} [postgres] skipped: ${pg.why}`);
        describe.skip(`${title} [postgres] skipped: ${pg.why}`, body);
      }
    },
    fresh() {
      if (url === undefined) throw new Error(pg.why);
      const schema = uniqueSchemaName();
      return Promise.resolve(
        tracked({ engine: 'postgres', url, schema }, () => dropSchema(url, schema)),
      );
    },
  };
  return [sqlite, postgres];
}
