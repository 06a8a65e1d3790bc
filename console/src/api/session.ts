/**
 * The signed-in user's API token. It is kept in sessionStorage: it lives as long as the tab, is
 * not shared with other tabs, and is never sent anywhere but this origin's /v1 in an Authorization
 * header (no cookies, so no cross-site request can use it).
 */
const KEY = 'cordon.token';

export function getToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function setToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function clearToken(): void {
  sessionStorage.removeItem(KEY);
}

/** The token as it may be shown: its public prefix and key id, never the secret. */
export function maskToken(token: string): string {
  const parts = token.split('_');
  return parts.length >= 5 ? `${parts.slice(0, 4).join('_')}_…` : '…';
}
