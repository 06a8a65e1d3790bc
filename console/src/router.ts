import { useEffect, useState } from 'react';

/**
 * Hash routing: `#/snapshots/mail@2?tab=diff`. The server serves one page at `/`, so every view
 * is a fragment and a reload or a shared link lands on the same view.
 */
export interface Route {
  /** Path segments, decoded: `#/snapshots/mail%402` → ['snapshots', 'mail@2']. */
  parts: string[];
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, '');
  const [path = '', qs = ''] = raw.split('?', 2);
  const parts = path
    .split('/')
    .filter((p) => p !== '')
    .map((p) => decodeURIComponent(p));
  return { parts, query: new URLSearchParams(qs) };
}

/** Builds a link: href('snapshots', 'mail@2', { tab: 'diff' }) → '#/snapshots/mail%402?tab=diff'. */
export function href(...args: (string | Record<string, string | number | undefined>)[]): string {
  const parts: string[] = [];
  const params = new URLSearchParams();
  for (const a of args) {
    if (typeof a === 'string') parts.push(encodeURIComponent(a));
    else
      for (const [k, v] of Object.entries(a))
        if (v !== undefined && v !== '') params.set(k, String(v));
  }
  const qs = params.toString();
  return `#/${parts.join('/')}${qs ? `?${qs}` : ''}`;
}

export function navigate(to: string): void {
  window.location.hash = to.replace(/^#/, '');
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(window.location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

/** Replaces one query parameter of the current view (filters, paging) without a new history entry. */
export function setQuery(changes: Record<string, string | number | undefined>): void {
  const { parts, query } = parseHash(window.location.hash);
  for (const [k, v] of Object.entries(changes))
    if (v === undefined || v === '') query.delete(k);
    else query.set(k, String(v));
  const qs = query.toString();
  const next = `#/${parts.map(encodeURIComponent).join('/')}${qs ? `?${qs}` : ''}`;
  window.history.replaceState(null, '', next);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}
