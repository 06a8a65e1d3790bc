import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { defaultPlan } from '../../src/core/scan/registry.js';
import type { ScanReport } from '../../src/core/scan/report.js';
import { runDistributedScan } from '../../src/engine/scan/distributed/coordinator.js';
import { rowsFromSnapshot } from '../../src/engine/scan/load-rows.js';
import { runScan } from '../../src/engine/scan/run-scan.js';
import type { Workspace } from '../../src/engine/workspace.js';
import type { SnapshotRow } from '../../src/store/metadata-store.js';
import { commit, tempWorkspace } from '../helpers/workspace.js';
import {
  describeRedis,
  dropPrefix,
  keysUnder,
  poisonedRows,
  testRedis,
  uniquePrefix,
  withoutTimings,
} from './helpers.js';

const redis = await testRedis();
const ROOT = join(import.meta.dirname, '../..');
const CHILD = join(import.meta.dirname, 'worker-child.mjs');

/** Fails with a clear message when the compiled build is missing or older than the sources. */
function checkBuild(): void {
  const pairs: [string, string][] = [
    ['src/cli/commands/worker.ts', 'dist/src/cli/commands/worker.js'],
  ];
  for (const dir of ['src/engine/scan/distributed', 'src/core/scan'])
    for (const f of readdirSync(join(ROOT, dir)))
      if (f.endsWith('.ts') && !f.endsWith('.test.ts'))
        pairs.push([join(dir, f), join('dist', dir, f.replace(/\.ts$/, '.js'))]);
  for (const [src, out] of pairs) {
    expect(existsSync(join(ROOT, out)), `run "npm run build" first: ${out} is missing`).toBe(true);
    expect(
      statSync(join(ROOT, out)).mtimeMs >= statSync(join(ROOT, src)).mtimeMs,
      `run "npm run build" first: ${out} is older than ${src}`,
    ).toBe(true);
  }
}

interface Child {
  proc: ChildProcess;
  output: () => string;
  waitFor: (pattern: RegExp, ms?: number) => Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: Child[] = [];

function startWorker(
  workspace: string,
  url: string,
  prefix: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Child {
  const proc = spawn(
    process.execPath,
    [
      CHILD,
      '-w',
      workspace,
      'worker',
      '--prefix',
      prefix,
      '--lock-duration',
      '2000',
      '--stalled-interval',
      '1000',
      ...args,
    ],
    { env: { ...process.env, CORDON_REDIS_URL: url, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const onData = (d: Buffer): void => {
    out += d.toString('utf8');
    for (const w of waiters.splice(0)) {
      if (w.pattern.test(out)) w.resolve();
      else waiters.push(w);
    }
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const child: Child = {
    proc,
    output: () => out,
    waitFor: (pattern, ms = 20_000) =>
      new Promise<void>((resolve, reject) => {
        if (pattern.test(out)) return resolve();
        const timer = setTimeout(
          () => reject(new Error(`worker never printed ${pattern}; output:\n${out}`)),
          ms,
        );
        waiters.push({
          pattern,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
        void exited.then(() => {
          if (!pattern.test(out)) {
            clearTimeout(timer);
            reject(new Error(`worker exited before printing ${pattern}; output:\n${out}`));
          }
        });
      }),
    exited,
  };
  children.push(child);
  return child;
}

describeRedis(redis, 'distributed scan with worker processes', (url) => {
  let ws: Workspace;
  let snapshot: SnapshotRow;
  let cleanup: () => Promise<void>;
  let single: ScanReport;
  const prefixes: string[] = [];

  beforeAll(async () => {
    checkBuild();
    ({ ws, cleanup } = await tempWorkspace());
    snapshot = await commit(ws, 'mail', await poisonedRows());
    single = await runScan(await rowsFromSnapshot(ws, snapshot), defaultPlan());
  });
  afterEach(() => {
    for (const c of children.splice(0)) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
  });
  afterAll(async () => {
    for (const p of prefixes) await dropPrefix(url, p);
    await cleanup();
  });

  it('two worker processes (label folds split) give the single-process report and stop cleanly on SIGTERM', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const workers = [0, 1].map(() => startWorker(ws.dir, url, prefix));
    await Promise.all(workers.map((w) => w.waitFor(/ready: queue scan-/)));
    const result = await runDistributedScan(ws, snapshot, {
      redisUrl: url,
      prefix,
      shards: 4,
      partitions: 2,
      splitFolds: true,
    });
    expect(JSON.stringify(withoutTimings(result.report))).toBe(
      JSON.stringify(withoutTimings(single)),
    );
    // Both processes took part.
    expect(new Set(result.jobs.map((j) => j.worker)).size).toBe(2);
    for (const w of workers) w.proc.kill('SIGTERM');
    for (const w of workers) {
      expect(await w.exited).toEqual({ code: 0, signal: null });
      expect(w.output()).toMatch(/finishing running jobs, then stopping[\s\S]*stopped/);
    }
  });

  it('retries the shard of a worker killed mid-shard on another worker, counting nothing twice', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    // This worker kills itself with SIGKILL in the middle of its first shard, after writing part
    // of the shard's results.
    const doomed = startWorker(ws.dir, url, prefix, [], { CORDON_FAULT: 'scan-map' });
    await doomed.waitFor(/ready: queue scan-/);
    const scan = runDistributedScan(ws, snapshot, {
      redisUrl: url,
      prefix,
      shards: 4,
      partitions: 2,
    });
    scan.catch(() => undefined);
    expect(await doomed.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const killedIn = /started (\S+-map-\d+)\n(?![\s\S]*finished \1)/.exec(doomed.output())?.[1];
    expect(killedIn, doomed.output()).toBeDefined();
    // A second worker takes over once the dead worker's lock has expired.
    const rescuer = startWorker(ws.dir, url, prefix, ['--concurrency', '2']);
    const result = await scan;
    expect(JSON.stringify(withoutTimings(result.report))).toBe(
      JSON.stringify(withoutTimings(single)),
    );
    const retried = result.jobs.filter((j) => j.attemptsStarted > 1);
    expect(retried.map((j) => j.id)).toEqual([killedIn]);
    expect(retried[0]!.stalled).toBe(1);
    expect(retried[0]!.worker).toBe(`${hostname()}:${rescuer.proc.pid}`);
    expect(rescuer.output()).toContain(`finished ${killedIn!}`);
    // One issue per (detector, kind, row), as in the single-process report.
    const keys = result.report.issues.map((i) => `${String(i.detail.detector)}|${i.kind}|${i.row}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(await keysUnder(url, `${prefix}:scan-data:*`)).toEqual([]);
    rescuer.proc.kill('SIGTERM');
    expect(await rescuer.exited).toEqual({ code: 0, signal: null });
  });
});
