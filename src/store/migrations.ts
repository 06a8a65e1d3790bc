import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { SqlEngine } from './write-transaction.js';

/**
 * Column types that must differ between the engines for the rows to read back the same.
 *
 * - text: PostgreSQL compares and sorts text by the database's collation (often en_US, where
 *   "B" < "a" is false and punctuation is ignored at first); SQLite compares bytes. Collation "C"
 *   compares bytes too, so ORDER BY, unique keys and the prefix range of snapshot ids agree.
 * - real: PostgreSQL's `real` is 4 bytes (0.1 reads back as 0.100000001); SQLite's is 8.
 * - the audit sequence: SQLite's autoincrement rowid is a PostgreSQL identity column. Both are
 *   64-bit; PostgreSQL's bigint reads back as a number (see postgres.ts).
 */
function columnTypes(engine: SqlEngine) {
  return engine === 'postgres'
    ? { text: sql`text collate "C"`, real: 'double precision' as const, counter: 'bigint' as const }
    : { text: 'text' as const, real: 'real' as const, counter: 'integer' as const };
}

/**
 * Migrations as code objects, run in name order. One definition serves SQLite and PostgreSQL;
 * where the SQL must differ, the column types above decide. SQLite files migrated before these
 * types existed get exactly the SQL they got then.
 */
function migrationsFor(engine: SqlEngine): Record<string, Migration> {
  const t = columnTypes(engine);
  return {
    '0001_store': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('datasets')
          .addColumn('name', t.text, (c) => c.primaryKey())
          .addColumn('head', t.text)
          .addColumn('created_at', t.text, (c) => c.notNull())
          .addColumn('created_by', t.text, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('snapshots')
          .addColumn('id', t.text, (c) => c.primaryKey())
          .addColumn('dataset', t.text, (c) => c.notNull().references('datasets.name'))
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('stage', t.text, (c) => c.notNull())
          .addColumn('root', t.text, (c) => c.notNull())
          .addColumn('record_count', 'bigint', (c) => c.notNull())
          .addColumn('manifest_digest', t.text, (c) => c.notNull())
          .addColumn('envelope_digest', t.text, (c) => c.notNull())
          .addColumn('parents', t.text, (c) => c.notNull())
          .addColumn('author', t.text, (c) => c.notNull())
          .addColumn('author_key_id', t.text, (c) => c.notNull())
          .addColumn('created_at', t.text, (c) => c.notNull())
          .addColumn('message', t.text, (c) => c.notNull())
          .addUniqueConstraint('snapshots_dataset_version', ['dataset', 'version'])
          .execute();
        await db.schema
          .createTable('tags')
          .addColumn('snapshot_id', t.text, (c) => c.notNull().references('snapshots.id'))
          .addColumn('tag', t.text, (c) => c.notNull())
          .addColumn('actor', t.text, (c) => c.notNull())
          .addColumn('created_at', t.text, (c) => c.notNull())
          .addPrimaryKeyConstraint('tags_pk', ['snapshot_id', 'tag'])
          .execute();
        await db.schema
          .createTable('events')
          .addColumn('seq', t.counter, (c) =>
            engine === 'postgres'
              ? c.primaryKey().generatedByDefaultAsIdentity()
              : c.primaryKey().autoIncrement(),
          )
          .addColumn('time', t.text, (c) => c.notNull())
          .addColumn('actor', t.text, (c) => c.notNull())
          .addColumn('kind', t.text, (c) => c.notNull())
          .addColumn('dataset', t.text)
          .addColumn('snapshot_id', t.text)
          .addColumn('detail', t.text, (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('events_dataset')
          .on('events')
          .columns(['dataset', 'seq'])
          .execute();
        await db.schema
          .createTable('lineage_runs')
          .addColumn('id', t.text, (c) => c.primaryKey())
          .addColumn('kind', t.text, (c) => c.notNull())
          .addColumn('output_snapshot', t.text, (c) => c.notNull().references('snapshots.id'))
          .addColumn('inputs', t.text, (c) => c.notNull())
          .addColumn('command', t.text)
          .addColumn('code_digest', t.text)
          .addColumn('params', t.text, (c) => c.notNull())
          .addColumn('actor', t.text, (c) => c.notNull())
          .addColumn('started_at', t.text, (c) => c.notNull())
          .addColumn('finished_at', t.text, (c) => c.notNull())
          .addColumn('envelope_digest', t.text, (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('lineage_runs_output')
          .on('lineage_runs')
          .column('output_snapshot')
          .execute();
        await db.schema
          .createTable('identities')
          .addColumn('name', t.text, (c) => c.primaryKey())
          .addColumn('kind', t.text, (c) => c.notNull())
          .addColumn('key_id', t.text, (c) => c.notNull().unique())
          .addColumn('public_key', t.text, (c) => c.notNull())
          .addColumn('created_at', t.text, (c) => c.notNull())
          .execute();
      },
    },
    '0002_scans': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('scans')
          .addColumn('id', t.text, (c) => c.primaryKey())
          .addColumn('snapshot_id', t.text, (c) => c.notNull().references('snapshots.id'))
          .addColumn('report_digest', t.text, (c) => c.notNull())
          .addColumn('envelope_digest', t.text, (c) => c.notNull())
          .addColumn('actor', t.text, (c) => c.notNull())
          .addColumn('created_at', t.text, (c) => c.notNull())
          .addColumn('summary', t.text, (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('scans_snapshot')
          .on('scans')
          .columns(['snapshot_id', 'created_at'])
          .execute();
      },
    },
    '0003_audit_checkpoints': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('checkpoints')
          .addColumn('size', t.counter, (c) => c.primaryKey())
          .addColumn('root', t.text, (c) => c.notNull())
          .addColumn('note', t.text, (c) => c.notNull())
          .addColumn('created_at', t.text, (c) => c.notNull())
          .execute();
      },
    },
    '0004_governance': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .alterTable('identities')
          .addColumn('owners', t.text, (c) => c.notNull().defaultTo('[]'))
          .execute();
        await db.schema.alterTable('identities').addColumn('disabled_at', t.text).execute();
        await db.schema.alterTable('identities').addColumn('disabled_by', t.text).execute();
        await db.schema.alterTable('identities').addColumn('flag', t.text).execute();
        await db.schema
          .createTable('tokens')
          .addColumn('key_id', t.text, (c) => c.primaryKey())
          .addColumn('identity', t.text, (c) => c.notNull().references('identities.name'))
          .addColumn('kind', t.text, (c) => c.notNull())
          .addColumn('env', t.text, (c) => c.notNull())
          .addColumn('hash', t.text, (c) => c.notNull())
          .addColumn('last4', t.text, (c) => c.notNull())
          .addColumn('scopes', t.text, (c) => c.notNull())
          .addColumn('used_scopes', t.text, (c) => c.notNull().defaultTo('[]'))
          .addColumn('created_at', t.text, (c) => c.notNull())
          .addColumn('created_by', t.text, (c) => c.notNull())
          .addColumn('expires_at', t.text)
          .addColumn('revoked_at', t.text)
          .addColumn('revoked_by', t.text)
          .addColumn('revoke_reason', t.text)
          .addColumn('rotated_from', t.text)
          .addColumn('last_used_at', t.text)
          .addColumn('last_used_agent', t.text)
          .addColumn('last_used_interactive', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema.createIndex('tokens_identity').on('tokens').column('identity').execute();
        await db.schema
          .createTable('grants')
          .addColumn('subject_type', t.text, (c) => c.notNull())
          .addColumn('subject', t.text, (c) => c.notNull())
          .addColumn('role', t.text, (c) => c.notNull())
          .addColumn('dataset', t.text, (c) => c.notNull())
          .addColumn('created_at', t.text, (c) => c.notNull())
          .addColumn('created_by', t.text, (c) => c.notNull())
          .addPrimaryKeyConstraint('grants_pk', ['subject_type', 'subject', 'role', 'dataset'])
          .execute();
        await db.schema
          .createTable('group_members')
          .addColumn('group_name', t.text, (c) => c.notNull())
          .addColumn('member', t.text, (c) => c.notNull().references('identities.name'))
          .addColumn('created_at', t.text, (c) => c.notNull())
          .addPrimaryKeyConstraint('group_members_pk', ['group_name', 'member'])
          .execute();
        await db.schema
          .createTable('dataset_settings')
          .addColumn('dataset', t.text, (c) => c.primaryKey())
          .addColumn('high_impact', 'integer', (c) => c.notNull())
          .addColumn('externally_sourced', 'integer', (c) => c.notNull())
          .addColumn('required_approvals', 'integer', (c) => c.notNull())
          .addColumn('review_threshold', t.real, (c) => c.notNull())
          .addColumn('updated_at', t.text, (c) => c.notNull())
          .addColumn('updated_by', t.text, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('sources')
          .addColumn('dataset', t.text, (c) => c.notNull())
          .addColumn('name', t.text, (c) => c.notNull())
          .addColumn('trusted', 'integer', (c) => c.notNull())
          .addColumn('external', 'integer', (c) => c.notNull())
          .addColumn('created_at', t.text, (c) => c.notNull())
          .addColumn('created_by', t.text, (c) => c.notNull())
          .addPrimaryKeyConstraint('sources_pk', ['dataset', 'name'])
          .execute();
        await db.schema
          .createTable('snapshot_states')
          .addColumn('snapshot_id', t.text, (c) => c.primaryKey().references('snapshots.id'))
          .addColumn('state', t.text, (c) => c.notNull())
          .addColumn('updated_at', t.text, (c) => c.notNull())
          .addColumn('updated_by', t.text, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('approvals')
          .addColumn('id', t.text, (c) => c.primaryKey())
          .addColumn('snapshot_id', t.text, (c) => c.notNull().references('snapshots.id'))
          .addColumn('root', t.text, (c) => c.notNull())
          .addColumn('approver', t.text, (c) => c.notNull())
          .addColumn('approver_key_id', t.text, (c) => c.notNull())
          .addColumn('envelope_digest', t.text, (c) => c.notNull())
          .addColumn('submitted_by', t.text, (c) => c.notNull())
          .addColumn('created_at', t.text, (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('approvals_snapshot')
          .on('approvals')
          .column('snapshot_id')
          .execute();
        await db.schema
          .createTable('gate_runs')
          .addColumn('id', t.text, (c) => c.primaryKey())
          .addColumn('snapshot_id', t.text, (c) => c.notNull().references('snapshots.id'))
          .addColumn('passed', 'integer', (c) => c.notNull())
          .addColumn('policy_digest', t.text, (c) => c.notNull())
          .addColumn('envelope_digest', t.text, (c) => c.notNull())
          .addColumn('checks', t.text, (c) => c.notNull())
          .addColumn('actor', t.text, (c) => c.notNull())
          .addColumn('created_at', t.text, (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('gate_runs_snapshot')
          .on('gate_runs')
          .columns(['snapshot_id', 'created_at'])
          .execute();
        await db.schema
          .createTable('quarantines')
          .addColumn('id', t.text, (c) => c.primaryKey())
          .addColumn('kind', t.text, (c) => c.notNull())
          .addColumn('target', t.text, (c) => c.notNull())
          .addColumn('dataset', t.text)
          .addColumn('reason', t.text, (c) => c.notNull())
          .addColumn('placed_by', t.text, (c) => c.notNull())
          .addColumn('placed_at', t.text, (c) => c.notNull())
          .addColumn('lifted_at', t.text)
          .addColumn('lifted_by', t.text)
          .addColumn('lift_reason', t.text)
          .addColumn('lift_envelope_digest', t.text)
          .execute();
        await db.schema
          .createIndex('quarantines_target')
          .on('quarantines')
          .columns(['kind', 'target'])
          .execute();
        await db.schema
          .createTable('review_items')
          .addColumn('id', t.text, (c) => c.primaryKey())
          .addColumn('snapshot_id', t.text, (c) => c.notNull().references('snapshots.id'))
          .addColumn('scan_id', t.text, (c) => c.notNull())
          .addColumn('record_id', t.text, (c) => c.notNull())
          .addColumn('kinds', t.text, (c) => c.notNull())
          .addColumn('score', t.real, (c) => c.notNull())
          .addColumn('detail', t.text, (c) => c.notNull())
          .addColumn('status', t.text, (c) => c.notNull())
          .addColumn('new_label', t.text)
          .addColumn('decided_by', t.text)
          .addColumn('decided_at', t.text)
          .addColumn('applied_snapshot', t.text)
          .execute();
        await db.schema
          .createIndex('review_items_snapshot')
          .on('review_items')
          .columns(['snapshot_id', 'status'])
          .execute();
      },
    },
    // The console searches the audit log by kind, actor and time: without these a search reads
    // every event.
    '0005_audit_search': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema.createIndex('events_kind').on('events').columns(['kind', 'seq']).execute();
        await db.schema
          .createIndex('events_actor')
          .on('events')
          .columns(['actor', 'seq'])
          .execute();
        await db.schema.createIndex('events_time').on('events').column('time').execute();
      },
    },
  };
}

/** The migrations for `engine`, for Kysely's Migrator. */
export function migrationProvider(engine: SqlEngine): MigrationProvider {
  return { getMigrations: () => Promise.resolve(migrationsFor(engine)) };
}
