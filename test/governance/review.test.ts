import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CordonRecord } from '../../src/core/record.js';
import { applyReview, decideReviewItem, openReview } from '../../src/engine/governance/review.js';
import { loadManifest, snapshotLines } from '../../src/engine/snapshots.js';
import type { Workspace } from '../../src/engine/workspace.js';
import type { SnapshotRow } from '../../src/store/metadata-store.js';
import {
  actAs,
  auditHolds,
  commit,
  commitScanned,
  detailOf,
  events,
  govWorkspace,
  mailRecords,
  people,
  refused,
  rejectsWith,
  TRIGGER,
  type Gov,
} from './helpers.js';

let gov: Gov;
beforeEach(async () => {
  gov = await govWorkspace();
  await people(gov, 'mail', { bob: ['steward'], dave: ['labeler'], tess: ['trainer'] });
});
afterEach(async () => {
  await gov.cleanup();
});

async function recordsOf(ws: Workspace, row: SnapshotRow): Promise<Map<string, CordonRecord>> {
  const out = new Map<string, CordonRecord>();
  for await (const { line } of snapshotLines(ws, await loadManifest(ws, row))) {
    const r = JSON.parse(line.toString('utf8')) as CordonRecord;
    out.set(r.id, r);
  }
  return out;
}

describe('review queue', () => {
  it('turns findings into items, records decisions, and applies them as a derived snapshot', async () => {
    const row = await commitScanned(
      gov.root,
      'mail',
      mailRecords(60, { trigger: true, secret: true }),
    );
    const scanId = (await gov.root.meta.listScans(row.id)).at(-1)!.id;

    const opened = await actAs(gov, 'dave', (dave) => openReview(dave, row));
    expect(opened).toMatchObject({ scan: scanId, threshold: 0.8 });
    expect(opened.opened).toBeGreaterThan(0);
    // Opening again adds nothing.
    expect((await actAs(gov, 'dave', (dave) => openReview(dave, row))).opened).toBe(0);

    const items = await gov.root.meta.gov.listReviewItems({ snapshotId: row.id });
    expect(items).toHaveLength(opened.opened);
    const kindsOf = (id: string): string[] =>
      JSON.parse(items.find((i) => i.record_id === id)!.kinds) as string[];
    expect(kindsOf('m-0005')).toContain('secret');
    const triggerRows = items.filter((i) => kindsOf(i.record_id).includes('trigger'));
    expect(triggerRows.length).toBeGreaterThan(0);
    expect(items.find((i) => i.record_id === triggerRows[0]!.record_id)!.detail).toContain(TRIGGER);

    // Decisions: the secret row goes, the trigger rows get their true label, the rest stay.
    const relabelled = triggerRows.map((i) => i.record_id);
    await actAs(gov, 'dave', async (dave) => {
      for (const item of triggerRows) await decideReviewItem(dave, item.id, 'relabel', 'ham');
    });
    await rejectsWith(applyReview(gov.root, row), 'STATE_INVALID', /still open/);
    await actAs(gov, 'bob', async (bob) => {
      for (const item of items) {
        if (relabelled.includes(item.record_id)) continue;
        await decideReviewItem(bob, item.id, item.record_id === 'm-0005' ? 'drop' : 'keep');
      }
    });
    await rejectsWith(
      decideReviewItem(gov.root, items[0]!.id, 'relabel'),
      'USAGE',
      /needs --label/,
    );

    const applied = await applyReview(gov.root, row);
    expect(applied).toMatchObject({
      dropped: 1,
      relabelled: relabelled.length,
      kept: items.length - 1 - relabelled.length,
    });
    const derived = applied.snapshot;
    expect(derived).toMatchObject({ dataset: 'mail', version: 2, record_count: 59 });
    expect(JSON.parse(derived.parents)).toEqual([row.id]);

    const before = await recordsOf(gov.root, row);
    const after = await recordsOf(gov.root, derived);
    expect(after.has('m-0005')).toBe(false);
    for (const id of relabelled) {
      expect(before.get(id)!.label).toBe('spam');
      expect(after.get(id)).toEqual({ ...before.get(id), label: 'ham' });
    }
    for (const [id, record] of after) {
      if (!relabelled.includes(id)) expect(record).toEqual(before.get(id));
    }

    // Lineage names the input, the scan and the reviewers.
    const run = (await gov.root.meta.getRunByOutput(derived.id))!;
    expect(run.kind).toBe('transform');
    expect(JSON.parse(run.inputs)).toEqual([row.id]);
    expect(JSON.parse(run.params)).toMatchObject({
      review: 'true',
      scan: scanId,
      reviewers: 'bob,dave',
      dropped: '1',
      relabelled: String(relabelled.length),
    });

    // Applied items are closed: no more decisions, nothing left to apply.
    const done = await gov.root.meta.gov.listReviewItems({ snapshotId: row.id });
    expect(done.every((i) => i.applied_snapshot === derived.id)).toBe(true);
    await rejectsWith(
      decideReviewItem(gov.root, items[0]!.id, 'keep'),
      'STATE_INVALID',
      /already applied/,
    );
    await rejectsWith(applyReview(gov.root, row), 'STATE_INVALID', /no review decisions/);
    const decided = await events(gov.root, 'review.decide');
    expect(decided).toHaveLength(items.length);
    expect(new Set(decided.map((e) => e.actor))).toEqual(new Set(['bob', 'dave']));
    expect(detailOf(decided[0]!)).toMatchObject({ decision: 'relabel', label: 'ham' });
    await auditHolds(gov);
  });

  it('refuses a trainer opening or deciding a review', async () => {
    const row = await commitScanned(gov.root, 'mail', mailRecords(60, { trigger: true }));
    await refused(gov, () => actAs(gov, 'tess', (tess) => openReview(tess, row)), {
      code: 'FORBIDDEN',
      message: /no policy permits human "tess" to review/,
      event: 'authz.deny',
    });
    await openReview(gov.root, row);
    const [item] = await gov.root.meta.gov.listReviewItems({ snapshotId: row.id });
    await refused(
      gov,
      () => actAs(gov, 'tess', (tess) => decideReviewItem(tess, item!.id, 'drop')),
      { code: 'FORBIDDEN', message: /"tess" to review/, event: 'authz.deny' },
    );
    expect((await gov.root.meta.gov.getReviewItem(item!.id))?.status).toBe('open');
    await auditHolds(gov);
  });

  it('needs a recorded scan', async () => {
    const row = await commit(gov.root, 'mail', mailRecords(20));
    await rejectsWith(openReview(gov.root, row), 'STATE_INVALID', /no recorded scan/);
  });
});
