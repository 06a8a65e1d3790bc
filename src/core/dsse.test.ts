import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { pae, signEnvelope, verifyEnvelope } from './dsse.js';
import { keyIdOf } from './keys.js';

const pair = (): {
  keyId: string;
  priv: ReturnType<typeof generateKeyPairSync>['privateKey'];
  pub: ReturnType<typeof generateKeyPairSync>['publicKey'];
} => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { keyId: keyIdOf(publicKey), priv: privateKey, pub: publicKey };
};

describe('DSSE', () => {
  it('builds the pre-authentication encoding of the spec vector', () => {
    expect(pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString()).toBe(
      'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
    );
  });

  it('verifies with a trusted key and counts each key once toward a threshold', () => {
    const a = pair();
    const b = pair();
    const env = signEnvelope('application/vnd.in-toto+json', Buffer.from('{}'), [
      { keyId: a.keyId, key: a.priv },
      { keyId: a.keyId, key: a.priv },
    ]);
    const trusted = new Map([
      [a.keyId, a.pub],
      [b.keyId, b.pub],
    ]);
    expect(verifyEnvelope(env, trusted).verifiedBy).toEqual([a.keyId]);
    expect(() => verifyEnvelope(env, trusted, { threshold: 2 })).toThrow(
      /1 valid signature\(s\) from trusted keys, needs 2/,
    );
    const both = signEnvelope('application/vnd.in-toto+json', Buffer.from('{}'), [
      { keyId: a.keyId, key: a.priv },
      { keyId: 'wrong-hint', key: b.priv },
    ]);
    expect(verifyEnvelope(both, trusted, { threshold: 2 }).verifiedBy.sort()).toEqual(
      [a.keyId, b.keyId].sort(),
    );
  });

  it('rejects a changed payload, an untrusted key and an unexpected payload type', () => {
    const a = pair();
    const env = signEnvelope('application/vnd.in-toto+json', Buffer.from('{"a":1}'), [
      { keyId: a.keyId, key: a.priv },
    ]);
    const trusted = new Map([[a.keyId, a.pub]]);
    expect(() =>
      verifyEnvelope({ ...env, payload: Buffer.from('{"a":2}').toString('base64') }, trusted),
    ).toThrow(/0 valid/);
    expect(() => verifyEnvelope(env, new Map([[pair().keyId, pair().pub]]))).toThrow(/0 valid/);
    expect(() => verifyEnvelope({ ...env, payloadType: 'text/plain' }, trusted)).toThrow(
      /payloadType/,
    );
    // URL-safe base64 of the same signature is accepted.
    const urlSafe = {
      ...env,
      signatures: env.signatures.map((s) => ({
        ...s,
        sig: s.sig.replace(/\+/g, '-').replace(/\//g, '_'),
      })),
    };
    expect(verifyEnvelope(urlSafe, trusted).verifiedBy).toEqual([a.keyId]);
  });
});
