import { describe, expect, it } from 'vitest';
import type { InputError } from '../../core/errors.js';
import {
  collect,
  fixture,
  readOptions,
  records,
  expectInputError,
  tempFile,
} from '../../../test/fixtures/inputs/helpers.js';
import { readCsv } from './csv-reader.js';

const inputError = (path: string, options = readOptions()): Promise<InputError> =>
  expectInputError(readCsv(path, options), path);

describe('readCsv', () => {
  it('reads a header row and string values, lines counted from the start of each row', async () => {
    const path = fixture('good.csv');
    const items = await collect(readCsv(path, readOptions({ defaultSource: 'd' })));
    expect(items.map((i) => i.where)).toEqual([`${path}:2`, `${path}:3`, `${path}:5`]);
    const [a, b, c] = items.map((i) => i.record);
    expect(a).toEqual({
      id: 'c1',
      label: 'spam',
      source: 'web',
      text: 'hello, world',
      meta: { note: 'first' },
    });
    expect(b).toMatchObject({
      label: 'ham',
      source: 'd',
      text: 'multi\nline text',
      meta: { note: '' },
    });
    expect(b?.id).toMatch(/^r[0-9a-f]{24}$/);
    expect(c).toMatchObject({ id: 'c3', label: '2', source: 'forum' });
  });

  it('counts physical lines with CRLF endings and line breaks inside quotes', async () => {
    const body = 'label,text\r\na,"x\r\ny"\r\nb,"z\r\n\r\nq"\r\n\r\nc,w\r\n';
    const path = tempFile('crlf.csv', body);
    const items = await collect(readCsv(path, readOptions()));
    expect(items.map((i) => i.where)).toEqual([2, 4, 8].map((n) => `${path}:${n}`));
    expect(items[1]?.record.text).toBe('z\r\n\r\nq');
    const e = await inputError(tempFile('crlf-bad.csv', body + 'd\r\n'));
    expect(e.location.line).toBe(9);
  });

  it('gives the same derived ids on every read', async () => {
    const ids = async (): Promise<string[]> =>
      (await records(readCsv(fixture('good.csv'), readOptions()))).map((r) => r.id);
    expect(await ids()).toEqual(await ids());
  });

  it('reads tabular features from a column list and from a prefix pattern', async () => {
    const path = fixture('tabular.csv');
    const listed = await records(
      readCsv(path, readOptions({ columns: { features: ['x1', 'x2', 'x3'] } })),
    );
    expect(listed.map((r) => r.features)).toEqual([
      [1, 2.5, -3],
      [0, 1000, 0.5],
    ]);
    expect(listed[0]?.meta).toEqual({ y: '9' });
    const globbed = await records(readCsv(path, readOptions({ columns: { features: ['x*'] } })));
    expect(globbed).toEqual(listed);
    const mixed = await records(readCsv(path, readOptions({ columns: { features: ['y', 'x*'] } })));
    expect(mixed[0]?.features).toEqual([9, 1, 2.5, -3]);
  });

  it('reads a single features column as a JSON array or separated numbers', async () => {
    const rs = await records(readCsv(fixture('vector.csv'), readOptions()));
    expect(rs.map((r) => r.features)).toEqual([
      [1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
    ]);
  });

  it('rejects a ragged row, naming expected and found column counts', async () => {
    const e = await inputError(fixture('ragged.csv'));
    expect(e.location).toEqual({ file: fixture('ragged.csv'), line: 3 });
    expect(e.message).toContain('line 3: expected 2 columns (as in the header), found 3');
  });

  it('requires the label column and lists the columns found', async () => {
    const path = fixture('missing-label-column.csv');
    const e = await inputError(path);
    expect(e.location).toMatchObject({ file: path, field: 'label' });
    expect(e.message).toContain('missing label column "label"; columns found: "category", "text"');
    const rs = await records(readCsv(path, readOptions({ requireLabel: false })));
    expect(rs).toMatchObject([{ label: null, text: 'hello', meta: { category: 'a' } }]);
  });

  it('requires explicitly configured text and feature columns', async () => {
    const path = fixture('tabular.csv');
    const text = await inputError(path, readOptions({ columns: { text: 'body' } }));
    expect(text.location.field).toBe('body');
    expect(text.message).toContain('missing text column "body"');
    const feature = await inputError(path, readOptions({ columns: { features: ['x1', 'x9'] } }));
    expect(feature.location.field).toBe('x9');
    const single = await inputError(path, readOptions({ columns: { features: 'vec' } }));
    expect(single.location.field).toBe('vec');
    const pattern = await inputError(path, readOptions({ columns: { features: ['z*'] } }));
    expect(pattern.message).toContain('no column matches the features pattern "z*"');
  });

  it('treats an empty label cell as a missing label', async () => {
    const e = await inputError(fixture('empty-label.csv'));
    expect(e.location).toEqual({ file: fixture('empty-label.csv'), line: 3, field: 'label' });
    expect(e.message).toContain('missing label');
  });

  it('rejects feature cells that are not finite numbers', async () => {
    const options = readOptions({ columns: { features: ['x1', 'x2'] } });
    const abc = await inputError(fixture('bad-number.csv'), options);
    expect(abc.location).toMatchObject({ line: 3, field: 'x1' });
    expect(abc.message).toContain('line 3, field "x1": feature 0 is "abc", not a finite number');
    const nan = await inputError(fixture('nan.csv'), options);
    expect(nan.location).toMatchObject({ line: 2, field: 'x2' });
    expect(nan.message).toContain('"NaN", not a finite number');
    const empty = await inputError(fixture('empty-cell.csv'), options);
    expect(empty.message).toContain('line 2, field "x2": feature 1 is empty');
    const inf = await inputError(tempFile('inf.csv', 'label,features\na,1 Infinity\n'));
    expect(inf.message).toContain('field "features": features[1] is "Infinity"');
  });

  it('rejects an empty file or a header without rows', async () => {
    for (const name of ['empty.csv', 'header-only.csv']) {
      const e = await inputError(fixture(name));
      expect(e.message).toBe(`${fixture(name)}: file is empty: no records`);
    }
  });

  it('reports invalid UTF-8 with its line', async () => {
    const bytes = Buffer.concat([
      Buffer.from('label,text\na,ok\nb,'),
      Buffer.from([0xff]),
      Buffer.from('\n'),
    ]);
    const e = await inputError(tempFile('u.csv', bytes));
    expect(e.location).toEqual({ file: e.location.file, line: 3 });
    expect(e.message).toContain('line 3: invalid UTF-8');
  });

  it('accepts a character split across read chunks and counts lines across chunks', async () => {
    const head = 'label,text\n';
    const filler = 'a,' + 'x'.repeat(97) + '\n'; // 100 bytes
    const rows = Math.floor((1024 * 1024 - head.length) / filler.length);
    const pad = 'a,' + 'y'.repeat(1024 * 1024 - head.length - rows * filler.length - 3);
    const prefix = head + filler.repeat(rows) + pad; // ends one byte before the first chunk ends
    const good = tempFile('split.csv', prefix + 'é\n' + 'b,after\n');
    const rs = await records(readCsv(good, readOptions()));
    expect(rs.at(-2)?.text).toBe('y'.repeat(pad.length - 2) + 'é');
    expect(rs).toHaveLength(rows + 2);

    const bad = tempFile(
      'late.csv',
      Buffer.concat([Buffer.from(prefix + 'é\nb,'), Buffer.from([0xc0, 0x80])]),
    );
    const e = await inputError(bad);
    expect(e.location.line).toBe(rows + 3);
  });

  it('reports malformed quoting with its line', async () => {
    const e = await inputError(tempFile('q.csv', 'label,text\na,"fine"\nb,"bad"x\n'));
    expect(e.location.line).toBe(3);
    expect(e.message).toContain('malformed CSV');
  });

  it('rejects a duplicate column name', async () => {
    const e = await inputError(tempFile('d.csv', 'label,text,text\na,b,c\n'));
    expect(e.location).toMatchObject({ line: 1, field: 'text' });
  });
});
