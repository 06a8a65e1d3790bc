/**
 * Service under load: `npm run bench:load` (bench/load.ts).
 *
 * Starts the built `cordon serve` as a child process over a fresh workspace, once on the embedded
 * SQLite store and once on PostgreSQL (a schema of its own, created and dropped here), and drives
 * it with autocannon for a fixed time over a fixed number of connections:
 *
 * - writers, one connection each, append small JSON Lines batches to a dataset they all share or
 *   to one of their own. A writer uploads (POST …/ingest?append=true → 202 and a job), follows the
 *   job's event stream until it ends, and when the job lost the race for the dataset's head
 *   (HEAD_CONFLICT) reads the dataset and submits the same batch again;
 * - readers list datasets, show snapshots, page through records and page through audit events.
 *
 * Reported per engine and request kind: requests, req/s and latency p50/p90/p99. Then, with the
 * server stopped, it proves nothing acknowledged was lost: every batch whose job succeeded is in a
 * snapshot that holds all its records, the dataset heads hold exactly the seeded plus the
 * acknowledged records, there are no other snapshots, the audit log holds exactly the events the
 * acknowledged work should have written, and `cordon verify` and `cordon audit verify` pass (the
 * root the CLI recomputes is the one the server reported).
 *
 * Results go to the marked section of docs/BENCHMARKS.md (full runs only, unless --write) and to
 * bench/out/load-results.json. Everything is bounded: the run time, the connections, the batches a
 * writer may send, and a hard deadline for the whole script.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { EventEmitter } from 'node:events';
import pg from 'pg';
import type { CordonRecord } from '../src/core/record.js';
import type { Backends } from '../src/engine/backends.js';
import { commitItems } from '../src/engine/commit.js';
import { addIdentity, grantRole } from '../src/engine/governance/identities.js';
import { createToken } from '../src/engine/governance/tokens.js';
import type { IngestItem } from '../src/engine/readers/reader.js';
import { loadManifest } from '../src/engine/snapshots.js';
import { initWorkspace, openWorkspace } from '../src/engine/workspace.js';
import { summariseProfiles } from './cpuprofile.js';
import { readDoc, writeDoc } from './report.js';

// ---------------------------------------------------------------------------------------------
// autocannon (CommonJS, no type declarations of its own): the part of its API used here

interface LoadRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (req: LoadRequest, context: object) => LoadRequest;
  onResponse?: (status: number, body: string, context: object, headers: object) => void;
}

interface LoadOptions {
  url: string;
  connections: number;
  duration: number;
  /** Seconds without a response before the request is given up (and the connection remade). */
  timeout: number;
  requests: LoadRequest[];
}

interface LoadResult {
  errors: number;
  timeouts: number;
  duration: number;
}

interface LoadInstance extends EventEmitter, PromiseLike<LoadResult> {
  stop(): void;
}

const autocannon = createRequire(import.meta.url)('autocannon') as (
  options: LoadOptions,
) => LoadInstance;

// ---------------------------------------------------------------------------------------------
// Options

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DOC = join(REPO, 'docs/BENCHMARKS.md');
const OUT = join(REPO, 'bench/out/load-results.json');
const REPRODUCE = 'npm run bench:load';
const ENGINES = ['sqlite', 'postgres'] as const;
type Engine = (typeof ENGINES)[number];

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    duration: { type: 'string' },
    engines: { type: 'string', default: 'sqlite,postgres' },
    'shared-writers': { type: 'string', default: '4' },
    'own-writers': { type: 'string', default: '4' },
    readers: { type: 'string', default: '2' },
    batch: { type: 'string', default: '20' },
    'max-batches': { type: 'string', default: '1000' },
    reps: { type: 'string', default: '1' },
    'database-url': { type: 'string' },
    write: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'deadline-min': { type: 'string', default: '15' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (flags.help) {
  process.stdout.write(
    [
      `usage: ${REPRODUCE} [-- options]`,
      '  --duration <s>        seconds of load per engine and run (default 20; 5 with --quick)',
      '  --engines <list>      sqlite,postgres (default both)',
      '  --shared-writers <n>  writers appending to the one shared dataset (default 4)',
      '  --own-writers <n>     writers with a dataset each (default 4)',
      '  --readers <n>         connections per read kind (default 2; 0: writers only)',
      '  --batch <n>           records per ingest (default 20)',
      '  --max-batches <n>     batches one writer may acknowledge before it stops (default 1000)',
      '  --reps <n>            runs per engine, each on a fresh workspace (default 1)',
      '  --database-url <url>  PostgreSQL server (default $CORDON_TEST_DATABASE_URL or',
      '                        postgres://postgres@127.0.0.1:5432/test)',
      '  --quick               5 s runs; does not touch docs/ unless --write',
      '  --write / --no-write  force / skip updating docs/BENCHMARKS.md',
      '  --keep                keep the work folder (workspaces, server logs)',
      '  --profile             run the server under --cpu-prof and print where its time went',
      '                        (slows it down: the numbers are not written to docs/)',
      '  --deadline-min <m>    give up (and stop the server) after m minutes (default 15)',
      '',
    ].join('\n'),
  );
  process.exit(0);
}

function positive(name: string, text: string | undefined, min = 1): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`bench: --${name} must be a whole number, at least ${min}\n`);
    process.exit(2);
  }
  return n;
}

const quick = flags.quick;
const DURATION_S = positive('duration', flags.duration ?? (quick ? '5' : '20'));
const SHARED_WRITERS = positive('shared-writers', flags['shared-writers']);
const OWN_WRITERS = positive('own-writers', flags['own-writers']);
const READERS = positive('readers', flags.readers, 0);
const BATCH = positive('batch', flags.batch);
const MAX_BATCHES = positive('max-batches', flags['max-batches']);
const REPS = positive('reps', flags.reps);
const SEED_RECORDS = 1000;
const PAGE = 100;
const writeToDoc = !flags['no-write'] && (!quick || flags.write) && !flags.profile;
const engines = flags.engines.split(',').map((s) => s.trim()) as Engine[];
for (const e of engines)
  if (!ENGINES.includes(e)) {
    process.stderr.write(`bench: --engines takes ${ENGINES.join(', ')}, not "${e}"\n`);
    process.exit(2);
  }
const DATABASE_URL =
  flags['database-url'] ??
  process.env['CORDON_TEST_DATABASE_URL'] ??
  'postgres://postgres@127.0.0.1:5432/test';

// ---------------------------------------------------------------------------------------------
// Work folder, frozen build, child processes

const work = mkdtempSync(join(tmpdir(), 'cordon-bench-load-'));
const build = join(work, 'build');
const BIN = join(build, 'bin/cordon.js');
const children = new Set<ChildProcess>();
const schemas = new Set<string>();
const log = (line: string): void => void process.stdout.write(line + '\n');

/** Copies bin/ and dist/src, so that a rebuild during the run cannot change the code measured. */
function freezeBuild(): void {
  if (!existsSync(join(REPO, 'dist/src/cli/main.js')))
    throw new Error('dist/src/cli/main.js is missing: run "npm run build" first');
  cpSync(join(REPO, 'bin/cordon.js'), BIN);
  cpSync(join(REPO, 'dist/src'), join(build, 'dist/src'), { recursive: true });
  cpSync(join(REPO, 'package.json'), join(build, 'package.json'));
  symlinkSync(join(REPO, 'node_modules'), join(build, 'node_modules'), 'dir');
}

async function cleanup(): Promise<void> {
  for (const child of children) child.kill('SIGKILL');
  for (const schema of schemas) await dropSchema(schema).catch(() => undefined);
  if (flags.keep) log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

process.on('SIGINT', () => {
  void cleanup().finally(() => process.exit(130));
});

const deadline = setTimeout(
  () => {
    process.stderr.write(`bench: deadline of ${flags['deadline-min']} min reached; giving up\n`);
    void cleanup().finally(() => process.exit(1));
  },
  Number(flags['deadline-min']) * 60_000,
);
deadline.unref();

/** Runs the frozen CLI; resolves with its exit code and output. */
function cordon(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      children.delete(child);
      resolve({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

interface Server {
  url: string;
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: string | null }>;
}

/** Starts `cordon serve --port 0` and waits for the line that names its URL. */
async function startServer(
  wsDir: string,
  env: Record<string, string>,
  profileDir?: string,
): Promise<Server> {
  const uploads = join(work, 'uploads');
  mkdirSync(uploads, { recursive: true });
  const child = spawn(
    process.execPath,
    [
      ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
      BIN,
      ...['-w', wsDir, 'serve', '--port', '0', '--upload-limit', '16MiB'],
    ],
    // Uploads are spooled in the OS temp folder: keep them inside the work folder.
    { env: { ...process.env, ...env, TMPDIR: uploads }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 30_000);
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString('utf8');
      const m = /Cordon API on (http:\/\/\S+) /.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then(() => reject(new Error(`server exited before it started: ${stderr}`)));
  });
  return { url, child, stderr: () => stderr, exited };
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
function processCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
    return (Number(fields[11]) + Number(fields[12])) / ticks;
  } catch {
    return null;
  }
}

/** Peak resident set of a running process in MiB, from /proc. */
function peakRssMiB(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

function schemaUrl(schema: string): string {
  const url = new URL(DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

async function sql(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

async function dropSchema(schema: string): Promise<void> {
  await sql(`drop schema if exists "${schema}" cascade`);
  schemas.delete(schema);
}

// ---------------------------------------------------------------------------------------------
// Statistics

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

function median(values: readonly number[]): number {
  const v = [...values].sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

const ms = (x: number): string =>
  Number.isNaN(x) ? '–' : x >= 100 ? `${x.toFixed(0)} ms` : `${x.toFixed(1)} ms`;
const int = (n: number): string => n.toLocaleString('en-US');
const rate = (x: number): string => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

function table(headers: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// The workload

/** What each response is, for the per-kind tables (in the order they are reported). */
const KINDS = [
  'ingest upload → 202 (shared dataset)',
  'ingest upload → 202 (own dataset)',
  'job events until it ends',
  'read dataset after HEAD_CONFLICT',
  'GET /v1/datasets',
  'GET /v1/snapshots/{ref}',
  'GET /v1/snapshots/{ref}/records (100)',
  'GET /v1/audit/events (100)',
] as const;
type Kind = (typeof KINDS)[number] | 'idle';

interface KindStats {
  times: number[];
  non2xx: Record<string, number>;
}

interface Batch {
  /** Also the upload's filename, which the server puts in the job description. */
  name: string;
  writer: string;
  dataset: string;
  ids: string[];
  body: string;
  firstSentAt: number;
  attempts: number;
}

interface Outcome {
  jobId: string;
  batch: Batch;
  state: string;
  code: string | null;
  snapshot: { id: string; version: number; records: number } | null;
  /** Seen by the writer during the run (not only when the jobs were collected afterwards). */
  seenInRun: boolean;
}

interface JobJson {
  id: string;
  state: string;
  description: string;
  result: { snapshot?: { id: string; version: number; records: number } } | null;
  error: { code?: string; status?: number } | null;
}

const FINAL_STATES = new Set(['succeeded', 'failed', 'cancelled']);

function record(i: number, id: string, source: string): CordonRecord {
  const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'];
  const text = Array.from({ length: 12 }, (_, j) => words[(i * 5 + j * 3) % words.length]).join(
    ' ',
  );
  return { id, label: i % 3 === 0 ? 'spam' : 'ham', source, text: `${text} ${i}` };
}

/** The last `state` event of a Server-Sent Events body, if the stream got that far. */
function finalState(body: string): JobJson | undefined {
  let last: JobJson | undefined;
  for (const block of body.split('\n\n')) {
    if (!/^event: state$/m.test(block)) continue;
    const data = /^data: (.*)$/m.exec(block)?.[1];
    if (data) last = JSON.parse(data) as JobJson;
  }
  return last && FINAL_STATES.has(last.state) ? last : undefined;
}

interface Fixture {
  wsDir: string;
  env: Record<string, string>;
  backends: Backends;
  datasets: string[];
  writers: { name: string; token: string; dataset: string; shared: boolean }[];
  readerToken: string;
  auditorToken: string;
  seedIds: Map<string, Set<string>>;
  /** PostgreSQL only: the schema that holds this workspace's metadata. */
  schema: string | undefined;
  eventsAfterSetup: number;
  snapshotsAfterSetup: number;
}

/**
 * A workspace with root (admin), two stewards (alice, bob), an auditor, one service account per
 * writer (contributor on every dataset, owned by alice) and their tokens, and the seeded datasets:
 * "shared" and one "own-N" per own writer, each with SEED_RECORDS records. All through the engine,
 * as `cordon init`, `identity add`, `identity grant`, `token create` and `ingest` would.
 */
async function setup(engine: Engine, run: number): Promise<Fixture> {
  const wsDir = join(work, `${engine}-${run}`, '.cordon');
  let env: Record<string, string> = {};
  let schema: string | undefined;
  if (engine === 'postgres') {
    schema = `cordon_bench_load_${process.pid}_${run}`;
    await sql(`create schema "${schema}"`);
    schemas.add(schema);
    env = { CORDON_DATABASE_URL: schemaUrl(schema) };
  }
  const backends: Backends = env['CORDON_DATABASE_URL']
    ? { databaseUrl: env['CORDON_DATABASE_URL'] }
    : {};
  const ws = await initWorkspace(wsDir, { identity: 'root', backends });
  try {
    for (const name of ['alice', 'bob', 'audra']) await addIdentity(ws, name, { kind: 'human' });
    await grantRole(ws, 'alice', 'steward', '*');
    await grantRole(ws, 'bob', 'steward', '*');
    await grantRole(ws, 'audra', 'auditor', '*');
    const readerToken = (await createToken(ws, 'alice', { scopes: ['datasets:read'] })).token;
    const auditorToken = (
      await createToken(ws, 'audra', { scopes: ['datasets:read', 'audit:read'] })
    ).token;
    const datasets = ['shared', ...Array.from({ length: OWN_WRITERS }, (_, i) => `own-${i + 1}`)];
    const writers: Fixture['writers'] = [];
    for (let i = 0; i < SHARED_WRITERS + OWN_WRITERS; i++) {
      const name = `writer-${i + 1}`;
      await addIdentity(ws, name, { kind: 'service', owners: ['alice'] });
      await grantRole(ws, name, 'contributor', '*');
      const token = (
        await createToken(ws, name, {
          scopes: ['datasets:read', 'datasets:write'],
          expiresInMs: 86_400_000,
        })
      ).token;
      const shared = i < SHARED_WRITERS;
      writers.push({
        name,
        token,
        dataset: shared ? 'shared' : `own-${i - SHARED_WRITERS + 1}`,
        shared,
      });
    }
    const seedIds = new Map<string, Set<string>>();
    for (const dataset of datasets) {
      const records = Array.from({ length: SEED_RECORDS }, (_, i) =>
        record(i, `seed-${String(i).padStart(5, '0')}`, 'seed'),
      );
      seedIds.set(dataset, new Set(records.map((r) => r.id)));
      const items = function* (): Generator<IngestItem> {
        let line = 0;
        for (const r of records) yield { record: r, where: `seed.jsonl:${++line}` };
      };
      await commitItems(ws, items(), {
        dataset,
        stage: 'raw',
        message: 'seed',
        parents: [],
        expectedHead: null,
        run: {
          kind: 'ingest',
          inputs: [],
          command: null,
          codeDigest: null,
          params: {},
          source: 'seed.jsonl',
          startedAt: new Date().toISOString(),
        },
      });
    }
    return {
      wsDir,
      env,
      backends,
      datasets,
      writers,
      readerToken,
      auditorToken,
      seedIds,
      schema,
      eventsAfterSetup: await ws.meta.countEvents(),
      snapshotsAfterSetup: (await ws.meta.listSnapshots()).length,
    };
  } finally {
    await ws.close();
  }
}

interface Check {
  what: string;
  expected: string;
  found: string;
  ok: boolean;
}

interface RunResult {
  engine: Engine;
  run: number;
  startedAt: string;
  seconds: number;
  load: { before: number[]; during: { min: number; max: number } };
  kinds: Record<
    string,
    {
      count: number;
      perSecond: number;
      p50: number;
      p90: number;
      p99: number;
      non2xx: Record<string, number>;
    }
  >;
  requests: number;
  requestsPerSecond: number;
  ingest: {
    acknowledged: { shared: number; own: number };
    acknowledgedAfterWindow: number;
    recordsAcknowledged: number;
    commitsPerSecond: number;
    headConflicts: { shared: number; own: number };
    otherFailures: Record<string, number>;
    endToEnd: { p50: number; p90: number; p99: number };
    maxAttempts: number;
  };
  client: { errors: number; timeouts: number };
  server: {
    cpuSeconds: number | null;
    peakRssMiB: number | null;
    unexpectedErrors: number;
    exit: string;
  };
  benchCpuSeconds: number;
  checks: Check[];
}

/**
 * A GET with the bench's own client (not autocannon). Retried on a network error: a kept-alive
 * connection the server closes just as it is reused fails without the request being read.
 */
async function api<T>(
  url: string,
  token: string,
  path: string,
): Promise<{ status: number; json: T }> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(url + path, { headers: { Authorization: `Bearer ${token}` } });
      return { status: res.status, json: (await res.json()) as T };
    } catch (e) {
      const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : '';
      if (attempt === 3) throw new Error(`GET ${path}: ${String(e)}${cause}`, { cause: e });
      log(`  GET ${path} failed (${String(e)}${cause}); trying again`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function runOnce(engine: Engine, run: number): Promise<RunResult> {
  const startedAt = new Date().toISOString();
  log(`\n== ${engine}, run ${run}: setting up`);
  const fx = await setup(engine, run);
  const profileDir = flags.profile ? join(work, `${engine}-${run}-profile`) : undefined;
  const server = await startServer(fx.wsDir, fx.env, profileDir);
  log(`  ${server.url} over ${fx.wsDir}`);
  try {
    return await measureRun(engine, run, startedAt, fx, server, profileDir);
  } catch (e) {
    // Say whether the server is still up, and what it logged: that is what a failure here is about.
    const exit = server.child.exitCode ?? server.child.signalCode;
    const file = join(REPO, `bench/out/load-server-${engine}-${run}.log`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, server.stderr());
    throw new Error(
      `${engine} run ${run}: ${e instanceof Error ? e.message : String(e)}; the server ${exit === null ? 'is still running' : `exited (${exit})`}; its log is in ${file}`,
      { cause: e },
    );
  }
}

async function measureRun(
  engine: Engine,
  run: number,
  startedAt: string,
  fx: Fixture,
  server: Server,
  profileDir: string | undefined,
): Promise<RunResult> {
  const stats = new Map<Kind, KindStats>();
  const note = (kind: Kind, status: number, time: number): void => {
    let s = stats.get(kind);
    if (!s) stats.set(kind, (s = { times: [], non2xx: {} }));
    s.times.push(time);
    if (status < 200 || status > 299)
      s.non2xx[String(status)] = (s.non2xx[String(status)] ?? 0) + 1;
  };

  const outcomes = new Map<string, Outcome>();
  const batches = new Map<string, Batch>();
  const endToEnd: number[] = [];
  const conflicts = { shared: 0, own: 0 };
  let maxAttempts = 0;
  const instances: LoadInstance[] = [];

  // A few reads before the clock starts, so the first measured requests do not pay for JIT and
  // cold caches alone.
  for (let i = 0; i < 10; i++) {
    await api(server.url, fx.readerToken, '/v1/datasets');
    await api(server.url, fx.readerToken, `/v1/snapshots/shared/records?limit=${PAGE}`);
    await api(server.url, fx.auditorToken, `/v1/audit/events?limit=${PAGE}`);
  }

  for (const w of fx.writers) {
    let seq = 0;
    let pending: Batch | undefined;
    let job: string | undefined;
    let readHead = false;
    let kind: Kind = 'idle';
    let acknowledged = 0;
    const auth = { Authorization: `Bearer ${w.token}` };
    const instance = autocannon({
      url: server.url,
      connections: 1,
      duration: DURATION_S,
      timeout: 120,
      requests: [
        {
          setupRequest: (req) => {
            if (job !== undefined) {
              kind = 'job events until it ends';
              return { ...req, method: 'GET', path: `/v1/jobs/${job}/events`, headers: auth };
            }
            if (readHead) {
              kind = 'read dataset after HEAD_CONFLICT';
              return { ...req, method: 'GET', path: `/v1/datasets/${w.dataset}`, headers: auth };
            }
            if (acknowledged >= MAX_BATCHES) {
              kind = 'idle';
              return { ...req, method: 'GET', path: '/healthz', headers: {} };
            }
            if (!pending) {
              const n = ++seq;
              const name = `${w.name}-${String(n).padStart(6, '0')}.jsonl`;
              const ids = Array.from(
                { length: BATCH },
                (_, k) => `${w.name}-${String(n).padStart(6, '0')}-${String(k).padStart(3, '0')}`,
              );
              const body = ids
                .map((id, k) => JSON.stringify(record(n * BATCH + k, id, w.name)) + '\n')
                .join('');
              pending = {
                name,
                writer: w.name,
                dataset: w.dataset,
                ids,
                body,
                firstSentAt: performance.now(),
                attempts: 0,
              };
              batches.set(name, pending);
            }
            pending.attempts++;
            maxAttempts = Math.max(maxAttempts, pending.attempts);
            kind = w.shared
              ? 'ingest upload → 202 (shared dataset)'
              : 'ingest upload → 202 (own dataset)';
            return {
              ...req,
              method: 'POST',
              path: `/v1/datasets/${w.dataset}/ingest?append=true&filename=${pending.name}`,
              headers: { ...auth, 'Content-Type': 'application/x-ndjson' },
              body: pending.body,
            };
          },
          onResponse: (status, body) => {
            if (kind === 'read dataset after HEAD_CONFLICT') {
              readHead = false;
              return;
            }
            if (kind.startsWith('ingest upload') && pending) {
              if (status === 202) {
                job = (JSON.parse(body) as JobJson).id;
                outcomes.set(job, {
                  jobId: job,
                  batch: pending,
                  state: 'queued',
                  code: null,
                  snapshot: null,
                  seenInRun: false,
                });
              } else {
                // Refused before a job existed: nothing was written; the batch is dropped.
                pending = undefined;
              }
              return;
            }
            if (kind === 'job events until it ends' && job !== undefined) {
              const final = status === 200 ? finalState(body) : undefined;
              if (!final) {
                // The stream ended early (or the job is unknown): ask again / give up on it.
                if (status === 404) job = undefined;
                return;
              }
              const outcome = outcomes.get(job)!;
              Object.assign(outcome, {
                state: final.state,
                code: final.error?.code ?? null,
                snapshot: final.result?.snapshot ?? null,
                seenInRun: true,
              });
              job = undefined;
              if (final.state === 'succeeded') {
                endToEnd.push(performance.now() - pending!.firstSentAt);
                acknowledged++;
                if (acknowledged >= MAX_BATCHES) log(`  ${w.name} reached --max-batches`);
                pending = undefined;
              } else if (final.error?.code === 'HEAD_CONFLICT') {
                conflicts[w.shared ? 'shared' : 'own']++;
                // As the problem advises: read the current head, then submit the batch again.
                readHead = true;
              } else {
                pending = undefined;
              }
            }
          },
        },
      ],
    });
    instance.on('response', (_client: unknown, status: number, _bytes: number, time: number) =>
      note(kind, status, time),
    );
    instances.push(instance);
  }

  const random = (n: number): number => Math.floor(Math.random() * n);
  const readers: [Kind, string, () => string][] = [
    ['GET /v1/datasets', fx.readerToken, () => '/v1/datasets'],
    [
      'GET /v1/snapshots/{ref}',
      fx.readerToken,
      () => `/v1/snapshots/${fx.datasets[random(fx.datasets.length)]}`,
    ],
    [
      'GET /v1/snapshots/{ref}/records (100)',
      fx.readerToken,
      () =>
        `/v1/snapshots/${fx.datasets[random(fx.datasets.length)]}/records?offset=${random(SEED_RECORDS - PAGE)}&limit=${PAGE}`,
    ],
    [
      'GET /v1/audit/events (100)',
      fx.auditorToken,
      () => `/v1/audit/events?after=${random(fx.eventsAfterSetup)}&limit=${PAGE}`,
    ],
  ];
  for (const [kind, token, path] of READERS > 0 ? readers : []) {
    const instance = autocannon({
      url: server.url,
      connections: READERS,
      duration: DURATION_S,
      timeout: 60,
      requests: [
        {
          setupRequest: (req) => ({
            ...req,
            method: 'GET',
            path: path(),
            headers: { Authorization: `Bearer ${token}` },
          }),
        },
      ],
    });
    instance.on('response', (_client: unknown, status: number, _bytes: number, time: number) =>
      note(kind, status, time),
    );
    instances.push(instance);
  }

  const loadBefore = loadavg();
  const loadSamples: number[] = [loadBefore[0]!];
  const sampler = setInterval(() => loadSamples.push(loadavg()[0]!), 1000);
  const serverCpu0 = processCpuSeconds(server.child.pid!);
  const benchCpu0 = process.cpuUsage();
  log(
    `  load: ${DURATION_S} s, ${fx.writers.length} writers, ${readers.length}×${READERS} readers (load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')})`,
  );
  const t0 = performance.now();
  const results = await Promise.all(instances);
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  const benchCpu = process.cpuUsage(benchCpu0);
  const serverCpu1 = processCpuSeconds(server.child.pid!);
  const clientErrors = results.reduce((n, r) => n + r.errors, 0);
  const clientTimeouts = results.reduce((n, r) => n + r.timeouts, 0);

  // Collect every job: those the writers were still following when the clock stopped, and those
  // whose 202 never reached them (an upload in flight at the stop). A job's filename says which
  // batch it carries.
  log('  collecting the jobs still running');
  const collectUntil = Date.now() + 180_000;
  for (const w of fx.writers) {
    const listed = await api<{ jobs: JobJson[] }>(server.url, w.token, '/v1/jobs');
    for (const j of listed.json.jobs) {
      if (outcomes.has(j.id)) continue;
      const name = /^ingest (\S+) into /.exec(j.description)?.[1];
      const batch = name ? batches.get(name) : undefined;
      if (!batch) throw new Error(`job ${j.id} (${j.description}) carries no known batch`);
      outcomes.set(j.id, {
        jobId: j.id,
        batch,
        state: j.state,
        code: null,
        snapshot: null,
        seenInRun: false,
      });
    }
  }
  for (const o of outcomes.values()) {
    if (FINAL_STATES.has(o.state)) continue;
    for (;;) {
      const w = fx.writers.find((x) => x.name === o.batch.writer)!;
      const { status, json } = await api<JobJson>(server.url, w.token, `/v1/jobs/${o.jobId}`);
      if (status !== 200) throw new Error(`job ${o.jobId}: ${status}`);
      if (FINAL_STATES.has(json.state)) {
        Object.assign(o, {
          state: json.state,
          code: json.error?.code ?? null,
          snapshot: json.result?.snapshot ?? null,
        });
        if (json.error?.code === 'HEAD_CONFLICT')
          conflicts[o.batch.dataset === 'shared' ? 'shared' : 'own']++;
        break;
      }
      if (Date.now() > collectUntil) throw new Error(`job ${o.jobId} did not end`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const serverAudit = await api<{ ok: boolean; events: number; root: string }>(
    server.url,
    fx.auditorToken,
    '/v1/audit/verify',
  );
  const rssMiB = peakRssMiB(server.child.pid!);
  log('  stopping the server (SIGTERM)');
  server.child.kill('SIGTERM');
  const stopTimer = setTimeout(() => server.child.kill('SIGKILL'), 30_000);
  const exit = await server.exited;
  clearTimeout(stopTimer);
  const unexpected = (server.stderr().match(/^cordon serve: (?!stopping)/gm) ?? []).length;
  writeFileSync(join(work, `${engine}-${run}-server.log`), server.stderr());
  if (profileDir) printProfile(profileDir);

  // ---- the loss check, on the stopped workspace
  log('  checking that nothing acknowledged was lost');
  const acked = [...outcomes.values()].filter((o) => o.state === 'succeeded');
  const failed = [...outcomes.values()].filter((o) => o.state !== 'succeeded');
  const otherFailures: Record<string, number> = {};
  for (const o of failed)
    if (o.code !== 'HEAD_CONFLICT')
      otherFailures[o.code ?? o.state] = (otherFailures[o.code ?? o.state] ?? 0) + 1;
  const checks: Check[] = [];
  const check = (
    what: string,
    expected: unknown,
    found: unknown,
    ok = expected === found,
  ): void => {
    const text = (x: unknown): string => (typeof x === 'number' ? int(x) : String(x));
    checks.push({ what, expected: text(expected), found: text(found), ok });
  };

  const ws = await openWorkspace(fx.wsDir, {}, fx.backends);
  try {
    // Each acknowledged batch is a snapshot of its dataset that holds every record of the batch.
    let snapshotsOk = 0;
    let recordsMissing = 0;
    for (const o of acked) {
      const row = o.snapshot ? await ws.meta.getSnapshot(o.snapshot.id) : undefined;
      if (
        !row ||
        row.dataset !== o.batch.dataset ||
        Number(row.record_count) !== o.snapshot!.records
      )
        continue;
      const ids = new Set((await loadManifest(ws, row)).entries.map((e) => e.id));
      const missing = o.batch.ids.filter((id) => !ids.has(id)).length;
      recordsMissing += missing;
      if (missing === 0) snapshotsOk++;
    }
    check(
      'acknowledged ingests that are a stored snapshot holding all their records',
      acked.length,
      snapshotsOk,
    );
    check('records of acknowledged ingests missing from their snapshot', 0, recordsMissing);

    // The heads hold exactly the seeded records plus every acknowledged one: nothing lost, and
    // nothing from a job that was not acknowledged.
    let expectedRecords = 0;
    let headRecords = 0;
    let lost = 0;
    let extra = 0;
    for (const dataset of fx.datasets) {
      const expected = new Set(fx.seedIds.get(dataset));
      for (const o of acked)
        if (o.batch.dataset === dataset) for (const id of o.batch.ids) expected.add(id);
      const head = (await ws.meta.getDataset(dataset))?.head;
      const row = head ? await ws.meta.getSnapshot(head) : undefined;
      const present = new Set(row ? (await loadManifest(ws, row)).entries.map((e) => e.id) : []);
      expectedRecords += expected.size;
      headRecords += present.size;
      for (const id of expected) if (!present.has(id)) lost++;
      for (const id of present) if (!expected.has(id)) extra++;
    }
    check('records across the dataset heads (seeded + acknowledged)', expectedRecords, headRecords);
    check('acknowledged records missing from the heads', 0, lost);
    check('records in the heads that no acknowledged ingest sent', 0, extra);

    const snapshots = (await ws.meta.listSnapshots()).length;
    check(
      'snapshots (seeded + acknowledged; none partial or unacknowledged)',
      fx.snapshotsAfterSetup + acked.length,
      snapshots,
    );

    // The only events the load should write: one snapshot.ingest per acknowledged ingest. Conflicts
    // write nothing, reads write nothing; a refusal would write authz.deny (and fail here).
    const events = await ws.meta.countEvents();
    check(
      'audit events (after setup + one per acknowledged ingest)',
      fx.eventsAfterSetup + acked.length,
      events,
    );
    const ingestEvents = (await ws.meta.listEvents({ kind: 'snapshot.ingest' })).length;
    check(
      'snapshot.ingest events (seeds + acknowledged ingests)',
      fx.datasets.length + acked.length,
      ingestEvents,
    );
  } finally {
    await ws.close();
  }

  const verify = await cordon(fx.env, '-w', fx.wsDir, '--json', 'verify');
  const verified =
    verify.code === 0
      ? (JSON.parse(verify.stdout) as { ok: boolean; snapshots: unknown[] })
      : undefined;
  check(
    '`cordon verify`: every snapshot verifies',
    `ok, ${fx.snapshotsAfterSetup + acked.length} snapshots`,
    verified?.ok
      ? `ok, ${verified.snapshots.length} snapshots`
      : `exit ${verify.code}: ${verify.stderr.trim().split('\n')[0]}`,
  );
  const audit = await cordon(fx.env, '-w', fx.wsDir, '--json', 'audit', 'verify');
  const auditJson =
    audit.code === 0
      ? (JSON.parse(audit.stdout) as {
          ok: boolean;
          events: number;
          unsigned: number;
          root: string;
        })
      : undefined;
  check(
    '`cordon audit verify` passes, no unsigned events',
    'ok, 0 unsigned',
    auditJson?.ok
      ? `ok, ${auditJson.unsigned} unsigned`
      : `exit ${audit.code}: ${audit.stderr.trim().split('\n')[0]}`,
  );
  check(
    'audit Merkle root: server before stop = CLI after',
    serverAudit.json.root.slice(0, 16),
    (auditJson?.root ?? '').slice(0, 16),
  );
  check(
    'server: no unexpected errors logged, clean exit on SIGTERM',
    'exit 0, 0 errors',
    `exit ${exit.code ?? exit.signal}, ${unexpected} errors`,
  );
  check('client: connection errors and timeouts', 0, clientErrors + clientTimeouts);

  if (fx.schema !== undefined) await dropSchema(fx.schema);
  if (!flags.keep) rmSync(dirname(fx.wsDir), { recursive: true, force: true });

  const kinds: RunResult['kinds'] = {};
  let requests = 0;
  for (const kind of KINDS) {
    const s = stats.get(kind);
    if (!s) continue;
    const sorted = [...s.times].sort((a, b) => a - b);
    requests += sorted.length;
    kinds[kind] = {
      count: sorted.length,
      perSecond: sorted.length / seconds,
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      non2xx: s.non2xx,
    };
  }
  const e2e = [...endToEnd].sort((a, b) => a - b);
  const result: RunResult = {
    engine,
    run,
    startedAt,
    seconds,
    load: {
      before: loadBefore,
      during: { min: Math.min(...loadSamples), max: Math.max(...loadSamples) },
    },
    kinds,
    requests,
    requestsPerSecond: requests / seconds,
    ingest: {
      acknowledged: {
        shared: acked.filter((o) => o.batch.dataset === 'shared').length,
        own: acked.filter((o) => o.batch.dataset !== 'shared').length,
      },
      acknowledgedAfterWindow: acked.filter((o) => !o.seenInRun).length,
      recordsAcknowledged: acked.reduce((n, o) => n + o.batch.ids.length, 0),
      commitsPerSecond: acked.filter((o) => o.seenInRun).length / seconds,
      headConflicts: conflicts,
      otherFailures,
      endToEnd: { p50: percentile(e2e, 50), p90: percentile(e2e, 90), p99: percentile(e2e, 99) },
      maxAttempts,
    },
    client: { errors: clientErrors, timeouts: clientTimeouts },
    server: {
      cpuSeconds: serverCpu0 !== null && serverCpu1 !== null ? serverCpu1 - serverCpu0 : null,
      peakRssMiB: rssMiB,
      unexpectedErrors: unexpected,
      exit: String(exit.code ?? exit.signal),
    },
    benchCpuSeconds: (benchCpu.user + benchCpu.system) / 1e6,
    checks,
  };
  printRun(result);
  return result;
}

/** Where the server's time went (main thread and hash workers), from its CPU profiles. */
function printProfile(dir: string): void {
  for (const t of summariseProfiles(dir, [build, REPO], 25)) {
    log(`  profile, ${t.thread}: ${(t.totalMs / 1000).toFixed(1)} s of samples`);
    for (const f of t.functions)
      log(
        `    ${(f.ms / 1000).toFixed(2).padStart(6)} s ${(f.share * 100).toFixed(1).padStart(5)} %  ${f.name}`,
      );
    for (const f of t.files)
      log(
        `    file ${(f.ms / 1000).toFixed(2).padStart(6)} s ${(f.share * 100).toFixed(1).padStart(5)} %  ${f.name}`,
      );
  }
}

function printRun(r: RunResult): void {
  log(
    `  ${int(r.requests)} requests in ${r.seconds.toFixed(1)} s (${rate(r.requestsPerSecond)} req/s)`,
  );
  for (const [kind, k] of Object.entries(r.kinds))
    log(
      `    ${kind.padEnd(40)} ${String(k.count).padStart(6)}  ${rate(k.perSecond).padStart(6)}/s  p50 ${ms(k.p50)}  p90 ${ms(k.p90)}  p99 ${ms(k.p99)}${Object.keys(k.non2xx).length ? `  non-2xx ${JSON.stringify(k.non2xx)}` : ''}`,
    );
  const i = r.ingest;
  log(
    `  acknowledged ingests: ${i.acknowledged.shared} shared + ${i.acknowledged.own} own (${i.acknowledgedAfterWindow} finished after the window), HEAD_CONFLICT ${i.headConflicts.shared} shared / ${i.headConflicts.own} own, end to end p50 ${ms(i.endToEnd.p50)} p99 ${ms(i.endToEnd.p99)}`,
  );
  for (const c of r.checks)
    log(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.what}: expected ${c.expected}, found ${c.found}`);
}

// ---------------------------------------------------------------------------------------------
// Report

const BEGIN = '<!-- bench:load:begin -->';
const END = '<!-- bench:load:end -->';

function machine(): string {
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], {
    cwd: REPO,
    encoding: 'utf8',
  }).stdout.trim();
  const dirty =
    spawnSync('git', ['status', '--porcelain', '--', 'src'], {
      cwd: REPO,
      encoding: 'utf8',
    }).stdout.trim() !== '';
  const model = (cpus()[0]?.model ?? 'unknown CPU').trim();
  return `${availableParallelism()} × ${model}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, commit ${commit || 'unknown'}${dirty ? ' (with uncommitted changes under src/)' : ''}`;
}

function spread(values: number[], f: (x: number) => string): string {
  const m = f(median(values));
  return values.length > 1 ? `${m} (${f(Math.min(...values))}–${f(Math.max(...values))})` : m;
}

function report(all: RunResult[], skipped: string[]): string {
  const byEngine = new Map<Engine, RunResult[]>();
  for (const r of all) byEngine.set(r.engine, [...(byEngine.get(r.engine) ?? []), r]);
  const parts: string[] = [];
  const started = all[0]?.startedAt.replace(/\.\d+Z$/, 'Z') ?? new Date().toISOString();
  parts.push(
    `Run ${started} on ${machine()}. ${DURATION_S} s of load per run, ${REPS} run${REPS > 1 ? 's' : ''} per engine${REPS > 1 ? ' (medians, min–max in brackets)' : ''}; ${SHARED_WRITERS} writers on one shared dataset, ${OWN_WRITERS} writers with a dataset each, ${READERS} connections per read kind (${SHARED_WRITERS + OWN_WRITERS + 4 * READERS} connections in all); ${BATCH} records (about ${Math.round((BATCH * 120) / 1024)} KiB) per ingest; datasets seeded with ${int(SEED_RECORDS)} records.\n`,
  );
  for (const s of skipped) parts.push(`\n- ${s}\n`);
  for (const [engine, runs] of byEngine) {
    const label =
      engine === 'sqlite' ? 'SQLite (embedded default)' : 'PostgreSQL 15 (own schema, same host)';
    const loads = runs
      .map((r) => `${r.load.during.min.toFixed(2)}–${r.load.during.max.toFixed(2)}`)
      .join(', ');
    parts.push(`\n#### ${label}\n\n`);
    parts.push(
      `1-minute load average during the load: ${loads} (${availableParallelism()} CPUs; before the run ${runs[0]!.load.before.map((x) => x.toFixed(2)).join(' / ')} over 1 / 5 / 15 min).\n\n`,
    );
    const rows: string[][] = [];
    for (const kind of KINDS) {
      const ks = runs.map((r) => r.kinds[kind]).filter((k) => k !== undefined);
      if (ks.length === 0) continue;
      const non2xx: Record<string, number> = {};
      for (const k of ks)
        for (const [s, n] of Object.entries(k.non2xx)) non2xx[s] = (non2xx[s] ?? 0) + n;
      rows.push([
        kind.replaceAll('|', '\\|'),
        spread(
          ks.map((k) => k.count),
          int,
        ),
        spread(
          ks.map((k) => k.perSecond),
          rate,
        ),
        spread(
          ks.map((k) => k.p50),
          ms,
        ),
        spread(
          ks.map((k) => k.p90),
          ms,
        ),
        spread(
          ks.map((k) => k.p99),
          ms,
        ),
        Object.keys(non2xx).length
          ? Object.entries(non2xx)
              .map(([s, n]) => `${n}× ${s}`)
              .join(', ')
          : '0',
      ]);
    }
    rows.push([
      '**all requests**',
      spread(
        runs.map((r) => r.requests),
        int,
      ),
      spread(
        runs.map((r) => r.requestsPerSecond),
        rate,
      ),
      '',
      '',
      '',
      '',
    ]);
    parts.push(table(['request', 'count', 'req/s', 'p50', 'p90', 'p99', 'non-2xx'], rows));
    const ing = runs.map((r) => r.ingest);
    const failures = ing.flatMap((i) => Object.entries(i.otherFailures));
    parts.push('\n');
    parts.push(
      table(
        ['ingests', ''],
        [
          [
            'acknowledged (job succeeded): shared dataset',
            spread(
              ing.map((i) => i.acknowledged.shared),
              int,
            ),
          ],
          [
            'acknowledged: own datasets',
            spread(
              ing.map((i) => i.acknowledged.own),
              int,
            ),
          ],
          [
            'of which finished after the window (collected afterwards)',
            spread(
              ing.map((i) => i.acknowledgedAfterWindow),
              int,
            ),
          ],
          [
            'records acknowledged',
            spread(
              ing.map((i) => i.recordsAcknowledged),
              int,
            ),
          ],
          [
            'commits acknowledged per second (in the window)',
            spread(
              ing.map((i) => i.commitsPerSecond),
              rate,
            ),
          ],
          [
            'HEAD_CONFLICT job failures (409 problem): shared / own',
            ing.map((i) => `${i.headConflicts.shared} / ${i.headConflicts.own}`).join(', '),
          ],
          [
            'most submissions of one batch',
            spread(
              ing.map((i) => i.maxAttempts),
              int,
            ),
          ],
          [
            'other job failures',
            failures.length ? failures.map(([c, n]) => `${n}× ${c}`).join(', ') : '0',
          ],
          [
            'upload → acknowledged, with retries: p50 / p90 / p99',
            ing
              .map((i) => `${ms(i.endToEnd.p50)} / ${ms(i.endToEnd.p90)} / ${ms(i.endToEnd.p99)}`)
              .join('; '),
          ],
          [
            'server CPU during the load (of ' +
              `${availableParallelism() * DURATION_S} CPU-s available)`,
            runs
              .map((r) =>
                r.server.cpuSeconds === null ? '–' : `${r.server.cpuSeconds.toFixed(1)} CPU-s`,
              )
              .join(', '),
          ],
          [
            'load generator CPU (this script, same machine)',
            runs.map((r) => `${r.benchCpuSeconds.toFixed(1)} CPU-s`).join(', '),
          ],
          [
            'server peak RSS',
            runs
              .map((r) =>
                r.server.peakRssMiB === null ? '–' : `${r.server.peakRssMiB.toFixed(0)} MiB`,
              )
              .join(', '),
          ],
        ],
      ),
    );
    parts.push('\nLoss check, with the server stopped:\n\n');
    const checkRows: string[][] = [];
    for (const [i, c] of runs[0]!.checks.entries()) {
      const all = runs.map((r) => r.checks[i]!);
      checkRows.push([
        c.what,
        all.map((x) => x.expected).join(', '),
        all.map((x) => x.found).join(', '),
        all.every((x) => x.ok) ? 'pass' : '**FAIL**',
      ]);
    }
    parts.push(table(['check', 'expected', 'found', 'result'], checkRows));
  }
  return parts.join('');
}

function replaceSection(doc: string, body: string): string {
  const block = `${BEGIN}\n\n${body.trimEnd()}\n\n${END}`;
  const b = doc.indexOf(BEGIN);
  const e = doc.indexOf(END);
  if (b >= 0 && e > b) return doc.slice(0, b) + block + doc.slice(e + END.length);
  return `${doc.trimEnd()}\n\n## Service under load (\`${REPRODUCE}\`)\n\n${block}\n`;
}

// ---------------------------------------------------------------------------------------------
// Main

async function postgresReachable(): Promise<string | undefined> {
  try {
    await sql('select 1');
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

async function main(): Promise<number> {
  freezeBuild();
  const skipped: string[] = [];
  const wanted = [...engines];
  if (wanted.includes('postgres')) {
    const why = await postgresReachable();
    if (why !== undefined) {
      if (flags.engines.includes('postgres') && flags.engines !== 'sqlite,postgres')
        throw new Error(`PostgreSQL at ${DATABASE_URL}: ${why}`);
      skipped.push(`PostgreSQL skipped: ${DATABASE_URL} did not answer (${why}).`);
      wanted.splice(wanted.indexOf('postgres'), 1);
      log(`PostgreSQL skipped: ${why}`);
    }
  }
  const all: RunResult[] = [];
  for (const engine of wanted)
    for (let run = 1; run <= REPS; run++) all.push(await runOnce(engine, run));
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify({ duration: DURATION_S, runs: all }, null, 2) + '\n');
  log(`\nraw results: ${OUT}`);
  if (writeToDoc) {
    await writeDoc(DOC, replaceSection(readDoc(DOC), report(all, skipped)));
    log(`updated ${DOC}`);
  }
  const failed = all.flatMap((r) =>
    r.checks.filter((c) => !c.ok).map((c) => `${r.engine} run ${r.run}: ${c.what}`),
  );
  if (failed.length) {
    process.stderr.write(`bench: the loss check failed:\n  ${failed.join('\n  ')}\n`);
    return 1;
  }
  log('loss check: all passed');
  return 0;
}

let code = 1;
try {
  code = await main();
} catch (e) {
  process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
} finally {
  await cleanup();
}
process.exit(code);
