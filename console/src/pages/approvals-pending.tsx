import { useState } from 'react';
import { api, seg } from '../api/client.js';
import { useApi } from '../api/hooks.js';
import type { ApproveResult } from '../api/types.js';
import { ErrorView, Loading } from '../components/ErrorView.js';
import { n, short, when } from '../components/format.js';
import { StateBadge } from '../components/StateBadge.js';
import { href } from '../router.js';

export interface PendingEntry {
  snapshot: string;
  ref: string;
  dataset: string;
  version: number;
  author: string;
  createdAt: string;
  records: number;
  message: string;
  approvals: { current: number; required: number; approvers: string[] };
  gate: { run: string; passed: boolean; createdAt: string; actor: string; failed: string[] } | null;
}

export interface SignedApproval {
  id: string;
  approver: string;
  keyId: string;
  envelopeDigest: string;
  createdAt: string;
  submittedBy: string;
  comment: string | null;
  counts: boolean;
}

/** What the server answered to an approval, with the key that signed it (read back). */
export interface Approved {
  ref: string;
  result: ApproveResult;
  signed: SignedApproval | undefined;
}

/** Approves `ref` with an optional comment; the server signs it with the caller's key. */
export async function approve(ref: string, comment: string): Promise<Approved> {
  const result = await api<ApproveResult>(`/v1/snapshots/${seg(ref)}/approvals`, {
    method: 'POST',
    body: comment.trim() !== '' ? { comment: comment.trim() } : {},
  });
  const list = await api<{ approvals: SignedApproval[] }>(`/v1/snapshots/${seg(ref)}/approvals`);
  return { ref, result, signed: list.approvals.find((a) => a.id === result.approval) };
}

/** What an approval did, and the signature behind it. */
export function ApprovedNotice({ approved }: { approved: Approved }) {
  const { result, signed } = approved;
  return (
    <div className="notice" role="status" data-testid="approved">
      Approved {approved.ref}: signed approval <code>{short(result.approval, 16)}</code>
      {signed ? (
        <>
          {' '}
          by key <code>{signed.keyId}</code>
        </>
      ) : null}
      . Independent approvals: {result.status.independent.length} of {result.status.required}
      {result.promoted ? ` — ${approved.ref} is now approved.` : ` (state: ${result.state}).`}{' '}
      <a href={href('approvals', { snapshot: approved.ref })}>Gate and release {approved.ref}</a>
    </div>
  );
}

function PendingRow({ p, onApproved }: { p: PendingEntry; onApproved: (a: Approved) => void }) {
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<unknown>(null);
  const id = `comment-${p.snapshot.slice(0, 12)}`;
  return (
    <tr>
      <th scope="row">
        <a href={href('approvals', { snapshot: p.ref })}>{p.ref}</a>
        <div className="muted">{p.message}</div>
      </th>
      <td>{p.author}</td>
      <td>{when(p.createdAt)}</td>
      <td className="num">{n(p.records)}</td>
      <td className="num">
        {p.approvals.current} of {p.approvals.required}
        {p.approvals.approvers.length > 0 ? (
          <div className="muted">{p.approvals.approvers.join(', ')}</div>
        ) : null}
      </td>
      <td>
        {p.gate ? (
          <>
            <StateBadge state={p.gate.passed ? 'passed' : 'failed'} />
            {p.gate.failed.length > 0 ? (
              <div className="muted">failed: {p.gate.failed.join(', ')}</div>
            ) : null}
          </>
        ) : (
          <span className="muted">not run</span>
        )}
      </td>
      <td>
        <form
          className="approve-form"
          onSubmit={(e) => {
            e.preventDefault();
            setBusy(true);
            setFailure(null);
            approve(p.ref, comment).then(
              (a) => {
                setBusy(false);
                onApproved(a);
              },
              (err: unknown) => {
                setBusy(false);
                setFailure(err);
              },
            );
          }}
        >
          <label htmlFor={id} className="sr-only">
            Comment on {p.ref}
          </label>
          <input
            id={id}
            value={comment}
            onChange={(e) => setComment(e.target.value)}
            placeholder="what you checked (optional)"
            maxLength={2000}
          />
          <button type="submit" className="primary" disabled={busy}>
            Approve {p.ref}
          </button>
          <ErrorView error={failure} />
        </form>
      </td>
    </tr>
  );
}

/** Snapshots waiting for the signed-in steward's approval. */
export function PendingApprovals({ onApproved }: { onApproved: (a: Approved) => void }) {
  const { data, error, loading, reload } = useApi<{ pending: PendingEntry[] }>(
    '/v1/approvals/pending',
  );
  return (
    <section aria-labelledby="pending-title">
      <h2 id="pending-title">Waiting for your approval</h2>
      <ErrorView error={error} />
      {loading && !data ? <Loading what="pending approvals" /> : null}
      {data && data.pending.length === 0 ? (
        <p className="muted">Nothing waits for your approval.</p>
      ) : null}
      {data && data.pending.length > 0 ? (
        <table className="table">
          <caption className="sr-only">Snapshots you may approve now</caption>
          <thead>
            <tr>
              <th scope="col">Snapshot</th>
              <th scope="col">Author</th>
              <th scope="col">Created</th>
              <th scope="col" className="num">
                Records
              </th>
              <th scope="col" className="num">
                Approvals
              </th>
              <th scope="col">Newest gate</th>
              <th scope="col">Approve</th>
            </tr>
          </thead>
          <tbody>
            {data.pending.map((p) => (
              <PendingRow
                key={p.snapshot}
                p={p}
                onApproved={(a) => {
                  reload();
                  onApproved(a);
                }}
              />
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
