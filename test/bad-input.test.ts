import { createHash } from 'node:crypto';
import { cpSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parquetWriteFile } from 'hyparquet-writer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { tempDir } from './helpers/workspace.js';

const INPUTS = join(import.meta.dirname, 'fixtures/inputs');
let dir: string;
let cleanup: () => void;

/** Hash of every file in the workspace except SQLite's WAL side files, to prove nothing changed. */
function fingerprint(ws: string): string {
  const h = createHash('sha256');
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (!/cordon\.db-(wal|shm)$/.test(name))
        h.update(relative(ws, p)).update(readFileSync(p));
    }
  };
  walk(ws);
  return h.digest('hex');
}

beforeEach(async () => {
  ({ dir, cleanup } = tempDir());
  cpSync(INPUTS, join(dir, 'in'), { recursive: true });
  expect((await cli(dir, 'init', '--identity', 'alice')).status).toBe(0);
  expect((await cli(dir, 'ingest', 'mail', 'in/good.jsonl')).status).toBe(0);
});
afterEach(() => cleanup());

describe('bad input is refused with file, line or row, and field; the store is unchanged', () => {
  const cases: [string, RegExp][] = [
    ['in/malformed.jsonl', /malformed\.jsonl, line \d+: /],
    ['in/wrong-types.jsonl', /wrong-types\.jsonl, line \d+, field "\w+"/],
    ['in/missing-label.jsonl', /missing-label\.jsonl, line \d+, field "label"/],
    ['in/empty.jsonl', /empty\.jsonl: file is empty/],
    ['in/ragged.csv', /ragged\.csv, line \d+: .*expected \d+ .*found \d+/],
    ['in/missing-label-column.csv', /missing-label-column\.csv.*"label"/],
    ['in/nan.csv', /nan\.csv, line 2, field "x2"/],
    ['in/folder-escape', /PATH_ESCAPES.*labels\.csv, line \d+/],
    ['in/dupes.jsonl', /duplicate record id "a" at .*dupes\.jsonl:1 and .*dupes\.jsonl:3/],
    ['in/bad-utf8.jsonl', /bad-utf8\.jsonl, line 2: .*UTF-8/],
    ['in/truncated.parquet', /truncated\.parquet: .*(Parquet|truncated)/i],
    ['in/missing.jsonl', /INPUT_NOT_FOUND/],
  ];

  it.each(cases)('%s', async (input, message) => {
    writeFileSync(
      join(dir, 'in/dupes.jsonl'),
      [
        '{"id":"a","label":"x","text":"1"}',
        '{"id":"b","label":"x","text":"2"}',
        '{"id":"a","label":"y","text":"3"}',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'in/bad-utf8.jsonl'),
      Buffer.concat([
        Buffer.from('{"id":"a","label":"x","text":"ok"}\n{"id":"b","label":"x","text":"'),
        Buffer.from([0xc3, 0x28]),
        Buffer.from('"}\n'),
      ]),
    );
    const pq = join(dir, 'in/full.parquet');
    parquetWriteFile({
      filename: pq,
      columnData: [
        { name: 'id', data: ['a', 'b', 'c'], type: 'STRING' },
        { name: 'label', data: ['x', 'y', 'x'], type: 'STRING' },
        { name: 'text', data: ['one', 'two', 'three'], type: 'STRING' },
      ],
    });
    const bytes = readFileSync(pq);
    writeFileSync(
      join(dir, 'in/truncated.parquet'),
      bytes.subarray(0, Math.floor(bytes.length / 2)),
    );

    const before = fingerprint(join(dir, '.cordon'));
    const extra = input.endsWith('nan.csv') ? ['--features', 'x1,x2'] : [];
    const r = await cli(dir, 'ingest', 'mail', input, '--append', ...extra);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(fingerprint(join(dir, '.cordon'))).toBe(before);
    expect((await cli(dir, 'verify')).status).toBe(0);
  });
});
