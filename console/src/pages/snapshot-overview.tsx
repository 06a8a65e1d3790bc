import { useMemo, useState } from 'react';
import { ApiError, api, seg } from '../api/client.js';
import { useApi } from '../api/hooks.js';
import type {
  DatasetDetail,
  GateResult,
  ScanRecord,
  Snapshot,
  SnapshotDetail,
  SnapshotStatus,
  Verification,
} from '../api/types.js';
import { Chart, type ChartOption } from '../components/Chart.js';
import { ErrorView, Loading } from '../components/ErrorView.js';
import { n, pct, short, when } from '../components/format.js';
import { StateBadge } from '../components/StateBadge.js';
import { href } from '../router.js';

/** Labels shown in the class chart before the rest are folded into "other labels". */
const CHART_LABELS = 25;
/** Rows of the class and source tables before "Show all". */
const TABLE_ROWS = 20;

const labelName = (l: string | null) => l ?? '(no label)';
const sourceName = (s: string | null) => s ?? '(no source)';

export function Overview(props: {
  snap: SnapshotDetail;
  dataset: DatasetDetail | undefined;
  snapshots: Snapshot[] | undefined;
  canVerify: boolean;
}) {
  const { snap } = props;
  return (
    <>
      <SummaryCards snap={snap} />
      <div className="grid2">
        <ClassCounts snap={snap} />
        <Sources snap={snap} dataset={props.dataset} />
      </div>
      <div className="grid2">
        <Attestation snap={snap} canVerify={props.canVerify} />
        <div>
          <GateSummary snap={snap} />
          <Scans snap={snap} />
        </div>
      </div>
      <DatasetSnapshots snap={snap} snapshots={props.snapshots} />
    </>
  );
}

function SummaryCards({ snap }: { snap: SnapshotDetail }) {
  const labelled = snap.labels.filter((l) => l.name !== null).reduce((s, l) => s + l.records, 0);
  return (
    <div className="cards">
      <div className="card">
        <div className="muted">Records</div>
        <div className="value">{n(snap.records)}</div>
      </div>
      <div className="card">
        <div className="muted">Classes</div>
        <div className="value">{n(snap.labels.filter((l) => l.name !== null).length)}</div>
        <div className="muted">
          {pct(snap.records ? labelled / snap.records : null)} of records labelled
        </div>
      </div>
      <div className="card">
        <div className="muted">Sources</div>
        <div className="value">{n(snap.sources.length)}</div>
      </div>
      <div className="card">
        <div className="muted">State</div>
        <div className="value">
          <StateBadge state={snap.state} />
        </div>
        <div className="muted">stage {snap.stage}</div>
      </div>
      <div className="card">
        <div className="muted">Version</div>
        <div className="value">{snap.version}</div>
        <div className="muted">{snap.current ? 'current head' : 'not the head'}</div>
      </div>
    </div>
  );
}

function ClassCounts({ snap }: { snap: SnapshotDetail }) {
  const [all, setAll] = useState(false);
  const sorted = useMemo(
    () => [...snap.labels].sort((a, b) => b.records - a.records),
    [snap.labels],
  );
  const option = useMemo<ChartOption>(() => {
    const top = sorted.slice(0, CHART_LABELS);
    const rest = sorted.slice(CHART_LABELS).reduce((s, l) => s + l.records, 0);
    const rows = [...top.map((l) => [labelName(l.name), l.records] as const)];
    if (rest > 0) rows.push([`${sorted.length - CHART_LABELS} other labels`, rest]);
    rows.reverse();
    return {
      grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      xAxis: { type: 'value' },
      yAxis: { type: 'category', data: rows.map((r) => r[0]) },
      series: [
        {
          type: 'bar',
          name: 'Records',
          data: rows.map((r) => r[1]),
          itemStyle: { color: '#0969da' },
          label: { show: true, position: 'right', color: '#1b1f24' },
        },
      ],
    };
  }, [sorted]);
  const shown = all ? sorted : sorted.slice(0, TABLE_ROWS);
  return (
    <section className="panel" aria-labelledby="classes-h">
      <h2 id="classes-h">Class counts</h2>
      {sorted.length === 0 ? (
        <p className="muted">No records.</p>
      ) : (
        <>
          <Chart
            option={option}
            label={`Records per label, ${sorted.length} labels`}
            height={Math.min(480, 60 + Math.min(sorted.length, CHART_LABELS + 1) * 26)}
          />
          <table className="table">
            <caption className="sr-only">Records per label</caption>
            <thead>
              <tr>
                <th scope="col">Label</th>
                <th scope="col" className="num">
                  Records
                </th>
                <th scope="col" className="num">
                  Share
                </th>
              </tr>
            </thead>
            <tbody>
              {shown.map((l) => (
                <tr key={labelName(l.name)}>
                  <th scope="row">{labelName(l.name)}</th>
                  <td className="num">{n(l.records)}</td>
                  <td className="num">{pct(snap.records ? l.records / snap.records : null)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {sorted.length > TABLE_ROWS ? (
            <button type="button" onClick={() => setAll(!all)}>
              {all ? 'Show fewer' : `Show all ${sorted.length} labels`}
            </button>
          ) : null}
        </>
      )}
    </section>
  );
}

function Sources({ snap, dataset }: { snap: SnapshotDetail; dataset: DatasetDetail | undefined }) {
  const [all, setAll] = useState(false);
  const registered = new Map((dataset?.sources ?? []).map((s) => [s.name, s]));
  const sorted = [...snap.sources].sort((a, b) => b.records - a.records);
  const shown = all ? sorted : sorted.slice(0, TABLE_ROWS);
  return (
    <section className="panel" aria-labelledby="sources-h">
      <h2 id="sources-h">Sources</h2>
      <table className="table">
        <caption className="sr-only">Records per source and how each source is registered</caption>
        <thead>
          <tr>
            <th scope="col">Source</th>
            <th scope="col" className="num">
              Records
            </th>
            <th scope="col">Trusted</th>
            <th scope="col">External</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((s) => {
            const reg = s.name === null ? undefined : registered.get(s.name);
            return (
              <tr key={sourceName(s.name)}>
                <th scope="row">{sourceName(s.name)}</th>
                <td className="num">{n(s.records)}</td>
                <td>
                  {reg ? (
                    <span className={`badge ${reg.trusted ? 'badge-good' : 'badge-bad'}`}>
                      {reg.trusted ? 'trusted' : 'untrusted'}
                    </span>
                  ) : (
                    <span className="muted">not registered</span>
                  )}
                </td>
                <td>{reg ? (reg.external ? 'external' : 'internal') : '–'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {sorted.length > TABLE_ROWS ? (
        <button type="button" onClick={() => setAll(!all)}>
          {all ? 'Show fewer' : `Show all ${sorted.length} sources`}
        </button>
      ) : null}
    </section>
  );
}

function Attestation({ snap, canVerify }: { snap: SnapshotDetail; canVerify: boolean }) {
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Verification | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const verify = async () => {
    setBusy(true);
    setResult(null);
    setFailure(null);
    try {
      setResult(
        await api<Verification>(`/v1/snapshots/${seg(snap.id)}/verify`, { method: 'POST' }),
      );
    } catch (e) {
      setFailure(e);
    } finally {
      setBusy(false);
    }
  };
  const failed = failure instanceof ApiError && failure.code === 'VERIFY_FAILED';
  return (
    <section className="panel" aria-labelledby="attestation-h">
      <h2 id="attestation-h">Attestation</h2>
      <dl className="snap-facts">
        <dt>Merkle root</dt>
        <dd>
          <code className="snap-digest">{snap.root}</code>
        </dd>
        <dt>Manifest digest</dt>
        <dd>
          <code className="snap-digest">{snap.manifestDigest}</code>
        </dd>
        <dt>Envelope digest</dt>
        <dd>
          <code className="snap-digest">{snap.envelopeDigest}</code>
        </dd>
        <dt>Signed by</dt>
        <dd>
          {snap.author} <span className="muted">key</span>{' '}
          <code className="snap-digest">{snap.authorKeyId}</code>
        </dd>
      </dl>
      {canVerify ? (
        <div className="toolbar">
          <button type="button" className="primary" disabled={busy} onClick={() => void verify()}>
            {busy ? 'Verifying…' : 'Verify'}
          </button>
          <span className="muted">
            Checks the signature, the manifest and its root, and every record.
          </span>
        </div>
      ) : null}
      <div aria-live="polite">
        {busy ? <Loading what="the verification (every record is read)" /> : null}
        {result ? (
          <div className="notice" role="status">
            <strong>Verified.</strong> {n(result.records)} records in {n(result.segments)} segments
            {result.files ? `, ${n(result.files)} files` : ''}, signed by {result.signer}.
          </div>
        ) : null}
        {failure ? (
          <>
            {failed ? (
              <p>
                <strong>Verification failed.</strong> Do not use this snapshot until the problem
                below is explained.
              </p>
            ) : null}
            <ErrorView error={failure} />
          </>
        ) : null}
      </div>
    </section>
  );
}

function GateSummary({ snap }: { snap: SnapshotDetail }) {
  // The status says whether a gate ever ran, so the verdict is asked for only when there is one
  // (a 404 would show as an error in the browser console).
  const status = useApi<SnapshotStatus>(`/v1/snapshots/${seg(snap.id)}/status`);
  const run = status.data?.gate.run ?? null;
  const verdict = useApi<GateResult>(run ? `/v1/snapshots/${seg(snap.id)}/gate` : null);
  const none = verdict.error instanceof ApiError && verdict.error.status === 404;
  const data = verdict.data;
  const failed = data?.checks.filter((c) => !c.passed) ?? [];
  const s = status.data;
  return (
    <section className="panel" aria-labelledby="gate-h">
      <h2 id="gate-h">Gate and approvals</h2>
      <ErrorView error={status.error} />
      {status.loading && !s ? <Loading what="the gate status" /> : null}
      {s ? (
        <p>
          Approvals: {s.approvals.independent.length} of {s.approvals.required} required
          {s.approvals.independent.length ? ` (${s.approvals.independent.join(', ')})` : ''}
          {s.reviewItems ? `; ${n(s.reviewItems)} open review items` : ''}.
        </p>
      ) : null}
      {s && run === null ? <p className="muted">No gate has been run on this snapshot.</p> : null}
      {s && run !== null ? (
        <p>
          Gate now: <StateBadge state={s.gate.passed ? 'passed' : 'failed'} />{' '}
          <span className="muted">{s.gate.reason}</span>
        </p>
      ) : null}
      {!none ? <ErrorView error={verdict.error} /> : null}
      {data ? (
        <>
          <p>
            Newest verdict: <StateBadge state={data.passed ? 'passed' : 'failed'} />{' '}
            <span className="muted">
              {data.checks.length} checks, verdict <code>{short(data.gate)}</code>
            </span>
          </p>
          {failed.length > 0 ? (
            <ul>
              {failed.map((c) => (
                <li key={c.id}>
                  <code>{c.id}</code>: {c.reason}
                </li>
              ))}
            </ul>
          ) : null}
        </>
      ) : null}
      <p>
        <a href={href('approvals')}>Approvals and gates</a>
      </p>
    </section>
  );
}

function Scans({ snap }: { snap: SnapshotDetail }) {
  const { data, error, loading } = useApi<{ scans: ScanRecord[] }>(
    `/v1/snapshots/${seg(snap.id)}/scans`,
  );
  const scans = data ? [...data.scans].reverse() : [];
  return (
    <section className="panel" aria-labelledby="scans-h">
      <h2 id="scans-h">Scans</h2>
      <ErrorView error={error} />
      {loading && !data ? <Loading what="scans" /> : null}
      {data && scans.length === 0 ? <p className="muted">Not scanned yet.</p> : null}
      {scans.length > 0 ? (
        <table className="table">
          <caption className="sr-only">Scans of this snapshot, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Scan</th>
              <th scope="col">When</th>
              <th scope="col">By</th>
              <th scope="col" className="num">
                Flagged rows
              </th>
              <th scope="col" className="num">
                Triggers
              </th>
              <th scope="col">Suspicious sources</th>
            </tr>
          </thead>
          <tbody>
            {scans.map((s) => (
              <tr key={s.id}>
                <th scope="row">
                  <a href={href('snapshots', snap.ref, 'scans', s.id)}>{short(s.id)}</a>
                </th>
                <td>{when(s.createdAt)}</td>
                <td>{s.actor}</td>
                <td className="num">
                  {n(s.summary.flaggedRows)} of {n(s.summary.rows)}
                </td>
                <td className="num">{n(s.summary.triggers)}</td>
                <td>{s.summary.suspiciousSources.join(', ') || '–'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

function DatasetSnapshots({
  snap,
  snapshots,
}: {
  snap: SnapshotDetail;
  snapshots: Snapshot[] | undefined;
}) {
  if (!snapshots) return null;
  const newest = [...snapshots].reverse();
  return (
    <section className="panel" aria-labelledby="versions-h">
      <h2 id="versions-h">Snapshots of {snap.dataset}</h2>
      <table className="table">
        <caption className="sr-only">Every snapshot of the dataset, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Snapshot</th>
            <th scope="col">State</th>
            <th scope="col">Stage</th>
            <th scope="col" className="num">
              Records
            </th>
            <th scope="col">Author</th>
            <th scope="col">Created</th>
            <th scope="col">Message</th>
          </tr>
        </thead>
        <tbody>
          {newest.map((s) => (
            <tr key={s.id} aria-current={s.id === snap.id ? 'true' : undefined}>
              <th scope="row">
                {s.id === snap.id ? (
                  <strong>{s.ref} (this one)</strong>
                ) : (
                  <a href={href('snapshots', s.ref)}>{s.ref}</a>
                )}
                {s.current ? <span className="muted"> · head</span> : null}
                {s.tags.length ? <span className="muted"> · {s.tags.join(', ')}</span> : null}
              </th>
              <td>
                <StateBadge state={s.state} />
              </td>
              <td>{s.stage}</td>
              <td className="num">{n(s.records)}</td>
              <td>{s.author}</td>
              <td>{when(s.createdAt)}</td>
              <td>{s.message}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
