import { z } from 'zod';
import { verifyEnvelope, type DsseEnvelope } from '../../core/dsse.js';
import { CordonError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hashing.js';
import { evaluateFailOn, parseFailOn } from '../../core/scan/fail-on.js';
import type { ScanReport } from '../../core/scan/report.js';
import type { Detector } from '../../core/scan/types.js';
import { authorize } from '../../engine/governance/authorize.js';
import { datasetGovernance } from '../../engine/governance/facts.js';
import { openReview } from '../../engine/governance/review.js';
import { rowsFromSnapshot } from '../../engine/scan/load-rows.js';
import { loadManifest, resolveSnapshot, snapshotLabel } from '../../engine/snapshots.js';
import { trustedKeys, type Workspace } from '../../engine/workspace.js';
import type { ScanRecordRow, SnapshotRow } from '../../store/metadata-store.js';
import type { RouteList } from '../api.js';
import type { ServerDeps } from '../app.js';
import type { JobContext } from '../jobs.js';
import { HttpProblem } from '../problem.js';
import { issueRowFacts, scanReportCache, type IndexedReport } from '../scan-report-cache.js';
import {
  FindingsQuery,
  findingsPage,
  reportAggregates,
  ScanFindingsPage,
  ScanOverview,
  type ScanOverviewView,
  ScanTriggerRows,
  TriggerRowsQuery,
  triggerRowsPage,
} from '../scan-report-views.js';
import * as S from '../schemas.js';
import { readableSnapshot, scanView } from '../views.js';

const RefParam = z.object({ ref: S.SnapshotRefText });
const ScanParam = RefParam.extend({
  scan: z.string().min(1).describe('Scan id, a 6+ character prefix of it, or "latest"'),
});

/** Lets the event loop run (requests, cancellation, SSE) between two detectors. */
const breathe = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function findScan(ws: Workspace, row: SnapshotRow, which: string): Promise<ScanRecordRow> {
  const scans = await ws.meta.listScans(row.id);
  const found =
    which === 'latest'
      ? scans.slice(-1)
      : which.length >= 6
        ? scans.filter((s) => s.id.startsWith(which))
        : [];
  if (found.length > 1)
    throw new CordonError('SNAPSHOT_AMBIGUOUS', `"${which}" matches more than one scan`);
  if (!found[0]) throw new HttpProblem('NOT_FOUND', `${snapshotLabel(row)} has no scan "${which}"`);
  return found[0];
}

async function loadReport(ws: Workspace, scan: ScanRecordRow): Promise<Buffer> {
  const bytes = await ws.blobs.get(scan.report_digest);
  if (sha256Hex(bytes) !== scan.report_digest)
    throw new CordonError(
      'VERIFY_FAILED',
      `the report of scan ${scan.id} does not match its digest`,
    );
  return bytes;
}

/** The parsed, indexed report of a scan (cached by digest; checked against it when loaded). */
function indexedReport(ws: Workspace, scan: ScanRecordRow): Promise<IndexedReport> {
  return scanReportCache.get(scan.report_digest, () => loadReport(ws, scan));
}

/**
 * The scan's signed statement, checked now: which trusted keys verify the envelope, and whether
 * the statement names this report. Small (one envelope), so checked on every request.
 */
async function statementInfo(
  ws: Workspace,
  row: SnapshotRow,
  scan: ScanRecordRow,
): Promise<ScanOverviewView['statement']> {
  const info: ScanOverviewView['statement'] = {
    predicateType: null,
    subject: null,
    keyIds: [],
    verifiedBy: [],
    bindsReport: false,
    error: null,
  };
  try {
    const envelope = JSON.parse(
      (await ws.blobs.get(scan.envelope_digest)).toString('utf8'),
    ) as DsseEnvelope;
    info.keyIds = envelope.signatures.map((sig) => sig.keyid);
    const { payload, verifiedBy } = verifyEnvelope(envelope, await trustedKeys(ws));
    const names = new Map((await ws.meta.listIdentities()).map((i) => [i.key_id, i.name]));
    info.verifiedBy = verifiedBy.map((k) => names.get(k) ?? k);
    const statement = JSON.parse(payload.toString('utf8')) as {
      predicateType?: unknown;
      subject?: { name?: unknown; digest?: { sha256?: unknown } }[];
      predicate?: { report?: { digest?: unknown } };
    };
    info.predicateType =
      typeof statement.predicateType === 'string' ? statement.predicateType : null;
    const subject = statement.subject?.[0]?.name;
    info.subject = typeof subject === 'string' ? subject : null;
    // The scan id is the statement's digest, so this also ties the record to the statement.
    info.bindsReport =
      sha256Hex(payload) === scan.id && statement.predicate?.report?.digest === scan.report_digest;
  } catch (e) {
    info.error = e instanceof Error ? e.message : String(e);
  }
  return info;
}

export function scanRoutes(api: RouteList, deps: ServerDeps): void {
  api.route({
    method: 'post',
    path: '/v1/snapshots/{ref}/scans',
    operationId: 'scan',
    summary: 'Scan a stored snapshot for poisoning and record the signed result (as a job)',
    description:
      "Runs the default detector plan (docs/SCAN.md). On a high-impact dataset strong findings are queued for review. The job's result is a ScanResult; failOn rules that the report breaks are listed there (the scan is still recorded).",
    tags: ['scans'],
    params: RefParam,
    body: { json: S.ScanBody },
    responses: {
      202: {
        description: 'The scan runs as a job; follow it at Location',
        json: S.Job,
        headers: { Location: { description: 'The job', schema: { type: 'string' } } },
      },
    },
    handler: async ({ ws: caller, params, body, signInAgain }) => {
      const row = await resolveSnapshot(caller, params.ref);
      // Fail fast; recording the scan authorizes again.
      await authorize(caller, 'scan', { type: 'Snapshot', snapshot: row });
      const { ALL_DETECTOR_IDS } = await import('../../core/scan/registry.js');
      const unknown = (body.detectors ?? []).filter((d) => !ALL_DETECTOR_IDS.includes(d));
      if (unknown.length)
        throw new CordonError(
          'USAGE',
          `unknown detector(s) ${unknown.join(', ')}; known: ${ALL_DETECTOR_IDS.join(', ')}`,
        );
      const rules = body.failOn !== undefined ? parseFailOn(body.failOn) : [];
      const baseline = body.baseline ? await readableSnapshot(caller, body.baseline) : undefined;
      let ws: Workspace | undefined;
      const job = deps.jobs.submit({
        kind: 'scan',
        owner: caller.identity.name,
        description: `scan ${snapshotLabel(row)}`,
        run: async (ctx) => {
          // Signed in again: a token revoked while the job waited is refused here.
          ws = await signInAgain();
          const report = await runCancellableScan(ws, row, body, baseline, ctx);
          // Last point to stop: once recorded, the scan is part of the snapshot's record.
          ctx.checkCancelled();
          ctx.progress({ phase: 'record', fraction: 1 });
          const { recordScan } = await import('../../engine/scan/record-scan.js');
          const recorded = await recordScan(ws, row, report);
          let opened: number | null = null;
          if ((await datasetGovernance(ws, row.dataset)).highImpact)
            opened = (await openReview(ws, row)).opened;
          const scan = (await ws.meta.listScans(row.id)).find((s) => s.id === recorded.id);
          if (!scan) throw new CordonError('INTERNAL', `scan ${recorded.id} was not recorded`);
          return {
            scan: scanView(scan),
            reviewItemsOpened: opened,
            failOn:
              body.failOn === undefined
                ? null
                : { rules: body.failOn, broken: evaluateFailOn(report, rules) },
          };
        },
        cleanup: async () => {
          await ws?.close();
        },
      });
      return { status: 202, json: job, headers: { Location: `/v1/jobs/${job.id}` } };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/snapshots/{ref}/scans',
    operationId: 'listScans',
    summary: 'Recorded scans of a snapshot, oldest first',
    tags: ['scans'],
    params: RefParam,
    responses: {
      200: { description: 'Scans', json: z.object({ scans: z.array(S.ScanRecord) }) },
    },
    handler: async ({ ws, params }) => {
      const row = await readableSnapshot(ws, params.ref);
      return { json: { scans: (await ws.meta.listScans(row.id)).map(scanView) } };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/snapshots/{ref}/scans/{scan}/report',
    operationId: 'scanReport',
    summary: 'The JSON report (cordon.scan/v1) of a recorded scan',
    description: 'Secrets and PII appear masked only.',
    tags: ['scans'],
    params: ScanParam,
    responses: { 200: { description: 'The report', json: S.ScanReport } },
    handler: async ({ ws, params }) => {
      const row = await readableSnapshot(ws, params.ref);
      const bytes = await loadReport(ws, await findScan(ws, row, params.scan));
      // Sent as stored (checked against its digest), not re-serialized: reports can be large.
      return new Response(new Uint8Array(bytes), {
        headers: { 'Content-Type': 'application/json' },
      });
    },
  });

  api.route({
    method: 'get',
    path: '/v1/snapshots/{ref}/scans/{scan}/overview',
    operationId: 'scanOverview',
    summary: 'Aggregates of a recorded scan for the console: kinds, histograms, drift, triggers',
    description:
      'Counts and score histograms per kind, class balance and drift, triggers, per-source risk, detectors, and the signed statement checked now. Never the issues themselves: page them with scanFindings.',
    tags: ['scans'],
    params: ScanParam,
    responses: { 200: { description: 'The overview', json: ScanOverview } },
    handler: async ({ ws, params }) => {
      const row = await readableSnapshot(ws, params.ref);
      const scan = await findScan(ws, row, params.scan);
      const [indexed, statement] = await Promise.all([
        indexedReport(ws, scan),
        statementInfo(ws, row, scan),
      ]);
      return {
        json: {
          snapshot: { id: row.id, ref: snapshotLabel(row) },
          scan: {
            id: scan.id,
            actor: scan.actor,
            createdAt: scan.created_at,
            reportDigest: scan.report_digest,
            reportBytes: indexed.bytes,
            envelopeDigest: scan.envelope_digest,
          },
          statement,
          ...reportAggregates(indexed),
        } satisfies ScanOverviewView,
      };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/snapshots/{ref}/scans/{scan}/findings',
    operationId: 'scanFindings',
    summary: "A filtered page of a recorded scan's issues, highest score first",
    description:
      "Filters combine (AND). label and source are the row's in the snapshot. Secret and PII values appear masked, as stored.",
    tags: ['scans'],
    params: ScanParam,
    query: FindingsQuery,
    responses: { 200: { description: 'A page of issues', json: ScanFindingsPage } },
    handler: async ({ ws, params, query }) => {
      const row = await readableSnapshot(ws, params.ref);
      const scan = await findScan(ws, row, params.scan);
      const indexed = await indexedReport(ws, scan);
      if (query.trigger !== undefined && query.trigger >= indexed.report.triggers.length)
        throw new HttpProblem('NOT_FOUND', `scan ${scan.id} has no trigger ${query.trigger}`);
      const facts = await issueRowFacts(indexed, row.manifest_digest, () =>
        ws.blobs.stream(row.manifest_digest),
      );
      return { json: findingsPage(indexed, facts, query) };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/snapshots/{ref}/scans/{scan}/triggers/{index}/rows',
    operationId: 'scanTriggerRows',
    summary: 'A page of the ids of the rows that carry one trigger of a recorded scan',
    description: "index is the trigger's position in the report (as scanOverview lists it).",
    tags: ['scans'],
    params: ScanParam.extend({ index: z.coerce.number().int().min(0) }),
    query: TriggerRowsQuery,
    responses: { 200: { description: 'Row ids', json: ScanTriggerRows } },
    handler: async ({ ws, params, query }) => {
      const row = await readableSnapshot(ws, params.ref);
      const scan = await findScan(ws, row, params.scan);
      const page = triggerRowsPage(
        await indexedReport(ws, scan),
        params.index,
        query.offset,
        query.limit,
      );
      if (!page)
        throw new HttpProblem('NOT_FOUND', `scan ${scan.id} has no trigger ${params.index}`);
      return { json: page };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/snapshots/{ref}/scans/{scan}/report.html',
    operationId: 'scanReportHtml',
    summary: 'A recorded scan as a self-contained HTML report with plots',
    tags: ['scans'],
    params: ScanParam,
    responses: {
      200: { description: 'The report', content: { 'text/html': { schema: { type: 'string' } } } },
    },
    handler: async ({ c, ws, params }) => {
      const row = await readableSnapshot(ws, params.ref);
      const report = JSON.parse(
        (await loadReport(ws, await findScan(ws, row, params.scan))).toString('utf8'),
      ) as ScanReport;
      const { renderHtmlReport } = await import('../../engine/scan/html-report.js');
      const html = renderHtmlReport(
        report,
        await rowsFromSnapshot(ws, row),
        `Cordon scan of ${snapshotLabel(row)}`,
      );
      // The report inlines its scripts and styles; nothing else may load.
      c.header(
        'Content-Security-Policy',
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:",
      );
      return c.html(html);
    },
  });
}

/**
 * Runs the default plan over a snapshot so that cancelling the job stops it: the check runs on
 * every progress report of the detectors running in this thread, and the event loop gets a turn
 * before each detector (most detectors are synchronous, so without it neither the cancel request
 * nor the job's events would get through). Detectors already sent to worker threads run to
 * their end, and their result is dropped.
 */
async function runCancellableScan(
  ws: Workspace,
  row: SnapshotRow,
  body: z.output<typeof S.ScanBody>,
  baselineRow: SnapshotRow | undefined,
  ctx: JobContext,
): Promise<ScanReport> {
  const [{ defaultPlan }, { OFFLOAD, runScan }] = await Promise.all([
    import('../../core/scan/registry.js'),
    import('../../engine/scan/run-scan.js'),
  ]);
  ctx.progress({ phase: 'load' });
  const rows = await rowsFromSnapshot(ws, row);
  ctx.checkCancelled();
  ctx.progress({ phase: 'load', records: rows.length });
  let baseline: Record<string, number> | undefined;
  if (baselineRow) {
    baseline = {};
    for (const e of (await loadManifest(ws, baselineRow)).entries)
      if (e.label !== null) baseline[e.label] = (baseline[e.label] ?? 0) + 1;
  }
  const plan = defaultPlan({
    ...(baseline ? { baseline } : {}),
    ...(body.detectors ? { only: body.detectors } : {}),
    spectral: body.spectral,
  });
  const detectors = plan.detectors.map(({ detector, options }) => ({
    options,
    detector: {
      ...detector,
      run: async (r, o, progress) => {
        await breathe();
        ctx.checkCancelled();
        return detector.run(r, o, (f) => {
          ctx.checkCancelled();
          progress?.(f);
        });
      },
    } satisfies Detector,
  }));
  return runScan(rows, {
    ...plan,
    detectors,
    offload: OFFLOAD,
    // Never throws: it is also called from worker threads' message handlers.
    onProgress: (detector, fraction) => ctx.progress({ phase: 'scan', detector, fraction }),
  });
}
