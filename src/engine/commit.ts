import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { canonicalJson } from '../core/canonical-json.js';
import { signEnvelope, IN_TOTO_PAYLOAD_TYPE } from '../core/dsse.js';
import { CordonError, InputError } from '../core/errors.js';
import { sha256Hex, type Digest } from '../core/hashing.js';
import type { LineageRun, SnapshotRef } from '../core/lineage.js';
import {
  MANIFEST_ENCODING,
  buildHeader,
  compareIds,
  countBy,
  encodeManifest,
  type ManifestEntry,
} from '../core/manifest.js';
import { assertRecord, encodeRecord } from '../core/record.js';
import { toSlsaProvenance } from '../core/slsa.js';
import {
  snapshotIdOf,
  snapshotStatement,
  statementBytes,
  type SnapshotPredicate,
} from '../core/statement.js';
import type { BlobStaging } from '../store/blob-store.js';
import type { SnapshotRow } from '../store/metadata-store.js';
import { faultPoint } from './fault.js';
import type { IngestItem } from './readers/reader.js';
import { safeRelativePath } from './safe-path.js';
import { SegmentWriter } from './segment-writer.js';
import { authorize, type DecisionRecord } from './governance/authorize.js';
import { quarantineOf } from './governance/facts.js';
import { verifyInputs } from './verify-snapshot.js';
import type { LoadedManifest } from './snapshots.js';
import type { Workspace } from './workspace.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const BUILDER_ID = 'https://cordon.dev/builders/cli/v1';

export interface RunInfo {
  kind: LineageRun['kind'];
  inputs: SnapshotRow[];
  command: string | null;
  codeDigest: Digest | null;
  params: Record<string, string>;
  source?: string;
  startedAt: string;
}

export interface CommitOptions {
  dataset: string;
  stage: string;
  message: string;
  /** Snapshot ids this one derives from (recorded in the signed statement). */
  parents: string[];
  /** The head this commit expects to replace; null for a new dataset. */
  expectedHead: string | null;
  /** Records kept from an earlier snapshot (append and merge); the new items override by id. */
  base?: LoadedManifest;
  run: RunInfo;
  onProgress?: (records: number) => void;
  /**
   * The authorization this commit needs: 'ingest' (any content change, the default) or
   * 'relabel' (labels only; the caller guarantees nothing else changes).
   */
  action?: 'ingest' | 'relabel';
}

export function assertName(kind: string, name: string): void {
  if (!NAME.test(name)) {
    throw new CordonError(
      'USAGE',
      `${kind} "${name}" must start with a letter or digit and hold only letters, digits, . _ -`,
    );
  }
}

/**
 * Writes a new snapshot from a stream of records. All-or-nothing: objects are staged while the
 * input streams in and published only after the whole input was read and checked, then one
 * metadata transaction records the snapshot and moves the head. A failure or kill before that
 * transaction leaves no snapshot and no new object under a final name (until publish) or only
 * complete, unreferenced objects (after publish).
 */
export async function commitItems(
  ws: Workspace,
  items: AsyncIterable<IngestItem> | Iterable<IngestItem>,
  options: CommitOptions,
): Promise<SnapshotRow> {
  assertName('dataset', options.dataset);
  assertName('stage', options.stage);
  const authz = await checkCommit(ws, options);
  const staging = await ws.blobs.stage();
  try {
    const baseSegments = options.base?.header.segments ?? [];
    const writer = new SegmentWriter(staging, baseSegments.length);
    const fresh: (ManifestEntry & { where: string })[] = [];
    const labelOnly = options.action === 'relabel' ? relabelGuard(options) : null;
    for await (const item of items) {
      assertRecord(item.record);
      labelOnly?.(item);
      if (item.record.file) safeRelativePath(item.record.file.path, `${item.where}: file path`);
      if (item.filePath !== undefined && item.record.file) {
        const stored = await staging.putStream(createReadStream(item.filePath));
        if (stored.digest !== item.record.file.sha256) {
          throw new InputError({ file: item.filePath }, 'file changed while it was being ingested');
        }
      }
      const line = encodeRecord(item.record);
      const digest = sha256Hex(line);
      const r = item.record;
      fresh.push({
        id: r.id,
        digest,
        label: r.label,
        source: r.source,
        segment: writer.add(line, digest),
        where: item.where,
      });
      if (writer.pendingFlush) await writer.flush();
      if (options.onProgress && fresh.length % 10_000 === 0) options.onProgress(fresh.length);
    }
    await writer.flush();
    options.onProgress?.(fresh.length);
    fresh.sort((a, b) => compareIds(a.id, b.id));
    for (let i = 1; i < fresh.length; i++) {
      if (fresh[i - 1]!.id === fresh[i]!.id) {
        throw new CordonError(
          'INPUT_INVALID',
          `duplicate record id "${fresh[i]!.id}" at ${fresh[i - 1]!.where} and ${fresh[i]!.where}`,
        );
      }
    }
    const entries = options.base ? overlay(options.base.entries, fresh) : fresh.map(stripWhere);
    faultPoint('after-segments');
    return await finish(ws, staging, entries, [...baseSegments, ...writer.segments], {
      ...options,
      authz,
    });
  } catch (e) {
    await staging.abort();
    throw e;
  }
}

/**
 * What every commit checks before it writes anything: the actor may create the dataset (if new)
 * and make this change, and every input verifies and is not quarantined.
 */
export async function checkCommit(
  ws: Workspace,
  options: Pick<CommitOptions, 'dataset' | 'action' | 'run'>,
): Promise<DecisionRecord[]> {
  const out: DecisionRecord[] = [];
  if (!(await ws.meta.getDataset(options.dataset)))
    out.push(await authorize(ws, 'createDataset', { type: 'Workspace' }));
  out.push(
    options.action === 'relabel'
      ? await authorize(ws, 'relabel', { type: 'LabelSet', dataset: options.dataset })
      : await authorize(ws, 'ingest', { type: 'Dataset', dataset: options.dataset }),
  );
  await verifyInputs(ws, options.run.inputs);
  await refuseQuarantined(ws, options.run.inputs, options.run.kind);
  return out;
}

/**
 * For a label-only commit: every item must replace a record of the single input snapshot, and
 * differ from it in nothing but its label, with the input's records all kept. This is what lets
 * a labeler (allowed 'relabel', not 'ingest') commit, so it is checked here, not trusted.
 */
function relabelGuard(options: CommitOptions): (item: IngestItem) => void {
  const input = options.run.inputs[0];
  const base = options.base;
  if (
    options.run.inputs.length !== 1 ||
    !input ||
    !base ||
    base.entries.length !== Number(input.record_count)
  )
    throw new CordonError(
      'INTERNAL',
      'a label-only commit must start from all the records of exactly one input snapshot',
    );
  const byId = new Map(base.entries.map((e) => [e.id, e]));
  return (item) => {
    const was = byId.get(item.record.id);
    const same =
      was !== undefined &&
      sha256Hex(encodeRecord({ ...item.record, label: was.label })) === was.digest;
    if (!same)
      throw new CordonError(
        'FORBIDDEN',
        `${item.where}: a label-only change may change labels, not content or records`,
      );
  };
}

/** Quarantined data never flows on: a transform, merge or append of it is refused and logged. */
async function refuseQuarantined(
  ws: Workspace,
  inputs: readonly SnapshotRow[],
  kind: string,
): Promise<void> {
  for (const input of inputs) {
    const q = await quarantineOf(ws, input);
    if (!q) continue;
    const what = q.kind === 'snapshot' ? 'it is' : `its source "${q.target}" is`;
    const message = `${input.dataset}@${input.version} cannot be used in a ${kind}: ${what} quarantined (${q.reason})`;
    await ws.meta.appendEvent({
      time: new Date().toISOString(),
      actor: ws.identity.name,
      kind: 'quarantine.blocked',
      dataset: input.dataset,
      snapshot_id: input.id,
      detail: JSON.stringify({ operation: kind, quarantine: q.id, reason: message }),
    });
    throw new CordonError('QUARANTINED', message);
  }
}

function stripWhere(e: ManifestEntry & { where?: string }): ManifestEntry {
  return { id: e.id, digest: e.digest, label: e.label, source: e.source, segment: e.segment };
}

/** Merges id-sorted `top` over id-sorted `base`: same id → `top` wins. */
function overlay(base: readonly ManifestEntry[], top: readonly ManifestEntry[]): ManifestEntry[] {
  const out: ManifestEntry[] = [];
  let i = 0;
  let j = 0;
  while (i < base.length || j < top.length) {
    const a = base[i];
    const b = top[j];
    const c = a === undefined ? 1 : b === undefined ? -1 : compareIds(a.id, b.id);
    if (c < 0) {
      out.push(a!);
      i++;
    } else {
      out.push(stripWhere(b!));
      j++;
      if (c === 0) i++;
    }
  }
  return out;
}

/** Writes manifest, signed statement and provenance, publishes the objects, records the snapshot. */
export async function finish(
  ws: Workspace,
  staging: BlobStaging,
  entries: ManifestEntry[],
  segments: Digest[],
  options: CommitOptions & { authz: DecisionRecord[] },
): Promise<SnapshotRow> {
  const header = buildHeader(entries, segments);
  const manifest = await staging.putStream(encodeManifest(header, entries));
  faultPoint('after-manifest');
  const version = (await ws.meta.latestVersion(options.dataset)) + 1;
  const createdAt = new Date().toISOString();
  const predicate: SnapshotPredicate = {
    dataset: options.dataset,
    version,
    stage: options.stage,
    parents: options.parents,
    manifest: {
      digest: manifest.digest,
      encoding: MANIFEST_ENCODING,
      records: entries.length,
      leaves: 'rfc9162:sha256(record-digest)',
    },
    labels: countBy(entries, 'label'),
    sources: countBy(entries, 'source'),
    author: { identity: ws.identity.name, keyId: ws.identity.keyId },
    createdAt,
    message: options.message,
  };
  const payload = statementBytes(snapshotStatement(header.root, predicate));
  const envelope = signEnvelope(IN_TOTO_PAYLOAD_TYPE, payload, [
    { keyId: ws.identity.keyId, key: ws.identity.privateKey },
  ]);
  const envelopeDigest = await staging.put(canonicalJson(envelope));
  const snapshot: SnapshotRow = {
    id: snapshotIdOf(payload),
    dataset: options.dataset,
    version,
    stage: options.stage,
    root: header.root,
    record_count: entries.length,
    manifest_digest: manifest.digest,
    envelope_digest: envelopeDigest,
    parents: JSON.stringify(options.parents),
    author: ws.identity.name,
    author_key_id: ws.identity.keyId,
    created_at: createdAt,
    message: options.message,
  };

  const run = options.run;
  const lineage: LineageRun = {
    id: randomUUID(),
    kind: run.kind,
    inputs: run.inputs.map(toRef),
    output: toRef(snapshot),
    command: run.command,
    codeDigest: run.codeDigest,
    params: run.params,
    actor: ws.identity.name,
    startedAt: run.startedAt,
    finishedAt: new Date().toISOString(),
    ...(run.source !== undefined ? { source: run.source } : {}),
  };
  const provenance = statementBytes(toSlsaProvenance(lineage, { builderId: BUILDER_ID }));
  const provenanceEnvelope = signEnvelope(IN_TOTO_PAYLOAD_TYPE, provenance, [
    { keyId: ws.identity.keyId, key: ws.identity.privateKey },
  ]);
  const provenanceDigest = await staging.put(canonicalJson(provenanceEnvelope));

  faultPoint('before-publish');
  await staging.publish();
  faultPoint('after-publish');
  await ws.meta.commitSnapshot({
    snapshot,
    expectedHead: options.expectedHead,
    run: {
      id: lineage.id,
      kind: lineage.kind,
      output_snapshot: snapshot.id,
      inputs: JSON.stringify(run.inputs.map((r) => r.id)),
      command: run.command,
      code_digest: run.codeDigest,
      params: JSON.stringify({
        ...run.params,
        ...(run.source !== undefined ? { source: run.source } : {}),
      }),
      actor: ws.identity.name,
      started_at: lineage.startedAt,
      finished_at: lineage.finishedAt,
      envelope_digest: provenanceDigest,
    },
    event: {
      time: createdAt,
      actor: ws.identity.name,
      kind: `snapshot.${run.kind}`,
      dataset: options.dataset,
      snapshot_id: snapshot.id,
      detail: JSON.stringify({
        version,
        records: entries.length,
        root: header.root,
        stage: options.stage,
        authz: options.authz,
      }),
    },
  });
  faultPoint('after-commit');
  return snapshot;
}

export function toRef(row: SnapshotRow): SnapshotRef {
  return {
    id: row.id,
    dataset: row.dataset,
    version: row.version,
    root: row.root,
    stage: row.stage,
    recordCount: Number(row.record_count),
    createdAt: row.created_at,
  };
}
