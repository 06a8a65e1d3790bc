import {
  Migrator,
  sql,
  type Expression,
  type ExpressionBuilder,
  type Kysely,
  type Selectable,
  type SqlBool,
  type Transaction,
} from 'kysely';
import { CordonError } from '../core/errors.js';
import { GovernanceStore } from './governance-store.js';
import { migrationProvider } from './migrations.js';
import {
  headConflict,
  writeTransaction,
  type SqlEngine,
  type WriteOptions,
} from './write-transaction.js';
import type {
  Database,
  EventTable,
  IdentityTable,
  LineageRunTable,
  ScanTable,
  CheckpointTable,
  SnapshotTable,
} from './schema.js';

export type SnapshotRow = Selectable<SnapshotTable>;
export type EventRow = Selectable<EventTable>;
export type LineageRunRow = Selectable<LineageRunTable>;
export type IdentityRow = Selectable<IdentityTable>;
export type ScanRecordRow = Selectable<ScanTable>;
export type CheckpointRow = Selectable<CheckpointTable>;
export type DatasetRow = Selectable<Database['datasets']>;
export type NewEvent = Omit<EventRow, 'seq'>;

/** What an audit search matches; every given field must hold. */
export interface EventSearch {
  dataset?: string;
  actor?: string;
  /** The kind exactly (snapshot.scan). */
  kind?: string;
  /** Kinds starting with this (snapshot.). */
  kindPrefix?: string;
  /** At or after this time (RFC 3339, as stored). */
  since?: string;
  /** Before this time. */
  until?: string;
  /** Sequence numbers above this. */
  afterSeq?: number;
  /** Sequence numbers below this. */
  beforeSeq?: number;
  /**
   * A substring of the detail JSON text, ignoring the case of ASCII letters only (so SQLite,
   * whose lower() knows only ASCII, and PostgreSQL answer alike).
   */
  text?: string;
}

export interface EventSearchPage {
  offset: number;
  limit: number;
  newestFirst?: boolean;
}

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const asciiLower = (s: string): string => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** Options of a write that inserts audit events. */
const LOGGED: WriteOptions = { appendsEvents: true };

/**
 * Cordon's metadata over Kysely: one implementation for SQLite and PostgreSQL (`engine` names the
 * few places where they differ: column types in the migrations, and how audit appends are
 * ordered). Driver errors on writes are wrapped here and never leave the store.
 */
export class MetadataStore {
  /** Identities, tokens, grants, approvals, gates, quarantines and review items. */
  readonly gov: GovernanceStore;

  /**
   * `migrationSchema` is where Kysely keeps its migration bookkeeping on PostgreSQL: it must be
   * named there, or tables of another schema on the same server would be taken for ours.
   */
  constructor(
    readonly db: Kysely<Database>,
    readonly engine: SqlEngine = 'sqlite',
    private readonly migrationSchema?: string,
  ) {
    this.gov = new GovernanceStore(db, engine);
  }

  async migrate(): Promise<void> {
    const { error, results } = await new Migrator({
      db: this.db,
      provider: migrationProvider(this.engine),
      ...(this.migrationSchema !== undefined && { migrationTableSchema: this.migrationSchema }),
    }).migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
      throw new CordonError('INTERNAL', `database migration ${failed} failed`, { cause: error });
    }
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  getDataset(name: string): Promise<DatasetRow | undefined> {
    return this.db.selectFrom('datasets').selectAll().where('name', '=', name).executeTakeFirst();
  }

  listDatasets(): Promise<DatasetRow[]> {
    return this.db.selectFrom('datasets').selectAll().orderBy('name').execute();
  }

  getSnapshot(id: string): Promise<SnapshotRow | undefined> {
    return this.db.selectFrom('snapshots').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findSnapshotsByPrefix(prefix: string): Promise<SnapshotRow[]> {
    return this.db
      .selectFrom('snapshots')
      .selectAll()
      .where('id', '>=', prefix)
      .where('id', '<', prefix + '~')
      .limit(2)
      .execute();
  }

  getSnapshotByVersion(dataset: string, version: number): Promise<SnapshotRow | undefined> {
    return this.db
      .selectFrom('snapshots')
      .selectAll()
      .where('dataset', '=', dataset)
      .where('version', '=', version)
      .executeTakeFirst();
  }

  listSnapshots(dataset?: string): Promise<SnapshotRow[]> {
    let q = this.db.selectFrom('snapshots').selectAll();
    if (dataset !== undefined) q = q.where('dataset', '=', dataset);
    return q.orderBy('dataset').orderBy('version').execute();
  }

  async latestVersion(dataset: string): Promise<number> {
    const row = await this.db
      .selectFrom('snapshots')
      .select((eb) => eb.fn.max('version').as('v'))
      .where('dataset', '=', dataset)
      .executeTakeFirst();
    return Number(row?.v ?? 0);
  }

  /**
   * Records a new snapshot and moves its dataset's head to it, atomically. The head moves only if
   * it still equals `expectedHead` (compare-and-swap, the transaction's first write): a writer
   * that lost the race gets HEAD_CONFLICT and nothing is written.
   */
  async commitSnapshot(args: {
    snapshot: SnapshotRow;
    expectedHead: string | null;
    event: NewEvent;
    run?: LineageRunRow;
  }): Promise<void> {
    const { snapshot, expectedHead } = args;
    await this.write(
      async (trx) => {
        if (expectedHead === null) {
          await trx
            .insertInto('datasets')
            .values({
              name: snapshot.dataset,
              head: null,
              created_at: snapshot.created_at,
              created_by: snapshot.author,
            })
            .onConflict((oc) => oc.column('name').doNothing())
            .execute();
        }
        const moved = await trx
          .updateTable('datasets')
          .set({ head: snapshot.id })
          .where('name', '=', snapshot.dataset)
          .where('head', expectedHead === null ? 'is' : '=', expectedHead)
          .executeTakeFirst();
        if (Number(moved.numUpdatedRows) !== 1) throw headConflict(snapshot.dataset);
        await trx.insertInto('snapshots').values(snapshot).execute();
        if (args.run) await trx.insertInto('lineage_runs').values(args.run).execute();
        await trx.insertInto('events').values(args.event).execute();
      },
      { dataset: snapshot.dataset, appendsEvents: true },
    );
  }

  /** Moves a dataset's head (rollback), with the same compare-and-swap as a commit. */
  async moveHead(
    dataset: string,
    expectedHead: string | null,
    to: string,
    event: NewEvent,
  ): Promise<void> {
    await this.write(
      async (trx) => {
        const moved = await trx
          .updateTable('datasets')
          .set({ head: to })
          .where('name', '=', dataset)
          .where('head', expectedHead === null ? 'is' : '=', expectedHead)
          .executeTakeFirst();
        if (Number(moved.numUpdatedRows) !== 1) throw headConflict(dataset);
        await trx.insertInto('events').values(event).execute();
      },
      { dataset, appendsEvents: true },
    );
  }

  async addTag(snapshotId: string, tag: string, actor: string, event: NewEvent): Promise<void> {
    await this.write(async (trx) => {
      await trx
        .insertInto('tags')
        .values({ snapshot_id: snapshotId, tag, actor, created_at: event.time })
        .onConflict((oc) => oc.columns(['snapshot_id', 'tag']).doNothing())
        .execute();
      await trx.insertInto('events').values(event).execute();
    }, LOGGED);
  }

  async removeTag(snapshotId: string, tag: string, event: NewEvent): Promise<boolean> {
    let removed = false;
    await this.write(async (trx) => {
      const r = await trx
        .deleteFrom('tags')
        .where('snapshot_id', '=', snapshotId)
        .where('tag', '=', tag)
        .executeTakeFirst();
      removed = Number(r.numDeletedRows) > 0;
      if (removed) await trx.insertInto('events').values(event).execute();
    }, LOGGED);
    return removed;
  }

  async tagsOf(snapshotId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('tags')
      .select('tag')
      .where('snapshot_id', '=', snapshotId)
      .orderBy('tag')
      .execute();
    return rows.map((r) => r.tag);
  }

  listTags(dataset?: string): Promise<
    {
      snapshot_id: string;
      tag: string;
      dataset: string;
      version: number;
      created_at: string;
      actor: string;
    }[]
  > {
    let q = this.db
      .selectFrom('tags')
      .innerJoin('snapshots', 'snapshots.id', 'tags.snapshot_id')
      .select([
        'tags.snapshot_id',
        'tags.tag',
        'snapshots.dataset',
        'snapshots.version',
        'tags.created_at',
        'tags.actor',
      ]);
    if (dataset !== undefined) q = q.where('snapshots.dataset', '=', dataset);
    return q
      .orderBy('snapshots.dataset')
      .orderBy('snapshots.version')
      .orderBy('tags.tag')
      .execute();
  }

  async appendEvent(event: NewEvent): Promise<void> {
    await this.write(
      (trx) =>
        trx
          .insertInto('events')
          .values(event)
          .execute()
          .then(() => undefined),
      LOGGED,
    );
  }

  listEvents(
    filter: {
      dataset?: string;
      kind?: string;
      actor?: string;
      since?: string;
      until?: string;
    } = {},
  ): Promise<EventRow[]> {
    let q = this.db.selectFrom('events').selectAll();
    if (filter.dataset !== undefined) q = q.where('dataset', '=', filter.dataset);
    if (filter.kind !== undefined) q = q.where('kind', '=', filter.kind);
    if (filter.actor !== undefined) q = q.where('actor', '=', filter.actor);
    if (filter.since !== undefined) q = q.where('time', '>=', filter.since);
    if (filter.until !== undefined) q = q.where('time', '<', filter.until);
    return q.orderBy('seq').execute();
  }

  /**
   * One page of the events matching `filter`, and how many match in all. The filtering, order,
   * paging and count all run in SQL, so a search never reads the whole log.
   */
  async searchEvents(
    filter: EventSearch,
    page: EventSearchPage,
  ): Promise<{ events: EventRow[]; total: number }> {
    const where = (eb: ExpressionBuilder<Database, 'events'>) =>
      eb.and(this.eventConditions(eb, filter));
    const [events, count] = await Promise.all([
      this.db
        .selectFrom('events')
        .selectAll()
        .where(where)
        .orderBy('seq', page.newestFirst ? 'desc' : 'asc')
        .limit(page.limit)
        .offset(page.offset)
        .execute(),
      this.db
        .selectFrom('events')
        .select((eb) => eb.fn.countAll().as('n'))
        .where(where)
        .executeTakeFirst(),
    ]);
    return { events, total: Number(count?.n ?? 0) };
  }

  private eventConditions(
    eb: ExpressionBuilder<Database, 'events'>,
    f: EventSearch,
  ): Expression<SqlBool>[] {
    const c: Expression<SqlBool>[] = [];
    if (f.dataset !== undefined) c.push(eb('dataset', '=', f.dataset));
    if (f.actor !== undefined) c.push(eb('actor', '=', f.actor));
    if (f.kind !== undefined) c.push(eb('kind', '=', f.kind));
    // substr and length count characters on both engines; LIKE would not do: SQLite's ignores
    // ASCII case and PostgreSQL's does not.
    if (f.kindPrefix !== undefined && f.kindPrefix !== '')
      c.push(
        eb(
          eb.fn<string>('substr', [eb.ref('kind'), eb.lit(1), eb.val(f.kindPrefix.length)]),
          '=',
          f.kindPrefix,
        ),
      );
    if (f.since !== undefined) c.push(eb('time', '>=', f.since));
    if (f.until !== undefined) c.push(eb('time', '<', f.until));
    if (f.afterSeq !== undefined) c.push(eb('seq', '>', f.afterSeq));
    if (f.beforeSeq !== undefined) c.push(eb('seq', '<', f.beforeSeq));
    if (f.text !== undefined && f.text !== '') {
      const needle = asciiLower(f.text);
      // Lower-casing ASCII letters only on both sides: PostgreSQL's lower() would also fold
      // other letters, which SQLite's does not.
      const folded =
        this.engine === 'postgres'
          ? sql<number>`strpos(translate(detail, ${UPPER}, ${LOWER}), ${needle})`
          : sql<number>`instr(lower(detail), ${needle})`;
      c.push(eb(folded, '>', 0));
    }
    return c;
  }

  listEventsFrom(afterSeq = 0): Promise<EventRow[]> {
    return this.db
      .selectFrom('events')
      .selectAll()
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .execute();
  }

  async countEvents(): Promise<number> {
    const r = await this.db
      .selectFrom('events')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  listCheckpoints(): Promise<CheckpointRow[]> {
    return this.db.selectFrom('checkpoints').selectAll().orderBy('size').execute();
  }

  /** The checkpoint covering the most events, if any. */
  newestCheckpoint(): Promise<CheckpointRow | undefined> {
    return this.db
      .selectFrom('checkpoints')
      .selectAll()
      .orderBy('size', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  async addCheckpoint(row: CheckpointRow): Promise<void> {
    await this.write((trx) =>
      trx
        .insertInto('checkpoints')
        .values(row)
        .onConflict((oc) => oc.column('size').doNothing())
        .execute()
        .then(() => undefined),
    );
  }

  /** Records a scan and its event; `state`, if given, becomes the snapshot's state. */
  async recordScan(row: ScanRecordRow, event: NewEvent, state?: string): Promise<void> {
    await this.write(async (trx) => {
      await trx.insertInto('scans').values(row).execute();
      await trx.insertInto('events').values(event).execute();
      if (state !== undefined) {
        await trx
          .insertInto('snapshot_states')
          .values({
            snapshot_id: row.snapshot_id,
            state,
            updated_at: row.created_at,
            updated_by: row.actor,
          })
          .onConflict((oc) =>
            oc.column('snapshot_id').doUpdateSet({
              state,
              updated_at: row.created_at,
              updated_by: row.actor,
            }),
          )
          .execute();
      }
    }, LOGGED);
  }

  listScans(snapshotId: string): Promise<ScanRecordRow[]> {
    return this.db
      .selectFrom('scans')
      .selectAll()
      .where('snapshot_id', '=', snapshotId)
      .orderBy('created_at')
      .execute();
  }

  getRunByOutput(snapshotId: string): Promise<LineageRunRow | undefined> {
    return this.db
      .selectFrom('lineage_runs')
      .selectAll()
      .where('output_snapshot', '=', snapshotId)
      .executeTakeFirst();
  }

  /**
   * Runs that read a snapshot, oldest first. A run's inputs are stored as a JSON array of ids, and
   * ids are hex, so matching the quoted id inside that text is exact on every engine.
   */
  listRunsReading(snapshotId: string): Promise<LineageRunRow[]> {
    if (!/^[0-9a-f]{64}$/.test(snapshotId)) return Promise.resolve([]);
    return this.db
      .selectFrom('lineage_runs')
      .selectAll()
      .where('inputs', 'like', `%"${snapshotId}"%`)
      .orderBy('started_at')
      .execute();
  }

  getIdentity(name: string): Promise<IdentityRow | undefined> {
    return this.db.selectFrom('identities').selectAll().where('name', '=', name).executeTakeFirst();
  }

  listIdentities(): Promise<IdentityRow[]> {
    return this.db.selectFrom('identities').selectAll().orderBy('name').execute();
  }

  private write(
    fn: (trx: Transaction<Database>) => Promise<void>,
    options: WriteOptions = {},
  ): Promise<void> {
    return writeTransaction(this.db, this.engine, fn, options);
  }
}
