import { useApi } from '../api/hooks.js';
import { ErrorView, Loading } from '../components/ErrorView.js';
import { n, when } from '../components/format.js';
import { StateBadge } from '../components/StateBadge.js';
import { href } from '../router.js';

interface DashboardRow {
  name: string;
  current: string | null;
  head: string | null;
  stage: string | null;
  state: string | null;
  records: number;
  owners: string[];
  lastScan: {
    id: string;
    createdAt: string;
    flaggedRows: number;
    rows: number;
    triggers: number;
    suspiciousSources: string[];
  } | null;
  gate: { passed: boolean; reason: string } | null;
  openReviewItems: number;
  activeQuarantines: number;
}

/** Every dataset the user may read, with where its head stands and what waits for people. */
export function DatasetsPage() {
  const { data, error, loading } = useApi<{ datasets: DashboardRow[] }>('/v1/dashboard');
  return (
    <main>
      <h1>Datasets</h1>
      <ErrorView error={error} />
      {loading && !data ? <Loading what="datasets" /> : null}
      {data && data.datasets.length === 0 ? <p>No dataset is visible to you.</p> : null}
      {data && data.datasets.length > 0 ? (
        <table className="table">
          <caption className="sr-only">Datasets and the state of their current snapshots</caption>
          <thead>
            <tr>
              <th scope="col">Dataset</th>
              <th scope="col">Current snapshot</th>
              <th scope="col">State</th>
              <th scope="col">Stage</th>
              <th scope="col" className="num">
                Records
              </th>
              <th scope="col">Owners</th>
              <th scope="col">Last scan</th>
              <th scope="col">Gate</th>
              <th scope="col" className="num">
                Open reviews
              </th>
              <th scope="col" className="num">
                Quarantines
              </th>
            </tr>
          </thead>
          <tbody>
            {data.datasets.map((d) => (
              <tr key={d.name}>
                <th scope="row">
                  {d.current ? <a href={href('snapshots', d.name)}>{d.name}</a> : d.name}
                </th>
                <td>{d.current ? <a href={href('snapshots', d.current)}>{d.current}</a> : '–'}</td>
                <td>{d.state ? <StateBadge state={d.state} /> : '–'}</td>
                <td>{d.stage ?? '–'}</td>
                <td className="num">{n(d.records)}</td>
                <td>{d.owners.join(', ') || '–'}</td>
                <td>
                  {d.lastScan && d.current ? (
                    <a
                      href={href('snapshots', d.current, 'scans', d.lastScan.id)}
                      title={when(d.lastScan.createdAt)}
                    >
                      {n(d.lastScan.flaggedRows)} flagged of {n(d.lastScan.rows)}
                      {d.lastScan.triggers > 0
                        ? `, ${d.lastScan.triggers} trigger${d.lastScan.triggers > 1 ? 's' : ''}`
                        : ''}
                    </a>
                  ) : (
                    <span className="muted">not scanned</span>
                  )}
                </td>
                <td title={d.gate?.reason}>
                  {d.gate ? (
                    <StateBadge state={d.gate.passed ? 'passed' : 'failed'} />
                  ) : (
                    <span className="muted">not run</span>
                  )}
                </td>
                <td className="num">
                  {d.openReviewItems > 0 ? (
                    <a href={href('review', { dataset: d.name })}>{n(d.openReviewItems)}</a>
                  ) : (
                    0
                  )}
                </td>
                <td className="num">
                  {d.activeQuarantines > 0 ? <StateBadge state="quarantined" /> : 0}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </main>
  );
}
