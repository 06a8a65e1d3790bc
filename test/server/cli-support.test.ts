import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commit } from '../helpers/workspace.js';
import { call, fixture, mailRows, ok, problem, type Fixture } from './helpers.js';

/**
 * What the API gives so that the CLI can run its commands against a server with the output it
 * has on a local workspace: who the caller is, the newest gate verdict, the full quarantine row,
 * the NHI report's counts, and the CLI at a terminal counted as interactive use.
 */

let f: Fixture;
beforeEach(async () => {
  f = await fixture();
  await commit(f.root, 'mail', mailRows(12));
});
afterEach(async () => f.cleanup());

const as = (name: string) => ({ token: f.tokens[name]! });
const keyIdOf = (token: string): string => token.split('_')[3]!;

describe('API support for the remote CLI', () => {
  it('says who the caller is', async () => {
    const alice = await ok<Record<string, unknown>>(f, 'GET', '/v1/whoami', as('alice'));
    expect(alice).toEqual({
      name: 'alice',
      kind: 'human',
      keyId: (await f.root.meta.getIdentity('alice'))!.key_id,
      token: {
        keyId: keyIdOf(f.tokens['alice']!),
        scopes: expect.arrayContaining(['datasets:read']) as string[],
        expiresAt: null,
      },
    });
    const bot = await ok<{ kind: string; token: { expiresAt: string | null } }>(
      f,
      'GET',
      '/v1/whoami',
      as('ingest-bot'),
    );
    expect(bot.kind).toBe('service');
    expect(bot.token.expiresAt).not.toBeNull();
    await problem(f, 'GET', '/v1/whoami', { status: 401, code: 'UNAUTHENTICATED' });
  });

  it('serves the newest gate verdict of a snapshot as it was signed', async () => {
    await problem(
      f,
      'GET',
      '/v1/snapshots/mail/gate',
      { status: 404, code: 'NOT_FOUND' },
      as('root'),
    );
    const ran = await ok<Record<string, unknown>>(f, 'POST', '/v1/snapshots/mail/gate', {
      ...as('root'),
      body: 'version: 1\napprovals:\n  min: 1\n',
      headers: { 'Content-Type': 'application/yaml' },
      status: 201,
    });
    const newest = await ok<Record<string, unknown>>(
      f,
      'GET',
      '/v1/snapshots/mail/gate',
      as('alice'),
    );
    expect(newest).toEqual(ran);
    expect(newest['passed']).toBe(false);
    // Reading it is reading the dataset: a trainer of another dataset may not.
    await commit(f.root, 'other', mailRows(3));
    await problem(f, 'GET', '/v1/snapshots/other/gate', { status: 403 }, as('trainer-bot'));
  });

  it('gives the quarantine row whole, with the signed lifting', async () => {
    const placed = await ok<{ id: string; liftEnvelopeDigest: string | null }>(
      f,
      'POST',
      '/v1/quarantines',
      { ...as('alice'), json: { kind: 'snapshot', target: 'mail', reason: 'odd' }, status: 201 },
    );
    expect(placed.liftEnvelopeDigest).toBeNull();
    const lifted = await ok<{ liftEnvelopeDigest: string | null }>(
      f,
      'POST',
      `/v1/quarantines/${placed.id}/lift`,
      { ...as('bob'), json: { reason: 'fine' } },
    );
    expect(lifted.liftEnvelopeDigest).toBe(
      (await f.root.meta.gov.getQuarantine(placed.id))!.lift_envelope_digest,
    );
    expect(lifted.liftEnvelopeDigest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('counts what the NHI report looked at', async () => {
    const report = await ok<{ identities: number; tokens: number }>(
      f,
      'GET',
      '/v1/nhi/report',
      as('root'),
    );
    expect(report).toMatchObject({
      identities: (await f.root.meta.listIdentities()).length,
      tokens: (await f.root.meta.gov.listTokens()).length,
    });
  });

  it('counts the CLI at a terminal as interactive use of a token, and a batch run as not', async () => {
    const used = async (agent: string, who: string) => {
      const res = await call(f, 'GET', '/v1/datasets', {
        ...as(who),
        headers: { 'User-Agent': agent },
      });
      expect(res.status).toBe(200);
      return (await f.root.meta.gov.getToken(keyIdOf(f.tokens[who]!)))!;
    };
    expect((await used('cordon-cli/tty', 'ingest-bot')).last_used_interactive).toBe(1);
    expect((await used('cordon-cli/batch', 'trainer-bot')).last_used_interactive).toBe(0);
  });
});
