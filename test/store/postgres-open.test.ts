import { afterEach, beforeEach, expect, it } from 'vitest';
import { CordonError } from '../../src/core/errors.js';
import type { MetadataStore } from '../../src/store/metadata-store.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import { enginesUnderTest, type FreshStore } from './engines.js';
import { eventRow } from './fixtures.js';

/** How openPostgresStore finds its schema, and how it fails. */

const postgres = (await enginesUnderTest()).find((e) => e.name === 'postgres')!;

async function openError(p: Promise<MetadataStore>): Promise<CordonError> {
  const e: unknown = await p.then(
    async (s) => {
      await s.close();
      return undefined;
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(CordonError);
  return e as CordonError;
}

/** `url` with libpq startup options (as a user would put them in CORDON_DATABASE_URL). */
function withOptions(url: string, options: string): string {
  const u = new URL(url);
  u.searchParams.set('options', options);
  return u.toString();
}

it('refuses a schema name it would have to quote', async () => {
  const e = await openError(openPostgresStore('postgres://x@127.0.0.1:1/x', { schema: 'a"b' }));
  expect(e.code).toBe('CONFIG_INVALID');
});

it('names the server but not the password when it cannot connect', async () => {
  const e = await openError(openPostgresStore('postgres://cordon:hunter2@127.0.0.1:1/meta'));
  expect(e.code).toBe('INTERNAL');
  expect(e.message).toMatch(
    /^cannot open the metadata store in PostgreSQL at 127\.0\.0\.1:1\/meta: /,
  );
  expect(e.message).not.toContain('hunter2');
});

postgres.describe('opening a PostgreSQL store', () => {
  let fresh: FreshStore;
  beforeEach(async () => {
    fresh = await postgres.fresh();
  });
  afterEach(async () => {
    await fresh.remove();
  });

  it('without a schema option, uses the search_path of the URL (and finds its migrations there)', async () => {
    if (fresh.target.engine !== 'postgres') throw new Error('unreachable');
    const first = await fresh.open(); // creates and migrates the schema
    await first.appendEvent(eventRow('hello'));
    const { url, schema } = fresh.target;
    const viaUrl = await openPostgresStore(withOptions(url, `-c search_path=${schema}`));
    try {
      expect((await viaUrl.listEventsFrom(0)).map((e) => e.kind)).toStrictEqual(['hello']);
    } finally {
      await viaUrl.close();
    }
  });

  it('without a schema option, refuses a search_path that names no schema', async () => {
    if (fresh.target.engine !== 'postgres') throw new Error('unreachable');
    const url = withOptions(fresh.target.url, `-c search_path=${fresh.target.schema}_missing`);
    const e = await openError(openPostgresStore(url));
    expect(e.code).toBe('CONFIG_INVALID');
  });
});
