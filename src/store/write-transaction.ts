import { sql, type Kysely, type Transaction } from 'kysely';
import { CordonError } from '../core/errors.js';
import type { Database } from './schema.js';

/** The SQL engines the metadata store runs on. The queries are shared; these are the exceptions. */
export type SqlEngine = 'sqlite' | 'postgres';

export interface WriteOptions {
  /** The dataset whose head this write may move: losing a race on it becomes HEAD_CONFLICT. */
  dataset?: string;
  /** The transaction inserts audit events (see lockAuditLog). */
  appendsEvents?: boolean;
}

/**
 * First key of the advisory lock that orders audit appends on PostgreSQL ("CRDN" in ASCII). The
 * second key is the OID of the events table, so every schema (and every Cordon database sharing a
 * server) has a lock of its own.
 */
const AUDIT_LOCK_CLASS = 0x4352444e;

/**
 * Runs `fn` in one transaction and converts driver errors into CordonErrors: a lost race on a
 * dataset (unique key, busy database, serialization failure, deadlock) becomes HEAD_CONFLICT when
 * `options.dataset` is given, anything else INTERNAL. Driver errors never leave the store.
 */
export async function writeTransaction(
  db: Kysely<Database>,
  engine: SqlEngine,
  fn: (trx: Transaction<Database>) => Promise<void>,
  options: WriteOptions = {},
): Promise<void> {
  try {
    await db.transaction().execute(async (trx) => {
      if (options.appendsEvents) await lockAuditLog(trx, engine);
      await fn(trx);
    });
  } catch (e) {
    if (e instanceof CordonError) throw e;
    const msg = e instanceof Error ? e.message : String(e);
    if (options.dataset !== undefined && isLostRace(e, msg)) throw headConflict(options.dataset, e);
    throw new CordonError('INTERNAL', `metadata write failed: ${msg}`, { cause: e });
  }
}

/**
 * Makes the audit log's sequence order equal its commit order. Events get their `seq` when they
 * are inserted but become visible when their transaction commits; if two writers could interleave,
 * a reader (a checkpoint) might see seq 7 before seq 6 is committed, sign a tree without 6, and
 * the log would later contradict that checkpoint. SQLite has one writer at a time, so nothing is
 * needed there. On PostgreSQL every transaction that inserts events takes this transaction-scoped
 * advisory lock as its first statement and holds it until it commits or rolls back, so such
 * transactions run one after another (readers are never blocked).
 */
async function lockAuditLog(trx: Transaction<Database>, engine: SqlEngine): Promise<void> {
  if (engine !== 'postgres') return;
  await sql`select pg_advisory_xact_lock(${sql.lit(AUDIT_LOCK_CLASS)}, 'events'::regclass::oid::int)`.execute(
    trx,
  );
}

/** SQLSTATEs (PostgreSQL) and result codes (SQLite) of a write that lost a race. */
const LOST_RACE_CODES = new Set([
  '23505', // unique_violation
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  'SQLITE_BUSY',
  'SQLITE_BUSY_SNAPSHOT',
  'SQLITE_CONSTRAINT_UNIQUE',
  'SQLITE_CONSTRAINT_PRIMARYKEY',
]);

function isLostRace(e: unknown, msg: string): boolean {
  const code = typeof e === 'object' && e !== null && 'code' in e ? e.code : undefined;
  if (typeof code === 'string' && LOST_RACE_CODES.has(code)) return true;
  return /UNIQUE|unique|duplicate key|SQLITE_BUSY|could not serialize|deadlock detected/.test(msg);
}

export function headConflict(dataset: string, cause?: unknown): CordonError {
  return new CordonError(
    'HEAD_CONFLICT',
    `dataset "${dataset}" moved on while this change was being made; nothing was written. Re-run the command to apply it on top of the new head.`,
    { cause },
  );
}
