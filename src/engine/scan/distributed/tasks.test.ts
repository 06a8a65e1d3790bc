import { describe, expect, it } from 'vitest';
import { findExactDuplicates } from '../../../core/scan/exact-duplicates.js';
import {
  bandHashes,
  confirmNearDuplicates,
  findNearDuplicates,
  lshCandidates,
  lshPartitionCandidates,
  markTextCopies,
  mergeCandidates,
  minhashBaseSummary,
  minhashParams,
  minhashSignatures,
  bandPartition,
  type BandEntries,
} from '../../../core/scan/minhash-lsh.js';
import { detectLabelIssues, finishLabelIssues } from '../../../core/scan/label-issues.js';
import { piiDetector, piiResult } from '../../../core/scan/pii.js';
import { mulberry32 } from '../../../core/scan/random.js';
import { secretsDetector, secretsResult } from '../../../core/scan/secrets.js';
import type { ScanRow } from '../../../core/scan/types.js';
import {
  partitionEntries,
  runTask,
  type FoldResult,
  type LshResult,
  type MapResult,
} from './tasks.js';

const WORDS = (
  'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho ' +
  'sigma tau upsilon phi chi psi omega invoice meeting report server deploy backup cluster'
).split(' ');

/** Rows with near-duplicate floods (one larger than a full LSH bucket), exact copies, conflicting labels, secrets, PII, no text, features. */
function syntheticRows(n: number, seed: number): ScanRow[] {
  const rand = mulberry32(seed);
  const word = (): string => WORDS[Math.floor(rand() * WORDS.length)]!;
  const sentence = (k: number): string => Array.from({ length: k }, word).join(' ');
  const rows: ScanRow[] = [];
  const seeds: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = rand();
    const id = `r${String(i).padStart(5, '0')}`;
    const label = rand() < 0.05 ? null : rand() < 0.5 ? 'spam' : 'ham';
    const source = `s${i % 4}`;
    if (r < 0.05) rows.push({ id, label, source });
    else if (r < 0.1) rows.push({ id, label, source, features: [i % 7, 1, 2] });
    else if (r < 0.3 && seeds.length > 0) {
      // A lightly edited copy of an earlier text (12 of these seeds get ≥ 9 copies).
      const words = seeds[Math.floor(rand() * seeds.length)]!.split(' ');
      if (rand() < 0.7) words[Math.floor(rand() * words.length)] = `w${Math.floor(rand() * 1e6)}`;
      rows.push({ id, label, source, text: words.join(' ') });
    } else {
      let text = sentence(8 + Math.floor(rand() * 40));
      if (rand() < 0.03) text += ` contact me at user${i}@example.com or +1 415 555 0${100 + i}`;
      if (rand() < 0.02)
        text += ` aws_secret_access_key = "AKIA${'ABCDEFGHIJKLMNOP'.slice(0, 16)}"`;
      if (rand() < 0.01)
        text += `\n-----BEGIN RSA PRIVATE KEY-----\n${'MIIEow'.repeat(20)}\n-----END RSA PRIVATE KEY-----\n`;
      if (seeds.length < 12 && rand() < 0.2) seeds.push(text);
      rows.push({ id, label, source, text });
    }
  }
  return rows;
}

const rows = syntheticRows(1500, 7);
const n = rows.length;
const boundsOf = (shards: number): number[] =>
  Array.from({ length: shards + 1 }, (_, k) => Math.floor((k * n) / shards));

async function mapShards(shards: number, partitions: number): Promise<MapResult[]> {
  const bounds = boundsOf(shards);
  const out: MapResult[] = [];
  for (let k = 0; k < shards; k++)
    out.push(
      (await runTask(
        {
          kind: 'map',
          input: { rows: rows.slice(bounds[k], bounds[k + 1]) },
          start: bounds[k]!,
          parts: {
            exact: { useFeatures: true },
            minhash: { options: {}, partitions },
            secrets: {},
            pii: {},
          },
        },
        () => undefined,
      )) as MapResult,
    );
  return out;
}

describe('sharded detector phases', () => {
  it('partitioned LSH buckets give exactly the pairs and large buckets of the whole LSH', () => {
    const params = minhashParams();
    const block = minhashSignatures(
      rows.map((r) => r.text),
      0,
      n,
      params,
    );
    const bands = new Uint32Array(params.bands * n);
    bandHashes(block.signatures, n, params, bands, n, 0);
    const active = new Uint8Array(n).map((_, i) => (i % 11 === 3 ? 0 : 1));
    const whole = lshCandidates(bands, n, active, 0, params.bands);
    expect(whole.largeBuckets).toBeGreaterThan(0);
    expect(whole.pairs.length).toBeGreaterThan(100);
    for (const partitions of [1, 2, 5]) {
      const parts = Array.from({ length: partitions }, (_, p) => {
        const perBand: BandEntries[] = [];
        for (let j = 0; j < params.bands; j++) {
          const rs: number[] = [];
          const hs: number[] = [];
          for (let i = 0; i < n; i++) {
            const h = bands[j * n + i]!;
            if (active[i] && bandPartition(h, partitions) === p) {
              rs.push(i);
              hs.push(h);
            }
          }
          perBand.push({ rows: Int32Array.from(rs), hashes: Uint32Array.from(hs) });
        }
        return lshPartitionCandidates(perBand, n);
      });
      expect(mergeCandidates(parts, n)).toEqual(whole);
    }
  });

  it.each([
    [1, 1],
    [3, 2],
    [7, 4],
  ])(
    'with %i shard(s) and %i partition(s): secrets, PII, exact and near duplicates as one pass',
    async (shards, partitions) => {
      const maps = await mapShards(shards, partitions);
      const bounds = boundsOf(shards);

      const secrets = await secretsDetector.run(rows, {});
      const secretParts = maps.map((m) => m.secrets!);
      expect(secretsResult(n, secretParts)).toEqual(secrets);
      expect(secrets.issues.length).toBeGreaterThan(5);
      const pii = await piiDetector.run(rows, {});
      const piiParts = maps.map((m) => m.pii!);
      expect(piiResult(n, piiParts)).toEqual(pii);
      expect(pii.issues.length).toBeGreaterThan(5);

      const hashes = new Uint32Array(2 * n);
      const flags = new Uint8Array(n);
      maps.forEach((m, k) => {
        hashes.set(m.content!.hashes, 2 * bounds[k]!);
        flags.set(m.content!.flags, bounds[k]);
      });
      const exact = findExactDuplicates(rows, {}, undefined, { hashes, flags });
      expect(exact).toEqual(findExactDuplicates(rows, {}));
      expect(exact.issues.length).toBeGreaterThan(0);

      const params = minhashParams();
      const mhFlags = new Uint8Array(n);
      const textHash = new Uint32Array(2 * n);
      maps.forEach((m, k) => {
        mhFlags.set(m.minhash!.flags, bounds[k]);
        textHash.set(m.minhash!.textHash, 2 * bounds[k]!);
      });
      const copies = markTextCopies(rows, mhFlags, textHash);
      const base = minhashBaseSummary(n, copies, params);
      const cands = [];
      for (let p = 0; p < partitions; p++) {
        const perBand = partitionEntries(
          maps.map((m) => m.minhash!.partitions[p]!),
          params.bands,
          copies.active,
        );
        const r = (await runTask(
          { kind: 'lsh', perBand, rows: n, fullBucket: 8 },
          () => undefined,
        )) as LshResult;
        cands.push(r.candidates);
      }
      const near = confirmNearDuplicates(rows, params, mergeCandidates(cands, n), base.summary);
      const single = findNearDuplicates(rows);
      expect(near).toEqual(single);
      expect(single.issues.length).toBeGreaterThan(50);
      expect(single.summary.largeBuckets).toBeGreaterThan(0);
      expect(single.summary.exactCopiesSkipped).toBeGreaterThan(0);
    },
  );

  it('confident learning fold by fold gives the one-pass result', async () => {
    const outcomes: FoldResult['outcome'][] = [];
    for (let fold = 0; fold < 5; fold++)
      outcomes.push(
        (
          (await runTask(
            { kind: 'fold', input: { rows }, fold, plan: {} },
            () => undefined,
          )) as FoldResult
        ).outcome,
      );
    const first = outcomes[0]!;
    if (!('rows' in first) || !first.finish) throw new Error('fold 0 has no setup');
    const K = first.finish.K;
    const P = new Float32Array(n * K);
    for (const o of outcomes.slice(0, first.finish.folds)) {
      if (!('rows' in o)) throw new Error('missing fold');
      for (let r = 0; r < o.rows.length; r++) P.set(o.P.subarray(r * K, r * K + K), o.rows[r]! * K);
    }
    const single = detectLabelIssues(rows);
    expect(finishLabelIssues(rows, first.finish, P)).toEqual(single);
    expect(single.skipped).toBeUndefined();
  });
});
