import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ScanReport } from '../src/core/scan/report.js';
import { cli } from './helpers/cli.js';
import { tempDir } from './helpers/workspace.js';

const SAMPLE = join(import.meta.dirname, '../data/spamassassin/sample.jsonl.gz');
let dir: string;
let cleanup: () => void;

beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});
afterEach(() => cleanup());

const read = (file: string): ScanReport =>
  JSON.parse(readFileSync(join(dir, file), 'utf8')) as ScanReport;

describe('cordon scan', () => {
  it('finds a planted trigger, flips, secrets and the poisoned source, and writes both reports', async () => {
    const p = await cli(
      dir,
      'poison',
      SAMPLE,
      '--out',
      'p.jsonl',
      '--truth',
      't.json',
      '--attack',
      'flip:0.03',
      '--attack',
      'token:zq:0.01:ham',
      '--attack',
      'secrets:7',
      '--attack',
      'source:partner-feed',
      '--seed',
      '3',
    );
    expect(p.status, p.stderr).toBe(0);
    const r = await cli(
      dir,
      'scan',
      'p.jsonl',
      '--json',
      'r.json',
      '--html',
      'r.html',
      '--fail-on',
      'triggers',
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /scan failed \[FINDINGS\]: --fail-on triggers: 1 trigger pattern\(s\), first "zq" → ham/,
    );
    const report = read('r.json');
    expect(report.schema).toBe('cordon.scan/v1');
    expect(report.rows).toBe(3023);
    expect(report.triggers[0]).toMatchObject({ pattern: 'zq', label: 'ham' });
    expect(report.sources[0]).toMatchObject({ source: 'partner-feed', suspicious: true });
    const truth = JSON.parse(readFileSync(join(dir, 't.json'), 'utf8')) as {
      rows: Record<string, string[]>;
    };
    const secretRows = Object.entries(truth.rows)
      .filter(([, k]) => k.includes('secret'))
      .map(([id]) => id);
    const flagged = new Set(report.issues.filter((i) => i.kind === 'secret').map((i) => i.row));
    for (const id of secretRows) expect(flagged.has(id), id).toBe(true);
    // Every issue follows the contract.
    for (const i of report.issues) {
      expect(i.score).toBeGreaterThanOrEqual(0);
      expect(i.score).toBeLessThanOrEqual(1);
      expect(typeof i.detail['detector']).toBe('string');
    }
    // No raw secret reaches either report.
    const poisoned = readFileSync(join(dir, 'p.jsonl'), 'utf8');
    const ghp = /ghp_[A-Za-z0-9]{36}/.exec(poisoned)?.[0];
    expect(ghp).toBeDefined();
    expect(readFileSync(join(dir, 'r.json'), 'utf8')).not.toContain(ghp!);
    const html = readFileSync(join(dir, 'r.html'), 'utf8');
    expect(html).not.toContain(ghp!);
    expect(html).toMatch(/<svg/);
    expect(html).not.toMatch(/<script/);
  });

  it('reports nothing alarming on the clean sample and passes its --fail-on', async () => {
    const r = await cli(
      dir,
      'scan',
      SAMPLE,
      '--json',
      'clean.json',
      '--fail-on',
      'triggers,sources,conflicting_label',
    );
    expect(r.status, r.stderr).toBe(0);
    const report = read('clean.json');
    expect(report.triggers).toEqual([]);
    expect(report.summary.suspiciousSources).toEqual([]);
    expect(report.summary.counts.label).toBeLessThan(10);
  });

  it('says which detectors it skipped and why, and names rows by index when ids are missing', async () => {
    writeFileSync(
      join(dir, 'tiny.jsonl'),
      ['{"text":"hello there"}', '{"text":"hello there"}', '{"text":"something else"}'].join('\n'),
    );
    const r = await cli(dir, 'scan', 'tiny.jsonl', '--json', 'tiny.json');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/skipped label\/confident-learning: /);
    const report = read('tiny.json');
    expect(report.issues.find((i) => i.kind === 'exact_duplicate')?.row).toBe('1');
  });

  it('scans a stored snapshot and records a signed scan event', async () => {
    expect((await cli(dir, 'init', '--identity', 'alice')).status).toBe(0);
    expect(
      (await cli(dir, 'ingest', 'mail', join(import.meta.dirname, 'fixtures/spam-100.jsonl')))
        .status,
    ).toBe(0);
    const r = await cli(dir, 'scan', 'mail', '--baseline', 'mail@1');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Recorded signed scan [0-9a-f]{12} of mail@1/);
    const events = JSON.parse(
      (await cli(dir, 'audit', 'show', '--dataset', 'mail', '--json')).stdout,
    ) as {
      kind: string;
    }[];
    expect(events.map((e) => e.kind)).toContain('snapshot.scan');
  });

  it('refuses unknown detectors and bad --fail-on rules before scanning', async () => {
    expect((await cli(dir, 'scan', SAMPLE, '--detectors', 'nope')).stderr).toMatch(
      /unknown detector\(s\) nope/,
    );
    expect((await cli(dir, 'scan', SAMPLE, '--fail-on', 'label>x')).stderr).toMatch(
      /--fail-on: "label>x"/,
    );
  });
});
