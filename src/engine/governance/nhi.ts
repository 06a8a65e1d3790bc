import { CordonError } from '../../core/errors.js';
import {
  nhiReport,
  type IdentityFacts,
  type NhiFinding,
  type TokenFacts,
} from '../../core/nhi-report.js';
import type { Workspace } from '../workspace.js';

export interface NhiView {
  findings: NhiFinding[];
  identities: number;
  tokens: number;
}

/** A stale-token window must be a positive number of days. */
export function assertUnusedDays(unusedDays: number): void {
  if (!Number.isFinite(unusedDays) || unusedDays <= 0)
    throw new CordonError('USAGE', '--unused-days must be a positive number');
}

/** The NHI hygiene report over the workspace's identities and tokens (facts read from the store). */
export async function workspaceNhiReport(ws: Workspace, unusedDays: number): Promise<NhiView> {
  assertUnusedDays(unusedDays);
  const identities: IdentityFacts[] = (await ws.meta.listIdentities()).map((i) => ({
    name: i.name,
    kind: i.kind === 'service' ? 'service' : 'human',
    disabled: i.disabled_at !== null,
    owners: JSON.parse(i.owners) as string[],
  }));
  const tokens: TokenFacts[] = (await ws.meta.gov.listTokens()).map((t) => ({
    keyId: t.key_id,
    identity: t.identity,
    kind: t.kind === 'nhi' ? 'nhi' : 'pat',
    env: t.env === 'test' ? 'test' : 'live',
    scopes: JSON.parse(t.scopes) as string[],
    usedScopes: JSON.parse(t.used_scopes) as string[],
    createdAt: t.created_at,
    expiresAt: t.expires_at,
    revokedAt: t.revoked_at,
    lastUsedAt: t.last_used_at,
    lastUsedInteractive: t.last_used_interactive === 1,
  }));
  const findings = nhiReport(identities, tokens, {
    now: new Date().toISOString(),
    maxLifetimeDays: ws.config.tokens.maxLifetimeDays,
    unusedDays,
  });
  return { findings, identities: identities.length, tokens: tokens.length };
}
