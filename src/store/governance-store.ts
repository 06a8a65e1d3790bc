import { sql, type Kysely, type Selectable, type Transaction, type Updateable } from 'kysely';
import type {
  ApprovalTable,
  Database,
  DatasetSettingsTable,
  EventTable,
  GateRunTable,
  GrantTable,
  IdentityTable,
  QuarantineTable,
  ReviewItemTable,
  SourceTable,
  TokenTable,
} from './schema.js';
import { writeTransaction, type SqlEngine } from './write-transaction.js';

export type TokenRow = Selectable<TokenTable>;
export type GrantRow = Selectable<GrantTable>;
export type DatasetSettingsRow = Selectable<DatasetSettingsTable>;
export type SourceRow = Selectable<SourceTable>;
export type ApprovalRow = Selectable<ApprovalTable>;
export type GateRunRow = Selectable<GateRunTable>;
export type QuarantineRow = Selectable<QuarantineTable>;
export type ReviewItemRow = Selectable<ReviewItemTable>;
type NewEvent = Omit<Selectable<EventTable>, 'seq'>;

export interface ReviewItemFilter {
  snapshotId?: string;
  /** Only items on snapshots of these datasets (none when empty). */
  datasets?: readonly string[];
  /** Any of these statuses (open, keep, drop, relabel). */
  status?: readonly string[];
  /** Items whose kinds include this one. */
  kind?: string;
  /** false: only items not yet applied; true: only applied ones. */
  applied?: boolean;
}
type Trx = Transaction<Database>;

/**
 * Governance metadata: identities and their tokens, role grants, dataset settings, sources,
 * snapshot states, approvals, gate runs, quarantines and review items. Every change is written in
 * the same transaction as the audit event that records it, so the log and the state cannot drift.
 */
export class GovernanceStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly engine: SqlEngine,
  ) {}

  /** Runs `fn` and appends `event` in one transaction. */
  private change(event: NewEvent | null, fn: (trx: Trx) => Promise<unknown>): Promise<void> {
    return writeTransaction(
      this.db,
      this.engine,
      async (trx) => {
        await fn(trx);
        if (event) await trx.insertInto('events').values(event).execute();
      },
      { appendsEvents: event !== null },
    );
  }

  // Identities -------------------------------------------------------------------------------

  addIdentity(row: Selectable<IdentityTable>, event: NewEvent): Promise<void> {
    return this.change(event, (trx) => trx.insertInto('identities').values(row).execute());
  }

  updateIdentity(
    name: string,
    patch: Updateable<IdentityTable>,
    event: NewEvent | null,
  ): Promise<void> {
    return this.change(event, (trx) =>
      trx.updateTable('identities').set(patch).where('name', '=', name).execute(),
    );
  }

  /**
   * Offboards a human: disables them, revokes their tokens and flags the service accounts they
   * own, in one transaction.
   */
  offboard(args: {
    name: string;
    by: string;
    time: string;
    flaggedServices: string[];
    event: NewEvent;
  }): Promise<void> {
    const { name, by, time } = args;
    return this.change(args.event, async (trx) => {
      await trx
        .updateTable('identities')
        .set({ disabled_at: time, disabled_by: by })
        .where('name', '=', name)
        .execute();
      await trx
        .updateTable('tokens')
        .set({ revoked_at: time, revoked_by: by, revoke_reason: 'owner offboarded' })
        .where('identity', '=', name)
        .where('revoked_at', 'is', null)
        .execute();
      for (const sa of args.flaggedServices) {
        await trx
          .updateTable('identities')
          .set({ flag: `owner ${name} was offboarded on ${time}` })
          .where('name', '=', sa)
          .execute();
      }
    });
  }

  // Tokens -----------------------------------------------------------------------------------

  addToken(row: TokenRow, event: NewEvent, shorten?: { keyId: string; expiresAt: string }) {
    return this.change(event, async (trx) => {
      await trx.insertInto('tokens').values(row).execute();
      if (shorten) {
        await trx
          .updateTable('tokens')
          .set({ expires_at: shorten.expiresAt })
          .where('key_id', '=', shorten.keyId)
          .execute();
      }
    });
  }

  getToken(keyId: string): Promise<TokenRow | undefined> {
    return this.db.selectFrom('tokens').selectAll().where('key_id', '=', keyId).executeTakeFirst();
  }

  listTokens(identity?: string): Promise<TokenRow[]> {
    let q = this.db.selectFrom('tokens').selectAll();
    if (identity !== undefined) q = q.where('identity', '=', identity);
    return q.orderBy('identity').orderBy('created_at').execute();
  }

  revokeToken(keyId: string, by: string, reason: string, time: string, event: NewEvent) {
    return this.change(event, (trx) =>
      trx
        .updateTable('tokens')
        .set({ revoked_at: time, revoked_by: by, revoke_reason: reason })
        .where('key_id', '=', keyId)
        .where('revoked_at', 'is', null)
        .execute(),
    );
  }

  /** Records a use of a token (no audit event: the operation it authorised has its own). */
  touchToken(keyId: string, patch: Updateable<TokenTable>): Promise<void> {
    return this.change(null, (trx) =>
      trx.updateTable('tokens').set(patch).where('key_id', '=', keyId).execute(),
    );
  }

  // Grants and groups ------------------------------------------------------------------------

  addGrant(row: GrantRow, event: NewEvent): Promise<void> {
    return this.change(event, (trx) =>
      trx
        .insertInto('grants')
        .values(row)
        .onConflict((oc) => oc.columns(['subject_type', 'subject', 'role', 'dataset']).doNothing())
        .execute(),
    );
  }

  async removeGrant(key: Omit<GrantRow, 'created_at' | 'created_by'>, event: NewEvent) {
    let removed = 0;
    await this.change(event, async (trx) => {
      const r = await trx
        .deleteFrom('grants')
        .where('subject_type', '=', key.subject_type)
        .where('subject', '=', key.subject)
        .where('role', '=', key.role)
        .where('dataset', '=', key.dataset)
        .executeTakeFirst();
      removed = Number(r.numDeletedRows);
    });
    return removed > 0;
  }

  listGrants(): Promise<GrantRow[]> {
    return this.db
      .selectFrom('grants')
      .selectAll()
      .orderBy('dataset')
      .orderBy('subject')
      .orderBy('role')
      .execute();
  }

  addGroupMember(group: string, member: string, time: string, event: NewEvent) {
    return this.change(event, (trx) =>
      trx
        .insertInto('group_members')
        .values({ group_name: group, member, created_at: time })
        .onConflict((oc) => oc.columns(['group_name', 'member']).doNothing())
        .execute(),
    );
  }

  async groupsOf(member: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('group_members')
      .select('group_name')
      .where('member', '=', member)
      .orderBy('group_name')
      .execute();
    return rows.map((r) => r.group_name);
  }

  // Datasets and sources ---------------------------------------------------------------------

  getSettings(dataset: string): Promise<DatasetSettingsRow | undefined> {
    return this.db
      .selectFrom('dataset_settings')
      .selectAll()
      .where('dataset', '=', dataset)
      .executeTakeFirst();
  }

  putSettings(row: DatasetSettingsRow, event: NewEvent): Promise<void> {
    return this.change(event, (trx) =>
      trx
        .insertInto('dataset_settings')
        .values(row)
        .onConflict((oc) =>
          oc.column('dataset').doUpdateSet({
            high_impact: row.high_impact,
            externally_sourced: row.externally_sourced,
            required_approvals: row.required_approvals,
            review_threshold: row.review_threshold,
            updated_at: row.updated_at,
            updated_by: row.updated_by,
          }),
        )
        .execute(),
    );
  }

  listSources(dataset: string): Promise<SourceRow[]> {
    return this.db
      .selectFrom('sources')
      .selectAll()
      .where('dataset', '=', dataset)
      .orderBy('name')
      .execute();
  }

  putSource(row: SourceRow, event: NewEvent): Promise<void> {
    return this.change(event, (trx) =>
      trx
        .insertInto('sources')
        .values(row)
        .onConflict((oc) =>
          oc.columns(['dataset', 'name']).doUpdateSet({
            trusted: row.trusted,
            external: row.external,
          }),
        )
        .execute(),
    );
  }

  // Snapshot states --------------------------------------------------------------------------

  async getState(snapshotId: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('snapshot_states')
      .select('state')
      .where('snapshot_id', '=', snapshotId)
      .executeTakeFirst();
    return row?.state;
  }

  setState(snapshotId: string, state: string, by: string, time: string, event: NewEvent | null) {
    return this.change(event, (trx) => upsertState(trx, snapshotId, state, by, time));
  }

  // Approvals and gates ----------------------------------------------------------------------

  addApproval(row: ApprovalRow, event: NewEvent): Promise<void> {
    return this.change(event, (trx) => trx.insertInto('approvals').values(row).execute());
  }

  listApprovals(snapshotId: string): Promise<ApprovalRow[]> {
    return this.db
      .selectFrom('approvals')
      .selectAll()
      .where('snapshot_id', '=', snapshotId)
      .orderBy('created_at')
      .execute();
  }

  addGateRun(row: GateRunRow, event: NewEvent): Promise<void> {
    return this.change(event, (trx) => trx.insertInto('gate_runs').values(row).execute());
  }

  latestGateRun(snapshotId: string): Promise<GateRunRow | undefined> {
    return this.db
      .selectFrom('gate_runs')
      .selectAll()
      .where('snapshot_id', '=', snapshotId)
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .limit(1)
      .executeTakeFirst();
  }

  /** The newest gate run on any snapshot of `dataset` (the console pre-fills its policy). */
  latestGateRunOfDataset(dataset: string): Promise<GateRunRow | undefined> {
    return this.db
      .selectFrom('gate_runs')
      .selectAll()
      .where('snapshot_id', 'in', (qb) =>
        qb.selectFrom('snapshots').select('id').where('dataset', '=', dataset),
      )
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .limit(1)
      .executeTakeFirst();
  }

  /** Ids of the snapshots whose recorded state is `state` (the approval inbox asks for "scanned"). */
  async snapshotsInState(state: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('snapshot_states')
      .select('snapshot_id')
      .where('state', '=', state)
      .orderBy('updated_at', 'desc')
      .orderBy('snapshot_id')
      .execute();
    return rows.map((r) => r.snapshot_id);
  }

  // Quarantine -------------------------------------------------------------------------------

  addQuarantine(
    row: QuarantineRow,
    event: NewEvent,
    state?: { snapshotId: string; state: string },
  ): Promise<void> {
    return this.change(event, async (trx) => {
      await trx.insertInto('quarantines').values(row).execute();
      if (state)
        await upsertState(trx, state.snapshotId, state.state, row.placed_by, row.placed_at);
    });
  }

  liftQuarantine(
    id: string,
    patch: Pick<QuarantineRow, 'lifted_at' | 'lifted_by' | 'lift_reason' | 'lift_envelope_digest'>,
    event: NewEvent,
    state?: { snapshotId: string; state: string },
  ): Promise<void> {
    return this.change(event, async (trx) => {
      await trx
        .updateTable('quarantines')
        .set(patch)
        .where('id', '=', id)
        .where('lifted_at', 'is', null)
        .execute();
      if (state)
        await upsertState(
          trx,
          state.snapshotId,
          state.state,
          patch.lifted_by ?? '',
          patch.lifted_at ?? '',
        );
    });
  }

  getQuarantine(id: string): Promise<QuarantineRow | undefined> {
    return this.db.selectFrom('quarantines').selectAll().where('id', '=', id).executeTakeFirst();
  }

  listQuarantines(filter: { kind?: string; target?: string; active?: boolean } = {}) {
    let q = this.db.selectFrom('quarantines').selectAll();
    if (filter.kind !== undefined) q = q.where('kind', '=', filter.kind);
    if (filter.target !== undefined) q = q.where('target', '=', filter.target);
    if (filter.active) q = q.where('lifted_at', 'is', null);
    return q.orderBy('placed_at').execute();
  }

  // Replay check ------------------------------------------------------------------------------

  /** The rows `cordon audit verify` compares with the state the audit log vouches for. */
  async governanceRows() {
    const db = this.db;
    return {
      members: await db.selectFrom('group_members').select(['group_name', 'member']).execute(),
      settings: await db.selectFrom('dataset_settings').selectAll().execute(),
      sources: await db.selectFrom('sources').selectAll().execute(),
      approvals: await db.selectFrom('approvals').select(['id', 'snapshot_id']).execute(),
      gateRuns: await db.selectFrom('gate_runs').select(['id', 'passed']).execute(),
      states: await db.selectFrom('snapshot_states').select(['snapshot_id', 'state']).execute(),
    };
  }

  // Review items -----------------------------------------------------------------------------

  addReviewItems(rows: ReviewItemRow[], event: NewEvent): Promise<void> {
    return this.change(event, async (trx) => {
      for (let i = 0; i < rows.length; i += 500) {
        await trx
          .insertInto('review_items')
          .values(rows.slice(i, i + 500))
          .onConflict((oc) => oc.column('id').doNothing())
          .execute();
      }
    });
  }

  listReviewItems(filter: { snapshotId?: string; status?: string } = {}) {
    let q = this.db.selectFrom('review_items').selectAll();
    if (filter.snapshotId !== undefined) q = q.where('snapshot_id', '=', filter.snapshotId);
    if (filter.status !== undefined) q = q.where('status', '=', filter.status);
    return q.orderBy('snapshot_id').orderBy('score', 'desc').orderBy('id').execute();
  }

  /**
   * One page of review items, in the order of `listReviewItems`, with the number matching the
   * filter. `datasets` limits the items to snapshots of those datasets (the caller's visible
   * ones); an empty list matches nothing. `kind` matches one entry of the item's kinds.
   */
  async pageReviewItems(
    filter: ReviewItemFilter,
    page: { offset: number; limit: number },
  ): Promise<{ rows: ReviewItemRow[]; total: number }> {
    if (filter.datasets?.length === 0) return { rows: [], total: 0 };
    const base = this.reviewItemQuery(filter);
    const counted = await base
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .executeTakeFirst();
    const rows =
      page.limit === 0
        ? []
        : await base
            .selectAll()
            .orderBy('snapshot_id')
            .orderBy('score', 'desc')
            .orderBy('id')
            .limit(page.limit)
            .offset(page.offset)
            .execute();
    return { rows, total: Number(counted?.n ?? 0) };
  }

  /** How many items matching `filter` (status aside) are in each status. */
  async countReviewItems(
    filter: Omit<ReviewItemFilter, 'status'>,
  ): Promise<Record<string, number>> {
    if (filter.datasets?.length === 0) return {};
    const rows = await this.reviewItemQuery(filter)
      .select((eb) => ['status', eb.fn.countAll<number | string | bigint>().as('n')])
      .groupBy('status')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }

  private reviewItemQuery(filter: ReviewItemFilter) {
    let q = this.db.selectFrom('review_items');
    if (filter.snapshotId !== undefined) q = q.where('snapshot_id', '=', filter.snapshotId);
    if (filter.datasets !== undefined) {
      const datasets = filter.datasets;
      q = q.where('snapshot_id', 'in', (qb) =>
        qb.selectFrom('snapshots').select('id').where('dataset', 'in', datasets),
      );
    }
    if (filter.status !== undefined && filter.status.length > 0)
      q = q.where('status', 'in', filter.status);
    if (filter.applied === false) q = q.where('applied_snapshot', 'is', null);
    if (filter.applied === true) q = q.where('applied_snapshot', 'is not', null);
    // kinds is a JSON array of plain names: match the quoted name, LIKE's wildcards escaped.
    if (filter.kind !== undefined)
      q = q.where(
        sql<boolean>`kinds like ${`%${JSON.stringify(filter.kind).replace(/[\\%_]/g, (c) => `\\${c}`)}%`} escape '\\'`,
      );
    return q;
  }

  getReviewItem(id: string): Promise<ReviewItemRow | undefined> {
    return this.db.selectFrom('review_items').selectAll().where('id', '=', id).executeTakeFirst();
  }

  decideReviewItem(
    id: string,
    patch: Pick<ReviewItemRow, 'status' | 'new_label' | 'decided_by' | 'decided_at'>,
    event: NewEvent,
  ): Promise<void> {
    return this.change(event, (trx) =>
      trx
        .updateTable('review_items')
        .set(patch)
        .where('id', '=', id)
        .where('applied_snapshot', 'is', null)
        .execute(),
    );
  }

  markReviewApplied(ids: readonly string[], snapshotId: string): Promise<void> {
    return this.change(null, async (trx) => {
      for (let i = 0; i < ids.length; i += 500) {
        await trx
          .updateTable('review_items')
          .set({ applied_snapshot: snapshotId })
          .where('id', 'in', ids.slice(i, i + 500))
          .execute();
      }
    });
  }
}

async function upsertState(trx: Trx, snapshotId: string, state: string, by: string, time: string) {
  await trx
    .insertInto('snapshot_states')
    .values({ snapshot_id: snapshotId, state, updated_at: time, updated_by: by })
    .onConflict((oc) =>
      oc.column('snapshot_id').doUpdateSet({ state, updated_at: time, updated_by: by }),
    )
    .execute();
}
