import { type Kysely, type Migration, type MigrationProvider } from 'kysely';

/** Migrations as code objects, run in name order. The same SQL serves SQLite and PostgreSQL. */
const migrations: Record<string, Migration> = {
  '0001_store': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('datasets')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('head', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('snapshots')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('dataset', 'text', (c) => c.notNull().references('datasets.name'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('stage', 'text', (c) => c.notNull())
        .addColumn('root', 'text', (c) => c.notNull())
        .addColumn('record_count', 'bigint', (c) => c.notNull())
        .addColumn('manifest_digest', 'text', (c) => c.notNull())
        .addColumn('envelope_digest', 'text', (c) => c.notNull())
        .addColumn('parents', 'text', (c) => c.notNull())
        .addColumn('author', 'text', (c) => c.notNull())
        .addColumn('author_key_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addUniqueConstraint('snapshots_dataset_version', ['dataset', 'version'])
        .execute();
      await db.schema
        .createTable('tags')
        .addColumn('snapshot_id', 'text', (c) => c.notNull().references('snapshots.id'))
        .addColumn('tag', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('tags_pk', ['snapshot_id', 'tag'])
        .execute();
      await db.schema
        .createTable('events')
        .addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('time', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('dataset', 'text')
        .addColumn('snapshot_id', 'text')
        .addColumn('detail', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('events_dataset')
        .on('events')
        .columns(['dataset', 'seq'])
        .execute();
      await db.schema
        .createTable('lineage_runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('output_snapshot', 'text', (c) => c.notNull().references('snapshots.id'))
        .addColumn('inputs', 'text', (c) => c.notNull())
        .addColumn('command', 'text')
        .addColumn('code_digest', 'text')
        .addColumn('params', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('finished_at', 'text', (c) => c.notNull())
        .addColumn('envelope_digest', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('lineage_runs_output')
        .on('lineage_runs')
        .column('output_snapshot')
        .execute();
      await db.schema
        .createTable('identities')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull().unique())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0002_scans': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('scans')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('snapshot_id', 'text', (c) => c.notNull().references('snapshots.id'))
        .addColumn('report_digest', 'text', (c) => c.notNull())
        .addColumn('envelope_digest', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('summary', 'text', (c) => c.notNull())
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
        .addColumn('size', 'integer', (c) => c.primaryKey())
        .addColumn('root', 'text', (c) => c.notNull())
        .addColumn('note', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0004_governance': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable('identities')
        .addColumn('owners', 'text', (c) => c.notNull().defaultTo('[]'))
        .execute();
      await db.schema.alterTable('identities').addColumn('disabled_at', 'text').execute();
      await db.schema.alterTable('identities').addColumn('disabled_by', 'text').execute();
      await db.schema.alterTable('identities').addColumn('flag', 'text').execute();
      await db.schema
        .createTable('tokens')
        .addColumn('key_id', 'text', (c) => c.primaryKey())
        .addColumn('identity', 'text', (c) => c.notNull().references('identities.name'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('env', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('last4', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('used_scopes', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text')
        .addColumn('revoked_at', 'text')
        .addColumn('revoked_by', 'text')
        .addColumn('revoke_reason', 'text')
        .addColumn('rotated_from', 'text')
        .addColumn('last_used_at', 'text')
        .addColumn('last_used_agent', 'text')
        .addColumn('last_used_interactive', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex('tokens_identity').on('tokens').column('identity').execute();
      await db.schema
        .createTable('grants')
        .addColumn('subject_type', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('dataset', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('grants_pk', ['subject_type', 'subject', 'role', 'dataset'])
        .execute();
      await db.schema
        .createTable('group_members')
        .addColumn('group_name', 'text', (c) => c.notNull())
        .addColumn('member', 'text', (c) => c.notNull().references('identities.name'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('group_members_pk', ['group_name', 'member'])
        .execute();
      await db.schema
        .createTable('dataset_settings')
        .addColumn('dataset', 'text', (c) => c.primaryKey())
        .addColumn('high_impact', 'integer', (c) => c.notNull())
        .addColumn('externally_sourced', 'integer', (c) => c.notNull())
        .addColumn('required_approvals', 'integer', (c) => c.notNull())
        .addColumn('review_threshold', 'real', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('sources')
        .addColumn('dataset', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('trusted', 'integer', (c) => c.notNull())
        .addColumn('external', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('sources_pk', ['dataset', 'name'])
        .execute();
      await db.schema
        .createTable('snapshot_states')
        .addColumn('snapshot_id', 'text', (c) => c.primaryKey().references('snapshots.id'))
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('approvals')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('snapshot_id', 'text', (c) => c.notNull().references('snapshots.id'))
        .addColumn('root', 'text', (c) => c.notNull())
        .addColumn('approver', 'text', (c) => c.notNull())
        .addColumn('approver_key_id', 'text', (c) => c.notNull())
        .addColumn('envelope_digest', 'text', (c) => c.notNull())
        .addColumn('submitted_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('approvals_snapshot')
        .on('approvals')
        .column('snapshot_id')
        .execute();
      await db.schema
        .createTable('gate_runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('snapshot_id', 'text', (c) => c.notNull().references('snapshots.id'))
        .addColumn('passed', 'integer', (c) => c.notNull())
        .addColumn('policy_digest', 'text', (c) => c.notNull())
        .addColumn('envelope_digest', 'text', (c) => c.notNull())
        .addColumn('checks', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('gate_runs_snapshot')
        .on('gate_runs')
        .columns(['snapshot_id', 'created_at'])
        .execute();
      await db.schema
        .createTable('quarantines')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('dataset', 'text')
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('placed_by', 'text', (c) => c.notNull())
        .addColumn('placed_at', 'text', (c) => c.notNull())
        .addColumn('lifted_at', 'text')
        .addColumn('lifted_by', 'text')
        .addColumn('lift_reason', 'text')
        .addColumn('lift_envelope_digest', 'text')
        .execute();
      await db.schema
        .createIndex('quarantines_target')
        .on('quarantines')
        .columns(['kind', 'target'])
        .execute();
      await db.schema
        .createTable('review_items')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('snapshot_id', 'text', (c) => c.notNull().references('snapshots.id'))
        .addColumn('scan_id', 'text', (c) => c.notNull())
        .addColumn('record_id', 'text', (c) => c.notNull())
        .addColumn('kinds', 'text', (c) => c.notNull())
        .addColumn('score', 'real', (c) => c.notNull())
        .addColumn('detail', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('new_label', 'text')
        .addColumn('decided_by', 'text')
        .addColumn('decided_at', 'text')
        .addColumn('applied_snapshot', 'text')
        .execute();
      await db.schema
        .createIndex('review_items_snapshot')
        .on('review_items')
        .columns(['snapshot_id', 'status'])
        .execute();
    },
  },
};

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
