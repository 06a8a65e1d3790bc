import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createToken, revokeToken } from '../../src/engine/governance/tokens.js';
import type { JobView } from '../../src/server/jobs.js';
import { commit, tempDir } from '../helpers/workspace.js';
import {
  call,
  DAY,
  fixture,
  mailJsonl,
  mailRows,
  ok,
  problem,
  readSse,
  waitForJob,
  type Fixture,
} from './helpers.js';

let f: Fixture;
let uploads: ReturnType<typeof tempDir>;
/** Holds the job queue (concurrency 1) until released, so a test can watch a job from its start. */
let release: () => void;

beforeEach(async () => {
  uploads = tempDir('cordon-uploads-');
  f = await fixture({
    uploadDir: uploads.dir,
    uploadLimit: 64 * 1024 * 1024,
    jobs: { concurrency: 1 },
  });
});
afterEach(async () => {
  release?.();
  await f.cleanup();
  uploads.cleanup();
});

function blockQueue(): void {
  const gate = new Promise<void>((resolve) => (release = resolve));
  f.app.cordon.jobs.submit({
    kind: 'scan',
    owner: 'nobody',
    description: 'blocker',
    run: () => gate,
  });
}

const ndjson = { 'Content-Type': 'application/x-ndjson' };

async function startIngest(
  path: string,
  body: string | Uint8Array,
  token = f.tokens['ingest-bot']!,
  headers: Record<string, string> = ndjson,
): Promise<JobView> {
  const res = await call(f, 'POST', path, { token, body, headers });
  const text = await res.text();
  expect(res.status, text).toBe(202);
  const job = JSON.parse(text) as JobView;
  expect(res.headers.get('location')).toBe(`/v1/jobs/${job.id}`);
  return job;
}

describe('ingest as a job', () => {
  it('streams progress over SSE, then the final state; the snapshot exists and verifies', async () => {
    blockQueue();
    const rows = 25_000;
    const job = await startIngest(
      '/v1/datasets/mail/ingest?filename=mail.jsonl&message=first%20feed',
      mailJsonl(rows),
    );
    expect(job).toMatchObject({ kind: 'ingest', state: 'queued', owner: 'ingest-bot' });
    const stream = await call(f, 'GET', `/v1/jobs/${job.id}/events`, {
      token: f.tokens['ingest-bot']!,
    });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reading = readSse(stream);
    release();
    const events = await reading;
    const progress = events.filter((e) => e.event === 'progress');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)!.data).toMatchObject({ phase: 'commit', records: rows });
    expect(events[0]).toMatchObject({ event: 'state', data: { state: 'running' } });
    const last = events.at(-1)!;
    expect(last).toMatchObject({ event: 'state', data: { state: 'succeeded' } });
    const done = last.data as JobView & { result: { snapshot: { id: string; ref: string } } };
    expect(done.result.snapshot).toMatchObject({
      ref: 'mail@1',
      records: rows,
      author: 'ingest-bot',
    });

    const verified = await ok(f, 'POST', '/v1/snapshots/mail@1/verify', {
      token: f.tokens['alice']!,
    });
    expect(verified).toMatchObject({ ok: true, records: rows, id: done.result.snapshot.id });
    // The lineage names the file as the caller did, never the server's spool path.
    const lineage = await ok<{ graph: { runs: { source: string; actor: string }[] } }>(
      f,
      'GET',
      '/v1/snapshots/mail@1/lineage',
      { token: f.tokens['alice']! },
    );
    expect(lineage.graph.runs[0]).toMatchObject({ source: 'mail.jsonl', actor: 'ingest-bot' });
    const snap = await ok(f, 'GET', '/v1/snapshots/mail@1', { token: f.tokens['alice']! });
    expect(snap).toMatchObject({ message: 'first feed', state: 'draft' });
    // The upload spool is gone, the commit is in the signed audit log.
    expect(readdirSync(uploads.dir)).toEqual([]);
    const [ingest] = await f.root.meta.listEvents({ kind: 'snapshot.ingest' });
    expect(ingest).toMatchObject({ actor: 'ingest-bot', dataset: 'mail' });
    expect((await f.root.meta.listCheckpoints()).at(-1)!.size).toBe(
      await f.root.meta.countEvents(),
    );
    // A finished job's stream sends its final state and ends.
    const again = await readSse(
      await call(f, 'GET', `/v1/jobs/${job.id}/events`, { token: f.tokens['ingest-bot']! }),
    );
    expect(again).toEqual([
      { event: 'state', data: expect.objectContaining({ state: 'succeeded' }) as unknown },
    ]);
  });

  it('appends CSV and gzip uploads; a job is visible only to whoever started it', async () => {
    await waitForJob(
      f,
      f.tokens['ingest-bot']!,
      (await startIngest('/v1/datasets/mail/ingest', mailJsonl(10))).id,
    );
    const csv = 'id,label,source,text\nc-1,ham,feed-c,hello there\nc-2,spam,feed-c,win cash now\n';
    const csvJob = await startIngest('/v1/datasets/mail/ingest?append=true', csv, undefined, {
      'Content-Type': 'text/csv',
    });
    expect((await waitForJob(f, f.tokens['ingest-bot']!, csvJob.id)).state).toBe('succeeded');
    const gz = await startIngest(
      '/v1/datasets/mail/ingest?append=true&filename=more.jsonl',
      gzipSync(mailJsonl(5, { prefix: 'z' })),
      undefined,
      { ...ndjson, 'Content-Encoding': 'gzip' },
    );
    const done = await waitForJob(f, f.tokens['ingest-bot']!, gz.id);
    expect(done.result).toMatchObject({ snapshot: { ref: 'mail@3', records: 17 } });
    await problem(
      f,
      'GET',
      `/v1/jobs/${gz.id}`,
      { status: 404, code: 'NOT_FOUND' },
      {
        token: f.tokens['alice']!,
      },
    );
    const mine = await ok<{ jobs: JobView[] }>(f, 'GET', '/v1/jobs', {
      token: f.tokens['ingest-bot']!,
    });
    expect(mine.jobs.map((j) => j.id)).toContain(gz.id);
    expect(
      (await ok<{ jobs: JobView[] }>(f, 'GET', '/v1/jobs', { token: f.tokens['alice']! })).jobs,
    ).toEqual([]);
  });

  it('reports a failed commit as problem details naming the line, and leaves nothing', async () => {
    const body = '{"id":"a","label":"ham","text":"fine"}\n{"id":"b","label":"ham","text": nope}\n';
    const job = await startIngest('/v1/datasets/mail/ingest?filename=bad.jsonl', body);
    const done = await waitForJob(f, f.tokens['ingest-bot']!, job.id);
    expect(done.state).toBe('failed');
    expect(done.error).toMatchObject({ status: 422, code: 'INPUT_INVALID' });
    expect(done.error!.detail).toMatch(/^bad\.jsonl, line 2/);
    expect(done.error!.detail).not.toContain(uploads.dir);
    expect(await f.root.meta.getDataset('mail')).toBeUndefined();
    expect(readdirSync(uploads.dir)).toEqual([]);
  });

  it('signs in again when it starts: a token revoked while the job waited is refused', async () => {
    blockQueue();
    const spare = await createToken(f.root, 'ingest-bot', {
      scopes: ['datasets:write'],
      expiresInMs: DAY,
    });
    const job = await startIngest('/v1/datasets/mail/ingest', mailJsonl(5), spare.token);
    await revokeToken(f.root, spare.row.key_id, 'leaked while the job waited');
    release();
    const done = await waitForJob(f, f.tokens['ingest-bot']!, job.id);
    expect(done).toMatchObject({
      state: 'failed',
      error: { status: 401, code: 'UNAUTHENTICATED' },
    });
    expect(await f.root.meta.getDataset('mail')).toBeUndefined();
    expect(readdirSync(uploads.dir)).toEqual([]);
  });

  it('a lost race on the head is a 409 with retry guidance', async () => {
    await commit(f.root, 'mail', [{ id: 'x', label: 'ham', source: null, text: 'hello' }]);
    const job = await startIngest(
      `/v1/datasets/mail/ingest?append=true&expectedHead=${'0'.repeat(64)}`,
      mailJsonl(3),
    );
    const done = await waitForJob(f, f.tokens['ingest-bot']!, job.id);
    expect(done.error).toMatchObject({ status: 409, code: 'HEAD_CONFLICT' });
    expect(done.error!.retry).toMatchObject({
      afterSeconds: 1,
      advice: expect.any(String) as string,
    });
  });

  it('refuses before reading the body: no role (403), no format (415), too large (413)', async () => {
    await problem(
      f,
      'POST',
      '/v1/datasets/mail/ingest',
      { status: 403, code: 'FORBIDDEN' },
      { token: f.tokens['trainer-bot']!, body: mailJsonl(3), headers: ndjson },
    );
    await problem(
      f,
      'POST',
      '/v1/datasets/mail/ingest',
      { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      { token: f.tokens['ingest-bot']!, body: 'x', headers: { 'Content-Type': 'image/png' } },
    );
    const small = await fixture({ uploadDir: uploads.dir, uploadLimit: 4096 });
    try {
      const big = mailJsonl(200);
      const declared = await call(small, 'POST', '/v1/datasets/mail/ingest', {
        token: small.tokens['ingest-bot']!,
        body: big,
        headers: { ...ndjson, 'Content-Length': String(Buffer.byteLength(big)) },
      });
      expect(declared.status).toBe(413);
      const streamed = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < 20; i++)
            controller.enqueue(Buffer.from(mailJsonl(5, { start: i * 5 })));
          controller.close();
        },
      });
      const res = await call(small, 'POST', '/v1/datasets/mail/ingest', {
        token: small.tokens['ingest-bot']!,
        body: streamed,
        headers: ndjson,
      });
      expect(res.status).toBe(413);
      expect(((await res.json()) as { code: string }).code).toBe('PAYLOAD_TOO_LARGE');
      expect(readdirSync(uploads.dir)).toEqual([]);
      expect(small.app.cordon.jobs.list('ingest-bot')).toEqual([]);
    } finally {
      await small.cleanup();
    }
  });
});

describe('cancelling', () => {
  it('cancels a running ingest: the commit is aborted and leaves no snapshot and no objects', async () => {
    blockQueue();
    const job = await startIngest('/v1/datasets/big/ingest', mailJsonl(300_000), f.tokens['root']);
    // Cancel over HTTP once the commit has read its first 10,000 records.
    let cancel: Promise<Response> | undefined;
    const asked = new Promise<Response>((resolve) => {
      f.app.cordon.jobs.subscribe(job.id, (e) => {
        if (e.type !== 'progress' || (e.progress.records ?? 0) < 10_000 || cancel) return;
        cancel = call(f, 'DELETE', `/v1/jobs/${job.id}`, { token: f.tokens['root']! });
        void cancel.then(resolve);
      });
    });
    release();
    const accepted = await asked;
    expect(accepted.status).toBe(202);
    expect(((await accepted.json()) as JobView).cancelRequested).toBe(true);
    const done = await waitForJob(f, f.tokens['root']!, job.id);
    expect(done).toMatchObject({ state: 'cancelled', error: null, result: null });
    expect(await f.root.meta.getDataset('big')).toBeUndefined();
    expect(await f.root.meta.listSnapshots('big')).toEqual([]);
    const staging = join(f.dir, 'objects', 'staging');
    expect(existsSync(staging) ? readdirSync(staging) : []).toEqual([]);
    expect(readdirSync(uploads.dir)).toEqual([]);
    // Cancelling again changes nothing.
    const again = await call(f, 'DELETE', `/v1/jobs/${job.id}`, { token: f.tokens['root']! });
    expect(again.status).toBe(200);
  });

  it('cancels a queued scan before it starts: nothing is recorded', async () => {
    await commit(f.root, 'mail', mailRows(40));
    blockQueue();
    const res = await call(f, 'POST', '/v1/snapshots/mail@1/scans', {
      token: f.tokens['alice']!,
      json: {},
    });
    expect(res.status).toBe(202);
    const job = (await res.json()) as JobView;
    const events = call(f, 'GET', `/v1/jobs/${job.id}/events`, { token: f.tokens['alice']! }).then(
      readSse,
    );
    await ok(f, 'DELETE', `/v1/jobs/${job.id}`, { token: f.tokens['alice']!, status: 202 });
    expect((await waitForJob(f, f.tokens['alice']!, job.id)).state).toBe('cancelled');
    expect((await events).at(-1)).toMatchObject({ event: 'state', data: { state: 'cancelled' } });
    release();
    expect(
      await f.root.meta.listScans((await f.root.meta.getSnapshotByVersion('mail', 1))!.id),
    ).toEqual([]);
  });

  it('cancels a running scan between detectors', async () => {
    await commit(f.root, 'mail', mailRows(3000));
    blockQueue();
    const res = await call(f, 'POST', '/v1/snapshots/mail@1/scans', {
      token: f.tokens['alice']!,
      json: {},
    });
    const job = (await res.json()) as JobView;
    // Ask for the cancel over HTTP as soon as the first detector reports progress.
    let cancel: Promise<Response> | undefined;
    f.app.cordon.jobs.subscribe(job.id, (e) => {
      if (e.type === 'progress' && e.progress.phase === 'scan')
        cancel ??= call(f, 'DELETE', `/v1/jobs/${job.id}`, { token: f.tokens['alice']! });
    });
    release();
    const done = await waitForJob(f, f.tokens['alice']!, job.id);
    expect((await cancel)?.status).toBe(202);
    expect(done.state).toBe('cancelled');
    expect(done.progress).toMatchObject({ phase: 'scan' });
    expect(done.progress!.fraction).toBeLessThan(1);
    const row = await f.root.meta.getSnapshotByVersion('mail', 1);
    expect(await f.root.meta.listScans(row!.id)).toEqual([]);
  });
});
