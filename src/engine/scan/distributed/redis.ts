import { Redis } from 'ioredis';
import { CordonError } from '../../../core/errors.js';
import { decode, encode, RESULT_TTL_SECONDS } from './protocol.js';

/** BullMQ connection options for a Redis URL (workers need maxRetriesPerRequest: null). */
export function bullConnection(url: string): { url: string; maxRetriesPerRequest: null } {
  return { url, maxRetriesPerRequest: null };
}

/** A plain client for the scan's own keys. */
export function dataClient(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
  // Connection errors surface on the commands that need the server; keep them off the console.
  redis.on('error', () => undefined);
  return redis;
}

/** Stores values under keys (replacing what a failed earlier attempt may have left), with TTL. */
export async function putAll(
  redis: Redis,
  entries: readonly { key: string; value: unknown; compress?: boolean }[],
): Promise<void> {
  if (entries.length === 0) return;
  const tx = redis.pipeline();
  for (const e of entries) tx.set(e.key, encode(e.value, e.compress), 'EX', RESULT_TTL_SECONDS);
  const results = (await tx.exec()) ?? [];
  for (const [err] of results) if (err) throw err;
}

export async function getValue<T>(redis: Redis, key: string): Promise<T> {
  const buf = await redis.getBuffer(key);
  if (!buf)
    throw new CordonError('INTERNAL', `scan data ${key} is missing (expired or never written)`);
  return decode<T>(buf);
}

/** Checks that Redis answers, with a readable error when it does not. */
export async function pingRedis(url: string, timeoutMs = 5000): Promise<void> {
  const redis = new Redis(url, {
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
    lazyConnect: true,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (cause) {
    throw new CordonError(
      'CONFIG_INVALID',
      `Redis at ${redactUrl(url)} does not answer (${cause instanceof Error ? cause.message : String(cause)})`,
      { cause },
    );
  } finally {
    redis.disconnect();
  }
}

/** A Redis URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}
