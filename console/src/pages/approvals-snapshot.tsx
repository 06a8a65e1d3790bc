import { useState } from 'react';
import { api, seg } from '../api/client.js';
import { useApi, usePermissions } from '../api/hooks.js';
import type { Quarantine, SnapshotStatus, StateChange } from '../api/types.js';
import { ErrorView, Loading } from '../components/ErrorView.js';
import { short, when } from '../components/format.js';
import { StateBadge } from '../components/StateBadge.js';
import { href } from '../router.js';
import { useMe } from '../session-context.js';
import { releaseModel } from './approvals-example-policy.js';
import { GatePanel } from './approvals-gate.js';
import {
  approve,
  ApprovedNotice,
  type Approved,
  type SignedApproval,
} from './approvals-pending.js';

interface ApprovalList {
  snapshot: string;
  approvals: SignedApproval[];
}

/** What the snapshot waits for, in words. */
function nextStep(s: SnapshotStatus, whyNotApprove: string): string {
  switch (s.state) {
    case 'draft':
      return 'Not scanned yet: scan it before anyone may approve it.';
    case 'scanned':
      return `Needs ${s.approvals.required} independent approval${s.approvals.required === 1 ? '' : 's'} (has ${s.approvals.independent.length})${whyNotApprove ? `; you may not approve it: ${whyNotApprove}` : ''}.`;
    case 'approved':
      return s.gate.passed
        ? 'Approved and its gate passed: it may be released.'
        : 'Approved: run the gate; a passed gate lets it be released.';
    case 'released':
      return 'Released for training.';
    case 'quarantined':
      return 'Quarantined: nothing moves until the quarantine is lifted.';
  }
}

/**
 * One snapshot's way to training: its state, the signed approvals (m of n, who and when), any
 * quarantine, the newest gate verdict and the gate form, and Approve, Promote and Release for
 * whoever may.
 */
export function SnapshotGovernance({ snapshotRef }: { snapshotRef: string }) {
  const status = useApi<SnapshotStatus>(`/v1/snapshots/${seg(snapshotRef)}/status`);
  const approvals = useApi<ApprovalList>(`/v1/snapshots/${seg(snapshotRef)}/approvals`);
  const quarantines = useApi<{ quarantines: Quarantine[] }>('/v1/quarantines');
  const snap = useApi<{ dataset: string; id: string }>(`/v1/snapshots/${seg(snapshotRef)}`);
  const perms = usePermissions(
    ['approve', 'promote', 'release', 'gate'].map((action) => ({ action, snapshot: snapshotRef })),
  );
  const me = useMe();
  const [comment, setComment] = useState('');
  const [model, setModel] = useState('');
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<unknown>(null);
  const [approved, setApproved] = useState<Approved | null>(null);
  const [done, setDone] = useState('');

  const refresh = () => {
    status.reload();
    approvals.reload();
    perms.refresh();
  };
  const act = (what: () => Promise<string>) => {
    setBusy(true);
    setFailure(null);
    setDone('');
    what().then(
      (message) => {
        setBusy(false);
        setDone(message);
        refresh();
      },
      (err: unknown) => {
        setBusy(false);
        setFailure(err);
      },
    );
  };

  const s = status.data;
  const id = snap.data?.id;
  const covering = (quarantines.data?.quarantines ?? []).filter(
    (q) =>
      (q.kind === 'snapshot' && q.target === id) ||
      (q.kind === 'source' && snap.data && q.dataset === snap.data.dataset),
  );
  return (
    <section aria-labelledby="snapshot-title">
      <h2 id="snapshot-title">{s ? s.ref : snapshotRef}</h2>
      <ErrorView error={status.error} />
      {status.loading && !s ? <Loading what="the snapshot's status" /> : null}
      {s ? (
        <div className="grid2">
          <div className="panel">
            <h3>Status</h3>
            <dl className="gov-facts">
              <dt>State</dt>
              <dd data-testid="snapshot-state">
                <StateBadge state={s.state} />
              </dd>
              <dt>Approvals</dt>
              <dd data-testid="approval-count">
                {s.approvals.independent.length} of {s.approvals.required} independent approvals
              </dd>
              <dt>Gate</dt>
              <dd>
                <StateBadge state={s.gate.passed ? 'passed' : 'failed'} /> {s.gate.reason}
              </dd>
              <dt>Review items</dt>
              <dd>
                {s.reviewItems > 0 ? (
                  <a href={href('review', { snapshot: s.ref, status: 'all' })}>{s.reviewItems}</a>
                ) : (
                  0
                )}
              </dd>
              <dt>Quarantine</dt>
              <dd>
                {covering.length === 0 ? (
                  'none'
                ) : (
                  <ul className="plain">
                    {covering.map((q) => (
                      <li key={q.id}>
                        <StateBadge state="quarantined" /> {q.kind}{' '}
                        {q.kind === 'source' ? q.target : ''}: {q.reason}{' '}
                        <span className="muted">
                          ({q.placedBy}, {when(q.placedAt)})
                        </span>
                      </li>
                    ))}
                  </ul>
                )}
              </dd>
            </dl>
            {s.approvals.invalid.length > 0 ? (
              <>
                <h4>Approvals that do not count</h4>
                <ul>
                  {s.approvals.invalid.map((a, i) => (
                    <li key={i}>
                      {a.approver}: {a.reason}
                    </li>
                  ))}
                </ul>
              </>
            ) : null}
          </div>
          <div className="panel">
            <h3>Signed approvals</h3>
            <ErrorView error={approvals.error} />
            {approvals.data && approvals.data.approvals.length === 0 ? (
              <p className="muted">No approval yet.</p>
            ) : null}
            {approvals.data && approvals.data.approvals.length > 0 ? (
              <table className="table">
                <caption className="sr-only">Signed approvals of {s.ref}</caption>
                <thead>
                  <tr>
                    <th scope="col">Approver</th>
                    <th scope="col">When</th>
                    <th scope="col">Key</th>
                    <th scope="col">Counts</th>
                  </tr>
                </thead>
                <tbody>
                  {approvals.data.approvals.map((a) => (
                    <tr key={a.id}>
                      <th scope="row">
                        {a.approver}
                        {a.comment ? <div className="muted">“{a.comment}”</div> : null}
                      </th>
                      <td>{when(a.createdAt)}</td>
                      <td>
                        <code title={`approval ${a.id}`}>{a.keyId}</code>
                        <div className="muted">
                          digest <code>{short(a.envelopeDigest, 16)}</code>
                        </div>
                      </td>
                      <td>{a.counts ? 'yes' : 'no'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : null}
          </div>
        </div>
      ) : null}

      {s ? (
        <div className="panel">
          <h3>Decide</h3>
          {perms.can('approve') &&
          !s.approvals.independent.includes(me.name) &&
          (s.state === 'scanned' || s.state === 'approved') ? (
            <form
              className="toolbar"
              onSubmit={(e) => {
                e.preventDefault();
                setBusy(true);
                setFailure(null);
                approve(s.ref, comment).then(
                  (a) => {
                    setBusy(false);
                    setApproved(a);
                    setComment('');
                    refresh();
                  },
                  (err: unknown) => {
                    setBusy(false);
                    setFailure(err);
                  },
                );
              }}
            >
              <label className="field">
                Approval comment
                <input
                  value={comment}
                  onChange={(e) => setComment(e.target.value)}
                  placeholder="what you checked (optional)"
                  maxLength={2000}
                  size={40}
                />
              </label>
              <button type="submit" className="primary" disabled={busy}>
                Sign approval of {s.ref}
              </button>
            </form>
          ) : null}
          {perms.can('promote') && s.state === 'scanned' ? (
            <div className="toolbar">
              <button
                type="button"
                disabled={busy}
                onClick={() =>
                  act(async () => {
                    const r = await api<StateChange>(`/v1/snapshots/${seg(s.ref)}/promote`, {
                      method: 'POST',
                    });
                    return `${s.ref} is ${r.state}.`;
                  })
                }
              >
                Promote {s.ref}
              </button>
            </div>
          ) : null}
          {perms.can('release') && s.state === 'approved' && s.gate.passed ? (
            <form
              className="toolbar"
              onSubmit={(e) => {
                e.preventDefault();
                const m = releaseModel(model);
                act(async () => {
                  const r = await api<StateChange>(`/v1/snapshots/${seg(s.ref)}/release`, {
                    method: 'POST',
                    body: m !== undefined ? { model: m } : {},
                  });
                  return `${s.ref} is ${r.state}${m !== undefined ? ` for model ${m}` : ''}.`;
                });
              }}
            >
              <label className="field">
                Model (optional)
                <input
                  value={model}
                  onChange={(e) => setModel(e.target.value)}
                  placeholder="spam-filter-v7"
                  maxLength={200}
                />
              </label>
              <button type="submit" className="primary" disabled={busy}>
                Release {s.ref}
              </button>
            </form>
          ) : null}
          <p className="muted">{nextStep(s, perms.why('approve'))}</p>
          {approved ? <ApprovedNotice approved={approved} /> : null}
          {done ? (
            <div className="notice" role="status">
              {done}
            </div>
          ) : null}
          <ErrorView error={failure} />
        </div>
      ) : null}

      {s && snap.data ? (
        <GatePanel
          snapshotRef={s.ref}
          hasRun={s.gate.run !== null}
          dataset={snap.data.dataset}
          canGate={perms.can('gate')}
          onRan={refresh}
        />
      ) : null}
    </section>
  );
}
