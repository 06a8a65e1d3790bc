import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, it } from 'vitest';
import { poison, parseAttack } from '../../src/core/scan/poison.js';
import type { ScanReport } from '../../src/core/scan/report.js';
import type { ScanRow } from '../../src/core/scan/types.js';
import { DEFAULT_COLUMNS } from '../../src/engine/readers/reader.js';
import { rowsFromFile } from '../../src/engine/scan/load-rows.js';

export const SAMPLE = join(import.meta.dirname, '../../data/spamassassin/sample.jsonl.gz');

export const REDIS_NOT_CONFIGURED = 'Redis not configured: set CORDON_TEST_REDIS_URL';

/** Whether the distributed-scan tests can run, must fail, or are skipped. */
export interface TestRedis {
  url: string | undefined;
  why: string;
  /** CORDON_REQUIRE_SERVICES=1: a missing or unreachable Redis fails the tests, never skips them. */
  required: boolean;
}

/** Reads CORDON_TEST_REDIS_URL and checks that the server answers PING. */
export async function testRedis(env = process.env): Promise<TestRedis> {
  const url = env['CORDON_TEST_REDIS_URL'];
  const required = env['CORDON_REQUIRE_SERVICES'] === '1';
  if (url === undefined || url === '')
    return { url: undefined, why: REDIS_NOT_CONFIGURED, required };
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
    return { url, why: '', required };
  } catch (e) {
    const detail = e instanceof Error ? e.message || e.name : String(e);
    return {
      url: undefined,
      why: `Redis at CORDON_TEST_REDIS_URL is unreachable (${detail})`,
      required,
    };
  } finally {
    redis.disconnect();
  }
}

/** `describe` when Redis answers; a failing test when it must; a visible skip otherwise. */
export function describeRedis(redis: TestRedis, title: string, body: (url: string) => void): void {
  const url = redis.url;
  if (url !== undefined) describe(title, () => body(url));
  else if (redis.required)
    describe(title, () => {
      it('needs Redis (CORDON_REQUIRE_SERVICES=1)', () => {
        throw new Error(`${redis.why}; CORDON_REQUIRE_SERVICES=1 forbids skipping these tests`);
      });
    });
  else {
    console.warn(`${title} skipped: ${redis.why}`);
    describe.skip(`${title} skipped: ${redis.why}`, () => undefined);
  }
}

/** A BullMQ key prefix no other test (or test process) uses. */
export function uniquePrefix(): string {
  return `cordon-test-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Deletes every key under a prefix. */
export async function dropPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Keys left under a prefix (BullMQ's own queue bookkeeping aside). */
export async function keysUnder(url: string, pattern: string): Promise<string[]> {
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  try {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      out.push(...keys);
    } while (cursor !== '0');
    return out;
  } finally {
    redis.disconnect();
  }
}

/**
 * Most of the SpamAssassin sample with poison that crosses shards: label flips, a rare-token trigger,
 * fake secrets, and a near-duplicate flood whose copies are appended at the end (their originals
 * are spread over the whole file).
 */
export async function poisonedRows(): Promise<ScanRow[]> {
  const all = await rowsFromFile(SAMPLE, undefined, {
    columns: DEFAULT_COLUMNS,
    defaultSource: null,
  });
  // Two rows in three (2,015 of 3,023, every source and label kept): enough for every detector,
  // small enough to scan in about five seconds.
  const rows = all.filter((_, i) => i % 3 !== 2);
  return poison(
    rows,
    ['flip:0.03', 'token:zq:0.01:ham', 'secrets:7', 'flood:0.02'].map(parseAttack),
    3,
  ).rows;
}

/** The report without what depends on the clock (timings and throughput). */
export function withoutTimings(report: ScanReport): unknown {
  return {
    ...report,
    summary: {
      ...report.summary,
      timings: undefined,
      detectors: report.summary.detectors.map((d) => ({
        ...d,
        seconds: undefined,
        rowsPerSecond: undefined,
      })),
    },
  };
}
