import { afterEach, beforeEach, expect, it } from 'vitest';
import { ManifestCache } from '../../src/server/manifest-cache.js';
import type { SnapshotRow } from '../../src/store/metadata-store.js';
import { commit, tempWorkspace, textRecords } from '../helpers/workspace.js';

let t: Awaited<ReturnType<typeof tempWorkspace>>;
beforeEach(async () => {
  t = await tempWorkspace('root');
});
afterEach(async () => t.cleanup());

it('parses a manifest once, keeps the newest few, and forgets a load that failed', async () => {
  const ws = t.ws;
  const rows: SnapshotRow[] = [];
  for (const [i, dataset] of ['a', 'b', 'c'].entries())
    rows.push(await commit(ws, dataset, textRecords(20, { offset: i * 100 })));
  const [a, b, c] = rows as [SnapshotRow, SnapshotRow, SnapshotRow];
  const cache = new ManifestCache(2);

  const first = cache.get(ws, a);
  expect(cache.get(ws, a)).toBe(first); // the same load, shared
  expect((await first).entries).toHaveLength(20);
  void cache.get(ws, b);
  expect(cache.get(ws, a)).toBe(first); // a is now the most recent
  await cache.get(ws, c); // evicts b, the least recent
  expect(cache.size).toBe(2);
  expect(cache.get(ws, a)).toBe(first);

  // A manifest that cannot be read fails, and the failure is not kept: the next get tries again.
  const missing = { ...c, manifest_digest: '0'.repeat(64) };
  const failed = cache.get(ws, missing);
  await expect(failed).rejects.toThrow();
  const retried = cache.get(ws, missing);
  expect(retried).not.toBe(failed);
  await expect(retried).rejects.toThrow();
});
