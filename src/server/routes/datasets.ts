import { z } from 'zod';
import { recordProof } from '../../engine/record-proof.js';
import type { DsseEnvelope } from '../../core/dsse.js';
import { CordonError, VerifyError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hashing.js';
import type { ManifestEntry } from '../../core/manifest.js';
import { toOpenLineageEvents } from '../../core/openlineage.js';
import type { CordonRecord } from '../../core/record.js';
import { authorize, type DecisionRecord } from '../../engine/governance/authorize.js';
import { datasetGovernance } from '../../engine/governance/facts.js';
import { configureDataset, setSource } from '../../engine/governance/identities.js';
import { rollback, tagSnapshot } from '../../engine/history.js';
import { loadLineage } from '../../engine/lineage-graph.js';
import {
  loadManifest,
  resolveSnapshot,
  segmentLines,
  snapshotLabel,
  snapshotLines,
} from '../../engine/snapshots.js';
import { verifyInputs, verifySnapshot } from '../../engine/verify-snapshot.js';
import { trustedKeys } from '../../engine/workspace.js';
import type { RouteList } from '../api.js';
import type { ServerDeps } from '../app.js';
import { diffCache, pageRows, samplesOf, type RowFilter } from '../diff-cache.js';
import { lineageGraphView } from '../lineage-view.js';
import { manifestCache } from '../manifest-cache.js';
import { HttpProblem } from '../problem.js';
import * as S from '../schemas.js';
import { Visibility } from '../visibility.js';
import { DiffRowsPage, DiffRowsQuery, LineageGraphView } from './datasets-schemas.js';
import {
  datasetSummary,
  readableDataset,
  readableSnapshot,
  snapshotView,
  sourceView,
} from '../views.js';

const NameParam = z.object({ name: S.DatasetName });
const RefParam = z.object({ ref: S.SnapshotRefText });
const PRODUCER = 'https://cordon.dev/api';

type Counts = { name: string | null; records: number }[];

export function datasetRoutes(api: RouteList, _deps: ServerDeps): void {
  api.route({
    method: 'get',
    path: '/v1/datasets',
    operationId: 'listDatasets',
    summary: 'Datasets the caller may read, with their current snapshots',
    tags: ['datasets'],
    responses: {
      200: { description: 'Datasets', json: z.object({ datasets: z.array(S.DatasetSummary) }) },
    },
    handler: async ({ ws }) => {
      const visible = await Visibility.of(ws);
      const datasets = [];
      for (const d of await ws.meta.listDatasets())
        if (await visible.dataset(d.name)) datasets.push(await datasetSummary(ws, d));
      return { json: { datasets } };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/datasets/{name}',
    operationId: 'getDataset',
    summary: 'A dataset: current snapshot, governance settings, sources and tags',
    tags: ['datasets'],
    params: NameParam,
    responses: { 200: { description: 'The dataset', json: S.DatasetDetail } },
    handler: async ({ ws, params }) => {
      const d = await readableDataset(ws, params.name);
      const head = d.head ? await ws.meta.getSnapshot(d.head) : undefined;
      return {
        json: {
          ...(await datasetSummary(ws, d)),
          headSnapshot: head ? await snapshotView(ws, head, d.head) : null,
          settings: await datasetGovernance(ws, d.name),
          sources: (await ws.meta.gov.listSources(d.name)).map(sourceView),
          tags: (await ws.meta.listTags(d.name)).map((t) => ({
            tag: t.tag,
            snapshot: t.snapshot_id,
            ref: `${t.dataset}@${t.version}`,
          })),
        },
      };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/datasets/{name}/snapshots',
    operationId: 'listSnapshots',
    summary: 'Every snapshot of a dataset, oldest first, marking the current one',
    tags: ['datasets'],
    params: NameParam,
    responses: {
      200: { description: 'Snapshots', json: z.object({ snapshots: z.array(S.Snapshot) }) },
    },
    handler: async ({ ws, params }) => {
      const d = await readableDataset(ws, params.name);
      const snapshots = [];
      for (const row of await ws.meta.listSnapshots(d.name))
        snapshots.push(await snapshotView(ws, row, d.head));
      return { json: { snapshots } };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/datasets/{name}/settings',
    operationId: 'getDatasetSettings',
    summary: 'Governance settings of a dataset',
    tags: ['datasets'],
    params: NameParam,
    responses: { 200: { description: 'Settings', json: S.DatasetSettings } },
    handler: async ({ ws, params }) => {
      await readableDataset(ws, params.name);
      return { json: await datasetGovernance(ws, params.name) };
    },
  });

  api.route({
    method: 'patch',
    path: '/v1/datasets/{name}/settings',
    operationId: 'configureDataset',
    summary: 'Mark a dataset high-impact or externally sourced; set approvals and review threshold',
    description: 'Owners only (configureDataset). Fields left out keep their value.',
    tags: ['datasets'],
    params: NameParam,
    body: { json: S.SettingsBody },
    responses: { 200: { description: 'The settings now', json: S.DatasetSettings } },
    handler: async ({ ws, params, body }) => {
      await configureDataset(ws, params.name, withoutUndefined(body));
      return { json: await datasetGovernance(ws, params.name) };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/datasets/{name}/sources',
    operationId: 'listSources',
    summary: 'Registered sources of a dataset',
    tags: ['datasets'],
    params: NameParam,
    responses: {
      200: { description: 'Sources', json: z.object({ sources: z.array(S.Source) }) },
    },
    handler: async ({ ws, params }) => {
      await readableDataset(ws, params.name);
      return { json: { sources: (await ws.meta.gov.listSources(params.name)).map(sourceView) } };
    },
  });

  api.route({
    method: 'put',
    path: '/v1/datasets/{name}/sources/{source}',
    operationId: 'setSource',
    summary: 'Register a source of a dataset as trusted or not, external or not',
    tags: ['datasets'],
    params: NameParam.extend({ source: z.string().min(1).max(256) }),
    body: { json: S.SourceBody },
    responses: { 200: { description: 'The source', json: S.Source } },
    handler: async ({ ws, params, body }) => {
      await setSource(ws, params.name, params.source, body);
      const row = (await ws.meta.gov.listSources(params.name)).find(
        (s) => s.name === params.source,
      );
      if (!row) throw new CordonError('INTERNAL', 'the source was not recorded');
      return { json: sourceView(row) };
    },
  });

  api.route({
    method: 'post',
    path: '/v1/datasets/{name}/rollback',
    operationId: 'rollback',
    summary: 'Point a dataset back at an earlier snapshot (nothing is deleted)',
    tags: ['datasets'],
    params: NameParam,
    body: { json: S.RollbackBody },
    responses: {
      200: {
        description: 'The head moved',
        json: z.object({ dataset: z.string(), from: z.string().nullable(), to: z.string() }),
      },
    },
    handler: async ({ ws, params, body }) => {
      const target = await resolveSnapshot(ws, body.to);
      const moved = await rollback(ws, params.name, target, body.reason);
      return { json: { dataset: params.name, ...moved } };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/tags',
    operationId: 'listTags',
    summary: 'Tags, on the datasets the caller may read',
    tags: ['datasets'],
    query: z.object({ dataset: S.DatasetName.optional() }),
    responses: { 200: { description: 'Tags', json: z.object({ tags: z.array(S.Tag) }) } },
    handler: async ({ ws, query }) => {
      if (query.dataset !== undefined) await readableDataset(ws, query.dataset);
      const visible = await Visibility.of(ws);
      const tags = [];
      for (const t of await ws.meta.listTags(query.dataset))
        if (await visible.dataset(t.dataset))
          tags.push({
            tag: t.tag,
            snapshot: t.snapshot_id,
            ref: `${t.dataset}@${t.version}`,
            dataset: t.dataset,
            version: t.version,
            actor: t.actor,
            createdAt: t.created_at,
          });
      return { json: { tags } };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/snapshots/{ref}',
    operationId: 'getSnapshot',
    summary: 'One snapshot: metadata, state, tags, records per label and per source',
    tags: ['datasets'],
    params: RefParam,
    responses: { 200: { description: 'The snapshot', json: S.SnapshotDetail } },
    handler: async ({ ws, params }) => {
      const row = await readableSnapshot(ws, params.ref);
      const envelope = JSON.parse(
        (await ws.blobs.get(row.envelope_digest)).toString('utf8'),
      ) as DsseEnvelope;
      const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as {
        predicate: { labels: Counts; sources: Counts };
      };
      return {
        json: {
          ...(await snapshotView(ws, row)),
          labels: statement.predicate.labels,
          sources: statement.predicate.sources,
        },
      };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/snapshots/{ref}/records',
    operationId: 'listRecords',
    summary: 'A page of the records of a snapshot, in id order',
    description:
      'Each record is checked against its digest in the signed manifest before it is returned.',
    tags: ['datasets'],
    params: RefParam,
    query: z.object({
      ...S.Paging,
      ids: z
        .array(z.string().min(1))
        .max(1000)
        .optional()
        .describe(
          'Only these records (repeat the parameter), in id order; unknown ids are left out',
        ),
    }),
    responses: { 200: { description: 'A page of records', json: S.RecordsPage } },
    handler: async ({ ws, params, query }) => {
      const row = await readableSnapshot(ws, params.ref);
      const manifest = await manifestCache.get(ws, row);
      const wantedIds = query.ids ? new Set(query.ids) : null;
      const listed = wantedIds
        ? manifest.entries.filter((e) => wantedIds.has(e.id))
        : manifest.entries;
      const page = listed.slice(query.offset, query.offset + query.limit);
      const bySegment = new Map<number, Map<string, ManifestEntry>>();
      for (const e of page) {
        let wanted = bySegment.get(e.segment);
        if (!wanted) bySegment.set(e.segment, (wanted = new Map<string, ManifestEntry>()));
        wanted.set(e.id, e);
      }
      const found = new Map<string, CordonRecord>();
      for (const [segment, wanted] of bySegment) {
        for (const line of segmentLines(await ws.blobs.get(manifest.header.segments[segment]!))) {
          const record = JSON.parse(line.toString('utf8')) as CordonRecord;
          const entry = wanted.get(record.id);
          if (!entry) continue;
          if (sha256Hex(line) !== entry.digest)
            throw new VerifyError(
              `record "${record.id}" of ${snapshotLabel(row)}`,
              'its bytes do not match the digest in the signed manifest',
            );
          found.set(record.id, record);
        }
      }
      const records = page.map((e) => {
        const r = found.get(e.id);
        if (!r)
          throw new VerifyError(
            `record "${e.id}" of ${snapshotLabel(row)}`,
            'is missing from the segment the manifest names',
          );
        return r;
      });
      const end = query.offset + records.length;
      return {
        json: {
          snapshot: row.id,
          total: listed.length,
          offset: query.offset,
          limit: query.limit,
          next: end < listed.length ? end : null,
          records,
        },
      };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/snapshots/{ref}/records/{id}/proof',
    operationId: 'recordProof',
    summary: "RFC 9162 inclusion proof that a record is under a snapshot's signed root",
    description: 'Record ids may hold "/": percent-encode them (%2F).',
    tags: ['datasets'],
    params: RefParam.extend({ id: z.string().min(1) }),
    responses: { 200: { description: 'The proof', json: S.RecordProof } },
    handler: async ({ ws, params }) => {
      const row = await readableSnapshot(ws, params.ref);
      return { json: await recordProof(ws, row, params.id) };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/diff',
    operationId: 'diff',
    summary: 'Compare two snapshots: added, removed, changed records, label moves, sources',
    tags: ['datasets'],
    query: z.object({
      from: S.SnapshotRefText,
      to: S.SnapshotRefText,
      limit: z.coerce.number().int().min(0).max(1000).default(10).describe('ids listed per kind'),
    }),
    responses: { 200: { description: 'The difference', json: S.SnapshotDiff } },
    handler: async ({ ws, query }) => {
      const a = await readableSnapshot(ws, query.from);
      const b = await readableSnapshot(ws, query.to);
      const d = await diffCache.get(ws, a, b);
      return {
        json: {
          from: { snapshot: a.id, ref: snapshotLabel(a) },
          to: { snapshot: b.id, ref: snapshotLabel(b) },
          ...d.summary,
          samples: samplesOf(d, query.limit),
        },
      };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/diff/rows',
    operationId: 'diffRows',
    summary: 'A page of the added, removed or changed records between two snapshots',
    description:
      'In id order, with the number of rows the filters match. Filters: `label` (any side), the class pair `labelFrom`/`labelTo` (changed rows only), `source`; an empty value matches records without one. The diff of a pair is computed once and cached.',
    tags: ['datasets'],
    query: DiffRowsQuery,
    responses: { 200: { description: 'A page of rows', json: DiffRowsPage } },
    handler: async ({ ws, query }) => {
      const a = await readableSnapshot(ws, query.from);
      const b = await readableSnapshot(ws, query.to);
      const d = await diffCache.get(ws, a, b);
      const filter: RowFilter = {};
      if (query.label !== undefined) filter.label = query.label || null;
      if (query.labelFrom !== undefined) filter.labelFrom = query.labelFrom || null;
      if (query.labelTo !== undefined) filter.labelTo = query.labelTo || null;
      if (query.source !== undefined) filter.source = query.source || null;
      const page = pageRows(d, query.change, filter, query.offset, query.limit);
      const end = query.offset + page.rows.length;
      return {
        json: {
          from: { snapshot: a.id, ref: snapshotLabel(a) },
          to: { snapshot: b.id, ref: snapshotLabel(b) },
          change: query.change,
          total: page.total,
          offset: query.offset,
          limit: query.limit,
          next: end < page.total ? end : null,
          rows: page.rows,
        },
      };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/snapshots/{ref}/lineage',
    operationId: 'lineage',
    summary: 'Where a snapshot came from: the graph, OpenLineage events or signed SLSA provenance',
    tags: ['datasets'],
    params: RefParam,
    query: z.object({
      format: z.enum(['json', 'openlineage', 'slsa']).default('json'),
      namespace: z.string().min(1).default('cordon').describe('OpenLineage namespace'),
    }),
    responses: { 200: { description: 'The lineage', json: S.Lineage } },
    handler: async ({ ws, params, query }) => {
      const row = await readableSnapshot(ws, params.ref);
      const { graph, runs } = await loadLineage(ws, row);
      if (query.format === 'json') return { json: { format: 'json', snapshot: row.id, graph } };
      if (query.format === 'openlineage')
        return {
          json: {
            format: 'openlineage',
            snapshot: row.id,
            events: runs.flatMap(({ run, row: r }) =>
              toOpenLineageEvents(run, {
                namespace: query.namespace,
                producer: PRODUCER,
                attestation: { envelopeDigest: r.envelope_digest },
              }),
            ),
          },
        };
      const envelopes = [];
      for (const { row: r } of runs)
        envelopes.push(JSON.parse((await ws.blobs.get(r.envelope_digest)).toString('utf8')));
      return { json: { format: 'slsa', snapshot: row.id, envelopes } };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/snapshots/{ref}/lineage/graph',
    operationId: 'lineageGraph',
    summary: 'The lineage around a snapshot as a graph: sources, runs, snapshots, releases',
    description:
      "Upstream to the raw ingests and their record sources, downstream to the snapshots derived from it (datasets the caller may read only; at most 300 snapshots, else `truncated`), each snapshot's state, and each release with the model it was released for.",
    tags: ['datasets'],
    params: RefParam,
    responses: { 200: { description: 'The graph', json: LineageGraphView } },
    handler: async ({ ws, params }) => {
      const row = await readableSnapshot(ws, params.ref);
      return { json: await lineageGraphView(ws, row) };
    },
  });

  api.route({
    method: 'post',
    path: '/v1/snapshots/{ref}/verify',
    operationId: 'verifySnapshot',
    summary: 'Verify a stored snapshot end to end; fails closed (422 VERIFY_FAILED)',
    description:
      'Signature by a registered identity, every metadata column against the signed statement, the manifest and its Merkle root, every segment, record and file.',
    tags: ['datasets'],
    mutates: false,
    params: RefParam,
    responses: { 200: { description: 'The snapshot verifies', json: S.Verification } },
    handler: async ({ ws, params }) => {
      const row = await readableSnapshot(ws, params.ref);
      const r = await verifySnapshot(ws, row, await trustedKeys(ws));
      return { json: { ok: true, id: row.id, ...r } };
    },
  });

  api.route({
    method: 'post',
    path: '/v1/snapshots/{ref}/tags',
    operationId: 'tagSnapshot',
    summary: 'Tag a snapshot (for example known-good)',
    tags: ['datasets'],
    params: RefParam,
    body: { json: S.TagBody },
    responses: { 200: { description: 'Tagged', json: z.object({ snapshot: S.Snapshot }) } },
    handler: async ({ ws, params, body }) => {
      const row = await resolveSnapshot(ws, params.ref);
      await tagSnapshot(ws, row, body.tag, false);
      return { json: { snapshot: await snapshotView(ws, row) } };
    },
  });

  api.route({
    method: 'delete',
    path: '/v1/snapshots/{ref}/tags/{tag}',
    operationId: 'untagSnapshot',
    summary: 'Remove a tag from a snapshot',
    tags: ['datasets'],
    params: RefParam.extend({ tag: z.string().min(1) }),
    responses: { 200: { description: 'Untagged', json: z.object({ snapshot: S.Snapshot }) } },
    handler: async ({ ws, params }) => {
      const row = await resolveSnapshot(ws, params.ref);
      if (!(await tagSnapshot(ws, row, params.tag, true)))
        throw new HttpProblem('NOT_FOUND', `${snapshotLabel(row)} has no tag "${params.tag}"`);
      return { json: { snapshot: await snapshotView(ws, row) } };
    },
  });

  api.route({
    method: 'get',
    path: '/v1/snapshots/{ref}/export',
    operationId: 'exportSnapshot',
    summary: 'Download the records of a snapshot for training (records.jsonl, streamed)',
    description:
      'Authorized as export: the snapshot must have passed its gate, or an owner overrides the gate with a reason (logged). The snapshot is verified before the first byte is sent, and the download is an audit event. Records are in segment (commit) order; referenced files are not included. X-Cordon-Root carries the signed Merkle root; `cordon export` writes the full verifiable folder.',
    tags: ['datasets'],
    mutates: true,
    params: RefParam,
    query: z.object({
      overrideGate: z
        .string()
        .max(2000)
        .optional()
        .describe('export although the gate has not passed (owners only): why'),
    }),
    responses: {
      200: {
        description: 'One canonical JSON record per line',
        content: { 'application/x-ndjson': { schema: { type: 'string' } } },
        headers: {
          'X-Cordon-Snapshot': { description: 'Snapshot id', schema: { type: 'string' } },
          'X-Cordon-Root': { description: 'Signed Merkle root', schema: { type: 'string' } },
          'X-Cordon-Records': { description: 'Number of records', schema: { type: 'integer' } },
        },
      },
    },
    handler: async ({ ws, params, query }) => {
      const row = await resolveSnapshot(ws, params.ref);
      const override = query.overrideGate?.trim();
      if (query.overrideGate !== undefined && !override)
        throw new CordonError('USAGE', 'overrideGate needs a reason');
      const authz: DecisionRecord[] = [];
      if (override)
        authz.push(await authorize(ws, 'overrideGate', { type: 'Snapshot', snapshot: row }));
      authz.push(
        await authorize(
          ws,
          'export',
          { type: 'Snapshot', snapshot: row },
          override ? { gateOverridden: true } : {},
        ),
      );
      await verifyInputs(ws, [row]);
      const manifest = await loadManifest(ws, row);
      const gate = await ws.meta.gov.latestGateRun(row.id);
      await ws.meta.appendEvent({
        time: new Date().toISOString(),
        actor: ws.identity.name,
        kind: 'snapshot.export',
        dataset: row.dataset,
        snapshot_id: row.id,
        detail: JSON.stringify({
          version: row.version,
          out: 'api download (records.jsonl)',
          records: manifest.entries.length,
          files: 0,
          parquet: false,
          ...(override ? { gateOverride: { reason: override } } : { gate: gate?.id ?? null }),
          authz,
        }),
      });
      const lines = snapshotLines(ws, manifest);
      const newline = Buffer.from('\n');
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const batch: Buffer[] = [];
          for (let i = 0; i < 4096; i++) {
            const next = await lines.next();
            if (next.done) break;
            batch.push(next.value.line, newline);
          }
          if (batch.length) controller.enqueue(Buffer.concat(batch));
          else controller.close();
        },
        async cancel() {
          await lines.return(undefined);
        },
      });
      return new Response(body, {
        headers: {
          'Content-Type': 'application/x-ndjson',
          'Content-Disposition': `attachment; filename="${row.dataset}-${row.version}.records.jsonl"`,
          'X-Cordon-Snapshot': row.id,
          'X-Cordon-Root': row.root,
          'X-Cordon-Records': String(manifest.entries.length),
        },
      });
    },
  });
}

/** Drops keys whose value is undefined (for engine options under exactOptionalPropertyTypes). */
export function withoutUndefined<T extends object>(
  o: T,
): {
  [K in keyof T]?: Exclude<T[K], undefined>;
} {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}
