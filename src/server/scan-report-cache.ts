import { createHash } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { VerifyError } from '../core/errors.js';
import { ISSUE_KINDS, type ScanReport } from '../core/scan/report.js';

/**
 * Parsed scan reports for the console's scan views, kept in a small LRU keyed by the report's
 * digest. A stored report never changes under its digest, so an entry never goes stale; it is
 * only evicted. Callers authorize (read on the snapshot) before asking: the cache is below
 * authorization, never a way around it. Parsing a report of tens of thousands of issues takes
 * a good part of a second, so doing it once and indexing the issues makes each page request a
 * linear filter over integer indices.
 */

/** Reports kept parsed. A large report holds tens of MB once parsed, so few. */
export const SCAN_REPORT_CACHE_SIZE = 4;
/**
 * Stored bytes of the reports kept (parsed, they take a few times this): a 1M-row scan with
 * hundreds of thousands of findings is a few hundred MB of JSON, so one such report may evict
 * the others. The newest report is always kept, whatever its size.
 */
export const SCAN_REPORT_CACHE_BYTES = 256 * 1024 * 1024;
/** Manifests' row facts kept per report (a report belongs to one snapshot; two is slack). */
const FACTS_PER_REPORT = 2;

/** Labels and sources of the issues' rows, aligned with `report.issues`. */
export interface IssueRowFacts {
  label: (string | null)[];
  source: (string | null)[];
}

export interface IndexedReport {
  digest: string;
  /** Size of the stored report, bytes. */
  bytes: number;
  report: ScanReport;
  /** Issue indices per kind in the report's order (score descending, then row). */
  byKind: ReadonlyMap<string, Int32Array>;
  /** Every issue index, score descending, then kind (report order), then row. */
  byScore: Int32Array;
  /** Lazily built: the rows of trigger i as a set. */
  triggerRows: (ReadonlySet<string> | undefined)[];
  /** Lazily built: each issue's lower-cased search text (row id and detail). */
  searchText: string[] | undefined;
  /** Row facts per manifest digest (lazily; the manifest is read only for findings). */
  facts: Map<string, Promise<IssueRowFacts>>;
  /** Room for derived views computed once (the overview). */
  derived: Map<string, unknown>;
}

/** Builds the per-kind and by-score indices of a parsed report. */
export function indexReport(digest: string, bytes: number, report: ScanReport): IndexedReport {
  const issues = report.issues;
  const lists = new Map<string, number[]>();
  for (let i = 0; i < issues.length; i++) {
    const kind = issues[i]!.kind;
    let list = lists.get(kind);
    if (!list) lists.set(kind, (list = []));
    list.push(i);
  }
  const byKind = new Map<string, Int32Array>();
  // The report orders issues by kind, then score descending, then row: each kind's list is
  // already in page order. Sorted anyway, so a report written otherwise still pages correctly.
  const order = new Map<string, number>(ISSUE_KINDS.map((k, i) => [k, i]));
  const cmp = (a: number, b: number): number => {
    const x = issues[a]!;
    const y = issues[b]!;
    return (
      y.score - x.score ||
      (order.get(x.kind) ?? 99) - (order.get(y.kind) ?? 99) ||
      (x.row < y.row ? -1 : x.row > y.row ? 1 : 0)
    );
  };
  for (const [kind, list] of lists) byKind.set(kind, Int32Array.from(list).sort(cmp));
  const byScore = new Int32Array(issues.length);
  for (let i = 0; i < byScore.length; i++) byScore[i] = i;
  byScore.sort(cmp);
  return {
    digest,
    bytes,
    report,
    byKind,
    byScore,
    triggerRows: new Array<ReadonlySet<string> | undefined>(report.triggers.length),
    searchText: undefined,
    facts: new Map(),
    derived: new Map(),
  };
}

/** A small LRU of promises, so concurrent requests for one report share one parse. */
export class ScanReportCache {
  private readonly entries = new Map<string, Promise<IndexedReport>>();
  /** Stored sizes of the loaded entries (a parsed report takes a few times its bytes). */
  private readonly sizes = new Map<string, number>();
  constructor(
    readonly size = SCAN_REPORT_CACHE_SIZE,
    readonly maxBytes = SCAN_REPORT_CACHE_BYTES,
  ) {}

  /**
   * The indexed report stored under `digest`; `load` (which must check the bytes against the
   * digest) runs only on a miss.
   */
  get(digest: string, load: () => Promise<Buffer>): Promise<IndexedReport> {
    const hit = this.entries.get(digest);
    if (hit) {
      this.entries.delete(digest);
      this.entries.set(digest, hit);
      return hit;
    }
    const loading = load().then((bytes) => {
      const indexed = indexReport(
        digest,
        bytes.length,
        JSON.parse(bytes.toString('utf8')) as ScanReport,
      );
      if (this.entries.get(digest) === loading) {
        this.sizes.set(digest, bytes.length);
        this.evict(digest);
      }
      return indexed;
    });
    this.entries.set(digest, loading);
    // A failed load is not kept: the next request tries again.
    loading.catch(() => {
      if (this.entries.get(digest) === loading) this.remove(digest);
    });
    this.evict(digest);
    return loading;
  }

  /** Drops the least recently used entries beyond the count or the byte budget, never `keep`. */
  private evict(keep: string): void {
    let bytes = 0;
    for (const b of this.sizes.values()) bytes += b;
    for (const oldest of [...this.entries.keys()]) {
      if (this.entries.size <= this.size && bytes <= this.maxBytes) break;
      if (oldest === keep) continue;
      bytes -= this.sizes.get(oldest) ?? 0;
      this.remove(oldest);
    }
  }

  private remove(digest: string): void {
    this.entries.delete(digest);
    this.sizes.delete(digest);
  }

  has(digest: string): boolean {
    return this.entries.has(digest);
  }

  clear(): void {
    this.entries.clear();
    this.sizes.clear();
  }
}

/** The one cache of the process (reports are content-addressed, so workspaces can share it). */
export const scanReportCache = new ScanReportCache();

/**
 * Labels and sources of the issues' rows, from the snapshot's manifest (the report names rows by
 * id only). Read once per report and manifest; the manifest itself is not kept.
 */
export function issueRowFacts(
  indexed: IndexedReport,
  manifestDigest: string,
  stream: () => AsyncIterable<Buffer>,
): Promise<IssueRowFacts> {
  const hit = indexed.facts.get(manifestDigest);
  if (hit) return hit;
  const loading = (async () => {
    const issues = indexed.report.issues;
    // Keyed by the id as the manifest writes it (canonical JSON: JSON.stringify's escaping).
    const wanted = new Map<string, { label: string | null; source: string | null }>();
    for (const i of issues) wanted.set(JSON.stringify(i.row), { label: null, source: null });
    await scanManifest(stream(), manifestDigest, wanted);
    const facts: IssueRowFacts = {
      label: new Array<string | null>(issues.length),
      source: new Array<string | null>(issues.length),
    };
    for (let i = 0; i < issues.length; i++) {
      const w = wanted.get(JSON.stringify(issues[i]!.row));
      facts.label[i] = w?.label ?? null;
      facts.source[i] = w?.source ?? null;
    }
    return facts;
  })();
  indexed.facts.set(manifestDigest, loading);
  loading.catch(() => {
    if (indexed.facts.get(manifestDigest) === loading) indexed.facts.delete(manifestDigest);
  });
  while (indexed.facts.size > FACTS_PER_REPORT)
    indexed.facts.delete(indexed.facts.keys().next().value as string);
  return loading;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const BRACKET = 0x5b;

/**
 * Fills `wanted` (JSON-quoted id → label and source) from a manifest's bytes, checking them
 * against `digest`. Every entry line is `["<id>","<digest>",label,source,segment]` in canonical
 * JSON, so the id is found by scanning to its closing quote; only wanted lines are parsed. Text
 * is decoded a chunk at a time (a decoder keeps characters split between chunks whole), which
 * keeps the per-line work in plain string operations.
 */
export async function scanManifest(
  chunks: AsyncIterable<Buffer>,
  digest: string,
  wanted: Map<string, { label: string | null; source: string | null }>,
): Promise<void> {
  const hash = createHash('sha256');
  const decoder = new StringDecoder('utf8');
  let header = true;
  const line = (t: string, s: number, e: number): void => {
    if (header) {
      header = false;
      return;
    }
    if (e - s < 4 || t.charCodeAt(s) !== BRACKET || t.charCodeAt(s + 1) !== QUOTE) return;
    let i = s + 2;
    while (i < e) {
      const c = t.charCodeAt(i);
      if (c === BACKSLASH) i += 2;
      else if (c === QUOTE) break;
      else i++;
    }
    const w = wanted.get(t.slice(s + 1, i + 1));
    if (!w) return;
    const entry = JSON.parse(t.slice(s, e)) as unknown[];
    w.label = typeof entry[2] === 'string' ? entry[2] : null;
    w.source = typeof entry[3] === 'string' ? entry[3] : null;
  };
  let carry = '';
  const lines = (text: string): void => {
    const t = carry + text;
    let start = 0;
    for (let nl = t.indexOf('\n'); nl >= 0; nl = t.indexOf('\n', start)) {
      line(t, start, nl);
      start = nl + 1;
    }
    carry = t.slice(start);
  };
  for await (const chunk of chunks) {
    hash.update(chunk);
    lines(decoder.write(chunk));
  }
  lines(decoder.end());
  if (carry !== '') line(carry, 0, carry.length);
  const actual = hash.digest('hex');
  if (actual !== digest)
    throw new VerifyError(
      `manifest ${digest.slice(0, 12)}`,
      `its SHA-256 is ${actual}, the signed statement says ${digest}`,
    );
}

/** The rows of trigger `t`, as a set (built on first use). */
export function triggerRowSet(indexed: IndexedReport, t: number): ReadonlySet<string> {
  let set = indexed.triggerRows[t];
  if (!set) indexed.triggerRows[t] = set = new Set(indexed.report.triggers[t]?.rows ?? []);
  return set;
}

/**
 * Each issue's lower-cased search text: its row id and the string values of its detail (not the
 * keys, so "masked" finds a row id or a rule called so, not every secret finding).
 */
export function issueSearchText(indexed: IndexedReport): string[] {
  if (!indexed.searchText)
    indexed.searchText = indexed.report.issues.map((i) => {
      const parts = [i.row];
      collectStrings(i.detail, parts, 0);
      return parts.join('\n').toLowerCase();
    });
  return indexed.searchText;
}

function collectStrings(value: unknown, out: string[], depth: number): void {
  if (typeof value === 'string') out.push(value);
  else if (depth < 4 && Array.isArray(value))
    for (const v of value as unknown[]) collectStrings(v, out, depth + 1);
  else if (depth < 4 && value !== null && typeof value === 'object')
    for (const v of Object.values(value)) collectStrings(v, out, depth + 1);
}
