import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CordonError, InputError } from '../../core/errors.js';
import {
  failure,
  fixture,
  readOptions,
  records,
  scratchDir,
} from '../../../test/fixtures/inputs/helpers.js';
import { detectFormat, readInput } from './read-input.js';

function scratch(): string {
  const dir = scratchDir();
  return dir;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof CordonError ? e.code : 'not a CordonError';
  }
  return undefined;
}

describe('detectFormat', () => {
  it('tells the format from the extension or a folder', () => {
    const dir = scratch();
    const names = ['a.jsonl', 'a.ndjson', 'a.json', 'a.csv', 'a.parquet', 'a.jsonl.gz', 'A.CSV.GZ'];
    for (const n of names) writeFileSync(join(dir, n), '');
    expect(names.map((n) => detectFormat(join(dir, n)))).toEqual([
      'jsonl',
      'jsonl',
      'jsonl',
      'csv',
      'parquet',
      'jsonl',
      'csv',
    ]);
    mkdirSync(join(dir, 'images'));
    expect(detectFormat(join(dir, 'images'))).toBe('folder');
  });

  it('asks for --format when the extension is unknown, and reports a missing path', () => {
    const dir = scratch();
    writeFileSync(join(dir, 'data.txt'), '');
    writeFileSync(join(dir, 'data.parquet.gz'), '');
    expect(codeOf(() => detectFormat(join(dir, 'data.txt')))).toBe('INPUT_INVALID');
    expect(() => detectFormat(join(dir, 'data.txt'))).toThrow(/--format/);
    expect(codeOf(() => detectFormat(join(dir, 'data.parquet.gz')))).toBe('INPUT_INVALID');
    expect(codeOf(() => detectFormat(join(dir, 'missing.jsonl')))).toBe('INPUT_NOT_FOUND');
  });
});

describe('readInput', () => {
  it('gunzips .gz JSON Lines and CSV, giving the same records as the plain files', async () => {
    const dir = scratch();
    for (const name of ['good.jsonl', 'good.csv']) {
      const gz = join(dir, `${name}.gz`);
      writeFileSync(gz, gzipSync(readFileSync(fixture(name))));
      const plain = await records(readInput(fixture(name), undefined, readOptions()));
      expect(await records(readInput(gz, undefined, readOptions()))).toEqual(plain);
    }
  });

  it('reports corrupt gzip data naming the file', async () => {
    const path = join(scratch(), 'bad.jsonl.gz');
    writeFileSync(path, gzipSync(readFileSync(fixture('good.jsonl'))).subarray(0, 30));
    const e = await failure(readInput(path, undefined, readOptions()));
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toMatch(new RegExp(`^${path}: not valid gzip data: `));
  });

  it('uses the format given over the extension', async () => {
    const path = join(scratch(), 'rows.txt');
    copyFileSync(fixture('good.jsonl'), path);
    expect(await records(readInput(path, 'jsonl', readOptions()))).toHaveLength(4);
    const e = await failure(readInput(path, 'folder', readOptions()));
    expect((e as CordonError).code).toBe('INPUT_INVALID');
  });

  it('reads folders and reports missing paths', async () => {
    const rs = await records(readInput(fixture('folder-subdirs'), undefined, readOptions()));
    expect(rs).toHaveLength(4);
    const e = await failure(readInput(join(scratch(), 'nope.csv'), undefined, readOptions()));
    expect((e as CordonError).code).toBe('INPUT_NOT_FOUND');
  });
});
