import { CordonError } from '../../core/errors.js';
import type { KeyPairPem } from '../../core/keys.js';
import { hashToken, parseToken, tokenMatches } from '../../core/tokens.js';
import type { MetadataStore } from '../../store/metadata-store.js';
import type { TokenRow } from '../../store/governance-store.js';
import {
  loadIdentityKey,
  type ActAs,
  type Credential,
  type Identity,
  type WorkspaceConfig,
} from '../workspace.js';

/** A token's last-used record is rewritten at most this often (unless something changed). */
const TOUCH_INTERVAL_MS = 60_000;

/**
 * Registers the workspace's first identity: a human who administers the workspace and owns every
 * dataset, so a fresh workspace works for its creator out of the box. Every grant is an event.
 */
export async function bootstrapAdmin(
  meta: MetadataStore,
  name: string,
  key: KeyPairPem,
  time: string,
): Promise<void> {
  await meta.gov.addIdentity(
    {
      name,
      kind: 'human',
      key_id: key.keyId,
      public_key: key.publicKeyPem,
      created_at: time,
      owners: '[]',
      disabled_at: null,
      disabled_by: null,
      flag: null,
    },
    {
      time,
      actor: name,
      kind: 'identity.add',
      dataset: null,
      snapshot_id: null,
      detail: JSON.stringify({
        identity: name,
        kind: 'human',
        owners: [],
        keyId: key.keyId,
        bootstrap: true,
      }),
    },
  );
  for (const role of ['admin', 'owner'] as const) {
    await meta.gov.addGrant(
      {
        subject_type: 'Human',
        subject: name,
        role,
        dataset: '*',
        created_at: time,
        created_by: name,
      },
      {
        time,
        actor: name,
        kind: 'grant.add',
        dataset: null,
        snapshot_id: null,
        detail: JSON.stringify({
          subject_type: 'Human',
          subject: name,
          role,
          dataset: '*',
          bootstrap: true,
        }),
      },
    );
  }
}

/**
 * Decides who is acting. An API token wins; otherwise a local identity (named, or the
 * workspace's own) proves itself by holding its private key file. A failed sign-in is recorded
 * as an `auth.failed` event and raises UNAUTHENTICATED; the token's secret is never logged.
 */
export async function resolveActor(
  root: string,
  meta: MetadataStore,
  config: WorkspaceConfig,
  logIdentity: Identity,
  actAs: ActAs,
): Promise<{ identity: Identity; credential: Credential }> {
  if (actAs.token !== undefined) return authenticateToken(root, meta, actAs);
  const name = actAs.identity ?? config.identity;
  const row = await meta.getIdentity(name);
  if (!row) {
    await authFailed(meta, name, null, `unknown identity "${name}"`);
    throw new CordonError('UNAUTHENTICATED', `unknown identity "${name}"`);
  }
  if (row.disabled_at !== null) {
    await authFailed(meta, name, null, 'identity is disabled');
    throw new CordonError(
      'UNAUTHENTICATED',
      `identity "${name}" was disabled on ${row.disabled_at}`,
    );
  }
  const identity = name === logIdentity.name ? logIdentity : await loadIdentityKey(root, name);
  if (identity.keyId !== row.key_id) {
    await authFailed(meta, name, null, 'key file does not match the registered key');
    throw new CordonError(
      'UNAUTHENTICATED',
      `the key file for "${name}" is not the key registered for it (key ${identity.keyId}, registered ${row.key_id})`,
    );
  }
  return {
    identity,
    credential: {
      kind: 'key',
      id: identity.keyId,
      scopes: [],
      expiresAt: null,
      revoked: false,
      quarantined: false,
    },
  };
}

async function authenticateToken(
  root: string,
  meta: MetadataStore,
  actAs: ActAs,
): Promise<{ identity: Identity; credential: Credential }> {
  const token = actAs.token ?? '';
  let keyId: string;
  try {
    keyId = parseToken(token).keyId;
  } catch (e) {
    await authFailed(meta, 'unknown', null, 'malformed token');
    throw e;
  }
  const row = await meta.gov.getToken(keyId);
  // Compare even when the key id is unknown, so both failures take the same time.
  const matches = tokenMatches(token, row?.hash ?? hashToken('cordon-no-such-token'));
  if (!row || !matches) {
    await authFailed(meta, 'unknown', keyId, 'unknown token');
    throw new CordonError('UNAUTHENTICATED', `token ${keyId} is not recognised`);
  }
  const now = new Date();
  const reject = async (why: string): Promise<never> => {
    await authFailed(meta, row.identity, keyId, why);
    throw new CordonError('UNAUTHENTICATED', `token ${keyId} of "${row.identity}" ${why}`);
  };
  if (row.revoked_at !== null)
    await reject(`was revoked on ${row.revoked_at} (${row.revoke_reason ?? 'no reason given'})`);
  if (row.expires_at !== null && Date.parse(row.expires_at) <= now.getTime())
    await reject(`expired on ${row.expires_at}`);
  const quarantined = await meta.gov.listQuarantines({
    kind: 'token',
    target: keyId,
    active: true,
  });
  if (quarantined.length > 0)
    await reject(`is quarantined (${quarantined[0]!.reason}); lifting it needs an approval`);
  const owner = await meta.getIdentity(row.identity);
  if (!owner || owner.disabled_at !== null) await reject('belongs to a disabled identity');
  await touch(meta, row, now, actAs);
  const identity = await loadIdentityKey(root, row.identity);
  return {
    identity,
    credential: {
      kind: 'token',
      id: keyId,
      scopes: JSON.parse(row.scopes) as string[],
      expiresAt: row.expires_at,
      revoked: false,
      quarantined: false,
    },
  };
}

async function touch(meta: MetadataStore, row: TokenRow, now: Date, actAs: ActAs): Promise<void> {
  const agent = actAs.agent ?? 'unknown';
  const interactive = actAs.interactive ? 1 : 0;
  const last = row.last_used_at === null ? 0 : Date.parse(row.last_used_at);
  if (
    now.getTime() - last < TOUCH_INTERVAL_MS &&
    row.last_used_agent === agent &&
    row.last_used_interactive === interactive
  )
    return;
  await meta.gov.touchToken(row.key_id, {
    last_used_at: now.toISOString(),
    last_used_agent: agent,
    last_used_interactive: interactive,
  });
}

async function authFailed(
  meta: MetadataStore,
  actor: string,
  keyId: string | null,
  reason: string,
): Promise<void> {
  await meta.appendEvent({
    time: new Date().toISOString(),
    actor,
    kind: 'auth.failed',
    dataset: null,
    snapshot_id: null,
    detail: JSON.stringify({ reason, ...(keyId !== null ? { token: keyId } : {}) }),
  });
}
