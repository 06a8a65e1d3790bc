import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { registerScanDistributed } from '../../src/cli/commands/scan-distributed.js';
import type { Io } from '../../src/cli/io.js';
import { defaultPlan } from '../../src/core/scan/registry.js';
import type { ScanReport } from '../../src/core/scan/report.js';
import {
  runDistributedScan,
  type DistributedProgress,
} from '../../src/engine/scan/distributed/coordinator.js';
import { loadSnapshotRows } from '../../src/engine/scan/distributed/rows.js';
import {
  startScanWorker,
  type ScanWorkerHandle,
} from '../../src/engine/scan/distributed/worker.js';
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

describeRedis(redis, 'distributed scan with in-process workers', (url) => {
  let ws: Workspace;
  let snapshot: SnapshotRow;
  let cleanup: () => Promise<void>;
  let single: ScanReport;
  const prefixes: string[] = [];

  beforeAll(async () => {
    ({ ws, cleanup } = await tempWorkspace());
    const rows = await poisonedRows();
    snapshot = await commit(ws, 'mail', rows);
    single = await runScan(await rowsFromSnapshot(ws, snapshot), defaultPlan());
  });
  afterAll(async () => {
    for (const p of prefixes) await dropPrefix(url, p);
    await cleanup();
  });

  it('has poison that crosses shards in the single-process report', async () => {
    const { rows } = await loadSnapshotRows(ws, snapshot);
    expect(single.triggers[0]).toMatchObject({ pattern: 'zq', label: 'ham' });
    for (const kind of ['label', 'secret', 'near_duplicate'] as const)
      expect(single.summary.counts[kind]).toBeGreaterThan(0);
    // Near-duplicate copies are appended at the end; their representatives are spread out, so
    // with 3 shards most clusters span shards.
    const index = new Map(rows.map((r, i) => [r.id, i]));
    const shardOf = (id: string): number => Math.floor((3 * index.get(id)!) / rows.length);
    const spanning = single.issues.filter(
      (i) =>
        i.detail.detector === 'dup/minhash' &&
        shardOf(i.row) !== shardOf(String(i.detail.representative)),
    );
    expect(spanning.length).toBeGreaterThan(10);
  });

  it('reads the rows in the order a single-process scan does', async () => {
    const ours = await loadSnapshotRows(ws, snapshot);
    expect(ours.rows).toEqual(await rowsFromSnapshot(ws, snapshot));
    expect(ours.layout.rows).toBe(ours.rows.length);
  });

  it('gives the single-process report for a subset of detectors with a baseline', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const plan = {
      only: ['dup/exact', 'dup/minhash', 'outlier/knn', 'leak/secrets', 'drift/class-balance'],
      baseline: { ham: 1000, spam: 1000 },
    };
    const rows = await rowsFromSnapshot(ws, snapshot);
    const reference = await runScan(rows, defaultPlan(plan));
    const worker = await startScanWorker({ redisUrl: url, workspace: ws, prefix });
    try {
      const result = await runDistributedScan(ws, snapshot, {
        redisUrl: url,
        prefix,
        shards: 4,
        plan,
      });
      expect(JSON.stringify(withoutTimings(result.report))).toBe(
        JSON.stringify(withoutTimings(reference)),
      );
      expect(result.report.summary.detectors.map((d) => d.id)).toEqual(plan.only);
    } finally {
      await worker.close();
    }
  });

  it('runs as "cordon scan-distributed", writes the report and records the scan', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const worker = await startScanWorker({ redisUrl: url, workspace: ws, prefix });
    const out = join(dirname(ws.dir), 'report.json');
    let stdout = '';
    let stderr = '';
    const io: Io = {
      stdout: (t) => void (stdout += t),
      stderr: (t) => void (stderr += t),
      env: { CORDON_REDIS_URL: url },
      cwd: dirname(ws.dir),
      interactive: false,
    };
    const program = new Command('cordon')
      .option('-w, --workspace <dir>')
      .enablePositionalOptions()
      .exitOverride();
    registerScanDistributed(program, io);
    const before = (await ws.meta.listScans(snapshot.id)).length;
    // The cheaper detectors (the full plan is compared above): this checks the command.
    const detectors = ['dup/exact', 'dup/minhash', 'leak/secrets', 'leak/pii'];
    const reference = await runScan(
      await rowsFromSnapshot(ws, snapshot),
      defaultPlan({ only: detectors }),
    );
    try {
      await program.parseAsync(
        [
          '-w',
          ws.dir,
          'scan-distributed',
          'mail',
          '--prefix',
          prefix,
          '--shards',
          '2',
          '--detectors',
          detectors.join(','),
          '--json',
          out,
        ],
        { from: 'user' },
      );
    } finally {
      await worker.close();
    }
    expect(stderr).toBe('');
    expect(stdout).toMatch(/Recorded signed scan [0-9a-f]{12} of mail@1/);
    expect(stdout).toMatch(/2 shard\(s\), \d+ jobs on 1 worker\(s\)/);
    const written = JSON.parse(readFileSync(out, 'utf8')) as ScanReport;
    expect(written.summary.counts.near_duplicate).toBeGreaterThan(0);
    expect(written.summary.counts.secret).toBeGreaterThan(0);
    expect(JSON.stringify(withoutTimings(written))).toBe(
      JSON.stringify(withoutTimings(JSON.parse(JSON.stringify(reference)) as ScanReport)),
    );
    expect((await ws.meta.listScans(snapshot.id)).length).toBe(before + 1);
  });

  it.each([
    [1, 1, 1, false],
    [2, 3, 2, false],
    [3, 5, 3, true],
  ])(
    'with %i worker(s), %i shard(s), %i LSH partition(s) (label folds split: %s) gives the single-process report',
    async (workers, shards, partitions, splitFolds) => {
      const prefix = uniquePrefix();
      prefixes.push(prefix);
      const handles: ScanWorkerHandle[] = [];
      for (let w = 0; w < workers; w++)
        handles.push(
          await startScanWorker({ redisUrl: url, workspace: ws, prefix, name: `w${w}` }),
        );
      const progress: DistributedProgress[] = [];
      try {
        const result = await runDistributedScan(ws, snapshot, {
          redisUrl: url,
          prefix,
          shards,
          partitions,
          splitFolds,
          onProgress: (p) => progress.push(p),
        });
        expect(withoutTimings(result.report)).toEqual(withoutTimings(single));
        expect(JSON.stringify(withoutTimings(result.report))).toBe(
          JSON.stringify(withoutTimings(single)),
        );
        expect(result.shards).toBe(shards);
        // Progress: from 0 to 1, never backwards, through the phases.
        expect(progress.length).toBeGreaterThan(3);
        expect(progress.at(-1)).toMatchObject({ phase: 'done', fraction: 1 });
        for (let i = 1; i < progress.length; i++)
          expect(progress[i]!.fraction).toBeGreaterThanOrEqual(progress[i - 1]!.fraction);
        // Workers' own progress comes through while jobs run, not only at their end.
        expect(
          progress.some((p) => p.jobsDone < p.jobsTotal && p.fraction > 0.05 && p.fraction < 0.9),
        ).toBe(true);
        expect(new Set(progress.map((p) => p.phase))).toEqual(
          new Set(['load', 'queued', 'map', 'lsh', 'merge', 'done']),
        );
        // Every job ran once and the scan's data is gone.
        expect(result.jobs.every((j) => j.attemptsStarted === 1)).toBe(true);
        expect(await keysUnder(url, `${prefix}:scan-data:*`)).toEqual([]);
      } finally {
        for (const h of handles) await h.close();
      }
    },
  );
});
