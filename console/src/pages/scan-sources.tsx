import type { ScanOverviewView } from '../../../src/server/scan-report-views.js';
import { n, pct } from '../components/format.js';
import { setQuery } from '../router.js';
import { fmtNum, fmtP, kindName } from './scan-format.js';

type Source = ScanOverviewView['sources'][number];
type Balance = NonNullable<ScanOverviewView['classBalance']>;
type Comparison = NonNullable<Balance['sources'][number]['vsRest']>;

const DRIFT_WORDS = { fail: 'drifted', warn: 'shifted', ok: 'stable' };
/** Against the rest of the data a difference is not drift: a feed may hold one class only. */
const MIX_WORDS = { fail: 'differs', warn: 'differs a little', ok: 'similar' };

/** A drift verdict in words and colour (the words carry it). */
export function Verdict(props: { severity: string | null; words?: typeof DRIFT_WORDS }) {
  const { severity } = props;
  const words = props.words ?? DRIFT_WORDS;
  const tone = severity === 'fail' ? 'bad' : severity === 'warn' ? 'warn' : 'good';
  const word = severity === 'fail' ? words.fail : severity === 'warn' ? words.warn : words.ok;
  return <span className={`badge badge-${tone}`}>{severity ? word : 'not tested'}</span>;
}

/** Per-source risk: suspicious sources first, marked in words as well as colour. */
export function SourceRiskTable({ sources, total }: { sources: Source[]; total: number }) {
  if (sources.length === 0) return <p>The rows have no sources to compare.</p>;
  return (
    <>
      <table className="table">
        <caption className="sr-only">Risk per source, suspicious sources first</caption>
        <thead>
          <tr>
            <th scope="col">Source</th>
            <th scope="col">Verdict</th>
            <th scope="col" className="num">
              Score
            </th>
            <th scope="col" className="num">
              Rows
            </th>
            <th scope="col">
              Findings here (rows · rate vs the rest · ratio to expected · Holm p)
            </th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {sources.map((s) => (
            <tr key={s.source} className={s.suspicious ? 'scan-suspicious' : undefined}>
              <th scope="row">{s.source}</th>
              <td>
                {s.suspicious ? (
                  <span className="badge badge-bad">suspicious</span>
                ) : (
                  <span className="badge badge-good">not suspicious</span>
                )}
              </td>
              <td className="num">{fmtNum(s.score)}</td>
              <td className="num">{n(s.rows)}</td>
              <td>
                {s.note ? <span className="muted">{s.note}</span> : null}
                <ul className="scan-kinds">
                  {s.kinds
                    .filter((k) => k.suspicious || (k.flagged ?? 0) > 0)
                    .map((k) => (
                      <li key={k.kind}>
                        {k.suspicious ? <strong>{kindName(k.kind)}</strong> : kindName(k.kind)}:{' '}
                        {n(k.flagged)} · {pct(k.rate)} vs {pct(k.restRate)} · ×{fmtNum(k.ratio, 1)}{' '}
                        · p {fmtP(k.pAdjusted)}
                      </li>
                    ))}
                </ul>
              </td>
              <td>
                <button
                  type="button"
                  onClick={() => setQuery({ source: s.source, offset: undefined })}
                  aria-label={`Filter findings to source ${s.source}`}
                >
                  Filter findings
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {total > sources.length ? (
        <p className="muted">
          The {n(sources.length)} riskiest of {n(total)} sources.
        </p>
      ) : null}
    </>
  );
}

function ComparisonCells({ c, words }: { c: Comparison | null; words?: typeof DRIFT_WORDS }) {
  if (!c)
    return (
      <>
        <td className="muted">–</td>
        <td className="num">–</td>
        <td className="num">–</td>
        <td className="num">–</td>
      </>
    );
  return (
    <>
      <td>
        <Verdict severity={c.severity} {...(words ? { words } : {})} />
      </td>
      <td className="num">{fmtNum(c.psi)}</td>
      <td className="num">{fmtNum(c.jsDistance)}</td>
      <td className="num">{fmtP(c.pAdjusted ?? c.p)}</td>
    </>
  );
}

/** Each source's label mix against the rest of the data and against its own baseline. */
export function SourceDriftTable({ balance }: { balance: Balance }) {
  if (balance.sources.length === 0) return null;
  return (
    <>
      <table className="table">
        <caption>Label mix per source (χ² / Fisher, PSI, Jensen–Shannon distance)</caption>
        <thead>
          <tr>
            <th scope="col" rowSpan={2}>
              Source
            </th>
            <th scope="col" rowSpan={2} className="num">
              Labelled rows
            </th>
            <th scope="colgroup" colSpan={4}>
              Against the rest
            </th>
            <th scope="colgroup" colSpan={4}>
              Against its baseline
            </th>
          </tr>
          <tr>
            {[0, 1].map((i) => [
              <th key={`v${i}`} scope="col">
                Verdict
              </th>,
              <th key={`p${i}`} scope="col" className="num">
                PSI
              </th>,
              <th key={`j${i}`} scope="col" className="num">
                JS
              </th>,
              <th key={`q${i}`} scope="col" className="num">
                p
              </th>,
            ])}
          </tr>
        </thead>
        <tbody>
          {balance.sources.map((s) => (
            <tr key={s.source}>
              <th scope="row">{s.source}</th>
              <td className="num">{n(s.rows)}</td>
              <ComparisonCells c={s.vsRest} words={MIX_WORDS} />
              <ComparisonCells c={s.vsBaseline} />
            </tr>
          ))}
        </tbody>
      </table>
      {balance.sourcesTotal > balance.sources.length ? (
        <p className="muted">
          The {n(balance.sources.length)} most shifted of {n(balance.sourcesTotal)} sources.
        </p>
      ) : null}
    </>
  );
}
