import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CordonError } from '../core/errors.js';
import { manifestRoot } from '../core/manifest.js';
import { recordDigest } from '../core/record.js';
import { commit, tempWorkspace, textRecords } from '../../test/helpers/workspace.js';
import { loadManifest, resolveSnapshot, snapshotLines } from './snapshots.js';
import { verifySnapshot } from './verify-snapshot.js';
import { trustedKeys, type Workspace } from './workspace.js';

let ws: Workspace;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ ws, cleanup } = await tempWorkspace());
});
afterEach(async () => cleanup());

describe('commitItems', () => {
  it('commits a signed snapshot whose manifest rebuilds the root and verifies', async () => {
    const records = textRecords(5000);
    const row = await commit(ws, 'mail', records);
    expect(row.version).toBe(1);
    expect(Number(row.record_count)).toBe(5000);
    const m = await loadManifest(ws, row);
    expect(manifestRoot(m.entries)).toBe(row.root);
    // Entries are sorted by id and carry each record's digest.
    const byId = new Map(records.map((r) => [r.id, recordDigest(r)]));
    for (const e of m.entries) expect(e.digest).toBe(byId.get(e.id));
    expect(m.header.segments.length).toBeGreaterThan(1);
    const v = await verifySnapshot(ws, row, await trustedKeys(ws));
    expect(v.records).toBe(5000);
    expect((await ws.meta.getDataset('mail'))?.head).toBe(row.id);
  });

  it('gives the same root to the same records in any order', async () => {
    const records = textRecords(300);
    const a = await commit(ws, 'a', records);
    const b = await commit(ws, 'b', [...records].reverse());
    expect(a.root).toBe(b.root);
    expect(a.id).not.toBe(b.id);
  });

  it('refuses duplicate ids, naming both places, and writes nothing', async () => {
    const records = textRecords(10);
    records[7] = { ...records[7]!, id: records[2]!.id };
    const err = await commit(ws, 'mail', records).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CordonError);
    expect((err as CordonError).message).toMatch(
      /duplicate record id "row-000002" at test\.jsonl:3 and test\.jsonl:8/,
    );
    expect(await ws.meta.listSnapshots()).toHaveLength(0);
    expect(readdirSync(join(ws.dir, 'objects'))).not.toContain('sha256');
  });

  it('appends on top of the head, replacing records by id, and shares segments', async () => {
    const first = await commit(ws, 'mail', textRecords(3000));
    const base = await loadManifest(ws, first);
    const changed = textRecords(1, { offset: 10, label: () => 'spam' }).map((r) => ({
      ...r,
      text: 'changed',
    }));
    const added = textRecords(5, { offset: 3000 });
    const second = await commit(ws, 'mail', [...changed, ...added], { base });
    expect(Number(second.record_count)).toBe(3005);
    const m = await loadManifest(ws, second);
    expect(m.header.segments.slice(0, base.header.segments.length)).toEqual(base.header.segments);
    const lines: string[] = [];
    for await (const { line } of snapshotLines(ws, m)) lines.push(line.toString());
    expect(lines).toHaveLength(3005);
    expect(lines.filter((l) => l.includes('"changed"'))).toHaveLength(1);
    await verifySnapshot(ws, second, await trustedKeys(ws));
  });

  it('refuses a commit whose expected head is stale (optimistic concurrency)', async () => {
    await commit(ws, 'mail', textRecords(10));
    const err = await commit(ws, 'mail', textRecords(12), { expectedHead: null }).catch(
      (e: unknown) => e,
    );
    expect((err as CordonError).code).toBe('HEAD_CONFLICT');
    expect(await ws.meta.listSnapshots('mail')).toHaveLength(1);
  });

  it('resolves dataset, dataset@version, dataset@tag and id prefixes', async () => {
    const one = await commit(ws, 'mail', textRecords(10));
    const two = await commit(ws, 'mail', textRecords(11));
    await ws.meta.addTag(one.id, 'known-good', 'alice', {
      time: 't',
      actor: 'alice',
      kind: 'snapshot.tag',
      dataset: 'mail',
      snapshot_id: one.id,
      detail: '{}',
    });
    expect((await resolveSnapshot(ws, 'mail')).id).toBe(two.id);
    expect((await resolveSnapshot(ws, 'mail@1')).id).toBe(one.id);
    expect((await resolveSnapshot(ws, 'mail@known-good')).id).toBe(one.id);
    expect((await resolveSnapshot(ws, two.id.slice(0, 10))).id).toBe(two.id);
    await expect(resolveSnapshot(ws, 'mail@9')).rejects.toThrow(/no version 9/);
    await expect(resolveSnapshot(ws, 'nope')).rejects.toThrow(/no dataset or snapshot/);
  });
});
