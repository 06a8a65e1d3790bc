/**
 * The Audit page's search, kept in the URL (#/audit?kind=snapshot.&actor=bob…) so a search can be
 * reloaded and shared, and turned into the query of GET /v1/audit/events. Pure, for unit tests.
 */

export interface AuditFilters {
  /** An event kind, or a prefix ending in "." (snapshot.). */
  kind: string;
  actor: string;
  dataset: string;
  /** As the datetime-local fields hold them: local time, no zone (2025-01-31T09:30). */
  from: string;
  to: string;
  /** Text in the detail JSON. */
  q: string;
  order: 'asc' | 'desc';
  offset: number;
}

export const PAGE_SIZE = 50;

export function filtersFromQuery(query: URLSearchParams): AuditFilters {
  const offset = Number(query.get('offset') ?? 0);
  return {
    kind: query.get('kind') ?? '',
    actor: query.get('actor') ?? '',
    dataset: query.get('dataset') ?? '',
    from: query.get('from') ?? '',
    to: query.get('to') ?? '',
    q: query.get('q') ?? '',
    // Newest first unless asked otherwise: what happened last is what one looks for.
    order: query.get('order') === 'asc' ? 'asc' : 'desc',
    offset: Number.isSafeInteger(offset) && offset > 0 ? offset : 0,
  };
}

/** A datetime-local value (in the viewer's zone) as RFC 3339 UTC; '' or invalid: undefined. */
export function localToIso(value: string): string | undefined {
  if (!value.trim()) return undefined;
  const t = new Date(value);
  return Number.isNaN(t.getTime()) ? undefined : t.toISOString();
}

/** The query string of GET /v1/audit/events for these filters (empty ones left out). */
export function apiQuery(
  f: AuditFilters,
  limit = PAGE_SIZE,
): Record<string, string | number | undefined> {
  const trim = (s: string) => s.trim() || undefined;
  return {
    kind: trim(f.kind),
    actor: trim(f.actor),
    dataset: trim(f.dataset),
    from: localToIso(f.from),
    to: localToIso(f.to),
    q: f.q.trim() ? f.q : undefined,
    order: f.order,
    offset: f.offset || undefined,
    limit,
  };
}

/** Kinds that record something refused or failed: marked in the table. */
const DENIALS = new Set(['authz.deny', 'auth.failed', 'quarantine.blocked', 'approval.rejected']);

export function isDenial(kind: string): boolean {
  return DENIALS.has(kind) || kind.endsWith('.deny') || kind.endsWith('.denied');
}

/** An event's detail on one line, cut to `max` characters. */
export function shortDetail(detail: unknown, max = 90): string {
  if (detail === null || detail === undefined) return '';
  let text = typeof detail === 'string' ? detail : JSON.stringify(detail);
  if (text === '{}' || text === '[]') return '';
  text = text.replace(/\s+/g, ' ');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
