import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { eventLeaf } from '../../src/core/audit-log.js';
import { CordonError } from '../../src/core/errors.js';
import { generateSigningKey, parsePrivateKey, parsePublicKey } from '../../src/core/keys.js';
import { MerkleTree, verifyConsistency } from '../../src/core/merkle.js';
import { checkpointAudit, verifyAudit } from '../../src/engine/audit.js';
import type { Identity } from '../../src/engine/workspace.js';
import type { MetadataStore } from '../../src/store/metadata-store.js';
import { writeTransaction } from '../../src/store/write-transaction.js';
import { enginesUnderTest, type FreshStore } from './engines.js';
import { at, checkChain, eventRow, snapshotRow } from './fixtures.js';
import {
  MEMBER,
  runWorkload,
  SHARED,
  type StoreTarget,
  type WorkloadMode,
  type WorkloadResult,
} from './workload.js';

/**
 * Many writers on one store: several child processes (each its own connection or pool, as
 * several servers would be) and concurrent writers inside this process. Every commit either lands
 * or gets HEAD_CONFLICT, and the audit log stays one append-only Merkle log that checkpoints taken
 * mid-run are prefixes of.
 */

const engines = await enginesUnderTest();

const LOADER = join(import.meta.dirname, '../helpers/ts-loader.mjs');
const WORKER = join(import.meta.dirname, 'store-worker.ts');

/** Runs store-worker.ts in a child process and returns what it did. */
function runChild(
  target: StoreTarget,
  writer: string,
  n: number,
  mode: WorkloadMode,
): Promise<WorkloadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', LOADER, WORKER, JSON.stringify(target), writer, String(n), mode],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(JSON.parse(out) as WorkloadResult);
      else reject(new Error(`worker ${writer} exited with ${code}: ${err}`));
    });
  });
}

/** A log key held by an identity in the store, so verifyAudit trusts its checkpoints. */
async function logIdentity(store: MetadataStore): Promise<Identity> {
  const key = generateSigningKey();
  await store.gov.addIdentity(
    {
      name: MEMBER,
      kind: 'human',
      key_id: key.keyId,
      public_key: key.publicKeyPem,
      created_at: at(0),
      owners: '[]',
      disabled_at: null,
      disabled_by: null,
      flag: null,
    },
    eventRow('identity.add', {
      detail: JSON.stringify({ identity: MEMBER, kind: 'human', owners: [], keyId: key.keyId }),
    }),
  );
  return {
    name: MEMBER,
    keyId: key.keyId,
    privateKey: parsePrivateKey(key.privateKeyPem, 'test key'),
    publicKey: parsePublicKey(key.publicKeyPem, 'test key'),
  };
}

function expectGapless(seqs: number[]): void {
  const wrong = seqs.findIndex((s, i) => s !== i + 1);
  expect(wrong, `seq ${seqs[wrong]} at position ${wrong + 1}`).toBe(-1);
}

/** Resolves when `work` settles, calling `tick` in a loop until then. */
async function whileRunning(work: Promise<unknown>, tick: () => Promise<void>): Promise<void> {
  let done = false;
  const settled = work.then(
    () => (done = true),
    () => (done = true),
  );
  while (!done) {
    await tick();
    await sleep(2);
  }
  await settled;
}

for (const engine of engines) {
  engine.describe('metadata store under concurrent writers', () => {
    let fresh: FreshStore;
    let store: MetadataStore;

    beforeEach(async () => {
      fresh = await engine.fresh();
      store = await fresh.open();
    });
    afterEach(async () => {
      await fresh.remove();
    });

    it('lets exactly one of many writers racing from the same head commit; the others write nothing', async () => {
      const base = snapshotRow(SHARED, 1, []);
      await store.commitSnapshot({ snapshot: base, expectedHead: null, event: eventRow('c') });
      // On PostgreSQL a second pool races the first; one SQLite handle per process is the rule.
      const other = engine.name === 'postgres' ? await fresh.open() : store;
      const racers = Array.from({ length: 12 }, (_, i) =>
        snapshotRow(SHARED, 2, [base.id], { id: `racer-${String(i).padStart(2, '0')}` }),
      );
      const outcomes = await Promise.allSettled(
        racers.map((s, i) =>
          (i % 2 ? other : store).commitSnapshot({
            snapshot: s,
            expectedHead: base.id,
            event: eventRow('snapshot.ingest', { dataset: SHARED, snapshot_id: s.id }),
          }),
        ),
      );
      const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [racers[i]!.id] : []));
      expect(won).toHaveLength(1);
      for (const o of outcomes) {
        if (o.status === 'fulfilled') continue;
        expect(o.reason).toBeInstanceOf(CordonError);
        expect((o.reason as CordonError).code).toBe('HEAD_CONFLICT');
        expect((o.reason as CordonError).message).toMatch(/Re-run the command/);
      }
      expect((await store.getDataset(SHARED))?.head).toBe(won[0]);
      expect(await checkChain(store, SHARED)).toBe(2);
      const events = await store.listEvents({ dataset: SHARED });
      expect(events.map((e) => e.snapshot_id)).toStrictEqual([won[0]]);
    });

    it('loses no commit when processes and in-process writers retry on HEAD_CONFLICT', async () => {
      const perWriter = 12;
      const children = ['p1', 'p2', 'p3'].map((w) =>
        runChild(fresh.target, w, perWriter, 'commit'),
      );
      const local = ['l1', 'l2', 'l3'].map((w) => runWorkload(store, w, perWriter, 'commit'));
      const results = await Promise.all([...children, ...local]);
      const total = results.length * perWriter;

      expect(await checkChain(store, SHARED)).toBe(total);
      const committed = new Set(results.flatMap((r) => r.commits));
      expect(committed.size).toBe(total);
      const events = await store.listEvents({ kind: 'snapshot.ingest' });
      expect(new Set(events.map((e) => e.snapshot_id))).toStrictEqual(committed);
      // Every losing attempt left nothing behind: no snapshot row, no event.
      const lost = results.flatMap((r) => r.lost);
      for (const id of lost) expect(await store.getSnapshot(id)).toBeUndefined();
      expect(events.filter((e) => lost.includes(e.snapshot_id ?? ''))).toHaveLength(0);
      expectGapless((await store.listEventsFrom(0)).map((e) => e.seq));
      console.log(
        `[${engine.name}] ${total} commits from 6 writers, ${lost.length} HEAD_CONFLICT retries`,
      );
    });

    // SQLite has one writer at a time by construction (and a second writer in this thread would
    // block it), so this ordering check is for PostgreSQL.
    it.runIf(engine.name === 'postgres')(
      'holds a later append until an earlier one commits, so no reader sees a gap in seq',
      async () => {
        await store.appendEvent(eventRow('first'));
        const other = await fresh.open();
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        let inserted!: () => void;
        const insertedYet = new Promise<void>((r) => (inserted = r));
        // A writer that has inserted its event (taking seq 2) and has not committed yet.
        const slow = writeTransaction(
          store.db,
          store.engine,
          async (trx) => {
            await trx.insertInto('events').values(eventRow('slow')).execute();
            inserted();
            await gate;
          },
          { appendsEvents: true },
        );
        let fastDone = false;
        let fast: Promise<unknown> = Promise.resolve();
        try {
          await insertedYet;
          fast = other.appendEvent(eventRow('fast')).then(() => (fastDone = true));
          await sleep(300);
          expect(fastDone, 'the second append waits for the first to commit').toBe(false);
          expect((await other.listEventsFrom(0)).map((e) => e.kind)).toStrictEqual(['first']);
        } finally {
          release(); // on failure too, or the open transaction would keep the pool from closing
          await Promise.all([slow, fast]);
        }
        const events = await other.listEventsFrom(0);
        expect(events.map((e) => [e.seq, e.kind])).toStrictEqual([
          [1, 'first'],
          [2, 'slow'],
          [3, 'fast'],
        ]);
      },
    );

    it('keeps one consistent Merkle log while processes append: every read is gapless, every mid-run checkpoint a prefix', async () => {
      const identity = await logIdentity(store);
      const perWriter = 48;
      // A second handle in this process: another pool on PostgreSQL. (Two SQLite connections in
      // one thread would block each other in the busy handler, so SQLite writers share one.)
      const second = engine.name === 'postgres' ? await fresh.open() : store;
      const work = Promise.all([
        ...['p1', 'p2', 'p3', 'p4'].map((w) => runChild(fresh.target, w, perWriter, 'mixed')),
        ...['l1', 'l2'].map((w) => runWorkload(store, w, perWriter, 'mixed')),
        ...['l3', 'l4'].map((w) => runWorkload(second, w, perWriter, 'mixed')),
      ]);
      const total = 1 + 8 * perWriter;

      // While they run: every read of the log is 1..k without a hole (seq order = commit order),
      // and checkpoints are signed over whatever is there.
      const reads: { size: number; root: Buffer }[] = [];
      const signed: number[] = [];
      await whileRunning(work, async () => {
        const events = await store.listEventsFrom(0);
        expectGapless(events.map((e) => e.seq));
        reads.push({
          size: events.length,
          root: MerkleTree.fromLeaves(events.map(eventLeaf)).root(),
        });
        const size = await checkpointAudit(store, identity);
        if (size !== null) signed.push(size);
      });
      const results = await work;
      expect(results.reduce((n, r) => n + r.events, 0)).toBe(total - 1);
      await checkpointAudit(store, identity);

      const events = await store.listEventsFrom(0);
      expect(events).toHaveLength(total);
      expect(await store.countEvents()).toBe(total);
      expectGapless(events.map((e) => e.seq));
      for (const r of results)
        expect(events.filter((e) => e.actor === r.writer)).toHaveLength(perWriter);

      // Every state seen while appends ran is a prefix of the final log.
      const final = MerkleTree.fromLeaves(events.map(eventLeaf));
      for (const r of reads.filter((r) => r.size > 0)) {
        expect(
          verifyConsistency(r.size, total, r.root, final.root(), final.consistencyProof(r.size)),
          `read of ${r.size} events`,
        ).toBe(true);
      }
      expect(
        signed.some((s) => s > 1 && s < total),
        'a checkpoint taken mid-run',
      ).toBe(true);
      // verifyAudit: the newest checkpoint's root, each older one by a consistency proof, and the
      // governance tables replayed from the log (grants, sources, members, heads, tags).
      const audit = await verifyAudit(store);
      expect(audit).toMatchObject({ events: total, unsigned: 0 });
      expect(audit.checkpoints).toBe((await store.listCheckpoints()).length);
      expect(await checkChain(store, SHARED)).toBe(8 * (perWriter / 6));
      console.log(
        `[${engine.name}] ${total} events, ${reads.length} reads and ${signed.length} checkpoints during the run`,
      );
    });
  });
}
