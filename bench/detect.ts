/**
 * Detection benchmark: `npm run bench:detect [-- --quick] [-- --only quality|speed]`.
 *
 * Quality: known poison is injected (`cordon poison`'s generator, fixed seeds) into real public
 * data that no detector default was tuned on in its unit tests alone — the SpamAssassin sample,
 * scikit-learn's wine and breast-cancer tables, scikit-learn's 8×8 digits and MNIST — and the full
 * default scan runs over it. Row-level precision, recall and F1 per planted kind, the rank of the
 * planted trigger, and false alarms on the clean data are written to docs/BENCHMARKS.md.
 *
 * Speed: `cordon scan` (all detectors) of 100,000 and 1,000,000 generated short text rows as a
 * child process: wall time, peak RSS and rows per second per detector.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseAttack, poison, type PoisonTruth } from '../src/core/scan/poison.js';
import { defaultPlan } from '../src/core/scan/registry.js';
import type { ScanReport } from '../src/core/scan/report.js';
import type { IssueKind, ScanRow } from '../src/core/scan/types.js';
import { runScan } from '../src/engine/scan/run-scan.js';
import { digits, mnist, sklearnTable, spam, syntheticTextLines } from './detect-data.js';
import { detectRssMethod, measure } from './measure.js';
import { readDoc, table, writeDoc } from './report.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DOC = join(REPO, 'docs/BENCHMARKS.md');
const BIN = join(REPO, 'bin/cordon.js');

interface Scenario {
  name: string;
  data: string;
  rows: () => ScanRow[];
  attacks: string[];
  /** The kinds scored row by row against the truth. */
  kinds: IssueKind[];
  floor?: string;
}

interface KindScore {
  kind: IssueKind;
  planted: number;
  flagged: number;
  tp: number;
  precision: number;
  recall: number;
  f1: number;
}

interface Outcome {
  scenario: Scenario;
  scores: KindScore[];
  triggerRank: number | null;
  triggerRecall: number | null;
  triggerPrecision: number | null;
  namedSources: string[];
  triggersReported: number;
  seconds: number;
}

/**
 * Row-level scores for one kind. A flagged row is a true positive when that kind was planted in it
 * and a false positive when nothing was planted in it at all; a flag on a row poisoned in another
 * way (a dirty-label trigger row that confident learning calls mislabelled) is neither.
 */
function score(report: ScanReport, truth: PoisonTruth, kind: IssueKind): KindScore {
  const planted = new Set(
    Object.entries(truth.rows)
      .filter(([, k]) => k.includes(kind))
      .map(([id]) => id),
  );
  const flagged = new Set(report.issues.filter((i) => i.kind === kind).map((i) => i.row));
  let tp = 0;
  let fp = 0;
  for (const id of flagged) {
    if (planted.has(id)) tp++;
    else if (!(id in truth.rows)) fp++;
  }
  const precision = tp + fp > 0 ? tp / (tp + fp) : planted.size ? 0 : 1;
  const recall = planted.size ? tp / planted.size : 1;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { kind, planted: planted.size, flagged: flagged.size, tp, precision, recall, f1 };
}

async function runScenario(s: Scenario): Promise<Outcome> {
  const clean = s.rows();
  const { rows, truth } = poison(clean, s.attacks.map(parseAttack), 42);
  const t0 = performance.now();
  const report = await runScan(rows, defaultPlan());
  const seconds = (performance.now() - t0) / 1000;
  let triggerRank: number | null = null;
  let triggerRecall: number | null = null;
  let triggerPrecision: number | null = null;
  const planted = truth.triggers[0];
  if (planted) {
    const plantedRows = new Set(planted.rows);
    // The reported trigger that best matches the planted rows, and where it ranks.
    let best = -1;
    let bestOverlap = 0;
    report.triggers.forEach((t, i) => {
      const overlap = t.rows.filter((r) => plantedRows.has(r)).length;
      if (overlap > bestOverlap) {
        bestOverlap = overlap;
        best = i;
      }
    });
    if (best >= 0) {
      const t = report.triggers[best]!;
      triggerRank = best + 1;
      triggerRecall = bestOverlap / plantedRows.size;
      triggerPrecision = bestOverlap / t.rows.length;
    } else {
      triggerRecall = 0;
    }
  }
  return {
    scenario: s,
    scores: s.kinds.map((k) => score(report, truth, k)),
    triggerRank,
    triggerRecall,
    triggerPrecision,
    namedSources: report.summary.suspiciousSources,
    triggersReported: report.triggers.length,
    seconds,
  };
}

const f2 = (x: number | null): string => (x === null ? '-' : x.toFixed(2));

function scenarios(quick: boolean): Scenario[] {
  const mnistRows = (): ScanRow[] => mnist(quick ? 150 : 400);
  return [
    {
      name: 'label flips 5 %',
      data: 'SpamAssassin',
      rows: spam,
      attacks: ['flip:0.05'],
      kinds: ['label'],
      floor: 'F1 ≥ 0.80',
    },
    {
      name: 'label flips 5 %',
      data: 'wine',
      rows: () => sklearnTable('wine_data.csv', 'wine'),
      attacks: ['flip:0.05'],
      kinds: ['label'],
      floor: 'F1 ≥ 0.80',
    },
    {
      name: 'label flips 5 %',
      data: 'breast cancer',
      rows: () => sklearnTable('breast_cancer.csv', 'bc'),
      attacks: ['flip:0.05'],
      kinds: ['label'],
      floor: 'F1 ≥ 0.80',
    },
    {
      name: 'class-targeted flips 5 % (spam→ham)',
      data: 'SpamAssassin',
      rows: spam,
      attacks: ['targeted-flip:0.05:spam:ham'],
      kinds: ['label'],
    },
    {
      name: 'rare-token trigger 1 %',
      data: 'SpamAssassin',
      rows: spam,
      attacks: ['token:cf:0.01:ham'],
      kinds: ['trigger'],
      floor: 'ranked 1st, recall ≥ 0.95 at precision ≥ 0.90',
    },
    {
      name: 'rare-token trigger 1 % + flips 3 %',
      data: 'SpamAssassin',
      rows: spam,
      attacks: ['flip:0.03', 'token:mb:0.01:spam'],
      kinds: ['trigger', 'label'],
    },
    {
      name: 'phrase trigger 2 %',
      data: 'SpamAssassin',
      rows: spam,
      attacks: ['phrase:I_watched_this_3D_movie:0.02:ham'],
      kinds: ['trigger'],
      floor: 'recall ≥ 0.90',
    },
    {
      name: 'patch trigger 1 %',
      data: 'digits 8×8',
      rows: digits,
      attacks: ['patch:0.01:0:2'],
      kinds: ['trigger'],
      floor: 'recall ≥ 0.90',
    },
    {
      name: 'patch trigger 1 %',
      data: 'MNIST 28×28',
      rows: mnistRows,
      attacks: ['patch:0.01:0:3'],
      kinds: ['trigger'],
      floor: 'recall ≥ 0.90',
    },
    {
      name: 'near-duplicate flood 2 %',
      data: 'SpamAssassin',
      rows: spam,
      attacks: ['flood:0.02'],
      kinds: ['near_duplicate'],
      floor: 'recall ≥ 0.95',
    },
    {
      name: 'fake secrets (30)',
      data: 'SpamAssassin',
      rows: spam,
      attacks: ['secrets:30'],
      kinds: ['secret'],
      floor: 'recall 1.0',
    },
    {
      name: 'outliers (20)',
      data: 'breast cancer',
      rows: () => sklearnTable('breast_cancer.csv', 'bc'),
      attacks: ['outliers:20'],
      kinds: ['outlier'],
    },
    {
      name: 'poisoned source (flips 2 % + trigger 1 %)',
      data: 'SpamAssassin',
      rows: spam,
      attacks: ['flip:0.02', 'token:zq:0.01:ham', 'source:partner-feed'],
      kinds: ['label', 'trigger'],
      floor: 'source named',
    },
  ];
}

function cleanSets(quick: boolean): { data: string; rows: () => ScanRow[] }[] {
  return [
    { data: 'SpamAssassin', rows: spam },
    { data: 'wine', rows: () => sklearnTable('wine_data.csv', 'wine') },
    { data: 'breast cancer', rows: () => sklearnTable('breast_cancer.csv', 'bc') },
    { data: 'digits 8×8', rows: digits },
    { data: 'MNIST 28×28', rows: () => mnist(quick ? 150 : 400) },
  ];
}

async function quality(quick: boolean): Promise<string> {
  const lines: string[][] = [];
  for (const s of scenarios(quick)) {
    const o = await runScenario(s);
    for (const k of o.scores) {
      lines.push([
        s.name,
        s.data,
        k.kind,
        String(k.planted),
        String(k.flagged),
        f2(k.precision),
        f2(k.recall),
        f2(k.f1),
        k.kind === 'trigger'
          ? `rank ${o.triggerRank ?? '-'}, P ${f2(o.triggerPrecision)} R ${f2(o.triggerRecall)}`
          : '',
        o.namedSources.join(', ') || '-',
        s.floor ?? '',
        o.seconds.toFixed(1),
      ]);
    }
    process.stdout.write(
      `${s.data} / ${s.name}: ${o.scores.map((k) => `${k.kind} P ${f2(k.precision)} R ${f2(k.recall)} F1 ${f2(k.f1)}`).join('; ')}; trigger rank ${o.triggerRank ?? '-'}; sources ${o.namedSources.join(',') || '-'}\n`,
    );
  }
  const clean: string[][] = [];
  for (const c of cleanSets(quick)) {
    const rows = c.rows();
    const report = await runScan(rows, defaultPlan());
    const s = report.summary;
    clean.push([
      c.data,
      String(rows.length),
      String(report.triggers.length),
      s.suspiciousSources.join(', ') || 'none',
      String(s.counts.label),
      String(s.counts.near_duplicate),
      String(s.counts.outlier),
      String(s.counts.secret),
    ]);
    process.stdout.write(
      `clean ${c.data}: triggers ${report.triggers.length}, sources ${s.suspiciousSources.join(',') || 'none'}, label flags ${s.counts.label}\n`,
    );
  }
  return (
    'Row-level scores per planted kind: a flagged row is a true positive when the generator planted that kind in it, a false positive when nothing was planted in it ' +
    '(so real duplicates, odd rows and mislabels already in the public data count against precision), and neither when it was poisoned another way. ' +
    '"trigger found" scores the reported trigger pattern that best matches the planted rows: its rank among reported triggers and its own row precision and recall.\n\n' +
    table(
      [
        'attack',
        'data',
        'kind',
        'planted',
        'flagged',
        'precision',
        'recall',
        'F1',
        'trigger found',
        'sources named',
        'floor',
        'scan s',
      ],
      lines,
    ) +
    '\nThe same scan on the clean data (no poison injected):\n\n' +
    table(
      [
        'data',
        'rows',
        'triggers reported',
        'sources named',
        'label flags',
        'near-duplicate flags',
        'outlier flags',
        'secret flags',
      ],
      clean,
    )
  );
}

async function speed(quick: boolean): Promise<string> {
  const scratch = mkdtempSync(join(tmpdir(), 'cordon-bench-detect-'));
  const rss = detectRssMethod();
  const rows: string[][] = [];
  const perDetector: string[][] = [];
  try {
    for (const n of quick ? [20_000] : [100_000, 1_000_000]) {
      const file = join(scratch, `rows-${n}.jsonl`);
      writeFileSync(file, syntheticTextLines(n).join('\n') + '\n');
      const out = join(scratch, `report-${n}.json`);
      const r = await measure(process.execPath, [BIN, 'scan', file, '--json', out], {
        cwd: scratch,
        stdout: 'ignore',
        timeoutMs: 30 * 60_000,
        scratch,
        node: true,
        rss,
      });
      if (r.code !== 0) throw new Error(`scan of ${n} rows failed: ${r.stderr}`);
      const report = JSON.parse((await import('node:fs')).readFileSync(out, 'utf8')) as ScanReport;
      rows.push([
        n.toLocaleString('en-US'),
        (r.ms / 1000).toFixed(1),
        r.peakKiB === null ? '-' : `${(r.peakKiB / 1024).toFixed(0)} MiB`,
        Math.round(n / (r.ms / 1000)).toLocaleString('en-US'),
      ]);
      for (const d of report.summary.detectors) {
        perDetector.push([
          n.toLocaleString('en-US'),
          d.id,
          d.skipped ? `skipped: ${d.skipped}` : String(d.flagged),
          d.seconds.toFixed(2),
          d.skipped ? '-' : d.rowsPerSecond.toLocaleString('en-US'),
        ]);
      }
      process.stdout.write(
        `speed ${n}: ${(r.ms / 1000).toFixed(1)} s, peak ${r.peakKiB ?? '?'} KiB\n`,
      );
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return (
    'Full scan (all detectors, `cordon scan file.jsonl --json`) of generated short text rows (30 tokens, 3 labels, 7 sources), one run each, as a child process.\n\n' +
    table(['rows', 'wall s', 'peak RSS', 'rows/s'], rows) +
    "\nPer detector (from the report's own timings):\n\n" +
    table(['rows', 'detector', 'rows flagged', 'seconds', 'rows/s'], perDetector)
  );
}

function replaceSection(doc: string, name: string, body: string): string {
  const begin = `<!-- bench:detect:${name}:begin -->`;
  const end = `<!-- bench:detect:${name}:end -->`;
  const block = `${begin}\n${body}\n${end}`;
  const b = doc.indexOf(begin);
  const e = doc.indexOf(end);
  if (b >= 0 && e > b) return doc.slice(0, b) + block + doc.slice(e + end.length);
  return `${doc.trimEnd()}\n\n${name === 'quality' ? '## Detection quality (`npm run bench:detect`)' : '## Scan speed (`npm run bench:detect`)'}\n\n${block}\n`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean' }, only: { type: 'string' }, write: { type: 'boolean' } },
  });
  const quick = Boolean(values.quick);
  const env = `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}${quick ? ' (quick run: smaller sizes)' : ''}.\n\n`;
  let doc = readDoc(DOC);
  if (values.only !== 'speed') doc = replaceSection(doc, 'quality', env + (await quality(quick)));
  if (values.only !== 'quality') doc = replaceSection(doc, 'speed', env + (await speed(quick)));
  if (!quick || values.write) await writeDoc(DOC, doc);
}

main().catch((e: unknown) => {
  process.stderr.write(
    `bench:detect failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  process.exitCode = 1;
});
