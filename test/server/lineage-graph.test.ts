import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deriveSnapshot } from '../../src/engine/derive.js';
import { releaseSnapshot } from '../../src/engine/governance/gate.js';
import { grantRole, setSource } from '../../src/engine/governance/identities.js';
import { mergeSnapshots } from '../../src/engine/merge.js';
import type { SnapshotRow } from '../../src/store/metadata-store.js';
import { commit, mailRecords, scan } from '../governance/helpers.js';
import { fixture, ok, problem, type Fixture } from './helpers.js';

interface Graph {
  snapshot: string;
  ref: string;
  truncated: boolean;
  nodes: {
    kind: 'snapshot' | 'run' | 'source' | 'release';
    id: string;
    label: string;
    focus?: boolean;
    snapshot?: { ref: string; state: string | null; stage: string };
    run?: { kind: string; file?: string; actor: string };
    source?: { name: string | null; trusted: boolean; registered: boolean };
    release?: { model: string | null; ref: string };
  }[];
  edges: { from: string; to: string; relation: string; records?: number }[];
}

const GATE = 'version: 1\nintegrity: required\napprovals:\n  min: dataset\n';

let f: Fixture;
beforeEach(async () => {
  f = await fixture();
});
afterEach(async () => f.cleanup());

const as = (name: string) => ({ token: f.tokens[name]! });

/** Scans, approves (bob), gates (alice) and releases a snapshot, naming the model if given. */
async function release(row: SnapshotRow, model?: string): Promise<void> {
  await scan(f.root, row);
  const ref = `${row.dataset}@${row.version}`;
  await ok(f, 'POST', `/v1/snapshots/${ref}/approvals`, { ...as('bob'), json: {}, status: 201 });
  await ok(f, 'POST', `/v1/snapshots/${ref}/gate?name=gate.yaml`, {
    ...as('alice'),
    body: GATE,
    headers: { 'Content-Type': 'application/yaml' },
    status: 201,
  });
  await releaseSnapshot(f.root, row, model !== undefined ? { model } : {});
}

const graph = (ref: string, who = 'alice') =>
  ok<Graph>(f, 'GET', `/v1/snapshots/${ref}/lineage/graph`, as(who));
const node = (g: Graph, label: string) => g.nodes.find((n) => n.label === label);
const edge = (g: Graph, from: string, to: string) =>
  g.edges.find((e) => e.from === node(g, from)?.id && e.to === node(g, to)?.id);

describe('GET /v1/snapshots/{ref}/lineage/graph', () => {
  it('shows sources, runs, states, descendants and the model a snapshot was released for', async () => {
    for (const source of ['feed-a', 'feed-b'])
      await setSource(f.root, 'mail', source, { trusted: source === 'feed-a', external: false });
    const mail1 = await commit(f.root, 'mail', mailRecords(40));
    await release(mail1, 'spam-filter-v3');
    const mail2 = await deriveSnapshot(
      f.root,
      mail1,
      { drop: new Set(['m-0000']), relabel: new Map([['m-0001', 'spam']]) },
      { message: 'review', command: 'cordon review apply', params: { scan: 'x' } },
    );
    await grantRole(f.root, 'bob', 'steward', 'other');
    await grantRole(f.root, 'alice', 'steward', 'other');
    const other1 = await commit(f.root, 'other', mailRecords(6, { prefix: 'o' }));
    const corpus = await mergeSnapshots(f.root, 'corpus', [mail2, other1], {
      onConflict: 'error',
      stage: 'train',
    });
    await grantRole(f.root, 'alice', 'steward', 'corpus');

    const g = await graph('mail@1');
    expect(g).toMatchObject({ snapshot: mail1.id, ref: 'mail@1', truncated: false });
    // Upstream: the ingest of test.jsonl, fed by two record sources.
    expect(node(g, 'mail@1')).toMatchObject({
      focus: true,
      snapshot: { state: 'released', stage: 'raw' },
    });
    expect(node(g, 'ingest test.jsonl')).toMatchObject({
      kind: 'run',
      run: { kind: 'ingest', file: 'test.jsonl', actor: 'root' },
    });
    expect(node(g, 'feed-a')).toMatchObject({
      kind: 'source',
      source: { name: 'feed-a', trusted: true, registered: true },
    });
    expect(node(g, 'feed-b')?.source).toMatchObject({ trusted: false, registered: true });
    expect(edge(g, 'feed-a', 'ingest test.jsonl')).toMatchObject({
      relation: 'records',
      records: 20,
    });
    expect(edge(g, 'ingest test.jsonl', 'mail@1')?.relation).toBe('output');
    // Released for a model.
    expect(node(g, 'spam-filter-v3')).toMatchObject({
      kind: 'release',
      release: { model: 'spam-filter-v3', ref: 'mail@1' },
    });
    expect(edge(g, 'mail@1', 'spam-filter-v3')?.relation).toBe('release');
    // Downstream: the transform to mail@2, the merge with other@1 into the train-stage corpus.
    expect(node(g, 'mail@2')).toMatchObject({ snapshot: { state: 'draft' } });
    expect(edge(g, 'mail@1', 'transform')?.relation).toBe('input');
    expect(edge(g, 'transform', 'mail@2')?.relation).toBe('output');
    expect(node(g, 'corpus@1')).toMatchObject({ snapshot: { stage: 'train' } });
    expect(edge(g, 'mail@2', 'merge')?.relation).toBe('input');
    expect(edge(g, 'other@1', 'merge')?.relation).toBe('input');
    expect(edge(g, 'merge', 'corpus@1')?.relation).toBe('output');
    // Every edge joins two nodes of the graph.
    const ids = new Set(g.nodes.map((n) => n.id));
    for (const e of g.edges) expect(ids.has(e.from) && ids.has(e.to), JSON.stringify(e)).toBe(true);

    // From the corpus: both ingests and their sources upstream, and mail@1's release.
    const c = await graph('corpus@1');
    expect(c.snapshot).toBe(corpus.id);
    expect(
      c.nodes
        .filter((n) => n.kind === 'run')
        .map((n) => n.label)
        .sort(),
    ).toEqual(['ingest test.jsonl', 'ingest test.jsonl', 'merge', 'transform']);
    expect(c.nodes.filter((n) => n.kind === 'source')).toHaveLength(4);
    expect(node(c, 'spam-filter-v3')).toBeDefined();

    // Without a model, the release is a plain marker.
    await release(other1);
    const o = await graph('other@1');
    expect(node(o, 'released')).toMatchObject({
      kind: 'release',
      release: { model: null, ref: 'other@1' },
    });
  });

  it('links an earlier version and leaves out datasets the caller may not read', async () => {
    await commit(f.root, 'mail', mailRecords(10));
    const mail2 = await commit(f.root, 'mail', mailRecords(12));
    await mergeSnapshots(
      f.root,
      'secret-corpus',
      [mail2, await commit(f.root, 'x', mailRecords(2, { prefix: 'x' }))],
      {
        onConflict: 'error',
        stage: 'train',
      },
    );
    const g = await graph('mail@2');
    // A fresh ingest over mail@1: mail@1 is its parent, not its input.
    expect(edge(g, 'mail@1', 'ingest test.jsonl')?.relation).toBe('parent');
    expect(g.edges.filter((e) => e.relation === 'input')).toEqual([]);
    // The record sources of the ingest (the earlier version's own ingest is not walked).
    expect(g.nodes.filter((n) => n.kind === 'source')).toHaveLength(2);
    // alice may not read secret-corpus: the merge downstream is left out.
    expect(node(g, 'secret-corpus@1')).toBeUndefined();
    expect(node(g, 'merge')).toBeUndefined();
    const asRoot = await graph('mail@2', 'root');
    expect(node(asRoot, 'secret-corpus@1')).toBeDefined();
    expect(node(asRoot, 'x@1')).toBeDefined();

    await problem(f, 'GET', '/v1/snapshots/mail@2/lineage/graph', { status: 403 }, as('carol'));
    await problem(f, 'GET', '/v1/snapshots/mail@9/lineage/graph', { status: 404 }, as('alice'));
  });
});
