import { seg } from '../api/client.js';
import { useApi, usePermissions } from '../api/hooks.js';
import type { DatasetDetail, Snapshot, SnapshotDetail } from '../api/types.js';
import { ErrorView, Loading } from '../components/ErrorView.js';
import { n, short, when } from '../components/format.js';
import { StateBadge } from '../components/StateBadge.js';
import { href, setQuery, useRoute } from '../router.js';
import { DiffTab, readDiffQuery } from './snapshot-diff.js';
import { Overview } from './snapshot-overview.js';
import { RecordsBrowser } from './snapshot-records.js';
import { Tabs } from './snapshot-tabs.js';
import './Snapshot.css';

const TABS = [
  { id: 'overview', label: 'Overview' },
  { id: 'records', label: 'Records' },
  { id: 'diff', label: 'Diff' },
];

/**
 * One snapshot (`#/snapshots/<ref>`, where a bare dataset name means its head): what it holds,
 * how it is attested, its scans and gate, its records page by page, and its difference from
 * another snapshot. Everything large is paged or aggregated by the server.
 */
export function SnapshotPage({ snapshot }: { snapshot: string }) {
  const route = useRoute();
  const tab = TABS.some((t) => t.id === route.query.get('tab'))
    ? route.query.get('tab')!
    : 'overview';
  const snap = useApi<SnapshotDetail>(`/v1/snapshots/${seg(snapshot)}`);
  const dataset = snap.data?.dataset;
  const detail = useApi<DatasetDetail>(dataset ? `/v1/datasets/${seg(dataset)}` : null);
  const list = useApi<{ snapshots: Snapshot[] }>(
    dataset ? `/v1/datasets/${seg(dataset)}/snapshots` : null,
  );
  const { can } = usePermissions(dataset ? [{ action: 'read', dataset }] : []);

  if (snap.error)
    return (
      <main>
        <h1>Snapshot {snapshot}</h1>
        <ErrorView error={snap.error} />
        <p>
          <a href={href('datasets')}>Back to datasets</a>
        </p>
      </main>
    );
  if (!snap.data)
    return (
      <main>
        <h1>Snapshot {snapshot}</h1>
        <Loading what="the snapshot" />
      </main>
    );
  const s = snap.data;
  const snapshots = list.data?.snapshots;
  const refOf = (id: string) => snapshots?.find((x) => x.id === id)?.ref;
  return (
    <main>
      <nav aria-label="Breadcrumb" className="snap-crumbs">
        <a href={href('datasets')}>Datasets</a> / <span>{s.dataset}</span> /{' '}
        <span aria-current="page">{s.ref}</span>
      </nav>
      <header className="snap-header">
        <h1>
          {s.ref} <StateBadge state={s.state} />
        </h1>
        <dl className="snap-facts">
          <dt>Id</dt>
          <dd>
            <code className="snap-digest">{s.id}</code>
          </dd>
          <dt>Stage</dt>
          <dd>{s.stage}</dd>
          <dt>Author</dt>
          <dd>{s.author}</dd>
          <dt>Created</dt>
          <dd>
            <time dateTime={s.createdAt}>{when(s.createdAt)}</time>
          </dd>
          <dt>Message</dt>
          <dd>{s.message || <span className="muted">(none)</span>}</dd>
          <dt>Tags</dt>
          <dd>{s.tags.length ? s.tags.join(', ') : <span className="muted">(none)</span>}</dd>
          <dt>Parents</dt>
          <dd>
            {s.parents.length === 0 ? (
              <span className="muted">(none)</span>
            ) : (
              s.parents.map((p, i) => (
                <span key={p}>
                  {i > 0 ? ', ' : ''}
                  <ParentLink id={p} known={refOf(p)} />
                </span>
              ))
            )}
          </dd>
        </dl>
        <p className="toolbar">
          <a href={href('lineage', s.ref)}>Lineage of {s.ref}</a>
          <span className="muted">·</span>
          <span>
            {n(s.records)} records{s.current ? ', the current head of ' : ' of '}
            {s.dataset}
          </span>
        </p>
      </header>
      <Tabs
        label={`Views of ${s.ref}`}
        tabs={TABS}
        selected={tab}
        idPrefix="snapshot"
        onSelect={(t) => setQuery({ tab: t === 'overview' ? undefined : t })}
      >
        {tab === 'overview' ? (
          <Overview snap={s} dataset={detail.data} snapshots={snapshots} canVerify={can('read')} />
        ) : null}
        {tab === 'records' ? (
          <RecordsBrowser
            snapshot={s.id}
            offset={Math.max(0, Number(route.query.get('rOffset')) || 0)}
          />
        ) : null}
        {tab === 'diff' ? (
          <DiffTab snap={s} snapshots={snapshots} query={readDiffQuery(route.query)} />
        ) : null}
      </Tabs>
      <ErrorView error={detail.error ?? list.error} />
    </main>
  );
}

/** A parent by its ref: from the dataset's list, else (another dataset) asked of the server. */
function ParentLink({ id, known }: { id: string; known: string | undefined }) {
  const { data } = useApi<Snapshot>(known === undefined ? `/v1/snapshots/${seg(id)}` : null);
  const ref = known ?? data?.ref;
  return <a href={href('snapshots', ref ?? id)}>{ref ?? short(id)}</a>;
}
