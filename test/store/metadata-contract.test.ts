import { afterEach, beforeEach, expect, it } from 'vitest';
import { CordonError } from '../../src/core/errors.js';
import type {
  ApprovalRow,
  GateRunRow,
  QuarantineRow,
  ReviewItemRow,
  TokenRow,
} from '../../src/store/governance-store.js';
import type {
  IdentityRow,
  LineageRunRow,
  MetadataStore,
  ScanRecordRow,
  SnapshotRow,
} from '../../src/store/metadata-store.js';
import { enginesUnderTest, type FreshStore } from './engines.js';
import { at, eventRow, hex, snapshotRow } from './fixtures.js';

/**
 * One contract, every engine: each test runs on a fresh SQLite file and on a fresh PostgreSQL
 * schema, and expects exactly the same rows back (toStrictEqual: a number stays a number, a null
 * stays null, key order aside).
 */

const engines = await enginesUnderTest();

async function rejectsWith(p: Promise<unknown>, code: string): Promise<CordonError> {
  const e: unknown = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(CordonError);
  expect((e as CordonError).code).toBe(code);
  return e as CordonError;
}

function identityRow(name: string, overrides: Partial<IdentityRow> = {}): IdentityRow {
  return {
    name,
    kind: 'human',
    key_id: `key-${name}`,
    public_key: `-----BEGIN PUBLIC KEY-----\n${name}\n-----END PUBLIC KEY-----\n`,
    created_at: at(1),
    owners: '[]',
    disabled_at: null,
    disabled_by: null,
    flag: null,
    ...overrides,
  };
}

function tokenRow(keyId: string, identity: string, overrides: Partial<TokenRow> = {}): TokenRow {
  return {
    key_id: keyId,
    identity,
    kind: 'pat',
    env: 'live',
    hash: hex(keyId),
    last4: 'abcd',
    scopes: '["read"]',
    used_scopes: '[]',
    created_at: at(2),
    created_by: 'alice',
    expires_at: null,
    revoked_at: null,
    revoked_by: null,
    revoke_reason: null,
    rotated_from: null,
    last_used_at: null,
    last_used_agent: null,
    last_used_interactive: 0,
    ...overrides,
  };
}

function reviewItem(i: number, snapshotId: string, score: number): ReviewItemRow {
  return {
    id: `item-${String(i).padStart(4, '0')}`,
    snapshot_id: snapshotId,
    scan_id: 'scan-1',
    record_id: `row-${i}`,
    kinds: '["label/flip"]',
    score,
    detail: '{}',
    status: 'open',
    new_label: null,
    decided_by: null,
    decided_at: null,
    applied_snapshot: null,
  };
}

/** Commits a first snapshot (version 1) of `dataset` and returns it. */
async function firstSnapshot(store: MetadataStore, dataset = 'd'): Promise<SnapshotRow> {
  const s = snapshotRow(dataset, 1, []);
  await store.commitSnapshot({
    snapshot: s,
    expectedHead: null,
    event: eventRow('snapshot.ingest', { dataset, snapshot_id: s.id }),
  });
  return s;
}

for (const engine of engines) {
  engine.describe('metadata store contract', () => {
    let fresh: FreshStore;
    let store: MetadataStore;

    beforeEach(async () => {
      fresh = await engine.fresh();
      store = await fresh.open();
    });
    afterEach(async () => {
      await fresh.remove();
    });

    it('starts empty, and keeps its data when opened again (migrations run once)', async () => {
      expect(await store.listDatasets()).toStrictEqual([]);
      expect(await store.getDataset('d')).toBeUndefined();
      expect(await store.countEvents()).toBe(0);
      expect(await store.listEventsFrom()).toStrictEqual([]);
      expect(await store.listCheckpoints()).toStrictEqual([]);
      expect(await store.latestVersion('d')).toBe(0);
      const s = await firstSnapshot(store);
      const again = await fresh.open();
      await again.migrate();
      expect(await again.getSnapshot(s.id)).toStrictEqual(s);
      expect(await again.countEvents()).toBe(1);
    });

    it('commits a first snapshot with its run and event, and reads back the same types', async () => {
      const s = snapshotRow('d', 1, [], { record_count: 2 ** 40 + 3 });
      const run: LineageRunRow = {
        id: 'run-1',
        kind: 'ingest',
        output_snapshot: s.id,
        inputs: '[]',
        command: null,
        code_digest: null,
        params: '{"file":"a.jsonl"}',
        actor: 'alice',
        started_at: at(0),
        finished_at: at(1),
        envelope_digest: hex('slsa'),
      };
      const ev = eventRow('snapshot.ingest', {
        time: at(1),
        dataset: 'd',
        snapshot_id: s.id,
        detail: '{"records":3}',
      });
      await store.commitSnapshot({ snapshot: s, expectedHead: null, event: ev, run });

      expect(await store.getDataset('d')).toStrictEqual({
        name: 'd',
        head: s.id,
        created_at: s.created_at,
        created_by: 'alice',
      });
      expect(await store.listDatasets()).toStrictEqual([await store.getDataset('d')]);
      expect(await store.getSnapshot(s.id)).toStrictEqual(s);
      expect(await store.getSnapshotByVersion('d', 1)).toStrictEqual(s);
      expect(await store.getSnapshotByVersion('d', 2)).toBeUndefined();
      expect(await store.listSnapshots('d')).toStrictEqual([s]);
      expect(await store.listSnapshots()).toStrictEqual([s]);
      expect(await store.latestVersion('d')).toBe(1);
      expect(await store.getRunByOutput(s.id)).toStrictEqual(run);
      expect(await store.getRunByOutput('nope')).toBeUndefined();
      expect(await store.listEvents()).toStrictEqual([{ seq: 1, ...ev }]);
    });

    it('moves the head only from the expected head: a stale writer gets HEAD_CONFLICT and writes nothing', async () => {
      const v1 = await firstSnapshot(store);
      const v2 = snapshotRow('d', 2, [v1.id]);
      await store.commitSnapshot({
        snapshot: v2,
        expectedHead: v1.id,
        event: eventRow('snapshot.ingest', { dataset: 'd', snapshot_id: v2.id }),
      });
      const events = await store.countEvents();

      // A writer that read v1 as the head, after v2 landed.
      const stale = snapshotRow('d', 2, [v1.id], { id: hex('stale') });
      const e = await rejectsWith(
        store.commitSnapshot({
          snapshot: stale,
          expectedHead: v1.id,
          event: eventRow('snapshot.ingest', { dataset: 'd', snapshot_id: stale.id }),
          run: {
            id: 'run-stale',
            kind: 'ingest',
            output_snapshot: stale.id,
            inputs: '[]',
            command: null,
            code_digest: null,
            params: '{}',
            actor: 'alice',
            started_at: at(0),
            finished_at: at(0),
            envelope_digest: hex('x'),
          },
        }),
        'HEAD_CONFLICT',
      );
      expect(e.message).toMatch(/dataset "d" moved on.*nothing was written.*Re-run/);
      // A writer that thinks the dataset is new.
      const racer = snapshotRow('d', 1, [], { id: hex('racer') });
      await rejectsWith(
        store.commitSnapshot({ snapshot: racer, expectedHead: null, event: eventRow('x') }),
        'HEAD_CONFLICT',
      );
      // Head is right but the version is taken: the unique key refuses, and the head stays.
      const dup = snapshotRow('d', 2, [v2.id], { id: hex('dup') });
      await rejectsWith(
        store.commitSnapshot({ snapshot: dup, expectedHead: v2.id, event: eventRow('x') }),
        'HEAD_CONFLICT',
      );

      expect((await store.getDataset('d'))?.head).toBe(v2.id);
      for (const id of [stale.id, racer.id, dup.id])
        expect(await store.getSnapshot(id)).toBeUndefined();
      expect(await store.getRunByOutput(stale.id)).toBeUndefined();
      expect(await store.countEvents()).toBe(events);
      expect(await store.latestVersion('d')).toBe(2);
    });

    it('rolls the head back with the same compare-and-swap', async () => {
      const v1 = await firstSnapshot(store);
      const v2 = snapshotRow('d', 2, [v1.id]);
      await store.commitSnapshot({ snapshot: v2, expectedHead: v1.id, event: eventRow('c') });
      await store.moveHead('d', v2.id, v1.id, eventRow('dataset.rollback', { dataset: 'd' }));
      expect((await store.getDataset('d'))?.head).toBe(v1.id);
      const n = await store.countEvents();
      await rejectsWith(store.moveHead('d', v2.id, v2.id, eventRow('r')), 'HEAD_CONFLICT');
      await rejectsWith(store.moveHead('other', null, v2.id, eventRow('r')), 'HEAD_CONFLICT');
      expect((await store.getDataset('d'))?.head).toBe(v1.id);
      expect(await store.countEvents()).toBe(n);
      expect((await store.listEvents({ kind: 'dataset.rollback' })).map((e) => e.dataset)).toEqual([
        'd',
      ]);
    });

    it('adds, lists and removes tags, with an event per change', async () => {
      const v1 = await firstSnapshot(store);
      const v2 = snapshotRow('d', 2, [v1.id]);
      await store.commitSnapshot({ snapshot: v2, expectedHead: v1.id, event: eventRow('c') });
      const e = await firstSnapshot(store, 'e');
      await store.addTag(v1.id, 'prod', 'bob', eventRow('snapshot.tag', { time: at(10) }));
      await store.addTag(v1.id, 'golden', 'bob', eventRow('snapshot.tag', { time: at(11) }));
      await store.addTag(v1.id, 'prod', 'carol', eventRow('snapshot.tag'));
      await store.addTag(v2.id, 'next', 'bob', eventRow('snapshot.tag', { time: at(12) }));
      await store.addTag(e.id, 'x', 'bob', eventRow('snapshot.tag', { time: at(13) }));
      expect(await store.tagsOf(v1.id)).toStrictEqual(['golden', 'prod']);
      expect(await store.listTags('d')).toStrictEqual([
        {
          snapshot_id: v1.id,
          tag: 'golden',
          dataset: 'd',
          version: 1,
          created_at: at(11),
          actor: 'bob',
        },
        {
          snapshot_id: v1.id,
          tag: 'prod',
          dataset: 'd',
          version: 1,
          created_at: at(10),
          actor: 'bob',
        },
        {
          snapshot_id: v2.id,
          tag: 'next',
          dataset: 'd',
          version: 2,
          created_at: at(12),
          actor: 'bob',
        },
      ]);
      expect((await store.listTags()).map((t) => `${t.dataset}:${t.tag}`)).toStrictEqual([
        'd:golden',
        'd:prod',
        'd:next',
        'e:x',
      ]);
      const before = await store.countEvents();
      expect(await store.removeTag(v1.id, 'prod', eventRow('snapshot.untag'))).toBe(true);
      expect(await store.removeTag(v1.id, 'prod', eventRow('snapshot.untag'))).toBe(false);
      expect(await store.countEvents()).toBe(before + 1);
      expect(await store.tagsOf(v1.id)).toStrictEqual(['golden']);
      expect(await store.tagsOf('none')).toStrictEqual([]);
    });

    it('wraps driver errors: a tag on a missing snapshot is INTERNAL and rolls back its event', async () => {
      const e = await rejectsWith(
        store.addTag('missing', 't', 'alice', eventRow('snapshot.tag')),
        'INTERNAL',
      );
      expect(e.message).toMatch(/^metadata write failed: /);
      expect(await store.countEvents()).toBe(0);
    });

    it('appends events and lists them by dataset, kind, actor, time and sequence', async () => {
      const rows = [
        eventRow('a', { time: at(1), dataset: 'd', actor: 'alice' }),
        eventRow('b', { time: at(2), dataset: 'd', actor: 'bob', snapshot_id: 's1' }),
        eventRow('a', { time: at(3), dataset: 'e', actor: 'bob', detail: '{"k":[1,2]}' }),
        eventRow('c', { time: at(4), dataset: null, actor: 'alice' }),
      ];
      for (const r of rows) await store.appendEvent(r);
      const all = await store.listEvents();
      expect(all).toStrictEqual(rows.map((r, i) => ({ seq: i + 1, ...r })));
      expect((await store.listEvents({ dataset: 'd' })).map((e) => e.seq)).toStrictEqual([1, 2]);
      expect((await store.listEvents({ kind: 'a' })).map((e) => e.seq)).toStrictEqual([1, 3]);
      expect((await store.listEvents({ actor: 'bob' })).map((e) => e.seq)).toStrictEqual([2, 3]);
      expect(
        (await store.listEvents({ since: at(2), until: at(4) })).map((e) => e.seq),
      ).toStrictEqual([2, 3]);
      expect(
        (await store.listEvents({ actor: 'bob', kind: 'a', dataset: 'e' })).map((e) => e.seq),
      ).toStrictEqual([3]);
      expect(await store.listEventsFrom(2)).toStrictEqual(all.slice(2));
      expect(await store.listEventsFrom(0)).toStrictEqual(all);
      expect(await store.countEvents()).toBe(4);
    });

    it('searches events in SQL: kind prefix, ASCII-caseless detail text, order, paging, totals', async () => {
      const rows = [
        eventRow('snapshot.ingest', { time: at(1), dataset: 'd', detail: '{"file":"Mail.jsonl"}' }),
        eventRow('snapshot.scan', { time: at(2), dataset: 'd', actor: 'bob', detail: '{"n":1}' }),
        eventRow('snapshotX', { time: at(3), detail: '{"who":"Ärger 50%_x"}' }),
        eventRow('authz.deny', { time: at(4), actor: 'bob', detail: '{"action":"approve"}' }),
        eventRow('snapshot.tag', { time: at(5), dataset: 'e', detail: '{"tag":"MAIL"}' }),
      ];
      for (const r of rows) await store.appendEvent(r);
      const seqs = async (
        f: Parameters<MetadataStore['searchEvents']>[0],
        p: Partial<Parameters<MetadataStore['searchEvents']>[1]> = {},
      ) => {
        const r = await store.searchEvents(f, { offset: 0, limit: 100, ...p });
        return [r.events.map((e) => e.seq), r.total];
      };
      expect(await seqs({})).toStrictEqual([[1, 2, 3, 4, 5], 5]);
      expect(await seqs({ kindPrefix: 'snapshot.' })).toStrictEqual([[1, 2, 5], 3]);
      expect(await seqs({ kindPrefix: 'Snapshot.' })).toStrictEqual([[], 0]);
      expect(await seqs({ kind: 'authz.deny', actor: 'bob' })).toStrictEqual([[4], 1]);
      expect(await seqs({ text: 'mail' })).toStrictEqual([[1, 5], 2]);
      // Only ASCII letters fold, and % and _ are plain characters.
      expect(await seqs({ text: 'ärger' })).toStrictEqual([[], 0]);
      expect(await seqs({ text: 'Ärger 50%_X' })).toStrictEqual([[3], 1]);
      expect(await seqs({ text: '50%x' })).toStrictEqual([[], 0]);
      expect(await seqs({ since: at(2), until: at(5), afterSeq: 2 })).toStrictEqual([[3, 4], 2]);
      expect(await seqs({ beforeSeq: 4 }, { newestFirst: true })).toStrictEqual([[3, 2, 1], 3]);
      expect(await seqs({}, { newestFirst: true, offset: 1, limit: 2 })).toStrictEqual([[4, 3], 5]);
      expect(await seqs({ dataset: 'd' }, { offset: 5 })).toStrictEqual([[], 2]);
      const page = await store.searchEvents({ actor: 'bob' }, { offset: 0, limit: 1 });
      expect(page).toStrictEqual({ events: [{ seq: 2, ...rows[1]! }], total: 2 });
    });

    it('keeps checkpoints by size, the first one for a size winning', async () => {
      const c5 = { size: 5, root: hex('r5'), note: 'note 5', created_at: at(5) };
      const c2 = { size: 2, root: hex('r2'), note: 'note 2', created_at: at(6) };
      expect(await store.newestCheckpoint()).toBeUndefined();
      await store.addCheckpoint(c5);
      await store.addCheckpoint(c2);
      await store.addCheckpoint({ ...c5, root: hex('other'), note: 'other' });
      expect(await store.listCheckpoints()).toStrictEqual([c2, c5]);
      expect(await store.newestCheckpoint()).toStrictEqual(c5);
    });

    it('records scans, and the snapshot state a scan sets', async () => {
      const s = await firstSnapshot(store);
      const scan = (id: string, i: number): ScanRecordRow => ({
        id,
        snapshot_id: s.id,
        report_digest: hex(`report ${id}`),
        envelope_digest: hex(`env ${id}`),
        actor: 'alice',
        created_at: at(i),
        summary: '{"issues":0}',
      });
      await store.recordScan(scan('scan-b', 20), eventRow('snapshot.scan'));
      expect(await store.gov.getState(s.id)).toBeUndefined();
      await store.recordScan(scan('scan-a', 30), eventRow('snapshot.scan'), 'scanned');
      expect(await store.gov.getState(s.id)).toBe('scanned');
      await store.recordScan(scan('scan-c', 10), eventRow('snapshot.scan'), 'flagged');
      expect(await store.gov.getState(s.id)).toBe('flagged');
      expect(await store.listScans(s.id)).toStrictEqual([
        scan('scan-c', 10),
        scan('scan-b', 20),
        scan('scan-a', 30),
      ]);
      expect(await store.listScans('none')).toStrictEqual([]);
      expect(await store.countEvents()).toBe(4);
    });

    it('adds, updates and offboards identities, revoking tokens and flagging owned services', async () => {
      const alice = identityRow('alice');
      const bot = identityRow('bot', { kind: 'service', owners: '["alice"]' });
      await store.gov.addIdentity(bot, eventRow('identity.add'));
      await store.gov.addIdentity(alice, eventRow('identity.add'));
      expect(await store.getIdentity('alice')).toStrictEqual(alice);
      expect(await store.getIdentity('nobody')).toBeUndefined();
      expect(await store.listIdentities()).toStrictEqual([alice, bot]);
      await rejectsWith(store.gov.addIdentity(alice, eventRow('identity.add')), 'INTERNAL');

      await store.gov.updateIdentity('bot', { owners: '["alice","bob"]' }, null);
      await store.gov.updateIdentity('bot', { flag: 'check me' }, eventRow('identity.flag'));
      expect(await store.getIdentity('bot')).toStrictEqual({
        ...bot,
        owners: '["alice","bob"]',
        flag: 'check me',
      });

      await store.gov.addToken(tokenRow('t1', 'alice'), eventRow('token.create'));
      await store.gov.addToken(
        tokenRow('t2', 'alice', { revoked_at: at(3), revoked_by: 'x', revoke_reason: 'old' }),
        eventRow('token.create'),
      );
      await store.gov.addToken(tokenRow('t3', 'bot'), eventRow('token.create'));
      await store.gov.offboard({
        name: 'alice',
        by: 'root',
        time: at(50),
        flaggedServices: ['bot'],
        event: eventRow('identity.disable'),
      });
      expect(await store.getIdentity('alice')).toStrictEqual({
        ...alice,
        disabled_at: at(50),
        disabled_by: 'root',
      });
      expect((await store.getIdentity('bot'))?.flag).toBe(
        `owner alice was offboarded on ${at(50)}`,
      );
      expect(await store.gov.getToken('t1')).toStrictEqual(
        tokenRow('t1', 'alice', {
          revoked_at: at(50),
          revoked_by: 'root',
          revoke_reason: 'owner offboarded',
        }),
      );
      expect((await store.gov.getToken('t2'))?.revoked_by).toBe('x');
      expect((await store.gov.getToken('t3'))?.revoked_at).toBeNull();
      expect(await store.countEvents()).toBe(7);
    });

    it('creates, lists, shortens, revokes and touches tokens', async () => {
      await store.gov.addIdentity(identityRow('alice'), eventRow('identity.add'));
      await store.gov.addIdentity(identityRow('bob'), eventRow('identity.add'));
      const t1 = tokenRow('t1', 'bob', { created_at: at(5), expires_at: at(1000) });
      const t2 = tokenRow('t2', 'alice', { created_at: at(9) });
      const t3 = tokenRow('t3', 'alice', { created_at: at(7), rotated_from: 't2' });
      await store.gov.addToken(t1, eventRow('token.create'));
      await store.gov.addToken(t2, eventRow('token.create'));
      await store.gov.addToken(t3, eventRow('token.rotate'), { keyId: 't2', expiresAt: at(100) });
      expect(await store.gov.getToken('t1')).toStrictEqual(t1);
      expect(await store.gov.getToken('nope')).toBeUndefined();
      expect((await store.gov.getToken('t2'))?.expires_at).toBe(at(100));
      expect((await store.gov.listTokens()).map((t) => t.key_id)).toStrictEqual(['t3', 't2', 't1']);
      expect((await store.gov.listTokens('bob')).map((t) => t.key_id)).toStrictEqual(['t1']);

      await store.gov.revokeToken('t1', 'alice', 'leaked', at(20), eventRow('token.revoke'));
      await store.gov.revokeToken('t1', 'carol', 'again', at(30), eventRow('token.revoke'));
      expect(await store.gov.getToken('t1')).toStrictEqual({
        ...t1,
        revoked_at: at(20),
        revoked_by: 'alice',
        revoke_reason: 'leaked',
      });

      const n = await store.countEvents();
      await store.gov.touchToken('t3', {
        last_used_at: at(40),
        last_used_agent: 'cli/1.0',
        last_used_interactive: 1,
        used_scopes: '["read"]',
      });
      expect(await store.countEvents()).toBe(n);
      expect(await store.gov.getToken('t3')).toStrictEqual({
        ...t3,
        last_used_at: at(40),
        last_used_agent: 'cli/1.0',
        last_used_interactive: 1,
        used_scopes: '["read"]',
      });
      await rejectsWith(store.gov.addToken(tokenRow('t9', 'ghost'), eventRow('x')), 'INTERNAL');
    });

    it('adds and removes grants, and group members', async () => {
      await store.gov.addIdentity(identityRow('alice'), eventRow('identity.add'));
      await store.gov.addIdentity(identityRow('bob'), eventRow('identity.add'));
      const g = (subject: string, role: string, dataset: string) => ({
        subject_type: 'Human',
        subject,
        role,
        dataset,
        created_at: at(3),
        created_by: 'root',
      });
      await store.gov.addGrant(g('bob', 'viewer', 'd'), eventRow('grant.add'));
      await store.gov.addGrant(g('alice', 'owner', '*'), eventRow('grant.add'));
      await store.gov.addGrant(g('alice', 'editor', 'd'), eventRow('grant.add'));
      await store.gov.addGrant({ ...g('alice', 'editor', 'd'), created_by: 'x' }, eventRow('g'));
      expect(await store.gov.listGrants()).toStrictEqual([
        g('alice', 'owner', '*'),
        g('alice', 'editor', 'd'),
        g('bob', 'viewer', 'd'),
      ]);
      const key = { subject_type: 'Human', subject: 'bob', role: 'viewer', dataset: 'd' };
      expect(await store.gov.removeGrant(key, eventRow('grant.remove'))).toBe(true);
      expect(await store.gov.removeGrant(key, eventRow('grant.remove'))).toBe(false);
      expect(await store.gov.listGrants()).toHaveLength(2);

      await store.gov.addGroupMember('reviewers', 'bob', at(4), eventRow('group.join'));
      await store.gov.addGroupMember('admins', 'bob', at(4), eventRow('group.join'));
      await store.gov.addGroupMember('admins', 'bob', at(5), eventRow('group.join'));
      expect(await store.gov.groupsOf('bob')).toStrictEqual(['admins', 'reviewers']);
      expect(await store.gov.groupsOf('alice')).toStrictEqual([]);
      await rejectsWith(
        store.gov.addGroupMember('admins', 'ghost', at(4), eventRow('group.join')),
        'INTERNAL',
      );
      expect(await store.countEvents()).toBe(11);
    });

    it('keeps dataset settings and sources, with exact fractions and 0/1 flags', async () => {
      expect(await store.gov.getSettings('d')).toBeUndefined();
      const settings = {
        dataset: 'd',
        high_impact: 1,
        externally_sourced: 0,
        required_approvals: 2,
        review_threshold: 0.123456789,
        updated_at: at(1),
        updated_by: 'alice',
      };
      await store.gov.putSettings(settings, eventRow('dataset.configure'));
      expect(await store.gov.getSettings('d')).toStrictEqual(settings);
      const changed = { ...settings, high_impact: 0, review_threshold: 0.1, updated_by: 'bob' };
      await store.gov.putSettings(changed, eventRow('dataset.configure'));
      expect(await store.gov.getSettings('d')).toStrictEqual(changed);

      const src = (name: string, trusted: number, external: number) => ({
        dataset: 'd',
        name,
        trusted,
        external,
        created_at: at(2),
        created_by: 'alice',
      });
      await store.gov.putSource(src('web', 0, 1), eventRow('source.set'));
      await store.gov.putSource(src('Lab', 1, 0), eventRow('source.set'));
      await store.gov.putSource({ ...src('web', 1, 0), created_by: 'bob' }, eventRow('source.set'));
      await store.gov.putSource({ ...src('other', 1, 1), dataset: 'e' }, eventRow('source.set'));
      expect(await store.gov.listSources('d')).toStrictEqual([src('Lab', 1, 0), src('web', 1, 0)]);
      expect(await store.gov.listSources('none')).toStrictEqual([]);
    });

    it('sets snapshot states, with or without an event', async () => {
      const s = await firstSnapshot(store);
      expect(await store.gov.getState(s.id)).toBeUndefined();
      await store.gov.setState(s.id, 'scanned', 'alice', at(1), null);
      expect(await store.gov.getState(s.id)).toBe('scanned');
      await store.gov.setState(s.id, 'approved', 'bob', at(2), eventRow('snapshot.promote'));
      expect(await store.gov.getState(s.id)).toBe('approved');
      expect(await store.countEvents()).toBe(2);
      await rejectsWith(store.gov.setState('ghost', 'x', 'a', at(1), null), 'INTERNAL');
    });

    it('keeps approvals and gate runs, the newest gate run (then the lowest id) first', async () => {
      const s = await firstSnapshot(store);
      const approval = (id: string, i: number): ApprovalRow => ({
        id,
        snapshot_id: s.id,
        root: s.root,
        approver: `approver-${i}`,
        approver_key_id: `key-${i}`,
        envelope_digest: hex(id),
        submitted_by: 'alice',
        created_at: at(i),
      });
      await store.gov.addApproval(approval('ap-2', 9), eventRow('snapshot.approve'));
      await store.gov.addApproval(approval('ap-1', 8), eventRow('snapshot.approve'));
      expect(await store.gov.listApprovals(s.id)).toStrictEqual([
        approval('ap-1', 8),
        approval('ap-2', 9),
      ]);
      expect(await store.gov.listApprovals('none')).toStrictEqual([]);

      expect(await store.gov.latestGateRun(s.id)).toBeUndefined();
      const gate = (id: string, i: number, passed: number): GateRunRow => ({
        id,
        snapshot_id: s.id,
        passed,
        policy_digest: hex('policy'),
        envelope_digest: hex(id),
        checks: '[{"name":"integrity","ok":true}]',
        actor: 'alice',
        created_at: at(i),
      });
      await store.gov.addGateRun(gate('g-1', 10, 0), eventRow('snapshot.gate'));
      await store.gov.addGateRun(gate('g-3', 20, 1), eventRow('snapshot.gate'));
      expect(await store.gov.latestGateRun(s.id)).toStrictEqual(gate('g-3', 20, 1));
      await store.gov.addGateRun(gate('g-2', 20, 0), eventRow('snapshot.gate'));
      expect(await store.gov.latestGateRun(s.id)).toStrictEqual(gate('g-2', 20, 0));
      await rejectsWith(
        store.gov.addGateRun(gate('g-2', 30, 1), eventRow('snapshot.gate')),
        'INTERNAL',
      );
    });

    it('places and lifts quarantines, moving the snapshot state with them', async () => {
      const s = await firstSnapshot(store);
      const q = (id: string, kind: string, target: string, i: number): QuarantineRow => ({
        id,
        kind,
        target,
        dataset: kind === 'token' ? null : 'd',
        reason: `reason ${id}`,
        placed_by: 'alice',
        placed_at: at(i),
        lifted_at: null,
        lifted_by: null,
        lift_reason: null,
        lift_envelope_digest: null,
      });
      await store.gov.addQuarantine(q('q-1', 'snapshot', s.id, 5), eventRow('quarantine.place'), {
        snapshotId: s.id,
        state: 'quarantined',
      });
      await store.gov.addQuarantine(q('q-2', 'source', 'web', 3), eventRow('quarantine.place'));
      await store.gov.addQuarantine(q('q-3', 'token', 't1', 4), eventRow('quarantine.place'));
      expect(await store.gov.getState(s.id)).toBe('quarantined');
      expect(await store.gov.getQuarantine('q-1')).toStrictEqual(q('q-1', 'snapshot', s.id, 5));
      expect(await store.gov.getQuarantine('nope')).toBeUndefined();
      expect((await store.gov.listQuarantines()).map((r) => r.id)).toStrictEqual([
        'q-2',
        'q-3',
        'q-1',
      ]);
      expect((await store.gov.listQuarantines({ kind: 'source' })).map((r) => r.id)).toStrictEqual([
        'q-2',
      ]);
      expect(
        (await store.gov.listQuarantines({ kind: 'token', target: 't1' })).map((r) => r.id),
      ).toStrictEqual(['q-3']);

      const lift = {
        lifted_at: at(9),
        lifted_by: 'bob',
        lift_reason: 'cleared',
        lift_envelope_digest: hex('lift'),
      };
      await store.gov.liftQuarantine('q-1', lift, eventRow('quarantine.lift'), {
        snapshotId: s.id,
        state: 'scanned',
      });
      await store.gov.liftQuarantine(
        'q-1',
        { ...lift, lifted_by: 'carol' },
        eventRow('quarantine.lift'),
      );
      expect(await store.gov.getQuarantine('q-1')).toStrictEqual({
        ...q('q-1', 'snapshot', s.id, 5),
        ...lift,
      });
      expect(await store.gov.getState(s.id)).toBe('scanned');
      expect(
        (await store.gov.listQuarantines({ active: true })).map((r) => r.id).sort(),
      ).toStrictEqual(['q-2', 'q-3']);
    });

    it('queues review items in batches, lists them by score, and records decisions', async () => {
      const s = await firstSnapshot(store);
      const t = await firstSnapshot(store, 't');
      // 1,203 items: more than two insert batches; scores that a 4-byte float would round.
      const items = Array.from({ length: 1203 }, (_, i) =>
        reviewItem(i, s.id, Math.round(((i * 37) % 1000) * 1.000001) / 1001),
      );
      await store.gov.addReviewItems(items, eventRow('review.queue'));
      await store.gov.addReviewItems([items[0]!, reviewItem(9999, t.id, 0.5)], eventRow('r'));
      const listed = await store.gov.listReviewItems({ snapshotId: s.id });
      const byScore = [...items].sort((a, b) =>
        b.score !== a.score ? b.score - a.score : a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
      );
      expect(listed).toStrictEqual(byScore);
      expect(await store.gov.listReviewItems()).toHaveLength(1204);
      expect(await store.gov.getReviewItem('item-0003')).toStrictEqual(items[3]);
      expect(await store.gov.getReviewItem('nope')).toBeUndefined();

      const decision = {
        status: 'relabel',
        new_label: 'ham',
        decided_by: 'bob',
        decided_at: at(60),
      };
      await store.gov.decideReviewItem('item-0003', decision, eventRow('review.decide'));
      expect(await store.gov.getReviewItem('item-0003')).toStrictEqual({
        ...items[3],
        ...decision,
      });
      expect(
        (await store.gov.listReviewItems({ snapshotId: s.id, status: 'relabel' })).map((r) => r.id),
      ).toStrictEqual(['item-0003']);
      expect((await store.gov.listReviewItems({ status: 'open' })).length).toBe(1203);

      const applied = items.slice(0, 700).map((r) => r.id);
      await store.gov.markReviewApplied(applied, t.id);
      const after = await store.gov.listReviewItems({ snapshotId: s.id });
      expect(after.filter((r) => r.applied_snapshot === t.id)).toHaveLength(700);
      expect(after.filter((r) => r.applied_snapshot === null)).toHaveLength(503);
      // An applied item is settled: a later decision does not change it.
      await store.gov.decideReviewItem(
        'item-0003',
        { ...decision, status: 'drop' },
        eventRow('review.decide'),
      );
      expect((await store.gov.getReviewItem('item-0003'))?.status).toBe('relabel');
    });

    it('returns the governance rows the audit replay compares', async () => {
      const s = await firstSnapshot(store);
      await store.gov.addIdentity(identityRow('bob'), eventRow('identity.add'));
      await store.gov.addGroupMember('admins', 'bob', at(1), eventRow('group.join'));
      const settings = {
        dataset: 'd',
        high_impact: 0,
        externally_sourced: 1,
        required_approvals: 1,
        review_threshold: 0.7,
        updated_at: at(1),
        updated_by: 'alice',
      };
      await store.gov.putSettings(settings, eventRow('dataset.configure'));
      const source = {
        dataset: 'd',
        name: 'web',
        trusted: 0,
        external: 1,
        created_at: at(1),
        created_by: 'alice',
      };
      await store.gov.putSource(source, eventRow('source.set'));
      await store.gov.addApproval(
        {
          id: 'ap',
          snapshot_id: s.id,
          root: s.root,
          approver: 'bob',
          approver_key_id: 'key-bob',
          envelope_digest: hex('ap'),
          submitted_by: 'bob',
          created_at: at(2),
        },
        eventRow('snapshot.approve'),
      );
      await store.gov.addGateRun(
        {
          id: 'gate',
          snapshot_id: s.id,
          passed: 1,
          policy_digest: hex('p'),
          envelope_digest: hex('g'),
          checks: '[]',
          actor: 'alice',
          created_at: at(3),
        },
        eventRow('snapshot.gate'),
      );
      await store.gov.setState(s.id, 'approved', 'alice', at(4), eventRow('snapshot.promote'));
      expect(await store.gov.governanceRows()).toStrictEqual({
        members: [{ group_name: 'admins', member: 'bob' }],
        settings: [settings],
        sources: [source],
        approvals: [{ id: 'ap', snapshot_id: s.id }],
        gateRuns: [{ id: 'gate', passed: 1 }],
        states: [{ snapshot_id: s.id, state: 'approved' }],
      });
    });

    it('orders and compares text bytewise (as SQLite does), whatever the server collation', async () => {
      // In en_US and most other collations "B" sorts after "a", "_" and "~" are nearly ignored,
      // and "é" sits next to "e"; bytewise, uppercase comes first and "é" after every ASCII byte.
      const names = ['b', 'B', 'a', '_x', 'é', 'Z', 'a~', 'ab', 'a b', 'e'];
      for (const n of names) await firstSnapshot(store, n);
      const bytewise = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      expect((await store.listDatasets()).map((d) => d.name)).toStrictEqual(bytewise);
      expect((await store.listSnapshots()).map((d) => d.dataset)).toStrictEqual(bytewise);

      // Snapshot ids are looked up by prefix with the range [prefix, prefix + "~"). These ids are
      // not hex, so no id of the snapshots above can match.
      const ids = ['zz10', 'zz1f', 'zz20', 'zy00', 'ZZ10'];
      const v1 = snapshotRow('p', 1, [], { id: ids[0]! });
      await store.commitSnapshot({ snapshot: v1, expectedHead: null, event: eventRow('c') });
      let head = v1.id;
      for (const [i, id] of ids.slice(1).entries()) {
        const s = snapshotRow('p', i + 2, [head], { id });
        await store.commitSnapshot({ snapshot: s, expectedHead: head, event: eventRow('c') });
        head = id;
      }
      const found = async (prefix: string) =>
        (await store.findSnapshotsByPrefix(prefix)).map((s) => s.id).sort();
      expect(await found('zz1')).toStrictEqual(['zz10', 'zz1f']);
      expect(await found('zz2')).toStrictEqual(['zz20']);
      expect(await found('zy')).toStrictEqual(['zy00']);
      expect(await found('ZZ')).toStrictEqual(['ZZ10']);
      expect(await found('zx')).toStrictEqual([]);
      expect(await found('z')).toHaveLength(2); // at most two: enough to call it ambiguous
    });
  });
}
