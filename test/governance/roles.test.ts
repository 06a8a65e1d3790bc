import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deriveSnapshot } from '../../src/engine/derive.js';
import { addIdentity, grantRole } from '../../src/engine/governance/identities.js';
import { createToken } from '../../src/engine/governance/tokens.js';
import { loadManifest } from '../../src/engine/snapshots.js';
import { textRecords } from '../helpers/workspace.js';
import {
  actAs,
  auditHolds,
  commit,
  detailOf,
  events,
  govWorkspace,
  people,
  refused,
  type Gov,
} from './helpers.js';

let gov: Gov;
beforeEach(async () => {
  gov = await govWorkspace();
});
afterEach(async () => {
  await gov.cleanup();
});

describe('labelers', () => {
  it('may not change content, but may relabel through a labels-only derivation', async () => {
    await people(gov, 'mail', { dave: ['labeler'] });
    const v1 = await commit(gov.root, 'mail', textRecords(30));

    const { event } = await refused(
      gov,
      () => actAs(gov, 'dave', (dave) => commit(dave, 'mail', textRecords(31))),
      {
        code: 'FORBIDDEN',
        message: /no policy permits human "dave" to ingest/,
        event: 'authz.deny',
      },
    );
    expect(detailOf(event)).toMatchObject({ action: 'ingest', policies: [] });
    expect((await gov.root.meta.getDataset('mail'))?.head).toBe(v1.id);

    // Dropping a record is a content change too, even through a derivation.
    await refused(
      gov,
      () =>
        actAs(gov, 'dave', (dave) =>
          deriveSnapshot(
            dave,
            v1,
            { drop: new Set(['row-000001']), relabel: new Map() },
            { message: 'drop one', command: 'test', params: {} },
          ),
        ),
      { code: 'FORBIDDEN', message: /"dave" to ingest/, event: 'authz.deny' },
    );

    // Claiming a label-only change does not help: the commit checks every record against its
    // input, so changed text under a "relabel" is refused before anything is written.
    const base = await loadManifest(gov.root, v1);
    const sneaky = textRecords(30)
      .slice(0, 1)
      .map((r) => ({ ...r, text: 'buy now', label: 'spam' }));
    await expect(
      actAs(gov, 'dave', (dave) =>
        commit(dave, 'mail', sneaky, {
          action: 'relabel',
          base,
          run: {
            kind: 'transform',
            inputs: [v1],
            command: 'relabel',
            codeDigest: null,
            params: {},
            startedAt: new Date().toISOString(),
          },
        }),
      ),
    ).rejects.toThrow(/may change labels, not content/);
    expect((await gov.root.meta.getDataset('mail'))?.head).toBe(v1.id);

    const v2 = await actAs(gov, 'dave', (dave) =>
      deriveSnapshot(
        dave,
        v1,
        { drop: new Set(), relabel: new Map([['row-000001', 'spam']]) },
        { message: 'fix a label', command: 'test relabel', params: { why: 'obvious spam' } },
      ),
    );
    expect(v2).toMatchObject({ author: 'dave', version: 2, record_count: 30 });
    const before = await loadManifest(gov.root, v1);
    const after = await loadManifest(gov.root, v2);
    const changed = after.entries.filter(
      (e, i) => e.label !== before.entries[i]!.label || e.digest !== before.entries[i]!.digest,
    );
    expect(changed.map((e) => [e.id, e.label])).toEqual([['row-000001', 'spam']]);
    const commitEvent = (await events(gov.root, 'snapshot.transform')).at(-1)!;
    expect(detailOf(commitEvent)['authz']).toEqual([
      expect.objectContaining({ action: 'relabel', policies: ['dataset-labelers'] }),
    ]);
    await auditHolds(gov);
  });

  it('a labeling bot may relabel only with a labels:write token', async () => {
    const v1 = await commit(gov.root, 'mail', textRecords(30));
    await addIdentity(gov.root, 'label-bot', { kind: 'service', owners: ['root'] });
    await grantRole(gov.root, 'label-bot', 'labeler', 'mail');
    const relabel = { drop: new Set<string>(), relabel: new Map([['row-000002', 'spam']]) };
    const options = { message: 'bot relabel', command: 'test', params: {} };

    const wrong = await createToken(gov.root, 'label-bot', {
      scopes: ['datasets:write'],
      expiresInMs: 3_600_000,
    });
    await refused(
      gov,
      () => actAs(gov, { token: wrong.token }, (bot) => deriveSnapshot(bot, v1, relabel, options)),
      { code: 'FORBIDDEN', message: /"token-scope"/, event: 'authz.deny' },
    );
    const right = await createToken(gov.root, 'label-bot', {
      scopes: ['labels:write'],
      expiresInMs: 3_600_000,
    });
    const v2 = await actAs(gov, { token: right.token }, (bot) =>
      deriveSnapshot(bot, v1, relabel, options),
    );
    expect(v2.author).toBe('label-bot');
    expect(JSON.parse((await gov.root.meta.gov.getToken(right.row.key_id))!.used_scopes)).toEqual([
      'labels:write',
    ]);
    await auditHolds(gov);
  });
});

describe('roles on one dataset only', () => {
  it('a contributor to one dataset may not write to another, nor create one', async () => {
    await people(gov, 'mail', { erin: ['contributor'] });
    await commit(gov.root, 'news', textRecords(10));
    await commit(gov.root, 'mail', textRecords(10));
    await actAs(gov, 'erin', (erin) => commit(erin, 'mail', textRecords(11)));
    await refused(gov, () => actAs(gov, 'erin', (erin) => commit(erin, 'news', textRecords(11))), {
      code: 'FORBIDDEN',
      message: /"erin" to ingest/,
      event: 'authz.deny',
    });
    await refused(gov, () => actAs(gov, 'erin', (erin) => commit(erin, 'fresh', textRecords(11))), {
      code: 'FORBIDDEN',
      message: /"erin" to createDataset/,
      event: 'authz.deny',
    });
    expect(await gov.root.meta.getDataset('fresh')).toBeUndefined();
    await auditHolds(gov);
  });
});
