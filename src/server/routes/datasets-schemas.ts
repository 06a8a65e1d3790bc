import { z } from 'zod';
import { SNAPSHOT_STATES } from '../../engine/governance/facts.js';
import * as S from '../schemas.js';

/**
 * Response and query shapes of the diff-rows and lineage-graph endpoints (routes/datasets.ts),
 * kept apart from the route code so that the console can take their types without type-checking
 * the server.
 */

const Side = z.object({ snapshot: z.string(), ref: z.string() });
const labelFilter = (what: string) =>
  z.string().max(1000).optional().describe(`${what}; empty: records without one`);

export const DiffRowsQuery = z.object({
  from: S.SnapshotRefText,
  to: S.SnapshotRefText,
  change: z.enum(['added', 'removed', 'changed']),
  label: labelFilter('only rows with this label (changed rows: before or after)'),
  labelFrom: labelFilter('changed rows whose label was this'),
  labelTo: labelFilter('changed rows whose label became this'),
  source: labelFilter('only rows from this source'),
  offset: S.Paging.offset,
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const DiffRowsPage = z
  .object({
    from: Side,
    to: Side,
    change: z.enum(['added', 'removed', 'changed']),
    total: z.number().int().describe('rows of this kind the filters match'),
    offset: z.number().int(),
    limit: z.number().int(),
    next: z.number().int().nullable().describe('offset of the next page; null on the last'),
    rows: z.array(
      z.object({
        id: z.string(),
        label: z
          .string()
          .nullable()
          .describe('in the snapshot that holds the row (changed: after)'),
        source: z.string().nullable(),
        labelBefore: z.string().nullable().optional().describe('changed rows'),
        labelAfter: z.string().nullable().optional().describe('changed rows'),
      }),
    ),
  })
  .meta({ id: 'DiffRows' });

const GraphSnapshot = z.object({
  id: z.string(),
  ref: z.string(),
  dataset: z.string(),
  version: z.number().int(),
  stage: z.string(),
  state: z.enum(SNAPSHOT_STATES).nullable().describe('null: a dataset the caller may not read'),
  records: z.number().int(),
  createdAt: z.string(),
  author: z.string(),
});

export const LineageGraphView = z
  .object({
    snapshot: z.string().describe('the snapshot asked about'),
    ref: z.string(),
    nodes: z.array(
      z.discriminatedUnion('kind', [
        z.object({
          kind: z.literal('snapshot'),
          id: z.string(),
          label: z.string(),
          focus: z.boolean(),
          snapshot: GraphSnapshot,
        }),
        z.object({
          kind: z.literal('run'),
          id: z.string(),
          label: z.string(),
          run: z.object({
            id: z.string(),
            kind: z.enum(['ingest', 'transform', 'merge']),
            command: z.string().nullable(),
            codeDigest: z.string().nullable(),
            params: z.record(z.string(), z.string()),
            actor: z.string(),
            startedAt: z.string(),
            finishedAt: z.string(),
            file: z.string().optional().describe('the file ingested or uploaded'),
          }),
        }),
        z.object({
          kind: z.literal('source'),
          id: z.string(),
          label: z.string(),
          source: z.object({
            name: z.string().nullable(),
            dataset: z.string(),
            registered: z.boolean(),
            trusted: z.boolean(),
            external: z.boolean(),
          }),
        }),
        z.object({
          kind: z.literal('release'),
          id: z.string(),
          label: z.string(),
          release: z.object({
            model: z.string().nullable().describe('the model named at release, if any'),
            snapshot: z.string(),
            ref: z.string(),
            releasedAt: z.string(),
            releasedBy: z.string(),
            event: z.number().int().describe('audit event sequence number'),
          }),
        }),
      ]),
    ),
    edges: z.array(
      z.object({
        from: z.string(),
        to: z.string(),
        relation: z
          .enum(['records', 'input', 'output', 'parent', 'release'])
          .describe(
            'records: a source fed an ingest; input/output: a run read/wrote a snapshot; parent: an earlier version; release: a snapshot was released',
          ),
        records: z.number().int().optional().describe('records edges: how many'),
      }),
    ),
    truncated: z.boolean().describe('the walk downstream stopped at its bound'),
  })
  .meta({ id: 'LineageGraph' });
