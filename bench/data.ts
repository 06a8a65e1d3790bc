/**
 * Deterministic generators for the store benchmarks: short text rows as JSON Lines (two versions
 * differing in a known way, for the diff benchmark) and a folder of binary files (for verify).
 */
import { randomFillSync } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** mulberry32: a small, fast, well-mixed 32-bit PRNG. Returns floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LABELS = ['ham', 'spam', 'promo', 'phish', 'social', 'news'] as const;
const SOURCES = ['crawl-2024', 'forum-dump', 'mail-export', 'partner-feed', 'synthetic'] as const;
const WORDS = (
  'the of and to in is that for it as was with be by on not he this are or his from at which ' +
  'but have an they you were her she there one all we their can has more will if no when what ' +
  'free offer click account verify password winner prize money urgent meeting report update ' +
  'data model training label source record version snapshot signed cordon review weekly'
).split(' ');

export interface Row {
  id: string;
  label: string;
  source: string;
  text: string;
}

/**
 * Row `i` of the base corpus, about 200 bytes as JSON. Ids are unique and in scrambled order
 * (`i` times an odd constant is a bijection modulo 2^32), so ingest has to really sort them.
 */
export function baseRow(i: number): Row {
  const r = prng(i * 2 + 1);
  const id = 'doc-' + (Math.imul(i, 0x9e3779b1) >>> 0).toString(16).padStart(8, '0');
  const label = LABELS[Math.floor(r() * r() * LABELS.length)]!; // skewed: a few big classes
  const source = SOURCES[Math.floor(r() * SOURCES.length)]!;
  const target = 110 + Math.floor(r() * 50);
  let text = '';
  while (text.length < target) text += (text ? ' ' : '') + WORDS[Math.floor(r() * WORDS.length)]!;
  return { id, label, source, text };
}

/** How the second version of the corpus differs from the first (counts of rows). */
export interface Delta {
  removed: number;
  added: number;
  changed: number;
}

export function deltaFor(rows: number): Delta {
  return {
    removed: Math.round(rows * 0.004),
    added: Math.round(rows * 0.003),
    changed: Math.round(rows * 0.003),
  };
}

/**
 * Which rows of the base corpus are removed (kind 1) or changed (kind 2) in version 2: exactly
 * `removed` and `changed` distinct rows, spread over the file (k × a prime stride modulo n).
 */
function deltaKinds(rows: number, delta: Delta): Uint8Array {
  const kinds = new Uint8Array(rows);
  const stride = pickStride(rows);
  for (let k = 0; k < delta.removed + delta.changed; k++) {
    kinds[(k * stride) % rows] = k < delta.removed ? 1 : 2;
  }
  return kinds;
}

function pickStride(n: number): number {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  for (const p of [7919, 7907, 7901, 7883, 104729]) if (gcd(p, n) === 1) return p;
  return 1;
}

/** Writes rows to `path` as JSON Lines in ~1 MiB writes. Returns rows and bytes written. */
function writeRows(path: string, rows: Iterable<Row>): { rows: number; bytes: number } {
  const fd = openSync(path, 'w');
  let count = 0;
  let bytes = 0;
  let parts: string[] = [];
  let pending = 0;
  const flush = (): void => {
    const buf = Buffer.from(parts.join(''), 'utf8');
    writeSync(fd, buf);
    bytes += buf.length;
    parts = [];
    pending = 0;
  };
  try {
    for (const row of rows) {
      const line = JSON.stringify(row) + '\n';
      parts.push(line);
      pending += line.length;
      count++;
      if (pending >= 1 << 20) flush();
    }
    flush();
  } finally {
    closeSync(fd);
  }
  return { rows: count, bytes };
}

/** Version 1: `rows` base rows. */
export function writeBaseRows(path: string, rows: number): { rows: number; bytes: number } {
  return writeRows(
    path,
    (function* () {
      for (let i = 0; i < rows; i++) yield baseRow(i);
    })(),
  );
}

/**
 * Version 2: version 1 with `delta.removed` rows dropped, `delta.changed` rows edited in place
 * (half get the next label, half a longer text) and `delta.added` new rows appended.
 */
export function writeChangedRows(
  path: string,
  rows: number,
  delta: Delta,
): { rows: number; bytes: number } {
  const kinds = deltaKinds(rows, delta);
  return writeRows(
    path,
    (function* () {
      let edits = 0;
      for (let i = 0; i < rows; i++) {
        if (kinds[i] === 1) continue;
        const row = baseRow(i);
        if (kinds[i] === 2) {
          if (edits++ % 2 === 0) {
            row.label = LABELS[(LABELS.indexOf(row.label as (typeof LABELS)[number]) + 1) % 6]!;
          } else {
            row.text += ' (edited)';
          }
        }
        yield row;
      }
      for (let i = rows; i < rows + delta.added; i++) yield baseRow(i);
    })(),
  );
}

export interface FolderSpec {
  /** Number of small files, spread over the label subfolders. */
  files: number;
  /** Mean size of a small file; sizes vary uniformly by ±50 %. */
  meanBytes: number;
  /** Size of the one large file. */
  largeBytes: number;
}

export const FOLDER_LABELS = ['bird', 'cat', 'dog', 'fish'] as const;

/**
 * A `folder`-reader dataset: `<label>/img-NNNNN.bin` files of random bytes (sizes from a seeded
 * PRNG, contents from the system CSPRNG, which is fast) plus `cat/large-0.bin`.
 */
export function writeFolder(root: string, spec: FolderSpec): { files: number; bytes: number } {
  for (const l of FOLDER_LABELS) mkdirSync(join(root, l), { recursive: true });
  const r = prng(42);
  const buf = Buffer.allocUnsafe(Math.max(16 << 20, Math.ceil(spec.meanBytes * 1.5) + 1));
  let bytes = 0;
  for (let i = 0; i < spec.files; i++) {
    const size = Math.round(spec.meanBytes * (0.5 + r()));
    const label = FOLDER_LABELS[i % FOLDER_LABELS.length]!;
    const fd = openSync(join(root, label, `img-${String(i).padStart(5, '0')}.bin`), 'w');
    try {
      writeSync(fd, randomFillSync(buf, 0, size), 0, size);
    } finally {
      closeSync(fd);
    }
    bytes += size;
  }
  const fd = openSync(join(root, 'cat', 'large-0.bin'), 'w');
  try {
    for (let left = spec.largeBytes; left > 0;) {
      const n = Math.min(left, 16 << 20);
      writeSync(fd, randomFillSync(buf, 0, n), 0, n);
      left -= n;
    }
  } finally {
    closeSync(fd);
  }
  bytes += spec.largeBytes;
  return { files: spec.files + 1, bytes };
}
