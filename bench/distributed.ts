/**
 * Distributed scan benchmark: `npm run bench:distributed [-- --rows N] [-- --workers 1,2,4]
 * [-- --split-folds] [-- --wait-idle M] [-- --write] [-- --keep]`.
 *
 * Generates short text rows (bench/detect-data.ts: ~30 tokens, 3 labels, 7 sources), ingests them
 * into a fresh workspace, scans the snapshot once with `cordon scan` (the single-process
 * reference) and then with `cordon scan-distributed` on 1, 2 and 4 `cordon worker` processes
 * (one job at a time each). Every command is a child process of the compiled build; wall time is
 * the coordinator's, from spawn to exit, with the workers already started and idle. Peak RSS:
 * the coordinator's as in bench/measure.ts, each worker's from a preloaded probe
 * (`process.resourceUsage().maxRSS` at exit, all threads). Each distributed report is compared
 * with the single-process one (timings aside). Needs Redis ($CORDON_REDIS_URL, default
 * redis://127.0.0.1:6379).
 *
 * The same file is the entry of those child processes (`--role worker|scan`), since the two
 * commands are not registered in src/cli/run.ts yet.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Command } from 'commander';
import { Redis } from 'ioredis';
import { registerScanDistributed } from '../src/cli/commands/scan-distributed.js';
import { registerWorker } from '../src/cli/commands/worker.js';
import { processIo } from '../src/cli/io.js';
import type { ScanReport } from '../src/core/scan/report.js';
import { syntheticTextLines } from './detect-data.js';
import { detectRssMethod, killActive, measure, type RunResult } from './measure.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const BIN = join(HERE, '../../bin/cordon.js');
const PROBE = join(HERE, 'rss-probe.js');
const DOC = join(HERE, '../../docs/BENCHMARKS.md');
const BEGIN = '<!-- bench:distributed:begin -->';
const END = '<!-- bench:distributed:end -->';

/** Child-process entry: `--role worker|scan` then the usual CLI arguments. */
async function childRole(role: string, argv: string[]): Promise<void> {
  const io = processIo();
  const program = new Command('cordon')
    .option('-w, --workspace <dir>', 'workspace folder')
    .option('--as <identity>', 'act as this local identity')
    .enablePositionalOptions()
    .exitOverride();
  if (role === 'worker') registerWorker(program, io);
  else registerScanDistributed(program, io);
  await program.parseAsync(argv, { from: 'user' });
}

interface WorkerProc {
  proc: ChildProcess;
  rssFile: string;
  ready: Promise<void>;
  exited: Promise<number | null>;
}

function startWorker(ws: string, prefix: string, redisUrl: string, scratch: string, k: number) {
  const rssFile = join(scratch, `worker-${prefix}-${k}.rss`);
  const proc = spawn(
    process.execPath,
    [
      '--import',
      pathToFileURL(PROBE).href,
      SELF,
      '--role',
      'worker',
      '-w',
      ws,
      'worker',
      '--prefix',
      prefix,
    ],
    {
      env: { ...process.env, CORDON_REDIS_URL: redisUrl, CORDON_BENCH_RSS_FILE: rssFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  const ready = new Promise<void>((resolve, reject) => {
    const on = (d: Buffer): void => {
      out += d.toString('utf8');
      if (out.includes('ready: queue')) resolve();
    };
    proc.stdout.on('data', on);
    proc.stderr.on('data', on);
    proc.on('exit', () => reject(new Error(`worker exited before it was ready:\n${out}`)));
  });
  ready.catch(() => undefined);
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (c) => resolve(c)));
  return { proc, rssFile, ready, exited } satisfies WorkerProc;
}

const withoutTimings = (r: ScanReport): string =>
  JSON.stringify({
    ...r,
    summary: {
      ...r.summary,
      timings: null,
      detectors: r.summary.detectors.map((d) => ({ ...d, seconds: null, rowsPerSecond: null })),
    },
  });

/** Deletes the run's queue keys (the scan itself already removed its jobs and data). */
async function dropPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

const mib = (kib: number | null): string => (kib === null ? '-' : `${(kib / 1024).toFixed(0)} MiB`);
const sec = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function table(headers: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n') + '\n';
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string' },
      workers: { type: 'string' },
      write: { type: 'boolean' },
      keep: { type: 'boolean' },
      'wait-idle': { type: 'string' },
      'split-folds': { type: 'boolean' },
    },
  });
  const split = values['split-folds'] === true;
  const waitIdleMs = Number(values['wait-idle'] ?? 0) * 60_000;
  const loads: number[] = [];
  /** Before each measurement: waits (bounded, --wait-idle M) for the load to drop below half the CPUs. */
  const settle = async (): Promise<void> => {
    const limit = availableParallelism() / 2;
    const started = Date.now();
    while (loadavg()[0]! >= limit && Date.now() - started < waitIdleMs)
      await new Promise((r) => setTimeout(r, 15_000));
    loads.push(loadavg()[0]!);
  };
  const n = Number(values.rows ?? 1_000_000);
  const counts = (values.workers ?? '1,2,4').split(',').map(Number);
  const redisUrl = process.env['CORDON_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  const rss = detectRssMethod();
  const scratch = mkdtempSync(join(tmpdir(), 'cordon-bench-dist-'));
  const ws = join(scratch, '.cordon');
  const cli = (args: string[]): void => {
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd: scratch, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cordon ${args.join(' ')} failed: ${r.stderr}`);
  };
  const log = (s: string): void => void process.stdout.write(`${s}\n`);
  try {
    const t0 = Date.now();
    writeFileSync(join(scratch, 'rows.jsonl'), syntheticTextLines(n).join('\n') + '\n');
    cli(['init', '--identity', 'bench']);
    cli(['-w', ws, 'ingest', 'bench', 'rows.jsonl']);
    log(`${n} rows generated and ingested in ${sec(Date.now() - t0)}`);

    await settle();
    const runOpts = { cwd: scratch, stdout: 'capture' as const, timeoutMs: 60 * 60_000, scratch };
    const single = await measure(
      process.execPath,
      [BIN, '-w', ws, 'scan', 'bench', '--json', 'single.json'],
      { ...runOpts, node: true, rss },
    );
    if (single.code !== 0) throw new Error(`cordon scan failed: ${single.stderr}`);
    const singleReport = JSON.parse(
      readFileSync(join(scratch, 'single.json'), 'utf8'),
    ) as ScanReport;
    log(`single-process scan: ${sec(single.ms)}, peak ${mib(single.peakKiB)}`);

    const results: {
      workers: number;
      run: RunResult;
      rss: (number | null)[];
      same: boolean;
      jobs: string;
      timeline: string;
    }[] = [];
    for (const w of counts) {
      await settle();
      const prefix = `cordon-bench-${process.pid}-${w}`;
      const procs = Array.from({ length: w }, (_, k) =>
        startWorker(ws, prefix, redisUrl, scratch, k),
      );
      await Promise.all(procs.map((p) => p.ready));
      const out = `dist-${w}.json`;
      const run = await measure(
        process.execPath,
        [
          SELF,
          '--role',
          'scan',
          '-w',
          ws,
          'scan-distributed',
          'bench',
          '--prefix',
          prefix,
          '--json',
          out,
          ...(split ? ['--split-folds'] : []),
        ],
        { ...runOpts, node: true, rss, env: { CORDON_REDIS_URL: redisUrl } },
      );
      for (const p of procs) p.proc.kill('SIGTERM');
      await Promise.all(procs.map((p) => p.exited));
      await dropPrefix(redisUrl, prefix);
      if (run.code !== 0)
        throw new Error(`scan-distributed with ${w} worker(s) failed: ${run.stderr}`);
      const report = JSON.parse(readFileSync(join(scratch, out), 'utf8')) as ScanReport;
      const workerRss = procs.map((p) =>
        existsSync(p.rssFile) ? Number(readFileSync(p.rssFile, 'utf8').trim()) : null,
      );
      const same = withoutTimings(report) === withoutTimings(singleReport);
      const jobs =
        /\((\d+ shard\(s\), \d+ jobs on \d+ worker\(s\)[^)]*)\)/.exec(run.stdout)?.[1] ?? '';
      const timeline = /^Timeline: (.*)$/m.exec(run.stdout)?.[1] ?? '';
      results.push({ workers: w, run, rss: workerRss, same, jobs, timeline });
      log(
        `${w} worker(s): ${sec(run.ms)}, coordinator ${mib(run.peakKiB)}, workers ${workerRss.map(mib).join(' / ')}, ${jobs}, report ${same ? 'identical' : 'DIFFERENT'}\n  ${timeline}`,
      );
    }

    const base = results[0]?.run.ms ?? 1;
    const ms = (r: RunResult): string => mib(r.peakKiB);
    /** The CLI's "Timeline:" line, split into the table's cells. */
    const timelineCells = (line: string): string[] => {
      const at = (label: string): string =>
        new RegExp(`${label} ([\\d.]+) s`).exec(line)?.[1] ?? '-';
      const kind = (k: string): string => {
        const m = new RegExp(`\\d+ ${k} ([\\d.]+) s \\(([\\d.]+) s computing\\)`).exec(line);
        return m ? `${m[1]} s (${m[2]} s)` : '-';
      };
      return [
        at('rows read'),
        at('maps in'),
        at('LSH in'),
        at('whole-dataset detectors in'),
        at('report'),
        kind('map'),
        kind('lsh'),
        `${kind('detector')}${split ? `, folds ${kind('fold')}` : ''}`,
      ];
    };
    const body =
      `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; Redis on the same machine. ${n.toLocaleString('en-US')} generated rows (30 tokens, 3 labels, 7 sources), all detectors${split ? ', confident learning split into fold jobs (`--split-folds`)' : ''}; ${results[0]?.jobs ?? ''}. 1-minute load average before the runs: ${loads.map((l) => l.toFixed(1)).join(', ')}.\n\n` +
      table(
        ['scan', 'wall', 'vs 1 worker', 'coordinator peak RSS', 'worker peak RSS (each)', 'report'],
        [
          ['single process (`cordon scan`)', sec(single.ms), '', ms(single), '', 'reference'],
          ...results.map((r) => [
            `${r.workers} worker process${r.workers === 1 ? '' : 'es'}`,
            sec(r.run.ms),
            `${(base / r.run.ms).toFixed(2)}×`,
            ms(r.run),
            r.rss.map(mib).join(', '),
            r.same ? 'identical' : '**different**',
          ]),
        ],
      ) +
      "\nWhere the time went (the coordinator's timeline: seconds from its start; worker time summed over jobs, wall and, of it, computing):\n\n" +
      table(
        [
          'workers',
          'rows read',
          'maps in',
          'LSH in',
          'whole-dataset detectors in',
          'report',
          'map jobs',
          'LSH jobs',
          'detector jobs',
        ],
        results.map((r) => [String(r.workers), ...timelineCells(r.timeline)]),
      );
    log('\n' + body);
    if (values.write) {
      const doc = readFileSync(DOC, 'utf8');
      const block = `${BEGIN}\n\n${body}\n${END}`;
      const b = doc.indexOf(BEGIN);
      const e = doc.indexOf(END);
      writeFileSync(
        DOC,
        b >= 0 && e > b
          ? doc.slice(0, b) + block + doc.slice(e + END.length)
          : `${doc.trimEnd()}\n\n## Distributed scans (\`npm run bench:distributed\`)\n\n${block}\n`,
      );
      log(`wrote ${DOC}`);
    }
  } finally {
    if (values.keep) log(`kept ${scratch}`);
    else rmSync(scratch, { recursive: true, force: true });
  }
}

const roleAt = process.argv.indexOf('--role');
if (roleAt === 2) {
  await childRole(process.argv[3] ?? '', process.argv.slice(4));
} else {
  process.on('SIGINT', () => {
    killActive();
    process.exit(130);
  });
  await main();
}
