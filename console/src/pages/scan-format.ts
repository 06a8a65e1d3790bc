/**
 * Pure helpers of the scan report page: the findings filters as kept in the hash, the API query
 * they become, one-line evidence of a finding, histogram bin names. No DOM, so unit-tested.
 */

export const ISSUE_KINDS = [
  'label',
  'exact_duplicate',
  'near_duplicate',
  'conflicting_label',
  'outlier',
  'trigger',
  'secret',
  'pii',
] as const;

/** Findings per page in the table. */
export const FINDINGS_PAGE = 50;

export interface FindingsFilters {
  kind?: string;
  source?: string;
  label?: string;
  minScore?: number;
  q?: string;
  trigger?: number;
  offset: number;
}

const text = (v: string | null): string | undefined => {
  const t = v?.trim();
  return t ? t : undefined;
};

/** The findings filters from the page's hash query; malformed values are dropped. */
export function parseFindingsFilters(query: URLSearchParams): FindingsFilters {
  const f: FindingsFilters = { offset: 0 };
  const kind = text(query.get('kind'));
  if (kind && (ISSUE_KINDS as readonly string[]).includes(kind)) f.kind = kind;
  const source = text(query.get('source'));
  if (source) f.source = source;
  const label = text(query.get('label'));
  if (label) f.label = label;
  const q = text(query.get('q'));
  if (q) f.q = q.slice(0, 200);
  const min = Number(query.get('min') ?? '');
  if (query.get('min') && Number.isFinite(min) && min >= 0 && min <= 1) f.minScore = min;
  const trigger = Number(query.get('trigger') ?? '');
  if (query.get('trigger') && Number.isInteger(trigger) && trigger >= 0) f.trigger = trigger;
  const offset = Number(query.get('offset') ?? '0');
  if (Number.isInteger(offset) && offset > 0) f.offset = offset;
  return f;
}

/** Hash parameters for `setQuery`: every filter, undefined clearing one. */
export function filtersToHash(
  f: Omit<FindingsFilters, 'offset'> & { offset?: number },
): Record<string, string | number | undefined> {
  return {
    kind: f.kind,
    source: f.source,
    label: f.label,
    min: f.minScore,
    q: f.q,
    trigger: f.trigger,
    offset: f.offset ? f.offset : undefined,
  };
}

/** The findings endpoint's query for these filters. */
export function findingsApiQuery(
  f: FindingsFilters,
  limit = FINDINGS_PAGE,
): Record<string, string | number | undefined> {
  return {
    kind: f.kind,
    source: f.source,
    label: f.label,
    minScore: f.minScore,
    q: f.q,
    trigger: f.trigger,
    offset: f.offset,
    limit,
  };
}

const str = (v: unknown): string | null =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null;

/**
 * One line of evidence for a finding, from its detail as stored (secret and PII values are
 * masked there already; nothing here could unmask them).
 */
export function evidenceText(kind: string, detail: Record<string, unknown>): string {
  const d = detail;
  switch (kind) {
    case 'secret': {
      const count =
        typeof d['count'] === 'number' && d['count'] > 1 ? ` (${d['count']} found)` : '';
      return `${str(d['rule']) ?? 'secret'}: ${str(d['masked']) ?? '(masked)'}${count}`;
    }
    case 'pii':
      return `${str(d['type']) ?? 'PII'}: ${str(d['masked']) ?? '(masked)'}`;
    case 'trigger': {
      const agrees = d['contentAgrees'] === true ? ' (content agrees with the label)' : '';
      return `carries "${str(d['pattern']) ?? '?'}" → ${str(d['label']) ?? '?'}${agrees}`;
    }
    case 'label':
      if (d['givenLabel'] !== undefined)
        return `labelled ${str(d['givenLabel'])}, looks like ${str(d['suggestedLabel'])}`;
      if (d['neighbourLabel'] !== undefined)
        return `labelled ${str(d['label'])}, neighbours say ${str(d['neighbourLabel'])}`;
      break;
    case 'exact_duplicate':
    case 'conflicting_label':
      if (d['groupSize'] !== undefined)
        return `group of ${str(d['groupSize'])}, first ${str(d['firstRow']) ?? '?'}`;
      break;
    case 'outlier': {
      // One entry per space the row stood out in (text shape, feature vector).
      const spaces = Object.entries(d)
        .map(([space, v]) => [space, v] as const)
        .filter(
          (e): e is readonly [string, Record<string, unknown>] =>
            e[1] !== null && typeof e[1] === 'object' && 'meanKnnDistance' in e[1],
        )
        .map(
          ([space, v]) =>
            `${space}: mean neighbour distance ${str(v['meanKnnDistance'])} (fence ${str(v['fence'])})`,
        );
      if (spaces.length > 0) return spaces.join('; ');
      break;
    }
    case 'near_duplicate':
      if (d['representative'] !== undefined)
        return `like ${str(d['representative'])}${d['jaccard'] !== undefined ? ` (Jaccard ${str(d['jaccard'])})` : ''}${d['clusterSize'] !== undefined ? `, cluster of ${str(d['clusterSize'])}` : ''}`;
      break;
  }
  // Anything else: its scalar fields, briefly.
  return Object.entries(d)
    .filter(
      ([k, v]) =>
        k !== 'detector' &&
        (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'),
    )
    .slice(0, 4)
    .map(([k, v]) => `${k} ${String(v)}`)
    .join(', ');
}

/** Names of `bins` equal score bins over [0, 1]: "0.00–0.05", … */
export function binNames(bins: number): string[] {
  return Array.from(
    { length: bins },
    (_, i) => `${(i / bins).toFixed(2)}–${((i + 1) / bins).toFixed(2)}`,
  );
}

/** A p-value or small statistic, readably. */
export function fmtP(p: number | null | undefined): string {
  if (p == null) return '–';
  if (p === 0) return '< 1e-300';
  return p < 0.001 ? p.toExponential(1) : p.toFixed(3);
}

export function fmtNum(x: number | null | undefined, digits = 3): string {
  return x == null ? '–' : Number(x.toFixed(digits)).toLocaleString();
}

/** Kind ids as words. */
export function kindName(kind: string): string {
  return kind.replace(/_/g, ' ');
}
