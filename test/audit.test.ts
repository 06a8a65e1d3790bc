import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../src/store/sqlite.js';
import { cli } from './helpers/cli.js';
import { tempDir } from './helpers/workspace.js';

const FIXTURE = join(import.meta.dirname, 'fixtures/spam-100.jsonl');
let dir: string;
let cleanup: () => void;

beforeEach(async () => {
  ({ dir, cleanup } = tempDir());
  expect((await cli(dir, 'init', '--identity', 'alice')).status).toBe(0);
  expect((await cli(dir, 'ingest', 'mail', FIXTURE)).status).toBe(0);
  expect((await cli(dir, 'tag', 'mail@1', 'known-good')).status).toBe(0);
  expect(
    (await cli(dir, 'ingest', 'mail', FIXTURE, '--no-require-label', '-m', 'again')).status,
  ).toBe(0);
  expect((await cli(dir, 'rollback', 'mail', '--to', 'mail@1', '--reason', 'test')).status).toBe(0);
});
afterEach(() => cleanup());

/** Edits the database behind Cordon's back. */
async function tamper(
  sql: (db: Awaited<ReturnType<typeof openSqliteStore>>['db']) => Promise<unknown>,
): Promise<void> {
  const store = await openSqliteStore(join(dir, '.cordon', 'cordon.db'));
  await sql(store.db);
  await store.close();
}

describe('audit log', () => {
  it('verifies, with a signed checkpoint after every command, and proves an event', async () => {
    const v = await cli(dir, 'audit', 'verify', '--json');
    expect(v.status, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({
      ok: true,
      // init: the creator's identity and two grants (admin, owner); then three commands.
      events: 7,
      checkpoints: 5,
      unsigned: 0,
    });
    const p = await cli(dir, 'audit', 'proof', '2', '--json');
    expect(JSON.parse(p.stdout)).toMatchObject({ seq: 2, index: 1, size: 7, verified: true });
    const show = await cli(dir, 'audit', 'show', '--kind', 'dataset.rollback', '--json');
    expect(
      (JSON.parse(show.stdout) as { detail: { reason: string } }[]).map((e) => e.detail.reason),
    ).toEqual(['test']);
  });

  it('detects an edited event', async () => {
    await tamper((db) =>
      db
        .updateTable('events')
        .set({ detail: '{"reason":"nothing to see"}' })
        .where('kind', '=', 'dataset.rollback')
        .execute(),
    );
    const r = await cli(dir, 'audit', 'verify');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no longer hash to the signed checkpoint root/);
  });

  it('detects a deleted event, at the end or in the middle', async () => {
    await tamper((db) => db.deleteFrom('events').where('seq', '=', 7).execute());
    expect((await cli(dir, 'audit', 'verify')).stderr).toMatch(
      /holds 6 events but checkpoint 7 signed 7: events were deleted/,
    );
  });

  it('detects a deleted middle event', async () => {
    await tamper((db) => db.deleteFrom('events').where('seq', '=', 2).execute());
    expect((await cli(dir, 'audit', 'verify')).status).toBe(1);
  });

  it('detects a rewritten log with re-computed but unsigned checkpoints', async () => {
    await tamper(async (db) => {
      await db.updateTable('events').set({ actor: 'mallory' }).where('seq', '=', 1).execute();
      await db
        .updateTable('checkpoints')
        .set({ root: 'ab'.repeat(32) })
        .execute();
    });
    const r = await cli(dir, 'audit', 'verify');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /stored size or root differs from the signed note|no signature by a trusted key/,
    );
  });

  it('detects a dropped checkpoint history being replaced by a forged prefix', async () => {
    await tamper((db) => db.deleteFrom('checkpoints').where('size', '<', 4).execute());
    // Fewer checkpoints is fine; the remaining one still covers every event.
    expect((await cli(dir, 'audit', 'verify')).status).toBe(0);
    await tamper((db) =>
      db
        .updateTable('events')
        .set({ time: '2020-01-01T00:00:00.000Z' })
        .where('seq', '=', 3)
        .execute(),
    );
    expect((await cli(dir, 'audit', 'verify')).status).toBe(1);
  });
});
