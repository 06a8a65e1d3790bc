import { z } from 'zod';
import { ISSUE_KINDS } from '../core/scan/report.js';
import {
  issueSearchText,
  triggerRowSet,
  type IndexedReport,
  type IssueRowFacts,
} from './scan-report-cache.js';

/**
 * The console's views of a stored scan report (docs/SCAN.md, cordon.scan/v1): aggregates for the
 * report page, and filtered pages of its issues. The report is what a detector wrote, typed
 * loosely (`detail` objects), so every field read here from a detail is checked and becomes null
 * when absent. Secret and PII values are passed on exactly as stored: masked.
 */

/** Bins of each kind's score histogram, over [0, 1] (scores are in [0, 1] by contract). */
export const HISTOGRAM_BINS = 20;
/** Longest lists the overview sends; the rest are counted (`…Total`). */
export const OVERVIEW_MAX_TRIGGERS = 200;
export const OVERVIEW_MAX_SOURCES = 200;
export const OVERVIEW_MAX_LABELS = 100;
/** How a row without a source is named in filters and tables (as drift/class-balance does). */
export const NO_SOURCE = '(none)';

const num = z.number().nullable();
const named = <T extends z.ZodType>(id: string, schema: T): T => schema.meta({ id });

const Comparison = z
  .object({
    method: z.string().nullable(),
    statistic: num.describe('χ² statistic (null for Fisher or no test)'),
    df: num,
    p: num,
    pAdjusted: num,
    psi: num,
    jsDistance: num,
    severity: z.string().nullable().describe('ok, warn or fail'),
    drift: z.boolean(),
    appeared: z.array(z.string()),
    vanished: z.array(z.string()),
  })
  .describe('A label distribution against a reference: test, effect sizes, verdict');

export const ScanOverview = named(
  'ScanOverview',
  z.object({
    snapshot: z.object({ id: z.string(), ref: z.string() }),
    scan: z.object({
      id: z.string().describe('Scan id: SHA-256 of the signed statement'),
      actor: z.string(),
      createdAt: z.string(),
      reportDigest: z.string(),
      reportBytes: z.number().int(),
      envelopeDigest: z.string(),
    }),
    statement: z
      .object({
        predicateType: z.string().nullable(),
        subject: z.string().nullable().describe('dataset@version the statement names'),
        keyIds: z.array(z.string()).describe('Keys that signed the envelope (as it says)'),
        verifiedBy: z.array(z.string()).describe('Identities whose key verified a signature'),
        bindsReport: z
          .boolean()
          .describe("The statement is this scan's and names this report and the snapshot's root"),
        error: z.string().nullable().describe('Why the envelope did not verify, when it did not'),
      })
      .describe('The signed in-toto statement of the scan, checked on this request'),
    rows: z.number().int(),
    flaggedRows: z.number().int(),
    inputs: z.object({ labelled: num, text: num, features: num }),
    kinds: z
      .array(
        z.object({
          kind: z.string(),
          rows: z.number().int().describe('Distinct flagged rows'),
          issues: z.number().int().describe('Issue entries (one per detector and row)'),
          rate: z.number(),
          histogram: z.array(z.number().int()).describe(`${HISTOGRAM_BINS} bins over [0, 1]`),
          minScore: num,
          maxScore: num,
        }),
      )
      .describe('Every issue kind, in the report order, flagged or not'),
    labels: z.array(z.object({ label: z.string().nullable(), rows: z.number().int() })),
    labelsTotal: z.number().int(),
    classBalance: z
      .object({
        skipped: z.string().nullable(),
        labels: z.array(
          z.object({
            label: z.string(),
            rows: z.number(),
            share: z.number(),
            baselineRows: num,
            baselineShare: num,
            relativeChange: num,
          }),
        ),
        imbalance: z
          .object({
            imbalanced: z.boolean(),
            ratio: num,
            rarest: z.string().nullable(),
            commonest: z.string().nullable(),
          })
          .nullable(),
        baseline: Comparison.nullable(),
        drift: z.boolean(),
        severity: z.string().nullable(),
        sources: z.array(
          z.object({
            source: z.string(),
            rows: z.number(),
            vsRest: Comparison.nullable(),
            vsBaseline: Comparison.nullable(),
          }),
        ),
        sourcesTotal: z.number().int(),
        driftedSources: z.array(z.string()),
        unusualSources: z.array(z.string()),
        vanishedSources: z.array(z.string()),
      })
      .nullable()
      .describe('drift/class-balance, when the scan ran it'),
    triggers: z.array(
      z.object({
        index: z.number().int().describe('Position in the report: the trigger filter takes it'),
        pattern: z.string(),
        label: z.string(),
        score: z.number(),
        detector: z.string().nullable(),
        rows: z.number().int().describe('Rows that carry it'),
        support: num,
        purity: num,
        chi2: num,
        disagreement: num,
        baselineDisagreement: num,
        pValue: num,
        contentAgreesRows: num,
        poisonRate: num,
      }),
    ),
    triggersTotal: z.number().int(),
    sources: z.array(
      z.object({
        source: z.string(),
        suspicious: z.boolean(),
        score: z.number(),
        rows: num,
        suspiciousKinds: z.array(z.string()),
        kinds: z.array(
          z.object({
            kind: z.string(),
            flagged: num,
            rate: num,
            restRate: num,
            ratio: num,
            pAdjusted: num,
            suspicious: z.boolean(),
          }),
        ),
        note: z.string().nullable(),
      }),
    ),
    sourcesTotal: z.number().int(),
    detectors: z.array(
      z.object({
        id: z.string(),
        kinds: z.array(z.string()),
        skipped: z.string().nullable(),
        flagged: num,
        seconds: num,
        rowsPerSecond: num,
      }),
    ),
    totalSeconds: num,
  }),
);

export type ScanOverviewView = z.input<typeof ScanOverview>;

export const FindingsQuery = z.object({
  kind: z.enum(ISSUE_KINDS as [string, ...string[]]).optional(),
  source: z.string().min(1).optional().describe(`A source name; "${NO_SOURCE}" for rows without`),
  label: z.string().min(1).optional(),
  minScore: z.coerce.number().min(0).max(1).optional(),
  trigger: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .describe('Only rows that carry this trigger (its index in the overview)'),
  q: z.string().trim().max(200).optional().describe('Text in the row id or the detail'),
  sort: z.enum(['score', 'row']).default('score').describe('score (highest first) or row id'),
  offset: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
export type FindingsQueryValue = z.output<typeof FindingsQuery>;

export const ScanFinding = named(
  'ScanFinding',
  z.object({
    index: z.number().int().describe("Position in the report's issues"),
    kind: z.string(),
    row: z.string(),
    score: z.number(),
    detector: z.string().nullable(),
    label: z.string().nullable().describe("The row's label in the snapshot"),
    source: z.string().nullable().describe("The row's source in the snapshot"),
    detail: z.record(z.string(), z.unknown()).describe('As stored: secrets and PII masked'),
  }),
);

export const ScanFindingsPage = named(
  'ScanFindingsPage',
  z.object({
    total: z.number().int().describe('Issues matching the filters'),
    offset: z.number().int(),
    limit: z.number().int(),
    next: z.number().int().nullable(),
    findings: z.array(ScanFinding),
  }),
);
export type ScanFindingsPageView = z.input<typeof ScanFindingsPage>;

export const TriggerRowsQuery = z.object({
  offset: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
});

export const ScanTriggerRows = named(
  'ScanTriggerRows',
  z.object({
    index: z.number().int(),
    pattern: z.string(),
    label: z.string(),
    total: z.number().int(),
    offset: z.number().int(),
    limit: z.number().int(),
    next: z.number().int().nullable(),
    rows: z.array(z.string()).describe('Row ids, as the report lists them'),
  }),
);
export type ScanTriggerRowsView = z.input<typeof ScanTriggerRows>;

// ---------------------------------------------------------------------------------------------
// reading loosely typed report fields
// ---------------------------------------------------------------------------------------------

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : null;
/** A finite number or null (JSON has no NaN; a detector's missing field reads as null). */
const n = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const s = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];

function comparison(v: unknown): z.input<typeof Comparison> | null {
  const c = obj(v);
  if (!c) return null;
  const test = obj(c['test']);
  return {
    method: s(test?.['method']),
    statistic: n(test?.['statistic']),
    df: n(test?.['df']),
    p: n(test?.['p']),
    pAdjusted: n(c['pAdjusted']),
    psi: n(c['psi']),
    jsDistance: n(c['jsDistance']),
    severity: s(c['severity']),
    drift: c['drift'] === true,
    appeared: strings(c['appeared']),
    vanished: strings(c['vanished']),
  };
}

function classBalance(indexed: IndexedReport): ScanOverviewView['classBalance'] {
  const r = indexed.report;
  const ran = r.summary.detectors.find((d) => d.id === 'drift/class-balance');
  const stored = obj(r.summary.dataset?.['drift/class-balance']);
  if (!ran && !stored) return null;
  const skipped = ran?.skipped ?? s(stored?.['skipped']);
  const summary = obj(ran?.summary) ?? stored ?? {};
  const counts = obj(summary['counts']) ?? {};
  const base = obj(summary['baseline']);
  // The baseline comparison holds both distributions over the union of labels.
  const baseLabels = strings(base?.['labels']);
  const baseRef = Array.isArray(base?.['reference']) ? (base['reference'] as unknown[]) : [];
  const baseShare = Array.isArray(base?.['referenceShare'])
    ? (base['referenceShare'] as unknown[])
    : [];
  const change = obj(base?.['relativeChange']) ?? {};
  const labelled = n(summary['labelledRows']) ?? 0;
  const names = new Set([...Object.keys(counts), ...baseLabels]);
  const labels = [...names]
    .map((label) => {
      const j = baseLabels.indexOf(label);
      const rows = n(counts[label]) ?? 0;
      return {
        label,
        rows,
        share: labelled > 0 ? rows / labelled : 0,
        baselineRows: j >= 0 ? n(baseRef[j]) : null,
        baselineShare: j >= 0 ? n(baseShare[j]) : null,
        relativeChange: n(change[label]),
      };
    })
    .sort((a, b) => b.rows - a.rows || (b.baselineRows ?? 0) - (a.baselineRows ?? 0))
    .slice(0, OVERVIEW_MAX_LABELS);
  const imb = obj(summary['imbalance']);
  const sources = Array.isArray(summary['sources']) ? (summary['sources'] as unknown[]) : [];
  return {
    skipped: skipped ?? null,
    labels,
    imbalance: imb
      ? {
          imbalanced: imb['imbalanced'] === true,
          ratio: n(imb['ratio']),
          rarest: s(imb['rarest']),
          commonest: s(imb['commonest']),
        }
      : null,
    baseline: comparison(base),
    drift: summary['drift'] === true,
    severity: s(summary['severity']),
    sources: sources
      .map(obj)
      .filter((x): x is Obj => x !== null)
      // Sources that differ most first (from their baseline, else from the rest).
      .map((x) => ({
        source: s(x['source']) ?? NO_SOURCE,
        rows: n(x['rows']) ?? 0,
        vsRest: comparison(x['vsRest']),
        vsBaseline: comparison(x['vsBaseline']),
      }))
      .sort(
        (a, b) =>
          (b.vsBaseline?.psi ?? b.vsRest?.psi ?? 0) - (a.vsBaseline?.psi ?? a.vsRest?.psi ?? 0) ||
          b.rows - a.rows,
      )
      .slice(0, OVERVIEW_MAX_SOURCES),
    sourcesTotal: sources.length,
    driftedSources: strings(summary['driftedSources']),
    unusualSources: strings(summary['unusualSources']),
    vanishedSources: strings(summary['vanishedSources']),
  };
}

/** Scores of one kind's issues in HISTOGRAM_BINS equal bins over [0, 1] (1 in the last). */
export function scoreHistogram(scores: Iterable<number>, bins = HISTOGRAM_BINS): number[] {
  const out = new Array<number>(bins).fill(0);
  for (const x of scores) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor((Number.isFinite(x) ? x : 0) * bins)));
    out[b]! += 1;
  }
  return out;
}

/** The report's aggregates; the scan's record and statement are added by the route. */
export function reportAggregates(
  indexed: IndexedReport,
): Omit<ScanOverviewView, 'snapshot' | 'scan' | 'statement'> {
  const cached = indexed.derived.get('aggregates');
  if (cached) return cached as Omit<ScanOverviewView, 'snapshot' | 'scan' | 'statement'>;
  const r = indexed.report;
  const issues = r.issues;
  const kindNames = [
    ...ISSUE_KINDS,
    ...[...indexed.byKind.keys()].filter((k) => !ISSUE_KINDS.includes(k as never)),
  ];
  const kinds = kindNames.map((kind) => {
    const list = indexed.byKind.get(kind) ?? new Int32Array(0);
    let min = Infinity;
    let max = -Infinity;
    const scores = Array.from(list, (i) => {
      const x = issues[i]!.score;
      if (x < min) min = x;
      if (x > max) max = x;
      return x;
    });
    const counts = r.summary.counts as Record<string, number | undefined>;
    const rates = r.summary.rates as Record<string, number | undefined>;
    return {
      kind,
      rows: counts[kind] ?? new Set(Array.from(list, (i) => issues[i]!.row)).size,
      issues: list.length,
      rate: rates[kind] ?? 0,
      histogram: scoreHistogram(scores),
      minScore: list.length ? min : null,
      maxScore: list.length ? max : null,
    };
  });
  const triggers = r.triggers.slice(0, OVERVIEW_MAX_TRIGGERS).map((t, index) => {
    const d = obj(t.detail) ?? {};
    return {
      index,
      pattern: t.pattern,
      label: t.label,
      score: n(t.score) ?? 0,
      detector: s(d['detector']),
      rows: Array.isArray(t.rows) ? t.rows.length : 0,
      support: n(d['support']),
      purity: n(d['purity']),
      chi2: n(d['chi2']),
      disagreement: n(d['disagreement']),
      baselineDisagreement: n(d['baselineDisagreement']) ?? n(d['baselineError']),
      pValue: n(d['pValue']),
      contentAgreesRows: n(d['contentAgreesRows']),
      poisonRate: n(d['poisonRate']),
    };
  });
  // The report lists sources suspicious first, then by score: the head is what matters.
  const sources = r.sources.slice(0, OVERVIEW_MAX_SOURCES).map((src) => {
    const d = obj(src.detail) ?? {};
    const perKind = obj(d['kinds']) ?? {};
    return {
      source: src.source,
      suspicious: src.suspicious,
      score: n(src.score) ?? 0,
      rows: n(d['rows']),
      suspiciousKinds: strings(d['suspiciousKinds']),
      kinds: Object.entries(perKind).map(([kind, v]) => {
        const k = obj(v) ?? {};
        return {
          kind,
          flagged: n(k['flagged']),
          rate: n(k['rate']),
          restRate: n(k['restRate']),
          ratio: n(k['ratio']),
          pAdjusted: n(k['pAdjusted']),
          suspicious: k['suspicious'] === true,
        };
      }),
      note: s(d['note']),
    };
  });
  const labels = r.summary.labels ?? [];
  const result = {
    rows: r.rows,
    flaggedRows: r.summary.flaggedRows,
    inputs: {
      labelled: n(r.summary.inputs?.labelled),
      text: n(r.summary.inputs?.text),
      features: n(r.summary.inputs?.features),
    },
    kinds,
    labels: labels.slice(0, OVERVIEW_MAX_LABELS),
    labelsTotal: labels.length,
    classBalance: classBalance(indexed),
    triggers,
    triggersTotal: r.triggers.length,
    sources,
    sourcesTotal: r.sources.length,
    detectors: r.summary.detectors.map((d) => ({
      id: d.id,
      kinds: d.kinds,
      skipped: d.skipped ?? null,
      flagged: n(d.flagged),
      seconds: n(d.seconds),
      rowsPerSecond: n(d.rowsPerSecond),
    })),
    totalSeconds: n(r.summary.timings?.totalSeconds),
  };
  indexed.derived.set('aggregates', result);
  return result;
}

/**
 * One page of the issues matching `q`, with the filtered total. One pass over a precomputed
 * order (the kind's list when a kind is given): no sorting per request.
 */
export function findingsPage(
  indexed: IndexedReport,
  facts: IssueRowFacts,
  q: FindingsQueryValue,
): ScanFindingsPageView {
  const issues = indexed.report.issues;
  let order: Int32Array = q.kind
    ? (indexed.byKind.get(q.kind) ?? new Int32Array(0))
    : indexed.byScore;
  if (q.sort === 'row') {
    // Sorted once per report and kind, like the score orders.
    const key = `row:${q.kind ?? ''}`;
    const sorted = indexed.derived.get(key) as Int32Array | undefined;
    order =
      sorted ??
      Int32Array.from(order).sort((a, b) => {
        const x = issues[a]!.row;
        const y = issues[b]!.row;
        return x < y ? -1 : x > y ? 1 : a - b;
      });
    indexed.derived.set(key, order);
  }
  const carriers = q.trigger !== undefined ? triggerRowSet(indexed, q.trigger) : null;
  const needle = q.q ? q.q.toLowerCase() : '';
  const text = needle ? issueSearchText(indexed) : null;
  const wantSource = q.source === NO_SOURCE ? null : q.source;
  const page: number[] = [];
  let total = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    const issue = issues[i]!;
    if (q.minScore !== undefined && !(issue.score >= q.minScore)) continue;
    if (q.source !== undefined && facts.source[i] !== wantSource) continue;
    if (q.label !== undefined && facts.label[i] !== q.label) continue;
    if (carriers && !carriers.has(issue.row)) continue;
    if (text && !text[i]!.includes(needle)) continue;
    if (total >= q.offset && page.length < q.limit) page.push(i);
    total++;
  }
  const end = q.offset + page.length;
  return {
    total,
    offset: q.offset,
    limit: q.limit,
    next: end < total ? end : null,
    findings: page.map((i) => {
      const issue = issues[i]!;
      return {
        index: i,
        kind: issue.kind,
        row: issue.row,
        score: issue.score,
        detector: s(issue.detail?.['detector']),
        label: facts.label[i] ?? null,
        source: facts.source[i] ?? null,
        detail: issue.detail ?? {},
      };
    }),
  };
}

/** One page of the ids of the rows that carry trigger `index` (null when there is none). */
export function triggerRowsPage(
  indexed: IndexedReport,
  index: number,
  offset: number,
  limit: number,
): ScanTriggerRowsView | null {
  const t = indexed.report.triggers[index];
  if (!t) return null;
  const rows = t.rows.slice(offset, offset + limit);
  const end = offset + rows.length;
  return {
    index,
    pattern: t.pattern,
    label: t.label,
    total: t.rows.length,
    offset,
    limit,
    next: end < t.rows.length ? end : null,
    rows,
  };
}
