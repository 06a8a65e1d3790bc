import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DsseEnvelope } from '../../src/core/dsse.js';
import { deriveSnapshot } from '../../src/engine/derive.js';
import { exportSnapshot } from '../../src/engine/export.js';
import {
  approvalStatus,
  approveSnapshot,
  checkApproval,
  promoteSnapshot,
} from '../../src/engine/governance/approvals.js';
import { gateStatus, runGate } from '../../src/engine/governance/gate.js';
import { addIdentity, grantRole } from '../../src/engine/governance/identities.js';
import { liftQuarantine, placeQuarantine } from '../../src/engine/governance/quarantine.js';
import { createToken, rotateToken } from '../../src/engine/governance/tokens.js';
import { mergeSnapshots } from '../../src/engine/merge.js';
import type { SnapshotRow } from '../../src/store/metadata-store.js';
import { tempDir, textRecords } from '../helpers/workspace.js';
import {
  actAs,
  auditHolds,
  commit,
  commitScanned,
  detailOf,
  events,
  govWorkspace,
  people,
  refused,
  rejectsWith,
  stateOf,
  matching,
  type Gov,
} from './helpers.js';

let gov: Gov;
let out: ReturnType<typeof tempDir>;
beforeEach(async () => {
  gov = await govWorkspace();
  out = tempDir('cordon-export-');
  await people(gov, 'mail', { bob: ['steward'], carol: ['steward'], tess: ['trainer'] });
  await people(gov, 'news', { bob: ['steward'], tess: ['trainer'] });
});
afterEach(async () => {
  await gov.cleanup();
  out.cleanup();
});

const exportTo = (name: string): string => join(out.dir, name);

describe('export needs a gate', () => {
  it('refuses exporting an ungated snapshot; an owner override works and is recorded', async () => {
    const row = await commitScanned(gov.root, 'mail', textRecords(40));
    const { event } = await refused(
      gov,
      () => actAs(gov, 'tess', (tess) => exportSnapshot(tess, row, exportTo('tess'))),
      {
        code: 'FORBIDDEN',
        message: /"tess" may not export .*"export-needs-gate"/,
        event: 'authz.deny',
      },
    );
    expect(detailOf(event)).toMatchObject({ action: 'export', policies: ['export-needs-gate'] });
    expect(existsSync(exportTo('tess'))).toBe(false);

    // A trainer cannot override the gate; an owner can, with a reason.
    await refused(
      gov,
      () =>
        actAs(gov, 'tess', (tess) =>
          exportSnapshot(tess, row, exportTo('tess'), { overrideGate: 'deadline' }),
        ),
      { code: 'FORBIDDEN', message: /"tess" to overrideGate/, event: 'authz.deny' },
    );
    await rejectsWith(
      exportSnapshot(gov.root, row, exportTo('root'), { overrideGate: '   ' }),
      'USAGE',
      /needs a reason/,
    );
    const result = await exportSnapshot(gov.root, row, exportTo('root'), {
      overrideGate: 'hotfix retrain signed off by legal',
    });
    expect(result.records).toBe(40);
    expect(readFileSync(join(result.dir, 'records.jsonl'), 'utf8').split('\n')).toHaveLength(41);
    const exported = (await events(gov.root, 'snapshot.export')).at(-1)!;
    expect(detailOf(exported)).toMatchObject({
      gateOverride: { reason: 'hotfix retrain signed off by legal' },
      authz: [
        expect.objectContaining({ action: 'overrideGate' }),
        expect.objectContaining({ action: 'export' }),
      ],
    });
    await auditHolds(gov);
  });
});

describe('quarantined snapshots', () => {
  async function quarantined(): Promise<{ row: SnapshotRow; id: string }> {
    const row = await commitScanned(gov.root, 'mail', textRecords(40));
    const q = await placeQuarantine(gov.root, 'snapshot', 'mail@1', { reason: 'poison report' });
    expect(await stateOf(gov.root, row)).toBe('quarantined');
    return { row, id: q.id };
  }

  it('refuses export, override, approval, merge and transform of a quarantined snapshot', async () => {
    const { row } = await quarantined();
    const other = await commit(gov.root, 'news', textRecords(10, { offset: 900 }));

    await refused(
      gov,
      () => actAs(gov, 'tess', (tess) => exportSnapshot(tess, row, exportTo('tess'))),
      { code: 'FORBIDDEN', message: /"quarantined-snapshot"/, event: 'authz.deny' },
    );
    await refused(
      gov,
      () => exportSnapshot(gov.root, row, exportTo('root'), { overrideGate: 'I know better' }),
      {
        code: 'FORBIDDEN',
        message: /may not overrideGate .*"quarantined-snapshot"/,
        event: 'authz.deny',
      },
    );
    await refused(gov, () => actAs(gov, 'bob', (bob) => approveSnapshot(bob, row)), {
      code: 'FORBIDDEN',
      message: /"bob" may not approve .*"quarantined-snapshot"/,
      event: 'authz.deny',
    });

    const merge = await refused(
      gov,
      () =>
        mergeSnapshots(gov.root, 'combined', [row, other], { onConflict: 'error', stage: 'raw' }),
      {
        code: 'QUARANTINED',
        message: /mail@1 cannot be used in a merge: it is quarantined \(poison report\)/,
        event: 'quarantine.blocked',
      },
    );
    expect(merge.event).toMatchObject({ dataset: 'mail', snapshot_id: row.id });
    expect(detailOf(merge.event)).toMatchObject({ operation: 'merge' });
    expect(await gov.root.meta.getDataset('combined')).toBeUndefined();

    await refused(
      gov,
      () =>
        deriveSnapshot(
          gov.root,
          row,
          { drop: new Set(['row-000001']), relabel: new Map() },
          { message: 'clean it', command: 'test', params: {} },
        ),
      {
        code: 'QUARANTINED',
        message: /cannot be used in a transform: it is quarantined/,
        event: 'quarantine.blocked',
      },
    );
    expect((await gov.root.meta.getDataset('mail'))?.head).toBe(row.id);
    expect(existsSync(exportTo('tess'))).toBe(false);
    expect(existsSync(exportTo('root'))).toBe(false);
    await auditHolds(gov);
  });

  it('lets a second steward lift it, never the one who placed it', async () => {
    const { row, id } = await quarantined();
    const { event } = await refused(gov, () => liftQuarantine(gov.root, id, 'false alarm'), {
      code: 'FORBIDDEN',
      message: /"root" may not liftQuarantine .*"four-eyes-quarantine-lift"/,
      event: 'authz.deny',
    });
    expect(detailOf(event)).toMatchObject({ policies: ['four-eyes-quarantine-lift'] });
    expect(await stateOf(gov.root, row)).toBe('quarantined');

    const lifted = await actAs(gov, 'bob', (bob) => liftQuarantine(bob, id, 'false alarm'));
    expect(lifted).toMatchObject({ lifted_by: 'bob', lift_reason: 'false alarm' });
    expect(await stateOf(gov.root, row)).toBe('scanned');
    // The lift is backed by bob's signed approval of this exact snapshot.
    const approval = JSON.parse(
      (await gov.root.blobs.get(lifted.lift_envelope_digest!)).toString('utf8'),
    ) as DsseEnvelope;
    const predicate = await checkApproval(gov.root, approval, row, 'lift-quarantine');
    expect(predicate).toMatchObject({ reviewer: { identity: 'bob' }, quarantine: id });
    await rejectsWith(
      actAs(gov, 'carol', (carol) => liftQuarantine(carol, id, 'again')),
      'USAGE',
      /already lifted/,
    );

    // Back in circulation: it can be approved again.
    const approved = await actAs(gov, 'carol', (carol) => approveSnapshot(carol, row));
    expect(approved.promoted).toBe(true);
    await auditHolds(gov);
  });

  it('needs fresh approvals and a fresh gate after a lift', async () => {
    const row = await commitScanned(gov.root, 'mail', textRecords(40));
    await actAs(gov, 'bob', (bob) => approveSnapshot(bob, row));
    const gate = await runGate(gov.root, row, {
      text: 'version: 1\napprovals:\n  min: 1\n',
      file: 'g.yaml',
    });
    expect(gate.verdict.passed).toBe(true);
    const q = await placeQuarantine(gov.root, 'snapshot', row.id, { reason: 'tip-off' });
    await actAs(gov, 'carol', (carol) => liftQuarantine(carol, q.id, 'tip-off was wrong'));
    expect(await stateOf(gov.root, row)).toBe('scanned');

    // Evidence from before the quarantine no longer counts.
    const status = await approvalStatus(gov.root, row);
    expect(status.independent).toEqual([]);
    expect(status.invalid[0]?.reason).toMatch(/before .* quarantined/);
    expect(await gateStatus(gov.root, row)).toMatchObject({
      passed: false,
      reason: matching(/before .* quarantined/),
    });
    await refused(gov, () => promoteSnapshot(gov.root, row), {
      code: 'FORBIDDEN',
      message: /"two-person-rule"/,
      event: 'authz.deny',
    });
    await refused(
      gov,
      () => actAs(gov, 'tess', (tess) => exportSnapshot(tess, row, exportTo('tess'))),
      { code: 'FORBIDDEN', message: /"export-needs-gate"/, event: 'authz.deny' },
    );

    // A new approval by the same steward and a new gate run restore it.
    const again = await actAs(gov, 'bob', (bob) => approveSnapshot(bob, row));
    expect(again).toMatchObject({ promoted: true });
    expect(again.status.independent).toEqual(['bob']);
    expect(
      (await runGate(gov.root, row, { text: 'version: 1\napprovals:\n  min: 1\n', file: 'g.yaml' }))
        .verdict.passed,
    ).toBe(true);
    await actAs(gov, 'tess', (tess) => exportSnapshot(tess, row, exportTo('tess')));
    await auditHolds(gov);
  });

  it('applies the four-eyes rule to token quarantines too, and logs the refusal', async () => {
    await addIdentity(gov.root, 'ingest-bot', { kind: 'service', owners: ['root'] });
    const created = await createToken(gov.root, 'ingest-bot', {
      scopes: ['datasets:read'],
      expiresInMs: 3_600_000,
    });
    const q = await placeQuarantine(gov.root, 'token', created.row.key_id, { reason: 'leak?' });
    const { event } = await refused(gov, () => liftQuarantine(gov.root, q.id, 'not a leak'), {
      code: 'FORBIDDEN',
      message: /root placed quarantine .*someone else must approve lifting it/,
      event: 'authz.deny',
    });
    expect(detailOf(event)).toMatchObject({ action: 'manageTokens', quarantine: q.id });
    // Rotating the token is no way around the quarantine either.
    await refused(gov, () => rotateToken(gov.root, created.row.key_id, 60_000), {
      code: 'QUARANTINED',
      message: /token \w{12} is quarantined \(leak\?\)/,
      event: 'quarantine.blocked',
    });
    expect(await gov.root.meta.gov.listTokens('ingest-bot')).toHaveLength(1);
    expect((await gov.root.meta.gov.getQuarantine(q.id))?.lifted_at).toBeNull();

    // Someone else with authority over the token may lift it.
    await grantRole(gov.root, 'carol', 'admin', '*');
    await actAs(gov, 'carol', (carol) => liftQuarantine(carol, q.id, 'checked the logs'));
    const who = await actAs(gov, { token: created.token }, (bot) =>
      Promise.resolve(bot.identity.name),
    );
    expect(who).toBe('ingest-bot');
    await auditHolds(gov);
  });
});

describe('quarantined sources', () => {
  it('blocks every snapshot that holds rows from the source', async () => {
    const row = await commitScanned(gov.root, 'news', textRecords(40));
    const clean = await commit(gov.root, 'mail', textRecords(10, { offset: 700 }));
    const q = await placeQuarantine(gov.root, 'source', 'feed-a', {
      reason: 'vendor breach',
      dataset: 'news',
    });
    await refused(
      gov,
      () => exportSnapshot(gov.root, row, exportTo('root'), { overrideGate: 'need it' }),
      { code: 'FORBIDDEN', message: /"quarantined-snapshot"/, event: 'authz.deny' },
    );
    const { event } = await refused(
      gov,
      () =>
        mergeSnapshots(gov.root, 'combined', [clean, row], { onConflict: 'error', stage: 'raw' }),
      {
        code: 'QUARANTINED',
        message:
          /news@1 cannot be used in a merge: its source "feed-a" is quarantined \(vendor breach\)/,
        event: 'quarantine.blocked',
      },
    );
    expect(detailOf(event)).toMatchObject({ quarantine: q.id });
    // The same source name in another dataset is not covered by this quarantine.
    const mailExport = await exportSnapshot(gov.root, clean, exportTo('mail'), {
      overrideGate: 'unrelated dataset',
    });
    expect(mailExport.records).toBe(10);

    // The one who placed it cannot lift it; another steward can.
    await refused(gov, () => liftQuarantine(gov.root, q.id, 'patched'), {
      code: 'FORBIDDEN',
      message: /"four-eyes-quarantine-lift"/,
      event: 'authz.deny',
    });
    await actAs(gov, 'bob', (bob) => liftQuarantine(bob, q.id, 'vendor patched'));
    const merged = await mergeSnapshots(gov.root, 'combined', [clean, row], {
      onConflict: 'error',
      stage: 'raw',
    });
    expect(merged.record_count).toBe(50);
    await auditHolds(gov);
  });
});
