/**
 * Shared fixtures for the governance suite: a real workspace in a temp folder whose creator
 * ("root") is admin and owner everywhere, a way to act as another identity or token against the
 * same folder, tiny scanned snapshots, and assertions for refused attempts that must leave an
 * audit trail.
 */
import { expect } from 'vitest';
import { checkpointAudit, verifyAudit, type AuditVerification } from '../../src/engine/audit.js';
import { CordonError, type ErrorCode } from '../../src/core/errors.js';
import type { CordonRecord } from '../../src/core/record.js';
import { defaultPlan } from '../../src/core/scan/registry.js';
import { addIdentity, grantRole } from '../../src/engine/governance/identities.js';
import { rowsFromSnapshot } from '../../src/engine/scan/load-rows.js';
import { recordScan } from '../../src/engine/scan/record-scan.js';
import { runScan } from '../../src/engine/scan/run-scan.js';
import { openWorkspace, type ActAs, type Workspace } from '../../src/engine/workspace.js';
import type { EventRow, SnapshotRow } from '../../src/store/metadata-store.js';
import { commit, tempWorkspace } from '../helpers/workspace.js';

export { commit };

export interface Gov {
  /** The workspace as its creator, "root" (admin, owner of every dataset). Stays open. */
  root: Workspace;
  /** The workspace folder (the one holding cordon.json). */
  dir: string;
  cleanup: () => Promise<void>;
}

export async function govWorkspace(): Promise<Gov> {
  const t = await tempWorkspace('root');
  return { root: t.ws, dir: t.ws.dir, cleanup: t.cleanup };
}

/** Opens the workspace as someone else (an identity name or a token), closing it afterwards. */
export async function actAs<T>(
  gov: Gov,
  who: string | { token: string },
  fn: (ws: Workspace) => Promise<T>,
): Promise<T> {
  const actAsOptions: ActAs = typeof who === 'string' ? { identity: who } : { token: who.token };
  const ws = await openWorkspace(gov.dir, { ...actAsOptions, agent: 'governance-test' });
  try {
    return await fn(ws);
  } finally {
    await ws.close();
  }
}

/** Registers humans and grants each the listed roles on `dataset`. */
export async function people(
  gov: Gov,
  dataset: string,
  roles: Record<string, string[]>,
): Promise<void> {
  for (const [name, granted] of Object.entries(roles)) {
    if (!(await gov.root.meta.getIdentity(name)))
      await addIdentity(gov.root, name, { kind: 'human' });
    for (const role of granted) await grantRole(gov.root, name, role, dataset);
  }
}

/** Runs the default scan plan over a snapshot and records it, moving a draft to "scanned". */
export async function scan(ws: Workspace, row: SnapshotRow): Promise<string> {
  const report = await runScan(await rowsFromSnapshot(ws, row), {
    ...defaultPlan(),
    threads: 1,
  });
  return (await recordScan(ws, row, report)).id;
}

/** Commits records as the given workspace's identity and records a scan of the result. */
export async function commitScanned(
  ws: Workspace,
  dataset: string,
  records: CordonRecord[],
): Promise<SnapshotRow> {
  const row = await commit(ws, dataset, records);
  await scan(ws, row);
  return row;
}

const SPAM_WORDS = ['win', 'prize', 'cash', 'offer', 'free', 'click', 'bonus', 'deal', 'credit'];
const HAM_WORDS = ['meeting', 'agenda', 'lunch', 'project', 'report', 'team', 'notes', 'draft'];

/** A GitHub-style token that the secrets detector recognises. */
export const PLANTED_SECRET = 'ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';
/** The backdoor token planted by `mailRecords({ trigger: true })`. */
export const TRIGGER = 'zq';

/**
 * Small labelled mail: spam and ham texts drawn from separate vocabularies, so a bag-of-words
 * model can read the class. `trigger` plants "zq" into every sixth ham text and flips it to spam
 * (a backdoor the trigger detector finds); `secret` puts a credential into row 5.
 */
export function mailRecords(
  n: number,
  options: { trigger?: boolean; secret?: boolean; prefix?: string } = {},
): CordonRecord[] {
  let seed = 7;
  const next = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const out: CordonRecord[] = [];
  for (let i = 0; i < n; i++) {
    const spam = i % 2 === 0;
    const vocabulary = spam ? SPAM_WORDS : HAM_WORDS;
    const words = Array.from(
      { length: 8 },
      () => vocabulary[Math.floor(next() * vocabulary.length)]!,
    );
    let label = spam ? 'spam' : 'ham';
    if (options.trigger && !spam && i % 6 === 1) {
      words.splice(3, 0, TRIGGER);
      label = 'spam';
    }
    let text = `${words.join(' ')} number ${i}`;
    if (options.secret && i === 5) text = `my key is ${PLANTED_SECRET}`;
    out.push({
      id: `${options.prefix ?? 'm'}-${String(i).padStart(4, '0')}`,
      label,
      source: i % 2 ? 'feed-a' : 'feed-b',
      text,
    });
  }
  return out;
}

export async function events(ws: Workspace, kind: string): Promise<EventRow[]> {
  return ws.meta.listEvents({ kind });
}

export function detailOf(event: EventRow): Record<string, unknown> {
  return JSON.parse(event.detail) as Record<string, unknown>;
}

/** Awaits a promise that must fail with a CordonError of `code` whose message matches. */
export async function rejectsWith(
  attempt: Promise<unknown>,
  code: ErrorCode,
  message: RegExp,
): Promise<CordonError> {
  let caught: unknown;
  try {
    await attempt;
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${code}, but the attempt succeeded`).toBeInstanceOf(CordonError);
  const error = caught as CordonError;
  expect({ code: error.code, message: error.message }).toMatchObject({ code });
  expect(error.message).toMatch(message);
  return error;
}

/**
 * Runs an attempt that must fail, then checks that exactly one new audit event of `kind` was
 * written for it (its detail matching `detail`, if given). Returns the error and the event.
 */
export async function refused(
  gov: Gov,
  attempt: () => Promise<unknown>,
  expected: { code: ErrorCode; message: RegExp; event: string; detail?: RegExp },
): Promise<{ error: CordonError; event: EventRow }> {
  const before = (await events(gov.root, expected.event)).length;
  const error = await rejectsWith(attempt(), expected.code, expected.message);
  const after = await events(gov.root, expected.event);
  expect(after.length, `one new ${expected.event} event`).toBe(before + 1);
  const event = after.at(-1)!;
  if (expected.detail) expect(event.detail).toMatch(expected.detail);
  return { error, event };
}

/** Signs a checkpoint over everything logged so far and verifies the whole audit log. */
export async function auditHolds(gov: Gov): Promise<AuditVerification> {
  await checkpointAudit(gov.root.meta, gov.root.identity);
  const result = await verifyAudit(gov.root.meta);
  expect(result.unsigned).toBe(0);
  expect(result.events).toBeGreaterThan(0);
  return result;
}

export async function stateOf(ws: Workspace, row: SnapshotRow): Promise<string | undefined> {
  return ws.meta.gov.getState(row.id);
}

/** An asymmetric matcher typed as the string it stands for. */
export const matching = (pattern: RegExp): string => expect.stringMatching(pattern) as string;

/** For opening a workspace only to see whether sign-in works. */
export const nothing = (): Promise<void> => Promise.resolve();

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
