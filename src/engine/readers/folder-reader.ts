import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readFile, readdir, realpath, stat } from 'node:fs/promises';
import { extname, isAbsolute, join, posix, relative, sep, win32 } from 'node:path';
import type { JsonValue } from '../../core/canonical-json.js';
import { CordonError, InputError, formatLocation, type InputLocation } from '../../core/errors.js';
import type { CordonRecord } from '../../core/record.js';
import { csvRows } from './csv-reader.js';
import type { IngestItem, ReadOptions, RecordReader } from './reader.js';
import { decodeUtf8 } from './utf8.js';

export const LABELS_FILE = 'labels.csv';
const MANIFEST_COLUMNS = new Set(['path', 'label', 'source', 'id']);
const TEXT_EXTENSIONS = new Set(['.txt', '.md']);
const MEDIA_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.bmp': 'image/bmp',
  '.wav': 'audio/wav',
  '.mp3': 'audio/mpeg',
  '.npy': 'application/x-npy',
};

export function mediaTypeOf(path: string): string {
  return MEDIA_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/** One file of the folder to turn into a record. */
interface Entry {
  /** Relative path with forward slashes: the record's file path and default id. */
  rel: string;
  /** Absolute, symlink-free path of the bytes. */
  real: string;
  id: string;
  label: string | null;
  source: string | null;
  meta?: Record<string, JsonValue>;
  where: string;
}

function escapes(loc: InputLocation, path: string, how: string): CordonError {
  return new CordonError('PATH_ESCAPES', `${formatLocation(loc)}: path "${path}" ${how}`);
}

function isInside(root: string, real: string): boolean {
  const rel = relative(root, real);
  return rel !== '' && rel !== '..' && !rel.startsWith('..' + sep) && !isAbsolute(rel);
}

/** Realpath of `abs`, which must exist and stay inside `root`. */
async function realInside(
  root: string,
  abs: string,
  loc: InputLocation,
  shown: string,
): Promise<string> {
  let real: string;
  try {
    real = await realpath(abs);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') throw cause;
    throw new InputError(loc, `file not found (or a broken symlink): "${shown}"`, { cause });
  }
  if (!isInside(root, real)) throw escapes(loc, shown, 'resolves outside the folder');
  return real;
}

/** Every regular file under `root` except dot-files, in sorted relative-path order. */
async function walk(root: string, shown: string): Promise<{ rel: string; real: string }[]> {
  const out: { rel: string; real: string }[] = [];
  const visit = async (dirRel: string): Promise<void> => {
    for (const d of await readdir(join(root, dirRel), { withFileTypes: true })) {
      if (d.name.startsWith('.')) continue;
      const rel = dirRel === '' ? d.name : `${dirRel}/${d.name}`;
      if (d.isDirectory()) {
        await visit(rel);
      } else if (d.isFile()) {
        out.push({ rel, real: join(root, rel) });
      } else if (d.isSymbolicLink()) {
        const loc = { file: join(shown, rel) };
        const real = await realInside(root, join(root, rel), loc, rel);
        if ((await stat(real)).isFile()) out.push({ rel, real }); // links to folders are not followed
      }
    }
  };
  await visit('');
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

async function fromSubfolders(root: string, shown: string, options: ReadOptions): Promise<Entry[]> {
  return (await walk(root, shown)).map(({ rel, real }) => {
    const slash = rel.indexOf('/');
    const label = slash === -1 ? null : rel.slice(0, slash);
    if (label === null && options.requireLabel) {
      const problem = 'missing label: the file is not inside a label folder (<label>/<file>)';
      throw new InputError({ file: join(shown, rel), field: 'label' }, problem);
    }
    return { rel, real, id: rel, label, source: options.defaultSource, where: join(shown, rel) };
  });
}

/** A manifest path made relative and normalized; absolute paths and `..` escapes throw. */
function manifestPath(raw: string, loc: InputLocation): string {
  if (isAbsolute(raw) || win32.isAbsolute(raw)) throw escapes(loc, raw, 'is absolute');
  const rel = posix.normalize(raw.replaceAll('\\', '/'));
  if (rel === '..' || rel.startsWith('../')) throw escapes(loc, raw, 'escapes the folder');
  return rel.startsWith('./') ? rel.slice(2) : rel;
}

async function fromManifest(root: string, shown: string, options: ReadOptions): Promise<Entry[]> {
  const file = join(shown, LABELS_FILE);
  const onHeader = (names: string[], line: number): void => {
    for (const col of options.requireLabel ? ['path', 'label'] : ['path']) {
      if (!names.includes(col)) {
        const found = names.map((n) => JSON.stringify(n)).join(', ');
        throw new InputError(
          { file, line, field: col },
          `missing ${col} column; columns found: ${found}`,
        );
      }
    }
  };
  const entries: Entry[] = [];
  const lineOf = new Map<string, number>();
  for await (const { line, fields } of csvRows(join(root, LABELS_FILE), onHeader)) {
    const at = (field: string): InputLocation => ({ file, line, field });
    const raw = fields.path ?? '';
    if (raw === '') throw new InputError(at('path'), 'missing path');
    const rel = manifestPath(raw, at('path'));
    const first = lineOf.get(rel);
    if (first !== undefined) {
      throw new InputError(at('path'), `"${rel}" is listed twice (first on line ${first})`);
    }
    lineOf.set(rel, line);
    const real = await realInside(root, join(root, rel), at('path'), raw);
    if (!(await stat(real)).isFile()) throw new InputError(at('path'), `"${raw}" is not a file`);
    const label = fields.label || null;
    if (label === null && options.requireLabel) throw new InputError(at('label'), 'missing label');
    const entry: Entry = {
      rel,
      real,
      id: fields.id || rel,
      label,
      source: fields.source || options.defaultSource,
      where: `${file}:${line}`,
    };
    const meta = Object.entries(fields).filter(([k]) => !MANIFEST_COLUMNS.has(k));
    if (meta.length > 0) entry.meta = Object.fromEntries(meta);
    entries.push(entry);
  }
  if (entries.length === 0) throw new InputError({ file }, 'file is empty: no records');
  return entries.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

async function toItem(e: Entry, shown: string): Promise<IngestItem> {
  const record: CordonRecord = { id: e.id, label: e.label, source: e.source };
  if (e.meta) record.meta = e.meta;
  if (TEXT_EXTENSIONS.has(extname(e.rel).toLowerCase())) {
    record.text = decodeUtf8(await readFile(e.real), join(shown, e.rel));
    return { record, where: e.where };
  }
  const { sha256, size } = await hashFile(e.real);
  record.file = { path: e.rel, sha256, size, mediaType: mediaTypeOf(e.rel) };
  return { record, where: e.where, filePath: e.real };
}

async function folderRoot(path: string): Promise<string> {
  try {
    const info = await stat(path);
    if (!info.isDirectory()) throw new InputError({ file: path }, 'not a folder');
    return await realpath(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    throw new CordonError('INPUT_NOT_FOUND', `${path}: no such folder`, { cause: e });
  }
}

async function hasManifest(root: string): Promise<boolean> {
  try {
    await lstat(join(root, LABELS_FILE));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/**
 * A folder of files. Labels come from `labels.csv` (columns path, label, optional source and id;
 * other columns go to meta) when the folder has one, else from the first-level subfolder names
 * (`cat/001.png` → "cat"). `.txt` and `.md` files become text records; any other file a file
 * record with its SHA-256. Records come in sorted relative-path order; dot-files are skipped.
 * A path or symlink leading outside the folder throws a PATH_ESCAPES error.
 */
export const readFolder: RecordReader = async function* (path, options) {
  const root = await folderRoot(path);
  const manifest = await hasManifest(root);
  if (manifest) {
    await realInside(root, join(root, LABELS_FILE), { file: join(path, LABELS_FILE) }, LABELS_FILE);
  }
  const entries = manifest
    ? await fromManifest(root, path, options)
    : await fromSubfolders(root, path, options);
  if (entries.length === 0) throw new InputError({ file: path }, 'folder is empty: no files');
  for (const e of entries) yield await toItem(e, path);
};
