import { useCallback, useEffect, useState } from 'react';
import { api, type RequestOptions } from './client.js';

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/**
 * GETs `path` (with `query`) whenever either changes, cancelling the request it replaces. A null
 * path loads nothing (for a page still waiting on what to ask for).
 */
export function useApi<T>(path: string | null, query?: RequestOptions['query']): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({
    loading: path !== null,
  });
  const [nonce, setNonce] = useState(0);
  const key = path === null ? null : `${path}?${JSON.stringify(query ?? {})}`;
  useEffect(() => {
    if (path === null) return;
    const ctl = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    api<T>(path, { ...(query ? { query } : {}), signal: ctl.signal }).then(
      (data) => setState({ data, loading: false }),
      (error: unknown) => {
        if (!ctl.signal.aborted) setState({ error, loading: false });
      },
    );
    return () => ctl.abort();
    // `key` stands for path and query.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, nonce]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

export interface PermissionCheck {
  action: string;
  dataset?: string;
  snapshot?: string;
  source?: string;
  identity?: string;
}

interface Decision {
  action: string;
  allowed: boolean;
  reason: string;
}

/**
 * Which actions the signed-in identity may take, asked of the server's Cedar policies
 * (POST /v1/permissions). Until the answer arrives everything counts as not allowed, so a button
 * never shows before it is known to be usable. The server still authorizes each action itself.
 */
export function usePermissions(checks: PermissionCheck[]): {
  can: (action: string) => boolean;
  why: (action: string) => string;
  refresh: () => void;
} {
  const key = JSON.stringify(checks);
  const [decisions, setDecisions] = useState<Decision[]>([]);
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    setDecisions([]);
    if (checks.length === 0) return;
    const ctl = new AbortController();
    api<{ decisions: Decision[] }>('/v1/permissions', {
      method: 'POST',
      body: { checks },
      signal: ctl.signal,
    }).then(
      (r) => setDecisions(r.decisions),
      () => {
        if (!ctl.signal.aborted) setDecisions([]);
      },
    );
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, nonce]);
  return {
    can: (action) => decisions.some((d) => d.action === action && d.allowed),
    why: (action) => decisions.find((d) => d.action === action)?.reason ?? '',
    refresh: () => setNonce((n) => n + 1),
  };
}
