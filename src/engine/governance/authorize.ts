import { CordonError } from '../../core/errors.js';
import type { SnapshotRow } from '../../store/metadata-store.js';
import { ACTION_SCOPES, type Action } from '../authz/actions.js';
import type {
  AuthzDecision,
  DatasetFacts,
  Grant,
  ResourceFacts,
  SnapshotFacts,
} from '../authz/authorizer.js';
import type { Workspace } from '../workspace.js';
import { accountableHumans, datasetGovernance, quarantineOf, snapshotState } from './facts.js';
import { gateStatus } from './gate.js';
import { loadAuthorizer } from './policies.js';

/** What an action is about, by reference; `authorize` gathers the facts Cedar needs. */
export type ResourceRef =
  | { type: 'Workspace' }
  | { type: 'Identity'; name: string }
  | { type: 'Dataset'; dataset: string }
  | { type: 'LabelSet'; dataset: string }
  | { type: 'Source'; dataset: string; source: string }
  | { type: 'Snapshot'; snapshot: SnapshotRow }
  | { type: 'ChangeRequest'; snapshot: SnapshotRow };

export interface AuthzExtras {
  independentApprovals?: number;
  requiredApprovals?: number;
  /** Who placed the quarantine being lifted (four-eyes rule). */
  placedBy?: string;
  /** An owner overrode the gate for this export (the override itself was authorised). */
  gateOverridden?: boolean;
}

/** What an audit event records about the decision that allowed it. */
export interface DecisionRecord {
  action: Action;
  policies: string[];
  credential: { kind: string; id: string };
}

/**
 * Asks the Cedar policy set whether the acting identity may take `action` on `ref`, with the same
 * facts `authorize` uses, and records nothing: for showing what a caller may do (the console's
 * buttons, a listing's entries). Anything that then acts must still call `authorize`.
 */
export async function decide(
  ws: Workspace,
  action: Action,
  ref: ResourceRef,
  extras: AuthzExtras = {},
): Promise<AuthzDecision> {
  const ask = await decider(ws);
  return ask(action, await resourceFacts(ws, ref, extras), extras);
}

/**
 * The acting identity's side of a decision, gathered once: its facts, its credential and every
 * grant. The function it returns asks Cedar about one resource; a listing that checks many entries
 * (the server's `Visibility`) keeps it and gathers only each entry's facts.
 */
export async function decider(
  ws: Workspace,
): Promise<(action: Action, resource: ResourceFacts, extras?: AuthzExtras) => AuthzDecision> {
  const authorizer = await loadAuthorizer(ws.dir);
  const me = await ws.meta.getIdentity(ws.identity.name);
  if (!me)
    throw new CordonError('INTERNAL', `acting identity ${ws.identity.name} is not registered`);
  const grants: Grant[] = (await ws.meta.gov.listGrants()).map((g) => ({
    subject: { type: g.subject_type as Grant['subject']['type'], name: g.subject },
    role: g.role as Grant['role'],
    dataset: g.dataset,
  }));
  const principal = {
    type: me.kind === 'service' ? ('ServiceAccount' as const) : ('Human' as const),
    name: me.name,
    disabled: me.disabled_at !== null,
    owners: JSON.parse(me.owners) as string[],
    groups: await ws.meta.gov.groupsOf(me.name),
  };
  return (action, resource, extras = {}) =>
    authorizer.authorize({
      principal,
      credential: ws.credential,
      action,
      resource,
      grants,
      now: new Date().toISOString(),
      ...(extras.independentApprovals !== undefined
        ? { independentApprovals: extras.independentApprovals }
        : {}),
      ...(extras.requiredApprovals !== undefined
        ? { requiredApprovals: extras.requiredApprovals }
        : {}),
    });
}

/**
 * The one authorization function: every mutation in the CLI (and the server) calls it before it
 * changes anything. It gathers the facts about the acting identity, its credential and the
 * resource, asks the Cedar policy set (`decide`), and returns the decision for the operation's
 * audit event. A denial is written to the audit log as `authz.deny` and raises FORBIDDEN with
 * Cedar's reason.
 */
export async function authorize(
  ws: Workspace,
  action: Action,
  ref: ResourceRef,
  extras: AuthzExtras = {},
): Promise<DecisionRecord> {
  const decision = await decide(ws, action, ref, extras);
  const record: DecisionRecord = {
    action,
    policies: decision.policies,
    credential: { kind: ws.credential.kind, id: ws.credential.id },
  };
  if (!decision.allowed) {
    await ws.meta.appendEvent({
      time: new Date().toISOString(),
      actor: ws.identity.name,
      kind: 'authz.deny',
      dataset: datasetOf(ref),
      snapshot_id: 'snapshot' in ref ? ref.snapshot.id : null,
      detail: JSON.stringify({ ...record, resource: describe(ref), reason: decision.reason }),
    });
    throw new CordonError('FORBIDDEN', decision.reason);
  }
  if (ws.credential.kind === 'token') await noteScopeUse(ws, action);
  return record;
}

async function noteScopeUse(ws: Workspace, action: Action): Promise<void> {
  const row = await ws.meta.gov.getToken(ws.credential.id);
  if (!row) return;
  const used = JSON.parse(row.used_scopes) as string[];
  const scope = ACTION_SCOPES[action];
  if (used.includes(scope)) return;
  await ws.meta.gov.touchToken(row.key_id, {
    used_scopes: JSON.stringify([...used, scope].sort()),
  });
}

/** The dataset a resource belongs to, if any. */
export function datasetOf(ref: ResourceRef): string | null {
  if ('dataset' in ref) return ref.dataset;
  if ('snapshot' in ref) return ref.snapshot.dataset;
  return null;
}

export function describe(ref: ResourceRef): string {
  switch (ref.type) {
    case 'Workspace':
      return 'the workspace';
    case 'Identity':
      return `identity "${ref.name}"`;
    case 'Dataset':
      return `dataset "${ref.dataset}"`;
    case 'LabelSet':
      return `the labels of "${ref.dataset}"`;
    case 'Source':
      return `source "${ref.source}" of "${ref.dataset}"`;
    case 'Snapshot':
    case 'ChangeRequest':
      return `${ref.snapshot.dataset}@${ref.snapshot.version}`;
  }
}

async function datasetFacts(ws: Workspace, name: string): Promise<DatasetFacts> {
  const g = await datasetGovernance(ws, name);
  return { name, externallySourced: g.externallySourced, highImpact: g.highImpact };
}

async function snapshotFacts(
  ws: Workspace,
  row: SnapshotRow,
  extras: AuthzExtras,
): Promise<{ facts: SnapshotFacts; placedBy: string | null }> {
  const quarantine = await quarantineOf(ws, row);
  const gate = extras.gateOverridden ? { passed: true } : await gateStatus(ws, row);
  return {
    facts: {
      id: row.id,
      state: await snapshotState(ws, row.id),
      author: row.author,
      accountableHumans: await accountableHumans(ws, row.author),
      quarantined: quarantine !== null,
      gatePassed: gate.passed,
      integrityVerified: gate.passed,
    },
    placedBy: quarantine?.placedBy ?? null,
  };
}

/** The facts Cedar needs about a resource (its dataset's governance, a snapshot's state…). */
export async function resourceFacts(
  ws: Workspace,
  ref: ResourceRef,
  extras: AuthzExtras,
): Promise<ResourceFacts> {
  switch (ref.type) {
    case 'Workspace':
      return { type: 'Workspace' };
    case 'Identity': {
      const row = await ws.meta.getIdentity(ref.name);
      return {
        type: 'Identity',
        identity: {
          name: ref.name,
          kind: row?.kind === 'service' ? 'service' : 'human',
          owners: row ? (JSON.parse(row.owners) as string[]) : [],
        },
      };
    }
    case 'Dataset':
    case 'LabelSet':
      return { type: ref.type, dataset: await datasetFacts(ws, ref.dataset) };
    case 'Source': {
      const source = (await ws.meta.gov.listSources(ref.dataset)).find(
        (s) => s.name === ref.source,
      );
      const q = (
        await ws.meta.gov.listQuarantines({ kind: 'source', target: ref.source, active: true })
      ).find((r) => r.dataset === null || r.dataset === ref.dataset);
      return {
        type: 'Source',
        dataset: await datasetFacts(ws, ref.dataset),
        source: {
          name: ref.source,
          trusted: source?.trusted === 1,
          quarantined: q !== undefined,
          quarantinedBy: extras.placedBy ?? q?.placed_by ?? null,
        },
      };
    }
    case 'Snapshot': {
      const { facts, placedBy } = await snapshotFacts(ws, ref.snapshot, extras);
      return {
        type: 'Snapshot',
        dataset: await datasetFacts(ws, ref.snapshot.dataset),
        snapshot: facts,
        quarantinedBy: extras.placedBy ?? placedBy,
      };
    }
    case 'ChangeRequest': {
      const { facts } = await snapshotFacts(ws, ref.snapshot, extras);
      return {
        type: 'ChangeRequest',
        dataset: await datasetFacts(ws, ref.snapshot.dataset),
        snapshot: facts,
      };
    }
  }
}
