import { z } from 'zod';
import { gateStatus } from '../../engine/governance/gate.js';
import { SNAPSHOT_STATES, snapshotState } from '../../engine/governance/facts.js';
import type { RouteList } from '../api.js';
import type { ServerDeps } from '../app.js';
import { scanView } from '../views.js';
import { Visibility } from '../visibility.js';

const Row = z.object({
  name: z.string(),
  current: z.string().nullable().describe('dataset@version of the head'),
  head: z.string().nullable(),
  stage: z.string().nullable(),
  state: z.enum(SNAPSHOT_STATES).nullable(),
  records: z.number().int(),
  owners: z.array(z.string()).describe('Identities and groups granted owner on it (or on *)'),
  lastScan: z
    .object({
      id: z.string(),
      createdAt: z.string(),
      flaggedRows: z.number().int(),
      rows: z.number().int(),
      triggers: z.number().int(),
      suspiciousSources: z.array(z.string()),
    })
    .nullable()
    .describe("The head's newest recorded scan"),
  gate: z
    .object({ passed: z.boolean(), reason: z.string() })
    .nullable()
    .describe("The head's newest gate verdict (signature checked); null when none has run"),
  openReviewItems: z.number().int().describe('Open review items on any of its snapshots'),
  activeQuarantines: z.number().int().describe('Active quarantines of its snapshots or sources'),
});

/**
 * One row per readable dataset with what a steward scans for first: where its head stands, the
 * newest scan and gate verdict, and what waits for people. Everything is aggregated here so the
 * console's first page is one request, whatever the datasets' sizes.
 */
export function dashboardRoutes(api: RouteList, _deps: ServerDeps): void {
  api.route({
    method: 'get',
    path: '/v1/dashboard',
    operationId: 'dashboard',
    summary: 'Every readable dataset with its head, state, newest scan and gate, and open work',
    tags: ['datasets'],
    responses: {
      200: { description: 'Datasets', json: z.object({ datasets: z.array(Row) }) },
    },
    handler: async ({ ws }) => {
      const visible = await Visibility.of(ws);
      const grants = await ws.meta.gov.listGrants();
      const open = await ws.meta.gov.listReviewItems({ status: 'open' });
      const quarantines = await ws.meta.gov.listQuarantines({ active: true });
      const datasetOfSnapshot = new Map<string, string | undefined>();
      const snapshotDataset = async (id: string) => {
        if (!datasetOfSnapshot.has(id))
          datasetOfSnapshot.set(id, (await ws.meta.getSnapshot(id))?.dataset);
        return datasetOfSnapshot.get(id);
      };
      const openBy = new Map<string, number>();
      for (const item of open) {
        const d = await snapshotDataset(item.snapshot_id);
        if (d !== undefined) openBy.set(d, (openBy.get(d) ?? 0) + 1);
      }
      const datasets = [];
      for (const d of await ws.meta.listDatasets()) {
        if (!(await visible.dataset(d.name))) continue;
        const head = d.head ? await ws.meta.getSnapshot(d.head) : undefined;
        const scans = head ? await ws.meta.listScans(head.id) : [];
        const scan = scans[scans.length - 1];
        const summary = scan ? scanView(scan).summary : null;
        let quarantined = 0;
        for (const q of quarantines) {
          if (q.kind === 'source' && (q.dataset === null || q.dataset === d.name)) quarantined++;
          if (q.kind === 'snapshot' && (await snapshotDataset(q.target)) === d.name) quarantined++;
        }
        const gate = head ? await gateStatus(ws, head) : null;
        datasets.push({
          name: d.name,
          current: head ? `${head.dataset}@${head.version}` : null,
          head: head?.id ?? null,
          stage: head?.stage ?? null,
          state: head ? await snapshotState(ws, head.id) : null,
          records: head?.record_count ?? 0,
          owners: grants
            .filter((g) => g.role === 'owner' && (g.dataset === d.name || g.dataset === '*'))
            .map((g) => g.subject)
            .sort(),
          lastScan:
            scan && summary
              ? {
                  id: scan.id,
                  createdAt: scan.created_at,
                  flaggedRows: summary.flaggedRows,
                  rows: summary.rows,
                  triggers: summary.triggers,
                  suspiciousSources: summary.suspiciousSources,
                }
              : null,
          gate: gate && gate.run !== null ? { passed: gate.passed, reason: gate.reason } : null,
          openReviewItems: openBy.get(d.name) ?? 0,
          activeQuarantines: quarantined,
        });
      }
      return { json: { datasets } };
    },
  });
}
