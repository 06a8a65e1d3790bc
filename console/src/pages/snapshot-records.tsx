import { Fragment, useState } from 'react';
import { seg } from '../api/client.js';
import { useApi } from '../api/hooks.js';
import type { CordonRecord, RecordsPage } from '../api/types.js';
import { ErrorView, Loading } from '../components/ErrorView.js';
import { Pager } from '../components/Pager.js';
import { setQuery } from '../router.js';
import { RecordBody } from './snapshot-record.js';

const PAGE = 50;

/** A short preview of what a record holds (text, features or a file). */
export function preview(r: CordonRecord): string {
  if (r.text !== undefined) return r.text.length > 160 ? `${r.text.slice(0, 160)}…` : r.text;
  if (r.features) return `${r.features.length} features`;
  if (r.file) return `file ${r.file.path}`;
  return '';
}

/**
 * The records of a snapshot, one server page at a time (the server reads only the segments the
 * page needs). The offset lives in the hash (`rOffset`), so a reload keeps the page.
 */
export function RecordsBrowser({ snapshot, offset }: { snapshot: string; offset: number }) {
  const { data, error, loading } = useApi<RecordsPage>(`/v1/snapshots/${seg(snapshot)}/records`, {
    offset,
    limit: PAGE,
  });
  const [open, setOpen] = useState<string | null>(null);
  const go = (o: number) => setQuery({ rOffset: o || undefined });
  return (
    <section aria-labelledby="records-h">
      <h2 id="records-h">Records</h2>
      <p className="muted">
        In id order. Each record is checked against the signed manifest before it is shown.
      </p>
      <ErrorView error={error} />
      {loading && !data ? <Loading what="records" /> : null}
      {data ? (
        <>
          <Pager
            offset={offset}
            limit={PAGE}
            total={data.total}
            shown={data.records.length}
            onChange={go}
            label="Record pages (top)"
          />
          <table className="table">
            <caption className="sr-only">Records {offset + 1} onwards</caption>
            <thead>
              <tr>
                <th scope="col">Id</th>
                <th scope="col">Label</th>
                <th scope="col">Source</th>
                <th scope="col">Content</th>
              </tr>
            </thead>
            <tbody>
              {data.records.map((r) => (
                <Fragment key={r.id}>
                  <tr aria-selected={open === r.id}>
                    <th scope="row">
                      <button
                        type="button"
                        className="snap-link"
                        aria-expanded={open === r.id}
                        onClick={() => setOpen(open === r.id ? null : r.id)}
                      >
                        {r.id}
                      </button>
                    </th>
                    <td>{r.label ?? <span className="muted">(none)</span>}</td>
                    <td>{r.source ?? <span className="muted">(none)</span>}</td>
                    <td className="snap-preview">{preview(r)}</td>
                  </tr>
                  {open === r.id ? (
                    <tr>
                      <td colSpan={4}>
                        <RecordBody record={r} />
                      </td>
                    </tr>
                  ) : null}
                </Fragment>
              ))}
            </tbody>
          </table>
          <Pager
            offset={offset}
            limit={PAGE}
            total={data.total}
            shown={data.records.length}
            onChange={go}
            label="Record pages (bottom)"
          />
        </>
      ) : null}
    </section>
  );
}
