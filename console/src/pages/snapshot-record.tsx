import { seg } from '../api/client.js';
import { useApi } from '../api/hooks.js';
import type { CordonRecord, RecordsPage } from '../api/types.js';
import { ErrorView, Loading } from '../components/ErrorView.js';

/**
 * One record in full, as stored in `snapshot` (checked by the server against the signed
 * manifest). Asks for that one id only, never a page of the snapshot.
 */
export function RecordView(props: { snapshot: string; id: string; title: string }) {
  const { data, error, loading } = useApi<RecordsPage>(
    `/v1/snapshots/${seg(props.snapshot)}/records`,
    { ids: [props.id], limit: 1 },
  );
  const record = data?.records[0];
  return (
    <section aria-label={props.title}>
      <h4>{props.title}</h4>
      <ErrorView error={error} />
      {loading && !data ? <Loading what="the record" /> : null}
      {data && !record ? <p className="muted">Not in this snapshot.</p> : null}
      {record ? <RecordBody record={record} /> : null}
    </section>
  );
}

/** A record's text as written (line breaks kept), then the whole record as JSON. */
export function RecordBody({ record }: { record: CordonRecord }) {
  const { text, ...rest } = record;
  return (
    <>
      {text !== undefined ? (
        <>
          <div className="muted">Text</div>
          <pre className="record" aria-label={`Text of ${record.id}`}>
            {text}
          </pre>
          <div className="muted">The other fields</div>
        </>
      ) : null}
      <pre className="record" aria-label={`Record ${record.id} as JSON`}>
        {JSON.stringify(rest, null, 2)}
      </pre>
    </>
  );
}
