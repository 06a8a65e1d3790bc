import { CordonError } from '../../core/errors.js';
import type { IdentityRow } from '../../store/metadata-store.js';
import { IDENTITY_PATTERN, writeIdentityKey, type Workspace } from '../workspace.js';
import type { Role } from '../authz/actions.js';
import { ROLES } from '../authz/actions.js';
import { authorize } from './authorize.js';

function event(
  ws: Workspace,
  kind: string,
  detail: Record<string, unknown>,
  dataset: string | null = null,
) {
  return {
    time: new Date().toISOString(),
    actor: ws.identity.name,
    kind,
    dataset,
    snapshot_id: null,
    detail: JSON.stringify(detail),
  };
}

/**
 * Registers a human or a service account with a fresh Ed25519 signing key. A service account
 * needs at least one accountable human owner, each an enabled human identity.
 */
export async function addIdentity(
  ws: Workspace,
  name: string,
  options: { kind: 'human' | 'service'; owners?: string[] },
): Promise<IdentityRow> {
  if (!IDENTITY_PATTERN.test(name))
    throw new CordonError('USAGE', `identity "${name}" must be letters, digits, . _ @ -`);
  const authz = await authorize(ws, 'manageIdentities', { type: 'Workspace' });
  if (await ws.meta.getIdentity(name))
    throw new CordonError('USAGE', `identity "${name}" already exists`);
  const owners = [...new Set(options.owners ?? [])].sort();
  if (options.kind === 'service') {
    if (owners.length === 0)
      throw new CordonError(
        'USAGE',
        `service account "${name}" needs at least one --owner (an accountable human)`,
      );
    for (const o of owners) {
      const row = await ws.meta.getIdentity(o);
      if (!row || row.kind !== 'human' || row.disabled_at !== null)
        throw new CordonError('USAGE', `owner "${o}" must be an enabled human identity`);
    }
  } else if (owners.length > 0) {
    throw new CordonError('USAGE', 'only service accounts have owners');
  }
  const key = await writeIdentityKey(ws.dir, name);
  const row: IdentityRow = {
    name,
    kind: options.kind,
    key_id: key.keyId,
    public_key: key.publicKeyPem,
    created_at: new Date().toISOString(),
    owners: JSON.stringify(owners),
    disabled_at: null,
    disabled_by: null,
    flag: null,
  };
  await ws.meta.gov.addIdentity(
    row,
    event(ws, 'identity.add', {
      identity: name,
      kind: options.kind,
      owners,
      keyId: key.keyId,
      authz,
    }),
  );
  return row;
}

/**
 * Disables an identity. For a human this is offboarding: their tokens are revoked and every
 * service account they own is flagged for a new owner (and is orphaned if no enabled owner is
 * left). A disabled service account's tokens are revoked too.
 */
export async function disableIdentity(
  ws: Workspace,
  name: string,
  reason: string,
): Promise<{ revokedTokens: number; flaggedServices: string[] }> {
  const authz = await authorize(ws, 'manageIdentities', { type: 'Workspace' });
  const row = await ws.meta.getIdentity(name);
  if (!row) throw new CordonError('USAGE', `no identity "${name}"`);
  if (row.disabled_at !== null) throw new CordonError('USAGE', `"${name}" is already disabled`);
  if (name === ws.config.identity)
    throw new CordonError(
      'USAGE',
      `"${name}" holds the workspace's log key and cannot be disabled`,
    );
  const flaggedServices = (await ws.meta.listIdentities())
    .filter((i) => i.kind === 'service' && (JSON.parse(i.owners) as string[]).includes(name))
    .map((i) => i.name);
  const active = (await ws.meta.gov.listTokens(name)).filter((t) => t.revoked_at === null);
  await ws.meta.gov.offboard({
    name,
    by: ws.identity.name,
    time: new Date().toISOString(),
    flaggedServices,
    event: event(ws, 'identity.disable', {
      identity: name,
      reason,
      revokedTokens: active.map((t) => t.key_id),
      flaggedServices,
      authz,
    }),
  });
  return { revokedTokens: active.length, flaggedServices };
}

export type SubjectType = 'Human' | 'ServiceAccount' | 'Group';

/** Resolves "name" (an identity) or "group:name" to a grant subject. */
export async function grantSubject(
  ws: Workspace,
  text: string,
): Promise<{ type: SubjectType; name: string }> {
  if (text.startsWith('group:')) {
    const name = text.slice('group:'.length);
    if (!IDENTITY_PATTERN.test(name)) throw new CordonError('USAGE', `bad group name "${name}"`);
    return { type: 'Group', name };
  }
  const row = await ws.meta.getIdentity(text);
  if (!row) throw new CordonError('USAGE', `no identity "${text}" (use group:<name> for a group)`);
  return { type: row.kind === 'service' ? 'ServiceAccount' : 'Human', name: text };
}

function assertRole(role: string, dataset: string): asserts role is Role {
  if (!(ROLES as readonly string[]).includes(role))
    throw new CordonError('USAGE', `unknown role "${role}"; roles are ${ROLES.join(', ')}`);
  if (role === 'admin' && dataset !== '*')
    throw new CordonError('USAGE', 'admin is a workspace role: grant it on --dataset "*"');
}

export async function grantRole(
  ws: Workspace,
  subjectText: string,
  role: string,
  dataset: string,
  remove = false,
): Promise<boolean> {
  assertRole(role, dataset);
  const authz = await authorize(ws, 'grantRoles', { type: 'Workspace' });
  const subject = await grantSubject(ws, subjectText);
  const key = { subject_type: subject.type, subject: subject.name, role, dataset };
  const ev = event(
    ws,
    remove ? 'grant.remove' : 'grant.add',
    { ...key, authz },
    dataset === '*' ? null : dataset,
  );
  if (remove) return ws.meta.gov.removeGrant(key, ev);
  await ws.meta.gov.addGrant({ ...key, created_at: ev.time, created_by: ws.identity.name }, ev);
  return true;
}

export async function joinGroup(ws: Workspace, member: string, group: string): Promise<void> {
  const authz = await authorize(ws, 'grantRoles', { type: 'Workspace' });
  if (!IDENTITY_PATTERN.test(group)) throw new CordonError('USAGE', `bad group name "${group}"`);
  if (!(await ws.meta.getIdentity(member)))
    throw new CordonError('USAGE', `no identity "${member}"`);
  const ev = event(ws, 'group.join', { group, member, authz });
  await ws.meta.gov.addGroupMember(group, member, ev.time, ev);
}

/** Records a dataset's governance settings (owners only by the default policies). */
export async function configureDataset(
  ws: Workspace,
  dataset: string,
  patch: {
    highImpact?: boolean;
    externallySourced?: boolean;
    requiredApprovals?: number;
    reviewThreshold?: number;
  },
): Promise<void> {
  const authz = await authorize(ws, 'configureDataset', { type: 'Dataset', dataset });
  const cur = await ws.meta.gov.getSettings(dataset);
  if (
    patch.requiredApprovals !== undefined &&
    (!Number.isInteger(patch.requiredApprovals) || patch.requiredApprovals < 1)
  )
    throw new CordonError('USAGE', '--approvals must be a whole number of at least 1');
  if (
    patch.reviewThreshold !== undefined &&
    !(patch.reviewThreshold >= 0 && patch.reviewThreshold <= 1)
  )
    throw new CordonError('USAGE', '--review-threshold must be between 0 and 1');
  const row = {
    dataset,
    high_impact:
      patch.highImpact === undefined ? (cur?.high_impact ?? 0) : patch.highImpact ? 1 : 0,
    externally_sourced:
      patch.externallySourced === undefined
        ? (cur?.externally_sourced ?? 0)
        : patch.externallySourced
          ? 1
          : 0,
    required_approvals: patch.requiredApprovals ?? cur?.required_approvals ?? 1,
    review_threshold: patch.reviewThreshold ?? cur?.review_threshold ?? 0.8,
    updated_at: new Date().toISOString(),
    updated_by: ws.identity.name,
  };
  await ws.meta.gov.putSettings(row, event(ws, 'dataset.configure', { ...row, authz }, dataset));
}

/** Registers a source of a dataset, trusted or not, external or not. */
export async function setSource(
  ws: Workspace,
  dataset: string,
  source: string,
  flags: { trusted: boolean; external: boolean },
): Promise<void> {
  const authz = await authorize(ws, 'manageSources', { type: 'Source', dataset, source });
  const time = new Date().toISOString();
  await ws.meta.gov.putSource(
    {
      dataset,
      name: source,
      trusted: flags.trusted ? 1 : 0,
      external: flags.external ? 1 : 0,
      created_at: time,
      created_by: ws.identity.name,
    },
    event(ws, 'source.set', { source, ...flags, authz }, dataset),
  );
}
