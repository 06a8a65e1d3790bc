import { canonicalJson } from './canonical-json.js';
import { CordonError } from './errors.js';
import { isDigest, sha256Hex, type Digest } from './hashing.js';

/** in-toto Statement v1. */
export interface Statement<P> {
  _type: typeof STATEMENT_TYPE;
  subject: { name: string; digest: Record<string, string> }[];
  predicateType: string;
  predicate: P;
}

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const SNAPSHOT_PREDICATE = 'https://cordon.dev/attestation/snapshot/v1';

/** What a snapshot statement asserts about the snapshot. Every field is also a column. */
export interface SnapshotPredicate {
  dataset: string;
  version: number;
  stage: string;
  parents: Digest[]; // snapshot ids
  manifest: {
    digest: Digest;
    encoding: string;
    records: number;
    leaves: 'rfc9162:sha256(record-digest)';
  };
  labels: { name: string | null; records: number }[];
  sources: { name: string | null; records: number }[];
  author: { identity: string; keyId: string };
  createdAt: string; // RFC 3339, UTC
  message: string;
}

export function snapshotStatement(
  root: Digest,
  predicate: SnapshotPredicate,
): Statement<SnapshotPredicate> {
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: predicate.dataset, digest: { sha256: root } }],
    predicateType: SNAPSHOT_PREDICATE,
    predicate,
  };
}

/** Statement bytes as signed: canonical JSON, UTF-8. */
export function statementBytes(statement: Statement<unknown>): Buffer {
  return Buffer.from(canonicalJson(statement), 'utf8');
}

/** A snapshot's id is the SHA-256 of its signed statement bytes. */
export function snapshotIdOf(payload: Uint8Array): Digest {
  return sha256Hex(payload);
}

export function parseStatement(payload: Buffer): Statement<unknown> {
  let v: unknown;
  try {
    v = JSON.parse(payload.toString('utf8'));
  } catch (cause) {
    throw new CordonError('SIGNATURE_INVALID', 'statement payload is not JSON', { cause });
  }
  const s = v as Partial<Statement<unknown>>;
  if (s._type !== STATEMENT_TYPE)
    throw new CordonError('SIGNATURE_INVALID', `statement _type is not ${STATEMENT_TYPE}`);
  if (!Array.isArray(s.subject) || s.subject.length === 0) {
    throw new CordonError('SIGNATURE_INVALID', 'statement has no subject');
  }
  if (typeof s.predicateType !== 'string')
    throw new CordonError('SIGNATURE_INVALID', 'statement has no predicateType');
  return s as Statement<unknown>;
}

export function subjectDigest(statement: Statement<unknown>): Digest {
  const d = statement.subject[0]?.digest['sha256'];
  if (!isDigest(d))
    throw new CordonError('SIGNATURE_INVALID', 'statement subject has no sha256 digest');
  return d;
}

export const SCAN_PREDICATE = 'https://cordon.dev/attestation/scan/v1';

/** What a signed scan asserts: this report (by digest) was produced for this snapshot. */
export interface ScanPredicate {
  snapshot: Digest;
  dataset: string;
  version: number;
  report: { digest: Digest; schema: string };
  summary: {
    rows: number;
    flaggedRows: number;
    counts: Record<string, number>;
    triggers: number;
    suspiciousSources: string[];
    skippedDetectors: string[];
  };
  scanner: { identity: string; keyId: string };
  scannedAt: string;
}

export function scanStatement(root: Digest, predicate: ScanPredicate): Statement<ScanPredicate> {
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: `${predicate.dataset}@${predicate.version}`, digest: { sha256: root } }],
    predicateType: SCAN_PREDICATE,
    predicate,
  };
}
