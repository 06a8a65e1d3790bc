import * as echarts from 'echarts';
import { ISSUE_KINDS, type ScanReport } from '../../core/scan/report.js';
import type { ScanRow } from '../../core/scan/types.js';

/** HTML-escapes text for element content and attribute values. */
export function esc(s: unknown): string {
  return String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

const COLORS = [
  '#3b6ea8',
  '#c0504d',
  '#9bbb59',
  '#8064a2',
  '#4bacc6',
  '#f79646',
  '#7f7f7f',
  '#2c4d75',
];

/** Renders one chart to an inline SVG string on the server: no script, works offline. */
function chart(option: Record<string, unknown>, width = 560, height = 300): string {
  const c = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  c.setOption({
    animation: false,
    color: COLORS,
    textStyle: { fontFamily: 'system-ui, sans-serif' },
    ...option,
  });
  const svg = c.renderToSVGString();
  c.dispose();
  return svg;
}

function bars(
  title: string,
  names: string[],
  series: { name: string; data: number[] }[],
  horizontal = false,
): string {
  const cat = {
    type: 'category',
    data: names,
    axisLabel: { interval: 0, rotate: horizontal ? 0 : names.length > 6 ? 30 : 0 },
  };
  const val = { type: 'value' };
  return chart({
    title: { text: title, textStyle: { fontSize: 14 } },
    legend: series.length > 1 ? { bottom: 0 } : undefined,
    grid: { top: 40, left: horizontal ? 140 : 50, right: 20, bottom: series.length > 1 ? 80 : 60 },
    xAxis: horizontal ? val : cat,
    yAxis: horizontal ? cat : val,
    series: series.map((s) => ({ type: 'bar', name: s.name, data: s.data })),
  });
}

function histogram(scores: number[], bins = 10): number[] {
  const h = new Array<number>(bins).fill(0);
  for (const s of scores) h[Math.min(bins - 1, Math.floor(s * bins))]!++;
  return h;
}

/** Shortens a row's text for display, around the first occurrence of `around` when given. */
function snippet(text: string | undefined, around?: string): string {
  if (!text) return '';
  let start = 0;
  if (around) {
    const at = text.toLowerCase().indexOf(around.toLowerCase());
    if (at > 80) start = at - 80;
  }
  const cut = text.slice(start, start + 240).replace(/\s+/g, ' ');
  let html = esc(cut);
  if (around) {
    const re = new RegExp(esc(around).replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi');
    html = html.replace(re, (m) => `<mark>${m}</mark>`);
  }
  return (start > 0 ? '…' : '') + html + (start + 240 < text.length ? '…' : '');
}

/**
 * A single self-contained HTML file: summary, detectors, plots (findings by kind, class counts and
 * drift, score histograms, per-source risk), triggers with example rows, and the top findings.
 * Rows flagged for secrets or PII are never shown as text; their details carry masked values only.
 */
export function renderHtmlReport(
  report: ScanReport,
  rows: readonly ScanRow[],
  title: string,
): string {
  const s = report.summary;
  const byId = new Map(rows.map((r) => [r.id, r]));
  const sensitive = new Set(
    report.issues.filter((i) => i.kind === 'secret' || i.kind === 'pii').map((i) => i.row),
  );
  const parts: string[] = [];

  parts.push(
    bars(
      'Flagged rows by kind',
      [...ISSUE_KINDS],
      [{ name: 'rows', data: ISSUE_KINDS.map((k) => s.counts[k]) }],
    ),
  );

  const balance = s.dataset['drift/class-balance'] as
    | {
        baseline?: {
          labels: string[];
          current: number[];
          reference: number[];
          psi?: number;
          test?: { p?: number };
        };
      }
    | undefined;
  const cmp = balance?.baseline;
  if (cmp && Array.isArray(cmp.labels)) {
    const note =
      cmp.psi !== undefined
        ? ` (PSI ${cmp.psi.toFixed(3)}, p ${cmp.test?.p?.toPrecision(2) ?? '-'})`
        : '';
    parts.push(
      bars(`Class counts: baseline vs this scan${note}`, cmp.labels, [
        { name: 'baseline', data: cmp.reference },
        { name: 'this scan', data: cmp.current },
      ]),
    );
  } else {
    parts.push(
      bars(
        'Class counts',
        s.labels.map((l) => l.label ?? '(none)'),
        [{ name: 'rows', data: s.labels.map((l) => l.rows) }],
      ),
    );
  }

  const kindsWithScores = ISSUE_KINDS.filter((k) => s.counts[k] > 0);
  if (kindsWithScores.length) {
    const edges = Array.from(
      { length: 10 },
      (_, i) => `${(i / 10).toFixed(1)}–${((i + 1) / 10).toFixed(1)}`,
    );
    parts.push(
      bars(
        'Score histograms of flagged rows',
        edges,
        kindsWithScores.map((k) => ({
          name: k,
          data: histogram(report.issues.filter((i) => i.kind === k).map((i) => i.score)),
        })),
      ),
    );
  }
  if (report.sources.length) {
    const top = [...report.sources]
      .sort((a, b) => b.score - a.score)
      .slice(0, 15)
      .reverse();
    parts.push(
      chart({
        title: { text: 'Per-source risk score', textStyle: { fontSize: 14 } },
        grid: { top: 40, left: 140, right: 20, bottom: 30 },
        xAxis: { type: 'value', max: 1 },
        yAxis: { type: 'category', data: top.map((x) => x.source) },
        series: [
          {
            type: 'bar',
            data: top.map((x) => ({
              value: x.score,
              itemStyle: { color: x.suspicious ? '#c0504d' : '#3b6ea8' },
            })),
          },
        ],
      }),
    );
  }

  const triggerRows = report.triggers
    .slice(0, 10)
    .map((t) => {
      const examples = t.rows
        .filter((id) => !sensitive.has(id))
        .slice(0, 3)
        .map((id) => `<li><code>${esc(id)}</code> ${snippet(byId.get(id)?.text, t.pattern)}</li>`)
        .join('');
      return `<tr><td><code>${esc(t.pattern)}</code></td><td>${esc(t.label)}</td><td>${t.rows.length}</td><td>${t.score.toFixed(3)}</td><td><ul>${examples}</ul></td></tr>`;
    })
    .join('');

  const detectorRows = s.detectors
    .map(
      (d) =>
        `<tr><td>${esc(d.id)}</td><td>${d.skipped ? `<em>skipped: ${esc(d.skipped)}</em>` : 'ran'}</td><td>${d.flagged}</td><td>${d.seconds.toFixed(2)}</td><td>${d.rowsPerSecond.toLocaleString('en')}</td></tr>`,
    )
    .join('');

  const topIssues = report.issues
    .slice()
    .sort((a, b) => b.score - a.score)
    .slice(0, 200)
    .map((i) => {
      const text = sensitive.has(i.row)
        ? '<em>hidden (secret or PII)</em>'
        : snippet(byId.get(i.row)?.text);
      return `<tr><td>${esc(i.kind)}</td><td><code>${esc(i.row)}</code></td><td>${i.score.toFixed(3)}</td><td><code>${esc(JSON.stringify(i.detail))}</code></td><td>${text}</td></tr>`;
    })
    .join('');

  const sourceRows = report.sources
    .map(
      (x) =>
        `<tr class="${x.suspicious ? 'bad' : ''}"><td>${esc(x.source)}</td><td>${x.suspicious ? 'suspicious' : '-'}</td><td>${x.score.toFixed(3)}</td></tr>`,
    )
    .join('');

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1200px;color:#1d1d1f;padding:0 16px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;width:100%;margin:8px 0}td,th{border-bottom:1px solid #e4e4e4;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f4f5f7}code{font-size:12px;word-break:break-all}.grid{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid #e4e4e4;border-radius:6px;padding:8px}.bad td{color:#a12622;font-weight:600}mark{background:#ffe28a}
.stats span{display:inline-block;margin-right:18px}ul{margin:0;padding-left:18px}
</style></head><body>
<h1>${esc(title)}</h1>
<p class="stats"><span><b>${report.rows.toLocaleString('en')}</b> rows</span><span><b>${s.flaggedRows.toLocaleString('en')}</b> flagged</span>
<span><b>${report.triggers.length}</b> trigger pattern${report.triggers.length === 1 ? '' : 's'}</span><span><b>${s.suspiciousSources.length}</b> suspicious source${s.suspiciousSources.length === 1 ? '' : 's'}${s.suspiciousSources.length ? `: ${esc(s.suspiciousSources.join(', '))}` : ''}</span>
<span>scan took ${s.timings.totalSeconds.toFixed(1)} s</span></p>
<p>Findings are a review queue, not a verdict: "no finding" from a detector is not proof of clean data, and skipped detectors did not check anything.</p>
<div class="grid">${parts.map((p) => `<div class="card">${p}</div>`).join('')}</div>
<h2>Triggers</h2>
${report.triggers.length ? `<table><tr><th>pattern</th><th>target label</th><th>rows</th><th>score</th><th>example rows</th></tr>${triggerRows}</table>` : '<p>No trigger pattern found by the token and feature scans.</p>'}
<h2>Sources</h2>
${report.sources.length ? `<table><tr><th>source</th><th>verdict</th><th>score</th></tr>${sourceRows}</table>` : '<p>No source information.</p>'}
<h2>Detectors</h2>
<table><tr><th>detector</th><th>status</th><th>rows flagged</th><th>seconds</th><th>rows/s</th></tr>${detectorRows}</table>
<h2>Top findings</h2>
<table><tr><th>kind</th><th>row</th><th>score</th><th>detail</th><th>text</th></tr>${topIssues}</table>
<p><small>Report schema ${esc(report.schema)}. Generated by Cordon.</small></p>
</body></html>
`;
}
