import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyEnvelope } from '../../src/core/dsse.js';
import { parseGateVerdict } from '../../src/core/gate/verdict.js';
import { parseStatement } from '../../src/core/statement.js';
import { exportSnapshot } from '../../src/engine/export.js';
import { approveSnapshot } from '../../src/engine/governance/approvals.js';
import { gateStatus, releaseSnapshot, runGate } from '../../src/engine/governance/gate.js';
import { setSource } from '../../src/engine/governance/identities.js';
import { trustedKeys } from '../../src/engine/workspace.js';
import type { SnapshotRow } from '../../src/store/metadata-store.js';
import { tempDir } from '../helpers/workspace.js';
import {
  actAs,
  auditHolds,
  commitScanned,
  detailOf,
  events,
  govWorkspace,
  mailRecords,
  people,
  refused,
  rejectsWith,
  stateOf,
  TRIGGER,
  matching,
  type Gov,
} from './helpers.js';

const POLICY = `version: 1
integrity: required
scan:
  required: true
  maxAgeDays: 7
  maxCount:
    conflicting_label: 0
  triggers: forbid
  secrets: forbid
  suspiciousSources: forbid
provenance:
  sourcesKnown: true
  sourcesTrusted: true
  lineageComplete: true
approvals:
  min: dataset
`;
const policy = { text: POLICY, file: 'gate.yaml' };

let gov: Gov;
let out: ReturnType<typeof tempDir>;
beforeEach(async () => {
  gov = await govWorkspace();
  out = tempDir('cordon-export-');
  await people(gov, 'mail', { bob: ['steward'], tess: ['trainer'] });
  for (const source of ['feed-a', 'feed-b'])
    await setSource(gov.root, 'mail', source, { trusted: true, external: false });
});
afterEach(async () => {
  await gov.cleanup();
  out.cleanup();
});

async function approvedClean(): Promise<SnapshotRow> {
  const row = await commitScanned(gov.root, 'mail', mailRecords(60));
  const approval = await actAs(gov, 'bob', (bob) => approveSnapshot(bob, row));
  expect(approval.promoted).toBe(true);
  return row;
}

describe('runGate', () => {
  it('passes a clean, approved snapshot with a verdict that verifies; then export needs no override', async () => {
    const row = await approvedClean();
    const result = await runGate(gov.root, row, policy);
    expect(result.verdict.checks.filter((c) => !c.passed)).toEqual([]);
    expect(result.verdict.passed).toBe(true);
    expect(result.verdict.checks.map((c) => c.id)).toEqual(
      expect.arrayContaining([
        'quarantine',
        'integrity',
        'scan.triggers',
        'scan.secrets',
        'approvals',
      ]),
    );

    // The signed verdict stands on its own: it verifies with the workspace's keys and names
    // this snapshot's id and root.
    const verified = verifyEnvelope(result.envelope, await trustedKeys(gov.root));
    const verdict = parseGateVerdict(parseStatement(verified.payload));
    expect(verdict).toMatchObject({ passed: true, snapshotId: row.id, root: row.root });
    expect(verdict.policy).toEqual({ uri: 'gate.yaml', digest: result.policyDigest });
    expect(await gateStatus(gov.root, row)).toMatchObject({ passed: true, run: result.id });
    const gateEvent = (await events(gov.root, 'snapshot.gate')).at(-1)!;
    expect(detailOf(gateEvent)).toMatchObject({ gate: result.id, passed: true, failed: [] });

    const exported = await actAs(gov, 'tess', (tess) =>
      exportSnapshot(tess, row, join(out.dir, 'train')),
    );
    expect(exported.records).toBe(60);
    const exportEvent = (await events(gov.root, 'snapshot.export')).at(-1)!;
    expect(exportEvent.actor).toBe('tess');
    expect(detailOf(exportEvent)).toMatchObject({ gate: result.id });
    expect(detailOf(exportEvent)['gateOverride']).toBeUndefined();

    await actAs(gov, 'bob', (bob) => releaseSnapshot(bob, row));
    expect(await stateOf(gov.root, row)).toBe('released');
    await auditHolds(gov);
  });

  it('fails a poisoned, unapproved snapshot and lists why', async () => {
    await approvedClean();
    const row = await commitScanned(
      gov.root,
      'mail',
      mailRecords(60, { trigger: true, secret: true, prefix: 'p' }),
    );
    const result = await runGate(gov.root, row, policy);
    expect(result.verdict.passed).toBe(false);
    const failed = Object.fromEntries(
      result.verdict.checks.filter((c) => !c.passed).map((c) => [c.id, c.reason]),
    );
    expect(Object.keys(failed)).toEqual(
      expect.arrayContaining(['scan.triggers', 'scan.secrets', 'approvals']),
    );
    expect(failed['scan.triggers']).toMatch(new RegExp(`"${TRIGGER}"`));
    expect(failed['scan.secrets']).toMatch(/secret/);
    expect(failed['approvals']).toMatch(/0/);
    const verdict = parseGateVerdict(
      parseStatement(verifyEnvelope(result.envelope, await trustedKeys(gov.root)).payload),
    );
    expect(verdict.passed).toBe(false);
    const gateEvent = (await events(gov.root, 'snapshot.gate')).at(-1)!;
    expect(detailOf(gateEvent)['failed']).toEqual(expect.arrayContaining(['scan.triggers']));

    await refused(
      gov,
      () => actAs(gov, 'tess', (tess) => exportSnapshot(tess, row, join(out.dir, 'train'))),
      { code: 'FORBIDDEN', message: /"export-needs-gate"/, event: 'authz.deny' },
    );
    await auditHolds(gov);
  });

  it('fails when approvals are missing, and when an unregistered source appears', async () => {
    const row = await commitScanned(gov.root, 'mail', mailRecords(60));
    const unapproved = await runGate(gov.root, row, policy);
    expect(unapproved.verdict.checks.filter((c) => !c.passed).map((c) => c.id)).toEqual([
      'approvals',
    ]);
    const stranger = mailRecords(60, { prefix: 's' }).map((r) => ({ ...r, source: 'pastebin' }));
    const other = await commitScanned(gov.root, 'mail', stranger);
    await actAs(gov, 'bob', (bob) => approveSnapshot(bob, other));
    const verdict = (await runGate(gov.root, other, policy)).verdict;
    expect(verdict.checks.find((c) => c.id === 'provenance.sourcesKnown')).toMatchObject({
      passed: false,
      reason: matching(/pastebin/),
    });
  });

  it('rejects an invalid gate policy before doing anything', async () => {
    const row = await approvedClean();
    await rejectsWith(
      runGate(gov.root, row, { text: 'version: 1\nscan:\n  triggers: maybe\n', file: 'bad.yaml' }),
      'POLICY_INVALID',
      /bad\.yaml: 1 problem[\s\S]*scan\.triggers/,
    );
    expect(await events(gov.root, 'snapshot.gate')).toEqual([]);
  });

  it('refuses a trainer running the gate', async () => {
    const row = await approvedClean();
    await refused(gov, () => actAs(gov, 'tess', (tess) => runGate(tess, row, policy)), {
      code: 'FORBIDDEN',
      message: /no policy permits human "tess" to gate/,
      event: 'authz.deny',
    });
    await auditHolds(gov);
  });
});

describe('gate runs edited in SQLite', () => {
  it('does not trust a failed run flipped to passed', async () => {
    const row = await commitScanned(gov.root, 'mail', mailRecords(60, { trigger: true }));
    const result = await runGate(gov.root, row, policy);
    expect(result.verdict.passed).toBe(false);
    await gov.root.meta.db
      .updateTable('gate_runs')
      .set({ passed: 1 })
      .where('id', '=', result.id)
      .execute();
    expect(await gateStatus(gov.root, row)).toMatchObject({
      passed: false,
      reason: matching(/disagrees with the signed verdict/),
    });
    await refused(
      gov,
      () => actAs(gov, 'tess', (tess) => exportSnapshot(tess, row, join(out.dir, 'x'))),
      { code: 'FORBIDDEN', message: /"export-needs-gate"/, event: 'authz.deny' },
    );
  });

  it("does not accept another snapshot's passing verdict", async () => {
    const good = await approvedClean();
    const passed = await runGate(gov.root, good, policy);
    expect(passed.verdict.passed).toBe(true);
    const bad = await commitScanned(gov.root, 'mail', mailRecords(60, { trigger: true }));
    const run = (await gov.root.meta.gov.latestGateRun(good.id))!;
    await gov.root.meta.db
      .insertInto('gate_runs')
      .values({
        ...run,
        id: 'f'.repeat(64),
        snapshot_id: bad.id,
        created_at: new Date(Date.now() + 1000).toISOString(),
      })
      .execute();
    expect(await gateStatus(gov.root, bad)).toMatchObject({
      passed: false,
      reason: matching(/verdict is for a different snapshot/),
    });
    await refused(
      gov,
      () => actAs(gov, 'tess', (tess) => exportSnapshot(tess, bad, join(out.dir, 'x'))),
      { code: 'FORBIDDEN', message: /"export-needs-gate"/, event: 'authz.deny' },
    );
  });
});
