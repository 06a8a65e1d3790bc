import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ScanReport } from '../src/core/scan/report.js';
import { cli } from './helpers/cli.js';
import { tempDir } from './helpers/workspace.js';

let dir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});
afterEach(() => cleanup());

const jsonl = (name: string, rows: object[]): void =>
  writeFileSync(join(dir, name), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
async function scan(
  name: string,
): Promise<{ status: number; stdout: string; stderr: string; report?: ScanReport }> {
  const r = await cli(dir, 'scan', name, '--json', 'out.json');
  return {
    ...r,
    ...(r.status === 0
      ? { report: JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')) as ScanReport }
      : {}),
  };
}
const skipped = (r: ScanReport, id: string): string | undefined =>
  r.summary.detectors.find((d) => d.id === id)?.skipped;

describe('scan degrades clearly on awkward input', () => {
  it('missing labels: label detectors skip and say so', async () => {
    jsonl(
      'u.jsonl',
      Array.from({ length: 50 }, (_, i) => ({
        id: `u${i}`,
        text: `text number ${i} about things`,
      })),
    );
    const r = await scan('u.jsonl');
    expect(r.status, r.stderr).toBe(0);
    expect(skipped(r.report!, 'label/confident-learning')).toMatch(/label/i);
    expect(skipped(r.report!, 'trigger/token-stat')).toMatch(/label/i);
    expect(r.stdout).toMatch(/skipped label\/confident-learning: /);
  });

  it('a single class: label and trigger detectors skip', async () => {
    jsonl(
      'one.jsonl',
      Array.from({ length: 50 }, (_, i) => ({ id: `a${i}`, label: 'x', text: `row ${i} words` })),
    );
    const r = await scan('one.jsonl');
    expect(r.status, r.stderr).toBe(0);
    expect(skipped(r.report!, 'label/confident-learning')).toMatch(/class/i);
  });

  it('one row: runs, flags nothing, skips what needs more', async () => {
    jsonl('row.jsonl', [{ id: 'only', label: 'x', text: 'alone' }]);
    const r = await scan('row.jsonl');
    expect(r.status, r.stderr).toBe(0);
    expect(r.report!.rows).toBe(1);
    expect(r.report!.triggers).toEqual([]);
  });

  it('an empty file is refused with its name', async () => {
    writeFileSync(join(dir, 'empty.jsonl'), '');
    const r = await scan('empty.jsonl');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/empty\.jsonl: file is empty/);
  });

  it('non-numeric features are refused with line and field', async () => {
    jsonl('bad.jsonl', [
      { id: 'a', label: 'x', features: [1, 2] },
      { id: 'b', label: 'y', features: [1, 'two'] },
    ]);
    const r = await scan('bad.jsonl');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/bad\.jsonl, line 2, field "features"/);
  });

  it('NaN in a CSV feature column is refused with line and field', async () => {
    writeFileSync(join(dir, 'nan.csv'), 'label,a,b\nx,1,2\ny,3,NaN\n');
    const r = await cli(dir, 'scan', 'nan.csv', '--features', 'a,b');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/nan\.csv, line 3, field "b"/);
  });

  it('mixed vector lengths: the odd rows are left out of vector checks and counted', async () => {
    const rows = Array.from({ length: 60 }, (_, i) => ({
      id: `v${i}`,
      label: i % 2 ? 'a' : 'b',
      features: i % 10 === 0 ? [1, 2, 3] : [i % 2, (i * 7) % 5, 1, 0, i % 3],
    }));
    jsonl('mixed.jsonl', rows);
    const r = await scan('mixed.jsonl');
    expect(r.status, r.stderr).toBe(0);
    const knn = r.report!.summary.detectors.find((d) => d.id === 'outlier/knn')!;
    expect(knn.summary['skippedWrongLength']).toBe(6);
  });

  it('a 1 MB text row is scanned within its caps', async () => {
    const rows: object[] = Array.from({ length: 30 }, (_, i) => ({
      id: `r${i}`,
      label: i % 2 ? 'a' : 'b',
      text: `ordinary row ${i}`,
    }));
    rows.push({ id: 'huge', label: 'a', text: 'word '.repeat(210_000) });
    jsonl('huge.jsonl', rows);
    const r = await scan('huge.jsonl');
    expect(r.status, r.stderr).toBe(0);
    expect(r.report!.rows).toBe(31);
  });
});
