import { CordonError } from '../../core/errors.js';
import { assertScopes, mintToken, type TokenEnv } from '../../core/tokens.js';
import type { TokenRow } from '../../store/governance-store.js';
import type { Workspace } from '../workspace.js';
import { authorize } from './authorize.js';

const DAY_MS = 86_400_000;

export interface CreatedToken {
  /** The token itself: shown once, never stored. */
  token: string;
  row: TokenRow;
}

/**
 * What the audit log records about a token: everything that decides what it may do (never the
 * token itself; its SHA-256 is what the database holds too). `cordon audit verify` replays these
 * records against the tokens table, so a row edited behind Cordon's back is caught.
 */
export function tokenRecord(row: TokenRow): Record<string, unknown> {
  return {
    token: row.key_id,
    identity: row.identity,
    kind: row.kind,
    env: row.env,
    hash: row.hash,
    scopes: JSON.parse(row.scopes) as string[],
    expiresAt: row.expires_at,
  };
}

function event(ws: Workspace, kind: string, detail: Record<string, unknown>) {
  return {
    time: new Date().toISOString(),
    actor: ws.identity.name,
    kind,
    dataset: null,
    snapshot_id: null,
    detail: JSON.stringify(detail),
  };
}

/**
 * Issues an API token for an identity. Service accounts get 'nhi' tokens and must have an expiry
 * within the workspace's maximum lifetime; humans get 'pat' tokens. Only the hash is stored.
 */
export async function createToken(
  ws: Workspace,
  identity: string,
  options: { scopes: string[]; expiresInMs?: number; env?: TokenEnv },
): Promise<CreatedToken> {
  const who = await ws.meta.getIdentity(identity);
  if (!who) throw new CordonError('USAGE', `no identity "${identity}"`);
  const authz = await authorize(ws, 'manageTokens', { type: 'Identity', name: identity });
  if (who.disabled_at !== null) throw new CordonError('USAGE', `"${identity}" is disabled`);
  const scopes = [...new Set(options.scopes)].sort();
  if (scopes.length === 0) throw new CordonError('USAGE', 'a token needs at least one --scope');
  assertScopes(scopes);
  const service = who.kind === 'service';
  const maxMs = ws.config.tokens.maxLifetimeDays * DAY_MS;
  if (service && options.expiresInMs === undefined)
    throw new CordonError(
      'USAGE',
      `tokens of service account "${identity}" must expire: give --expires (at most ${ws.config.tokens.maxLifetimeDays}d)`,
    );
  if (service && options.expiresInMs !== undefined && options.expiresInMs > maxMs)
    throw new CordonError(
      'USAGE',
      `--expires is longer than the maximum lifetime of service-account tokens (${ws.config.tokens.maxLifetimeDays}d)`,
    );
  const minted = mintToken({ kind: service ? 'nhi' : 'pat', env: options.env ?? 'live' });
  const now = new Date();
  const row: TokenRow = {
    key_id: minted.keyId,
    identity,
    kind: service ? 'nhi' : 'pat',
    env: options.env ?? 'live',
    hash: minted.hash,
    last4: minted.last4,
    scopes: JSON.stringify(scopes),
    used_scopes: '[]',
    created_at: now.toISOString(),
    created_by: ws.identity.name,
    expires_at:
      options.expiresInMs === undefined
        ? null
        : new Date(now.getTime() + options.expiresInMs).toISOString(),
    revoked_at: null,
    revoked_by: null,
    revoke_reason: null,
    rotated_from: null,
    last_used_at: null,
    last_used_agent: null,
    last_used_interactive: 0,
  };
  await ws.meta.gov.addToken(row, event(ws, 'token.create', { ...tokenRecord(row), authz }));
  return { token: minted.token, row };
}

/**
 * Rotates a token: a successor with the same identity, scopes and lifetime, while the old one
 * stays valid for at most `overlapMs` (capped by the workspace setting) so callers can switch.
 */
export async function rotateToken(
  ws: Workspace,
  keyId: string,
  overlapMs: number,
): Promise<CreatedToken & { oldExpiresAt: string }> {
  const old = await ws.meta.gov.getToken(keyId);
  if (!old) throw new CordonError('USAGE', `no token with key id ${keyId}`);
  const authz = await authorize(ws, 'manageTokens', { type: 'Identity', name: old.identity });
  if (old.revoked_at !== null)
    throw new CordonError('USAGE', `token ${keyId} is revoked; create a new one`);
  const successor = (await ws.meta.gov.listTokens(old.identity)).find(
    (t) => t.rotated_from === keyId,
  );
  if (successor)
    throw new CordonError(
      'USAGE',
      `token ${keyId} was already rotated (its successor is ${successor.key_id}); rotate that one`,
    );
  // A successor would carry a quarantined token's identity and scopes on without the approval
  // that lifting the quarantine needs, and keep the old one alive during the overlap.
  const quarantine = (
    await ws.meta.gov.listQuarantines({ kind: 'token', target: keyId, active: true })
  )[0];
  if (quarantine) {
    const reason = `token ${keyId} is quarantined (${quarantine.reason}); it cannot be rotated until someone lifts the quarantine`;
    await ws.meta.appendEvent({
      time: new Date().toISOString(),
      actor: ws.identity.name,
      kind: 'quarantine.blocked',
      dataset: null,
      snapshot_id: null,
      detail: JSON.stringify({ operation: 'token.rotate', quarantine: quarantine.id, reason }),
    });
    throw new CordonError('QUARANTINED', reason);
  }
  const maxOverlap = ws.config.tokens.maxOverlapHours * 3_600_000;
  if (overlapMs > maxOverlap)
    throw new CordonError(
      'USAGE',
      `--overlap is longer than the maximum (${ws.config.tokens.maxOverlapHours}h)`,
    );
  const now = Date.now();
  const lifetime =
    old.expires_at === null ? null : Date.parse(old.expires_at) - Date.parse(old.created_at);
  const minted = mintToken({ kind: old.kind as 'nhi' | 'pat', env: old.env as TokenEnv });
  const row: TokenRow = {
    ...old,
    key_id: minted.keyId,
    hash: minted.hash,
    last4: minted.last4,
    used_scopes: '[]',
    created_at: new Date(now).toISOString(),
    created_by: ws.identity.name,
    expires_at: lifetime === null ? null : new Date(now + lifetime).toISOString(),
    rotated_from: old.key_id,
    last_used_at: null,
    last_used_agent: null,
    last_used_interactive: 0,
  };
  const overlapEnd = now + overlapMs;
  const oldExpiresAt = new Date(
    old.expires_at === null ? overlapEnd : Math.min(Date.parse(old.expires_at), overlapEnd),
  ).toISOString();
  await ws.meta.gov.addToken(
    row,
    event(ws, 'token.rotate', { ...tokenRecord(row), replaces: keyId, oldExpiresAt, authz }),
    { keyId, expiresAt: oldExpiresAt },
  );
  return { token: minted.token, row, oldExpiresAt };
}

/** Revokes a token; the next request that presents it is refused. */
export async function revokeToken(ws: Workspace, keyId: string, reason: string): Promise<TokenRow> {
  const row = await ws.meta.gov.getToken(keyId);
  if (!row) throw new CordonError('USAGE', `no token with key id ${keyId}`);
  const authz = await authorize(ws, 'manageTokens', { type: 'Identity', name: row.identity });
  if (row.revoked_at !== null) return row;
  const time = new Date().toISOString();
  await ws.meta.gov.revokeToken(
    keyId,
    ws.identity.name,
    reason,
    time,
    event(ws, 'token.revoke', { token: keyId, identity: row.identity, reason, authz }),
  );
  return { ...row, revoked_at: time, revoked_by: ws.identity.name, revoke_reason: reason };
}
