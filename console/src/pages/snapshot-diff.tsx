import { useMemo, useState, type FormEvent } from 'react';
import { useApi } from '../api/hooks.js';
import type { Snapshot, SnapshotDetail, SnapshotDiff } from '../api/types.js';
import { Chart, type ChartOption } from '../components/Chart.js';
import { ErrorView, Loading } from '../components/ErrorView.js';
import { n, short } from '../components/format.js';
import { Pager } from '../components/Pager.js';
import { href, setQuery } from '../router.js';
import { RecordView } from './snapshot-record.js';
import type { ChangeKind, DiffRows } from './snapshot-types.js';

const PAGE = 100;
const CHART_ROWS = 20;

/**
 * A label or source filter as it sits in the hash: `v:<value>`, or `none` for records without
 * one (the hash cannot hold an empty value, and the API takes the empty string for "none").
 */
export type Filter = string | null | undefined;
export const encodeFilter = (v: Filter): string | undefined =>
  v === undefined ? undefined : v === null ? 'none' : `v:${v}`;
export const decodeFilter = (s: string | null): Filter =>
  s === null ? undefined : s === 'none' ? null : s.startsWith('v:') ? s.slice(2) : undefined;
const named = (v: string | null, none: string) => v ?? none;

export interface DiffQuery {
  against: string | null;
  /** Undefined: the first kind with rows. */
  change: ChangeKind | undefined;
  offset: number;
  label: Filter;
  labelFrom: Filter;
  labelTo: Filter;
  source: Filter;
}

export function readDiffQuery(q: URLSearchParams): DiffQuery {
  const change = q.get('change');
  return {
    against: q.get('against'),
    change: change === 'added' || change === 'removed' || change === 'changed' ? change : undefined,
    offset: Math.max(0, Number(q.get('dOffset')) || 0),
    label: decodeFilter(q.get('label')),
    labelFrom: decodeFilter(q.get('labelFrom')),
    labelTo: decodeFilter(q.get('labelTo')),
    source: decodeFilter(q.get('source')),
  };
}

const NO_FILTERS = {
  label: undefined,
  labelFrom: undefined,
  labelTo: undefined,
  source: undefined,
};

/** Moves the row list: a kind of change and filters, from its first page. */
function showRows(change: ChangeKind, filters: Partial<Record<keyof typeof NO_FILTERS, Filter>>) {
  const f = { ...NO_FILTERS, ...filters };
  setQuery({
    change,
    dOffset: undefined,
    label: encodeFilter(f.label),
    labelFrom: encodeFilter(f.labelFrom),
    labelTo: encodeFilter(f.labelTo),
    source: encodeFilter(f.source),
  });
  document.getElementById('diff-rows-h')?.scrollIntoView({ block: 'start' });
}

/** The Diff tab: this snapshot against another (by default its first parent). */
export function DiffTab(props: {
  snap: SnapshotDetail;
  snapshots: Snapshot[] | undefined;
  query: DiffQuery;
}) {
  const { snap, snapshots, query } = props;
  const against = query.against ?? snap.parents[0] ?? null;
  const refOf = (idOrRef: string) =>
    snapshots?.find((s) => s.id === idOrRef || s.ref === idOrRef)?.ref ?? idOrRef;
  return (
    <section aria-labelledby="diff-h">
      <h2 id="diff-h">Compare with another snapshot</h2>
      <AgainstChooser
        snap={snap}
        snapshots={snapshots}
        current={against ? refOf(against) : ''}
        key={against ?? ''}
      />
      {against === null ? (
        <p>This snapshot has no parent: choose a snapshot to compare it with.</p>
      ) : (
        <DiffView from={against} fromRef={refOf(against)} snap={snap} query={query} />
      )}
    </section>
  );
}

function AgainstChooser(props: {
  snap: SnapshotDetail;
  snapshots: Snapshot[] | undefined;
  current: string;
}) {
  const [text, setText] = useState(props.current);
  const others = (props.snapshots ?? []).filter((s) => s.id !== props.snap.id).reverse();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const v = text.trim();
    if (v) setQuery({ against: v, dOffset: undefined, ...encodeAll(NO_FILTERS) });
  };
  return (
    <form className="toolbar" onSubmit={submit} aria-label="Snapshot to compare with">
      <div className="field">
        <label htmlFor="diff-pick">Snapshot of {props.snap.dataset}</label>
        <select
          id="diff-pick"
          value={others.some((s) => s.ref === text) ? text : ''}
          onChange={(e) => {
            setText(e.target.value);
            if (e.target.value)
              setQuery({ against: e.target.value, dOffset: undefined, ...encodeAll(NO_FILTERS) });
          }}
        >
          <option value="">(choose)</option>
          {others.map((s) => (
            <option key={s.id} value={s.ref}>
              {s.ref} · {s.stage} · {n(s.records)} records
              {props.snap.parents.includes(s.id) ? ' · parent' : ''}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="diff-ref">or any snapshot reference</label>
        <input
          id="diff-ref"
          value={text}
          placeholder="dataset@3, dataset@tag or an id prefix"
          onChange={(e) => setText(e.target.value)}
          size={32}
        />
      </div>
      <button type="submit" className="snap-end">
        Compare
      </button>
    </form>
  );
}

function encodeAll(f: Record<string, Filter>): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(f).map(([k, v]) => [k, encodeFilter(v)]));
}

function DiffView(props: {
  from: string;
  fromRef: string;
  snap: SnapshotDetail;
  query: DiffQuery;
}) {
  const { snap, query } = props;
  const { data, error, loading } = useApi<SnapshotDiff>('/v1/diff', {
    from: props.from,
    to: snap.id,
    limit: 0,
  });
  if (error) return <ErrorView error={error} />;
  if (loading || !data)
    return <Loading what="the difference (large snapshots take a few seconds the first time)" />;
  const fromId = data.from.snapshot;
  return (
    <>
      <p>
        From <a href={href('snapshots', data.from.ref)}>{data.from.ref}</a>{' '}
        <span className="muted">({short(fromId)})</span> to <strong>{data.to.ref}</strong>.
      </p>
      <div className="cards">
        {(['added', 'removed', 'changed'] as const).map((k) => (
          <div className="card" key={k}>
            <div className="muted">{k[0]!.toUpperCase() + k.slice(1)}</div>
            <div className="value">{n(data[k])}</div>
            {data[k] > 0 ? (
              <button type="button" onClick={() => showRows(k, {})}>
                List {k} rows
              </button>
            ) : null}
          </div>
        ))}
        <div className="card">
          <div className="muted">Unchanged</div>
          <div className="value">{n(data.unchanged)}</div>
        </div>
      </div>
      <div className="grid2">
        <LabelChanges diff={data} />
        <ClassesBeforeAfter diff={data} />
      </div>
      <BySource diff={data} />
      <RowList fromId={fromId} toId={data.to.snapshot} diff={data} query={query} />
    </>
  );
}

function LabelChanges({ diff }: { diff: SnapshotDiff }) {
  const pairs = diff.labelChanges;
  const option = useMemo<ChartOption>(() => {
    const top = pairs.slice(0, CHART_ROWS).reverse();
    return {
      grid: { left: 8, right: 32, top: 8, bottom: 8, containLabel: true },
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      xAxis: { type: 'value' },
      yAxis: {
        type: 'category',
        data: top.map((p) => `${named(p.from, '(none)')} → ${named(p.to, '(none)')}`),
      },
      series: [
        {
          type: 'bar',
          name: 'Records relabelled',
          data: top.map((p) => p.records),
          itemStyle: { color: '#bc4c00' },
          label: { show: true, position: 'right', color: '#1b1f24' },
        },
      ],
    };
  }, [pairs]);
  return (
    <section className="panel" aria-labelledby="pairs-h">
      <h3 id="pairs-h">Label changes</h3>
      {pairs.length === 0 ? (
        <p className="muted">No record changed its label.</p>
      ) : (
        <>
          <Chart
            option={option}
            label={`Records relabelled, by label before and after: ${pairs.length} pairs`}
            height={Math.min(420, 60 + Math.min(pairs.length, CHART_ROWS) * 26)}
          />
          <table className="table">
            <caption className="sr-only">Records relabelled by class pair</caption>
            <thead>
              <tr>
                <th scope="col">Before</th>
                <th scope="col">After</th>
                <th scope="col" className="num">
                  Records
                </th>
              </tr>
            </thead>
            <tbody>
              {pairs.map((p) => (
                <tr key={JSON.stringify([p.from, p.to])}>
                  <td>{named(p.from, '(none)')}</td>
                  <td>{named(p.to, '(none)')}</td>
                  <td className="num">
                    <button
                      type="button"
                      className="snap-link"
                      aria-label={`List the ${p.records} records relabelled from ${named(p.from, 'no label')} to ${named(p.to, 'no label')}`}
                      onClick={() => showRows('changed', { labelFrom: p.from, labelTo: p.to })}
                    >
                      {n(p.records)}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

function ClassesBeforeAfter({ diff }: { diff: SnapshotDiff }) {
  const rows = useMemo(
    () =>
      [...diff.classCounts].sort(
        (a, b) => Math.max(b.before, b.after) - Math.max(a.before, a.after),
      ),
    [diff.classCounts],
  );
  const option = useMemo<ChartOption>(() => {
    const top = rows.slice(0, CHART_ROWS);
    return {
      grid: { left: 8, right: 8, top: 32, bottom: 8, containLabel: true },
      legend: { top: 0 },
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      xAxis: { type: 'category', data: top.map((c) => named(c.label, '(none)')) },
      yAxis: { type: 'value' },
      series: [
        {
          type: 'bar',
          name: `Before (${diff.from.ref})`,
          data: top.map((c) => c.before),
          itemStyle: { color: '#8c959f' },
        },
        {
          type: 'bar',
          name: `After (${diff.to.ref})`,
          data: top.map((c) => c.after),
          itemStyle: { color: '#0969da' },
        },
      ],
    };
  }, [rows, diff.from.ref, diff.to.ref]);
  return (
    <section className="panel" aria-labelledby="before-after-h">
      <h3 id="before-after-h">Class counts before and after</h3>
      <Chart option={option} label="Records per label before and after" height={260} />
      <table className="table">
        <caption className="sr-only">Records per label before and after</caption>
        <thead>
          <tr>
            <th scope="col">Label</th>
            <th scope="col" className="num">
              Before
            </th>
            <th scope="col" className="num">
              After
            </th>
            <th scope="col" className="num">
              Change
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((c) => (
            <tr key={named(c.label, '\0')}>
              <th scope="row">{named(c.label, '(none)')}</th>
              <td className="num">{n(c.before)}</td>
              <td className="num">{n(c.after)}</td>
              <td className="num">
                {c.after - c.before > 0 ? '+' : ''}
                {n(c.after - c.before)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function BySource({ diff }: { diff: SnapshotDiff }) {
  if (diff.bySource.length === 0) return null;
  const cell = (source: string | null, k: ChangeKind, v: number) =>
    v > 0 ? (
      <button
        type="button"
        className="snap-link"
        aria-label={`List the ${v} ${k} rows from ${named(source, 'no source')}`}
        onClick={() => showRows(k, { source })}
      >
        {n(v)}
      </button>
    ) : (
      '0'
    );
  return (
    <section className="panel" aria-labelledby="by-source-h">
      <h3 id="by-source-h">By source</h3>
      <table className="table">
        <caption className="sr-only">Added, removed and changed rows per source</caption>
        <thead>
          <tr>
            <th scope="col">Source</th>
            <th scope="col" className="num">
              Added
            </th>
            <th scope="col" className="num">
              Removed
            </th>
            <th scope="col" className="num">
              Changed
            </th>
          </tr>
        </thead>
        <tbody>
          {diff.bySource.map((s) => (
            <tr key={named(s.source, '\0')}>
              <th scope="row">{named(s.source, '(no source)')}</th>
              <td className="num">{cell(s.source, 'added', s.added)}</td>
              <td className="num">{cell(s.source, 'removed', s.removed)}</td>
              <td className="num">{cell(s.source, 'changed', s.changed)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function RowList(props: { fromId: string; toId: string; diff: SnapshotDiff; query: DiffQuery }) {
  const { diff } = props;
  const change =
    props.query.change ??
    (['added', 'removed', 'changed'] as const).find((k) => diff[k] > 0) ??
    'added';
  const query = { ...props.query, change };
  const [open, setOpen] = useState<string | null>(null);
  const qs = new URLSearchParams({
    from: props.fromId,
    to: props.toId,
    change: query.change,
    offset: String(query.offset),
    limit: String(PAGE),
  });
  // The empty string asks for records without a label or source.
  const put = (k: string, v: Filter) => {
    if (v !== undefined) qs.set(k, v ?? '');
  };
  put('label', query.label);
  put('labelFrom', query.labelFrom);
  put('labelTo', query.labelTo);
  put('source', query.source);
  const { data, error, loading } = useApi<DiffRows>(`/v1/diff/rows?${qs.toString()}`);
  const labels = diff.classCounts.map((c) => c.label);
  const filters: string[] = [];
  if (query.label !== undefined) filters.push(`label ${named(query.label, '(none)')}`);
  if (query.labelFrom !== undefined) filters.push(`before ${named(query.labelFrom, '(none)')}`);
  if (query.labelTo !== undefined) filters.push(`after ${named(query.labelTo, '(none)')}`);
  if (query.source !== undefined) filters.push(`source ${named(query.source, '(none)')}`);
  const holder = query.change === 'removed' ? props.fromId : props.toId;
  return (
    <section className="panel" aria-labelledby="diff-rows-h">
      <h3 id="diff-rows-h" tabIndex={-1}>
        Rows
      </h3>
      <div className="toolbar">
        <div role="group" aria-label="Kind of change" className="snap-segmented">
          {(['added', 'removed', 'changed'] as const).map((k) => (
            <button
              key={k}
              type="button"
              aria-pressed={query.change === k}
              onClick={() =>
                showRows(k, k === 'changed' ? {} : { label: query.label, source: query.source })
              }
            >
              {k} ({n(diff[k])})
            </button>
          ))}
        </div>
        <div className="field">
          <label htmlFor="diff-label">Label</label>
          <select
            id="diff-label"
            value={encodeFilter(query.label) ?? ''}
            onChange={(e) =>
              showRows(query.change, {
                label: decodeFilter(e.target.value || null),
                source: query.source,
              })
            }
          >
            <option value="">any</option>
            {labels.map((l) => (
              <option key={encodeFilter(l)} value={encodeFilter(l)}>
                {named(l, '(none)')}
              </option>
            ))}
          </select>
        </div>
        {filters.length > 0 ? (
          <>
            <span>Filtered: {filters.join(', ')}</span>
            <button type="button" onClick={() => showRows(query.change, {})}>
              Clear filters
            </button>
          </>
        ) : null}
      </div>
      <ErrorView error={error} />
      {loading && !data ? <Loading what="rows" /> : null}
      {data ? (
        <>
          <Pager
            offset={query.offset}
            limit={PAGE}
            total={data.total}
            shown={data.rows.length}
            onChange={(o) => setQuery({ dOffset: o || undefined })}
            label={`Pages of ${query.change} rows`}
          />
          {data.rows.length === 0 ? (
            <p className="muted">No rows match.</p>
          ) : (
            <table className="table">
              <caption className="sr-only">
                {query.change} rows{filters.length ? `, ${filters.join(', ')}` : ''}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Id</th>
                  {query.change === 'changed' ? (
                    <>
                      <th scope="col">Label before</th>
                      <th scope="col">Label after</th>
                    </>
                  ) : (
                    <th scope="col">Label</th>
                  )}
                  <th scope="col">Source</th>
                </tr>
              </thead>
              <tbody>
                {data.rows.map((r) => (
                  <tr key={r.id} aria-selected={open === r.id}>
                    <th scope="row">
                      <button
                        type="button"
                        className="snap-link"
                        aria-expanded={open === r.id}
                        aria-controls="diff-record"
                        onClick={() => setOpen(open === r.id ? null : r.id)}
                      >
                        {r.id}
                      </button>
                    </th>
                    {query.change === 'changed' ? (
                      <>
                        <td>{named(r.labelBefore ?? null, '(none)')}</td>
                        <td>
                          {r.labelBefore !== r.labelAfter ? (
                            <strong>{named(r.labelAfter ?? null, '(none)')}</strong>
                          ) : (
                            named(r.labelAfter ?? null, '(none)')
                          )}
                        </td>
                      </>
                    ) : (
                      <td>{named(r.label, '(none)')}</td>
                    )}
                    <td>{named(r.source, '(none)')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <div id="diff-record" aria-live="polite">
            {open !== null && data.rows.some((r) => r.id === open) ? (
              query.change === 'changed' ? (
                <div className="grid2">
                  <RecordView
                    snapshot={props.fromId}
                    id={open}
                    title={`${open} before (${diff.from.ref})`}
                  />
                  <RecordView
                    snapshot={props.toId}
                    id={open}
                    title={`${open} after (${diff.to.ref})`}
                  />
                </div>
              ) : (
                <RecordView
                  snapshot={holder}
                  id={open}
                  title={`${open} (${query.change === 'removed' ? diff.from.ref : diff.to.ref})`}
                />
              )
            ) : null}
          </div>
        </>
      ) : null}
    </section>
  );
}
