import { describe, expect, it } from 'vitest';
import type { InputError } from '../../core/errors.js';
import { CordonError } from '../../core/errors.js';
import { deriveRowId } from '../../core/record.js';
import {
  collect,
  failure,
  fixture,
  readOptions,
  records,
  expectInputError,
  tempFile,
} from '../../../test/fixtures/inputs/helpers.js';
import { readJsonl } from './jsonl-reader.js';

const inputError = (path: string, options = readOptions()): Promise<InputError> =>
  expectInputError(readJsonl(path, options), path);

describe('readJsonl', () => {
  it('maps fields to records, keeping the rest as meta', async () => {
    const path = fixture('good.jsonl');
    const items = await collect(readJsonl(path, readOptions({ defaultSource: 'default' })));
    expect(items.map((i) => i.where)).toEqual([`${path}:1`, `${path}:2`, `${path}:4`, `${path}:5`]);
    const [a, b, c, d] = items.map((i) => i.record);
    expect(a).toEqual({
      id: 'a1',
      label: 'spam',
      source: 'web',
      text: 'win money now',
      meta: { lang: 'en' },
    });
    expect(b).toEqual({
      id: '7',
      label: '1',
      source: 'default',
      text: 'numeric id and label',
      meta: { extra: { nested: [1, 2] } },
    });
    expect(c?.label).toBe('true');
    expect(c?.id).toMatch(/^r[0-9a-f]{24}$/);
    expect(d).toEqual({
      id: d?.id,
      label: 'ham',
      source: 'default',
      features: [0.1, -2, 300],
    });
    expect(d).not.toHaveProperty('meta');
  });

  it('derives ids from content and position, stable across reads', async () => {
    const row = '{"label":"x","text":"same"}\n';
    const path = tempFile('dup.jsonl', row + row);
    const first = await records(readJsonl(path, readOptions()));
    const second = await records(readJsonl(path, readOptions()));
    expect(first.map((r) => r.id)).toEqual(second.map((r) => r.id));
    expect(first[0]?.id).not.toBe(first[1]?.id);
    const body = { label: 'x', source: null, text: 'same' };
    expect(first.map((r) => r.id)).toEqual([deriveRowId(body, 0), deriveRowId(body, 1)]);
  });

  it('accepts CRLF, a last line without newline and a byte order mark', async () => {
    const crlf = await records(readJsonl(fixture('crlf-no-final-newline.jsonl'), readOptions()));
    expect(crlf.map((r) => r.text)).toEqual(['crlf line', 'last line without newline']);
    const bom = tempFile('bom.jsonl', '\uFEFF{"label":"a","text":"t"}\n');
    expect((await records(readJsonl(bom, readOptions())))[0]?.text).toBe('t');
  });

  it('joins lines across chunk boundaries, multi-byte characters included', async () => {
    const long = 'é😀'.repeat(500_000); // one line of 3.5 MB: spans several chunks
    const lines = [long, 'ü'.repeat(700_000), 'short', long];
    const path = tempFile(
      'big.jsonl',
      lines.map((t) => JSON.stringify({ label: 'l', text: t })).join('\n'),
    );
    const items = await collect(readJsonl(path, readOptions()));
    expect(items.map((i) => i.record.text)).toEqual(lines);
    expect(items.map((i) => i.where)).toEqual([1, 2, 3, 4].map((n) => `${path}:${n}`));
  });

  it('expands a features prefix pattern over the object keys', async () => {
    const path = tempFile('tab.jsonl', '{"label":"a","f1":1,"f2":2,"other":3}\n');
    const [r] = await records(readJsonl(path, readOptions({ columns: { features: ['f*'] } })));
    expect(r).toMatchObject({ features: [1, 2], meta: { other: 3 } });
  });

  it('reports malformed JSON with file, line and the parser reason', async () => {
    const e = await inputError(fixture('malformed.jsonl'));
    expect(e.location).toEqual({ file: fixture('malformed.jsonl'), line: 2 });
    expect(e.message).toMatch(/line 2: malformed JSON: .+/);
  });

  it('rejects a line that is not an object', async () => {
    const e = await inputError(fixture('not-object.jsonl'));
    expect(e.location.line).toBe(2);
    expect(e.message).toContain('expected a JSON object, found an array');
  });

  it('names the field of a wrongly typed value', async () => {
    const e = await inputError(fixture('wrong-types.jsonl'));
    expect(e.location).toMatchObject({ line: 2, field: 'text' });
    expect(e.message).toContain('line 2, field "text": text must be a string, found 42');

    const f = await inputError(fixture('bad-features.jsonl'));
    expect(f.location).toMatchObject({ line: 2, field: 'features' });
    expect(f.message).toContain('features[1] is "two", not a finite number');

    const id = await inputError(tempFile('id.jsonl', '{"id":true,"label":"a","text":"t"}\n'));
    expect(id.location).toMatchObject({ line: 1, field: 'id' });

    const label = await inputError(tempFile('label.jsonl', '{"label":{"a":1},"text":"t"}\n'));
    expect(label.location).toMatchObject({ line: 1, field: 'label' });
  });

  it('rejects text with a lone surrogate', async () => {
    const e = await inputError(tempFile('s.jsonl', '{"label":"a","text":"bad \\ud800 text"}\n'));
    expect(e.location).toMatchObject({ line: 1, field: 'text' });
    expect(e.message).toContain('invalid text');
  });

  it('requires a label unless told otherwise', async () => {
    const path = fixture('missing-label.jsonl');
    const e = await inputError(path);
    expect(e.location).toEqual({ file: path, line: 2, field: 'label' });
    expect(e.message).toContain('missing label');
    const rs = await records(readJsonl(path, readOptions({ requireLabel: false })));
    expect(rs[1]?.label).toBeNull();
  });

  it('rejects a row without content', async () => {
    const e = await inputError(fixture('no-content.jsonl'));
    expect(e.message).toContain(
      'line 1: row has no content: expected a text, features or file field',
    );
  });

  it('rejects an empty file', async () => {
    for (const name of ['empty.jsonl', 'blank-lines.jsonl']) {
      const e = await inputError(fixture(name));
      expect(e.message).toBe(`${fixture(name)}: file is empty: no records`);
    }
  });

  it('reports invalid UTF-8 with its line, also past the first chunk', async () => {
    const good = Buffer.from('{"label":"a","text":"ok"}\n');
    const bad = Buffer.from([
      ...Buffer.from('{"label":"a","text":"'),
      0xc3,
      0x28,
      ...Buffer.from('"}\n'),
    ]);
    const e = await inputError(tempFile('u.jsonl', Buffer.concat([good, good, bad])));
    expect(e.location).toMatchObject({ line: 3 });
    expect(e.message).toContain('line 3: invalid UTF-8');

    const many = Buffer.concat([...Array<Buffer>(50_000).fill(good), bad]);
    const far = await inputError(tempFile('far.jsonl', many));
    expect(far.location.line).toBe(50_001);
  });

  it('reports a missing file as INPUT_NOT_FOUND', async () => {
    const e = await failure(readJsonl('/no/such/file.jsonl', readOptions()));
    expect(e).toBeInstanceOf(CordonError);
    expect((e as CordonError).code).toBe('INPUT_NOT_FOUND');
  });
});
