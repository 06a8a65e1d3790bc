import { describe, expect, it } from 'vitest';
import { InputError } from '../../core/errors.js';
import { readOptions } from '../../../test/fixtures/inputs/helpers.js';
import { resolveColumns, toRecord } from './to-record.js';

const loc = { file: 'f.jsonl', line: 3 };

function errorOf(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error('expected an InputError');
}

describe('toRecord', () => {
  it('keeps other fields as meta, drops undefined values and omits empty meta', () => {
    const fields = JSON.parse('{"label":"a","text":"t","__proto__":{"x":1},"u":null}') as Record<
      string,
      unknown
    >;
    fields.gone = undefined;
    const r = toRecord(fields, 0, loc, readOptions());
    expect(Object.keys(r.meta ?? {})).toEqual(['__proto__', 'u']);
    expect(Object.getPrototypeOf(r.meta)).toBe(Object.prototype);
    expect(toRecord({ label: 'a', text: 't' }, 0, loc, readOptions())).not.toHaveProperty('meta');
  });

  it('uses the configured columns and the default source', () => {
    const options = readOptions({
      defaultSource: 'crawl',
      columns: { id: 'key', label: 'y', text: 'body', source: 'origin' },
    });
    const r = toRecord({ key: 'k1', y: 'pos', body: 'hello', label: 'kept' }, 0, loc, options);
    expect(r).toEqual({
      id: 'k1',
      label: 'pos',
      source: 'crawl',
      text: 'hello',
      meta: { label: 'kept' },
    });
  });

  it('names file, line and field of bad values', () => {
    const src = errorOf(() =>
      toRecord({ label: 'a', text: 't', source: 5 }, 0, loc, readOptions()),
    );
    expect(src.message).toBe('f.jsonl, line 3, field "source": source must be a string, found 5');
    const meta = errorOf(() =>
      toRecord({ label: 'a', text: 't', m: ['\ud800'] }, 0, loc, readOptions()),
    );
    expect(meta.location.field).toBe('m');
    const empty = errorOf(() => toRecord({ label: 'a', features: [] }, 0, loc, readOptions()));
    expect(empty.message).toContain('features is empty');
    const nan = errorOf(() =>
      toRecord({ label: 'a', features: [1, Infinity] }, 0, { file: 'p', row: 4 }, readOptions()),
    );
    expect(nan.message).toBe(
      'p, row 4, field "features": features[1] is Infinity, not a finite number',
    );
  });

  it('expands feature patterns in column order, skipping id, label, source and text', () => {
    const options = readOptions({ columns: { features: ['*'] } });
    const resolved = resolveColumns({ file: 'f' }, ['id', 'b', 'label', 'a'], options);
    expect(resolved.featureColumns).toEqual(['b', 'a']);
  });
});
