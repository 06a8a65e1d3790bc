import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { CordonError } from './errors.js';
import { sha256Hex } from './hashing.js';

export interface KeyPairPem {
  privateKeyPem: string;
  publicKeyPem: string;
  keyId: string;
}

/** Key id: "ed25519:" + first 32 hex chars of SHA-256 over the SPKI DER public key. */
export function keyIdOf(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return `${publicKey.asymmetricKeyType ?? 'key'}:${sha256Hex(der).slice(0, 32)}`;
}

export function generateSigningKey(): KeyPairPem {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: keyIdOf(publicKey),
  };
}

export function parsePrivateKey(pem: string, what: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (cause) {
    throw new CordonError('KEY_INVALID', `${what}: not a PEM private key`, { cause });
  }
}

export function parsePublicKey(pem: string, what: string): KeyObject {
  try {
    return createPublicKey(pem);
  } catch (cause) {
    throw new CordonError('KEY_INVALID', `${what}: not a PEM public key`, { cause });
  }
}
