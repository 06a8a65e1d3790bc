import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli, cliJson } from './helpers/cli.js';
import { tempDir } from './helpers/workspace.js';

const FIXTURE = join(import.meta.dirname, 'fixtures/spam-100.jsonl');
let dir: string;
let cleanup: () => void;

beforeEach(async () => {
  ({ dir, cleanup } = tempDir());
  expect((await cli(dir, 'init', '--identity', 'alice')).status).toBe(0);
  copyFileSync(FIXTURE, join(dir, 'mail.jsonl'));
});
afterEach(() => cleanup());

interface Snap {
  snapshot: string;
  version: number;
  records: number;
  root: string;
}

describe('cordon CLI', () => {
  it('init refuses an existing workspace', async () => {
    const r = await cli(dir, 'init');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/WORKSPACE_EXISTS/);
  });

  it('commands outside a workspace say how to make one', async () => {
    const other = tempDir();
    try {
      const r = await cli(other.dir, 'datasets');
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/no Cordon workspace .*run "cordon init"/);
    } finally {
      other.cleanup();
    }
  });

  it('ingests, lists, shows, diffs, tags and rolls back', async () => {
    const v1 = await cliJson<Snap>(dir, 'ingest', 'mail', 'mail.jsonl');
    expect(v1).toMatchObject({ version: 1, records: 100 });
    const lines = readFileSync(join(dir, 'mail.jsonl'), 'utf8').trim().split('\n');
    const changed = lines
      .slice(0, 10)
      .map((l) => JSON.stringify({ ...(JSON.parse(l) as object), label: 'spam' }));
    writeFileSync(
      join(dir, 'feed.jsonl'),
      [
        ...changed,
        JSON.stringify({ id: 'new-1', label: 'spam', source: 'partner', text: 'buy' }),
      ].join('\n'),
    );
    const v2 = await cliJson<Snap>(dir, 'ingest', 'mail', 'feed.jsonl', '--append');
    expect(v2).toMatchObject({ version: 2, records: 101 });

    const d = await cliJson<{
      added: number;
      changed: number;
      removed: number;
      labelChanges: unknown[];
      bySource: { source: string; added: number }[];
    }>(dir, 'diff', 'mail@1', 'mail@2');
    expect(d).toMatchObject({
      added: 1,
      changed: 10,
      removed: 0,
      labelChanges: [{ from: 'ham', to: 'spam', records: 10 }],
    });
    expect(d.bySource.find((s) => s.source === 'partner')?.added).toBe(1);
    const text = await cli(dir, 'diff', 'mail@1', 'mail@2');
    expect(text.stdout).toMatch(/\+1 added\s+-0 removed\s+~10 changed/);
    expect(text.stdout).toMatch(/ham\s+spam\s+10/);

    expect((await cli(dir, 'tag', 'mail@1', 'known-good')).status).toBe(0);
    const rb = await cli(
      dir,
      'rollback',
      'mail',
      '--to',
      'mail@known-good',
      '--reason',
      'bad feed',
    );
    expect(rb.status).toBe(0);
    const ds = await cliJson<{ dataset: string; current: string }[]>(dir, 'datasets');
    expect(ds).toEqual([expect.objectContaining({ dataset: 'mail', current: 'mail@1' })]);
    const events = await cliJson<{ kind: string; detail: { reason?: string } }[]>(
      dir,
      'audit',
      'show',
      '--dataset',
      'mail',
    );
    expect(events.map((e) => e.kind)).toEqual([
      'snapshot.ingest',
      'snapshot.ingest',
      'snapshot.tag',
      'dataset.rollback',
    ]);
    expect(events[3]?.detail.reason).toBe('bad feed');
    // Nothing was deleted.
    expect((await cli(dir, 'show', 'mail@2')).status).toBe(0);
    const log = await cli(dir, 'log', 'mail');
    expect(log.stdout).toMatch(/^\*\s+1\s/m);
  });

  it('records transforms and merges and exports lineage', async () => {
    await cliJson<Snap>(dir, 'ingest', 'a', 'mail.jsonl');
    const half = readFileSync(join(dir, 'mail.jsonl'), 'utf8').trim().split('\n').slice(0, 50);
    writeFileSync(join(dir, 'half.jsonl'), half.join('\n'));
    writeFileSync(join(dir, 'clean.py'), 'print("clean")\n');
    await cliJson<Snap>(
      dir,
      'transform',
      'b',
      'half.jsonl',
      '--from',
      'a',
      '--command',
      'python clean.py',
      '--code',
      'clean.py',
      '--param',
      'keep=50',
    );
    const m = await cliJson<Snap>(dir, 'merge', 'c', 'a', 'b');
    expect(m.records).toBe(100);
    const text = await cli(dir, 'lineage', 'c');
    expect(text.stdout).toMatch(/c@1/);
    expect(text.stdout).toMatch(/see above/);
    const ol = await cli(dir, 'lineage', 'c', '--format', 'openlineage');
    const events = ol.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { eventType: string; job: { name: string } });
    expect(events.map((e) => e.eventType)).toEqual(expect.arrayContaining(['START', 'COMPLETE']));
    expect(events.map((e) => e.job.name)).toEqual(
      expect.arrayContaining(['cordon.merge.c', 'cordon.transform.b', 'cordon.ingest.a']),
    );
    const slsa = await cli(dir, 'lineage', 'b', '--format', 'slsa');
    const env = JSON.parse(slsa.stdout.trim().split('\n')[0]!) as { payload: string };
    const statement = JSON.parse(Buffer.from(env.payload, 'base64').toString()) as {
      predicateType: string;
    };
    expect(statement.predicateType).toBe('https://slsa.dev/provenance/v1');
  });

  it('refuses a conflicting merge unless told how to resolve it', async () => {
    await cliJson<Snap>(dir, 'ingest', 'a', 'mail.jsonl');
    const lines = readFileSync(join(dir, 'mail.jsonl'), 'utf8').trim().split('\n');
    lines[0] = JSON.stringify({ ...(JSON.parse(lines[0]!) as object), label: 'spam' });
    writeFileSync(join(dir, 'b.jsonl'), lines.join('\n'));
    await cliJson<Snap>(dir, 'ingest', 'b', 'b.jsonl');
    const r = await cli(dir, 'merge', 'c', 'a', 'b');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/MERGE_CONFLICT.*differs between a@1 and b@1/);
    expect((await cli(dir, 'merge', 'c', 'a', 'b', '--on-conflict', 'last')).status).toBe(0);
  });

  it('exports, verifies, and fails closed on a tampered export with exit 1', async () => {
    await cliJson<Snap>(dir, 'ingest', 'mail', 'mail.jsonl');
    expect(
      (await cli(dir, 'export', 'mail', '--out', 'out', '--parquet', '--override-gate', 'fixture'))
        .status,
    ).toBe(0);
    const ok = await cli(dir, 'verify', 'out', '--key', '.cordon/keys/alice.pub');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^OK mail@1/);
    const file = join(dir, 'out', 'records.jsonl');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"label":"ham"', '"label":"spam"'));
    const bad = await cli(dir, 'verify', 'out', '--key', '.cordon/keys/alice.pub');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(
      /verification failed \[VERIFY_FAILED\]: records.jsonl line 1, record "[^"]+": content SHA-256 is/,
    );
  });

  it('verifies every stored snapshot and proves a record is included', async () => {
    await cliJson<Snap>(dir, 'ingest', 'mail', 'mail.jsonl');
    const v = await cli(dir, 'verify');
    expect(v.stdout).toMatch(/OK mail@1 .*100 records/);
    const first = (
      JSON.parse(readFileSync(join(dir, 'mail.jsonl'), 'utf8').split('\n')[0]!) as { id: string }
    ).id;
    const p = await cliJson<{ verified: boolean; proof: string[]; treeSize: number }>(
      dir,
      'proof',
      'mail',
      first,
    );
    expect(p.verified).toBe(true);
    expect(p.proof.length).toBe(7); // ceil(log2(100))
    expect((await cli(dir, 'proof', 'mail', 'nope')).stderr).toMatch(/RECORD_NOT_FOUND/);
  });

  it('leaves the store unchanged on bad input, naming file, line and field', async () => {
    writeFileSync(
      join(dir, 'bad.jsonl'),
      '{"id":"1","label":"ham","text":"ok"}\n{"id":"2","label":"ham","text":5}\n',
    );
    const r = await cli(dir, 'ingest', 'mail', 'bad.jsonl');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/bad\.jsonl, line 2, field "text"/);
    expect(await cliJson<unknown[]>(dir, 'datasets')).toEqual([]);
  });
});

describe('Parquet exports', () => {
  it('verifies records.parquet and names a changed row', async () => {
    await cliJson<Snap>(dir, 'ingest', 'mail', 'mail.jsonl');
    expect(
      (await cli(dir, 'export', 'mail', '--out', 'out', '--parquet', '--override-gate', 'fixture'))
        .status,
    ).toBe(0);
    expect((await cli(dir, 'verify', 'out')).status).toBe(0);
    // Re-write the Parquet file with one label changed in the convenience column.
    const { parquetReadObjects, asyncBufferFromFile } = await import('hyparquet');
    const { parquetWriteFile } = await import('hyparquet-writer');
    const file = join(dir, 'out', 'records.parquet');
    const rows = (await parquetReadObjects({ file: await asyncBufferFromFile(file) })) as Record<
      string,
      string | null
    >[];
    rows[3] = { ...rows[3]!, label: rows[3]!['label'] === 'ham' ? 'spam' : 'ham' };
    parquetWriteFile({
      filename: file,
      columnData: ['record', 'id', 'label', 'source', 'text'].map((name) => ({
        name,
        data: rows.map((r) => r[name] ?? null),
        type: 'STRING' as const,
      })),
    });
    const bad = await cli(dir, 'verify', 'out');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(
      /records.parquet row 3, record "[^"]+": column label differs from the record/,
    );
  });
});

describe('--json', () => {
  it('is accepted before and after the command', async () => {
    await cliJson<Snap>(dir, 'ingest', 'mail', 'mail.jsonl');
    const after = await cli(dir, 'datasets', '--json');
    const before = await cli(dir, '--json', 'datasets');
    expect(JSON.parse(after.stdout)).toEqual(JSON.parse(before.stdout));
  });
});
