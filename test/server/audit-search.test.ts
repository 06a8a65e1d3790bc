import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCOPES } from '../../src/core/tokens.js';
import { checkpointAudit } from '../../src/engine/audit.js';
import { addIdentity, grantRole } from '../../src/engine/governance/identities.js';
import { createToken } from '../../src/engine/governance/tokens.js';
import { initWorkspace } from '../../src/engine/workspace.js';
import { createApp } from '../../src/server/app.js';
import { eventLeaf } from '../../src/core/audit-log.js';
import { leafHash } from '../../src/core/merkle.js';
import { dropSchema, testPostgres, uniqueSchemaName } from '../helpers/postgres.js';
import { commit, tempDir } from '../helpers/workspace.js';
import { mailRows, ok, problem, waitForJob, type Fixture } from './helpers.js';

/**
 * The audit search behind the console's Audit page (GET /v1/audit/events with filters, order,
 * offset paging and totals), the verify and proof additions, on SQLite and, when
 * CORDON_TEST_DATABASE_URL names a server, on PostgreSQL: both must answer alike.
 */

interface Page {
  events: {
    seq: number;
    time: string;
    actor: string;
    kind: string;
    dataset: string | null;
    snapshot: string | null;
    detail: unknown;
  }[];
  next: number | null;
  total: number;
  offset: number;
  limit: number;
  order: string;
}

const at = (i: number): string => new Date(Date.UTC(2025, 0, 1) + i * 60_000).toISOString();

/** A workspace whose creator "root" is admin, with auditors and an outsider, and its API. */
async function auditFixture(databaseUrl?: string): Promise<Fixture & { base: number }> {
  const t = tempDir();
  const root = await initWorkspace(join(t.dir, '.cordon'), {
    identity: 'root',
    ...(databaseUrl !== undefined ? { backends: { databaseUrl } } : {}),
  });
  await addIdentity(root, 'dora', { kind: 'human' });
  await addIdentity(root, 'olaf', { kind: 'human' });
  await grantRole(root, 'dora', 'auditor', 'mail');
  const tokens: Record<string, string> = {
    root: (await createToken(root, 'root', { scopes: [...SCOPES] })).token,
    dora: (await createToken(root, 'dora', { scopes: ['datasets:read', 'audit:read'] })).token,
    olaf: (await createToken(root, 'olaf', { scopes: ['datasets:read', 'audit:read'] })).token,
  };
  const base = await root.meta.countEvents();
  // 40 events after the setup ones: alternating kinds and datasets, one minute apart.
  for (let i = 0; i < 40; i++) {
    const kind = ['snapshot.ingest', 'snapshot.scan', 'authz.deny', 'review.open'][i % 4]!;
    await root.meta.appendEvent({
      time: at(i),
      actor: i % 2 === 0 ? 'alice' : 'feed-bot',
      kind,
      dataset: i % 5 === 0 ? 'spam' : 'mail',
      snapshot_id: null,
      detail: JSON.stringify({ n: i, note: i === 17 ? 'Poisoned BATCH' : 'routine' }),
    });
  }
  await checkpointAudit(root.meta, root.identity);
  const logs: string[] = [];
  const app = createApp(root, { log: (line) => logs.push(line) });
  return {
    root,
    dir: root.dir,
    app,
    tokens,
    logs,
    base,
    cleanup: async () => {
      await app.cordon.shutdown();
      await root.close();
      t.cleanup();
    },
  };
}

function searchSuite(
  engine: string,
  make: () => Promise<Fixture & { base: number }>,
  done: () => Promise<void> = () => Promise.resolve(),
) {
  describe(`audit search [${engine}]`, () => {
    let f: Fixture & { base: number };
    beforeAll(async () => {
      f = await make();
    });
    afterAll(async () => {
      await f?.cleanup();
      await done();
    });

    const search = (query: Record<string, string | number>, token = f.tokens['root']!) =>
      ok<Page>(
        f,
        'GET',
        `/v1/audit/events?${new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString()}`,
        { token },
      );
    const ns = (p: Page) => p.events.map((e) => (e.detail as { n: number }).n);

    it('filters by exact kind and by kind prefix, with a total on every page', async () => {
      const deny = await search({ kind: 'authz.deny', limit: 3 });
      expect(deny.total).toBe(10);
      expect(ns(deny)).toEqual([2, 6, 10]);
      expect(deny.next).toBe(deny.events[2]!.seq);
      const snap = await search({ kind: 'snapshot.', limit: 500 });
      expect(snap.total).toBe(20);
      expect(snap.events.every((e) => e.kind.startsWith('snapshot.'))).toBe(true);
      expect((await search({ kind: 'snapshot.*' })).total).toBe(20);
      expect((await search({ kind: 'snapshot' })).total).toBe(0);
    });

    it('filters by actor, dataset, time range and detail text', async () => {
      expect((await search({ actor: 'feed-bot' })).total).toBe(20);
      expect(ns(await search({ dataset: 'spam', actor: 'alice' }))).toEqual([0, 10, 20, 30]);
      const range = await search({ from: at(5), to: at(9) });
      expect(ns(range)).toEqual([5, 6, 7, 8]);
      // since/until are the older names of from/to.
      expect(ns(await search({ since: at(5), until: at(9) }))).toEqual([5, 6, 7, 8]);
      expect(ns(await search({ q: 'poisoned batch' }))).toEqual([17]);
      expect(ns(await search({ q: '"n":3,', kind: 'review.' }))).toEqual([3]);
      expect((await search({ q: 'nothing like this' })).total).toBe(0);
    });

    it('pages newest first by offset, and by before/next', async () => {
      const first = await search({ order: 'desc', limit: 4, actor: 'alice' });
      expect(first).toMatchObject({ total: 20, offset: 0, limit: 4, order: 'desc' });
      expect(ns(first)).toEqual([38, 36, 34, 32]);
      const second = await search({ order: 'desc', limit: 4, actor: 'alice', offset: 4 });
      expect(ns(second)).toEqual([30, 28, 26, 24]);
      const keyset = await search({ order: 'desc', limit: 4, actor: 'alice', before: first.next! });
      expect(ns(keyset)).toEqual(ns(second));
      const last = await search({ order: 'desc', limit: 4, actor: 'alice', offset: 16 });
      expect(ns(last)).toEqual([6, 4, 2, 0]);
      expect(last.next).toBeNull();
      const past = await search({ order: 'desc', limit: 4, actor: 'alice', offset: 400 });
      expect(past).toMatchObject({ events: [], total: 20, next: null });
    });

    it('keeps the CLI paging: oldest first, after/next, up to 1000 a page', async () => {
      const all: number[] = [];
      let after = 0;
      for (;;) {
        const page = await search({ after, limit: 7 });
        all.push(...page.events.map((e) => e.seq));
        if (page.next === null) break;
        after = page.next;
      }
      expect(all).toEqual(Array.from({ length: f.base + 40 }, (_, i) => i + 1));
      expect((await search({ limit: 1000 })).events).toHaveLength(f.base + 40);
    });

    it('refuses bad queries and needs readAudit where it searches', async () => {
      await problem(
        f,
        'GET',
        '/v1/audit/events?limit=1001',
        { status: 422, code: 'INPUT_INVALID' },
        {
          token: f.tokens['root']!,
        },
      );
      await problem(
        f,
        'GET',
        '/v1/audit/events?order=sideways',
        { status: 422, code: 'INPUT_INVALID' },
        {
          token: f.tokens['root']!,
        },
      );
      await problem(
        f,
        'GET',
        '/v1/audit/events?from=yesterday',
        { status: 422, code: 'INPUT_INVALID' },
        {
          token: f.tokens['root']!,
        },
      );
      // A dataset auditor searches its dataset, and nothing wider.
      expect((await search({ dataset: 'mail', kind: 'authz.' }, f.tokens['dora'])).total).toBe(8);
      await problem(
        f,
        'GET',
        '/v1/audit/events?kind=authz.',
        { status: 403 },
        {
          token: f.tokens['dora']!,
        },
      );
      await problem(
        f,
        'GET',
        '/v1/audit/events?dataset=mail',
        { status: 403 },
        {
          token: f.tokens['olaf']!,
        },
      );
    });

    it('shows the newest signed checkpoint, and proves an event with its leaf fields', async () => {
      const v = await ok<{ ok: boolean; events: number }>(f, 'GET', '/v1/audit/verify', {
        token: f.tokens['root']!,
      });
      expect(v.ok).toBe(true);
      const { checkpoint } = await ok<{
        checkpoint: { size: number; root: string; note: string; signer: string | null } | null;
      }>(f, 'GET', '/v1/audit/checkpoint', { token: f.tokens['root']! });
      // Requests append events (the refusals above) and sign checkpoints as they close.
      expect(checkpoint!.size).toBeGreaterThanOrEqual(f.base + 40);
      expect(checkpoint).toMatchObject({ signer: 'root' });
      expect(checkpoint!.note).toContain(`\n${checkpoint!.size}\n`);
      const seq = f.base + 18;
      const p = await ok<{
        leaf: string;
        root: string;
        verified: boolean;
        event: {
          seq: number;
          time: string;
          actor: string;
          kind: string;
          dataset: string | null;
          snapshot: string | null;
          detail: string;
        };
      }>(f, 'GET', `/v1/audit/proof/${seq}?event=true`, { token: f.tokens['root']! });
      // Without event=true the answer is what it always was (the CLI prints it as is).
      const plain = await ok(f, 'GET', `/v1/audit/proof/${seq}`, { token: f.tokens['root']! });
      expect(Object.keys(plain).sort()).toEqual([
        'index',
        'leaf',
        'proof',
        'root',
        'seq',
        'size',
        'verified',
      ]);
      expect(p.verified).toBe(true);
      expect(p.root).toBe(checkpoint!.root);
      expect(p.event).toMatchObject({ seq, detail: '{"n":17,"note":"Poisoned BATCH"}' });
      // The leaf hash is the hash of the event as the response gives it.
      const { snapshot, ...rest } = p.event;
      expect(leafHash(eventLeaf({ ...rest, snapshot_id: snapshot })).toString('hex')).toBe(p.leaf);
      await problem(
        f,
        'GET',
        '/v1/audit/checkpoint',
        { status: 403 },
        { token: f.tokens['dora']! },
      );
    });
  });
}

searchSuite('sqlite', () => auditFixture());

const service = await testPostgres();
if (service.url !== undefined) {
  const url = service.url;
  const schema = uniqueSchemaName();
  searchSuite(
    'postgres',
    async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`create schema "${schema}"`);
      await client.end();
      const scoped = new URL(url);
      scoped.searchParams.set('options', `-c search_path=${schema}`);
      return auditFixture(scoped.toString());
    },
    () => dropSchema(url, schema),
  );
} else if (service.required) {
  describe('audit search [postgres]', () => {
    it('needs PostgreSQL (CORDON_REQUIRE_SERVICES=1)', () => {
      throw new Error(`${service.why}; CORDON_REQUIRE_SERVICES=1 forbids skipping these tests`);
    });
  });
} else {
  console.warn(`audit search [postgres] skipped: ${service.why}`);
  describe.skip(`audit search [postgres] skipped: ${service.why}`, () => {
    it('runs on PostgreSQL', () => undefined);
  });
}

describe('job list filters and token settings', () => {
  let f: Fixture & { base: number };
  beforeAll(async () => {
    f = await auditFixture();
  });
  afterAll(async () => f?.cleanup());

  it('lists jobs filtered by state, kind and activity', async () => {
    const token = f.tokens['root']!;
    await commit(f.root, 'mail', mailRows(30));
    const job = await ok<{ id: string }>(f, 'POST', '/v1/snapshots/mail/scans', {
      token,
      json: {},
      status: 202,
    });
    expect((await waitForJob(f, token, job.id)).state).toBe('succeeded');
    const ids = async (query: string) =>
      (await ok<{ jobs: { id: string }[] }>(f, 'GET', `/v1/jobs?${query}`, { token })).jobs.map(
        (j) => j.id,
      );
    expect(await ids('')).toEqual([job.id]);
    expect(await ids('kind=scan&state=succeeded')).toEqual([job.id]);
    expect(await ids('kind=ingest&kind=transform')).toEqual([]);
    expect(await ids('state=running&state=queued')).toEqual([]);
    expect(await ids('active=true')).toEqual([]);
    expect(await ids('active=false&limit=1')).toEqual([job.id]);
    // Another identity sees none of them.
    const other = await ok<{ jobs: unknown[] }>(f, 'GET', '/v1/jobs', {
      token: f.tokens['dora']!,
    });
    expect(other.jobs).toEqual([]);
    await problem(
      f,
      'GET',
      '/v1/jobs?state=sleeping',
      { status: 422, code: 'INPUT_INVALID' },
      {
        token,
      },
    );
  });

  it('says which scopes a token may hold, the lifetime limits and the roles', async () => {
    const s = await ok<{ scopes: string[]; maxLifetimeDays: number; maxOverlapHours: number }>(
      f,
      'GET',
      '/v1/tokens/settings',
      { token: f.tokens['dora']! },
    );
    expect(s.scopes).toEqual([...SCOPES]);
    expect(s.maxLifetimeDays).toBe(90);
    expect(s.maxOverlapHours).toBe(168);
    const { roles } = await ok<{ roles: string[] }>(f, 'GET', '/v1/roles', {
      token: f.tokens['dora']!,
    });
    expect(roles).toContain('steward');
    expect(roles).toContain('auditor');
  });
});
