import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CordonError, InputError } from '../../core/errors.js';
import {
  collect,
  failure,
  fixture,
  readOptions,
  scratchDir,
} from '../../../test/fixtures/inputs/helpers.js';
import { readFolder } from './folder-reader.js';

/** A temporary folder holding `files` (relative path → content). */
function folder(files: Record<string, string | Buffer>): string {
  const dir = scratchDir();
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
  return dir;
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

async function escapeError(path: string): Promise<CordonError> {
  const e = await failure(readFolder(path, readOptions()));
  expect(e).toBeInstanceOf(CordonError);
  expect((e as CordonError).code).toBe('PATH_ESCAPES');
  return e as CordonError;
}

describe('readFolder', () => {
  it('labels files by their first-level folder, in sorted path order, skipping dot-files', async () => {
    const root = fixture('folder-subdirs');
    const items = await collect(readFolder(root, readOptions({ defaultSource: 'cam' })));
    expect(items.map((i) => i.record.id)).toEqual([
      'cat/001.png',
      'cat/002.png',
      'dog/bark.wav',
      'dog/caption.txt',
    ]);
    const [png, , wav, txt] = items;
    expect(png?.record).toEqual({
      id: 'cat/001.png',
      label: 'cat',
      source: 'cam',
      file: {
        path: 'cat/001.png',
        sha256: sha256(join(root, 'cat/001.png')),
        size: readFileSync(join(root, 'cat/001.png')).length,
        mediaType: 'image/png',
      },
    });
    expect(png?.filePath).toBe(realpathSync(join(root, 'cat/001.png')));
    expect(wav?.record).toMatchObject({ label: 'dog', file: { mediaType: 'audio/wav' } });
    expect(txt?.record).toEqual({
      id: 'dog/caption.txt',
      label: 'dog',
      source: 'cam',
      text: 'a dog caption\n',
    });
    expect(txt).not.toHaveProperty('filePath');
  });

  it('takes labels, sources, ids and extra columns from labels.csv', async () => {
    const root = fixture('folder-manifest');
    const items = await collect(readFolder(root, readOptions({ defaultSource: 'd' })));
    const manifest = join(root, 'labels.csv');
    expect(items.map((i) => i.where)).toEqual([`${manifest}:3`, `${manifest}:2`, `${manifest}:4`]);
    expect(items.map((i) => i.record)).toEqual([
      {
        id: 'img-a',
        label: 'plane',
        source: 'cam1',
        file: {
          path: 'images/a.jpg',
          sha256: sha256(join(root, 'images/a.jpg')),
          size: 5,
          mediaType: 'image/jpeg',
        },
        meta: { split: 'train' },
      },
      {
        id: 'images/b.bin',
        label: 'bird',
        source: 'cam2',
        file: {
          path: 'images/b.bin',
          sha256: sha256(join(root, 'images/b.bin')),
          size: 5,
          mediaType: 'application/octet-stream',
        },
        meta: { split: 'test' },
      },
      {
        id: 'notes.md',
        label: 'text',
        source: 'd',
        text: 'notes about b',
        meta: { split: 'train' },
      },
    ]);
  });

  it('rejects manifest paths that escape the folder', async () => {
    const escaping = await escapeError(fixture('folder-escape'));
    expect(escaping.message).toBe(
      `${join(fixture('folder-escape'), 'labels.csv')}, line 3, field "path": path "inside/../../good.csv" escapes the folder`,
    );
    const absolute = await escapeError(fixture('folder-absolute'));
    expect(absolute.message).toContain(
      'labels.csv, line 3, field "path": path "/etc/passwd" is absolute',
    );
  });

  it('rejects symlinks that lead outside the folder', async () => {
    const outside = folder({ 'secret.png': 'secret' });
    const root = folder({ 'cat/ok.png': 'ok' });
    symlinkSync(join(outside, 'secret.png'), join(root, 'cat/link.png'));
    const walked = await escapeError(root);
    expect(walked.message).toContain(
      `${join(root, 'cat/link.png')}: path "cat/link.png" resolves outside`,
    );

    writeFileSync(join(root, 'labels.csv'), 'path,label\ncat/ok.png,a\ncat/link.png,b\n');
    const listed = await escapeError(root);
    expect(listed.message).toContain(
      'labels.csv, line 3, field "path": path "cat/link.png" resolves outside',
    );

    const viaFolder = folder({ 'labels.csv': 'path,label\nup/secret.png,a\n' });
    symlinkSync(outside, join(viaFolder, 'up'));
    expect((await escapeError(viaFolder)).message).toContain('line 2');
  });

  it('follows symlinks that stay inside the folder', async () => {
    const root = folder({ 'cat/a.png': 'a' });
    symlinkSync(join(root, 'cat/a.png'), join(root, 'cat/b.png'));
    const items = await collect(readFolder(root, readOptions()));
    expect(items.map((i) => i.record.file?.sha256)).toEqual([
      sha256(join(root, 'cat/a.png')),
      sha256(join(root, 'cat/a.png')),
    ]);
  });

  it('needs a label folder for each file unless labels are optional', async () => {
    const root = folder({ 'top.png': 'x', 'cat/a.png': 'y' });
    const e = await failure(readFolder(root, readOptions()));
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).location).toEqual({ file: join(root, 'top.png'), field: 'label' });
    const items = await collect(readFolder(root, readOptions({ requireLabel: false })));
    expect(items.map((i) => [i.record.id, i.record.label])).toEqual([
      ['cat/a.png', 'cat'],
      ['top.png', null],
    ]);
  });

  it('names the manifest line of a missing label, a missing file or a missing column', async () => {
    const noLabel = folder({ 'a.png': 'a', 'labels.csv': 'path,label\na.png,\n' });
    const e1 = (await failure(readFolder(noLabel, readOptions()))) as InputError;
    expect(e1.location).toEqual({ file: join(noLabel, 'labels.csv'), line: 2, field: 'label' });

    const noFile = folder({ 'labels.csv': 'path,label\nnope.png,x\n' });
    const e2 = (await failure(readFolder(noFile, readOptions()))) as InputError;
    expect(e2).toBeInstanceOf(InputError);
    expect(e2.message).toContain('labels.csv, line 2, field "path": file not found');

    const noColumn = folder({ 'labels.csv': 'file,label\na.png,x\n' });
    const e3 = (await failure(readFolder(noColumn, readOptions()))) as InputError;
    expect(e3.message).toContain('missing path column; columns found: "file", "label"');
  });

  it('rejects a text file that is not UTF-8, naming file and line', async () => {
    const root = folder({ 'a/x.txt': Buffer.from([0x6f, 0x6b, 0x0a, 0xff]) });
    const e = (await failure(readFolder(root, readOptions()))) as InputError;
    expect(e).toBeInstanceOf(InputError);
    expect(e.location).toEqual({ file: join(root, 'a/x.txt'), line: 2 });
  });

  it('rejects an empty or missing folder', async () => {
    const empty = folder({ '.hidden': 'x' });
    expect((await failure(readFolder(empty, readOptions()))).message).toBe(
      `${empty}: folder is empty: no files`,
    );
    const missing = await failure(readFolder('/no/such/folder', readOptions()));
    expect((missing as CordonError).code).toBe('INPUT_NOT_FOUND');
  });
});
