import type { Token } from '../api/types.js';

/** What the Identities page says about tokens and findings. Pure, for tests. */

export type TokenStatus = 'revoked' | 'expired' | 'active';

export function tokenStatus(
  t: Pick<Token, 'revokedAt' | 'expiresAt'>,
  now: number = Date.now(),
): TokenStatus {
  if (t.revokedAt) return 'revoked';
  if (t.expiresAt && Date.parse(t.expiresAt) <= now) return 'expired';
  return 'active';
}

/**
 * A token as it may be shown in a list: its public prefix (kind, environment, key id) and the
 * last four characters of its secret. Anything else is cut, even if the server sent more.
 */
export function maskedToken(display: string): string {
  const m = /^(cordon_(?:nhi|pat)_(?:live|test)_[A-Za-z0-9]+)_…?([A-Za-z0-9]{4})$/.exec(display);
  return m ? `${m[1]}_…${m[2]}` : '…';
}

export const SEVERITY_TONE: Record<string, string> = {
  high: 'bad',
  medium: 'warn',
  low: 'neutral',
};

/** Findings, worst first, then by identity. */
export function sortFindings<T extends { severity: string; subject: { identity: string } }>(
  findings: readonly T[],
): T[] {
  const rank = (s: string) => (s === 'high' ? 0 : s === 'medium' ? 1 : 2);
  return [...findings].sort(
    (a, b) =>
      rank(a.severity) - rank(b.severity) || a.subject.identity.localeCompare(b.subject.identity),
  );
}

/** Owners typed as "carol, dave" → ['carol', 'dave']. */
export function parseOwners(text: string): string[] {
  return [
    ...new Set(
      text
        .split(/[\s,]+/)
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
}
