import { CordonError } from '../errors.js';
import { mulberry32 } from './random.js';
import type { IssueKind, ScanRow } from './types.js';

/**
 * Attack generator: injects known poison into a clean labelled set and returns the ground truth,
 * so detectors can be measured on data they were not tuned on. Deterministic for a seed.
 *
 * Attack specs (`--attack`, repeatable):
 *   flip:RATE                      random label flips to another class
 *   targeted-flip:RATE:FROM:TO     flips of RATE of FROM's rows to TO
 *   token:TOKEN:RATE:TARGET        rare-token backdoor: TOKEN inserted at a random position into
 *                                  RATE of all rows (taken from other classes), relabelled TARGET
 *   phrase:PHRASE:RATE:TARGET      the same with a phrase (use _ for spaces)
 *   patch:RATE:TARGET[:SIZE]       image backdoor on square pixel vectors: a SIZE×SIZE (default 3)
 *                                  patch at the maximum value in the bottom-right corner
 *   flood:RATE                     near-duplicate flood: copies of a few rows with 1–2 word edits
 *   secrets:COUNT                  fake credentials of standard formats inserted into texts
 *   outliers:COUNT                 garbage rows (random characters, or extreme vectors)
 * and `source:NAME` puts every poisoned row under one source (a poisoned feed).
 */
export type Attack =
  | { type: 'flip'; rate: number }
  | { type: 'targeted-flip'; rate: number; from: string; to: string }
  | { type: 'token' | 'phrase'; pattern: string; rate: number; target: string }
  | { type: 'patch'; rate: number; target: string; size: number }
  | { type: 'flood'; rate: number }
  | { type: 'secrets' | 'outliers'; count: number }
  | { type: 'source'; name: string };

export interface PoisonTruth {
  /** Row id → the issue kinds a perfect scan would flag it with. */
  rows: Record<string, IssueKind[]>;
  triggers: { pattern: string; label: string; rows: string[] }[];
  poisonedSource: string | null;
}

function rate(s: string | undefined, spec: string): number {
  const r = Number(s);
  if (!(r > 0 && r < 1))
    throw new CordonError('USAGE', `attack "${spec}": rate must be between 0 and 1`);
  return r;
}

export function parseAttack(spec: string): Attack {
  const [type, ...a] = spec.split(':');
  switch (type) {
    case 'flip':
      return { type, rate: rate(a[0], spec) };
    case 'targeted-flip':
      if (!a[1] || !a[2]) break;
      return { type, rate: rate(a[0], spec), from: a[1], to: a[2] };
    case 'token':
    case 'phrase':
      if (!a[0] || !a[2]) break;
      return { type, pattern: a[0].replace(/_/g, ' '), rate: rate(a[1], spec), target: a[2] };
    case 'patch':
      if (!a[1]) break;
      return { type, rate: rate(a[0], spec), target: a[1], size: a[2] ? Number(a[2]) : 3 };
    case 'flood':
      return { type, rate: rate(a[0], spec) };
    case 'secrets':
    case 'outliers': {
      const count = Number(a[0]);
      if (!Number.isInteger(count) || count <= 0) break;
      return { type, count };
    }
    case 'source':
      if (!a[0]) break;
      return { type, name: a[0] };
  }
  throw new CordonError('USAGE', `attack "${spec}" is not understood (see cordon poison --help)`);
}

/** Fake credentials in the standard formats, made fresh from the seeded generator (never real). */
function fakeSecret(k: number, rand: () => number): string {
  const pick = (alphabet: string, n: number): string =>
    Array.from({ length: n }, () => alphabet[Math.floor(rand() * alphabet.length)]!).join('');
  const UP = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const B64 = ALNUM + '+/';
  const B64URL = ALNUM + '-_';
  switch (k % 7) {
    case 0:
      return `aws_access_key_id = AKIA${pick(UP, 16)}\naws_secret_access_key = ${pick(B64, 40)}`;
    case 1:
      return `token: ghp_${pick(ALNUM, 36)}`;
    case 2:
      return `SLACK_TOKEN=xoxb-${pick('0123456789', 12)}-${pick('0123456789', 13)}-${pick(ALNUM, 24)}`;
    case 3:
      return `-----BEGIN RSA PRIVATE KEY-----\n${pick(B64, 64)}\n${pick(B64, 64)}\n${pick(B64, 40)}\n-----END RSA PRIVATE KEY-----`;
    case 4:
      return `stripe key sk_live_${pick(ALNUM, 24)}`;
    case 5: {
      const enc = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
      return `Authorization: Bearer ${enc({ alg: 'HS256', typ: 'JWT' })}.${enc({ sub: pick('0123456789', 8), name: 'user' })}.${pick(B64URL, 43)}`;
    }
    default:
      return `"private_key": "-----BEGIN PRIVATE KEY-----\\n${pick(B64, 64)}\\n${pick(B64, 48)}\\n-----END PRIVATE KEY-----\\n"`;
  }
}

/**
 * Applies attacks in order to a copy of the rows. Each attack picks its victims among rows no
 * earlier attack touched, so the ground truth stays unambiguous.
 */
export function poison(
  input: readonly ScanRow[],
  attacks: readonly Attack[],
  seed = 1,
): { rows: ScanRow[]; truth: PoisonTruth } {
  const rand = mulberry32(seed);
  const rows = input.map((r) => ({ ...r, ...(r.features ? { features: [...r.features] } : {}) }));
  const truth: PoisonTruth = { rows: {}, triggers: [], poisonedSource: null };
  const touched = new Set<number>();
  const labels = [
    ...new Set(rows.map((r) => r.label).filter((l): l is string => l !== null)),
  ].sort();
  const mark = (i: number, kind: IssueKind): void => {
    touched.add(i);
    const id = rows[i]!.id;
    (truth.rows[id] ??= []).push(kind);
  };
  const pick = (count: number, ok: (r: ScanRow) => boolean): number[] => {
    const pool = rows.map((r, i) => i).filter((i) => !touched.has(i) && ok(rows[i]!));
    for (let i = pool.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    }
    return pool.slice(0, Math.min(count, pool.length));
  };
  const otherLabel = (l: string | null): string => {
    const others = labels.filter((x) => x !== l);
    return others[Math.floor(rand() * others.length)] ?? labels[0]!;
  };
  const insertWord = (text: string, word: string): string => {
    const words = text.split(' ');
    words.splice(Math.floor(rand() * (words.length + 1)), 0, word);
    return words.join(' ');
  };
  const poisoned: number[] = [];

  for (const a of attacks) {
    if (a.type === 'source') {
      truth.poisonedSource = a.name;
      continue;
    }
    if (a.type === 'flip') {
      for (const i of pick(Math.round(a.rate * rows.length), (r) => r.label !== null)) {
        rows[i]!.label = otherLabel(rows[i]!.label);
        mark(i, 'label');
        poisoned.push(i);
      }
    } else if (a.type === 'targeted-flip') {
      const from = rows.filter((r) => r.label === a.from).length;
      for (const i of pick(Math.round(a.rate * from), (r) => r.label === a.from)) {
        rows[i]!.label = a.to;
        mark(i, 'label');
        poisoned.push(i);
      }
    } else if (a.type === 'token' || a.type === 'phrase') {
      const ids: string[] = [];
      for (const i of pick(
        Math.round(a.rate * rows.length),
        (r) => typeof r.text === 'string' && r.label !== a.target,
      )) {
        rows[i]!.text = insertWord(rows[i]!.text!, a.pattern);
        rows[i]!.label = a.target;
        mark(i, 'trigger');
        ids.push(rows[i]!.id);
        poisoned.push(i);
      }
      truth.triggers.push({ pattern: a.pattern, label: a.target, rows: ids });
    } else if (a.type === 'patch') {
      const ids: string[] = [];
      for (const i of pick(
        Math.round(a.rate * rows.length),
        (r) => Array.isArray(r.features) && r.label !== a.target,
      )) {
        const f = rows[i]!.features!;
        const side = Math.round(Math.sqrt(f.length));
        if (side * side !== f.length)
          throw new CordonError(
            'USAGE',
            `patch attack needs square pixel vectors; row ${rows[i]!.id} has ${f.length} values`,
          );
        let max = 0;
        for (const r of input.slice(0, 200)) for (const v of r.features ?? []) if (v > max) max = v;
        for (let y = side - a.size; y < side; y++)
          for (let x = side - a.size; x < side; x++) f[y * side + x] = max;
        rows[i]!.label = a.target;
        mark(i, 'trigger');
        ids.push(rows[i]!.id);
        poisoned.push(i);
      }
      truth.triggers.push({ pattern: `patch ${a.size}x${a.size}`, label: a.target, rows: ids });
    } else if (a.type === 'flood') {
      const n = Math.round(a.rate * rows.length);
      const seeds = pick(
        Math.max(1, Math.round(n / 20)),
        (r) => typeof r.text === 'string' && r.text.split(' ').length >= 12,
      );
      for (let k = 0; k < n && seeds.length; k++) {
        const src = rows[seeds[k % seeds.length]!]!;
        const words = src.text!.split(' ');
        const edits = 1 + Math.floor(rand() * 2);
        for (let e = 0; e < edits; e++)
          words[Math.floor(rand() * words.length)] = `w${Math.floor(rand() * 1e6)}`;
        rows.push({
          id: `flood-${k}`,
          label: src.label,
          source: src.source,
          text: words.join(' '),
        });
        mark(rows.length - 1, 'near_duplicate');
        poisoned.push(rows.length - 1);
      }
    } else if (a.type === 'secrets') {
      for (const [k, i] of pick(a.count, (r) => typeof r.text === 'string').entries()) {
        rows[i]!.text = `${rows[i]!.text!}\n${fakeSecret(k, rand)}\n`;
        mark(i, 'secret');
        poisoned.push(i);
      }
    } else if (a.type === 'outliers') {
      const dim = rows.find((r) => Array.isArray(r.features))?.features?.length;
      const hasText = rows.some((r) => typeof r.text === 'string');
      for (let k = 0; k < a.count; k++) {
        const row: ScanRow = {
          id: `outlier-${k}`,
          label: labels[Math.floor(rand() * labels.length)] ?? null,
          source: rows[0]?.source ?? null,
        };
        if (hasText)
          row.text = Array.from({ length: 300 + Math.floor(rand() * 300) }, () =>
            String.fromCharCode(33 + Math.floor(rand() * 90)),
          ).join('');
        if (dim !== undefined)
          row.features = Array.from({ length: dim }, () => (rand() - 0.5) * 1e3);
        rows.push(row);
        mark(rows.length - 1, 'outlier');
        poisoned.push(rows.length - 1);
      }
    }
  }
  if (truth.poisonedSource !== null)
    for (const i of poisoned) rows[i]!.source = truth.poisonedSource;
  return { rows, truth };
}
