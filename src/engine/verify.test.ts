import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateSigningKey, parsePublicKey } from '../core/keys.js';
import type { CordonRecord } from '../core/record.js';
import { sha256Hex } from '../core/hashing.js';
import { commit, tempWorkspace, textRecords } from '../../test/helpers/workspace.js';
import { exportSnapshot } from './export.js';
import { loadManifest } from './snapshots.js';
import type { FsBlobStore } from '../store/fs-blob-store.js';
import { verifyExport } from './verify-export.js';
import { verifySnapshot } from './verify-snapshot.js';
import { trustedKeys, type Workspace } from './workspace.js';
import type { SnapshotRow } from '../store/metadata-store.js';

let ws: Workspace;
let dir: string;
let cleanup: () => Promise<void>;
let row: SnapshotRow;

const imageBytes = Buffer.from('not really a png, but bytes all the same');
function withFile(records: CordonRecord[]): CordonRecord[] {
  return [
    ...records,
    {
      id: 'img-1',
      label: 'cat',
      source: 'camera',
      file: {
        path: 'cat/1.png',
        sha256: sha256Hex(imageBytes),
        size: imageBytes.length,
        mediaType: 'image/png',
      },
    },
  ];
}

beforeEach(async () => {
  ({ ws, dir, cleanup } = await tempWorkspace());
  // Store the file's bytes by content, as folder ingest does.
  const staging = await ws.blobs.stage();
  await staging.put(imageBytes);
  await staging.publish();
  row = await commit(ws, 'mail', withFile(textRecords(2000)));
});
afterEach(async () => cleanup());

const blobPath = (digest: string): string => (ws.blobs as FsBlobStore).pathOf(digest);
const flipByte = (file: string, at: number): void => {
  const b = readFileSync(file);
  b[at] = b[at]! ^ 0x20;
  writeFileSync(file, b);
};

describe('verifySnapshot detects tampering', () => {
  it('passes on an untouched snapshot', async () => {
    const v = await verifySnapshot(ws, row, await trustedKeys(ws));
    expect(v).toMatchObject({ records: 2001, files: 1 });
  });

  it('names the record whose stored bytes changed', async () => {
    const m = await loadManifest(ws, row);
    const seg = blobPath(m.header.segments[0]!);
    const text = readFileSync(seg, 'utf8');
    writeFileSync(seg, text.replace('message number', 'message NUMBER'));
    const firstId = (JSON.parse(text.split('\n')[0]!) as { id: string }).id;
    await expect(verifySnapshot(ws, row, await trustedKeys(ws))).rejects.toThrow(
      new RegExp(`line 1, record "${firstId}": content SHA-256 is [0-9a-f]{64}, the manifest says`),
    );
  });

  it('detects a changed manifest', async () => {
    flipByte(blobPath(row.manifest_digest), 200);
    await expect(verifySnapshot(ws, row, await trustedKeys(ws))).rejects.toThrow(
      /manifest of mail@1: manifest SHA-256 is/,
    );
  });

  it('detects a forged signature', async () => {
    const envPath = blobPath(row.envelope_digest);
    const env = JSON.parse(readFileSync(envPath, 'utf8')) as { signatures: { sig: string }[] };
    const sig = Buffer.from(env.signatures[0]!.sig, 'base64');
    sig[3] = sig[3]! ^ 1;
    env.signatures[0]!.sig = sig.toString('base64');
    writeFileSync(envPath, JSON.stringify(env));
    // The object no longer matches its name.
    await expect(verifySnapshot(ws, row, await trustedKeys(ws))).rejects.toThrow(
      /attestation of mail@1: SHA-256 is/,
    );
    // Even if the row is pointed at the re-hashed forgery, the signature fails.
    const digest = sha256Hex(readFileSync(envPath));
    const staging = await ws.blobs.stage();
    await staging.put(readFileSync(envPath));
    await staging.publish();
    await ws.meta.db
      .updateTable('snapshots')
      .set({ envelope_digest: digest })
      .where('id', '=', row.id)
      .execute();
    const forged = (await ws.meta.getSnapshot(row.id))!;
    await expect(verifySnapshot(ws, forged, await trustedKeys(ws))).rejects.toThrow(
      /0 valid signature\(s\) from trusted keys, needs 1/,
    );
  });

  it('rejects a signature by an untrusted key', async () => {
    const other = generateSigningKey();
    const keys = new Map([[other.keyId, parsePublicKey(other.publicKeyPem, 'other')]]);
    await expect(verifySnapshot(ws, row, keys)).rejects.toThrow(/valid signature/);
  });

  it.each([
    ['root', 'f'.repeat(64)],
    ['record_count', 1],
    ['message', 'innocent'],
    ['stage', 'train'],
  ] as const)('detects an edited metadata row (%s)', async (column, value) => {
    await ws.meta.db
      .updateTable('snapshots')
      .set({ [column]: value })
      .where('id', '=', row.id)
      .execute();
    const edited = (await ws.meta.getSnapshot(row.id))!;
    await expect(verifySnapshot(ws, edited, await trustedKeys(ws))).rejects.toThrow(
      new RegExp(`metadata row\\): ${column} is .* but the signed statement says`),
    );
  });

  it('detects a changed file object', async () => {
    flipByte(blobPath(sha256Hex(imageBytes)), 0);
    await expect(verifySnapshot(ws, row, await trustedKeys(ws))).rejects.toThrow(
      /file "cat\/1.png" of record "img-1": SHA-256 is/,
    );
  });
});

describe('exported snapshots', () => {
  let out: string;
  beforeEach(async () => {
    out = join(dir, 'export');
    await exportSnapshot(ws, row, out, { overrideGate: 'test fixture, not for training' });
  });

  it('verify passes on an untouched export', async () => {
    const v = await verifyExport(out, await trustedKeys(ws), { threads: 2 });
    expect(v).toMatchObject({ records: 2001, files: 1, root: row.root, snapshot: row.id });
  });

  it('refuses to export into a folder that is not empty', async () => {
    await expect(
      exportSnapshot(ws, row, out, { overrideGate: 'test fixture, not for training' }),
    ).rejects.toThrow(/not empty/);
  });

  it('names the line and record of a changed training row', async () => {
    const file = join(out, 'records.jsonl');
    const lines = readFileSync(file, 'utf8').split('\n');
    const flipped = lines[41]!.includes('"ham"') ? ['"ham"', '"spam"'] : ['"spam"', '"ham"'];
    lines[41] = lines[41]!.replace(flipped[0]!, flipped[1]!);
    const id = (JSON.parse(lines[41]) as { id: string }).id;
    writeFileSync(file, lines.join('\n'));
    await expect(verifyExport(out, await trustedKeys(ws))).rejects.toThrow(
      new RegExp(`records.jsonl line 42, record "${id}": content SHA-256 is`),
    );
  });

  it('detects an added record, a removed record and a duplicated one', async () => {
    const file = join(out, 'records.jsonl');
    const original = readFileSync(file, 'utf8');
    appendFileSync(
      file,
      JSON.stringify({ id: 'poison', label: 'ham', source: null, text: 'buy now' }) + '\n',
    );
    await expect(verifyExport(out, await trustedKeys(ws))).rejects.toThrow(
      /record "poison": is not listed in the manifest/,
    );
    const lines = original.split('\n').filter(Boolean);
    writeFileSync(file, lines.slice(1).join('\n') + '\n');
    await expect(verifyExport(out, await trustedKeys(ws))).rejects.toThrow(
      /listed in the manifest but missing from records.jsonl/,
    );
    writeFileSync(file, [...lines, lines[5]].join('\n') + '\n');
    await expect(verifyExport(out, await trustedKeys(ws))).rejects.toThrow(
      /appears more than once/,
    );
  });

  it('detects a changed, missing or unexpected file', async () => {
    const img = join(out, 'files', 'cat', '1.png');
    flipByte(img, 2);
    await expect(verifyExport(out, await trustedKeys(ws))).rejects.toThrow(
      /files\/cat\/1.png \(record "img-1", records.jsonl line \d+\): SHA-256 is/,
    );
    rmSync(img);
    await expect(verifyExport(out, await trustedKeys(ws))).rejects.toThrow(
      /files\/cat\/1.png .*file is missing/,
    );
    writeFileSync(img, imageBytes);
    mkdirSync(join(out, 'files', 'dog'));
    writeFileSync(join(out, 'files', 'dog', 'x.png'), 'x');
    await expect(verifyExport(out, await trustedKeys(ws))).rejects.toThrow(
      /files\/dog\/x.png: is not referenced/,
    );
  });

  it('detects a swapped manifest or attestation', async () => {
    flipByte(join(out, 'manifest.ndjson'), 300);
    await expect(verifyExport(out, await trustedKeys(ws))).rejects.toThrow(
      /manifest.ndjson: manifest SHA-256 is/,
    );
  });

  it('fails closed with no trusted key and with the wrong key', async () => {
    await expect(verifyExport(out, new Map())).rejects.toThrow(/no trusted keys/);
    const other = generateSigningKey();
    await expect(
      verifyExport(out, new Map([[other.keyId, parsePublicKey(other.publicKeyPem, 'k')]])),
    ).rejects.toThrow(/attestation.dsse.json: envelope has 0 valid signature/);
  });
});

describe('hand-offs fail closed on a tampered input', () => {
  it('refuses to export, append to or merge a snapshot whose bytes changed', async () => {
    const other = await commit(ws, 'other', textRecords(10, { offset: 90_000 }));
    const m = await loadManifest(ws, row);
    const seg = blobPath(m.header.segments[0]!);
    writeFileSync(seg, readFileSync(seg, 'utf8').replace('message number', 'message NUMBER'));
    await expect(
      exportSnapshot(ws, row, join(dir, 'out2'), { overrideGate: 'test fixture' }),
    ).rejects.toThrow(/content SHA-256 is/);
    await expect(
      commit(ws, 'mail', textRecords(1, { offset: 5000 }), {
        base: m,
        run: {
          kind: 'ingest',
          inputs: [row],
          command: null,
          codeDigest: null,
          params: {},
          startedAt: new Date().toISOString(),
        },
      }),
    ).rejects.toThrow(/content SHA-256 is/);
    const { mergeSnapshots } = await import('./merge.js');
    await expect(
      mergeSnapshots(ws, 'both', [row, other], { onConflict: 'error', stage: 'curated' }),
    ).rejects.toThrow(/content SHA-256 is/);
    expect(await ws.meta.listSnapshots('both')).toHaveLength(0);
  });
});
