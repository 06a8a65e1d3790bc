import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli, cliJson } from './helpers/cli.js';
import { tempDir } from './helpers/workspace.js';

const BIN = join(import.meta.dirname, '../bin/cordon.js');
const BUILT = join(import.meta.dirname, '../dist/src/cli/main.js');

let dir: string;
let cleanup: () => void;

function writeRows(file: string, n: number): void {
  const lines: string[] = [];
  for (let i = 0; i < n; i++)
    lines.push(
      JSON.stringify({
        id: `r${i}`,
        label: i % 2 ? 'a' : 'b',
        source: 's',
        text: `row ${i} ${'x'.repeat(150)}`,
      }),
    );
  writeFileSync(file, lines.join('\n') + '\n');
}

function countObjects(ws: string): number {
  const base = join(ws, 'objects', 'sha256');
  if (!existsSync(base)) return 0;
  return readdirSync(base).reduce((n, d) => n + readdirSync(join(base, d)).length, 0);
}

beforeEach(async () => {
  expect(existsSync(BUILT), 'run "npm run build" first: the crash tests run the real binary').toBe(
    true,
  );
  ({ dir, cleanup } = tempDir());
  expect((await cli(dir, 'init', '--identity', 'alice')).status).toBe(0);
  writeRows(join(dir, 'one.jsonl'), 3000);
  writeRows(join(dir, 'two.jsonl'), 5000);
  expect((await cli(dir, 'ingest', 'd', 'one.jsonl')).status).toBe(0);
});
afterEach(() => cleanup());

describe('a commit killed with SIGKILL', () => {
  it.each(['after-segments', 'after-manifest', 'before-publish', 'after-publish'])(
    'at %s leaves no snapshot, a store that verifies, and no staged leftovers once reopened',
    async (point) => {
      const before = countObjects(join(dir, '.cordon'));
      const child = spawnSync(process.execPath, [BIN, 'ingest', 'd', 'two.jsonl'], {
        cwd: dir,
        env: { ...process.env, CORDON_FAULT: point },
        encoding: 'utf8',
      });
      expect(child.signal).toBe('SIGKILL');
      const staged = readdirSync(join(dir, '.cordon', 'objects', 'staging'));
      // Before publish nothing has reached a final name; after it, only complete objects have.
      if (point !== 'after-publish') expect(countObjects(join(dir, '.cordon'))).toBe(before);
      else expect(staged).toHaveLength(0);
      const log = await cliJson<{ version: number }[]>(dir, 'log', 'd');
      expect(log.map((s) => s.version)).toEqual([1]);
      const v = await cli(dir, 'verify');
      expect(v.status).toBe(0);
      expect(readdirSync(join(dir, '.cordon', 'objects', 'staging'))).toHaveLength(0);
      // The next commit goes through.
      expect((await cli(dir, 'ingest', 'd', 'two.jsonl')).status).toBe(0);
    },
  );

  it('at the moment the row is committed is all there: the new snapshot verifies', async () => {
    const child = spawnSync(process.execPath, [BIN, 'ingest', 'd', 'two.jsonl'], {
      cwd: dir,
      env: { ...process.env, CORDON_FAULT: 'after-commit' },
      encoding: 'utf8',
    });
    expect(child.signal).toBe('SIGKILL');
    const log = await cliJson<{ version: number }[]>(dir, 'log', 'd');
    expect(log.map((s) => s.version)).toEqual([1, 2]);
    expect((await cli(dir, 'verify')).status).toBe(0);
  });

  it('at random moments never leaves a partial snapshot', async () => {
    writeRows(join(dir, 'big.jsonl'), 60_000);
    for (const delay of [50, 150, 300, 500, 800]) {
      const child = spawn(process.execPath, [BIN, 'ingest', 'd', 'big.jsonl'], {
        cwd: dir,
        stdio: 'ignore',
      });
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const v = await cli(dir, 'verify');
      expect(v.status, v.stderr).toBe(0);
    }
    const log = await cliJson<{ record_count: number }[]>(dir, 'log', 'd');
    for (const s of log) expect([3000, 60_000]).toContain(s.record_count);
  });
});
