import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ScanReport } from '../src/core/scan/report.js';
import { cli } from './helpers/cli.js';
import { tempDir } from './helpers/workspace.js';

const BIN = join(import.meta.dirname, '../bin/cordon.js');
const WORKER = join(import.meta.dirname, '../dist/src/engine/scan/detector-worker.js');
const SAMPLE = join(import.meta.dirname, '../data/spamassassin/sample.jsonl.gz');

let dir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});
afterEach(() => cleanup());

const findings = (r: ScanReport): unknown => ({
  issues: r.issues,
  triggers: r.triggers,
  sources: r.sources,
  counts: r.summary.counts,
});

it('gives the same findings with detectors in worker threads as all in one thread', async () => {
  expect(
    existsSync(WORKER),
    'run "npm run build" first: worker threads need the compiled detectors',
  ).toBe(true);
  const poisoned = await cli(
    dir,
    'poison',
    SAMPLE,
    '--out',
    'p.jsonl',
    '--attack',
    'flip:0.03',
    '--attack',
    'token:zq:0.01:ham',
  );
  expect(poisoned.status).toBe(0);
  // The built binary offloads the heavy detectors to worker threads.
  const child = spawnSync(process.execPath, [BIN, 'scan', 'p.jsonl', '--json', 'threads.json'], {
    cwd: dir,
    encoding: 'utf8',
  });
  expect(child.status, child.stderr).toBe(0);
  // Under the TypeScript test runner everything runs in this thread.
  expect((await cli(dir, 'scan', 'p.jsonl', '--json', 'inline.json')).status).toBe(0);
  const threads = JSON.parse(readFileSync(join(dir, 'threads.json'), 'utf8')) as ScanReport;
  const inline = JSON.parse(readFileSync(join(dir, 'inline.json'), 'utf8')) as ScanReport;
  expect(threads.triggers.length).toBe(1);
  expect(findings(threads)).toEqual(findings(inline));
});
