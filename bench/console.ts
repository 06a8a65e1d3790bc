/**
 * The web console on a large snapshot: `npm run bench:console [-- --rows N] [-- --write]
 * [-- --keep] [-- --reuse <kept folder>]`.
 *
 * Generates N short text rows (default 1,000,000; bench/detect-data.ts), ingests them as
 * bench@1, writes a poisoned copy (0.5 % flipped labels, a "cf" trigger on 0.1 % of the rows) and
 * ingests it as bench@2, scans bench@2 against bench@1 and opens its review items. Then it starts
 * the built `cordon serve` with the built console and, in Debian's Chromium, signs in and opens
 * every page twice (cold: the first visit after the server started; warm: the second). Per page it
 * records the API requests the page made, the bytes they returned, the largest single answer and
 * the time until the page went quiet (no request in flight for 500 ms). The console passes when
 * no page downloads more than a page of data, whatever N is: the numbers go to the marked section
 * of docs/BENCHMARKS.md (with --write, or on a full 1M-row run) and bench/out/console.json.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium, type Page } from 'playwright-core';
import { syntheticTextLines } from './detect-data.js';
import { int, sec, table } from './report.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '../..');
const BIN = join(REPO, 'bin/cordon.js');
const DOC = join(REPO, 'docs/BENCHMARKS.md');
const OUT = join(REPO, 'bench/out/console.json');
const BEGIN = '<!-- bench:console:begin -->';
const END = '<!-- bench:console:end -->';
const CHROMIUM = process.env['CORDON_CHROMIUM'] ?? '/usr/bin/chromium';

const { values: flags } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    write: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    /** A folder kept by an earlier run (--keep): its workspace is used as it is. */
    reuse: { type: 'string' },
  },
});
const ROWS = Number(flags.rows);
const log = (s: string) => process.stderr.write(`[bench:console] ${s}\n`);

function cli(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 256 * 2 ** 20,
    env: { ...process.env, CORDON_TOKEN: '', ...env },
  });
  if (r.status !== 0 && r.status !== 1)
    throw new Error(`cordon ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

interface PageResult {
  page: string;
  visit: 'cold' | 'warm';
  requests: number;
  bytes: number;
  largest: { path: string; bytes: number };
  slowest: { path: string; ms: number };
  quietMs: number;
}

/** Opens one console page and records the API traffic until nothing is in flight for 500 ms. */
async function visit(page: Page, url: string, name: string, kind: PageResult['visit']) {
  const seen: { path: string; bytes: number; ms: number }[] = [];
  let inFlight = 0;
  let lastChange = performance.now();
  const onRequest = () => {
    inFlight++;
    lastChange = performance.now();
  };
  const onDone = () => {
    inFlight--;
    lastChange = performance.now();
  };
  page.on('request', onRequest);
  page.on('requestfinished', onDone);
  page.on('requestfailed', onDone);
  const responses: Promise<void>[] = [];
  page.on('response', (res) => {
    const u = new URL(res.url());
    if (!u.pathname.startsWith('/v1/')) return;
    responses.push(
      res
        .request()
        .sizes()
        .then((s) => {
          const t = res.request().timing();
          seen.push({
            path: `${res.request().method()} ${u.pathname}${u.search}`,
            bytes: s.responseBodySize,
            ms: t.responseEnd,
          });
        }),
    );
  });
  const started = performance.now();
  await page.goto(url);
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    if (inFlight <= 0 && performance.now() - lastChange >= 500) break;
    if (performance.now() - started > 600_000)
      throw new Error(`${name}: still loading after 10 min`);
  }
  await Promise.all(responses);
  page.removeAllListeners('request');
  page.removeAllListeners('requestfinished');
  page.removeAllListeners('requestfailed');
  page.removeAllListeners('response');
  const largest = seen.reduce((a, b) => (b.bytes > a.bytes ? b : a), {
    path: '-',
    bytes: 0,
    ms: 0,
  });
  const slowest = seen.reduce((a, b) => (b.ms > a.ms ? b : a), { path: '-', bytes: 0, ms: 0 });
  return {
    page: name,
    visit: kind,
    requests: seen.length,
    bytes: seen.reduce((a, b) => a + b.bytes, 0),
    largest: { path: largest.path, bytes: largest.bytes },
    slowest: { path: slowest.path, ms: Math.round(slowest.ms) },
    quietMs: Math.round(lastChange - started),
  } satisfies PageResult;
}

const kib = (b: number) =>
  b >= 1024 * 1024 ? `${(b / 2 ** 20).toFixed(1)} MiB` : `${(b / 1024).toFixed(1)} KiB`;

async function main(): Promise<void> {
  if (!existsSync(join(REPO, 'dist/console/index.html')))
    throw new Error('the console is not built: run "npm run build" first');
  if (!existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium)`);
  const scratch = flags.reuse ?? mkdtempSync(join(tmpdir(), 'cordon-bench-console-'));
  let server: ChildProcess | undefined;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    if (flags.reuse === undefined) {
      const t0 = Date.now();
      writeFileSync(join(scratch, 'rows.jsonl'), syntheticTextLines(ROWS).join('\n') + '\n');
      cli(scratch, ['init', '.cordon', '--identity', 'bench']);
      cli(scratch, ['ingest', 'bench', 'rows.jsonl', '-m', 'clean']);
      cli(scratch, [
        'poison',
        'rows.jsonl',
        '--out',
        'poisoned.jsonl',
        '--truth',
        'truth.json',
        '--attack',
        'flip:0.005',
        '--attack',
        'token:cf:0.001:ham',
      ]);
      cli(scratch, ['ingest', 'bench', 'poisoned.jsonl', '-m', 'poisoned']);
      log(`${int(ROWS)} rows, two snapshots ingested in ${sec(Date.now() - t0)}`);
      const t1 = Date.now();
      cli(scratch, ['scan', 'bench@2', '--baseline', 'bench@1']);
      log(`scanned in ${sec(Date.now() - t1)}`);
    }
    const token = (
      JSON.parse(
        cli(scratch, [
          'token',
          'create',
          'bench',
          ...['datasets:read', 'reviews:write', 'audit:read', 'identities:admin'].flatMap((s) => [
            '--scope',
            s,
          ]),
          '--expires',
          '1d',
          '--json',
        ]),
      ) as { token: string }
    ).token;

    const port = await freePort();
    server = spawn(process.execPath, [BIN, '-w', '.cordon', 'serve', '--port', String(port)], {
      cwd: scratch,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      const ok = await fetch(base + '/healthz').then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (i > 200) throw new Error('cordon serve did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const auth = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
    await fetch(`${base}/v1/snapshots/bench@2/review`, {
      method: 'POST',
      headers: auth,
      body: '{}',
    });
    const scans = (await (
      await fetch(`${base}/v1/snapshots/bench@2/scans`, { headers: auth })
    ).json()) as {
      scans: { id: string }[];
    };
    const scan = scans.scans.at(-1)!.id;

    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(base + '/');
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('signed-in-as').waitFor();

    const pages: [string, string][] = [
      ['Datasets', '#/datasets'],
      ['Snapshot', '#/snapshots/bench@2'],
      ['Diff', '#/snapshots/bench@2?tab=diff&against=bench@1'],
      ['Scan report', `#/snapshots/bench@2/scans/${scan}`],
      ['Lineage', '#/lineage/bench@2'],
      ['Review queue', '#/review?snapshot=bench@2'],
      ['Approvals & gates', '#/approvals?snapshot=bench@2'],
      ['Audit log', '#/audit'],
      ['Identities & tokens', '#/identities'],
      ['Jobs', '#/jobs'],
    ];
    const results: PageResult[] = [];
    for (const kind of ['cold', 'warm'] as const)
      for (const [name, hash] of pages) {
        await page.goto(base + '/#/');
        const r = await visit(page, `${base}/${hash}`, name, kind);
        results.push(r);
        log(
          `${kind} ${name}: ${r.requests} requests, ${kib(r.bytes)}, quiet after ${sec(r.quietMs)}`,
        );
      }

    const env = `${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`;
    /** A request path as the table shows it: no query, ids as {id}, refs unescaped. */
    const shown = (path: string) =>
      path
        .replace(/\?.*/, '')
        .replace(/[0-9a-f]{64}/g, '{id}')
        .replace(/%40/g, '@');
    const rows = pages.map(([name]) => {
      const cold = results.find((r) => r.page === name && r.visit === 'cold')!;
      const warm = results.find((r) => r.page === name && r.visit === 'warm')!;
      return [
        name,
        String(cold.requests),
        kib(cold.bytes),
        `${kib(cold.largest.bytes)} (\`${shown(cold.largest.path)}\`)`,
        sec(cold.quietMs),
        sec(warm.quietMs),
        `\`${shown(cold.slowest.path)}\` ${sec(cold.slowest.ms)}`,
      ];
    });
    const section = [
      BEGIN,
      `Measured ${new Date().toISOString()} with \`npm run bench:console -- --rows ${ROWS}\` on ${env}.`,
      `bench@2: ${int(ROWS)} rows, scanned against bench@1.`,
      '',
      table(
        [
          'Page',
          'API requests',
          'Bytes from the API',
          'Largest answer',
          'Cold: quiet after',
          'Warm',
          'Slowest request (cold)',
        ],
        rows,
      ),
      END,
    ].join('\n');
    mkdirSync(dirname(OUT), { recursive: true });
    writeFileSync(OUT, JSON.stringify({ rows: ROWS, env, results }, null, 2));
    process.stdout.write(section + '\n');
    if (flags.write || ROWS >= 1_000_000) {
      const doc = readFileSync(DOC, 'utf8');
      const a = doc.indexOf(BEGIN);
      const b = doc.indexOf(END);
      const next =
        a >= 0 && b > a
          ? doc.slice(0, a) + section + doc.slice(b + END.length)
          : doc + `\n## The web console on a large snapshot\n\n${section}\n`;
      writeFileSync(DOC, next);
    }
  } finally {
    await browser.close();
    server?.kill('SIGTERM');
    if (!flags.keep && flags.reuse === undefined) rmSync(scratch, { recursive: true, force: true });
    else log(`kept ${scratch}`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(
    `bench:console failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  process.exit(1);
});
