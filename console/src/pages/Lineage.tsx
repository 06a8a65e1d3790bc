import { useEffect, useMemo, useRef, useState } from 'react';
import { seg } from '../api/client.js';
import { useApi } from '../api/hooks.js';
import { Chart, type ChartOption } from '../components/Chart.js';
import { ErrorView, Loading } from '../components/ErrorView.js';
import { n, short, when } from '../components/format.js';
import { StateBadge } from '../components/StateBadge.js';
import { href, navigate } from '../router.js';
import { ExportLinks } from './lineage-export.js';
import {
  layerName,
  layoutLineage,
  nodeColour,
  NODE_COLOURS,
  type Layout,
} from './lineage-layout.js';
import type { LineageEdge, LineageGraph, LineageNode } from './snapshot-types.js';
import './Snapshot.css';

const KIND_WORD: Record<LineageNode['kind'], string> = {
  source: 'Raw source',
  run: 'Run',
  snapshot: 'Snapshot',
  release: 'Release',
};

const SYMBOL: Record<LineageNode['kind'], string> = {
  source: 'diamond',
  run: 'rect',
  snapshot: 'circle',
  release: 'triangle',
};

function colourOf(node: LineageNode): string {
  switch (node.kind) {
    case 'source':
      return nodeColour({
        kind: 'source',
        trusted: node.source.trusted,
        registered: node.source.registered,
      });
    case 'run':
      return nodeColour({ kind: 'run', runKind: node.run.kind });
    case 'snapshot':
      return nodeColour({ kind: 'snapshot', state: node.snapshot.state });
    case 'release':
      return nodeColour({ kind: 'release' });
  }
}

/** A second line under a node's label, in words. */
function caption(node: LineageNode): string {
  switch (node.kind) {
    case 'source':
      return node.source.registered
        ? node.source.trusted
          ? 'trusted source'
          : 'untrusted source'
        : 'unregistered source';
    case 'run':
      return node.run.kind === 'ingest' ? `ingest by ${node.run.actor}` : `by ${node.run.actor}`;
    case 'snapshot':
      return `${node.snapshot.state ?? 'not readable'} · ${node.snapshot.stage} · ${n(node.snapshot.records)}`;
    case 'release':
      return node.release.model ? 'model' : `by ${node.release.releasedBy}`;
  }
}

/**
 * Where a snapshot came from and what was made of it: raw sources, ingests, snapshots,
 * transforms and merges, train-ready snapshots and the models they were released for, laid out
 * in columns left to right. The chart is for the eye; the table below lists the same nodes and
 * links for the keyboard and screen readers.
 */
export function LineagePage({ snapshot }: { snapshot: string }) {
  const { data, error, loading } = useApi<LineageGraph>(
    `/v1/snapshots/${seg(snapshot)}/lineage/graph`,
  );
  const [selected, setSelected] = useState<string | null>(null);
  return (
    <main>
      <nav aria-label="Breadcrumb" className="snap-crumbs">
        <a href={href('datasets')}>Datasets</a> /{' '}
        <a href={href('snapshots', data?.ref ?? snapshot)}>{data?.ref ?? snapshot}</a> /{' '}
        <span aria-current="page">lineage</span>
      </nav>
      <h1>Lineage of {data?.ref ?? snapshot}</h1>
      <ErrorView error={error} />
      {loading && !data ? <Loading what="the lineage" /> : null}
      {data ? <LineageView graph={data} selected={selected} onSelect={setSelected} /> : null}
    </main>
  );
}

function LineageView(props: {
  graph: LineageGraph;
  selected: string | null;
  onSelect: (id: string | null) => void;
}) {
  const { graph, selected, onSelect } = props;
  const layout = useMemo(
    () => layoutLineage(graph.nodes, graph.edges, { columnWidth: 180, rowHeight: 100 }),
    [graph],
  );
  const byId = useMemo(() => new Map(graph.nodes.map((x) => [x.id, x])), [graph]);
  const option = useMemo(() => chartOption(graph, layout, selected), [graph, layout, selected]);
  const chosen = selected ? byId.get(selected) : undefined;
  const counts = { runs: 0, snapshots: 0, sources: 0, releases: 0 };
  for (const x of graph.nodes)
    if (x.kind === 'run') counts.runs++;
    else if (x.kind === 'snapshot') counts.snapshots++;
    else if (x.kind === 'source') counts.sources++;
    else counts.releases++;
  return (
    <>
      <p>
        {counts.sources} raw sources, {counts.runs} runs, {counts.snapshots} snapshots,{' '}
        {counts.releases} releases.{' '}
        <span className="muted">
          Select a snapshot in the graph to open it; select a run, source or release to see its
          details.
        </span>
      </p>
      {graph.truncated ? (
        <p className="error" role="status">
          The graph stops after 300 snapshots downstream; open a later snapshot to see further.
        </p>
      ) : null}
      <div className="toolbar">
        <a href={href('snapshots', graph.ref)}>Back to {graph.ref}</a>
        <ExportLinks snapshot={graph.snapshot} ref_={graph.ref} />
      </div>
      <Legend />
      <div className="lineage-chart">
        <Chart
          option={option}
          label={`Lineage graph of ${graph.ref}: ${graph.nodes.length} nodes in ${layout.layers.length} columns. The table below lists the same nodes.`}
          height={Math.max(320, Math.min(960, layout.height * 0.9 + 200))}
          onClick={(p) => {
            const id = (p.data as { id?: string } | undefined)?.id;
            const node = id ? byId.get(id) : undefined;
            if (!node) return;
            if (node.kind === 'snapshot') navigate(href('snapshots', node.snapshot.ref));
            else onSelect(node.id);
          }}
        />
      </div>
      <div aria-live="polite">
        {chosen ? <Details node={chosen} onClose={() => onSelect(null)} /> : null}
      </div>
      <NodeTable graph={graph} layout={layout} byId={byId} onSelect={onSelect} />
    </>
  );
}

/** ECharts reads braces in a label as rich-text markup: names must not carry any. */
const richText = (text: string) => text.replace(/[{}]/g, (c) => (c === '{' ? '(' : ')'));

function chartOption(graph: LineageGraph, layout: Layout, selected: string | null): ChartOption {
  const data = graph.nodes.map((node) => {
    const p = layout.placed.get(node.id)!;
    const focus = node.kind === 'snapshot' && node.focus;
    return {
      id: node.id,
      name: node.id,
      x: p.x,
      y: p.y,
      symbol: SYMBOL[node.kind],
      symbolSize: node.kind === 'snapshot' ? (focus ? 30 : 22) : 18,
      itemStyle: {
        color: colourOf(node),
        borderColor: focus || node.id === selected ? '#1b1f24' : '#ffffff',
        borderWidth: focus || node.id === selected ? 3 : 1,
      },
      label: {
        show: true,
        position: 'bottom',
        color: '#1b1f24',
        fontWeight: focus ? 'bold' : 'normal',
        distance: 6,
        lineHeight: 16,
        formatter: `{t|${richText(node.label.length > 28 ? `${node.label.slice(0, 27)}…` : node.label)}}\n{c|${richText(caption(node))}}`,
        rich: {
          t: {
            color: '#1b1f24',
            fontSize: 12,
            lineHeight: 16,
            fontWeight: focus ? 'bold' : 'normal',
          },
          c: { color: '#57606a', fontSize: 11, lineHeight: 14 },
        },
      },
      tooltip: { formatter: `${KIND_WORD[node.kind]}: ${node.label} (${caption(node)})` },
    };
  });
  const links = graph.edges.map((e) => ({
    source: e.from,
    target: e.to,
    lineStyle: {
      color: e.relation === 'parent' ? '#8c959f' : '#57606a',
      type: e.relation === 'parent' ? 'dashed' : 'solid',
      width: e.relation === 'records' ? Math.min(6, 1 + Math.log10(1 + (e.records ?? 0))) : 1.5,
    },
    label:
      e.relation === 'records' || e.relation === 'parent'
        ? {
            show: true,
            color: '#57606a',
            fontSize: 11,
            formatter: e.relation === 'parent' ? 'earlier version' : `${n(e.records)} records`,
          }
        : { show: false },
  }));
  return {
    tooltip: { trigger: 'item', confine: true },
    series: [
      {
        type: 'graph',
        layout: 'none',
        // One scale both ways: stretched coordinates would draw circles as ovals.
        preserveAspect: true,
        roam: true,
        // Room for labels around the outermost nodes.
        left: 90,
        right: 110,
        top: 30,
        bottom: 60,
        edgeSymbol: ['none', 'arrow'],
        edgeSymbolSize: 8,
        data,
        links,
        emphasis: { focus: 'adjacency' },
      },
    ],
  };
}

function Legend() {
  const items: [string, string][] = [
    ['trusted source', NODE_COLOURS.trustedSource],
    ['untrusted source', NODE_COLOURS.untrustedSource],
    ['unregistered source', NODE_COLOURS.source],
    ['ingest', NODE_COLOURS.ingest],
    ['transform', NODE_COLOURS.transform],
    ['merge', NODE_COLOURS.merge],
    ['draft', NODE_COLOURS.draft],
    ['scanned', NODE_COLOURS.scanned],
    ['approved / released', NODE_COLOURS.approved],
    ['quarantined', NODE_COLOURS.quarantined],
  ];
  return (
    <ul className="lineage-legend" aria-label="Colours in the graph">
      {items.map(([label, colour]) => (
        <li key={label}>
          <span className="lineage-swatch" style={{ background: colour }} aria-hidden="true" />
          {label}
        </li>
      ))}
      <li className="muted">◆ source · ■ run · ● snapshot · ▲ release · dashed: earlier version</li>
    </ul>
  );
}

function Details({ node, onClose }: { node: LineageNode; onClose: () => void }) {
  const heading = useRef<HTMLHeadingElement>(null);
  // Take the reader to what they picked (from the table or the graph).
  useEffect(() => heading.current?.focus(), [node.id]);
  return (
    <section className="panel" aria-labelledby="lineage-detail-h">
      <h2 id="lineage-detail-h" ref={heading} tabIndex={-1}>
        {KIND_WORD[node.kind]}: {node.label}
      </h2>
      {node.kind === 'run' ? (
        <dl className="snap-facts">
          <dt>Kind</dt>
          <dd>{node.run.kind}</dd>
          <dt>Command</dt>
          <dd>
            {node.run.command ? (
              <code>{node.run.command}</code>
            ) : (
              <span className="muted">(not recorded)</span>
            )}
          </dd>
          {node.run.file ? (
            <>
              <dt>File</dt>
              <dd>{node.run.file}</dd>
            </>
          ) : null}
          <dt>Parameters</dt>
          <dd>
            {Object.keys(node.run.params).length === 0 ? (
              <span className="muted">(none)</span>
            ) : (
              <ul>
                {Object.entries(node.run.params).map(([k, v]) => (
                  <li key={k}>
                    <code>{k}</code> = <code>{v}</code>
                  </li>
                ))}
              </ul>
            )}
          </dd>
          <dt>Actor</dt>
          <dd>{node.run.actor}</dd>
          <dt>Code digest</dt>
          <dd>
            {node.run.codeDigest ? (
              <code className="snap-digest">{node.run.codeDigest}</code>
            ) : (
              <span className="muted">(not recorded)</span>
            )}
          </dd>
          <dt>Started</dt>
          <dd>{when(node.run.startedAt)}</dd>
          <dt>Finished</dt>
          <dd>{when(node.run.finishedAt)}</dd>
          <dt>Run id</dt>
          <dd>
            <code>{node.run.id}</code>
          </dd>
        </dl>
      ) : null}
      {node.kind === 'source' ? (
        <dl className="snap-facts">
          <dt>Dataset</dt>
          <dd>{node.source.dataset}</dd>
          <dt>Registered</dt>
          <dd>{node.source.registered ? 'yes' : 'no'}</dd>
          <dt>Trusted</dt>
          <dd>{node.source.trusted ? 'yes' : 'no'}</dd>
          <dt>External</dt>
          <dd>{node.source.external ? 'yes' : 'no'}</dd>
        </dl>
      ) : null}
      {node.kind === 'release' ? (
        <dl className="snap-facts">
          <dt>Model</dt>
          <dd>{node.release.model ?? <span className="muted">(none named)</span>}</dd>
          <dt>Snapshot</dt>
          <dd>
            <a href={href('snapshots', node.release.ref)}>{node.release.ref}</a>
          </dd>
          <dt>Released by</dt>
          <dd>{node.release.releasedBy}</dd>
          <dt>When</dt>
          <dd>{when(node.release.releasedAt)}</dd>
          <dt>Audit event</dt>
          <dd>#{node.release.event}</dd>
        </dl>
      ) : null}
      {node.kind === 'snapshot' ? (
        <p>
          <a href={href('snapshots', node.snapshot.ref)}>Open {node.snapshot.ref}</a>
        </p>
      ) : null}
      <button type="button" onClick={onClose}>
        Close details
      </button>
    </section>
  );
}

function NodeTable(props: {
  graph: LineageGraph;
  layout: Layout;
  byId: Map<string, LineageNode>;
  onSelect: (id: string) => void;
}) {
  const { graph, layout, byId, onSelect } = props;
  const into = new Map<string, LineageEdge[]>();
  const out = new Map<string, LineageEdge[]>();
  for (const e of graph.edges) {
    into.set(e.to, [...(into.get(e.to) ?? []), e]);
    out.set(e.from, [...(out.get(e.from) ?? []), e]);
  }
  const name = (id: string) => byId.get(id)?.label ?? id;
  const describe = (edges: LineageEdge[] | undefined, side: 'from' | 'to') =>
    (edges ?? [])
      .map((e) => {
        const other = name(e[side]);
        if (e.relation === 'records') return `${other} (${n(e.records)} records)`;
        if (e.relation === 'parent') return `${other} (earlier version)`;
        return other;
      })
      .join(', ') || '–';
  return (
    <section aria-labelledby="lineage-table-h">
      <h2 id="lineage-table-h">Nodes, column by column</h2>
      <table className="table">
        <caption className="sr-only">Every node of the lineage graph, left to right</caption>
        <thead>
          <tr>
            <th scope="col">Column</th>
            <th scope="col">Kind</th>
            <th scope="col">Name</th>
            <th scope="col">State / detail</th>
            <th scope="col">Comes from</th>
            <th scope="col">Goes to</th>
          </tr>
        </thead>
        <tbody>
          {layout.layers.map((column, l) =>
            column.map((id, i) => {
              const node = byId.get(id)!;
              return (
                <tr key={id}>
                  <td>
                    {i === 0
                      ? layerName(
                          l,
                          column.map((c) => byId.get(c)!.kind),
                        )
                      : ''}
                  </td>
                  <td>{KIND_WORD[node.kind]}</td>
                  <th scope="row">
                    {node.kind === 'snapshot' ? (
                      <>
                        <a href={href('snapshots', node.snapshot.ref)}>{node.label}</a>
                        {node.focus ? ' (this one)' : null}{' '}
                        {!node.focus ? (
                          <a
                            className="muted"
                            href={href('lineage', node.snapshot.ref)}
                            aria-label={`Lineage of ${node.label}`}
                          >
                            lineage
                          </a>
                        ) : null}
                      </>
                    ) : (
                      <button type="button" className="snap-link" onClick={() => onSelect(id)}>
                        {node.label}
                      </button>
                    )}
                  </th>
                  <td>
                    {node.kind === 'snapshot' ? (
                      <>
                        {node.snapshot.state ? <StateBadge state={node.snapshot.state} /> : null}{' '}
                        {node.snapshot.stage}, {n(node.snapshot.records)} records,{' '}
                        <code>{short(node.snapshot.id)}</code>
                      </>
                    ) : (
                      caption(node)
                    )}
                  </td>
                  <td>{describe(into.get(id), 'from')}</td>
                  <td>{describe(out.get(id), 'to')}</td>
                </tr>
              );
            }),
          )}
        </tbody>
      </table>
    </section>
  );
}
