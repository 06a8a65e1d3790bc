import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CordonRecord } from '../../src/core/record.js';
import { DiffCache, diffRows, pageRows } from '../../src/server/diff-cache.js';
import { commit, tempWorkspace } from '../helpers/workspace.js';
import { fixture, mailRows, ok, problem, type Fixture } from './helpers.js';

let f: Fixture;

const as = (name: string) => ({ token: f.tokens[name]! });

interface RowsPage {
  change: string;
  total: number;
  offset: number;
  limit: number;
  next: number | null;
  rows: {
    id: string;
    label: string | null;
    source: string | null;
    labelBefore?: string | null;
    labelAfter?: string | null;
  }[];
}

interface Diff {
  added: number;
  removed: number;
  changed: number;
  unchanged: number;
  labelChanges: { from: string | null; to: string | null; records: number }[];
  samples: { added: string[]; removed: string[]; changed: { id: string }[] };
}

const id = (i: number) => `m-${String(i).padStart(7, '0')}`;

/**
 * mail@1: 40 rows. mail@2: rows 0-4 removed, 40-46 added, 10-15 relabelled (spam and ham swap:
 * 3 each way), 20-22 with new text and the same label, one added row without a label.
 */
async function twoVersions(): Promise<void> {
  const before = mailRows(40);
  await commit(f.root, 'mail', before);
  const after: CordonRecord[] = before
    .filter(
      (r) => !['m-0000000', 'm-0000001', 'm-0000002', 'm-0000003', 'm-0000004'].includes(r.id),
    )
    .map((r) => {
      const i = Number(r.id.slice(2));
      if (i >= 10 && i <= 15) return { ...r, label: r.label === 'spam' ? 'ham' : 'spam' };
      if (i >= 20 && i <= 22) return { ...r, text: `${r.text ?? ''} (edited)` };
      return r;
    });
  const added = mailRows(7, { start: 40 });
  added[6] = { ...added[6]!, label: null };
  await commit(f.root, 'mail', [...after, ...added]);
}

async function rows(query: string, who = 'alice'): Promise<RowsPage> {
  return ok<RowsPage>(f, 'GET', `/v1/diff/rows?from=mail@1&to=mail@2&${query}`, as(who));
}

describe('GET /v1/diff/rows', () => {
  beforeEach(async () => {
    f = await fixture();
    await twoVersions();
  });
  afterEach(async () => f.cleanup());

  it('pages every kind of change, with totals that agree with /v1/diff', async () => {
    const diff = await ok<Diff>(f, 'GET', '/v1/diff?from=mail@1&to=mail@2&limit=3', as('alice'));
    expect(diff).toMatchObject({ added: 7, removed: 5, changed: 9, unchanged: 26 });
    for (const change of ['added', 'removed', 'changed'] as const) {
      const seen: string[] = [];
      let offset: number | null = 0;
      while (offset !== null) {
        const page = await rows(`change=${change}&offset=${offset}&limit=2`);
        expect(page.total).toBe(diff[change]);
        expect(page.rows.length).toBeLessThanOrEqual(2);
        seen.push(...page.rows.map((r) => r.id));
        offset = page.next;
      }
      expect(seen).toHaveLength(diff[change]);
      expect([...seen].sort()).toEqual(seen);
      // The plain diff's samples are the first rows of the same lists.
      const samples =
        change === 'changed' ? diff.samples.changed.map((c) => c.id) : diff.samples[change];
      expect(samples).toEqual(seen.slice(0, 3));
    }
    const removed = await rows('change=removed');
    expect(removed.rows.map((r) => r.id)).toEqual([0, 1, 2, 3, 4].map(id));
    expect(removed.rows[0]).toEqual({ id: id(0), label: 'spam', source: 'feed-b' });
    const changed = await rows('change=changed&limit=1');
    expect(changed).toMatchObject({ total: 9, next: 1, offset: 0, limit: 1 });
    expect(changed.rows[0]).toEqual({
      id: id(10),
      label: 'ham',
      source: 'feed-b',
      labelBefore: 'spam',
      labelAfter: 'ham',
    });
    const past = await rows('change=added&offset=100');
    expect(past).toMatchObject({ total: 7, rows: [], next: null });
  });

  it('filters by class pair, by label and by source', async () => {
    const diff = await ok<Diff>(f, 'GET', '/v1/diff?from=mail@1&to=mail@2', as('alice'));
    for (const pair of diff.labelChanges) {
      const page = await rows(`change=changed&labelFrom=${pair.from}&labelTo=${pair.to}`);
      expect(page.total).toBe(pair.records);
      for (const r of page.rows)
        expect(r).toMatchObject({ labelBefore: pair.from, labelAfter: pair.to });
    }
    expect((await rows('change=changed&labelFrom=spam&labelTo=ham')).rows.map((r) => r.id)).toEqual(
      [10, 12, 14].map(id),
    );
    // Only one side of the pair: every change away from spam.
    expect((await rows('change=changed&labelFrom=spam')).total).toBe(3 + 2);
    // A class pair names changed rows only.
    expect((await rows('change=added&labelFrom=spam')).total).toBe(0);
    // A label matches either side of a changed row.
    expect((await rows('change=changed&label=spam')).total).toBe(8);
    expect((await rows('change=added&label=spam')).rows.map((r) => r.id)).toEqual(
      [40, 42, 44].map(id),
    );
    // Empty: records without a label.
    expect((await rows('change=added&label=')).rows).toEqual([
      { id: id(46), label: null, source: 'feed-b' },
    ]);
    expect((await rows('change=removed&source=feed-a')).rows.map((r) => r.id)).toEqual(
      [1, 3].map(id),
    );
    expect((await rows('change=added&label=nothing-like-this')).total).toBe(0);
  });

  it('refuses a caller who may not read, and bad paging', async () => {
    await problem(
      f,
      'GET',
      '/v1/diff/rows?from=mail@1&to=mail@2&change=added',
      { status: 403 },
      as('carol'),
    );
    await problem(f, 'GET', '/v1/diff?from=mail@1&to=mail@2', { status: 403 }, as('carol'));
    await problem(
      f,
      'GET',
      '/v1/diff/rows?from=mail@1&to=mail@2&change=added&limit=501',
      { status: 422, code: 'INPUT_INVALID' },
      as('alice'),
    );
    await problem(
      f,
      'GET',
      '/v1/diff/rows?from=mail@1&to=mail@2&change=moved',
      { status: 422, code: 'INPUT_INVALID' },
      as('alice'),
    );
    await problem(
      f,
      'GET',
      '/v1/diff/rows?from=mail@1&to=mail@9&change=added',
      { status: 404, code: 'SNAPSHOT_NOT_FOUND' },
      as('alice'),
    );
  });
});

describe('the diff cache', () => {
  it('computes a pair once, shares it, and evicts the least recently used', async () => {
    const t = await tempWorkspace('root');
    try {
      const a = await commit(t.ws, 'd', mailRows(10));
      const b = await commit(t.ws, 'd', mailRows(12));
      const c = await commit(t.ws, 'd', mailRows(3));
      const cache = new DiffCache(2, 1_000);
      const [one, two] = await Promise.all([cache.get(t.ws, a, b), cache.get(t.ws, a, b)]);
      expect(one).toBe(two);
      expect(one.summary).toMatchObject({ added: 2, removed: 0 });
      await cache.get(t.ws, b, c);
      expect(await cache.get(t.ws, a, b)).toBe(one);
      await cache.get(t.ws, a, c);
      expect(cache.size).toBe(2);
      // (a, b) was used after (b, c): (b, c) went.
      expect(await cache.get(t.ws, a, b)).toBe(one);
      // Over the row budget: only the newest stays.
      const small = new DiffCache(8, 5);
      await small.get(t.ws, a, c);
      await small.get(t.ws, b, c);
      expect(small.size).toBe(1);
    } finally {
      await t.cleanup();
    }
  });

  it('pages filtered rows directly from the compact lists', () => {
    const e = (id: string, label: string | null, digest: string) => ({
      id,
      digest: digest.repeat(64),
      label,
      source: 's',
      segment: 0,
    });
    const d = diffRows(
      [e('a', 'x', '1'), e('b', 'x', '2'), e('c', null, '3')],
      [e('b', 'y', '9'), e('c', null, '3'), e('d', 'x', '4')],
    );
    expect(d.summary).toMatchObject({ added: 1, removed: 1, changed: 1, unchanged: 1 });
    expect(pageRows(d, 'changed', { labelFrom: 'x', labelTo: 'y' }, 0, 10)).toEqual({
      total: 1,
      rows: [{ id: 'b', label: 'y', source: 's', labelBefore: 'x', labelAfter: 'y' }],
    });
    expect(pageRows(d, 'added', { label: null }, 0, 10).total).toBe(0);
    expect(pageRows(d, 'removed', {}, 1, 10)).toEqual({ total: 1, rows: [] });
  });
});
