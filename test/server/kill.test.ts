import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv } from '../helpers/cli.js';
import { dropSchema, testPostgres, uniqueSchemaName } from '../helpers/postgres.js';
import { tempDir } from '../helpers/workspace.js';
import { mailJsonl } from './helpers.js';

/**
 * The built server (`node bin/cordon.js serve`, as deployed) killed with SIGKILL at the worst
 * moments: while a large upload streams in, and while a job commits (by an outside kill during
 * the commit's progress, and at the engine's fault-injection points). After a restart, every
 * ingest acknowledged before the kill is there and verifies, no partial snapshot exists, the audit
 * log verifies, and the interrupted job is gone (jobs live in memory) while the same upload
 * submitted again succeeds. Then: oversized and malformed requests mixed into a stream of good
 * ingests never take the process down.
 */

const BIN = join(import.meta.dirname, '../../bin/cordon.js');
const BUILT = join(import.meta.dirname, '../../dist/src/cli/main.js');

const service = await testPostgres();
if (service.url === undefined && !service.required)
  console.warn(`kill tests run on SQLite only: ${service.why}`);
const ENGINES: ('sqlite' | 'postgres')[] =
  service.url !== undefined || service.required ? ['sqlite', 'postgres'] : ['sqlite'];

interface Served {
  url: string;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

interface JobJson {
  id: string;
  state: string;
  progress: { phase: string; records?: number } | null;
  result: { snapshot: { id: string; version: number; records: number } } | null;
  error: { code: string; status: number } | null;
}

/** A workspace folder and the environment that selects its metadata store. */
interface Place {
  dir: string;
  env: Record<string, string>;
  uploads: string;
  token: string;
}

const running = new Set<ChildProcess>();

/** Starts the built server on a free port; resolves once it prints its URL. */
async function serve(
  place: Place,
  extraEnv: Record<string, string> = {},
  args: string[] = [],
): Promise<Served> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...place.env, ...extraEnv };
  // Spooled uploads go to the OS temp folder: keep them in the test's own folder.
  env['TMPDIR'] = place.uploads;
  if (place.env['CORDON_DATABASE_URL'] === undefined) delete env['CORDON_DATABASE_URL'];
  if (extraEnv['CORDON_FAULT'] === undefined) delete env['CORDON_FAULT'];
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
    cwd: place.dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString('utf8');
      const m = /Cordon API on (http:\/\/\S+) /.exec(stdout);
      if (m) resolve(m[1]!);
    });
    void exited.then((e) => reject(new Error(`server exited (${e.code ?? e.signal}): ${stderr}`)));
  });
  return { url, child, exited, stderr: () => stderr };
}

async function kill(server: Served): Promise<void> {
  server.child.kill('SIGKILL');
  expect((await server.exited).signal).toBe('SIGKILL');
}

async function stop(server: Served): Promise<void> {
  server.child.kill('SIGTERM');
  expect(await server.exited).toEqual({ code: 0, signal: null });
}

function auth(place: Place): Record<string, string> {
  return { Authorization: `Bearer ${place.token}` };
}

/** POSTs an upload; returns the started job (202). */
async function upload(
  server: Served,
  place: Place,
  dataset: string,
  body: string | ReadableStream<Uint8Array>,
  name: string,
): Promise<JobJson> {
  const res = await fetch(
    `${server.url}/v1/datasets/${dataset}/ingest?append=true&filename=${name}`,
    {
      method: 'POST',
      headers: { ...auth(place), 'Content-Type': 'application/x-ndjson' },
      body,
      duplex: 'half',
    },
  );
  const text = await res.text();
  expect(res.status, text).toBe(202);
  return JSON.parse(text) as JobJson;
}

async function job(server: Served, place: Place, id: string): Promise<Response> {
  return fetch(`${server.url}/v1/jobs/${id}`, { headers: auth(place) });
}

async function waitForJob(server: Served, place: Place, id: string): Promise<JobJson> {
  for (let i = 0; i < 1200; i++) {
    const res = await job(server, place, id);
    expect(res.status).toBe(200);
    const j = (await res.json()) as JobJson;
    if (['succeeded', 'failed', 'cancelled'].includes(j.state)) return j;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`job ${id} did not end`);
}

/** JSON Lines produced chunk by chunk as the connection takes them; `onChunk` sees each count. */
function streamed(rows: number, prefix: string, onChunk?: (sent: number) => void) {
  const perChunk = 2_000;
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= rows) return controller.close();
      const n = Math.min(perChunk, rows - sent);
      controller.enqueue(new TextEncoder().encode(mailJsonl(n, { prefix, start: sent })));
      sent += n;
      onChunk?.(sent);
    },
  });
}

/** What a client was told succeeded: the snapshot and the ids it carried. */
interface Acknowledged {
  dataset: string;
  snapshot: string;
  version: number;
  records: number;
  ids: string[];
}

function ids(n: number, prefix: string): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(7, '0')}`);
}

async function cordon(place: Place, ...args: string[]) {
  const r = await cliEnv(place.dir, place.env, ...args);
  expect(r.status, `cordon ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r;
}

/**
 * After a restart, for each dataset: its snapshots are exactly those acknowledged, plus the
 * `unacknowledged` versions that a kill after the commit's last step leaves (whole, but never
 * reported); the newest holds every acknowledged record (`read`: the datasets whose records are
 * paged through). Then every snapshot verifies, the audit log verifies with one ingest event per
 * snapshot, and nothing is left staged.
 */
async function checkStore(
  server: Served,
  place: Place,
  datasets: string[],
  acknowledged: Acknowledged[],
  unacknowledged: { dataset: string; version: number }[],
  read: string[] = datasets,
): Promise<void> {
  let total = 0;
  for (const dataset of datasets) {
    const acked = acknowledged.filter((a) => a.dataset === dataset);
    const expected = [
      ...acked.map((a) => a.version),
      ...unacknowledged.filter((u) => u.dataset === dataset).map((u) => u.version),
    ].sort((a, b) => a - b);
    const res = await fetch(`${server.url}/v1/datasets/${dataset}/snapshots`, {
      headers: auth(place),
    });
    if (expected.length === 0) {
      // Never acknowledged: the dataset must not even exist.
      expect(res.status).toBe(404);
      await res.body?.cancel();
      continue;
    }
    expect(res.status).toBe(200);
    const { snapshots } = (await res.json()) as {
      snapshots: { id: string; version: number; records: number }[];
    };
    total += snapshots.length;
    expect(snapshots.map((s) => s.version)).toEqual(expected);
    for (const a of acked)
      expect(snapshots.find((s) => s.version === a.version)).toMatchObject({
        id: a.snapshot,
        records: a.records,
      });
    if (!read.includes(dataset)) continue;
    // Appends keep what came before: the newest snapshot holds every acknowledged record.
    const head = snapshots.at(-1)!;
    const present = new Set<string>();
    for (let offset = 0; offset < head.records; offset += 1000) {
      const page = await fetch(
        `${server.url}/v1/snapshots/${dataset}@${head.version}/records?offset=${offset}&limit=1000`,
        { headers: auth(place) },
      );
      expect(page.status).toBe(200);
      for (const r of ((await page.json()) as { records: { id: string }[] }).records)
        present.add(r.id);
    }
    expect(acked.flatMap((a) => a.ids).filter((id) => !present.has(id))).toEqual([]);
  }

  const verify = JSON.parse((await cordon(place, '--json', 'verify')).stdout) as {
    ok: boolean;
    snapshots: unknown[];
  };
  expect(verify.ok).toBe(true);
  expect(verify.snapshots).toHaveLength(total);
  const audit = JSON.parse((await cordon(place, '--json', 'audit', 'verify')).stdout) as {
    ok: boolean;
    unsigned: number;
  };
  expect(audit).toMatchObject({ ok: true, unsigned: 0 });
  // A commit cut short wrote no event; one that reached its last step wrote exactly one.
  const events = JSON.parse(
    (await cordon(place, '--json', 'audit', 'show', '--kind', 'snapshot.ingest')).stdout,
  ) as unknown[];
  expect(events).toHaveLength(total);
  // Opening the workspace cleared whatever a killed commit had staged.
  const staging = join(place.dir, '.cordon', 'objects', 'staging');
  expect(existsSync(staging) ? readdirSync(staging) : []).toEqual([]);
}

async function expectJobGone(server: Served, place: Place, id: string): Promise<void> {
  const res = await job(server, place, id);
  expect(res.status).toBe(404);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(await res.json()).toMatchObject({ status: 404, code: 'NOT_FOUND' });
}

beforeAll(() => {
  expect(existsSync(BUILT), 'run "npm run build" first: these tests run the built server').toBe(
    true,
  );
});

afterAll(() => {
  for (const child of running) child.kill('SIGKILL');
});

async function makePlace(engine: 'sqlite' | 'postgres'): Promise<{
  place: Place;
  cleanup: () => Promise<void>;
}> {
  const { dir, cleanup } = tempDir('cordon-kill-');
  const uploads = join(dir, 'tmp');
  mkdirSync(uploads);
  let env: Record<string, string> = {};
  let schema: string | undefined;
  if (engine === 'postgres') {
    if (service.url === undefined) throw new Error(`${service.why}; CORDON_REQUIRE_SERVICES=1`);
    schema = uniqueSchemaName();
    const client = new pg.Client({ connectionString: service.url });
    await client.connect();
    await client.query(`create schema "${schema}"`);
    await client.end();
    const url = new URL(service.url);
    url.searchParams.set('options', `-c search_path=${schema}`);
    env = { CORDON_DATABASE_URL: url.toString() };
  }
  const place: Place = { dir, env, uploads, token: '' };
  await cordon(place, 'init', '--identity', 'root');
  place.token = (
    JSON.parse(
      (
        await cordon(
          place,
          '--json',
          'token',
          'create',
          'root',
          '--scope',
          'datasets:read',
          '--scope',
          'datasets:write',
        )
      ).stdout,
    ) as { token: string }
  ).token;
  return {
    place,
    cleanup: async () => {
      if (schema !== undefined && service.url !== undefined) await dropSchema(service.url, schema);
      cleanup();
    },
  };
}

describe.each(ENGINES)('the built server killed with SIGKILL (%s)', (engine) => {
  let place: Place;
  let cleanup: () => Promise<void>;
  const acknowledged: Acknowledged[] = [];
  const unacknowledged: { dataset: string; version: number }[] = [];
  const DATASETS = ['mail', 'big'];
  const BIG = 25_000;

  beforeAll(async () => {
    ({ place, cleanup } = await makePlace(engine));
  });
  afterAll(async () => {
    await cleanup?.();
  });

  /** An upload whose job is followed until it succeeds: acknowledged. */
  async function acknowledgedIngest(
    server: Served,
    dataset: string,
    body: () => string | ReadableStream<Uint8Array>,
    prefix: string,
    n: number,
  ): Promise<Acknowledged> {
    const started = await upload(server, place, dataset, body(), `${prefix}.jsonl`);
    const done = await waitForJob(server, place, started.id);
    expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
    const s = done.result!.snapshot;
    const a = {
      dataset,
      snapshot: s.id,
      version: s.version,
      records: s.records,
      ids: ids(n, prefix),
    };
    acknowledged.push(a);
    return a;
  }

  it('mid-upload and mid-commit: acknowledged ingests survive, the cut job is gone, a retry succeeds', async () => {
    let server = await serve(place);
    for (const prefix of ['a1', 'a2'])
      await acknowledgedIngest(server, 'mail', () => mailJsonl(200, { prefix }), prefix, 200);
    const before = (await (
      await fetch(`${server.url}/v1/jobs`, { headers: auth(place) })
    ).json()) as {
      jobs: JobJson[];
    };
    expect(before.jobs.map((j) => j.state)).toEqual(['succeeded', 'succeeded']);

    // 1. Killed while a large upload streams in: the request never gets an answer.
    const killed = server;
    let killedAt = 0;
    const cut = upload(
      server,
      place,
      'big',
      streamed(BIG, 'big', (sent) => {
        if (sent >= BIG / 4 && killedAt === 0) {
          killedAt = sent;
          killed.child.kill('SIGKILL');
        }
      }),
      'big.jsonl',
    );
    await expect(cut).rejects.toThrow();
    expect((await server.exited).signal).toBe('SIGKILL');
    expect(killedAt).toBeLessThan(BIG);

    server = await serve(place);
    // Jobs lived in the killed process's memory only.
    await expectJobGone(server, place, before.jobs[0]!.id);
    expect(
      (
        (await (await fetch(`${server.url}/v1/jobs`, { headers: auth(place) })).json()) as {
          jobs: unknown[];
        }
      ).jobs,
    ).toEqual([]);

    // 2. Killed from outside while the job commits the whole upload (as its progress shows).
    // Progress comes every 10,000 records read; once all are read the commit may already be
    // publishing, so the kill must land while the count is strictly between 0 and BIG.
    const started = await upload(server, place, 'big', streamed(BIG, 'big'), 'big.jsonl');
    for (;;) {
      const j = (await (await job(server, place, started.id)).json()) as JobJson;
      const records = j.progress?.records ?? 0;
      expect(records, 'the commit read every record before it could be killed').toBeLessThan(BIG);
      expect(j.state).not.toBe('succeeded');
      if (j.state === 'running' && records > 0) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    await kill(server);

    server = await serve(place);
    await expectJobGone(server, place, started.id);
    // The same upload, sent again, goes through.
    const again = await acknowledgedIngest(server, 'big', () => streamed(BIG, 'big'), 'big', BIG);
    expect(again).toMatchObject({ version: 1, records: BIG });
    await checkStore(server, place, DATASETS, acknowledged, unacknowledged);
    await stop(server);
  });

  // On PostgreSQL the point that matters is after-commit: its transaction committed and the
  // process died before it answered; the earlier points touch the object folder only, which is
  // the same on both engines (and this keeps the suite short).
  const points =
    engine === 'sqlite' ? ['after-segments', 'before-publish', 'after-commit'] : ['after-commit'];
  it.each(points)(
    'at the fault point %s of a commit: nothing partial, the job is gone, a retry succeeds',
    async (point) => {
      const prefix = `f-${point}`;
      const body = () => mailJsonl(200, { prefix });
      let server = await serve(place, { CORDON_FAULT: point });
      const started = await upload(server, place, 'mail', body(), `${prefix}.jsonl`);
      // The job's commit kills the process at that point.
      expect((await server.exited).signal).toBe('SIGKILL');

      server = await serve(place);
      await expectJobGone(server, place, started.id);
      // Past the commit's last step the snapshot is whole, though never acknowledged.
      const mail = [...acknowledged, ...unacknowledged].filter((a) => a.dataset === 'mail');
      if (point === 'after-commit')
        unacknowledged.push({
          dataset: 'mail',
          version: Math.max(...mail.map((a) => a.version)) + 1,
        });
      await acknowledgedIngest(server, 'mail', body, prefix, 200);
      await checkStore(server, place, DATASETS, acknowledged, unacknowledged, ['mail']);
      await stop(server);
    },
  );
});

/** Sends raw bytes and returns the status line of the answer ('' if the connection just closed). */
function raw(url: string, bytes: string | Buffer, endAfterMs = 2_000): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let answer = '';
    const timer = setTimeout(() => socket.destroy(), endAfterMs);
    socket.on('data', (b: Buffer) => (answer += b.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer.split('\r\n')[0] ?? '');
    });
    socket.write(bytes);
  });
}

describe('oversized and malformed requests during load', () => {
  let place: Place;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ place, cleanup } = await makePlace('sqlite'));
  });
  afterAll(async () => {
    await cleanup?.();
  });

  it('never take the server down: every good ingest succeeds and the store verifies', async () => {
    const server = await serve(place, {}, ['--upload-limit', '1MiB']);
    const url = server.url;
    const headers = auth(place);
    const seed = await upload(
      server,
      place,
      'mail',
      mailJsonl(50, { prefix: 'seed' }),
      'seed.jsonl',
    );
    expect((await waitForJob(server, place, seed.id)).state).toBe('succeeded');

    // Good traffic: small appends, one after another, each followed to the end.
    const good = (async () => {
      const states: string[] = [];
      for (let i = 0; i < 12; i++) {
        const j = await upload(
          server,
          place,
          'mail',
          mailJsonl(20, { prefix: `g${i}` }),
          `g${i}.jsonl`,
        );
        states.push((await waitForJob(server, place, j.id)).state);
      }
      return states;
    })();

    const big = 'x'.repeat(1024 * 1024 + 1);
    // Each bad request on a connection of its own: after refusing a streamed body the server may
    // drop the connection, and a good request must not be sent on it.
    const status = (
      init: { method?: string; headers: Record<string, string>; body?: string | Readable },
      path: string,
    ) =>
      new Promise<number | 'closed'>((resolve) => {
        const req = httpRequest(url + path, {
          method: init.method ?? 'GET',
          headers: init.headers,
          agent: false,
        });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        // The server may close the connection on a body it refused before the client is done.
        req.on('error', () => resolve('closed'));
        if (init.body instanceof Readable) init.body.on('error', () => undefined).pipe(req);
        else req.end(init.body);
      });
    const ingestPath = '/v1/datasets/mail/ingest?append=true';
    const nd = { ...headers, 'Content-Type': 'application/x-ndjson' };
    const bad = async () => {
      const answers = await Promise.all([
        // Declared too large: refused before reading.
        status({ method: 'POST', headers: nd, body: big }, ingestPath),
        // Too large, streamed without a length: refused once past the limit.
        status(
          {
            method: 'POST',
            headers: nd,
            body: Readable.from(
              (function* () {
                for (let i = 0; i < 20; i++) yield mailJsonl(1000, { prefix: `over${i}` });
              })(),
            ),
          },
          ingestPath,
        ),
        // A JSON body that is not JSON, and one over the JSON limit.
        status(
          {
            method: 'POST',
            headers: { ...headers, 'Content-Type': 'application/json' },
            body: '{"tag": ',
          },
          '/v1/snapshots/mail/tags',
        ),
        status(
          {
            method: 'POST',
            headers: { ...headers, 'Content-Type': 'application/json' },
            body: `{"tag":"${big}"}`,
          },
          '/v1/snapshots/mail/tags',
        ),
        // Unknown media type and encoding.
        status(
          { method: 'POST', headers: { ...headers, 'Content-Type': 'image/png' }, body: 'x' },
          ingestPath,
        ),
        status(
          { method: 'POST', headers: { ...nd, 'Content-Encoding': 'br' }, body: 'x' },
          ingestPath,
        ),
        // Bad parameters and paths.
        status({ headers }, '/v1/jobs/not-a-uuid'),
        status({ headers }, '/v1/snapshots/mail/records?limit=100000'),
        status({ method: 'POST', headers: nd, body: '{}' }, '/v1/datasets/..%2F..%2Fetc/ingest'),
        // Raw HTTP the parser must refuse: garbage, a huge header, a body cut short.
        raw(url, 'NOT HTTP AT ALL\r\n\r\n'),
        raw(url, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'y'.repeat(70_000)}\r\n\r\n`),
        raw(
          url,
          `POST ${ingestPath} HTTP/1.1\r\nHost: x\r\nAuthorization: ${headers['Authorization']}\r\nContent-Type: application/x-ndjson\r\nContent-Length: 100000\r\n\r\n{"id":"cut"`,
          300,
        ),
      ]);
      // Accepted uploads that cannot be read: the job fails, the server does not.
      const gz = await upload(server, place, 'mail', 'not gzip at all', 'bad.jsonl.gz');
      const garbage = await upload(
        server,
        place,
        'mail',
        '{"id": 1, broken\n\u0000\u0001',
        'garbage.jsonl',
      );
      const jobs = [
        (await waitForJob(server, place, gz.id)).state,
        (await waitForJob(server, place, garbage.id)).state,
      ];
      return { answers, jobs };
    };
    const rounds = [];
    for (let i = 0; i < 3; i++) rounds.push(await bad());
    // A few bad tokens (fewer than the rate limiter's 10, which would lock out this address).
    for (let i = 0; i < 3; i++)
      expect(
        (await fetch(`${url}/v1/datasets`, { headers: { Authorization: 'Bearer nope' } })).status,
      ).toBe(401);

    expect(await good).toEqual(Array(12).fill('succeeded'));
    for (const { answers, jobs } of rounds) {
      const [
        declared,
        streamedOver,
        notJson,
        jsonOver,
        media,
        encoding,
        jobId,
        limit,
        path,
        garbage,
        header,
      ] = answers;
      expect(declared).toBe(413);
      expect([413, 'closed']).toContain(streamedOver);
      expect(notJson).toBe(400);
      expect([413, 'closed']).toContain(jsonOver);
      expect(media).toBe(415);
      expect(encoding).toBe(415);
      expect(jobId).toBe(422);
      expect(limit).toBe(422);
      expect([400, 404, 422]).toContain(path);
      expect(garbage).toMatch(/^HTTP\/1\.1 400/);
      expect(header).toMatch(/^HTTP\/1\.1 431/);
      expect(jobs).toEqual(['failed', 'failed']);
    }
    // Still the same process, healthy, and it logged no unexpected error.
    expect(server.child.exitCode).toBeNull();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(server.stderr()).not.toMatch(/cordon serve: (?!stopping)/);
    const snapshots = JSON.parse(
      (await cordon(place, '--json', 'log', 'mail')).stdout,
    ) as unknown[];
    expect(snapshots).toHaveLength(13);
    await cordon(place, 'verify');
    await cordon(place, 'audit', 'verify');
    await stop(server);
  });
});
