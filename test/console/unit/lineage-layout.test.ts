import { describe, expect, it } from 'vitest';
import {
  layerName,
  layoutLineage,
  nodeColour,
  NODE_COLOURS,
  type LayoutEdge,
  type LayoutNode,
} from '../../../console/src/pages/lineage-layout.js';

const n = (id: string, kind: LayoutNode['kind'], label = id): LayoutNode => ({ id, kind, label });
const e = (from: string, to: string): LayoutEdge => ({ from, to });

describe('layoutLineage', () => {
  it('puts sources, ingests, snapshots, transforms, derived snapshots and releases left to right', () => {
    const nodes = [
      n('rel', 'release'),
      n('s2', 'snapshot'),
      n('t', 'run'),
      n('s1', 'snapshot'),
      n('ing', 'run'),
      n('feed', 'source'),
    ];
    const edges = [e('feed', 'ing'), e('ing', 's1'), e('s1', 't'), e('t', 's2'), e('s2', 'rel')];
    const { placed, layers, width } = layoutLineage(nodes, edges, { columnWidth: 100 });
    expect(layers).toEqual([['feed'], ['ing'], ['s1'], ['t'], ['s2'], ['rel']]);
    expect([...placed.values()].map((p) => [p.id, p.x])).toEqual(
      expect.arrayContaining([
        ['feed', 0],
        ['ing', 100],
        ['rel', 500],
      ]),
    );
    expect(width).toBe(500);
  });

  it('keeps each kind in its column even without predecessors', () => {
    // An ingest with no known source, a snapshot shown only as a merge input, a release.
    const { placed } = layoutLineage(
      [n('ing', 'run'), n('lone', 'snapshot'), n('r', 'release')],
      [],
    );
    expect(placed.get('ing')!.layer).toBe(1);
    expect(placed.get('lone')!.layer).toBe(2);
    expect(placed.get('r')!.layer).toBe(3);
  });

  it('places a merge after the furthest of its inputs', () => {
    const { placed } = layoutLineage(
      [
        n('a', 'snapshot'),
        n('t', 'run'),
        n('b', 'snapshot'),
        n('other', 'snapshot'),
        n('m', 'run'),
        n('out', 'snapshot'),
      ],
      [e('a', 't'), e('t', 'b'), e('b', 'm'), e('other', 'm'), e('m', 'out')],
    );
    expect(placed.get('m')!.layer).toBe(placed.get('b')!.layer + 1);
    expect(placed.get('other')!.layer).toBe(2);
    expect(placed.get('out')!.layer).toBe(placed.get('m')!.layer + 1);
  });

  it('orders a column by its neighbours, so parallel chains do not cross', () => {
    // Two sources feeding two ingests; labels would sort the ingests the other way round.
    const nodes = [
      n('src-a', 'source', 'a'),
      n('src-b', 'source', 'b'),
      n('ing-a', 'run', 'z ingest'),
      n('ing-b', 'run', 'y ingest'),
      n('snap-a', 'snapshot', 'q'),
      n('snap-b', 'snapshot', 'p'),
    ];
    const edges = [
      e('src-a', 'ing-a'),
      e('src-b', 'ing-b'),
      e('ing-a', 'snap-a'),
      e('ing-b', 'snap-b'),
    ];
    const { placed } = layoutLineage(nodes, edges);
    const row = (id: string) => placed.get(id)!.order;
    expect(row('src-a') < row('src-b')).toBe(row('ing-a') < row('ing-b'));
    expect(row('ing-a') < row('ing-b')).toBe(row('snap-a') < row('snap-b'));
  });

  it('centres short columns on the tallest and survives cycles and stray edges', () => {
    const { placed, height } = layoutLineage(
      [n('s1', 'source'), n('s2', 'source'), n('s3', 'source'), n('r', 'run')],
      [e('s1', 'r'), e('s2', 'r'), e('s3', 'r'), e('nowhere', 'r')],
      { rowHeight: 10 },
    );
    expect(height).toBe(20);
    expect(placed.get('r')!.y).toBe(10);
    const cyclic = layoutLineage(
      [n('a', 'snapshot'), n('b', 'run'), n('c', 'snapshot')],
      [e('a', 'b'), e('b', 'a'), e('b', 'c')],
    );
    expect(cyclic.placed.size).toBe(3);
  });

  it('handles an empty graph', () => {
    expect(layoutLineage([], [])).toMatchObject({ layers: [[]], width: 0, height: 0 });
  });
});

describe('names and colours', () => {
  it('names columns in words', () => {
    expect(layerName(0, ['source'])).toBe('Raw sources');
    expect(layerName(3, ['run', 'release'])).toBe('Step 4: runs, releases');
  });

  it('colours by kind, run kind, trust and state', () => {
    expect(nodeColour({ kind: 'snapshot', state: 'quarantined' })).toBe(NODE_COLOURS.quarantined);
    expect(nodeColour({ kind: 'snapshot', state: null })).toBe(NODE_COLOURS.hidden);
    expect(nodeColour({ kind: 'run', runKind: 'merge' })).toBe(NODE_COLOURS.merge);
    expect(nodeColour({ kind: 'source', registered: true, trusted: false })).toBe(
      NODE_COLOURS.untrustedSource,
    );
    expect(nodeColour({ kind: 'source', registered: false })).toBe(NODE_COLOURS.source);
  });
});
