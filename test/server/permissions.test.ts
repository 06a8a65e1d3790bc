import { afterEach, beforeEach, expect, it } from 'vitest';
import { commit } from '../helpers/workspace.js';
import { fixture, mailRows, ok, problem, type Fixture } from './helpers.js';

// POST /v1/permissions: what the console asks before it shows a button.

let f: Fixture;
beforeEach(async () => {
  f = await fixture();
  await commit(f.root, 'mail', mailRows(20));
  await commit(f.root, 'secret-project', mailRows(5));
});
afterEach(async () => f.cleanup());

type Decisions = { decisions: { action: string; allowed: boolean; reason: string }[] };
const ask = (who: string, checks: object[]) =>
  ok<Decisions>(f, 'POST', '/v1/permissions', { token: f.tokens[who]!, json: { checks } });

it('answers each check from the Cedar policies, in order, and logs nothing', async () => {
  const before = (await f.root.meta.listEvents()).length;
  const { decisions } = await ask('alice', [
    { action: 'read', dataset: 'mail' },
    { action: 'review', snapshot: 'mail' },
    { action: 'configureDataset', dataset: 'mail' },
    { action: 'createDataset' },
  ]);
  expect(decisions.map((d) => [d.action, d.allowed])).toEqual([
    ['read', true],
    ['review', true],
    ['configureDataset', false],
    ['createDataset', false],
  ]);
  expect(decisions[2]!.reason).toMatch(/^Denied: no policy permits human "alice"/);
  // A refusal here is an answer, not an attempt: no authz.deny event.
  expect((await f.root.meta.listEvents()).length).toBe(before);
});

it('tells nothing about a dataset the caller may not read, whether it exists or not', async () => {
  const { decisions } = await ask('alice', [
    { action: 'ingest', dataset: 'secret-project' },
    { action: 'scan', snapshot: 'secret-project' },
    { action: 'ingest', dataset: 'no-such-dataset' },
    { action: 'scan', snapshot: 'no-such-dataset@9' },
  ]);
  for (const d of decisions)
    expect(d).toMatchObject({ allowed: false, reason: 'not visible to the caller' });
});

it('says which field a check is missing, and refuses an unknown action', async () => {
  const { decisions } = await ask('alice', [{ action: 'approve' }]);
  expect(decisions[0]).toMatchObject({ allowed: false, reason: 'approve needs "snapshot"' });
  await problem(
    f,
    'POST',
    '/v1/permissions',
    { status: 422, code: 'INPUT_INVALID' },
    { token: f.tokens['alice']!, json: { checks: [{ action: 'fly' }] } },
  );
});
