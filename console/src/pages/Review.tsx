import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { api, seg } from '../api/client.js';
import { useApi, usePermissions } from '../api/hooks.js';
import type { ReviewItem, Snapshot, SnapshotDetail } from '../api/types.js';
import { ErrorView, Loading } from '../components/ErrorView.js';
import { n, short } from '../components/format.js';
import { Pager } from '../components/Pager.js';
import { StateBadge } from '../components/StateBadge.js';
import { href, setQuery, useRoute } from '../router.js';
import {
  batches,
  decidedCount,
  mergeDecided,
  nextOffset,
  recount,
  statusWords,
  type Counts,
  type Decision,
} from './review-decisions.js';
import { moveIndex, REVIEW_SHORTCUTS, reviewKeyAction, type ReviewAction } from './review-keys.js';
import { LabelPicker } from './review-label-picker.js';
import { ReviewRecord } from './review-record.js';
import './Review.css';

interface ItemsPage {
  items: ReviewItem[];
  total: number;
  offset: number;
  limit: number;
  counts: Counts;
}

interface Applied {
  from: string;
  snapshot: Snapshot;
  kept: number;
  dropped: number;
  relabelled: number;
}

const PAGE = 50;
const KINDS = [
  'trigger',
  'label',
  'conflicting_label',
  'exact_duplicate',
  'near_duplicate',
  'outlier',
  'secret',
  'pii',
];
const STATUSES: { value: string; label: string }[] = [
  { value: 'open', label: 'Undecided' },
  { value: 'decided', label: 'Decided, not applied' },
  { value: 'all', label: 'All, applied too' },
];

/** Labels and refs of the snapshots on the page, fetched once each. */
function useSnapshots(ids: string[]): Map<string, SnapshotDetail> {
  const [known, setKnown] = useState(() => new Map<string, SnapshotDetail>());
  const key = [...new Set(ids)].sort().join(',');
  useEffect(() => {
    const missing = key.split(',').filter((id) => id !== '' && !known.has(id));
    if (missing.length === 0) return;
    let live = true;
    void Promise.all(
      missing.map((id) => api<SnapshotDetail>(`/v1/snapshots/${seg(id)}`).catch(() => null)),
    ).then((rows) => {
      if (!live) return;
      setKnown((m) => {
        const next = new Map(m);
        rows.forEach((r, i) => {
          if (!r) return;
          next.set(r.id, r);
          // Asked by ref (the snapshot filter): known under that too.
          next.set(missing[i]!, r);
        });
        return next;
      });
    });
    return () => {
      live = false;
    };
    // `known` only grows; `key` says what is needed.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  return known;
}

/**
 * The review queue: the findings a scan queued for people, one page at a time, the selected
 * record in full beside them, decided with the keyboard (or the buttons) and applied as a new
 * snapshot derived from the reviewed one.
 */
export function ReviewPage() {
  const { query } = useRoute();
  const snapshotFilter = query.get('snapshot') ?? '';
  const datasetFilter = query.get('dataset') ?? '';
  const kind = query.get('kind') ?? '';
  const status = query.get('status') ?? 'open';
  const offset = Math.max(0, Number(query.get('offset') ?? 0) || 0);

  const listQuery = {
    snapshot: snapshotFilter || undefined,
    dataset: datasetFilter || undefined,
    kind: kind || undefined,
    ...(status === 'all' ? { all: true } : { status }),
    offset,
    limit: PAGE,
  };
  const list = useApi<ItemsPage>('/v1/review-items', listQuery);
  const [items, setItems] = useState<ReviewItem[]>([]);
  const [counts, setCounts] = useState<Counts | null>(null);
  const [index, setIndex] = useState(0);
  const [selected, setSelected] = useState<Set<string>>(() => new Set());
  const [picker, setPicker] = useState<null | { ids: string[]; target: string }>(null);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<unknown>(null);
  const [applied, setApplied] = useState<Applied | null>(null);
  const [confirmKeepRest, setConfirmKeepRest] = useState(false);
  const [help, setHelp] = useState(false);
  const [announce, setAnnounce] = useState('');

  useEffect(() => {
    if (!list.data) return;
    setItems(list.data.items);
    setCounts(list.data.counts);
    setIndex((i) => moveIndex(i, 0, list.data!.items.length));
    setSelected(new Set());
  }, [list.data]);
  // A new filter or page starts at its first item.
  useEffect(() => setIndex(0), [snapshotFilter, datasetFilter, kind, status, offset]);

  const snapshots = useSnapshots([
    ...items.map((i) => i.snapshot),
    ...(snapshotFilter !== '' ? [snapshotFilter] : []),
  ]);
  const current = items[index];
  // The snapshot the actions are about: the current item's, else the filter's.
  const scopeSnapshot = current?.snapshot ?? (snapshotFilter !== '' ? snapshotFilter : undefined);
  const currentSnap = scopeSnapshot !== undefined ? snapshots.get(scopeSnapshot) : undefined;
  const refOf = (id: string) => snapshots.get(id)?.ref ?? short(id);

  // The snapshot "Apply" works on: the filter's, or the one every item on the page is from.
  const pageSnapshots = [...new Set(items.map((i) => i.snapshot))];
  const applyTarget =
    snapshotFilter !== ''
      ? pageSnapshots.length === 1
        ? refOf(pageSnapshots[0]!)
        : snapshotFilter
      : pageSnapshots.length === 1
        ? refOf(pageSnapshots[0]!)
        : null;
  const datasetOfPage =
    currentSnap?.dataset ?? (datasetFilter !== '' ? datasetFilter : undefined) ?? undefined;

  const perms = usePermissions(
    scopeSnapshot !== undefined
      ? [
          { action: 'review', snapshot: scopeSnapshot },
          ...(datasetOfPage
            ? [
                { action: 'ingest', dataset: datasetOfPage },
                { action: 'relabel', dataset: datasetOfPage },
              ]
            : []),
        ]
      : [],
  );
  const canReview = perms.can('review');
  const canApply =
    counts && counts.drop > 0 ? perms.can('ingest') : perms.can('relabel') || perms.can('ingest');

  const labels = useMemo(
    () =>
      (currentSnap?.labels ?? [])
        .map((l) => l.name)
        .filter((l): l is string => l !== null)
        .sort(),
    [currentSnap],
  );

  const decide = useCallback(
    async (ids: string[], decision: Decision, label?: string) => {
      if (ids.length === 0 || busy) return;
      setBusy(true);
      setFailure(null);
      try {
        const before = items.filter((i) => ids.includes(i.id));
        const r = await api<{ items: ReviewItem[] }>('/v1/review-items/decisions', {
          method: 'POST',
          body: { items: ids, decision, ...(label !== undefined ? { label } : {}) },
        });
        setItems((xs) => mergeDecided(xs, r.items));
        setCounts((c) => (c ? recount(c, before, decision) : c));
        setAnnounce(
          `${ids.length === 1 ? 'Record' : `${ids.length} records`}: ${statusWords(decision, label ?? null)}`,
        );
        return true;
      } catch (e) {
        setFailure(e);
        return false;
      } finally {
        setBusy(false);
      }
    },
    [busy, items],
  );

  const decideCurrent = async (decision: Decision, label?: string) => {
    if (!current) return;
    const okay = await decide([current.id], decision, label);
    if (okay) setIndex((i) => moveIndex(i, 1, items.length));
  };
  const decideSelected = async (decision: Decision, label?: string) => {
    const okay = await decide([...selected], decision, label);
    if (okay) setSelected(new Set());
  };

  const keepRest = async () => {
    setConfirmKeepRest(false);
    setBusy(true);
    setFailure(null);
    try {
      // Undecided items leave the "open" list as they are decided: always read the first page.
      for (;;) {
        const page = await api<ItemsPage>('/v1/review-items', {
          query: { ...listQuery, status: 'open', all: undefined, offset: 0, limit: 500 },
        });
        if (page.items.length === 0) break;
        for (const ids of batches(
          page.items.map((i) => i.id),
          500,
        ))
          await api('/v1/review-items/decisions', {
            method: 'POST',
            body: { items: ids, decision: 'keep' },
          });
      }
      setAnnounce('Every undecided record is kept');
      list.reload();
    } catch (e) {
      setFailure(e);
    } finally {
      setBusy(false);
    }
  };

  const apply = async () => {
    if (!applyTarget) return;
    setBusy(true);
    setFailure(null);
    try {
      const r = await api<Applied>(`/v1/snapshots/${seg(applyTarget)}/review/apply`, {
        method: 'POST',
      });
      setApplied(r);
      setAnnounce(`Committed ${r.snapshot.ref}`);
      list.reload();
    } catch (e) {
      setFailure(e);
    } finally {
      setBusy(false);
    }
  };

  const goTo = (next: number) => {
    setQuery({ offset: next > 0 ? next : undefined });
  };
  const pageForward = () => {
    if (!list.data) return;
    const next = nextOffset(offset, PAGE, status, items);
    // The total was counted when the page loaded; decisions since do not change what follows.
    if (offset + items.length >= list.data.total) return;
    if (next === offset) list.reload();
    else goTo(next);
  };

  // The keyboard: one listener on the window, reading the newest state through a ref.
  const onKey = useRef<(e: KeyboardEvent) => void>(() => {});
  onKey.current = (e: KeyboardEvent) => {
    if (picker) return; // the picker has its own keys
    const target = e.target as HTMLElement | null;
    const action: ReviewAction | null = reviewKeyAction({
      key: e.key,
      shiftKey: e.shiftKey,
      ctrlKey: e.ctrlKey,
      metaKey: e.metaKey,
      altKey: e.altKey,
      ...(target?.tagName ? { targetTag: target.tagName } : {}),
      ...(target instanceof HTMLInputElement ? { targetType: target.type } : {}),
      targetEditable: target?.isContentEditable === true,
    });
    if (action === null) return;
    const act = (): void => {
      switch (action) {
        case 'next':
          setIndex((i) => moveIndex(i, 1, items.length));
          return;
        case 'previous':
          setIndex((i) => moveIndex(i, -1, items.length));
          return;
        case 'help':
          setHelp((h) => !h);
          return;
        case 'clear':
          setSelected(new Set());
          setConfirmKeepRest(false);
          return;
        case 'nextPage':
          pageForward();
          return;
        case 'previousPage':
          if (offset > 0) goTo(Math.max(0, offset - PAGE));
          return;
        case 'toggleSelect':
          if (!current) return;
          setSelected((s) => {
            const next = new Set(s);
            if (next.has(current.id)) next.delete(current.id);
            else next.add(current.id);
            return next;
          });
          return;
        case 'selectPage':
          setSelected((s) =>
            s.size === items.length ? new Set() : new Set(items.map((i) => i.id)),
          );
          return;
      }
      if (!canReview) return;
      switch (action) {
        case 'keep':
          void decideCurrent('keep');
          return;
        case 'drop':
          void decideCurrent('drop');
          return;
        case 'relabel':
          if (current) setPicker({ ids: [current.id], target: `record ${current.record}` });
          return;
        case 'keepSelected':
          void decideSelected('keep');
          return;
        case 'dropSelected':
          void decideSelected('drop');
          return;
        case 'relabelSelected':
          if (selected.size > 0)
            setPicker({ ids: [...selected], target: `${selected.size} selected records` });
          return;
      }
    };
    e.preventDefault();
    act();
  };
  useEffect(() => {
    const listener = (e: KeyboardEvent) => onKey.current(e);
    window.addEventListener('keydown', listener);
    return () => window.removeEventListener('keydown', listener);
  }, []);

  // Keep the current row in view as the keyboard moves through the list.
  useEffect(() => {
    if (current)
      document.getElementById(`review-row-${current.id}`)?.scrollIntoView({ block: 'nearest' });
  }, [current]);

  const decided = counts ? decidedCount(counts) : 0;
  const undecided = counts?.open ?? 0;
  const [snapshotDraft, setSnapshotDraft] = useState(snapshotFilter);
  const [datasetDraft, setDatasetDraft] = useState(datasetFilter);
  useEffect(() => setSnapshotDraft(snapshotFilter), [snapshotFilter]);
  useEffect(() => setDatasetDraft(datasetFilter), [datasetFilter]);

  return (
    <main className="review">
      <h1>Review queue</h1>
      <form
        className="toolbar"
        aria-label="Filter review items"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery({
            snapshot: snapshotDraft.trim(),
            dataset: datasetDraft.trim(),
            offset: undefined,
          });
        }}
      >
        <label className="field">
          Snapshot
          <input
            value={snapshotDraft}
            onChange={(e) => setSnapshotDraft(e.target.value)}
            placeholder="spam@2"
            size={14}
          />
        </label>
        <label className="field">
          Dataset
          <input
            value={datasetDraft}
            onChange={(e) => setDatasetDraft(e.target.value)}
            placeholder="any"
            size={12}
          />
        </label>
        <label className="field">
          Kind
          <select
            value={kind}
            onChange={(e) => setQuery({ kind: e.target.value, offset: undefined })}
          >
            <option value="">any kind</option>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          Status
          <select
            value={status}
            onChange={(e) =>
              setQuery({
                status: e.target.value === 'open' ? undefined : e.target.value,
                offset: undefined,
              })
            }
          >
            {STATUSES.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>

      {counts ? (
        <section className="review-bar" aria-label="Decisions">
          <p className="review-counts" data-testid="review-counts">
            <strong>{n(decided)}</strong> decided ({n(counts.drop)} drop, {n(counts.keep)} keep,{' '}
            {n(counts.relabel)} relabel) · <strong>{n(undecided)}</strong> undecided
            {kind ? <span className="muted"> (kind {kind})</span> : null}
          </p>
          <meter
            className="review-meter"
            min={0}
            max={Math.max(1, decided + undecided)}
            value={decided}
            aria-label="Share of items decided"
          />
          {canReview && undecided > 0 ? (
            <button type="button" onClick={() => setConfirmKeepRest(true)} disabled={busy}>
              Keep all undecided…
            </button>
          ) : null}
          {applyTarget && canApply && decided > 0 ? (
            <button
              type="button"
              className="primary"
              onClick={() => void apply()}
              disabled={busy || decided === 0}
              title={undecided > 0 ? 'Every item of the snapshot must be decided first' : undefined}
            >
              Apply decisions to {applyTarget}
            </button>
          ) : null}
          {applyTarget && !canApply && perms.why('ingest') ? (
            <span className="muted">
              Applying needs the right to change {datasetOfPage}: {perms.why('ingest')}
            </span>
          ) : null}
          {!applyTarget && items.length > 0 ? (
            <span className="muted">Filter by one snapshot to apply its decisions.</span>
          ) : null}
        </section>
      ) : null}

      {confirmKeepRest ? (
        <div className="panel" role="alertdialog" aria-labelledby="keep-rest-title">
          <p id="keep-rest-title">
            Keep all {n(undecided)} undecided item{undecided === 1 ? '' : 's'}
            {snapshotFilter ? ` of ${snapshotFilter}` : ''}
            {kind ? ` of kind ${kind}` : ''}? Their records stay as they are.
          </p>
          <div className="toolbar">
            <button type="button" className="primary" onClick={() => void keepRest()}>
              Keep {n(undecided)} undecided
            </button>
            <button type="button" onClick={() => setConfirmKeepRest(false)}>
              Cancel
            </button>
          </div>
        </div>
      ) : null}

      {applied ? (
        <div className="notice" role="status">
          Committed <a href={href('snapshots', applied.snapshot.ref)}>{applied.snapshot.ref}</a>{' '}
          from the review: {n(applied.dropped)} dropped, {n(applied.relabelled)} relabelled,{' '}
          {n(applied.kept)} kept ({n(applied.snapshot.records)} records).{' '}
          <a href={href('snapshots', applied.snapshot.ref)}>Open {applied.snapshot.ref}</a> ·{' '}
          <a href={href('approvals', { snapshot: applied.snapshot.ref })}>
            Approvals and gate for {applied.snapshot.ref}
          </a>
        </div>
      ) : null}
      <ErrorView error={failure} />
      <ErrorView error={list.error} />
      <p className="sr-only" aria-live="polite">
        {announce}
      </p>

      {list.loading && !list.data ? <Loading what="review items" /> : null}
      {list.data && items.length === 0 ? (
        <p>
          No {status === 'open' ? 'undecided ' : ''}review items
          {snapshotFilter ? ` on ${snapshotFilter}` : ''}.
        </p>
      ) : null}

      {items.length > 0 ? (
        <div className="review-layout">
          <section aria-labelledby="review-list-title">
            <h2 id="review-list-title" className="sr-only">
              Items
            </h2>
            <table className="table review-list">
              <caption className="sr-only">
                Review items; j and k move, x selects, e keeps, d drops, r relabels
              </caption>
              <thead>
                <tr>
                  <th scope="col">
                    <span className="sr-only">Selected</span>
                  </th>
                  <th scope="col">Kind</th>
                  <th scope="col" className="num">
                    Score
                  </th>
                  <th scope="col">Record</th>
                  <th scope="col">Snapshot</th>
                  <th scope="col">Decision</th>
                </tr>
              </thead>
              <tbody>
                {items.map((item, i) => (
                  <tr
                    key={item.id}
                    id={`review-row-${item.id}`}
                    aria-selected={i === index}
                    aria-current={i === index ? 'true' : undefined}
                    className={i === index ? 'review-current' : undefined}
                    onClick={() => setIndex(i)}
                  >
                    <td>
                      <input
                        type="checkbox"
                        aria-label={`Select ${item.record}`}
                        checked={selected.has(item.id)}
                        onChange={() =>
                          setSelected((s) => {
                            const next = new Set(s);
                            if (next.has(item.id)) next.delete(item.id);
                            else next.add(item.id);
                            return next;
                          })
                        }
                      />
                    </td>
                    <td>{item.kinds.join(', ')}</td>
                    <td className="num">{item.score.toFixed(2)}</td>
                    <th scope="row" className="review-record-id">
                      <button
                        type="button"
                        className="linklike"
                        onClick={() => setIndex(i)}
                        aria-label={`Show ${item.record}`}
                      >
                        {item.record}
                      </button>
                    </th>
                    <td>{refOf(item.snapshot)}</td>
                    <td>
                      {item.status === 'open' ? (
                        <StateBadge state="open" />
                      ) : (
                        <span className={`badge badge-${item.status === 'drop' ? 'bad' : 'info'}`}>
                          {statusWords(item.status, item.newLabel)}
                        </span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <Pager
              offset={offset}
              limit={PAGE}
              total={list.data?.total ?? null}
              shown={items.length}
              label="Review item pages"
              onChange={(o) => (o > offset ? pageForward() : goTo(o))}
            />
          </section>

          {current ? (
            <div className="review-detail">
              {canReview ? (
                <div className="toolbar" role="toolbar" aria-label="Decide this record">
                  <button
                    type="button"
                    onClick={() => void decideCurrent('keep')}
                    disabled={busy}
                    aria-keyshortcuts="e"
                  >
                    Keep this record <kbd aria-hidden="true">e</kbd>
                  </button>
                  <button
                    type="button"
                    className="danger"
                    onClick={() => void decideCurrent('drop')}
                    disabled={busy}
                    aria-keyshortcuts="d"
                  >
                    Drop this record <kbd aria-hidden="true">d</kbd>
                  </button>
                  <button
                    type="button"
                    onClick={() =>
                      setPicker({ ids: [current.id], target: `record ${current.record}` })
                    }
                    disabled={busy}
                    aria-keyshortcuts="r"
                  >
                    Relabel this record… <kbd aria-hidden="true">r</kbd>
                  </button>
                </div>
              ) : (
                <p className="muted">
                  You may read this queue but not decide on it
                  {perms.why('review') ? `: ${perms.why('review')}` : ''}.
                </p>
              )}
              {canReview && selected.size > 0 ? (
                <div className="toolbar" role="toolbar" aria-label="Decide the selected records">
                  <span>{n(selected.size)} selected:</span>
                  <button
                    type="button"
                    onClick={() => void decideSelected('keep')}
                    disabled={busy}
                    aria-keyshortcuts="Shift+E"
                  >
                    Keep {selected.size} selected <kbd aria-hidden="true">Shift+E</kbd>
                  </button>
                  <button
                    type="button"
                    className="danger"
                    onClick={() => void decideSelected('drop')}
                    disabled={busy}
                    aria-keyshortcuts="Shift+D"
                  >
                    Drop {selected.size} selected <kbd aria-hidden="true">Shift+D</kbd>
                  </button>
                  <button
                    type="button"
                    onClick={() =>
                      setPicker({
                        ids: [...selected],
                        target: `${selected.size} selected records`,
                      })
                    }
                    disabled={busy}
                    aria-keyshortcuts="Shift+R"
                  >
                    Relabel {selected.size} selected… <kbd aria-hidden="true">Shift+R</kbd>
                  </button>
                  <button type="button" onClick={() => setSelected(new Set())}>
                    Clear selection <kbd aria-hidden="true">Esc</kbd>
                  </button>
                </div>
              ) : null}
              {picker ? (
                <LabelPicker
                  labels={labels}
                  target={picker.target}
                  current={null}
                  onCancel={() => setPicker(null)}
                  onPick={(label) => {
                    const ids = picker.ids;
                    setPicker(null);
                    if (ids.length === 1 && ids[0] === current.id)
                      void decideCurrent('relabel', label);
                    else
                      void decide(ids, 'relabel', label).then((okay) => {
                        if (okay) setSelected(new Set());
                      });
                  }}
                />
              ) : null}
              <ReviewRecord item={current} snapshotRef={refOf(current.snapshot)} />
            </div>
          ) : null}
        </div>
      ) : null}

      <details
        className="panel review-help"
        open={help}
        onToggle={(e) => setHelp((e.target as HTMLDetailsElement).open)}
      >
        <summary>Keyboard shortcuts</summary>
        <table className="table">
          <caption className="sr-only">Keyboard shortcuts of the review queue</caption>
          <thead>
            <tr>
              <th scope="col">Keys</th>
              <th scope="col">Action</th>
            </tr>
          </thead>
          <tbody>
            {REVIEW_SHORTCUTS.map((s) => (
              <tr key={s.action}>
                <td>
                  {s.keys.map((k, i) => (
                    <span key={k}>
                      {i > 0 ? ' or ' : ''}
                      <kbd>{k}</kbd>
                    </span>
                  ))}
                </td>
                <td>{s.label}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </main>
  );
}
