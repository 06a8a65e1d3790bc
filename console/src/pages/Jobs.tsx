import { useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, seg, streamEvents } from '../api/client.js';
import { useApi, usePermissions } from '../api/hooks.js';
import type { Job, JobProgress, Problem } from '../api/types.js';
import { ErrorView, Loading } from '../components/ErrorView.js';
import { when } from '../components/format.js';
import { StateBadge } from '../components/StateBadge.js';
import { href, setQuery, useRoute } from '../router.js';
import { isActive, progressText, resultTarget, scanBody } from './jobs-view.js';
import './Jobs.css';

/**
 * The caller's jobs (ingests, transforms, scans): running ones followed live over Server-Sent
 * Events, with Cancel; finished ones link to what they produced or show why they failed. A scan
 * can be started here, and the page follows it (its id stays in the URL: #/jobs?job=<id>).
 */
export function JobsPage() {
  const route = useRoute();
  const show = route.query.get('show') ?? 'all';
  const followed = route.query.get('job');
  const list = useApi<{ jobs: Job[] }>(
    '/v1/jobs',
    show === 'active' ? { active: true } : show === 'ended' ? { active: false } : {},
  );
  const others = list.data?.jobs.filter((j) => j.id !== followed) ?? [];
  return (
    <main>
      <h1>Jobs</h1>
      <StartScan initialRef={route.query.get('scan') ?? ''} onStarted={() => list.reload()} />
      {followed ? <FollowedJob id={followed} onEnd={list.reload} /> : null}
      <section aria-labelledby="jobs-title">
        <div className="toolbar">
          <h2 id="jobs-title" className="jobs-h2">
            Your jobs
          </h2>
          <label htmlFor="jobs-show">Show</label>
          <select
            id="jobs-show"
            value={show}
            onChange={(e) =>
              setQuery({ show: e.target.value === 'all' ? undefined : e.target.value })
            }
          >
            <option value="all">all</option>
            <option value="active">queued or running</option>
            <option value="ended">ended</option>
          </select>
          <button type="button" onClick={list.reload}>
            Refresh
          </button>
        </div>
        <p className="muted">
          Jobs live in the server’s memory: finished ones stay listed for an hour, and a restart
          forgets them.
        </p>
        <ErrorView error={list.error} />
        {list.loading && !list.data ? <Loading what="jobs" /> : null}
        {list.data && others.length === 0 ? <p>No {show === 'all' ? '' : 'such '}jobs.</p> : null}
        {others.length > 0 ? (
          <table className="table">
            <caption className="sr-only">Your jobs, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">State</th>
                <th scope="col">Progress</th>
                <th scope="col">Started</th>
                <th scope="col">Ended</th>
                <th scope="col">Result</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {others.map((j) => (
                <JobRow key={j.id} initial={j} onEnd={list.reload} />
              ))}
            </tbody>
          </table>
        ) : null}
      </section>
    </main>
  );
}

/** A job as it is now: follows its event stream while it is queued or running. */
function useLiveJob(
  initial: Job | undefined,
  onEnd: () => void,
): { job: Job | undefined; streamError: unknown; cancel: () => Promise<void> } {
  const [job, setJob] = useState(initial);
  const [streamError, setStreamError] = useState<unknown>(undefined);
  useEffect(() => setJob(initial), [initial]);
  const id = initial?.id;
  const active = initial !== undefined && isActive(initial);
  useEffect(() => {
    if (!id || !active) return;
    const ctl = new AbortController();
    streamEvents(
      `/v1/jobs/${seg(id)}/events`,
      (e) => {
        if (e.event === 'progress')
          setJob((j) => (j ? { ...j, state: 'running', progress: e.data as JobProgress } : j));
        else if (e.event === 'state') {
          const next = e.data as Job;
          setJob(next);
          if (!isActive(next)) onEnd();
        }
      },
      ctl.signal,
    ).catch((error: unknown) => {
      if (!ctl.signal.aborted) setStreamError(error);
    });
    return () => ctl.abort();
    // onEnd is the list's reload, which never changes.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [id, active]);
  const cancel = async () => {
    if (!id) return;
    try {
      setJob(await api<Job>(`/v1/jobs/${seg(id)}`, { method: 'DELETE' }));
    } catch (error) {
      setStreamError(error);
    }
  };
  return { job, streamError, cancel };
}

function JobRow({ initial, onEnd }: { initial: Job; onEnd: () => void }) {
  const { job = initial, streamError, cancel } = useLiveJob(initial, onEnd);
  return (
    <tr>
      <th scope="row">
        {job.description}
        <div className="muted jobs-id">
          {job.kind} · <code>{job.id.slice(0, 8)}</code>
        </div>
      </th>
      <td>
        <StateBadge state={job.state} />
        {job.cancelRequested && isActive(job) ? <div className="muted">cancelling…</div> : null}
      </td>
      <td>
        <Progress job={job} />
      </td>
      <td>{when(job.startedAt ?? job.createdAt)}</td>
      <td>{when(job.finishedAt)}</td>
      <td>
        <Outcome job={job} />
        <ErrorView error={streamError} />
      </td>
      <td>
        {isActive(job) && !job.cancelRequested ? (
          <button
            type="button"
            className="danger"
            aria-label={`Cancel ${job.description}`}
            onClick={() => void cancel()}
          >
            Cancel
          </button>
        ) : null}
      </td>
    </tr>
  );
}

/** The job this page started (or was linked to), shown apart and followed live. */
function FollowedJob({ id, onEnd }: { id: string; onEnd: () => void }) {
  const loaded = useApi<Job>(`/v1/jobs/${seg(id)}`);
  const { job, streamError, cancel } = useLiveJob(loaded.data, onEnd);
  return (
    <section className="panel" aria-labelledby="followed-title" data-testid="followed-job">
      <div className="toolbar jobs-followed-bar">
        <h2 id="followed-title" className="jobs-h2">
          {job ? `Job: ${job.description}` : 'Job'}
        </h2>
        {job ? <StateBadge state={job.state} /> : null}
        {job && isActive(job) && !job.cancelRequested ? (
          <button type="button" className="danger" onClick={() => void cancel()}>
            Cancel job
          </button>
        ) : null}
        <button type="button" onClick={() => setQuery({ job: undefined })}>
          Close
        </button>
      </div>
      <ErrorView error={loaded.error} />
      {loaded.loading && !job ? <Loading what="the job" /> : null}
      {job ? (
        <>
          <Progress job={job} wide />
          <div aria-live="polite" className="jobs-outcome">
            {isActive(job) ? null : <Outcome job={job} />}
          </div>
        </>
      ) : null}
      <ErrorView error={streamError} />
    </section>
  );
}

function Progress({ job, wide = false }: { job: Job; wide?: boolean }) {
  if (!isActive(job)) {
    return <span className="muted">{job.state === 'succeeded' ? 'done' : '–'}</span>;
  }
  const fraction = job.progress?.fraction;
  return (
    <div className={wide ? 'jobs-progress wide' : 'jobs-progress'}>
      <progress
        max={1}
        {...(fraction !== undefined ? { value: fraction } : {})}
        aria-label={`Progress of ${job.description}`}
      />
      <span className="muted">
        {job.state === 'queued' ? 'queued' : progressText(job.progress)}
      </span>
    </div>
  );
}

/** What a finished job produced (a link), or why it did not (its problem). */
function Outcome({ job }: { job: Job }) {
  if (job.state === 'failed' && job.error) return <ErrorView error={problemError(job.error)} />;
  if (job.state === 'cancelled') return <span className="muted">cancelled: nothing was kept</span>;
  const target = resultTarget(job);
  if (!target) return <span className="muted">–</span>;
  const failOn = (job.result as { failOn?: { broken?: string[] } | null } | null)?.failOn;
  return (
    <>
      <a href={href(...target.parts)}>Open {target.label}</a>
      {failOn?.broken?.length ? (
        <div>
          <span className="badge badge-bad">fail-on broken</span> {failOn.broken.join(', ')}
        </div>
      ) : null}
    </>
  );
}

const problemError = (p: Problem): ApiError => new ApiError(p.status, p.code, p);

/** "Start a scan": POST /v1/snapshots/{ref}/scans, then follow the job on this page. */
function StartScan({ initialRef, onStarted }: { initialRef: string; onStarted: () => void }) {
  const [ref, setRef] = useState(initialRef);
  const [baseline, setBaseline] = useState('');
  const [failOn, setFailOn] = useState('');
  const [spectral, setSpectral] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  // Ask whether the snapshot may be scanned once typing pauses.
  const [asked, setAsked] = useState(initialRef.trim());
  useEffect(() => {
    const t = setTimeout(() => setAsked(ref.trim()), 300);
    return () => clearTimeout(t);
  }, [ref]);
  const { can, why } = usePermissions(asked ? [{ action: 'scan', snapshot: asked }] : []);
  const allowed = asked !== '' && asked === ref.trim() && can('scan');
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!allowed) return;
    setBusy(true);
    setError(undefined);
    try {
      const job = await api<Job>(`/v1/snapshots/${seg(ref.trim())}/scans`, {
        method: 'POST',
        body: scanBody({ baseline, failOn, spectral }),
      });
      setQuery({ job: job.id, scan: undefined });
      onStarted();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="panel" aria-labelledby="start-scan-title" onSubmit={(e) => void submit(e)}>
      <h2 id="start-scan-title" className="jobs-h2">
        Start a scan
      </h2>
      <div className="jobs-fields">
        <div className="field">
          <label htmlFor="scan-ref">Snapshot to scan</label>
          <input
            id="scan-ref"
            value={ref}
            onChange={(e) => setRef(e.target.value)}
            placeholder="dataset@3"
            aria-describedby="scan-ref-help"
            required
          />
          <span id="scan-ref-help" className="muted">
            dataset (its head), dataset@3, dataset@tag or an id prefix
          </span>
        </div>
        <div className="field">
          <label htmlFor="scan-baseline">Baseline snapshot (optional)</label>
          <input
            id="scan-baseline"
            value={baseline}
            onChange={(e) => setBaseline(e.target.value)}
            placeholder="dataset@2"
            aria-describedby="scan-baseline-help"
          />
          <span id="scan-baseline-help" className="muted">
            its class balance is compared with this one’s
          </span>
        </div>
        <div className="field">
          <label htmlFor="scan-failon">Fail on (optional)</label>
          <input
            id="scan-failon"
            value={failOn}
            onChange={(e) => setFailOn(e.target.value)}
            placeholder="trigger,secret,label>5%"
          />
        </div>
        <div className="jobs-check">
          <input
            id="scan-spectral"
            type="checkbox"
            checked={spectral}
            onChange={(e) => setSpectral(e.target.checked)}
          />
          <label htmlFor="scan-spectral">Spectral signature detector (slower)</label>
        </div>
      </div>
      <div className="toolbar">
        {allowed ? (
          <button type="submit" className="primary" disabled={busy}>
            Start scan
          </button>
        ) : null}
        {asked && asked === ref.trim() && !allowed && why('scan') ? (
          <span className="muted" role="status">
            You may not scan {asked}: {why('scan')}
          </span>
        ) : null}
      </div>
      <ErrorView error={error} />
    </form>
  );
}
