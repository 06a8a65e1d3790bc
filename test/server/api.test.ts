import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commit } from '../helpers/workspace.js';
import { call, fixture, mailRows, ok, problem, type Fixture } from './helpers.js';

let f: Fixture;
afterEach(async () => f.cleanup());

const events = async (kind: string) => f.root.meta.listEvents({ kind });
const detailOf = (e: { detail: string }) => JSON.parse(e.detail) as Record<string, unknown>;

describe('authentication', () => {
  beforeEach(async () => {
    f = await fixture({ authFailures: { max: 3, windowMs: 60_000 } });
  });

  it('refuses a request without a token (401, a Bearer challenge, no audit noise)', async () => {
    const before = (await events('auth.failed')).length;
    const p = await problem(f, 'GET', '/v1/datasets', { status: 401, code: 'UNAUTHENTICATED' });
    expect(p.headers.get('www-authenticate')).toBe('Bearer realm="cordon"');
    expect(p.type).toBe('https://cordon.dev/problems/unauthenticated');
    expect(p.instance).toMatch(/^urn:uuid:/);
    expect((await events('auth.failed')).length).toBe(before);
  });

  it('refuses a bad token with 401 and an auth.failed event that names the key id only', async () => {
    const before = (await events('auth.failed')).length;
    // Malformed, then well-formed with a wrong secret (a real key id, a forged secret).
    await problem(f, 'GET', '/v1/datasets', { status: 401 }, { token: 'not-a-token' });
    const real = f.tokens['alice']!;
    const parts = real.split('_');
    const forged = [...parts.slice(0, 4), 'x'.repeat(49)].join('_');
    const p = await problem(f, 'GET', '/v1/datasets', { status: 401 }, { token: forged });
    expect(p.headers.get('www-authenticate')).toContain('error="invalid_token"');
    const failed = (await events('auth.failed')).slice(before);
    expect(failed).toHaveLength(2);
    expect(detailOf(failed[0]!)).toMatchObject({ reason: 'malformed token' });
    expect(JSON.stringify(failed)).not.toContain('x'.repeat(20));
    // The failures are covered by a signed checkpoint at once.
    const checkpoints = await f.root.meta.listCheckpoints();
    expect(checkpoints.at(-1)!.size).toBe(await f.root.meta.countEvents());
  });

  it('answers 429 with Retry-After after repeated failures from one address, not for others', async () => {
    for (let i = 0; i < 3; i++)
      await problem(
        f,
        'GET',
        '/v1/datasets',
        { status: 401 },
        { token: 'bad', from: '203.0.113.7' },
      );
    const limited = await problem(
      f,
      'GET',
      '/v1/datasets',
      { status: 429, code: 'RATE_LIMITED' },
      { token: f.tokens['alice']!, from: '203.0.113.7' },
    );
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.retry?.afterSeconds).toBeGreaterThan(0);
    // Another address is unaffected, and successful requests are never counted.
    for (let i = 0; i < 10; i++)
      await ok(f, 'GET', '/v1/datasets', { token: f.tokens['alice']!, from: '203.0.113.8' });
  });

  it('records who called: the token last-use agent, and a browser as interactive', async () => {
    await ok(f, 'GET', '/v1/datasets', {
      token: f.tokens['alice']!,
      headers: { 'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0' },
    });
    const [t] = await f.root.meta.gov.listTokens('alice');
    expect(t).toMatchObject({ last_used_interactive: 1 });
    expect(t!.last_used_agent).toContain('Firefox');
  });
});

describe('authorization of reads and changes', () => {
  beforeEach(async () => {
    f = await fixture();
    await commit(f.root, 'mail', mailRows(20));
  });

  it('a 403 problem carries Cedar reason and leaves an authz.deny event', async () => {
    const before = (await events('authz.deny')).length;
    const p = await problem(
      f,
      'PATCH',
      '/v1/datasets/mail/settings',
      { status: 403, code: 'FORBIDDEN' },
      { token: f.tokens['ingest-bot']!, json: { highImpact: false } },
    );
    // ingest-bot is a contributor: configuring the dataset is for its owners.
    expect(p.detail).toMatch(/^Denied: no policy permits service account "ingest-bot"/);
    const deny = (await events('authz.deny')).slice(before);
    expect(deny).toHaveLength(1);
    expect(deny[0]).toMatchObject({ actor: 'ingest-bot', dataset: 'mail' });
    expect(detailOf(deny[0]!)).toMatchObject({ action: 'configureDataset' });
    expect(await f.root.meta.gov.getSettings('mail')).toBeUndefined();
  });

  it('authorizes reads: no role, no dataset; listings hide what the caller may not read', async () => {
    await ok(f, 'GET', '/v1/datasets/mail', { token: f.tokens['alice']! });
    const before = (await events('authz.deny')).length;
    await problem(f, 'GET', '/v1/datasets/mail', { status: 403 }, { token: f.tokens['carol']! });
    await problem(
      f,
      'GET',
      '/v1/snapshots/mail@1/records',
      { status: 403 },
      {
        token: f.tokens['carol']!,
      },
    );
    expect((await events('authz.deny')).length).toBe(before + 2);
    const mine = await ok<{ datasets: { name: string }[] }>(f, 'GET', '/v1/datasets', {
      token: f.tokens['carol']!,
    });
    expect(mine.datasets).toEqual([]);
    const alices = await ok<{ datasets: { name: string }[] }>(f, 'GET', '/v1/datasets', {
      token: f.tokens['alice']!,
    });
    expect(alices.datasets.map((d) => d.name)).toEqual(['mail']);
    // Filtering a listing writes no denial per hidden dataset.
    expect((await events('authz.deny')).length).toBe(before + 2);
    // The audit log is readAudit: a steward has no such right.
    await problem(f, 'GET', '/v1/audit/events', { status: 403 }, { token: f.tokens['alice']! });
    await ok(f, 'GET', '/v1/audit/events?limit=5', { token: f.tokens['root']! });
  });

  it('pages records in id order, each checked against the signed manifest', async () => {
    const first = await ok<{ total: number; next: number; records: { id: string }[] }>(
      f,
      'GET',
      '/v1/snapshots/mail@1/records?limit=8',
      { token: f.tokens['alice']! },
    );
    expect(first).toMatchObject({ total: 20, next: 8 });
    expect(first.records.map((r) => r.id)).toEqual(
      Array.from({ length: 8 }, (_, i) => `m-${String(i).padStart(7, '0')}`),
    );
    const last = await ok<{ next: number | null; records: unknown[] }>(
      f,
      'GET',
      '/v1/snapshots/mail@1/records?offset=16&limit=8',
      { token: f.tokens['alice']! },
    );
    expect(last).toMatchObject({ next: null });
    expect(last.records).toHaveLength(4);
    await problem(
      f,
      'GET',
      '/v1/snapshots/mail@1/records?limit=5000',
      { status: 422 },
      {
        token: f.tokens['alice']!,
      },
    );
  });
});

describe('errors at the edge', () => {
  beforeEach(async () => {
    f = await fixture({ jsonLimit: 2048 });
  });

  it('malformed JSON is a 400 problem; a wrong shape a 422 naming each field', async () => {
    const bad = await problem(
      f,
      'POST',
      '/v1/identities',
      { status: 400, code: 'BODY_MALFORMED' },
      {
        token: f.tokens['root']!,
        body: '{"name": "dave", ',
        headers: { 'Content-Type': 'application/json' },
      },
    );
    expect(bad.detail).toMatch(/not valid JSON/);
    const shape = await problem(
      f,
      'POST',
      '/v1/identities',
      { status: 422, code: 'INPUT_INVALID' },
      { token: f.tokens['root']!, json: { name: '../etc', kind: 'robot' } },
    );
    expect(shape.errors!.map((e) => e.path).sort()).toEqual(['kind', 'name']);
    await problem(
      f,
      'POST',
      '/v1/identities',
      { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      { token: f.tokens['root']!, body: 'name=dave', headers: { 'Content-Type': 'text/plain' } },
    );
  });

  it('an oversized JSON body is a 413, whether its length is declared or not', async () => {
    const big = JSON.stringify({ name: 'dave', kind: 'human', owners: ['x'.repeat(4000)] });
    await problem(
      f,
      'POST',
      '/v1/identities',
      { status: 413, code: 'PAYLOAD_TOO_LARGE' },
      {
        token: f.tokens['root']!,
        body: big,
        headers: { 'Content-Type': 'application/json', 'Content-Length': String(big.length) },
      },
    );
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode(' '.repeat(500)));
        controller.close();
      },
    });
    await problem(
      f,
      'POST',
      '/v1/identities',
      { status: 413 },
      {
        token: f.tokens['root']!,
        body: chunked,
        headers: { 'Content-Type': 'application/json' },
      },
    );
    expect(await f.root.meta.getIdentity('dave')).toBeUndefined();
  });

  it('maps engine codes to statuses: 404 for a missing dataset, 404 for an unknown route', async () => {
    await problem(
      f,
      'GET',
      '/v1/datasets/nope',
      { status: 404, code: 'DATASET_NOT_FOUND' },
      {
        token: f.tokens['root']!,
      },
    );
    await problem(
      f,
      'GET',
      '/v1/snapshots/nope@3',
      { status: 404, code: 'DATASET_NOT_FOUND' },
      {
        token: f.tokens['root']!,
      },
    );
    await problem(
      f,
      'GET',
      '/v1/nothing-here',
      { status: 404, code: 'NOT_FOUND' },
      {
        token: f.tokens['root']!,
      },
    );
  });

  it('an unexpected failure is a 500 that leaks nothing and is logged with its instance', async () => {
    const meta = f.root.meta as unknown as { listDatasets: () => Promise<unknown> };
    meta.listDatasets = () => Promise.reject(new Error('disk on fire at /secret/path'));
    const p = await problem(
      f,
      'GET',
      '/v1/datasets',
      { status: 500, code: 'INTERNAL' },
      {
        token: f.tokens['root']!,
      },
    );
    expect(JSON.stringify(p)).not.toContain('/secret/path');
    expect(p.detail).toContain(p.instance);
    expect(f.logs.join('\n')).toContain(p.instance);
    expect(f.logs.join('\n')).toContain('disk on fire');
  });

  it('sets no-store and nosniff on every response', async () => {
    const res = await call(f, 'GET', '/healthz');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
