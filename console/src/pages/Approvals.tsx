import { useEffect, useState } from 'react';
import { href, setQuery, useRoute } from '../router.js';
import { ApprovedNotice, PendingApprovals, type Approved } from './approvals-pending.js';
import { SnapshotGovernance } from './approvals-snapshot.js';
import './Approvals.css';

/**
 * Approvals and gates: what waits for the signed-in steward's signature, and for a chosen
 * snapshot (`?snapshot=`) its approvals, quarantine, gate verdict and the way to release.
 */
export function ApprovalsPage() {
  const { query } = useRoute();
  const snapshot = query.get('snapshot') ?? '';
  const [draft, setDraft] = useState(snapshot);
  const [approved, setApproved] = useState<Approved | null>(null);
  useEffect(() => setDraft(snapshot), [snapshot]);
  return (
    <main className="approvals">
      <h1>Approvals &amp; gates</h1>
      <PendingApprovals onApproved={setApproved} />
      {approved ? <ApprovedNotice approved={approved} /> : null}
      <form
        className="toolbar"
        aria-label="Choose a snapshot"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery({ snapshot: draft.trim() });
        }}
      >
        <label className="field">
          Snapshot
          <input value={draft} onChange={(e) => setDraft(e.target.value)} placeholder="spam@3" />
        </label>
        <button type="submit">Show status</button>
        {snapshot ? <a href={href('approvals')}>Clear</a> : null}
      </form>
      {snapshot ? <SnapshotGovernance key={snapshot} snapshotRef={snapshot} /> : null}
    </main>
  );
}
