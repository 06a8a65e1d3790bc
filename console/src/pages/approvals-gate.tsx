import { useEffect, useState } from 'react';
import { api, ApiError, seg } from '../api/client.js';
import { useApi } from '../api/hooks.js';
import type { GateResult } from '../api/types.js';
import { ErrorView, Loading } from '../components/ErrorView.js';
import { short } from '../components/format.js';
import { StateBadge } from '../components/StateBadge.js';
import { EXAMPLE_GATE_POLICY, policyName } from './approvals-example-policy.js';

interface StoredPolicy {
  name: string;
  text: string;
  ref: string | null;
  createdAt: string;
}

/** Runs a gate: the YAML policy is the request body. */
function runGate(ref: string, name: string, text: string): Promise<GateResult> {
  return api<GateResult>(`/v1/snapshots/${seg(ref)}/gate`, {
    method: 'POST',
    query: { name },
    raw: { body: text, contentType: 'application/yaml' },
  });
}

/** Each check of a verdict with its result and reason. */
export function GateChecks({ result, caption }: { result: GateResult; caption: string }) {
  return (
    <table className="table gate-checks">
      <caption>
        {caption}: <StateBadge state={result.passed ? 'passed' : 'failed'} />{' '}
        <span className="muted">
          verdict <code>{short(result.gate)}</code>, policy{' '}
          <code>{short(result.policyDigest)}</code>
        </span>
      </caption>
      <thead>
        <tr>
          <th scope="col">Check</th>
          <th scope="col">Result</th>
          <th scope="col">Reason</th>
        </tr>
      </thead>
      <tbody>
        {result.checks.map((c) => (
          <tr key={c.id}>
            <th scope="row">
              <code>{c.id}</code>
            </th>
            <td>
              <StateBadge state={c.passed ? 'passed' : 'failed'} />
            </td>
            <td>{c.reason}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * The newest signed gate verdict of a snapshot, and a form to run the gate again: the policy
 * starts as the one the dataset was last gated with (or an example), and may be edited first.
 */
export function GatePanel(props: {
  snapshotRef: string;
  /** Whether a gate has run (the status says): no need to ask for a verdict that is not there. */
  hasRun: boolean;
  dataset: string;
  canGate: boolean;
  onRan: () => void;
}) {
  const { snapshotRef, dataset } = props;
  const latest = useApi<GateResult>(props.hasRun ? `/v1/snapshots/${seg(snapshotRef)}/gate` : null);
  const [text, setText] = useState<string | null>(null);
  const [name, setName] = useState('gate.yaml');
  const [origin, setOrigin] = useState('');
  const [ran, setRan] = useState<GateResult | null>(null);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<unknown>(null);

  useEffect(() => {
    let live = true;
    setText(null);
    api<StoredPolicy>(`/v1/datasets/${seg(dataset)}/gate-policy`).then(
      (p) => {
        if (!live) return;
        setText(p.text);
        setName(p.name);
        setOrigin(`the policy of the newest gate run on ${dataset}${p.ref ? ` (${p.ref})` : ''}`);
      },
      () => {
        if (!live) return;
        setText(EXAMPLE_GATE_POLICY);
        setOrigin('an example policy: no gate has run on this dataset with a stored policy');
      },
    );
    return () => {
      live = false;
    };
  }, [dataset]);

  const none = !props.hasRun || (latest.error instanceof ApiError && latest.error.status === 404);
  return (
    <section className="panel" aria-labelledby="gate-title">
      <h2 id="gate-title">Gate</h2>
      {props.hasRun && latest.loading && !latest.data ? (
        <Loading what="the newest verdict" />
      ) : null}
      {none ? <p className="muted">No gate has run on {snapshotRef}.</p> : null}
      {!none ? <ErrorView error={latest.error} /> : null}
      {latest.data && !ran ? (
        <GateChecks result={latest.data} caption={`Newest verdict on ${snapshotRef}`} />
      ) : null}
      {ran ? <GateChecks result={ran} caption={`Gate just run on ${snapshotRef}`} /> : null}

      {props.canGate ? (
        <form
          className="gate-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (text === null || busy) return;
            setBusy(true);
            setFailure(null);
            runGate(snapshotRef, policyName(name), text).then(
              (r) => {
                setRan(r);
                setBusy(false);
                latest.reload();
                props.onRan();
              },
              (err: unknown) => {
                setFailure(err);
                setBusy(false);
              },
            );
          }}
        >
          <h3>Run the gate</h3>
          {text === null ? <Loading what="the policy" /> : null}
          {text !== null ? (
            <>
              <p className="muted">Starts from {origin}.</p>
              <label className="field">
                Policy name
                <input value={name} onChange={(e) => setName(e.target.value)} maxLength={200} />
              </label>
              <label className="field">
                Gate policy (YAML)
                <textarea
                  value={text}
                  onChange={(e) => setText(e.target.value)}
                  rows={Math.min(24, Math.max(8, text.split('\n').length + 1))}
                  spellCheck={false}
                  className="gate-policy"
                />
              </label>
              <div className="toolbar">
                <button type="submit" className="primary" disabled={busy || text.trim() === ''}>
                  {busy ? 'Running the gate…' : 'Run gate'}
                </button>
              </div>
            </>
          ) : null}
          <ErrorView error={failure} />
        </form>
      ) : null}
    </section>
  );
}
