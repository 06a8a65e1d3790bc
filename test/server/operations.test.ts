import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/server/jobs.js';
import { commit } from '../helpers/workspace.js';
import {
  call,
  fixture,
  mailJsonl,
  mailRows,
  ok,
  problem,
  waitForJob,
  type Fixture,
} from './helpers.js';

let f: Fixture;
beforeEach(async () => {
  f = await fixture();
  await commit(f.root, 'mail', mailRows(30));
});
afterEach(async () => f.cleanup());

const root = () => ({ token: f.tokens['root']! });

describe('the rest of the operations over HTTP', () => {
  it('transform, merge, relabel, diff, tags and rollback', async () => {
    const res = await call(
      f,
      'POST',
      '/v1/datasets/mail-clean/transform?from=mail@1&command=clean.py&param=lowercase%3Dtrue',
      { ...root(), body: mailJsonl(10), headers: { 'Content-Type': 'application/x-ndjson' } },
    );
    expect(res.status).toBe(202);
    const job = await waitForJob(f, f.tokens['root']!, ((await res.json()) as JobView).id);
    expect(job.result).toMatchObject({ snapshot: { ref: 'mail-clean@1', stage: 'curated' } });
    const lineage = await ok<{ graph: { runs: { kind: string; params: object }[] } }>(
      f,
      'GET',
      '/v1/snapshots/mail-clean@1/lineage',
      root(),
    );
    expect(lineage.graph.runs[0]).toMatchObject({
      kind: 'transform',
      params: { lowercase: 'true' },
    });

    await commit(f.root, 'other', mailRows(5, { prefix: 'o' }));
    const merged = await ok<{ snapshot: { ref: string; records: number } }>(
      f,
      'POST',
      '/v1/datasets/corpus/merge',
      { ...root(), json: { snapshots: ['mail', 'other'] }, status: 201 },
    );
    expect(merged.snapshot).toMatchObject({ ref: 'corpus@1', records: 35 });

    const relabelled = await ok<{ snapshot: { ref: string }; relabelled: number }>(
      f,
      'POST',
      '/v1/datasets/mail/relabel',
      {
        ...root(),
        body: 'id,label\nm-0000000,ham\nm-0000002,ham\n',
        headers: { 'Content-Type': 'text/csv' },
        status: 201,
      },
    );
    expect(relabelled).toMatchObject({ snapshot: { ref: 'mail@2' }, relabelled: 2 });
    const diff = await ok<{ changed: number; labelChanges: unknown[] }>(
      f,
      'GET',
      '/v1/diff?from=mail@1&to=mail@2',
      root(),
    );
    expect(diff).toMatchObject({
      changed: 2,
      labelChanges: [{ from: 'spam', to: 'ham', records: 2 }],
    });
    const bad = await problem(
      f,
      'POST',
      '/v1/datasets/mail/relabel',
      { status: 404, code: 'RECORD_NOT_FOUND' },
      { ...root(), body: 'id,label\nnope,ham\n', headers: { 'Content-Type': 'text/csv' } },
    );
    expect(bad.detail).toContain('nope');

    await ok(f, 'POST', '/v1/snapshots/mail@1/tags', { ...root(), json: { tag: 'known-good' } });
    const tags = await ok<{ tags: { tag: string; ref: string }[] }>(f, 'GET', '/v1/tags', root());
    expect(tags.tags).toMatchObject([{ tag: 'known-good', ref: 'mail@1' }]);
    const back = await ok(f, 'POST', '/v1/datasets/mail/rollback', {
      ...root(),
      json: { to: 'mail@known-good', reason: 'relabel was wrong' },
    });
    expect(back).toMatchObject({ dataset: 'mail' });
    expect(await ok(f, 'GET', '/v1/datasets/mail', root())).toMatchObject({ current: 'mail@1' });
    await ok(f, 'DELETE', '/v1/snapshots/mail@1/tags/known-good', root());
    await problem(f, 'DELETE', '/v1/snapshots/mail@1/tags/known-good', { status: 404 }, root());
  });

  it('identities, roles and groups', async () => {
    const dave = await ok(f, 'POST', '/v1/identities', {
      ...root(),
      json: { name: 'dave', kind: 'human' },
      status: 201,
    });
    expect(dave).toMatchObject({ name: 'dave', kind: 'human', roles: [] });
    await problem(
      f,
      'POST',
      '/v1/identities',
      { status: 400, code: 'USAGE' },
      { ...root(), json: { name: 'scraper', kind: 'service' } },
    );
    await ok(f, 'POST', '/v1/identities/group:labelers/grants', {
      ...root(),
      json: { role: 'labeler', dataset: 'mail' },
    });
    await ok(f, 'POST', '/v1/groups/labelers/members', { ...root(), json: { identity: 'dave' } });
    const list = await ok<{ identities: { name: string; groups: string[] }[] }>(
      f,
      'GET',
      '/v1/identities',
      root(),
    );
    expect(list.identities.find((i) => i.name === 'dave')).toMatchObject({
      groups: ['labelers'],
    });
    const revoked = await ok(
      f,
      'DELETE',
      '/v1/identities/group:labelers/grants/labeler?dataset=mail',
      root(),
    );
    expect(revoked).toMatchObject({ changed: true });
    const off = await ok(f, 'POST', '/v1/identities/carol/disable', {
      ...root(),
      json: { reason: 'left' },
    });
    expect(off).toMatchObject({ revokedTokens: 1, flaggedServices: ['ingest-bot', 'trainer-bot'] });
    await problem(f, 'GET', '/v1/datasets', { status: 401 }, { token: f.tokens['carol']! });
  });

  it('audit proofs and policy checks', async () => {
    // The fixture was set up through the engine; sign what it logged, as a command would.
    await f.root.checkpoint();
    const page = await ok<{ events: { seq: number }[]; next: number | null }>(
      f,
      'GET',
      '/v1/audit/events?limit=2',
      root(),
    );
    expect(page.events).toHaveLength(2);
    expect(page.next).toBe(page.events[1]!.seq);
    const rest = await ok<{ events: { seq: number }[] }>(
      f,
      'GET',
      `/v1/audit/events?after=${page.next}&kind=grant.add`,
      root(),
    );
    expect(rest.events.every((e) => e.seq > page.next!)).toBe(true);
    const proof = await ok(f, 'GET', `/v1/audit/proof/${page.events[0]!.seq}`, root());
    expect(proof).toMatchObject({ verified: true });

    const valid = await ok(f, 'POST', '/v1/policies/check?name=mine.cedar', {
      ...root(),
      body: '@id("no-bot-export")\nforbid (principal is Cordon::ServiceAccount, action == Cordon::Action::"export", resource);\n',
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(valid).toMatchObject({ valid: true });
    const invalid = await problem(
      f,
      'POST',
      '/v1/policies/check?name=broken.cedar',
      { status: 422, code: 'POLICY_INVALID' },
      {
        ...root(),
        body: 'permit (principal, action, resource',
        headers: { 'Content-Type': 'text/plain' },
      },
    );
    expect(invalid.detail).toContain('broken.cedar');
  });

  it('renders a recorded scan as HTML under a strict content policy', async () => {
    const res = await call(f, 'POST', '/v1/snapshots/mail@1/scans', {
      ...root(),
      json: { detectors: ['dup/exact', 'leak/secrets'] },
    });
    expect(res.status).toBe(202);
    const job = await waitForJob(f, f.tokens['root']!, ((await res.json()) as JobView).id);
    expect(job.state).toBe('succeeded');
    const html = await call(f, 'GET', '/v1/snapshots/mail@1/scans/latest/report.html', root());
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await html.text()).toContain('Cordon scan of mail@1');
    await problem(
      f,
      'POST',
      '/v1/snapshots/mail@1/scans',
      { status: 400, code: 'USAGE' },
      { ...root(), json: { detectors: ['nope'] } },
    );
  });
});
