import type {
  ScanOverviewView,
  ScanTriggerRowsView,
} from '../../../src/server/scan-report-views.js';
import { seg } from '../api/client.js';
import { useApi } from '../api/hooks.js';
import type { RecordsPage } from '../api/types.js';
import { ErrorView, Loading } from '../components/ErrorView.js';
import { n, pct } from '../components/format.js';
import { Pager } from '../components/Pager.js';
import { setQuery } from '../router.js';
import { fmtNum, fmtP } from './scan-format.js';
import { excerptPieces, highlightPieces, isTextPattern, type Piece } from './scan-highlight.js';

type Trigger = ScanOverviewView['triggers'][number];

/** Rows of a trigger shown at a time (each is fetched in full, text and all). */
const TRIGGER_ROWS_PAGE = 10;

/** Pieces as React nodes, marks in <mark>: text is never parsed as HTML. */
function Pieces({ pieces }: { pieces: readonly Piece[] }) {
  return (
    <>
      {pieces.map((p, i) =>
        p.mark ? <mark key={i}>{p.text}</mark> : <span key={i}>{p.text}</span>,
      )}
    </>
  );
}

/** Characters of a row's text shown when the pattern is not found in it. */
const UNMARKED_HEAD = 400;

/**
 * A row's text around the pattern's occurrences, the whole text on demand. Long mails would
 * otherwise hide the trigger below the fold.
 */
export function HighlightedText({ text, pattern }: { text: string; pattern: string }) {
  const pieces = highlightPieces(text, pattern);
  const excerpt = excerptPieces(pieces);
  const whole = excerpt === null || excerpt.some((p, i) => p.text !== pieces[i]?.text);
  return (
    <>
      {excerpt ? (
        <pre className="record">
          <Pieces pieces={excerpt} />
        </pre>
      ) : (
        <>
          {isTextPattern(pattern) ? (
            <p className="muted">
              The pattern was not found verbatim in this text (the scanner reads it normalised).
            </p>
          ) : null}
          <pre className="record">
            {text.length > UNMARKED_HEAD ? `${text.slice(0, UNMARKED_HEAD)}…` : text}
          </pre>
        </>
      )}
      {whole ? (
        <details>
          <summary>Whole text ({text.length.toLocaleString()} characters)</summary>
          <pre className="record">
            <Pieces pieces={pieces} />
          </pre>
        </details>
      ) : null}
    </>
  );
}

export function TriggersTable(props: {
  triggers: Trigger[];
  total: number;
  shown: number | undefined;
  filtered: number | undefined;
}) {
  const { triggers, shown, filtered } = props;
  if (triggers.length === 0)
    return <p>No trigger pattern was confirmed (a skipped trigger detector checked nothing).</p>;
  return (
    <>
      <table className="table">
        <caption className="sr-only">Trigger patterns, highest score first</caption>
        <thead>
          <tr>
            <th scope="col">Pattern</th>
            <th scope="col">Pushes to</th>
            <th scope="col" className="num">
              Score
            </th>
            <th scope="col" className="num">
              Rows
            </th>
            <th scope="col" className="num">
              Support
            </th>
            <th scope="col" className="num">
              Purity
            </th>
            <th
              scope="col"
              className="num"
              title="Leave-pattern-out disagreement vs the class's normal rate"
            >
              Disagreement (normal)
            </th>
            <th scope="col" className="num">
              p
            </th>
            <th scope="col">Detector</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {triggers.map((t) => (
            <tr key={t.index} aria-selected={shown === t.index}>
              <th scope="row">
                <code>{t.pattern}</code>
              </th>
              <td>{t.label}</td>
              <td className="num">{fmtNum(t.score)}</td>
              <td className="num">{n(t.rows)}</td>
              <td className="num">{n(t.support)}</td>
              <td className="num">{pct(t.purity)}</td>
              <td className="num">
                {pct(t.disagreement)} ({pct(t.baselineDisagreement)})
              </td>
              <td className="num">{fmtP(t.pValue)}</td>
              <td>{t.detector ?? '–'}</td>
              <td className="scan-actions">
                <button
                  type="button"
                  aria-pressed={shown === t.index}
                  onClick={() =>
                    setQuery({ rowsOf: shown === t.index ? undefined : t.index, rowsAt: undefined })
                  }
                >
                  {shown === t.index ? 'Hide rows' : 'Show rows'}
                </button>
                <button
                  type="button"
                  aria-pressed={filtered === t.index}
                  onClick={() =>
                    setQuery({
                      trigger: filtered === t.index ? undefined : t.index,
                      offset: undefined,
                    })
                  }
                >
                  {filtered === t.index ? 'Unfilter findings' : 'Filter findings'}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {props.total > triggers.length ? (
        <p className="muted">
          The first {n(triggers.length)} of {n(props.total)} triggers.
        </p>
      ) : null}
    </>
  );
}

/** The rows that carry one trigger, a page at a time, with the pattern marked in their text. */
export function TriggerRows(props: {
  snapshot: string;
  scan: string;
  trigger: Trigger;
  offset: number;
}) {
  const { snapshot, scan, trigger, offset } = props;
  const ids = useApi<ScanTriggerRowsView>(
    `/v1/snapshots/${seg(snapshot)}/scans/${seg(scan)}/triggers/${trigger.index}/rows`,
    { offset, limit: TRIGGER_ROWS_PAGE },
  );
  const wanted = ids.data?.rows ?? [];
  const records = useApi<RecordsPage>(
    wanted.length > 0 ? `/v1/snapshots/${seg(snapshot)}/records` : null,
    { ids: wanted, limit: wanted.length },
  );
  const byId = new Map((records.data?.records ?? []).map((r) => [r.id, r]));
  const textual = isTextPattern(trigger.pattern);
  return (
    <section className="panel" aria-labelledby="trigger-rows-title">
      <h3 id="trigger-rows-title">
        Rows carrying <code>{trigger.pattern}</code> (labelled towards {trigger.label})
      </h3>
      {!textual ? (
        <p className="muted">
          A feature pattern: it names vector positions, so nothing is marked in the text.
        </p>
      ) : null}
      <ErrorView error={ids.error ?? records.error} />
      {ids.loading || records.loading ? <Loading what="rows" /> : null}
      {ids.data ? (
        <>
          <ol className="scan-rows" start={offset + 1}>
            {ids.data.rows.map((id) => {
              const r = byId.get(id);
              return (
                <li key={id}>
                  <div>
                    <code>{id}</code> · label <strong>{r?.label ?? '–'}</strong> · source{' '}
                    {r?.source ?? '(none)'}
                    {r && r.label !== trigger.label ? (
                      <span className="badge badge-neutral">label differs from the pattern's</span>
                    ) : null}
                  </div>
                  {r?.text !== undefined ? (
                    <HighlightedText text={r.text} pattern={trigger.pattern} />
                  ) : r ? (
                    <p className="muted">No text (features: {n(r.features?.length)}).</p>
                  ) : null}
                </li>
              );
            })}
          </ol>
          <Pager
            offset={offset}
            limit={TRIGGER_ROWS_PAGE}
            total={ids.data.total}
            shown={ids.data.rows.length}
            onChange={(o) => setQuery({ rowsAt: o || undefined })}
            label={`Pages of the rows carrying ${trigger.pattern}`}
          />
        </>
      ) : null}
    </section>
  );
}
