import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api, ApiError } from '../api/client.js';
import { useApi, usePermissions } from '../api/hooks.js';
import type { AuditEvent, AuditVerification } from '../api/types.js';
import { ErrorView, Loading } from '../components/ErrorView.js';
import { n, short, when } from '../components/format.js';
import { Pager } from '../components/Pager.js';
import { href, setQuery, useRoute } from '../router.js';
import { checkProof, type ProofCheck } from './audit-proof.js';
import {
  apiQuery,
  filtersFromQuery,
  isDenial,
  PAGE_SIZE,
  shortDetail,
  type AuditFilters,
} from './audit-query.js';
import type { AuditCheckpoint, AuditProofDetail, AuditSearchPage } from './audit-types.js';
import './Audit.css';

type SearchPage = AuditSearchPage;
type Checkpoint = AuditCheckpoint;
type Proof = AuditProofDetail;

/**
 * The audit log: searched and paged on the server (never loaded whole), verified on demand, and
 * any event's inclusion proof checked twice: by the server and here, with WebCrypto.
 */
export function AuditPage() {
  const route = useRoute();
  const filters = filtersFromQuery(route.query);
  const selected = Number(route.query.get('seq') ?? '') || null;
  const dataset = filters.dataset.trim();
  // Reading the log needs readAudit on the workspace, or on the dataset searched (dataset
  // auditors): ask first, so that nothing is requested that would be refused.
  const search = usePermissions([{ action: 'readAudit', ...(dataset ? { dataset } : {}) }]);
  const whole = usePermissions([{ action: 'readAudit' }]);
  const mayRead = search.can('readAudit');
  const mayVerify = whole.can('readAudit');
  const page = useApi<SearchPage>(mayRead ? '/v1/audit/events' : null, apiQuery(filters));

  return (
    <main>
      <h1>Audit log</h1>
      <p className="muted">
        Every change, approval and refusal, in a tamper-evident log: each event is a leaf of a
        Merkle tree whose root is signed in checkpoints.
      </p>
      {mayVerify ? <VerifyPanel /> : null}
      <SearchForm filters={filters} />
      {!mayRead && search.why('readAudit') ? (
        <p className="error" role="alert">
          You may not read {dataset ? `the audit events of ${dataset}` : 'the whole audit log'}:{' '}
          {search.why('readAudit').replace(/\.?$/, '.')}
          {dataset ? '' : ' Dataset auditors can search their dataset: fill in Dataset.'}
        </p>
      ) : null}
      <ErrorView error={page.error} />
      {mayRead && page.loading && !page.data ? <Loading what="events" /> : null}
      {mayRead && selected !== null ? (
        <EventDetail seq={selected} dataset={dataset} withProof={mayVerify} />
      ) : null}
      {mayRead && page.data ? (
        <EventTable page={page.data} filters={filters} selected={selected} route={route.query} />
      ) : null}
    </main>
  );
}

function SearchForm({ filters }: { filters: AuditFilters }) {
  const [draft, setDraft] = useState(filters);
  // A new search in the URL (back button, a shared link) refills the form.
  const key = JSON.stringify(filters);
  useEffect(() => setDraft(filters), [key]); // eslint-disable-line react-hooks/exhaustive-deps
  const field = (name: keyof AuditFilters) => ({
    id: `audit-${name}`,
    name,
    value: String(draft[name]),
    onChange: (e: { target: { value: string } }) => setDraft({ ...draft, [name]: e.target.value }),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setQuery({
      kind: draft.kind.trim(),
      actor: draft.actor.trim(),
      dataset: draft.dataset.trim(),
      from: draft.from,
      to: draft.to,
      q: draft.q,
      order: draft.order === 'asc' ? 'asc' : undefined,
      offset: undefined,
      seq: undefined,
    });
  };
  const clear = () =>
    setQuery({
      kind: undefined,
      actor: undefined,
      dataset: undefined,
      from: undefined,
      to: undefined,
      q: undefined,
      order: undefined,
      offset: undefined,
      seq: undefined,
    });
  return (
    <form
      className="panel audit-search"
      role="search"
      aria-label="Search the audit log"
      onSubmit={submit}
    >
      <div className="audit-fields">
        <div className="field">
          <label htmlFor="audit-kind">Kind</label>
          <input {...field('kind')} placeholder="snapshot. or authz.deny" list="audit-kinds" />
          <datalist id="audit-kinds">
            {KINDS.map((k) => (
              <option key={k} value={k} />
            ))}
          </datalist>
        </div>
        <div className="field">
          <label htmlFor="audit-actor">Actor</label>
          <input {...field('actor')} placeholder="identity" />
        </div>
        <div className="field">
          <label htmlFor="audit-dataset">Dataset</label>
          <input {...field('dataset')} />
        </div>
        <div className="field">
          <label htmlFor="audit-from">From</label>
          <input {...field('from')} type="datetime-local" step="1" />
        </div>
        <div className="field">
          <label htmlFor="audit-to">Until (not including)</label>
          <input {...field('to')} type="datetime-local" step="1" />
        </div>
        <div className="field">
          <label htmlFor="audit-q">Text in detail</label>
          <input {...field('q')} type="search" />
        </div>
        <div className="field">
          <label htmlFor="audit-order">Order</label>
          <select
            id="audit-order"
            value={draft.order}
            onChange={(e) =>
              setDraft({ ...draft, order: e.target.value === 'asc' ? 'asc' : 'desc' })
            }
          >
            <option value="desc">Newest first</option>
            <option value="asc">Oldest first</option>
          </select>
        </div>
      </div>
      <div className="toolbar">
        <button type="submit" className="primary">
          Search
        </button>
        <button type="button" onClick={clear}>
          Clear
        </button>
        <span className="muted">
          A kind ending in “.” matches every kind under it. Text matches the detail JSON, ignoring
          the case of ASCII letters.
        </span>
      </div>
    </form>
  );
}

const KINDS = [
  'snapshot.',
  'snapshot.ingest',
  'snapshot.commit',
  'snapshot.scan',
  'snapshot.approve',
  'snapshot.gate',
  'snapshot.release',
  'snapshot.export',
  'snapshot.tag',
  'dataset.rollback',
  'review.',
  'quarantine.',
  'authz.deny',
  'auth.failed',
  'identity.',
  'token.',
  'grant.',
  'policy.change',
];

function EventTable(props: {
  page: SearchPage;
  filters: AuditFilters;
  selected: number | null;
  route: URLSearchParams;
}) {
  const { page, filters, selected } = props;
  const link = (seq: number) => {
    const q: Record<string, string> = {};
    props.route.forEach((v, k) => (q[k] = v));
    return href('audit', { ...q, seq });
  };
  if (page.total === 0) return <p role="status">No event matches this search.</p>;
  return (
    <>
      <Pager
        offset={filters.offset}
        limit={PAGE_SIZE}
        total={page.total}
        shown={page.events.length}
        onChange={(offset) => setQuery({ offset: offset || undefined })}
        label="Event pages"
      />
      <table className="table audit-table">
        <caption className="sr-only">
          Audit events {filters.order === 'desc' ? 'newest' : 'oldest'} first; {n(page.total)} match
        </caption>
        <thead>
          <tr>
            <th scope="col" className="num">
              Seq
            </th>
            <th scope="col">Time</th>
            <th scope="col">Actor</th>
            <th scope="col">Kind</th>
            <th scope="col">Dataset / snapshot</th>
            <th scope="col">Detail</th>
          </tr>
        </thead>
        <tbody>
          {page.events.map((e) => (
            <EventRow key={e.seq} e={e} selected={e.seq === selected} to={link(e.seq)} />
          ))}
        </tbody>
      </table>
      <Pager
        offset={filters.offset}
        limit={PAGE_SIZE}
        total={page.total}
        shown={page.events.length}
        onChange={(offset) => setQuery({ offset: offset || undefined })}
        label="Event pages, bottom"
      />
    </>
  );
}

function EventRow({ e, selected, to }: { e: AuditEvent; selected: boolean; to: string }) {
  const denied = isDenial(e.kind);
  return (
    <tr aria-selected={selected} className={denied ? 'audit-denied' : undefined}>
      <td className="num">
        <a href={to} aria-current={selected ? 'true' : undefined} aria-label={`Event ${e.seq}`}>
          {e.seq}
        </a>
      </td>
      <td>
        <time dateTime={e.time} title={e.time}>
          {when(e.time)}
        </time>
      </td>
      <td>{e.actor}</td>
      <td>
        <code>{e.kind}</code> {denied ? <span className="badge badge-bad">denied</span> : null}
      </td>
      <td>
        {e.dataset ?? '–'}
        {e.snapshot ? (
          <>
            {' / '}
            <a href={href('snapshots', e.snapshot)} title={e.snapshot}>
              <code>{short(e.snapshot)}</code>
            </a>
          </>
        ) : null}
      </td>
      <td className="audit-detail-cell">
        <code>{shortDetail(e.detail)}</code>
      </td>
    </tr>
  );
}

/** "Verify log": recomputes the whole tree on the server, with the newest signed checkpoint. */
function VerifyPanel() {
  const [state, setState] = useState<
    | { at: 'idle' }
    | { at: 'running' }
    | { at: 'done'; v: AuditVerification; c: Checkpoint['checkpoint'] }
    | { at: 'failed'; error: unknown }
  >({ at: 'idle' });
  const run = async () => {
    setState({ at: 'running' });
    try {
      const [v, c] = await Promise.all([
        api<AuditVerification>('/v1/audit/verify'),
        api<Checkpoint>('/v1/audit/checkpoint'),
      ]);
      setState({ at: 'done', v, c: c.checkpoint });
    } catch (error) {
      setState({ at: 'failed', error });
    }
  };
  const failedVerify =
    state.at === 'failed' &&
    state.error instanceof ApiError &&
    state.error.code === 'VERIFY_FAILED';
  return (
    <section className="panel" aria-labelledby="verify-title">
      <div className="toolbar audit-verify-bar">
        <h2 id="verify-title">Log integrity</h2>
        <button type="button" onClick={() => void run()} disabled={state.at === 'running'}>
          Verify log
        </button>
      </div>
      <div aria-live="polite">
        {state.at === 'idle' ? (
          <p className="muted">
            Recomputes the Merkle tree of every event and checks every signed checkpoint.
          </p>
        ) : null}
        {state.at === 'running' ? <Loading what="and checking every event" /> : null}
        {state.at === 'done' ? (
          <>
            <p className="notice" data-testid="audit-verified">
              <strong>Verified: the log holds.</strong> {n(state.v.events)} events,{' '}
              {n(state.v.checkpoints)} signed checkpoints consistent
              {state.v.unsigned
                ? `; ${n(state.v.unsigned)} newest events not yet checkpointed`
                : ''}
              .
            </p>
            {state.c ? (
              <dl className="audit-dl">
                <dt>Signed checkpoint</dt>
                <dd>
                  tree size {n(state.c.size)}, signed by {state.c.signer ?? 'unknown'} on{' '}
                  {when(state.c.createdAt)}
                </dd>
                <dt>Root</dt>
                <dd>
                  <code className="audit-hash">{state.c.root}</code>
                </dd>
                <dt>Signed note</dt>
                <dd>
                  <pre className="record">{state.c.note}</pre>
                </dd>
              </dl>
            ) : (
              <p>No checkpoint has been signed yet.</p>
            )}
          </>
        ) : null}
        {state.at === 'failed' ? (
          <>
            {failedVerify ? (
              <p className="error" role="alert">
                <strong>Failed: the log does not verify.</strong>
              </p>
            ) : null}
            <ErrorView error={state.error} />
          </>
        ) : null}
      </div>
    </section>
  );
}

/** One event in full, with its inclusion proof checked by the server and by this browser. */
function EventDetail(props: { seq: number; dataset: string; withProof: boolean }) {
  const { seq, withProof } = props;
  const found = useApi<SearchPage>('/v1/audit/events', {
    after: seq - 1,
    before: seq + 1,
    limit: 1,
    dataset: props.dataset || undefined,
  });
  // Only events under the newest signed checkpoint have a proof: ask for one only then (seq
  // numbers only grow, so an event whose seq is within the checkpoint's size is covered).
  const newest = useApi<Checkpoint>(withProof ? '/v1/audit/checkpoint' : null);
  const [force, setForce] = useState(false);
  const size = newest.data?.checkpoint?.size ?? 0;
  const covered = newest.data !== undefined && (seq <= size || force);
  const proof = useApi<Proof>(covered ? `/v1/audit/proof/${seq}` : null, { event: true });
  const event = found.data?.events[0]?.seq === seq ? found.data.events[0] : undefined;
  // Choosing an event moves the focus (and the view) to it.
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [seq]);
  return (
    <section className="panel" aria-labelledby="event-title">
      <div className="toolbar audit-verify-bar">
        <h2 id="event-title" ref={heading} tabIndex={-1}>
          Event {seq}
        </h2>
        <button type="button" onClick={() => setQuery({ seq: undefined })}>
          Close
        </button>
      </div>
      <ErrorView error={found.error} />
      {found.loading && !found.data ? <Loading what="the event" /> : null}
      {found.data && !event ? <p>There is no event {seq}.</p> : null}
      {event ? (
        <div className="grid2">
          <div>
            <dl className="audit-dl">
              <dt>Time</dt>
              <dd>{event.time}</dd>
              <dt>Actor</dt>
              <dd>{event.actor}</dd>
              <dt>Kind</dt>
              <dd>
                <code>{event.kind}</code>
              </dd>
              <dt>Dataset</dt>
              <dd>{event.dataset ?? '–'}</dd>
              <dt>Snapshot</dt>
              <dd>
                {event.snapshot ? (
                  <a href={href('snapshots', event.snapshot)}>
                    <code>{event.snapshot}</code>
                  </a>
                ) : (
                  '–'
                )}
              </dd>
            </dl>
            <h3>Detail</h3>
            <pre className="record" data-testid="audit-detail">
              {JSON.stringify(event.detail, null, 2)}
            </pre>
          </div>
          <div>
            <h3>Inclusion proof</h3>
            {withProof ? null : (
              <p className="muted">Proofs need audit access to the whole workspace.</p>
            )}
            <ErrorView error={newest.error ?? proof.error} />
            {newest.data && !covered ? (
              <p>
                Not under the newest signed checkpoint yet
                {newest.data.checkpoint
                  ? ` (it covers ${n(newest.data.checkpoint.size)} events)`
                  : ' (none is signed yet)'}
                : checkpoints are signed as each command or request ends.{' '}
                <button type="button" onClick={() => setForce(true)}>
                  Ask for the proof anyway
                </button>
              </p>
            ) : null}
            {covered && proof.loading && !proof.data ? <Loading what="the proof" /> : null}
            {proof.data ? <ProofView proof={proof.data} /> : null}
          </div>
        </div>
      ) : null}
    </section>
  );
}

function ProofView({ proof }: { proof: Proof }) {
  const [check, setCheck] = useState<ProofCheck | 'checking' | { error: string }>('checking');
  useEffect(() => {
    let live = true;
    setCheck('checking');
    checkProof({ ...proof, event: proof.event ?? null }).then(
      (c) => live && setCheck(c),
      (e: unknown) => live && setCheck({ error: e instanceof Error ? e.message : String(e) }),
    );
    return () => {
      live = false;
    };
  }, [proof]);
  return (
    <>
      <dl className="audit-dl stacked">
        <dt>Leaf</dt>
        <dd>
          index {n(proof.index)} of a tree of {n(proof.size)}
          <br />
          <code className="audit-hash">{proof.leaf}</code>
        </dd>
        <dt>Audit path ({proof.proof.length} hashes, leaf to root)</dt>
        <dd>
          <ol className="audit-path">
            {proof.proof.map((h, i) => (
              <li key={i}>
                <code className="audit-hash">{h}</code>
              </li>
            ))}
          </ol>
        </dd>
        <dt>Checkpoint root</dt>
        <dd>
          <code className="audit-hash">{proof.root}</code>
        </dd>
      </dl>
      <ul className="audit-verdicts" aria-live="polite">
        <li>
          Server:{' '}
          {proof.verified ? <Verdict ok text="verified" /> : <Verdict text="NOT verified" />}
        </li>
        <li data-testid="browser-proof">
          This browser (WebCrypto SHA-256):{' '}
          {check === 'checking' ? (
            <span className="muted">checking…</span>
          ) : 'error' in check ? (
            <Verdict text={`could not check (${check.error})`} />
          ) : check.verified ? (
            <Verdict ok text="verified" />
          ) : (
            <>
              <Verdict text="NOT verified" /> {check.problem}
            </>
          )}
        </li>
      </ul>
      {check !== 'checking' && !('error' in check) ? (
        <p className="muted">
          Rebuilt the leaf from the event’s fields (
          {check.leafMatches ? 'it matches the proof’s leaf' : 'it differs from the proof’s leaf'})
          and followed the path to{' '}
          <code className="audit-hash">{check.computedRoot ?? 'no root'}</code>.
        </p>
      ) : null}
    </>
  );
}

function Verdict({ ok = false, text }: { ok?: boolean; text: string }) {
  return <span className={`badge ${ok ? 'badge-good' : 'badge-bad'}`}>{text}</span>;
}
