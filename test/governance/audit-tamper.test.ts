import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VerifyError } from '../../src/core/errors.js';
import { checkpointAudit, verifyAudit } from '../../src/engine/audit.js';
import { approveSnapshot, signApproval } from '../../src/engine/governance/approvals.js';
import {
  addIdentity,
  configureDataset,
  setSource,
} from '../../src/engine/governance/identities.js';
import { placeQuarantine } from '../../src/engine/governance/quarantine.js';
import { createToken, revokeToken } from '../../src/engine/governance/tokens.js';
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

describe('grants edited behind Cordon', () => {
  it('a grant slipped into SQLite is caught by replaying the signed log', async () => {
    await auditHolds(gov);
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
    await expectBroken(/grant steward@mail to Human mallory exists but no event granted it/);
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

describe('governance rows edited behind Cordon', () => {
  // One row of each governance table is changed in SQLite; replaying the signed log names it.
  const cases: { what: string; tamper: () => Promise<unknown>; message: RegExp }[] = [
    {
      what: 'a dataset head moved to another snapshot',
      tamper: async () => {
        const first = (await gov.root.meta.listSnapshots('mail'))[0]!;
        return gov.root.meta.db.updateTable('datasets').set({ head: first.id }).execute();
      },
      message: /dataset "mail" points at .* but the log last moved it to/,
    },
    {
      what: 'a snapshot state set to approved',
      tamper: () =>
        gov.root.meta.db
          .updateTable('snapshot_states')
          .set({ state: 'approved' })
          .where('snapshot_id', '=', row.id)
          .execute(),
      message: /is "approved" but the log says "scanned"/,
    },
    {
      what: 'a revoked token made live again',
      tamper: () =>
        gov.root.meta.db
          .updateTable('tokens')
          .set({ revoked_at: null, revoked_by: null, revoke_reason: null })
          .execute(),
      message: /token \w+ is live but the log says otherwise/,
    },
    {
      what: 'a source marked trusted',
      tamper: () => gov.root.meta.db.updateTable('sources').set({ trusted: 1 }).execute(),
      message: /source "feed" of "mail": trust or origin differ/,
    },
    {
      what: 'dataset settings loosened',
      tamper: () =>
        gov.root.meta.db.updateTable('dataset_settings').set({ required_approvals: 1 }).execute(),
      message: /settings of dataset "mail" differ/,
    },
    {
      what: 'a quarantine lifted without an event',
      tamper: () =>
        gov.root.meta.db
          .updateTable('quarantines')
          .set({ lifted_at: new Date().toISOString(), lifted_by: 'root' })
          .execute(),
      message: /quarantine .* is lifted but the log says otherwise/,
    },
    {
      what: 'a tag added',
      tamper: () =>
        gov.root.meta.db
          .insertInto('tags')
          .values({ snapshot_id: row.id, tag: 'known-good', actor: 'root', created_at: 'x' })
          .execute(),
      message: /tag "known-good" has no snapshot.tag event/,
    },
    {
      what: 'an identity given an extra owner',
      tamper: () =>
        gov.root.meta.db
          .updateTable('identities')
          .set({ owners: JSON.stringify(['alice', 'bob']) })
          .where('name', '=', 'bot')
          .execute(),
      message: /identity "bot": kind, key or owners differ/,
    },
  ];

  beforeEach(async () => {
    await configureDataset(gov.root, 'mail', { requiredApprovals: 3 });
    await setSource(gov.root, 'mail', 'feed', { trusted: false, external: true });
    await addIdentity(gov.root, 'bot', { kind: 'service', owners: ['alice'] });
    const t = await createToken(gov.root, 'bot', { scopes: ['datasets:read'], expiresInMs: 3.6e6 });
    await revokeToken(gov.root, t.row.key_id, 'test');
    const first = (await gov.root.meta.listSnapshots('mail'))[0]!;
    await placeQuarantine(gov.root, 'snapshot', first.id, { reason: 'test' });
    await auditHolds(gov);
  });

  for (const c of cases) {
    it(`catches ${c.what}`, async () => {
      await c.tamper();
      await expectBroken(c.message);
    });
  }
});
