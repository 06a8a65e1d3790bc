import type { Kysely, Transaction } from 'kysely';
import { CordonError } from '../core/errors.js';
import type { Database } from './schema.js';

/**
 * Runs `fn` in one transaction and converts driver errors into CordonErrors: a lost race on a
 * dataset (unique key, busy database, serialization failure) becomes HEAD_CONFLICT when
 * `dataset` is given, anything else INTERNAL. Driver errors never leave the store.
 */
export async function writeTransaction(
  db: Kysely<Database>,
  fn: (trx: Transaction<Database>) => Promise<void>,
  dataset?: string,
): Promise<void> {
  try {
    await db.transaction().execute(fn);
  } catch (e) {
    if (e instanceof CordonError) throw e;
    const msg = e instanceof Error ? e.message : String(e);
    if (
      /UNIQUE|unique|duplicate key|SQLITE_BUSY|could not serialize/.test(msg) &&
      dataset !== undefined
    ) {
      throw headConflict(dataset, e);
    }
    throw new CordonError('INTERNAL', `metadata write failed: ${msg}`, { cause: e });
  }
}

export function headConflict(dataset: string, cause?: unknown): CordonError {
  return new CordonError(
    'HEAD_CONFLICT',
    `dataset "${dataset}" moved on while this change was being made; nothing was written. Re-run the command to apply it on top of the new head.`,
    { cause },
  );
}
