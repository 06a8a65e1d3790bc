import { useState } from 'react';
import type { ScanOverviewView } from '../../../src/server/scan-report-views.js';
import { api, apiText, seg } from '../api/client.js';
import { useApi, usePermissions } from '../api/hooks.js';
import { ErrorView, Loading } from '../components/ErrorView.js';
import { n, pct, short, when } from '../components/format.js';
import { href, setQuery, useRoute } from '../router.js';
import { ClassBalanceChart, KindsChart, ScoreHistogram } from './scan-charts.js';
import { FindingsSection } from './scan-findings.js';
import { fmtNum, fmtP, kindName, parseFindingsFilters } from './scan-format.js';
import { SourceDriftTable, SourceRiskTable, Verdict } from './scan-sources.js';
import { TriggerRows, TriggersTable } from './scan-triggers.js';
import './scan-report.css';

type Overview = ScanOverviewView;

/**
 * One recorded scan: what was found, where, and how sure. Everything shown is aggregated or
 * paged by the server (a report can hold tens of thousands of findings); filters and the trigger
 * shown live in the hash, so a link brings a colleague to the same view.
 */
export function ScanReportPage({ snapshot, scan }: { snapshot: string; scan: string }) {
  const route = useRoute();
  const overview = useApi<Overview>(`/v1/snapshots/${seg(snapshot)}/scans/${seg(scan)}/overview`);
  const o = overview.data;
  return (
    <main className="scan-report">
      <p className="muted">
        <a href={href('snapshots', snapshot)}>← {snapshot}</a>
      </p>
      <h1>
        Scan of {o?.snapshot.ref ?? snapshot}{' '}
        <span className="muted mono" title={o?.scan.id}>
          {short(o?.scan.id ?? scan)}
        </span>
      </h1>
      <ErrorView error={overview.error} />
      {overview.loading && !o ? <Loading what="the scan" /> : null}
      {o ? <Report o={o} snapshot={snapshot} query={route.query} /> : null}
    </main>
  );
}

function Report({ o, snapshot, query }: { o: Overview; snapshot: string; query: URLSearchParams }) {
  const filters = parseFindingsFilters(query);
  const scanId = o.scan.id;
  const byIssues = [...o.kinds].sort((a, b) => b.issues - a.issues)[0];
  const selectedKind = o.kinds.find((k) => k.kind === filters.kind) ?? byIssues;
  const rowsOf = Number(query.get('rowsOf') ?? 'NaN');
  const shownTrigger = o.triggers.find((t) => t.index === rowsOf);
  const rowsAt = Math.max(0, Math.trunc(Number(query.get('rowsAt') ?? '0')) || 0);
  const filterTrigger = o.triggers.find((t) => t.index === filters.trigger);
  const skipped = o.detectors.filter((d) => d.skipped !== null);
  const suspicious = o.sources.filter((s) => s.suspicious);
  const balance = o.classBalance;
  const sourceNames = [
    ...new Set([
      ...o.sources.map((s) => s.source),
      ...(balance?.sources.map((s) => s.source) ?? []),
    ]),
  ];
  const labelNames = o.labels.map((l) => l.label).filter((l): l is string => l !== null);

  return (
    <>
      <ScanHeader o={o} />
      <Actions o={o} snapshot={snapshot} />

      <section aria-labelledby="summary-title">
        <h2 id="summary-title" className="sr-only">
          Summary
        </h2>
        <div className="cards">
          <Card title="Rows scanned" value={n(o.rows)} />
          <Card
            title="Rows flagged"
            value={n(o.flaggedRows)}
            note={`${pct(o.rows ? o.flaggedRows / o.rows : 0)} of rows, by any detector`}
          />
          <Card
            title="Trigger patterns"
            value={n(o.triggersTotal)}
            tone={o.triggersTotal > 0 ? 'bad' : undefined}
          />
          <Card
            title="Suspicious sources"
            value={n(suspicious.length)}
            note={suspicious.map((s) => s.source).join(', ') || 'none'}
            tone={suspicious.length > 0 ? 'bad' : undefined}
          />
          <Card
            title="Class balance"
            value={
              balance === null || balance.skipped !== null
                ? 'not checked'
                : balance.baseline === null
                  ? 'no baseline'
                  : balance.drift
                    ? 'drifted'
                    : 'no drift'
            }
            tone={balance?.drift ? 'bad' : undefined}
            note={balance?.skipped ?? (balance?.imbalance?.imbalanced ? 'imbalanced classes' : '')}
          />
          <Card
            title="Detectors skipped"
            value={`${skipped.length} of ${o.detectors.length}`}
            note={skipped.length > 0 ? 'a skipped detector checked nothing' : 'all ran'}
            tone={skipped.length > 0 ? 'warn' : undefined}
          />
        </div>
      </section>

      <div className="grid2">
        <section className="panel" aria-labelledby="kinds-title">
          <h2 id="kinds-title">Findings by kind</h2>
          <KindsChart
            kinds={o.kinds}
            selected={filters.kind}
            onSelect={(kind) =>
              setQuery({ kind: kind === filters.kind ? undefined : kind, offset: undefined })
            }
          />
          <div className="scan-kind-buttons" role="group" aria-label="Filter findings by kind">
            {o.kinds.map((k) => (
              <button
                key={k.kind}
                type="button"
                aria-pressed={filters.kind === k.kind}
                onClick={() =>
                  setQuery({
                    kind: filters.kind === k.kind ? undefined : k.kind,
                    offset: undefined,
                  })
                }
              >
                {kindName(k.kind)} <span className="muted">{n(k.rows)}</span>
              </button>
            ))}
          </div>
        </section>
        <section className="panel" aria-labelledby="hist-title">
          <h2 id="hist-title">
            Scores of {selectedKind ? kindName(selectedKind.kind) : ''} findings
          </h2>
          {selectedKind && selectedKind.issues > 0 ? (
            <>
              <ScoreHistogram kind={selectedKind} />
              <p className="muted">
                {n(selectedKind.issues)} findings, scores {fmtNum(selectedKind.minScore)} to{' '}
                {fmtNum(selectedKind.maxScore)}; comparable within one detector only.
              </p>
            </>
          ) : (
            <p>No findings of this kind.</p>
          )}
        </section>
      </div>

      <section className="panel" aria-labelledby="balance-title">
        <h2 id="balance-title">Class balance and drift</h2>
        {balance === null ? (
          <p>The class-balance check did not run in this scan.</p>
        ) : balance.skipped !== null ? (
          <p>
            Skipped: {balance.skipped}. <strong>A skipped check is not a pass.</strong>
          </p>
        ) : (
          <>
            <DriftSummary balance={balance} />
            <ClassBalanceChart balance={balance} />
            <SourceDriftTable balance={balance} />
          </>
        )}
      </section>

      <section className="panel" aria-labelledby="triggers-title">
        <h2 id="triggers-title">Triggers</h2>
        <TriggersTable
          triggers={o.triggers}
          total={o.triggersTotal}
          shown={shownTrigger?.index}
          filtered={filters.trigger}
        />
        {shownTrigger ? (
          <TriggerRows snapshot={snapshot} scan={scanId} trigger={shownTrigger} offset={rowsAt} />
        ) : null}
      </section>

      <section className="panel" aria-labelledby="sources-title">
        <h2 id="sources-title">Risk per source</h2>
        <SourceRiskTable sources={o.sources} total={o.sourcesTotal} />
      </section>

      <section className="panel" aria-labelledby="findings-title">
        <h2 id="findings-title">Findings</h2>
        <FindingsSection
          snapshot={snapshot}
          scan={scanId}
          filters={filters}
          sources={sourceNames}
          labels={labelNames}
          triggerName={
            filters.trigger !== undefined
              ? (filterTrigger?.pattern ?? `trigger ${filters.trigger}`)
              : undefined
          }
        />
      </section>

      <section className="panel" aria-labelledby="detectors-title">
        <h2 id="detectors-title">Detectors</h2>
        <DetectorsTable o={o} />
      </section>
    </>
  );
}

function Card(props: {
  title: string;
  value: string;
  note?: string;
  tone?: 'bad' | 'warn' | undefined;
}) {
  return (
    <div className={`card${props.tone ? ` scan-card-${props.tone}` : ''}`}>
      <div className="muted">{props.title}</div>
      <div className="value">{props.value}</div>
      {props.note ? <div className="muted">{props.note}</div> : null}
    </div>
  );
}

function ScanHeader({ o }: { o: Overview }) {
  const st = o.statement;
  return (
    <dl className="scan-meta">
      <dt>Snapshot</dt>
      <dd>
        <a href={href('snapshots', o.snapshot.ref)}>{o.snapshot.ref}</a>{' '}
        <span className="mono muted">{short(o.snapshot.id)}</span>
      </dd>
      <dt>Scanned</dt>
      <dd>
        by <strong>{o.scan.actor}</strong>, {when(o.scan.createdAt)}
        {o.totalSeconds !== null ? ` in ${fmtNum(o.totalSeconds, 1)} s` : ''}
      </dd>
      <dt>Scan id (statement digest)</dt>
      <dd className="mono scan-digest">{o.scan.id}</dd>
      <dt>Signed statement</dt>
      <dd>
        {st.error === null && st.verifiedBy.length > 0 && st.bindsReport ? (
          <span className="badge badge-good">verified</span>
        ) : (
          <span className="badge badge-bad">not verified</span>
        )}{' '}
        {st.verifiedBy.length > 0 ? `signed by ${st.verifiedBy.join(', ')}` : ''}
        {st.error ? ` — ${st.error}` : ''}
        {st.error === null && !st.bindsReport ? ' — the statement does not name this report' : ''}
        <div className="mono muted scan-digest">envelope {o.scan.envelopeDigest}</div>
      </dd>
      <dt>Report</dt>
      <dd>
        <span className="mono scan-digest">{o.scan.reportDigest}</span>{' '}
        <span className="muted">({n(Math.round(o.scan.reportBytes / 1024))} KiB)</span>
      </dd>
    </dl>
  );
}

function Actions({ o, snapshot }: { o: Overview; snapshot: string }) {
  const perms = usePermissions([{ action: 'review', snapshot }]);
  const [opening, setOpening] = useState(false);
  const [opened, setOpened] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [downloading, setDownloading] = useState(false);

  const openReview = () => {
    setOpening(true);
    setError(null);
    api<{ opened: number; threshold: number; scan: string }>(
      `/v1/snapshots/${seg(snapshot)}/review`,
      { method: 'POST', body: {} },
    ).then(
      (r) => {
        setOpened(
          `${r.opened.toLocaleString()} review item${r.opened === 1 ? '' : 's'} opened (score ≥ ${r.threshold}, from scan ${short(r.scan)}).`,
        );
        setOpening(false);
      },
      (e: unknown) => {
        setError(e);
        setOpening(false);
      },
    );
  };

  // The HTML report runs inline scripts. A blob: page opened from here would inherit the
  // console's CSP (script-src 'self') and show without its plots, so it is downloaded instead,
  // and opened from disk it runs under its own rules.
  const download = () => {
    setDownloading(true);
    setError(null);
    apiText(`/v1/snapshots/${seg(snapshot)}/scans/${seg(o.scan.id)}/report.html`).then(
      (html) => {
        const link = document.createElement('a');
        link.href = URL.createObjectURL(new Blob([html], { type: 'text/html' }));
        link.download = `${o.snapshot.ref.replace(/[^A-Za-z0-9._-]/g, '_')}-scan-${short(o.scan.id)}.html`;
        document.body.appendChild(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
        setDownloading(false);
      },
      (e: unknown) => {
        setError(e);
        setDownloading(false);
      },
    );
  };

  return (
    <div className="toolbar">
      <a className="button" href={href('review', { snapshot: o.snapshot.ref })}>
        Review these
      </a>
      {perms.can('review') ? (
        <button type="button" className="primary" onClick={openReview} disabled={opening}>
          {opening ? 'Opening…' : 'Open review items'}
        </button>
      ) : null}
      <button type="button" onClick={download} disabled={downloading}>
        {downloading ? 'Preparing…' : 'Download the HTML report'}
      </button>
      {opened ? (
        <p className="notice" role="status">
          {opened}
        </p>
      ) : null}
      <ErrorView error={error} />
    </div>
  );
}

function DriftSummary({ balance }: { balance: NonNullable<Overview['classBalance']> }) {
  const b = balance.baseline;
  return (
    <div>
      {b ? (
        <p>
          Against the baseline: <Verdict severity={b.severity} /> PSI {fmtNum(b.psi)},
          Jensen–Shannon {fmtNum(b.jsDistance)}, {b.method === 'fisher' ? 'Fisher' : 'χ²'}{' '}
          {b.statistic !== null ? `${fmtNum(b.statistic, 1)} (df ${b.df ?? '–'}), ` : ''}p{' '}
          {fmtP(b.p)}. Drift means p &lt; 0.01 and PSI ≥ 0.25.
          {b.appeared.length > 0 ? ` New labels: ${b.appeared.join(', ')}.` : ''}
          {b.vanished.length > 0 ? ` Vanished labels: ${b.vanished.join(', ')}.` : ''}
        </p>
      ) : (
        <p className="muted">
          No baseline was given, so drift was not tested; the chart shows class counts.
        </p>
      )}
      {balance.imbalance ? (
        <p>
          {balance.imbalance.imbalanced ? (
            <span className="badge badge-warn">imbalanced</span>
          ) : (
            <span className="badge badge-good">balanced enough</span>
          )}{' '}
          commonest {balance.imbalance.commonest ?? '–'}, rarest {balance.imbalance.rarest ?? '–'},
          ratio {fmtNum(balance.imbalance.ratio, 1)}.
        </p>
      ) : null}
      {balance.driftedSources.length > 0 ? (
        <p>
          <span className="badge badge-bad">drifted sources</span>{' '}
          {balance.driftedSources.join(', ')}
        </p>
      ) : null}
      {balance.unusualSources.length > 0 ? (
        <p>
          <span className="badge badge-warn">unusual label mix</span>{' '}
          {balance.unusualSources.join(', ')}
        </p>
      ) : null}
      {balance.vanishedSources.length > 0 ? (
        <p>Sources in the baseline with no rows now: {balance.vanishedSources.join(', ')}</p>
      ) : null}
    </div>
  );
}

function DetectorsTable({ o }: { o: Overview }) {
  return (
    <table className="table">
      <caption className="sr-only">Detectors of this scan and how they ran</caption>
      <thead>
        <tr>
          <th scope="col">Detector</th>
          <th scope="col">Kinds</th>
          <th scope="col">Ran</th>
          <th scope="col" className="num">
            Rows flagged
          </th>
          <th scope="col" className="num">
            Seconds
          </th>
          <th scope="col" className="num">
            Rows / s
          </th>
        </tr>
      </thead>
      <tbody>
        {o.detectors.map((d) => (
          <tr key={d.id}>
            <th scope="row">
              <code>{d.id}</code>
            </th>
            <td>{d.kinds.map(kindName).join(', ') || 'dataset-level'}</td>
            <td>
              {d.skipped !== null ? (
                <>
                  <span className="badge badge-warn">skipped</span> {d.skipped}
                </>
              ) : (
                <span className="badge badge-good">ran</span>
              )}
            </td>
            <td className="num">{n(d.flagged)}</td>
            <td className="num">{fmtNum(d.seconds, 2)}</td>
            <td className="num">{n(d.rowsPerSecond)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
