import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DsseEnvelope } from '../../src/core/dsse.js';
import {
  approvalStatus,
  approveSnapshot,
  promoteSnapshot,
  signApproval,
} from '../../src/engine/governance/approvals.js';
import {
  addIdentity,
  configureDataset,
  grantRole,
  setSource,
} from '../../src/engine/governance/identities.js';
import { createToken } from '../../src/engine/governance/tokens.js';
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
  scan,
  stateOf,
  matching,
  type Gov,
} from './helpers.js';

let gov: Gov;
beforeEach(async () => {
  gov = await govWorkspace();
});
afterEach(async () => {
  await gov.cleanup();
});

/** Decodes an envelope's payload, lets `edit` change the statement, and re-encodes it. */
function editPayload(
  envelope: DsseEnvelope,
  edit: (statement: { predicate: Record<string, unknown> }) => void,
): DsseEnvelope {
  const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as {
    predicate: Record<string, unknown>;
  };
  edit(statement);
  return { ...envelope, payload: Buffer.from(JSON.stringify(statement)).toString('base64') };
}

describe('separation of duties', () => {
  it('refuses a contributor approving their own snapshot, even when they are also a steward', async () => {
    await people(gov, 'mail', { alice: ['contributor', 'steward'], bob: ['steward'] });
    await commit(gov.root, 'mail', textRecords(60));
    const mine = await actAs(gov, 'alice', (alice) =>
      commitScanned(alice, 'mail', textRecords(60, { offset: 1000 })),
    );
    expect(mine.author).toBe('alice');
    expect(await stateOf(gov.root, mine)).toBe('scanned');

    const { event } = await refused(
      gov,
      () => actAs(gov, 'alice', (alice) => approveSnapshot(alice, mine)),
      {
        code: 'FORBIDDEN',
        message: /"alice" may not approve .*forbidden by policy "no-self-approval"/,
        event: 'authz.deny',
        detail: /no-self-approval/,
      },
    );
    expect(event).toMatchObject({ actor: 'alice', dataset: 'mail', snapshot_id: mine.id });
    expect(detailOf(event)).toMatchObject({ action: 'approve', policies: ['no-self-approval'] });
    expect(await gov.root.meta.gov.listApprovals(mine.id)).toEqual([]);
    expect(await stateOf(gov.root, mine)).toBe('scanned');

    // Only separation of duties stood in the way: an independent steward may approve it.
    const ok = await actAs(gov, 'bob', (bob) => approveSnapshot(bob, mine));
    expect(ok).toMatchObject({ promoted: true, state: 'approved' });
    expect(ok.status.independent).toEqual(['bob']);
    await auditHolds(gov);
  });

  it("refuses the owner of a service account approving the bot's snapshot", async () => {
    await people(gov, 'mail', { alice: ['steward'], bob: ['steward'] });
    await addIdentity(gov.root, 'ingest-bot', { kind: 'service', owners: ['alice'] });
    await grantRole(gov.root, 'ingest-bot', 'contributor', 'mail');
    const { token } = await createToken(gov.root, 'ingest-bot', {
      scopes: ['datasets:write', 'approvals:write'],
      expiresInMs: 86_400_000,
    });
    await commit(gov.root, 'mail', textRecords(60));
    const botRow = await actAs(gov, { token }, (bot) =>
      commit(bot, 'mail', textRecords(60, { offset: 500 })),
    );
    expect(botRow.author).toBe('ingest-bot');
    await scan(gov.root, botRow);

    const { event } = await refused(
      gov,
      () => actAs(gov, 'alice', (alice) => approveSnapshot(alice, botRow)),
      {
        code: 'FORBIDDEN',
        message: /"alice" may not approve .*"no-self-approval"/,
        event: 'authz.deny',
        detail: /"credential":\{"kind":"key"/,
      },
    );
    expect(detailOf(event)).toMatchObject({ policies: ['no-self-approval'] });

    // The bot itself never approves, whatever its token's scopes.
    await refused(gov, () => actAs(gov, { token }, (bot) => approveSnapshot(bot, botRow)), {
      code: 'FORBIDDEN',
      message: /"ingest-bot" may not approve .*"humans-approve"/,
      event: 'authz.deny',
    });

    expect((await approvalStatus(gov.root, botRow)).independent).toEqual([]);
    const ok = await actAs(gov, 'bob', (bob) => approveSnapshot(bob, botRow));
    expect(ok.promoted).toBe(true);
    await auditHolds(gov);
  });
});

describe('two-person rule on externally sourced data', () => {
  async function externalSnapshot(how: 'dataset' | 'source'): Promise<SnapshotRow> {
    await people(gov, 'web', { bob: ['steward'], carol: ['steward'] });
    if (how === 'dataset') await configureDataset(gov.root, 'web', { externallySourced: true });
    else await setSource(gov.root, 'web', 'feed-a', { trusted: true, external: true });
    return commitScanned(gov.root, 'web', textRecords(60));
  }

  for (const how of ['dataset', 'source'] as const) {
    it(`needs a second independent steward (external ${how})`, async () => {
      const row = await externalSnapshot(how);
      const first = await actAs(gov, 'bob', (bob) => approveSnapshot(bob, row));
      expect(first).toMatchObject({ promoted: false, state: 'scanned' });
      expect(first.status).toMatchObject({ independent: ['bob'], required: 2 });
      expect(await stateOf(gov.root, row)).toBe('scanned');

      const { event } = await refused(
        gov,
        () => actAs(gov, 'bob', (bob) => promoteSnapshot(bob, row)),
        {
          code: 'FORBIDDEN',
          message: /"bob" may not promote .*"two-person-rule"/,
          event: 'authz.deny',
        },
      );
      expect(detailOf(event)).toMatchObject({ action: 'promote', policies: ['two-person-rule'] });
      expect(await stateOf(gov.root, row)).toBe('scanned');

      // Approving twice as the same person does not count twice.
      const again = await actAs(gov, 'bob', (bob) => approveSnapshot(bob, row));
      expect(again).toMatchObject({ promoted: false, approval: first.approval });

      const second = await actAs(gov, 'carol', (carol) => approveSnapshot(carol, row));
      expect(second).toMatchObject({ promoted: true, state: 'approved' });
      expect(second.status.independent).toEqual(['bob', 'carol']);
      expect(await stateOf(gov.root, row)).toBe('approved');
      const promote = (await events(gov.root, 'snapshot.promote')).at(-1)!;
      expect(detailOf(promote)).toMatchObject({ approvers: ['bob', 'carol'], required: 2 });
      await auditHolds(gov);
    });
  }
});

describe('approval envelopes', () => {
  async function setup(): Promise<SnapshotRow> {
    await people(gov, 'mail', { bob: ['steward'], carol: ['steward'] });
    return commitScanned(gov.root, 'mail', textRecords(60));
  }

  it('rejects an approval whose payload was altered after signing', async () => {
    const row = await setup();
    await actAs(gov, 'bob', async (bob) => {
      const real = signApproval(bob, row, { comment: 'looked at it' });
      const forged = editPayload(real, (s) => {
        s.predicate['comment'] = 'rubber stamp';
      });
      await refused(gov, () => approveSnapshot(bob, row, { envelope: forged }), {
        code: 'APPROVAL_INVALID',
        message: /signature does not verify with bob's key .*forged or altered/,
        event: 'approval.rejected',
        detail: /forged or altered/,
      });
    });
    expect(await gov.root.meta.gov.listApprovals(row.id)).toEqual([]);
    expect(await stateOf(gov.root, row)).toBe('scanned');
    await auditHolds(gov);
  });

  it('rejects an approval whose signature bytes were altered', async () => {
    const row = await setup();
    await actAs(gov, 'bob', async (bob) => {
      const real = signApproval(bob, row);
      const sig = Buffer.from(real.signatures[0]!.sig, 'base64');
      sig[0] = sig[0]! ^ 0xff;
      const forged = {
        ...real,
        signatures: [{ ...real.signatures[0]!, sig: sig.toString('base64') }],
      };
      await refused(gov, () => approveSnapshot(bob, row, { envelope: forged }), {
        code: 'APPROVAL_INVALID',
        message: /does not verify with bob's key/,
        event: 'approval.rejected',
      });
    });
    expect(await stateOf(gov.root, row)).toBe('scanned');
    await auditHolds(gov);
  });

  it("rejects bob's signature presented as carol's approval, and carol's submitted by bob", async () => {
    const row = await setup();
    const carols = await actAs(gov, 'carol', (carol) => Promise.resolve(signApproval(carol, row)));
    await actAs(gov, 'bob', async (bob) => {
      // Rename the reviewer to carol but keep bob's signature: carol's key does not verify it.
      const renamed = editPayload(signApproval(bob, row), (s) => {
        s.predicate['reviewer'] = { identity: 'carol', keyId: 'whatever' };
      });
      await refused(gov, () => approveSnapshot(bob, row, { envelope: renamed }), {
        code: 'APPROVAL_INVALID',
        message: /does not verify with carol's key/,
        event: 'approval.rejected',
      });
      // A genuine approval by carol cannot be submitted by bob in her place.
      await refused(gov, () => approveSnapshot(bob, row, { envelope: carols }), {
        code: 'APPROVAL_INVALID',
        message: /signed by carol; submit your own approval \(acting as bob\)/,
        event: 'approval.rejected',
      });
    });
    expect(await gov.root.meta.gov.listApprovals(row.id)).toEqual([]);
    await auditHolds(gov);
  });

  it('rejects an approval of v1 replayed for a changed v2', async () => {
    const v1 = await setup();
    const old = await actAs(gov, 'bob', async (bob) => {
      const envelope = signApproval(bob, v1);
      await approveSnapshot(bob, v1, { envelope });
      return envelope;
    });
    expect(await stateOf(gov.root, v1)).toBe('approved');
    const v2 = await commitScanned(gov.root, 'mail', textRecords(61));
    expect(v2.root).not.toBe(v1.root);

    await actAs(gov, 'bob', (bob) =>
      refused(gov, () => approveSnapshot(bob, v2, { envelope: old }), {
        code: 'APPROVAL_INVALID',
        message: /not mail@2 .*a changed snapshot needs a new approval/,
        event: 'approval.rejected',
        detail: /changed snapshot needs a new approval/,
      }),
    );
    expect(await gov.root.meta.gov.listApprovals(v2.id)).toEqual([]);
    expect(await stateOf(gov.root, v2)).toBe('scanned');
    expect((await approvalStatus(gov.root, v2)).independent).toEqual([]);
    await auditHolds(gov);
  });

  it('rejects a quarantine-lift approval presented as a promotion', async () => {
    const row = await setup();
    await actAs(gov, 'bob', async (bob) => {
      const lift = signApproval(bob, row, { purpose: 'lift-quarantine', quarantine: 'q-1' });
      await refused(gov, () => approveSnapshot(bob, row, { envelope: lift }), {
        code: 'APPROVAL_INVALID',
        message: /the approval is for "lift-quarantine", not "promote"/,
        event: 'approval.rejected',
      });
    });
    await auditHolds(gov);
  });
});

describe('approvals edited in SQLite', () => {
  async function approved(): Promise<SnapshotRow> {
    await people(gov, 'mail', { bob: ['steward'], carol: ['steward'] });
    const row = await commitScanned(gov.root, 'mail', textRecords(60));
    await actAs(gov, 'bob', (bob) => approveSnapshot(bob, row));
    expect((await approvalStatus(gov.root, row)).independent).toEqual(['bob']);
    return row;
  }

  it('drops an approval whose approver was rewritten', async () => {
    const row = await approved();
    await gov.root.meta.db
      .updateTable('approvals')
      .set({ approver: 'carol' })
      .where('snapshot_id', '=', row.id)
      .execute();
    const status = await approvalStatus(gov.root, row);
    expect(status.independent).toEqual([]);
    expect(status.invalid).toEqual([
      { approver: 'carol', reason: matching(/different approver than the signature/) },
    ]);
  });

  it('drops an approval row moved onto another snapshot', async () => {
    const v1 = await approved();
    const v2 = await commitScanned(gov.root, 'mail', textRecords(61));
    await gov.root.meta.db
      .updateTable('approvals')
      .set({ snapshot_id: v2.id, root: v2.root })
      .where('snapshot_id', '=', v1.id)
      .execute();
    const status = await approvalStatus(gov.root, v2);
    expect(status.independent).toEqual([]);
    expect(status.invalid[0]?.reason).toMatch(/a changed snapshot needs a new approval/);
    // Promoting v2 on the strength of the moved row is refused by the two-person rule.
    await actAs(gov, 'carol', (carol) =>
      refused(gov, () => promoteSnapshot(carol, v2), {
        code: 'FORBIDDEN',
        message: /"two-person-rule"/,
        event: 'authz.deny',
      }),
    );
  });

  it('drops an approval whose stored envelope was swapped for another object', async () => {
    const row = await approved();
    await gov.root.meta.db
      .updateTable('approvals')
      .set({ envelope_digest: row.envelope_digest })
      .where('snapshot_id', '=', row.id)
      .execute();
    const status = await approvalStatus(gov.root, row);
    expect(status.independent).toEqual([]);
    expect(status.invalid).toHaveLength(1);
  });
});
