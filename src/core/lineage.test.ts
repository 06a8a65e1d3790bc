import { describe, expect, it } from 'vitest';
import { isCordonError } from './errors.js';
import { sha256Hex } from './hashing.js';
import {
  lineageRoots,
  renderLineageText,
  type LineageGraph,
  type LineageRun,
  type SnapshotRef,
} from './lineage.js';

function snap(dataset: string, version: number, stage: string): SnapshotRef {
  return {
    id: sha256Hex(`snapshot ${dataset}@${version}`),
    dataset,
    version,
    root: sha256Hex(`root ${dataset}@${version}`),
    stage,
    recordCount: 100,
    createdAt: '2025-03-01T10:00:00.000Z',
  };
}

function run(
  id: string,
  kind: LineageRun['kind'],
  inputs: SnapshotRef[],
  output: SnapshotRef,
  extra: Partial<LineageRun> = {},
): LineageRun {
  return {
    id,
    kind,
    inputs,
    output,
    command: null,
    codeDigest: null,
    params: {},
    actor: 'alice',
    startedAt: '2025-03-01T10:00:00Z',
    finishedAt: '2025-03-01T10:01:00Z',
    ...extra,
  };
}

const short = (s: SnapshotRef): string => s.id.slice(0, 12);

// The diamond: one raw snapshot, transformed two ways, the two results merged.
const raw = snap('reviews', 1, 'raw');
const dedup = snap('reviews', 2, 'dedup');
const filtered = snap('reviews-en', 1, 'filtered');
const merged = snap('corpus', 1, 'merged');
const diamond: LineageGraph = {
  nodes: [raw, dedup, filtered, merged],
  runs: [
    run('r1', 'ingest', [], raw, {
      actor: 'carol',
      source: 'reviews.jsonl',
      command: 'cordon ingest reviews.jsonl',
    }),
    run('r2', 'transform', [raw], dedup, { actor: 'bob', command: 'python dedup.py' }),
    run('r3', 'transform', [raw], filtered, { actor: 'bob' }),
    run('r4', 'merge', [dedup, filtered], merged, { command: 'cordon merge reviews reviews-en' }),
  ],
};

describe('renderLineageText', () => {
  it('prints a diamond with the shared ancestor expanded once, then referenced', () => {
    const text = renderLineageText(diamond, merged.id);
    expect(text).toBe(
      [
        `corpus@1 merged [${short(merged)}] <- merge by alice (cordon merge reviews reviews-en)`,
        `  reviews@2 dedup [${short(dedup)}] <- transform by bob (python dedup.py)`,
        `    reviews@1 raw [${short(raw)}] <- ingest by carol (cordon ingest reviews.jsonl)`,
        `      source: reviews.jsonl`,
        `  reviews-en@1 filtered [${short(filtered)}] <- transform by bob`,
        `    reviews@1 raw [${short(raw)}] (see above)`,
        '',
      ].join('\n'),
    );
    const rawLines = text.split('\n').filter((l) => l.includes(`[${short(raw)}]`));
    expect(rawLines).toHaveLength(2);
    expect(rawLines.filter((l) => l.includes('<- ingest'))).toHaveLength(1);
    expect(rawLines.filter((l) => l.endsWith('(see above)'))).toHaveLength(1);
    expect(text.match(/source: /g)).toHaveLength(1);
  });

  it('starts wherever asked, and a raw snapshot is a tree of one', () => {
    expect(renderLineageText(diamond, dedup.id).split('\n')).toHaveLength(4);
    const lonely = snap('imported', 1, 'raw');
    expect(renderLineageText({ nodes: [lonely], runs: [] }, lonely.id)).toBe(
      `imported@1 raw [${short(lonely)}]\n`,
    );
  });

  it('finds a snapshot that is only a run output, and refuses an unknown one', () => {
    const graph: LineageGraph = { nodes: [], runs: diamond.runs };
    expect(renderLineageText(graph, merged.id)).toBe(renderLineageText(diamond, merged.id));
    let code: string | undefined;
    try {
      renderLineageText(diamond, sha256Hex('nope'));
    } catch (e) {
      code = isCordonError(e) ? e.code : 'other';
    }
    expect(code).toBe('SNAPSHOT_NOT_FOUND');
  });

  it('refuses a graph in which two runs claim the same output', () => {
    const graph: LineageGraph = {
      nodes: diamond.nodes,
      runs: [...diamond.runs, run('r5', 'transform', [raw], dedup)],
    };
    expect(() => renderLineageText(graph, merged.id)).toThrow(/output of two runs/);
  });

  it('keeps each snapshot on one line whatever the command holds', () => {
    const out = snap('out', 1, 'clean');
    const graph: LineageGraph = {
      nodes: [raw, out],
      runs: [run('x', 'transform', [raw], out, { command: 'sh -c "a\nb"\u001b[31m' })],
    };
    const first = renderLineageText(graph, out.id).split('\n')[0];
    expect(first).toBe(
      `out@1 clean [${short(out)}] <- transform by alice (sh -c "a\\nb"\\u001b[31m)`,
    );
  });

  it('walks a long chain without running out of stack', () => {
    const chain: SnapshotRef[] = [];
    const runs: LineageRun[] = [];
    for (let v = 1; v <= 20_000; v++) {
      const s = snap('long', v, 'step');
      const prev = chain[chain.length - 1];
      runs.push(run(`c${v}`, prev === undefined ? 'ingest' : 'transform', prev ? [prev] : [], s));
      chain.push(s);
    }
    const last = chain[chain.length - 1];
    if (last === undefined) throw new Error('empty chain');
    const lines = renderLineageText({ nodes: chain, runs }, last.id).trimEnd().split('\n');
    expect(lines).toHaveLength(20_000);
    expect(lines[lines.length - 1]).toMatch(/^ {39998}long@1 step /);
  });
});

describe('lineageRoots', () => {
  it('gives the shared raw snapshot of a diamond once', () => {
    expect(lineageRoots(diamond, merged.id)).toEqual([raw]);
  });

  it('gives every raw source of a merge, in tree order, and a raw snapshot itself', () => {
    const rawB = snap('forum', 1, 'raw');
    const imported = snap('legacy', 3, 'clean'); // no run recorded: lineage ends here too
    const out = snap('all', 1, 'merged');
    const graph: LineageGraph = {
      nodes: [...diamond.nodes, rawB, imported, out],
      runs: [
        ...diamond.runs,
        run('i2', 'ingest', [], rawB, { source: 'forum.csv' }),
        run('m2', 'merge', [merged, imported, rawB], out),
      ],
    };
    expect(lineageRoots(graph, out.id)).toEqual([raw, imported, rawB]);
    expect(lineageRoots(graph, raw.id)).toEqual([raw]);
    expect(lineageRoots(graph, imported.id)).toEqual([imported]);
  });
});
