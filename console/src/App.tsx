import { useCallback, useEffect, useState } from 'react';
import { onSignedOut, whoamiWith } from './api/client.js';
import { clearToken, getToken, setToken } from './api/session.js';
import type { Whoami } from './api/types.js';
import { Loading } from './components/ErrorView.js';
import { ApprovalsPage } from './pages/Approvals.js';
import { AuditPage } from './pages/Audit.js';
import { DatasetsPage } from './pages/Datasets.js';
import { IdentitiesPage } from './pages/Identities.js';
import { JobsPage } from './pages/Jobs.js';
import { LineagePage } from './pages/Lineage.js';
import { ReviewPage } from './pages/Review.js';
import { ScanReportPage } from './pages/ScanReport.js';
import { SignIn } from './pages/SignIn.js';
import { SnapshotPage } from './pages/Snapshot.js';
import { href, useRoute, type Route } from './router.js';
import { SessionContext } from './session-context.js';

const NAV: { to: string; label: string; section: string }[] = [
  { to: href('datasets'), label: 'Datasets', section: 'datasets' },
  { to: href('review'), label: 'Review queue', section: 'review' },
  { to: href('approvals'), label: 'Approvals & gates', section: 'approvals' },
  { to: href('jobs'), label: 'Jobs', section: 'jobs' },
  { to: href('audit'), label: 'Audit log', section: 'audit' },
  { to: href('identities'), label: 'Identities & tokens', section: 'identities' },
];

/** The page for a route: `#/snapshots/<ref>/scans/<id>`, `#/lineage/<ref>`, and so on. */
function page(route: Route) {
  const [section, a, b, c] = route.parts;
  switch (section) {
    case undefined:
    case 'datasets':
      return <DatasetsPage />;
    case 'snapshots':
      if (a !== undefined && b === 'scans' && c !== undefined)
        return <ScanReportPage snapshot={a} scan={c} />;
      if (a !== undefined) return <SnapshotPage snapshot={a} />;
      return <DatasetsPage />;
    case 'lineage':
      return a !== undefined ? <LineagePage snapshot={a} /> : <DatasetsPage />;
    case 'review':
      return <ReviewPage />;
    case 'approvals':
      return <ApprovalsPage />;
    case 'audit':
      return <AuditPage />;
    case 'identities':
      return <IdentitiesPage />;
    case 'jobs':
      return <JobsPage />;
    default:
      return (
        <main>
          <h1>Not found</h1>
          <p>
            There is no page <code>{window.location.hash}</code>.{' '}
            <a href={href('datasets')}>Datasets</a>
          </p>
        </main>
      );
  }
}

export function App() {
  const route = useRoute();
  const [me, setMe] = useState<Whoami | null>(null);
  const [checking, setChecking] = useState(() => getToken() !== null);

  const signOut = useCallback(() => {
    clearToken();
    setMe(null);
  }, []);
  useEffect(() => onSignedOut(() => setMe(null)), []);

  // A tab reloaded with a token still in its session: check it is still good.
  useEffect(() => {
    const token = getToken();
    if (!token) return;
    whoamiWith<Whoami>(token).then(
      (w) => {
        setMe(w);
        setChecking(false);
      },
      () => {
        clearToken();
        setChecking(false);
      },
    );
  }, []);

  if (checking) return <Loading what="your session" />;
  if (!me)
    return (
      <SignIn
        onSignedIn={(token, w) => {
          setToken(token);
          setMe(w);
        }}
      />
    );

  const section = route.parts[0] ?? 'datasets';
  const current = section === 'snapshots' || section === 'lineage' ? 'datasets' : section;
  return (
    <SessionContext.Provider value={me}>
      <a
        className="skip"
        href="#content"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById('content')?.focus();
        }}
      >
        Skip to content
      </a>
      <div className="shell">
        <header className="topbar">
          <a className="brand" href={href('datasets')}>
            Cordon
          </a>
          <span className="who" data-testid="signed-in-as">
            {me.name} <span className="muted">({me.kind})</span>
          </span>
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </header>
        <nav className="sidebar" aria-label="Sections">
          <ul>
            {NAV.map((item) => (
              <li key={item.section}>
                <a href={item.to} aria-current={current === item.section ? 'page' : undefined}>
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div id="content" className="content" tabIndex={-1}>
          {page(route)}
        </div>
      </div>
    </SessionContext.Provider>
  );
}
