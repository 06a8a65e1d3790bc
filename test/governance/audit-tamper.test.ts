import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VerifyError } from '../../src/core/errors.js';
import { checkpointAudit, verifyAudit } from '../../src/engine/audit.js';
import { approveSnapshot, signApproval } from '../../src/engine/governance/approvals.js';
import { addIdentity } from '../../src/engine/governance/identities.js';
import type { Workspace } from '../../src/engine/workspace.js';
import type { GrantRow } from '../../src/store/governance-store.js';
import type { SnapshotRow } from '../../src/store/metadata-store.js';
import { textRecords } from '../helpers/workspace.js';
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
  nothing,
  type Gov,
} from './helpers.js';

let gov: Gov;
let row: SnapshotRow;

/** A workspace whose log holds every kind of refusal the suite cares about, all checkpointed. */
beforeEach(async () => {
  gov = await govWorkspace();
  await people(gov, 'mail', { alice: ['contributor', 'steward'], bob: ['steward'] });
  await commit(gov.root, 'mail', textRecords(10));
  row = await actAs(gov, 'alice', (alice) => commitScanned(alice, 'mail', textRecords(30)));
  await refused(gov, () => actAs(gov, 'alice', (alice) => approveSnapshot(alice, row)), {
    code: 'FORBIDDEN',
    message: /"no-self-approval"/,
    event: 'authz.deny',
  });
  await refused(gov, () => actAs(gov, { token: 'cordon_nope' }, nothing), {
    code: 'UNAUTHENTICATED',
    message: /malformed API token/,
    event: 'auth.failed',
  });
  await actAs(gov, 'bob', async (bob) => {
    const env = signApproval(bob, row);
    const forged = { ...env, payload: Buffer.from('{"_type":"x"}').toString('base64') };
    await refused(gov, () => approveSnapshot(bob, row, { envelope: forged }), {
      code: 'APPROVAL_INVALID',
      message: /not an in-toto statement|approval/,
      event: 'approval.rejected',
    });
  });
  await auditHolds(gov);
});
afterEach(async () => {
  await gov.cleanup();
});

async function expectBroken(message: RegExp): Promise<void> {
  const attempt = verifyAudit(gov.root.meta);
  await expect(attempt).rejects.toBeInstanceOf(VerifyError);
  await expect(verifyAudit(gov.root.meta)).rejects.toThrow(message);
}

describe('events edited behind Cordon', () => {
  for (const kind of ['authz.deny', 'auth.failed', 'approval.rejected', 'grant.add']) {
    it(`catches an edited ${kind} event`, async () => {
      const [event] = await events(gov.root, kind);
      await gov.root.meta.db
        .updateTable('events')
        .set({ detail: JSON.stringify({ ...detailOf(event!), reason: 'nothing happened' }) })
        .where('seq', '=', event!.seq)
        .execute();
      await expectBroken(/no longer hash to the signed checkpoint root/);
    });
  }

  it('catches a deleted refusal', async () => {
    const [denied] = await events(gov.root, 'authz.deny');
    await gov.root.meta.db.deleteFrom('events').where('seq', '=', denied!.seq).execute();
    await expectBroken(/./);
  });

  it('catches a rewritten actor', async () => {
    const [denied] = await events(gov.root, 'authz.deny');
    await gov.root.meta.db
      .updateTable('events')
      .set({ actor: 'bob' })
      .where('seq', '=', denied!.seq)
      .execute();
    await expectBroken(/no longer hash/);
  });
});

/** The grants the signed log says exist: every grant.add minus every later grant.remove. */
async function grantsFromLog(ws: Workspace): Promise<Set<string>> {
  const held = new Set<string>();
  for (const e of await ws.meta.listEvents()) {
    if (e.kind !== 'grant.add' && e.kind !== 'grant.remove') continue;
    const d = detailOf(e) as { subject: string; role: string; dataset: string };
    const key = `${d.subject}/${d.role}/${d.dataset}`;
    if (e.kind === 'grant.add') held.add(key);
    else held.delete(key);
  }
  return held;
}

const grantKey = (g: GrantRow): string => `${g.subject}/${g.role}/${g.dataset}`;

describe('grants edited behind Cordon', () => {
  it('a grant slipped into SQLite has no trace in the signed log', async () => {
    const fromLog = await grantsFromLog(gov.root);
    expect(new Set((await gov.root.meta.gov.listGrants()).map(grantKey))).toEqual(fromLog);

    await addIdentity(gov.root, 'mallory', { kind: 'human' });
    await gov.root.meta.db
      .insertInto('grants')
      .values({
        subject_type: 'Human',
        subject: 'mallory',
        role: 'steward',
        dataset: 'mail',
        created_at: new Date().toISOString(),
        created_by: 'root',
      })
      .execute();
    // The log, which nobody can rewrite unnoticed, shows no such grant.
    const stored = new Set((await gov.root.meta.gov.listGrants()).map(grantKey));
    const unlogged = [...stored].filter((k) => !fromLog.has(k));
    expect(unlogged).toEqual(['mallory/steward/mail']);
    // Forging the matching grant.add event into the signed part of the log is caught.
    const [add] = await events(gov.root, 'grant.add');
    await gov.root.meta.db
      .updateTable('events')
      .set({
        detail: JSON.stringify({ ...detailOf(add!), subject: 'mallory', role: 'steward' }),
      })
      .where('seq', '=', add!.seq)
      .execute();
    await expectBroken(/no longer hash/);
    // Even once a fresh checkpoint is signed over the forged log, the older ones expose it.
    await checkpointAudit(gov.root.meta, gov.root.identity);
    await expectBroken(/is not a prefix/);
  });
});
