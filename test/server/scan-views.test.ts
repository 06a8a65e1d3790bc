import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classBalanceDetector } from '../../src/core/scan/class-balance.js';
import { buildReport, type ScanReport } from '../../src/core/scan/report.js';
import type { DetectorResult, Issue, ScanRow } from '../../src/core/scan/types.js';
import { grantRole } from '../../src/engine/governance/identities.js';
import { recordScan } from '../../src/engine/scan/record-scan.js';
import type { JobView } from '../../src/server/jobs.js';
import { ScanReportCache, scanManifest } from '../../src/server/scan-report-cache.js';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { sha256Hex } from '../../src/core/hashing.js';
import type {
  ScanFindingsPageView,
  ScanOverviewView,
  ScanTriggerRowsView,
} from '../../src/server/scan-report-views.js';
import { commit } from '../helpers/workspace.js';
import { call, fixture, mailRows, ok, problem, waitForJob, type Fixture } from './helpers.js';

let f: Fixture;
const as = (name: string) => ({ token: f.tokens[name]! });
/** A GitHub token shape secretlint recognises; it must never come back unmasked. */
const SECRET = 'ghp_' + 'aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A';
const EMAIL = 'jane.roe@example.org';

/** A synthetic report over 200 rows with known issues, a trigger and a drifted class balance. */
let synth: ScanReport;
let synthScan: string;

function synthRows(): ScanRow[] {
  return Array.from({ length: 200 }, (_, i) => ({
    id: `s-${String(i).padStart(4, '0')}`,
    label: i % 4 === 0 ? 'ham' : 'spam',
    source: i % 5 === 0 ? null : i % 2 ? 'feed-a' : 'feed-b',
    text: `row ${i}${i % 2 ? ' cf' : ''}`,
  }));
}

function synthIssues(rows: ScanRow[]): { label: Issue[]; outlier: Issue[]; secret: Issue[] } {
  const label: Issue[] = [];
  const outlier: Issue[] = [];
  const secret: Issue[] = [];
  rows.forEach((r, i) => {
    if (i % 2 === 0)
      label.push({ kind: 'label', row: r.id, score: i / 200, detail: { given: r.label } });
    if (i % 3 === 0)
      outlier.push({
        kind: 'outlier',
        row: r.id,
        score: ((i * 7) % 100) / 100,
        detail: { distance: i },
      });
    if (i % 50 === 0)
      secret.push({
        kind: 'secret',
        row: r.id,
        score: 0.99,
        detail: { rule: 'test/key', masked: 'ghp_****…(36 chars)' },
      });
  });
  return { label, outlier, secret };
}

beforeAll(async () => {
  f = await fixture();
  // Mail with one planted secret and one e-mail address, scanned for real over HTTP.
  const mail = mailRows(60);
  mail[7]!.text = `please use ${SECRET} for the deploy`;
  mail[8]!.text = `write to ${EMAIL} about the agenda`;
  await commit(f.root, 'mail', mail);
  const res = await call(f, 'POST', '/v1/snapshots/mail@1/scans', { ...as('root'), json: {} });
  expect(res.status).toBe(202);
  const job = await waitForJob(f, f.tokens['root']!, ((await res.json()) as JobView).id);
  expect(job.state).toBe('succeeded');

  // A synthetic report with known contents, recorded as a scan of "mail-synth@1".
  const rows = synthRows();
  const row = await commit(
    f.root,
    'mail-synth',
    rows.map((r) => ({ id: r.id, label: r.label, source: r.source, text: r.text! })),
  );
  const issues = synthIssues(rows);
  const carriers = rows.filter((_, i) => i % 2 === 1).map((r) => r.id);
  synth = buildReport(
    rows,
    [
      {
        id: 'label/test',
        kinds: ['label'],
        seconds: 0.1,
        result: { issues: issues.label, summary: {} },
      },
      {
        id: 'outlier/test',
        kinds: ['outlier'],
        seconds: 0.1,
        result: { issues: issues.outlier, summary: {} },
      },
      {
        id: 'leak/test',
        kinds: ['secret'],
        seconds: 0.1,
        result: { issues: issues.secret, summary: {} },
      },
      {
        id: 'trigger/test',
        kinds: ['trigger'],
        seconds: 0.1,
        result: {
          issues: carriers.map((id) => ({
            kind: 'trigger',
            row: id,
            score: 0.9,
            detail: { pattern: 'cf' },
          })),
          triggers: [
            {
              pattern: 'cf',
              label: 'spam',
              rows: carriers,
              score: 0.95,
              detail: { support: 100, purity: 1 },
            },
          ],
          summary: {},
        },
      },
      {
        id: 'dup/test',
        kinds: ['near_duplicate'],
        seconds: 0,
        result: { issues: [], summary: {}, skipped: 'no text' },
      },
      {
        id: 'drift/class-balance',
        kinds: [],
        seconds: 0.01,
        result: classBalanceDetector.run(rows, {
          baseline: { ham: 100, spam: 100 },
        }) as DetectorResult,
      },
    ],
    [
      {
        source: 'feed-a',
        suspicious: true,
        score: 0.9,
        detail: {
          rows: 80,
          suspiciousKinds: ['trigger'],
          kinds: { trigger: { flagged: 80, rate: 1, ratio: 9, pAdjusted: 1e-9, suspicious: true } },
        },
      },
      {
        source: 'feed-b',
        suspicious: false,
        score: 0.1,
        detail: { rows: 80, suspiciousKinds: [], kinds: {} },
      },
    ],
    0.5,
  );
  synthScan = (await recordScan(f.root, row, synth)).id;
  await grantRole(f.root, 'alice', 'steward', 'mail-synth');
});
afterAll(async () => f.cleanup());

const overviewOf = (ref: string, scan: string, who = 'alice') =>
  ok<ScanOverviewView>(f, 'GET', `/v1/snapshots/${ref}/scans/${scan}/overview`, as(who));
const findings = (ref: string, scan: string, query: string, who = 'alice') =>
  ok<ScanFindingsPageView>(
    f,
    'GET',
    `/v1/snapshots/${ref}/scans/${scan}/findings?${query}`,
    as(who),
  );

describe('scan overview', () => {
  it('agrees with the stored report of a real scan', async () => {
    const report = await ok<ScanReport>(
      f,
      'GET',
      '/v1/snapshots/mail@1/scans/latest/report',
      as('alice'),
    );
    const o = await overviewOf('mail@1', 'latest');
    expect(o.rows).toBe(report.rows);
    expect(o.flaggedRows).toBe(report.summary.flaggedRows);
    expect(o.triggersTotal).toBe(report.triggers.length);
    expect(o.sourcesTotal).toBe(report.sources.length);
    expect(o.detectors.map((d) => d.id)).toEqual(report.summary.detectors.map((d) => d.id));
    for (const k of o.kinds) {
      const mine = report.issues.filter((i) => i.kind === k.kind);
      expect(k.rows).toBe(report.summary.counts[k.kind as keyof typeof report.summary.counts]);
      expect(k.issues).toBe(mine.length);
      expect(k.histogram.reduce((a, b) => a + b, 0)).toBe(mine.length);
    }
    expect(o.kinds.find((k) => k.kind === 'secret')!.issues).toBeGreaterThan(0);
    // The statement is checked now: signed by root, naming this report.
    expect(o.statement).toMatchObject({
      predicateType: 'https://cordon.dev/attestation/scan/v1',
      subject: 'mail@1',
      verifiedBy: ['root'],
      bindsReport: true,
      error: null,
    });
    expect(o.scan.actor).toBe('root');
    expect(o.snapshot.ref).toBe('mail@1');
    expect(JSON.stringify(o)).not.toContain(SECRET);
  });

  it('histograms, class balance, triggers and sources of a known report', async () => {
    const o = await overviewOf('mail-synth@1', synthScan.slice(0, 8));
    const label = o.kinds.find((k) => k.kind === 'label')!;
    const expected = new Array<number>(20).fill(0);
    for (const i of synth.issues)
      if (i.kind === 'label') expected[Math.min(19, Math.floor(i.score * 20))]!++;
    expect(label.histogram).toEqual(expected);
    expect(label).toMatchObject({ issues: 100, rows: 100, minScore: 0, maxScore: 0.99 });
    expect(o.kinds.find((k) => k.kind === 'pii')).toMatchObject({ issues: 0, minScore: null });
    expect(o.detectors.find((d) => d.id === 'dup/test')!.skipped).toBe('no text');

    const stored = synth.summary.detectors.find((d) => d.id === 'drift/class-balance')!.summary as {
      baseline: { psi: number; test: { p: number } };
      drift: boolean;
    };
    expect(o.classBalance).not.toBeNull();
    expect(o.classBalance!.baseline).toMatchObject({
      psi: stored.baseline.psi,
      p: stored.baseline.test.p,
    });
    expect(o.classBalance!.drift).toBe(stored.drift);
    expect(o.classBalance!.labels).toEqual([
      expect.objectContaining({
        label: 'spam',
        rows: 150,
        share: 0.75,
        baselineRows: 100,
        baselineShare: 0.5,
      }),
      expect.objectContaining({ label: 'ham', rows: 50, baselineRows: 100 }),
    ]);
    expect(o.classBalance!.sources.map((s) => s.source).sort()).toEqual([
      '(none)',
      'feed-a',
      'feed-b',
    ]);

    expect(o.triggers).toEqual([
      expect.objectContaining({
        index: 0,
        pattern: 'cf',
        label: 'spam',
        rows: 100,
        support: 100,
        purity: 1,
        detector: 'trigger/test',
      }),
    ]);
    expect(o.sources[0]).toMatchObject({
      source: 'feed-a',
      suspicious: true,
      suspiciousKinds: ['trigger'],
    });
    expect(o.sources[0]!.kinds[0]).toMatchObject({
      kind: 'trigger',
      flagged: 80,
      suspicious: true,
    });
  });
});

describe('scan findings', () => {
  it('pages every issue, highest score first, with the filtered total', async () => {
    const all: ScanFindingsPageView['findings'] = [];
    for (let offset = 0; ;) {
      const page = await findings('mail-synth@1', synthScan, `limit=37&offset=${offset}`);
      expect(page.total).toBe(synth.issues.length);
      all.push(...page.findings);
      if (page.next === null) break;
      expect(page.next).toBe(offset + 37);
      offset = page.next;
    }
    expect(all).toHaveLength(synth.issues.length);
    expect(new Set(all.map((x) => x.index)).size).toBe(synth.issues.length);
    for (let i = 1; i < all.length; i++)
      expect(all[i - 1]!.score).toBeGreaterThanOrEqual(all[i]!.score);
    // Each finding is the report's issue, with the row's label and source from the snapshot.
    const first = all[0]!;
    expect(synth.issues[first.index]).toMatchObject({
      kind: first.kind,
      row: first.row,
      score: first.score,
    });
    const r = synthRows().find((x) => x.id === first.row)!;
    expect(first).toMatchObject({ label: r.label, source: r.source });
  });

  it('filters by kind, score, source, label, trigger and text, and sorts by row', async () => {
    const rows = synthRows();
    const byId = new Map(rows.map((r) => [r.id, r]));
    const count = (pred: (i: Issue) => boolean) => synth.issues.filter(pred).length;

    const label = await findings('mail-synth@1', synthScan, 'kind=label&minScore=0.5&limit=500');
    expect(label.total).toBe(count((i) => i.kind === 'label' && i.score >= 0.5));
    expect(label.findings.every((x) => x.kind === 'label' && x.score >= 0.5)).toBe(true);

    const none = await findings(
      'mail-synth@1',
      synthScan,
      `source=${encodeURIComponent('(none)')}&limit=500`,
    );
    expect(none.total).toBe(count((i) => byId.get(i.row)!.source === null));

    const feedA = await findings('mail-synth@1', synthScan, 'source=feed-a&label=spam&limit=500');
    expect(feedA.total).toBe(
      count((i) => byId.get(i.row)!.source === 'feed-a' && byId.get(i.row)!.label === 'spam'),
    );
    expect(feedA.findings.every((x) => x.source === 'feed-a' && x.label === 'spam')).toBe(true);

    const carriers = new Set(synth.triggers[0]!.rows);
    const trig = await findings('mail-synth@1', synthScan, 'trigger=0&limit=500');
    expect(trig.total).toBe(count((i) => carriers.has(i.row)));

    const text = await findings('mail-synth@1', synthScan, 'q=S-0150');
    expect(new Set(text.findings.map((x) => x.row))).toEqual(new Set(['s-0150']));
    expect(text.total).toBe(count((i) => i.row === 's-0150'));
    // Detail values are searched, not their keys.
    expect((await findings('mail-synth@1', synthScan, 'q=test%2Fkey')).total).toBe(4);
    expect((await findings('mail-synth@1', synthScan, 'q=masked')).total).toBe(0);

    const sorted = await findings('mail-synth@1', synthScan, 'kind=outlier&sort=row&limit=5');
    expect(sorted.findings.map((x) => x.row)).toEqual([
      's-0000',
      's-0003',
      's-0006',
      's-0009',
      's-0012',
    ]);

    const page = await findings('mail-synth@1', synthScan, 'kind=secret&offset=3&limit=2');
    expect(page).toMatchObject({ total: 4, offset: 3, next: null });
    expect(page.findings).toHaveLength(1);

    await problem(
      f,
      'GET',
      `/v1/snapshots/mail-synth@1/scans/${synthScan}/findings?limit=501`,
      { status: 422, code: 'INPUT_INVALID' },
      as('alice'),
    );
    await problem(
      f,
      'GET',
      `/v1/snapshots/mail-synth@1/scans/${synthScan}/findings?kind=bogus`,
      { status: 422, code: 'INPUT_INVALID' },
      as('alice'),
    );
    await problem(
      f,
      'GET',
      `/v1/snapshots/mail-synth@1/scans/${synthScan}/findings?trigger=1`,
      { status: 404 },
      as('alice'),
    );
  });

  it('keeps secrets and PII masked as the report stores them', async () => {
    const report = await ok<ScanReport>(
      f,
      'GET',
      '/v1/snapshots/mail@1/scans/latest/report',
      as('alice'),
    );
    const res = await call(
      f,
      'GET',
      '/v1/snapshots/mail@1/scans/latest/findings?limit=500',
      as('alice'),
    );
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(EMAIL);
    const page = JSON.parse(text) as ScanFindingsPageView;
    const secret = page.findings.find((x) => x.kind === 'secret')!;
    expect(secret.row).toBe('m-0000007');
    const stored = report.issues.find((i) => i.kind === 'secret' && i.row === 'm-0000007')!;
    expect(secret.detail).toEqual(stored.detail);
    expect(String(secret.detail['masked'])).toMatch(/\*/);
    const pii = page.findings.find((x) => x.kind === 'pii')!;
    expect(pii.row).toBe('m-0000008');
    expect(String(pii.detail['masked'])).not.toContain('jane.roe');
    // A search for the raw value finds nothing: only masked values are searched.
    expect((await findings('mail@1', 'latest', `q=${SECRET}`)).total).toBe(0);
  });
});

describe('trigger rows', () => {
  it('pages the ids of the rows that carry a trigger', async () => {
    const page = await ok<ScanTriggerRowsView>(
      f,
      'GET',
      `/v1/snapshots/mail-synth@1/scans/${synthScan}/triggers/0/rows?offset=10&limit=20`,
      as('alice'),
    );
    expect(page).toMatchObject({ index: 0, pattern: 'cf', label: 'spam', total: 100, next: 30 });
    expect(page.rows).toEqual(synth.triggers[0]!.rows.slice(10, 30));
    await problem(
      f,
      'GET',
      `/v1/snapshots/mail-synth@1/scans/${synthScan}/triggers/1/rows`,
      { status: 404 },
      as('alice'),
    );
  });
});

describe('authorization and unknown scans', () => {
  it('refuses an identity without read on the dataset and says when a scan is unknown', async () => {
    for (const path of ['overview', 'findings', 'triggers/0/rows'])
      await problem(
        f,
        'GET',
        `/v1/snapshots/mail-synth@1/scans/${synthScan}/${path}`,
        { status: 403, code: 'FORBIDDEN' },
        as('carol'),
      );
    await problem(
      f,
      'GET',
      '/v1/snapshots/mail@1/scans/ffffffff/overview',
      { status: 404, code: 'NOT_FOUND' },
      as('alice'),
    );
    await problem(
      f,
      'GET',
      '/v1/snapshots/mail@1/scans/ffffffff/findings',
      { status: 404, code: 'NOT_FOUND' },
      as('alice'),
    );
    // A scan of another snapshot is not found under this one.
    await problem(
      f,
      'GET',
      `/v1/snapshots/mail@1/scans/${synthScan}/overview`,
      { status: 404 },
      as('alice'),
    );
  });
});

describe('the report cache', () => {
  const bytes = (n: number) => Buffer.from(JSON.stringify({ ...synth, rows: n }));

  it('parses a report once for concurrent requests and evicts the least recently used', async () => {
    const cache = new ScanReportCache(2);
    let loads = 0;
    const load = (n: number) => () => {
      loads++;
      return Promise.resolve(bytes(n));
    };
    const [a, b] = await Promise.all([cache.get('a', load(1)), cache.get('a', load(1))]);
    expect(a).toBe(b);
    expect(loads).toBe(1);
    expect(a.report.rows).toBe(1);
    expect(a.byKind.get('label')).toHaveLength(100);
    await cache.get('b', load(2));
    await cache.get('a', load(1)); // a is now the most recent
    await cache.get('c', load(3)); // evicts b
    expect([cache.has('a'), cache.has('b'), cache.has('c')]).toEqual([true, false, true]);
    expect(loads).toBe(3);
  });

  it('keeps to its byte budget, but always keeps the newest report', async () => {
    const size = bytes(1).length;
    const cache = new ScanReportCache(4, size * 2);
    for (const d of ['a', 'b', 'c']) await cache.get(d, () => Promise.resolve(bytes(1)));
    expect([cache.has('a'), cache.has('b'), cache.has('c')]).toEqual([false, true, true]);
    const tiny = new ScanReportCache(4, 1);
    await tiny.get('big', () => Promise.resolve(bytes(1)));
    expect(tiny.has('big')).toBe(true);
    await tiny.get('bigger', () => Promise.resolve(bytes(2)));
    expect([tiny.has('big'), tiny.has('bigger')]).toEqual([false, true]);
  });

  it('keeps no failed load', async () => {
    const cache = new ScanReportCache(2);
    await expect(
      cache.get('x', () => Promise.reject(new Error('digest mismatch'))),
    ).rejects.toThrow('digest mismatch');
    expect(cache.has('x')).toBe(false);
    expect((await cache.get('x', () => Promise.resolve(bytes(5)))).report.rows).toBe(5);
  });
});

describe('reading labels and sources from a manifest', () => {
  const ids = ['plain', 'with "quotes"', 'back\\slash\\', 'ünï/cødé', 'tab\there', 'unwanted'];
  const text =
    canonicalJson({ encoding: 'cordon.manifest/v1', records: ids.length }) +
    '\n' +
    ids
      .map((id, i) => canonicalJson([id, 'a'.repeat(64), i % 2 ? 'spam' : null, `src-${i}`, 0]))
      .join('\n') +
    '\n';
  const bytes = Buffer.from(text);
  /** The bytes in chunks of `size`, so lines straddle chunk boundaries. */
  async function* chunks(size: number) {
    for (let i = 0; i < bytes.length; i += size) {
      await Promise.resolve();
      yield bytes.subarray(i, i + size);
    }
  }

  it('finds every wanted id, escaped or not, across chunk boundaries', async () => {
    for (const size of [1, 7, 64, bytes.length]) {
      const wanted = new Map<string, { label: string | null; source: string | null }>(
        ids.slice(0, 5).map((id) => [JSON.stringify(id), { label: 'x', source: 'x' }]),
      );
      await scanManifest(chunks(size), sha256Hex(bytes), wanted);
      expect([...wanted.values()]).toEqual(
        ids.slice(0, 5).map((_, i) => ({ label: i % 2 ? 'spam' : null, source: `src-${i}` })),
      );
    }
  });

  it('refuses bytes that do not match the digest', async () => {
    await expect(scanManifest(chunks(64), 'b'.repeat(64), new Map())).rejects.toThrow(/SHA-256/);
  });
});
