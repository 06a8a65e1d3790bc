import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addIdentity, grantRole } from '../../src/engine/governance/identities.js';
import { createToken } from '../../src/engine/governance/tokens.js';
import type { JobView } from '../../src/server/jobs.js';
import { mailRecords } from '../governance/helpers.js';
import { cli } from '../helpers/cli.js';
import { call, fixture, ok, problem, waitForJob, type Fixture } from './helpers.js';

/**
 * The endpoints behind the console's review queue and approvals pages: paged and filtered review
 * items, the approval inbox, stored gate policies, and a release that names its model.
 */

const GATE = `# training gate for mail
version: 1
integrity: required
scan:
  required: true
  triggers: forbid
  secrets: forbid
provenance:
  sourcesKnown: true
  sourcesTrusted: true
  lineageComplete: true
approvals:
  min: dataset
`;

interface Item {
  id: string;
  snapshot: string;
  record: string;
  kinds: string[];
  status: string;
}
interface ItemsPage {
  items: Item[];
  total: number;
  offset: number;
  limit: number;
  counts: { open: number; keep: number; drop: number; relabel: number };
}
interface Pending {
  pending: {
    ref: string;
    author: string;
    approvals: { current: number; required: number; approvers: string[] };
    gate: { passed: boolean; failed: string[] } | null;
  }[];
}

let f: Fixture;
beforeEach(async () => {
  f = await fixture();
  // carol owns the bots: a steward too, but never the approver of what her bots wrote.
  await grantRole(f.root, 'carol', 'steward', 'mail');
});
afterEach(async () => f.cleanup());

const as = (name: string) => ({ token: f.tokens[name]! });

async function runJob(name: string, res: Response): Promise<JobView> {
  const text = await res.text();
  expect(res.status, text).toBe(202);
  const job = await waitForJob(f, f.tokens[name]!, (JSON.parse(text) as JobView).id);
  expect(job.error, JSON.stringify(job.error)).toBeNull();
  return job;
}

async function ingest(who: string, dataset: string, rows: unknown[]): Promise<void> {
  await runJob(
    who,
    await call(f, 'POST', `/v1/datasets/${dataset}/ingest`, {
      ...as(who),
      body: rows.map((r) => JSON.stringify(r)).join('\n') + '\n',
      headers: { 'Content-Type': 'application/x-ndjson' },
    }),
  );
}

async function scan(who: string, ref: string): Promise<void> {
  await runJob(who, await call(f, 'POST', `/v1/snapshots/${ref}/scans`, { ...as(who), json: {} }));
}

const items = (who: string, query: string) =>
  ok<ItemsPage>(f, 'GET', `/v1/review-items${query}`, as(who));

describe('review items for the console', () => {
  it('pages, filters and counts review items, hiding datasets the caller may not read', async () => {
    // Planted triggers, and a few exact copies so that other kinds are queued too.
    const rows = mailRecords(60, { trigger: true });
    const copies = [2, 4, 8].map((i) => ({ ...rows[i]!, id: `copy-${i}` }));
    await ingest('ingest-bot', 'mail', [...rows, ...copies]);
    await scan('alice', 'mail@1');
    // A low threshold, so that more than the trigger rows are queued.
    const opened = await ok<{ opened: number }>(f, 'POST', '/v1/snapshots/mail@1/review', {
      ...as('alice'),
      json: { threshold: 0.1 },
    });
    const n = opened.opened;
    expect(n).toBeGreaterThan(4);

    // The old shape still answers (the remote CLI reads items), with the page around it.
    const first = await items('alice', '?limit=2');
    expect(first).toMatchObject({ total: n, offset: 0, limit: 2 });
    expect(first.items).toHaveLength(2);
    expect(first.counts).toEqual({ open: n, keep: 0, drop: 0, relabel: 0 });
    const whole = await items('alice', '');
    expect(whole.limit).toBe(100);
    const paged: Item[] = [];
    for (let offset = 0; offset < n; offset += 3)
      paged.push(...(await items('alice', `?offset=${offset}&limit=3`)).items);
    expect(paged.map((i) => i.id)).toEqual(whole.items.map((i) => i.id));
    expect(new Set(paged.map((i) => i.id)).size).toBe(n);
    await problem(f, 'GET', '/v1/review-items?limit=501', { status: 422 }, as('alice'));
    await problem(f, 'GET', '/v1/review-items?kind=nonsense', { status: 422 }, as('alice'));
    // A page with no rows still counts.
    expect(await items('alice', '?limit=0')).toMatchObject({ items: [], total: n });

    // Filters: dataset, snapshot, kind, status.
    const triggers = await items('alice', '?dataset=mail&snapshot=mail@1&kind=trigger&limit=500');
    expect(triggers.total).toBeGreaterThan(0);
    expect(triggers.total).toBeLessThan(n);
    expect(triggers.items.every((i) => i.kinds.includes('trigger'))).toBe(true);
    expect(whole.items.filter((i) => i.kinds.includes('trigger')).map((i) => i.id)).toEqual(
      triggers.items.map((i) => i.id),
    );
    expect((await items('alice', '?status=drop')).total).toBe(0);

    // Decide the trigger items: counts move, the status filters follow.
    await ok(f, 'POST', '/v1/review-items/decisions', {
      ...as('alice'),
      json: { decision: 'drop', items: triggers.items.map((i) => i.id) },
    });
    const after = await items('alice', '?snapshot=mail@1');
    expect(after.total).toBe(n - triggers.total);
    expect(after.counts).toEqual({
      open: n - triggers.total,
      keep: 0,
      drop: triggers.total,
      relabel: 0,
    });
    expect((await items('alice', '?status=drop')).total).toBe(triggers.total);
    expect((await items('alice', '?status=decided')).total).toBe(triggers.total);
    // The kind filter narrows the counts too.
    expect((await items('alice', '?kind=trigger')).counts).toMatchObject({
      open: 0,
      drop: triggers.total,
    });

    // Keep the rest and apply: applied items leave the default listing, but not all=true.
    await ok(f, 'POST', '/v1/review-items/decisions', {
      ...as('alice'),
      json: { decision: 'keep', items: after.items.map((i) => i.id) },
    });
    await ok(f, 'POST', '/v1/snapshots/mail@1/review/apply', { ...as('root'), status: 201 });
    expect(await items('alice', '?status=drop')).toMatchObject({ total: 0 });
    expect(await items('alice', '?status=drop&all=true')).toMatchObject({
      total: triggers.total,
    });
    expect((await items('alice', '?all=true&limit=500')).total).toBe(n);
    expect((await items('alice', '')).counts).toEqual({ open: 0, keep: 0, drop: 0, relabel: 0 });

    // A dataset alice may not read: its items are left out, and asking for it is refused.
    await ingest('root', 'secret-mail', [...rows, ...copies]);
    await scan('root', 'secret-mail@1');
    await ok(f, 'POST', '/v1/snapshots/secret-mail@1/review', {
      ...as('root'),
      json: { threshold: 0.1 },
    });
    const mine = await items('root', '?dataset=secret-mail');
    expect(mine.total).toBeGreaterThan(0);
    expect((await items('alice', '?all=true&limit=500')).total).toBe(n);
    expect((await items('root', '?all=true&limit=500')).total).toBe(n + mine.total);
    await problem(f, 'GET', '/v1/review-items?dataset=secret-mail', { status: 403 }, as('alice'));
  });

  it('lists items in the order the local CLI lists them (the remote CLI reads page after page)', async () => {
    // The remote CLI concatenates the pages; they must come in the local listing's order.
    await ingest('ingest-bot', 'mail', mailRecords(60, { trigger: true }));
    await scan('alice', 'mail@1');
    await ok(f, 'POST', '/v1/snapshots/mail@1/review', { ...as('alice'), json: { threshold: 0 } });
    const local = await cli(f.dir, '--json', 'review', 'list');
    expect(local.status, local.stderr).toBe(0);
    const rows = JSON.parse(local.stdout) as { id: string }[];
    const all = await items('root', '?limit=500');
    expect(all.items.map((i) => i.id)).toEqual(rows.map((r) => r.id));
  });
});

describe('approvals and gates for the console', () => {
  it('lists pending approvals without the author, the bot owner or who already approved', async () => {
    // mail@1 is the bot's: carol owns the bot. mail@2 is alice's own.
    await ingest('ingest-bot', 'mail', mailRecords(30));
    await grantRole(f.root, 'alice', 'contributor', 'mail');
    // Nothing is pending before a scan.
    expect((await ok<Pending>(f, 'GET', '/v1/approvals/pending', as('bob'))).pending).toEqual([]);
    await scan('alice', 'mail@1');
    await runJob(
      'alice',
      await call(f, 'POST', '/v1/datasets/mail/ingest?append=true', {
        ...as('alice'),
        body: mailRecords(5, { prefix: 'extra' })
          .map((r) => JSON.stringify(r))
          .join('\n'),
        headers: { 'Content-Type': 'application/x-ndjson' },
      }),
    );
    const aliceRef = 'mail@2';
    expect((await ok<{ author: string }>(f, 'GET', '/v1/snapshots/mail@2', as('bob'))).author).toBe(
      'alice',
    );
    await scan('bob', aliceRef);
    await ok(f, 'PATCH', '/v1/datasets/mail/settings', {
      ...as('root'),
      json: { requiredApprovals: 2 },
    });

    const before = (await f.root.meta.listEvents({ kind: 'authz.deny' })).length;
    const refs = async (who: string) =>
      (await ok<Pending>(f, 'GET', '/v1/approvals/pending', as(who))).pending.map((p) => p.ref);
    expect(await refs('alice')).toEqual(['mail@1']);
    expect((await refs('bob')).sort()).toEqual(['mail@1', aliceRef].sort());
    expect(await refs('carol')).toEqual([aliceRef]);
    // A bot never approves; a stranger sees nothing.
    expect(await refs('ingest-bot')).toEqual([]);
    await addIdentity(f.root, 'dave', { kind: 'human' });
    await grantRole(f.root, 'dave', 'labeler', 'mail');
    f.tokens['dave'] = (
      await createToken(f.root, 'dave', { scopes: ['datasets:read', 'approvals:write'] })
    ).token;
    expect(await refs('dave')).toEqual([]);
    // No denial was logged for what the inbox left out.
    expect((await f.root.meta.listEvents({ kind: 'authz.deny' })).length).toBe(before);

    // alice approves mail@1: it leaves her inbox and counts in bob's.
    await ok(f, 'POST', '/v1/snapshots/mail@1/approvals', {
      ...as('alice'),
      json: { comment: 'looked at the scan' },
      status: 201,
    });
    expect(await refs('alice')).toEqual([]);
    const bobs = await ok<Pending>(f, 'GET', '/v1/approvals/pending', as('bob'));
    expect(bobs.pending.find((p) => p.ref === 'mail@1')).toMatchObject({
      author: 'ingest-bot',
      approvals: { current: 1, required: 2, approvers: ['alice'] },
      gate: null,
    });
    // The signed approval: who, with which key, with the comment.
    const list = await ok<{
      approvals: { approver: string; keyId: string; comment: string; counts: boolean }[];
    }>(f, 'GET', '/v1/snapshots/mail@1/approvals', as('bob'));
    const alice = await f.root.meta.getIdentity('alice');
    expect(list.approvals).toEqual([
      expect.objectContaining({
        approver: 'alice',
        keyId: alice!.key_id,
        comment: 'looked at the scan',
        counts: true,
      }),
    ]);
  });

  it('stores the gate policy it ran, and releases for a named model, recorded and replayed', async () => {
    await ingest('ingest-bot', 'mail', mailRecords(60));
    for (const source of ['feed-a', 'feed-b'])
      await ok(f, 'PUT', `/v1/datasets/mail/sources/${source}`, {
        ...as('root'),
        json: { trusted: true },
      });
    await scan('alice', 'mail@1');
    await problem(
      f,
      'GET',
      '/v1/datasets/mail/gate-policy',
      { status: 404, code: 'NOT_FOUND' },
      as('alice'),
    );
    await problem(f, 'GET', '/v1/datasets/nope/gate-policy', { status: 404 }, as('alice'));

    // A failing gate (no approval yet) stores its policy too.
    const failed = await ok<{ passed: boolean; checks: { id: string; reason: string }[] }>(
      f,
      'POST',
      '/v1/snapshots/mail@1/gate?name=training.yaml',
      { ...as('alice'), body: GATE, headers: { 'Content-Type': 'application/yaml' }, status: 201 },
    );
    expect(failed.passed).toBe(false);
    const policy = await ok<{ text: string; name: string; ref: string; digest: string }>(
      f,
      'GET',
      '/v1/datasets/mail/gate-policy',
      as('bob'),
    );
    expect(policy).toMatchObject({ text: GATE, name: 'training.yaml', ref: 'mail@1' });
    const pending = await ok<Pending>(f, 'GET', '/v1/approvals/pending', as('bob'));
    expect(pending.pending[0]?.gate).toMatchObject({ passed: false, failed: ['approvals'] });

    // bob approves (one is enough here): promoted; the edited policy runs and passes.
    const approved = await ok(f, 'POST', '/v1/snapshots/mail@1/approvals', {
      ...as('bob'),
      json: {},
      status: 201,
    });
    expect(approved).toMatchObject({ promoted: true, state: 'approved' });
    const edited = `${policy.text}# rerun after bob's approval\n`;
    const gate = await ok<{ passed: boolean }>(f, 'POST', '/v1/snapshots/mail@1/gate', {
      ...as('alice'),
      body: edited,
      headers: { 'Content-Type': 'application/yaml' },
      status: 201,
    });
    expect(gate.passed).toBe(true);
    expect(
      await ok<{ text: string; name: string }>(
        f,
        'GET',
        '/v1/datasets/mail/gate-policy',
        as('bob'),
      ),
    ).toMatchObject({ text: edited, name: 'gate.yaml' });

    // Release for a model: validated, recorded in the event.
    await problem(
      f,
      'POST',
      '/v1/snapshots/mail@1/release',
      { status: 422 },
      { ...as('alice'), json: { model: 'm'.repeat(201) } },
    );
    await problem(
      f,
      'POST',
      '/v1/snapshots/mail@1/release',
      { status: 422 },
      { ...as('alice'), json: { model: '   ' } },
    );
    await ok(f, 'POST', '/v1/snapshots/mail@1/release', {
      ...as('alice'),
      json: { model: 'spam-filter-v7' },
    });
    const [released] = await f.root.meta.listEvents({ kind: 'snapshot.release' });
    expect(JSON.parse(released!.detail)).toMatchObject({
      state: 'released',
      model: 'spam-filter-v7',
    });
    const audit = await ok<{ ok: boolean }>(f, 'GET', '/v1/audit/verify', as('root'));
    expect(audit.ok).toBe(true);
    const verify = await cli(f.dir, 'audit', 'verify');
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
  });

  it('cordon release --model records the model (and an empty body still releases)', async () => {
    for (const dataset of ['mail', 'mail2']) {
      await ingest('ingest-bot', dataset, mailRecords(30));
      await grantRole(f.root, 'alice', 'steward', dataset);
      for (const source of ['feed-a', 'feed-b'])
        await ok(f, 'PUT', `/v1/datasets/${dataset}/sources/${source}`, {
          ...as('root'),
          json: { trusted: true },
        });
      await scan('alice', `${dataset}@1`);
      await ok(f, 'POST', `/v1/snapshots/${dataset}@1/approvals`, {
        ...as('alice'),
        json: {},
        status: 201,
      });
      await ok(f, 'POST', `/v1/snapshots/${dataset}@1/gate`, {
        ...as('alice'),
        body: GATE,
        headers: { 'Content-Type': 'application/yaml' },
        status: 201,
      });
    }
    const r = await cli(
      f.dir,
      '-w',
      f.dir,
      'release',
      'mail@1',
      '--model',
      'ranker-2',
      '--as',
      'alice',
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('mail@1 is released for model ranker-2\n');
    // No body at all, as older clients send.
    const res = await call(f, 'POST', '/v1/snapshots/mail2@1/release', as('alice'));
    expect(res.status, await res.text()).toBe(200);
    const events = await f.root.meta.listEvents({ kind: 'snapshot.release' });
    expect(events.map((e) => (JSON.parse(e.detail) as { model?: string }).model)).toEqual([
      'ranker-2',
      undefined,
    ]);
    const verify = await cli(f.dir, 'audit', 'verify');
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
  });
});
