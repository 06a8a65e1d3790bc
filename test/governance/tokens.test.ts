import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mintToken } from '../../src/core/tokens.js';
import { approvalStatus, approveSnapshot } from '../../src/engine/governance/approvals.js';
import { addIdentity, disableIdentity, grantRole } from '../../src/engine/governance/identities.js';
import { placeQuarantine } from '../../src/engine/governance/quarantine.js';
import { createToken, revokeToken, rotateToken } from '../../src/engine/governance/tokens.js';
import { checkpointAudit, verifyAudit } from '../../src/engine/audit.js';
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
  rejectsWith,
  sleep,
  nothing,
  type Gov,
} from './helpers.js';

const DAY = 86_400_000;

let gov: Gov;
beforeEach(async () => {
  gov = await govWorkspace();
  await commit(gov.root, 'mail', textRecords(20));
  await addIdentity(gov.root, 'ingest-bot', { kind: 'service', owners: ['root'] });
  await grantRole(gov.root, 'ingest-bot', 'contributor', 'mail');
});
afterEach(async () => {
  await gov.cleanup();
});

async function botToken(scopes: string[], expiresInMs = DAY): Promise<string> {
  return (await createToken(gov.root, 'ingest-bot', { scopes, expiresInMs })).token;
}

/** Opening the workspace with `token` must fail sign-in, leaving an auth.failed event. */
function signInRefused(token: string, message: RegExp, detail?: RegExp) {
  return refused(gov, () => actAs(gov, { token }, nothing), {
    code: 'UNAUTHENTICATED',
    message,
    event: 'auth.failed',
    ...(detail ? { detail } : {}),
  });
}

/** No event anywhere may carry a token's secret. */
async function secretNeverLogged(token: string): Promise<void> {
  const all = await gov.root.meta.listEvents();
  const secret = token.split('_')[4]!;
  for (const e of all) expect(e.detail).not.toContain(secret);
}

describe('API tokens that must not work', () => {
  it('refuses an expired token', async () => {
    const token = await botToken(['datasets:write'], 1);
    await sleep(10);
    const { event } = await signInRefused(token, /token \w{12} of "ingest-bot" expired on /);
    expect(event.actor).toBe('ingest-bot');
    expect(detailOf(event)['token']).toBe(token.split('_')[3]);
    await secretNeverLogged(token);
    await auditHolds(gov);
  });

  it('refuses a revoked token', async () => {
    const created = await createToken(gov.root, 'ingest-bot', {
      scopes: ['datasets:write'],
      expiresInMs: DAY,
    });
    // It works until it is revoked.
    await actAs(gov, { token: created.token }, (bot) => commit(bot, 'mail', textRecords(21)));
    await revokeToken(gov.root, created.row.key_id, 'leaked in a CI log');
    await signInRefused(created.token, /was revoked on .*\(leaked in a CI log\)/, /revoked/);
    await secretNeverLogged(created.token);
    await auditHolds(gov);
  });

  it('refuses an action outside the token scopes', async () => {
    const token = await botToken(['datasets:read']);
    const before = await gov.root.meta.getDataset('mail');
    const { event } = await refused(
      gov,
      () => actAs(gov, { token }, (bot) => commit(bot, 'mail', textRecords(21))),
      {
        code: 'FORBIDDEN',
        message: /"ingest-bot" may not ingest .*forbidden by policy "token-scope"/,
        event: 'authz.deny',
      },
    );
    expect(detailOf(event)).toMatchObject({
      action: 'ingest',
      policies: ['token-scope'],
      credential: { kind: 'token', id: token.split('_')[3] },
    });
    expect((await gov.root.meta.getDataset('mail'))?.head).toBe(before?.head);
    await auditHolds(gov);
  });

  it('refuses a service account acting with its signing key instead of a token', async () => {
    await refused(
      gov,
      () => actAs(gov, 'ingest-bot', (bot) => commit(bot, 'mail', textRecords(21))),
      {
        code: 'FORBIDDEN',
        message: /"ingest-bot" may not ingest .*"service-needs-token"/,
        event: 'authz.deny',
      },
    );
    await auditHolds(gov);
  });

  it('refuses garbage, a bad checksum and an unknown key id', async () => {
    const garbage = await signInRefused('hunter2', /malformed API token/, /malformed token/);
    expect(garbage.event.actor).toBe('unknown');

    const real = await botToken(['datasets:write']);
    const last = real.at(-1) === 'A' ? 'B' : 'A';
    const typo = real.slice(0, -1) + last;
    await signInRefused(typo, /checksum does not match/, /malformed token/);

    const stranger = mintToken({ kind: 'nhi', env: 'live' }).token;
    await signInRefused(stranger, /is not recognised/, /unknown token/);
    await secretNeverLogged(real);
    await auditHolds(gov);
  });

  it('refuses a quarantined token', async () => {
    const created = await createToken(gov.root, 'ingest-bot', {
      scopes: ['datasets:write'],
      expiresInMs: DAY,
    });
    await placeQuarantine(gov.root, 'token', created.row.key_id, { reason: 'odd traffic' });
    await signInRefused(created.token, /is quarantined \(odd traffic\)/);
    await auditHolds(gov);
  });
});

describe('token rotation', () => {
  it('keeps both tokens working during the overlap, then only the new one', async () => {
    const first = await createToken(gov.root, 'ingest-bot', {
      scopes: ['datasets:write'],
      expiresInMs: DAY,
    });
    const second = await rotateToken(gov.root, first.row.key_id, 3_600_000);
    expect(second.row).toMatchObject({ rotated_from: first.row.key_id, scopes: first.row.scopes });
    expect(Date.parse(second.oldExpiresAt)).toBeLessThan(Date.parse(first.row.expires_at!));
    for (const token of [first.token, second.token]) {
      const who = await actAs(gov, { token }, (bot) => Promise.resolve(bot.identity.name));
      expect(who).toBe('ingest-bot');
    }

    // A rotation with a tiny overlap: the old token dies almost at once.
    const third = await rotateToken(gov.root, second.row.key_id, 1);
    await sleep(15);
    await signInRefused(second.token, /expired on/);
    const row = await actAs(gov, { token: third.token }, (bot) =>
      commit(bot, 'mail', textRecords(22)),
    );
    expect(row.author).toBe('ingest-bot');
    const rotations = await events(gov.root, 'token.rotate');
    expect(rotations.map((e) => detailOf(e)['replaces'])).toEqual([
      first.row.key_id,
      second.row.key_id,
    ]);
    await auditHolds(gov);
  });

  it('refuses an overlap longer than the workspace allows', async () => {
    const first = await createToken(gov.root, 'ingest-bot', {
      scopes: ['datasets:write'],
      expiresInMs: DAY,
    });
    await rejectsWith(
      rotateToken(gov.root, first.row.key_id, 169 * 3_600_000),
      'USAGE',
      /--overlap is longer than the maximum \(168h\)/,
    );
  });
});

describe('offboarding', () => {
  it('revokes the tokens of a disabled human and flags the service accounts they own', async () => {
    await people(gov, 'mail', { alice: ['steward'], bob: ['steward'] });
    await addIdentity(gov.root, 'label-bot', { kind: 'service', owners: ['alice', 'bob'] });
    const pat = await createToken(gov.root, 'alice', { scopes: ['approvals:write'] });
    const row = await commitScanned(gov.root, 'mail', textRecords(30));
    await actAs(gov, { token: pat.token }, (alice) => approveSnapshot(alice, row));
    expect((await approvalStatus(gov.root, row)).independent).toEqual(['alice']);

    const result = await disableIdentity(gov.root, 'alice', 'left the company');
    expect(result).toEqual({ revokedTokens: 1, flaggedServices: ['label-bot'] });
    expect((await gov.root.meta.getIdentity('label-bot'))?.flag).toMatch(
      /owner alice was offboarded/,
    );
    expect((await gov.root.meta.getIdentity('ingest-bot'))?.flag).toBeNull();

    await signInRefused(pat.token, /revoked on .*owner offboarded/);
    await refused(gov, () => actAs(gov, 'alice', nothing), {
      code: 'UNAUTHENTICATED',
      message: /identity "alice" was disabled/,
      event: 'auth.failed',
    });
    // Her earlier approval no longer counts.
    const status = await approvalStatus(gov.root, row);
    expect(status.independent).toEqual([]);
    expect(status.invalid).toEqual([{ approver: 'alice', reason: 'approver was disabled' }]);
    const disable = (await events(gov.root, 'identity.disable')).at(-1)!;
    expect(detailOf(disable)).toMatchObject({
      identity: 'alice',
      reason: 'left the company',
      revokedTokens: [pat.row.key_id],
      flaggedServices: ['label-bot'],
    });
    await auditHolds(gov);
  });

  it('will not disable the identity that holds the log key', async () => {
    await rejectsWith(
      disableIdentity(gov.root, 'root', 'bye'),
      'USAGE',
      /holds the workspace's log key/,
    );
  });
});

describe('tokens edited in SQLite', () => {
  it('refuses a token whose stored hash was replaced', async () => {
    const a = await createToken(gov.root, 'ingest-bot', {
      scopes: ['datasets:write'],
      expiresInMs: DAY,
    });
    const b = await createToken(gov.root, 'ingest-bot', {
      scopes: ['datasets:write'],
      expiresInMs: DAY,
    });
    // Point a's row at b's hash: presenting a no longer matches, and b's row is untouched.
    await gov.root.meta.db
      .updateTable('tokens')
      .set({ hash: b.row.hash })
      .where('key_id', '=', a.row.key_id)
      .execute();
    await signInRefused(a.token, /is not recognised/);
    await actAs(gov, { token: b.token }, nothing);
    // The audit log recorded each token's hash: the swap shows up in `audit verify`.
    await checkpointAudit(gov.root.meta, gov.root.identity);
    await expect(verifyAudit(gov.root.meta)).rejects.toThrow(
      new RegExp(`token ${a.row.key_id}: identity, hash, scopes or expiry differ from the log`),
    );
  });

  it('leaves the signed log as the record of what a token was issued for', async () => {
    const created = await createToken(gov.root, 'ingest-bot', {
      scopes: ['datasets:read'],
      expiresInMs: DAY,
    });
    await gov.root.meta.db
      .updateTable('tokens')
      .set({ scopes: JSON.stringify(['datasets:read', 'datasets:write']) })
      .where('key_id', '=', created.row.key_id)
      .execute();
    // The widened row is what sign-in reads, but the signed log still says what was issued.
    const issued = (await events(gov.root, 'token.create')).find(
      (e) => detailOf(e)['token'] === created.row.key_id,
    )!;
    expect(detailOf(issued)['scopes']).toEqual(['datasets:read']);
    const stored = await gov.root.meta.gov.getToken(created.row.key_id);
    expect(JSON.parse(stored!.scopes)).not.toEqual(detailOf(issued)['scopes']);
    // `audit verify` replays the log and names the widened token.
    await checkpointAudit(gov.root.meta, gov.root.identity);
    await expect(verifyAudit(gov.root.meta)).rejects.toThrow(
      /scopes or expiry differ from the log/,
    );
    // Rewriting the signed log to match is caught too.
    await gov.root.meta.db
      .updateTable('events')
      .set({
        detail: issued.detail.replace('["datasets:read"]', '["datasets:read","datasets:write"]'),
      })
      .where('seq', '=', issued.seq)
      .execute();
    await expect(verifyAudit(gov.root.meta)).rejects.toThrow(
      /no longer hash to the signed checkpoint root/,
    );
  });
});
