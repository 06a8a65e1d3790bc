/**
 * A layered left-to-right layout for a lineage graph: raw sources, then ingest runs, snapshots,
 * transforms and merges, the snapshots they made, and releases, each in a column. Pure (no DOM):
 * the page hands the positions to an ECharts `graph` series with `layout: 'none'`.
 *
 * Columns come from the longest path from the left (a node sits one column right of its furthest
 * predecessor), with a floor per kind so that, say, an ingest without a known source still sits
 * in the ingest column. Rows within a column are ordered by the mean row of the neighbours on
 * either side (a few barycentre sweeps), which untangles most crossings in graphs this size.
 */

export type LineageKind = 'source' | 'run' | 'snapshot' | 'release';

export interface LayoutNode {
  id: string;
  kind: LineageKind;
  label: string;
}

export interface LayoutEdge {
  from: string;
  to: string;
}

export interface Placed {
  id: string;
  layer: number;
  /** Position within its column, from the top. */
  order: number;
  x: number;
  y: number;
}

export interface Layout {
  placed: Map<string, Placed>;
  /** Node ids per column, top to bottom. */
  layers: string[][];
  width: number;
  height: number;
}

/** The leftmost column each kind may take. */
export const MIN_LAYER: Record<LineageKind, number> = {
  source: 0,
  run: 1,
  snapshot: 2,
  release: 3,
};

const KIND_RANK: Record<LineageKind, number> = { source: 0, run: 1, snapshot: 2, release: 3 };

export function layoutLineage(
  nodes: readonly LayoutNode[],
  edges: readonly LayoutEdge[],
  options: { columnWidth?: number; rowHeight?: number; sweeps?: number } = {},
): Layout {
  const columnWidth = options.columnWidth ?? 200;
  const rowHeight = options.rowHeight ?? 70;
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const preds = new Map<string, string[]>();
  const succs = new Map<string, string[]>();
  for (const n of nodes) {
    preds.set(n.id, []);
    succs.set(n.id, []);
  }
  for (const e of edges) {
    if (!byId.has(e.from) || !byId.has(e.to) || e.from === e.to) continue;
    preds.get(e.to)!.push(e.from);
    succs.get(e.from)!.push(e.to);
  }

  // Longest path from the left, over a topological order (Kahn). Lineage has no cycles; if a
  // broken graph had one, its nodes are placed after the rest rather than looping.
  const layer = new Map<string, number>();
  const indegree = new Map<string, number>();
  for (const n of nodes) indegree.set(n.id, preds.get(n.id)!.length);
  const ready = nodes.filter((n) => indegree.get(n.id) === 0).map((n) => n.id);
  const topo: string[] = [];
  while (ready.length > 0) {
    const id = ready.shift()!;
    topo.push(id);
    for (const s of succs.get(id)!) {
      const left = indegree.get(s)! - 1;
      indegree.set(s, left);
      if (left === 0) ready.push(s);
    }
  }
  const placedSet = new Set(topo);
  for (const n of nodes) if (!placedSet.has(n.id)) topo.push(n.id);
  for (const id of topo) {
    const n = byId.get(id)!;
    let l = MIN_LAYER[n.kind];
    for (const p of preds.get(id)!) {
      const lp = layer.get(p);
      if (lp !== undefined) l = Math.max(l, lp + 1);
    }
    layer.set(id, l);
  }

  const depth = Math.max(0, ...layer.values());
  const layers: string[][] = Array.from({ length: depth + 1 }, () => []);
  for (const id of topo) layers[layer.get(id)!]!.push(id);
  // A stable start: by kind, then by label.
  for (const column of layers)
    column.sort((a, b) => {
      const x = byId.get(a)!;
      const y = byId.get(b)!;
      return KIND_RANK[x.kind] - KIND_RANK[y.kind] || x.label.localeCompare(y.label);
    });

  const order = new Map<string, number>();
  const number = () => {
    for (const column of layers) column.forEach((id, i) => order.set(id, i));
  };
  number();
  const sweep = (neighbours: Map<string, string[]>, columns: string[][]) => {
    for (const column of columns) {
      const key = new Map<string, number>();
      column.forEach((id, i) => {
        const rows = neighbours
          .get(id)!
          .map((m) => order.get(m))
          .filter((r): r is number => r !== undefined);
        key.set(id, rows.length ? rows.reduce((s, r) => s + r, 0) / rows.length : i);
      });
      column.sort((a, b) => key.get(a)! - key.get(b)!);
      column.forEach((id, i) => order.set(id, i));
    }
  };
  const sweeps = options.sweeps ?? 2;
  for (let k = 0; k < sweeps; k++) {
    sweep(preds, layers.slice(1));
    sweep(succs, layers.slice(0, -1).reverse());
  }
  sweep(preds, layers.slice(1));

  const tallest = Math.max(1, ...layers.map((c) => c.length));
  const placed = new Map<string, Placed>();
  layers.forEach((column, l) => {
    // Centre each column on the tallest one.
    const top = ((tallest - column.length) / 2) * rowHeight;
    column.forEach((id, i) => {
      placed.set(id, { id, layer: l, order: i, x: l * columnWidth, y: top + i * rowHeight });
    });
  });
  return {
    placed,
    layers,
    width: depth * columnWidth,
    height: (tallest - 1) * rowHeight,
  };
}

/** Words for a column, for the keyboard table and the chart's axis of meaning. */
export function layerName(layer: number, kinds: readonly LineageKind[]): string {
  const set = new Set(kinds);
  if (layer === 0 && set.size === 1 && set.has('source')) return 'Raw sources';
  const parts: string[] = [];
  if (set.has('source')) parts.push('sources');
  if (set.has('run')) parts.push('runs');
  if (set.has('snapshot')) parts.push('snapshots');
  if (set.has('release')) parts.push('releases');
  const text = parts.join(', ');
  return `Step ${layer + 1}: ${text}`;
}

/** Fill colours by kind and snapshot state (labels are always in words beside them). */
export const NODE_COLOURS = {
  source: '#8250df',
  trustedSource: '#1a7f37',
  untrustedSource: '#cf222e',
  ingest: '#0969da',
  transform: '#9a6700',
  merge: '#bc4c00',
  release: '#116329',
  draft: '#6e7781',
  scanned: '#0550ae',
  approved: '#1a7f37',
  released: '#116329',
  quarantined: '#a40e26',
  hidden: '#afb8c1',
} as const;

export function nodeColour(node: {
  kind: LineageKind;
  runKind?: string;
  state?: string | null;
  trusted?: boolean;
  registered?: boolean;
}): string {
  switch (node.kind) {
    case 'source':
      if (!node.registered) return NODE_COLOURS.source;
      return node.trusted ? NODE_COLOURS.trustedSource : NODE_COLOURS.untrustedSource;
    case 'run':
      return node.runKind === 'merge'
        ? NODE_COLOURS.merge
        : node.runKind === 'transform'
          ? NODE_COLOURS.transform
          : NODE_COLOURS.ingest;
    case 'release':
      return NODE_COLOURS.release;
    case 'snapshot': {
      const s = node.state;
      return s && s in NODE_COLOURS
        ? NODE_COLOURS[s as keyof typeof NODE_COLOURS]
        : NODE_COLOURS.hidden;
    }
  }
}
