import { useState, type FormEvent } from 'react';
import type { ScanFindingsPageView } from '../../../src/server/scan-report-views.js';
import { seg } from '../api/client.js';
import { useApi } from '../api/hooks.js';
import { ErrorView, Loading } from '../components/ErrorView.js';
import { Pager } from '../components/Pager.js';
import { setQuery } from '../router.js';
import {
  evidenceText,
  FINDINGS_PAGE,
  filtersToHash,
  findingsApiQuery,
  fmtNum,
  ISSUE_KINDS,
  kindName,
  type FindingsFilters,
} from './scan-format.js';

/** The filter form; its fields apply together on submit (the text search needs no request per key). */
function FiltersForm(props: {
  filters: FindingsFilters;
  sources: string[];
  labels: string[];
  triggerName: string | undefined;
}) {
  const f = props.filters;
  const [kind, setKind] = useState(f.kind ?? '');
  const [source, setSource] = useState(f.source ?? '');
  const [label, setLabel] = useState(f.label ?? '');
  const [min, setMin] = useState(f.minScore !== undefined ? String(f.minScore) : '');
  const [q, setQ] = useState(f.q ?? '');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const minScore = min.trim() === '' ? undefined : Number(min);
    setQuery(
      filtersToHash({
        ...(kind ? { kind } : {}),
        ...(source.trim() ? { source: source.trim() } : {}),
        ...(label.trim() ? { label: label.trim() } : {}),
        ...(minScore !== undefined && Number.isFinite(minScore) ? { minScore } : {}),
        ...(q.trim() ? { q: q.trim() } : {}),
        ...(f.trigger !== undefined ? { trigger: f.trigger } : {}),
      }),
    );
  };
  return (
    <form className="toolbar" onSubmit={submit} aria-label="Filter the findings">
      <div className="field">
        <label htmlFor="f-kind">Kind</label>
        <select id="f-kind" value={kind} onChange={(e) => setKind(e.target.value)}>
          <option value="">all kinds</option>
          {ISSUE_KINDS.map((k) => (
            <option key={k} value={k}>
              {kindName(k)}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="f-source">Source</label>
        <input
          id="f-source"
          list="f-sources"
          value={source}
          onChange={(e) => setSource(e.target.value)}
          placeholder="any"
        />
        <datalist id="f-sources">
          {props.sources.map((s) => (
            <option key={s} value={s} />
          ))}
        </datalist>
      </div>
      <div className="field">
        <label htmlFor="f-label">Label</label>
        <input
          id="f-label"
          list="f-labels"
          value={label}
          onChange={(e) => setLabel(e.target.value)}
          placeholder="any"
        />
        <datalist id="f-labels">
          {props.labels.map((l) => (
            <option key={l} value={l} />
          ))}
        </datalist>
      </div>
      <div className="field">
        <label htmlFor="f-min">Min score</label>
        <input
          id="f-min"
          type="number"
          min={0}
          max={1}
          step={0.05}
          value={min}
          onChange={(e) => setMin(e.target.value)}
          className="scan-narrow"
        />
      </div>
      <div className="field">
        <label htmlFor="f-q">Search row id or evidence</label>
        <input id="f-q" type="search" value={q} onChange={(e) => setQ(e.target.value)} />
      </div>
      <div className="scan-form-buttons">
        <button type="submit" className="primary">
          Apply
        </button>
        <button type="button" onClick={() => setQuery(filtersToHash({}))}>
          Clear filters
        </button>
      </div>
      {props.triggerName !== undefined ? (
        <p className="scan-chip">
          Only rows carrying <code>{props.triggerName}</code>{' '}
          <button type="button" onClick={() => setQuery({ trigger: undefined, offset: undefined })}>
            Remove
          </button>
        </p>
      ) : null}
    </form>
  );
}

/** Filtered, paged findings; every filter lives in the hash, so a link reproduces the view. */
export function FindingsSection(props: {
  snapshot: string;
  scan: string;
  filters: FindingsFilters;
  sources: string[];
  labels: string[];
  triggerName: string | undefined;
}) {
  const { snapshot, scan, filters } = props;
  const page = useApi<ScanFindingsPageView>(
    `/v1/snapshots/${seg(snapshot)}/scans/${seg(scan)}/findings`,
    findingsApiQuery(filters),
  );
  const data = page.data;
  return (
    <>
      <FiltersForm
        // A new hash (bar click, "Filter findings" elsewhere) resets the form's fields.
        key={JSON.stringify({ ...filters, offset: 0 })}
        filters={filters}
        sources={props.sources}
        labels={props.labels}
        triggerName={props.triggerName}
      />
      <ErrorView error={page.error} />
      {page.loading ? <Loading what="findings" /> : null}
      {data ? (
        <>
          <p aria-live="polite">
            {data.total.toLocaleString()} finding{data.total === 1 ? '' : 's'} match.
          </p>
          {data.findings.length > 0 ? (
            <table className="table">
              <caption className="sr-only">Findings, highest score first</caption>
              <thead>
                <tr>
                  <th scope="col" className="num">
                    Score
                  </th>
                  <th scope="col">Kind</th>
                  <th scope="col">Row</th>
                  <th scope="col">Label</th>
                  <th scope="col">Source</th>
                  <th scope="col">Evidence</th>
                  <th scope="col">Detector</th>
                </tr>
              </thead>
              <tbody>
                {data.findings.map((x) => (
                  <tr key={x.index}>
                    <td className="num">{fmtNum(x.score)}</td>
                    <td>{kindName(x.kind)}</td>
                    <th scope="row">
                      <code>{x.row}</code>
                    </th>
                    <td>{x.label ?? '–'}</td>
                    <td>{x.source ?? '(none)'}</td>
                    <td>
                      <details>
                        <summary>{evidenceText(x.kind, x.detail)}</summary>
                        <pre className="record">{JSON.stringify(x.detail, null, 2)}</pre>
                      </details>
                    </td>
                    <td>{x.detector ?? '–'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
          <Pager
            offset={filters.offset}
            limit={FINDINGS_PAGE}
            total={data.total}
            shown={data.findings.length}
            onChange={(o) => setQuery({ offset: o || undefined })}
            label="Pages of findings"
          />
        </>
      ) : null}
    </>
  );
}
