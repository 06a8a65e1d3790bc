import type { z } from 'zod';
import type {
  DiffRowsPage,
  LineageGraphView,
} from '../../../src/server/routes/datasets-schemas.js';

/** Shapes of the snapshot and lineage endpoints declared in src/server/routes/datasets-schemas.ts. */
export type DiffRows = z.output<typeof DiffRowsPage>;
export type DiffRow = DiffRows['rows'][number];
export type LineageGraph = z.output<typeof LineageGraphView>;
export type LineageNode = LineageGraph['nodes'][number];
export type LineageEdge = LineageGraph['edges'][number];
export type ChangeKind = DiffRows['change'];
