import { sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { CordonError } from './errors.js';

/** DSSE v1 envelope (secure-systems-lab/dsse). */
export interface DsseEnvelope {
  payloadType: string;
  payload: string; // base64 of the payload bytes
  signatures: { keyid: string; sig: string }[];
}

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** Pre-Authentication Encoding: "DSSEv1" SP len(type) SP type SP len(body) SP body. */
export function pae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, 'utf8'),
    type,
    Buffer.from(` ${payload.length} `, 'utf8'),
    payload,
  ]);
}

export interface Signer {
  keyId: string;
  key: KeyObject; // private key
}

export function signEnvelope(
  payloadType: string,
  payload: Uint8Array,
  signers: Signer[],
): DsseEnvelope {
  const message = pae(payloadType, payload);
  return {
    payloadType,
    payload: Buffer.from(payload).toString('base64'),
    signatures: signers.map((s) => ({
      keyid: s.keyId,
      // Ed25519 takes no digest algorithm; other key types sign SHA-256.
      sig: cryptoSign(
        s.key.asymmetricKeyType === 'ed25519' ? null : 'sha256',
        message,
        s.key,
      ).toString('base64'),
    })),
  };
}

/** Decodes standard or URL-safe base64, rejecting anything else. */
export function decodeBase64(s: string): Buffer {
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(s)) {
    throw new CordonError('SIGNATURE_INVALID', 'value is not base64');
  }
  return Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

export interface EnvelopeVerification {
  payload: Buffer;
  /** Ids of trusted keys whose signature verified, each once. */
  verifiedBy: string[];
}

/**
 * Verifies an envelope against trusted public keys. `keyid` in a signature is only a hint: every
 * trusted key is tried against every signature, and a key counts once however many signatures it
 * matches. Fails (throws) unless at least `threshold` distinct trusted keys verify.
 */
export function verifyEnvelope(
  envelope: DsseEnvelope,
  trusted: ReadonlyMap<string, KeyObject>,
  options: { threshold?: number; payloadType?: string } = {},
): EnvelopeVerification {
  const threshold = options.threshold ?? 1;
  const expectedType = options.payloadType ?? IN_TOTO_PAYLOAD_TYPE;
  if (envelope.payloadType !== expectedType) {
    throw new CordonError(
      'SIGNATURE_INVALID',
      `envelope payloadType is "${envelope.payloadType}", expected "${expectedType}"`,
    );
  }
  const payload = decodeBase64(envelope.payload);
  const message = pae(envelope.payloadType, payload);
  const verifiedBy = new Set<string>();
  for (const signature of envelope.signatures) {
    let sig: Buffer;
    try {
      sig = decodeBase64(signature.sig);
    } catch {
      continue;
    }
    // Try the hinted key first, then the rest.
    const order = [...trusted.keys()].sort((a, b) =>
      a === signature.keyid ? -1 : b === signature.keyid ? 1 : 0,
    );
    for (const keyId of order) {
      if (verifiedBy.has(keyId)) continue;
      const key = trusted.get(keyId)!;
      const alg = key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
      let ok = false;
      try {
        ok = cryptoVerify(alg, message, key, sig);
      } catch {
        ok = false;
      }
      if (ok) {
        verifiedBy.add(keyId);
        break;
      }
    }
  }
  if (verifiedBy.size < threshold) {
    const hint = envelope.signatures.map((s) => s.keyid).join(', ') || 'none';
    throw new CordonError(
      'SIGNATURE_INVALID',
      `envelope has ${verifiedBy.size} valid signature(s) from trusted keys, needs ${threshold} (signatures name key ids: ${hint})`,
    );
  }
  return { payload, verifiedBy: [...verifiedBy] };
}
