import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/core/hashing.js';
import { grantRole } from '../../src/engine/governance/identities.js';
import type { JobView } from '../../src/server/jobs.js';
import { mailRecords } from '../governance/helpers.js';
import { call, fixture, ok, problem, waitForJob, type Fixture } from './helpers.js';

const GATE = `version: 1
integrity: required
scan:
  required: true
  maxAgeDays: 7
  triggers: forbid
  secrets: forbid
provenance:
  sourcesKnown: true
  sourcesTrusted: true
  lineageComplete: true
approvals:
  min: dataset
`;

let f: Fixture;
beforeEach(async () => {
  f = await fixture();
  // carol owns the bots; as a steward she could approve, except what her own bot wrote.
  await grantRole(f.root, 'carol', 'steward', 'mail');
});
afterEach(async () => f.cleanup());

const as = (name: string) => ({ token: f.tokens[name]! });

async function runJob(name: string, res: Response): Promise<JobView> {
  const text = await res.text();
  expect(res.status, text).toBe(202);
  const job = await waitForJob(f, f.tokens[name]!, (JSON.parse(text) as JobView).id);
  expect(job.error, JSON.stringify(job.error)).toBeNull();
  expect(job.state).toBe('succeeded');
  return job;
}

describe('governance over HTTP', () => {
  it('bot ingests, stewards approve with their tokens, the gate passes, the trainer bot downloads', async () => {
    // The ingest bot uploads the corpus.
    const jsonl =
      mailRecords(60)
        .map((r) => JSON.stringify(r))
        .join('\n') + '\n';
    const ingest = await runJob(
      'ingest-bot',
      await call(f, 'POST', '/v1/datasets/mail/ingest?filename=mail.jsonl', {
        ...as('ingest-bot'),
        body: jsonl,
        headers: { 'Content-Type': 'application/x-ndjson' },
      }),
    );
    const snapshot = (ingest.result as { snapshot: { id: string; root: string } }).snapshot;

    // The owner (root) configures the dataset: two approvals, trusted sources.
    await ok(f, 'PATCH', '/v1/datasets/mail/settings', {
      ...as('root'),
      json: { requiredApprovals: 2 },
    });
    for (const source of ['feed-a', 'feed-b'])
      await ok(f, 'PUT', `/v1/datasets/mail/sources/${source}`, {
        ...as('root'),
        json: { trusted: true },
      });

    // Nothing leaves before the gate: the trainer bot is refused.
    const early = await problem(
      f,
      'GET',
      '/v1/snapshots/mail@1/export',
      { status: 403, code: 'FORBIDDEN' },
      as('trainer-bot'),
    );
    expect(early.detail).toMatch(/export-needs-gate/);

    // A steward scans it.
    const scan = await runJob(
      'alice',
      await call(f, 'POST', '/v1/snapshots/mail@1/scans', { ...as('alice'), json: {} }),
    );
    expect(scan.result).toMatchObject({ scan: { snapshot: snapshot.id }, failOn: null });
    const scans = await ok<{ scans: { id: string }[] }>(
      f,
      'GET',
      '/v1/snapshots/mail@1/scans',
      as('alice'),
    );
    expect(scans.scans).toHaveLength(1);
    const report = await ok<{ schema: string; rows: number }>(
      f,
      'GET',
      `/v1/snapshots/mail@1/scans/latest/report`,
      as('alice'),
    );
    expect(report).toMatchObject({ schema: 'cordon.scan/v1', rows: 60 });

    // The bot's owner may not approve what her bot wrote.
    const before = (await f.root.meta.listEvents({ kind: 'authz.deny' })).length;
    const refused = await problem(
      f,
      'POST',
      '/v1/snapshots/mail@1/approvals',
      { status: 403, code: 'FORBIDDEN' },
      { ...as('carol'), json: { comment: 'looks fine to me' } },
    );
    expect(refused.detail).toMatch(/no-self-approval/);
    const denials = (await f.root.meta.listEvents({ kind: 'authz.deny' })).slice(before);
    expect(denials).toMatchObject([
      { actor: 'carol', kind: 'authz.deny', snapshot_id: snapshot.id },
    ]);

    // Two independent stewards approve with their own tokens.
    const first = await ok<{ promoted: boolean; status: { independent: string[] } }>(
      f,
      'POST',
      '/v1/snapshots/mail@1/approvals',
      { ...as('alice'), json: { comment: 'checked the scan' }, status: 201 },
    );
    expect(first).toMatchObject({ promoted: false, status: { independent: ['alice'] } });
    const second = await ok(f, 'POST', '/v1/snapshots/mail@1/approvals', {
      ...as('bob'),
      json: {},
      status: 201,
    });
    expect(second).toMatchObject({ promoted: true, state: 'approved' });

    // The gate passes and its verdict is signed.
    const gate = await ok<{ passed: boolean; checks: { id: string; passed: boolean }[] }>(
      f,
      'POST',
      '/v1/snapshots/mail@1/gate?name=training.yaml',
      { ...as('alice'), body: GATE, headers: { 'Content-Type': 'application/yaml' }, status: 201 },
    );
    expect(gate.checks.filter((c) => !c.passed)).toEqual([]);
    expect(gate.passed).toBe(true);
    await ok(f, 'POST', '/v1/snapshots/mail@1/release', as('alice'));
    const status = await ok(f, 'GET', '/v1/snapshots/mail@1/status', as('alice'));
    expect(status).toMatchObject({
      state: 'released',
      gate: { passed: true },
      approvals: { independent: ['alice', 'bob'], required: 2 },
    });

    // The trainer bot downloads the records: a stream of canonical JSON lines.
    const res = await call(f, 'GET', '/v1/snapshots/mail@1/export', as('trainer-bot'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    expect(res.headers.get('x-cordon-root')).toBe(snapshot.root);
    const lines = (await res.text()).trim().split('\n');
    expect(lines).toHaveLength(60);
    // Each line is a stored record, byte for byte: its digest is in the signed manifest.
    const manifest = await ok<{ records: { id: string }[] }>(
      f,
      'GET',
      '/v1/snapshots/mail@1/records?limit=60',
      as('trainer-bot'),
    );
    expect(new Set(lines.map((l) => (JSON.parse(l) as { id: string }).id))).toEqual(
      new Set(manifest.records.map((r) => r.id)),
    );
    const proof = await ok<{ recordDigest: string }>(
      f,
      'GET',
      `/v1/snapshots/mail@1/records/${encodeURIComponent(mailRecords(1)[0]!.id)}/proof`,
      as('trainer-bot'),
    );
    expect(lines.map((l) => sha256Hex(l))).toContain(proof.recordDigest);
    const [exported] = await f.root.meta.listEvents({ kind: 'snapshot.export' });
    expect(exported).toMatchObject({ actor: 'trainer-bot', snapshot_id: snapshot.id });

    // Everything above is in the signed audit log, and it holds.
    const audit = await ok<{ ok: boolean; unsigned: number }>(
      f,
      'GET',
      '/v1/audit/verify',
      as('root'),
    );
    expect(audit).toMatchObject({ ok: true, unsigned: 0 });
  });

  it('an owner can export an ungated snapshot only with a reason, which is logged', async () => {
    const jsonl = mailRecords(20)
      .map((r) => JSON.stringify(r))
      .join('\n');
    await runJob(
      'root',
      await call(f, 'POST', '/v1/datasets/mail/ingest', {
        ...as('root'),
        body: jsonl,
        headers: { 'Content-Type': 'application/x-ndjson' },
      }),
    );
    await problem(f, 'GET', '/v1/snapshots/mail@1/export', { status: 403 }, as('root'));
    await problem(
      f,
      'GET',
      '/v1/snapshots/mail@1/export?overrideGate=%20',
      { status: 400 },
      as('root'),
    );
    // The trainer bot may not override, reason or not.
    await problem(
      f,
      'GET',
      '/v1/snapshots/mail@1/export?overrideGate=urgent',
      { status: 403 },
      as('trainer-bot'),
    );
    const res = await call(
      f,
      'GET',
      '/v1/snapshots/mail@1/export?overrideGate=incident%2042',
      as('root'),
    );
    expect(res.status).toBe(200);
    expect((await res.text()).trim().split('\n')).toHaveLength(20);
    const [event] = await f.root.meta.listEvents({ kind: 'snapshot.export' });
    expect(JSON.parse(event!.detail)).toMatchObject({ gateOverride: { reason: 'incident 42' } });
  });

  it('quarantine, review and tokens over HTTP', async () => {
    const jsonl = mailRecords(40, { trigger: true })
      .map((r) => JSON.stringify(r))
      .join('\n');
    await runJob(
      'ingest-bot',
      await call(f, 'POST', '/v1/datasets/mail/ingest', {
        ...as('ingest-bot'),
        body: jsonl,
        headers: { 'Content-Type': 'application/x-ndjson' },
      }),
    );
    await runJob(
      'alice',
      await call(f, 'POST', '/v1/snapshots/mail@1/scans', { ...as('alice'), json: {} }),
    );
    const opened = await ok<{ opened: number }>(f, 'POST', '/v1/snapshots/mail@1/review', {
      ...as('alice'),
      json: { threshold: 0.5 },
    });
    expect(opened.opened).toBeGreaterThan(0);
    const items = await ok<{ items: { id: string }[] }>(f, 'GET', '/v1/review-items', as('alice'));
    expect(items.items).toHaveLength(opened.opened);
    await ok(f, 'POST', '/v1/review-items/decisions', {
      ...as('alice'),
      json: { decision: 'drop', items: items.items.map((i) => i.id) },
    });
    const applied = await ok<{ snapshot: { ref: string }; dropped: number }>(
      f,
      'POST',
      '/v1/snapshots/mail@1/review/apply',
      // Dropping rows changes content: the owner applies it (a steward may not ingest).
      { ...as('root'), status: 201 },
    );
    expect(applied).toMatchObject({ snapshot: { ref: 'mail@2' }, dropped: opened.opened });

    // Quarantine the first snapshot; whoever placed it cannot lift it.
    const q = await ok<{ id: string }>(f, 'POST', '/v1/quarantines', {
      ...as('alice'),
      json: { kind: 'snapshot', target: 'mail@1', reason: 'planted trigger' },
      status: 201,
    });
    await problem(
      f,
      'POST',
      `/v1/quarantines/${q.id}/lift`,
      { status: 403 },
      { ...as('alice'), json: { reason: 'fixed' } },
    );
    const listed = await ok<{ quarantines: { id: string }[] }>(
      f,
      'GET',
      '/v1/quarantines',
      as('bob'),
    );
    expect(listed.quarantines.map((x) => x.id)).toEqual([q.id]);
    await problem(
      f,
      'POST',
      '/v1/quarantines/nope/lift',
      { status: 404, code: 'NOT_FOUND' },
      { ...as('bob'), json: { reason: 'x' } },
    );

    // Tokens: shown once, listed masked, rotated, revoked.
    const created = await ok<{ token: string; keyId: string; display: string }>(
      f,
      'POST',
      '/v1/tokens',
      {
        ...as('root'),
        json: { identity: 'ingest-bot', scopes: ['datasets:read'], expiresIn: '1d' },
        status: 201,
      },
    );
    expect(created.token).toMatch(/^cordon_nhi_live_/);
    const list = await ok<{ tokens: { keyId: string; display: string }[] }>(
      f,
      'GET',
      '/v1/tokens',
      as('root'),
    );
    expect(JSON.stringify(list)).not.toContain(created.token);
    expect(list.tokens.find((t) => t.keyId === created.keyId)!.display).toMatch(/…/);
    await ok(f, 'GET', '/v1/datasets', { token: created.token });
    const rotated = await ok<{ token: string; oldExpiresAt: string }>(
      f,
      'POST',
      `/v1/tokens/${created.keyId}/rotate`,
      { ...as('root'), json: { overlap: '1h' }, status: 201 },
    );
    expect(rotated.token).not.toBe(created.token);
    await ok(f, 'POST', `/v1/tokens/${created.keyId}/revoke`, {
      ...as('root'),
      json: { reason: 'leaked' },
    });
    await problem(f, 'GET', '/v1/datasets', { status: 401 }, { token: created.token });
    await ok(f, 'GET', '/v1/datasets', { token: rotated.token });
    // carol owns the bot, but her token lacks identities:admin: the scope decides.
    await problem(
      f,
      'POST',
      '/v1/tokens',
      { status: 403 },
      {
        ...as('carol'),
        json: { identity: 'ingest-bot', scopes: ['datasets:read'], expiresIn: '1d' },
      },
    );
    const nhi = await ok<{ findings: { rule: string }[] }>(f, 'GET', '/v1/nhi/report', as('root'));
    expect(nhi.findings.length).toBeGreaterThan(0);
  });
});
