import { seg } from '../api/client.js';
import { useApi } from '../api/hooks.js';
import type { RecordsPage, ReviewItem } from '../api/types.js';
import { ErrorView, Loading } from '../components/ErrorView.js';
import { when } from '../components/format.js';
import { highlightSegments, triggerPatterns } from './review-highlight.js';
import { statusWords } from './review-decisions.js';

/** A finding detail's value, short: strings as they are, the rest as compact JSON. */
function show(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(3);
  return JSON.stringify(value);
}

/**
 * One review item in full: the record as stored (fetched by id, checked by the server against
 * the signed manifest) with the flagged pattern marked, and what the scan found.
 */
export function ReviewRecord({ item, snapshotRef }: { item: ReviewItem; snapshotRef: string }) {
  const { data, error, loading } = useApi<RecordsPage>(
    `/v1/snapshots/${seg(item.snapshot)}/records`,
    { ids: [item.record], limit: 1 },
  );
  const record = data?.records[0];
  const patterns = triggerPatterns(item.detail);
  const details = Array.isArray(item.detail) ? (item.detail as unknown[]) : [item.detail];
  return (
    <section className="panel review-record" aria-labelledby="review-record-title">
      <h2 id="review-record-title">
        Record <code>{item.record}</code>
      </h2>
      <dl className="review-facts">
        <dt>Snapshot</dt>
        <dd>{snapshotRef}</dd>
        <dt>Decision</dt>
        <dd data-testid="review-decision">
          {statusWords(item.status, item.newLabel)}
          {item.decidedBy ? (
            <span className="muted">
              {' '}
              by {item.decidedBy}, {when(item.decidedAt)}
            </span>
          ) : null}
        </dd>
        {record ? (
          <>
            <dt>Label</dt>
            <dd>{record.label ?? <span className="muted">none</span>}</dd>
            <dt>Source</dt>
            <dd>{record.source ?? <span className="muted">none</span>}</dd>
          </>
        ) : null}
      </dl>
      <ErrorView error={error} />
      {loading && !data ? <Loading what="the record" /> : null}
      {data && !record ? (
        <p className="error" role="alert">
          The record is not in {snapshotRef}.
        </p>
      ) : null}
      {record ? (
        <>
          <h3>Text</h3>
          {record.text !== undefined ? (
            <pre className="record" aria-label="Record text">
              {highlightSegments(record.text, patterns).map((s, i) =>
                s.mark ? <mark key={i}>{s.text}</mark> : <span key={i}>{s.text}</span>,
              )}
            </pre>
          ) : (
            <p className="muted">This record has no text.</p>
          )}
          {record.file ? (
            <>
              <h3>File</h3>
              <dl className="review-facts">
                <dt>Path</dt>
                <dd>
                  <code>{record.file.path}</code>
                </dd>
                <dt>SHA-256</dt>
                <dd>
                  <code>{record.file.sha256}</code>
                </dd>
                <dt>Size</dt>
                <dd>{record.file.size.toLocaleString()} bytes</dd>
                {record.file.mediaType ? (
                  <>
                    <dt>Type</dt>
                    <dd>{record.file.mediaType}</dd>
                  </>
                ) : null}
              </dl>
            </>
          ) : null}
          {record.features ? (
            <p>
              {record.features.length.toLocaleString()} numeric features (first:{' '}
              {record.features.slice(0, 5).map(show).join(', ')}
              {record.features.length > 5 ? ', …' : ''})
            </p>
          ) : null}
          {record.meta && Object.keys(record.meta).length > 0 ? (
            <>
              <h3>Meta</h3>
              <pre className="record" aria-label="Record meta">
                {JSON.stringify(record.meta, null, 2)}
              </pre>
            </>
          ) : null}
        </>
      ) : null}
      <h3>Why it is here</h3>
      <p>
        Flagged as <strong>{item.kinds.join(', ')}</strong>, score {item.score.toFixed(2)} (scan{' '}
        <code>{item.scan.slice(0, 12)}</code>).
      </p>
      <ul className="review-findings">
        {details.map((d, i) => (
          <li key={i}>
            {d && typeof d === 'object' ? (
              <dl className="review-facts">
                {Object.entries(d as Record<string, unknown>).map(([k, v]) => (
                  <div key={k} className="review-fact">
                    <dt>{k}</dt>
                    <dd>{show(v)}</dd>
                  </div>
                ))}
              </dl>
            ) : (
              show(d)
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
