import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import { CordonError } from './errors.js';

/**
 * The audit log is an RFC 9162 Merkle tree over every recorded event, in sequence order, with
 * signed checkpoints in the C2SP signed-note format:
 *
 *   <origin>\n<size>\n<base64 root>\n\n— <key name> <base64(4-byte key hash ‖ Ed25519 signature)>\n
 *
 * where the signature covers the three body lines and the key hash is
 * SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ raw public key)[0:4]. A checkpoint commits to the first `size`
 * events; a later one must extend it (consistency proof), so editing, deleting or reordering an
 * event already covered by a checkpoint is detected.
 */

/** The fields of an event that the log commits to. */
export interface AuditEvent {
  seq: number;
  time: string;
  actor: string;
  kind: string;
  dataset: string | null;
  snapshot_id: string | null;
  detail: string;
}

/** Leaf bytes of an event: canonical JSON of its fields (detail kept as the stored JSON text). */
export function eventLeaf(e: AuditEvent): Buffer {
  return Buffer.from(
    canonicalJson({
      seq: e.seq,
      time: e.time,
      actor: e.actor,
      kind: e.kind,
      dataset: e.dataset,
      snapshot: e.snapshot_id,
      detail: e.detail,
    }),
    'utf8',
  );
}

export interface Checkpoint {
  origin: string;
  size: number;
  root: Buffer;
}

function rawPublicKey(key: KeyObject): Buffer {
  const der = key.export({ type: 'spki', format: 'der' });
  return der.subarray(der.length - 32);
}

export function noteKeyHash(name: string, publicKey: KeyObject): Buffer {
  return createHash('sha256')
    .update(Buffer.from(name, 'utf8'))
    .update(Buffer.from([0x0a, 0x01]))
    .update(rawPublicKey(publicKey))
    .digest()
    .subarray(0, 4);
}

export function checkpointBody(c: Checkpoint): string {
  return `${c.origin}\n${c.size}\n${c.root.toString('base64')}\n`;
}

export function signCheckpoint(
  c: Checkpoint,
  name: string,
  privateKey: KeyObject,
  publicKey: KeyObject,
): string {
  const body = checkpointBody(c);
  const sig = sign(null, Buffer.from(body, 'utf8'), privateKey);
  return `${body}\n— ${name} ${Buffer.concat([noteKeyHash(name, publicKey), sig]).toString('base64')}\n`;
}

/**
 * Parses a signed note and checks it against the trusted keys (name → key). Signature lines of
 * unknown keys are ignored; the note is refused unless a trusted key verifies.
 */
export function openCheckpoint(
  note: string,
  trusted: ReadonlyMap<string, KeyObject>,
): Checkpoint & { signer: string } {
  const split = note.indexOf('\n\n');
  if (split < 0) throw new CordonError('VERIFY_FAILED', 'checkpoint: not a signed note');
  const body = note.slice(0, split + 1);
  const lines = body.split('\n');
  const [origin, sizeText, rootText] = lines;
  const size = Number(sizeText);
  if (
    !origin ||
    !Number.isSafeInteger(size) ||
    size < 0 ||
    rootText === undefined ||
    lines.length !== 4
  ) {
    throw new CordonError('VERIFY_FAILED', 'checkpoint: malformed body');
  }
  const root = Buffer.from(rootText, 'base64');
  if (root.length !== 32)
    throw new CordonError('VERIFY_FAILED', 'checkpoint: root is not 32 bytes');
  for (const line of note.slice(split + 2).split('\n')) {
    const m = /^— (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!m) continue;
    const [, name, b64] = m;
    const key = trusted.get(name!);
    if (!key) continue;
    const blob = Buffer.from(b64!, 'base64');
    if (blob.length < 5 || !blob.subarray(0, 4).equals(noteKeyHash(name!, key))) continue;
    if (verify(null, Buffer.from(body, 'utf8'), key, blob.subarray(4)))
      return { origin, size, root, signer: name! };
  }
  throw new CordonError(
    'VERIFY_FAILED',
    `checkpoint of size ${size}: no signature by a trusted key`,
  );
}
