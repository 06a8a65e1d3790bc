import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parquetWriteFile, type ColumnSource } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import type { InputError } from '../../core/errors.js';
import { CordonError } from '../../core/errors.js';
import {
  collect,
  failure,
  readOptions,
  records,
  expectInputError,
  scratchDir,
} from '../../../test/fixtures/inputs/helpers.js';
import { readParquet } from './parquet-reader.js';

function writeParquet(columnData: ColumnSource[], rowGroupSize = 2): string {
  const dir = scratchDir();
  const filename = join(dir, 'data.parquet');
  parquetWriteFile({ filename, columnData, rowGroupSize });
  return filename;
}

const inputError = (path: string, options = readOptions()): Promise<InputError> =>
  expectInputError(readParquet(path, options), path);

describe('readParquet', () => {
  it('reads rows across row groups, converting values to JSON', async () => {
    const path = writeParquet([
      { name: 'id', data: [1n, 2n, 9007199254740993n], type: 'INT64' },
      { name: 'label', data: ['a', 'b', 'c'], type: 'STRING' },
      { name: 'text', data: ['one', 'two', 'three'], type: 'STRING' },
      { name: 'score', data: [0.5, 1.5, 2.5], type: 'DOUBLE' },
      { name: 'at', data: [new Date(0), new Date(1000), null], type: 'TIMESTAMP' },
    ]);
    const items = await collect(readParquet(path, readOptions({ defaultSource: 's' })));
    expect(items.map((i) => i.where)).toEqual([0, 1, 2].map((n) => `${path}:row ${n}`));
    expect(items.map((i) => i.record)).toEqual([
      {
        id: '1',
        label: 'a',
        source: 's',
        text: 'one',
        meta: { score: 0.5, at: '1970-01-01T00:00:00.000Z' },
      },
      {
        id: '2',
        label: 'b',
        source: 's',
        text: 'two',
        meta: { score: 1.5, at: '1970-01-01T00:00:01.000Z' },
      },
      {
        id: '9007199254740993',
        label: 'c',
        source: 's',
        text: 'three',
        meta: { score: 2.5, at: null },
      },
    ]);
  });

  it('reads features from a list column or from numeric columns', async () => {
    const path = writeParquet([
      { name: 'label', data: [1, 2], type: 'INT32' },
      {
        name: 'features',
        data: [
          [1, 2],
          [3.5, 4],
        ],
      },
      { name: 'f_a', data: [10, 20], type: 'DOUBLE' },
      { name: 'f_b', data: [30n, 40n], type: 'INT64' },
    ]);
    const listed = await records(readParquet(path, readOptions()));
    expect(listed).toMatchObject([
      { label: '1', features: [1, 2], meta: { f_a: 10, f_b: 30 } },
      { label: '2', features: [3.5, 4] },
    ]);
    const tabular = await records(
      readParquet(path, readOptions({ columns: { features: ['f_*'] } })),
    );
    expect(tabular.map((r) => r.features)).toEqual([
      [10, 30],
      [20, 40],
    ]);
    expect(tabular[0]?.meta).toEqual({ features: [1, 2] });
  });

  it('derives stable ids for rows without one', async () => {
    const path = writeParquet([
      { name: 'label', data: ['x', 'x'], type: 'STRING' },
      { name: 'text', data: ['same', 'same'], type: 'STRING' },
    ]);
    const first = (await records(readParquet(path, readOptions()))).map((r) => r.id);
    const second = (await records(readParquet(path, readOptions()))).map((r) => r.id);
    expect(first).toEqual(second);
    expect(first[0]).not.toBe(first[1]);
  });

  it('names the row and field of a missing label', async () => {
    const path = writeParquet([
      { name: 'label', data: ['a', 'b', null], type: 'STRING' },
      { name: 'text', data: ['x', 'y', 'z'], type: 'STRING' },
    ]);
    const e = await inputError(path);
    expect(e.location).toEqual({ file: path, row: 2, field: 'label' });
    expect(e.message).toBe(`${path}, row 2, field "label": missing label`);
  });

  it('names the row and field of a non-finite feature', async () => {
    const path = writeParquet([
      { name: 'label', data: ['a', 'b'], type: 'STRING' },
      { name: 'x', data: [1, Number.NaN], type: 'DOUBLE' },
    ]);
    const e = await inputError(path, readOptions({ columns: { features: ['x'] } }));
    expect(e.location).toEqual({ file: path, row: 1, field: 'x' });
    expect(e.message).toContain('feature 0 is NaN, not a finite number');
  });

  it('requires the label column, listing the columns found', async () => {
    const path = writeParquet([{ name: 'text', data: ['t'], type: 'STRING' }]);
    const e = await inputError(path);
    expect(e.location).toEqual({ file: path, field: 'label' });
    expect(e.message).toContain('missing label column "label"; columns found: "text"');
  });

  it('rejects a truncated file and a file that is not Parquet', async () => {
    const path = writeParquet([
      { name: 'label', data: ['a', 'b'], type: 'STRING' },
      { name: 'text', data: ['x', 'y'], type: 'STRING' },
    ]);
    const bytes = readFileSync(path);
    for (const cut of [bytes.length - 10, 20, 0]) {
      writeFileSync(path, bytes.subarray(0, cut));
      const e = await inputError(path);
      expect(e.location).toEqual({ file: path });
      expect(e.message).toContain(`${path}: not a Parquet file or truncated: `);
    }
    writeFileSync(path, 'label,text\na,b\n');
    expect((await inputError(path)).message).toContain('not a Parquet file or truncated');
  });

  it('rejects a file without rows', async () => {
    const path = writeParquet([{ name: 'label', data: [], type: 'STRING' }]);
    expect((await inputError(path)).message).toBe(`${path}: file is empty: no records`);
  });

  it('reports a missing file as INPUT_NOT_FOUND', async () => {
    const e = await failure(readParquet('/no/such/file.parquet', readOptions()));
    expect(e).toBeInstanceOf(CordonError);
    expect((e as CordonError).code).toBe('INPUT_NOT_FOUND');
  });
});
