import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CordonError } from '../../core/errors.js';
import { evaluateFailOn, parseFailOn } from '../../core/scan/fail-on.js';
import { parseAttack, poison } from '../../core/scan/poison.js';
import { ISSUE_KINDS, type ScanReport } from '../../core/scan/report.js';
import type { ScanRow } from '../../core/scan/types.js';
import { isFile, rowsFromFile, rowsFromSnapshot } from '../../engine/scan/load-rows.js';
import { loadManifest, resolveSnapshot, snapshotLabel } from '../../engine/snapshots.js';
import { datasetGovernance } from '../../engine/governance/facts.js';
import { openReview } from '../../engine/governance/review.js';
import type { Workspace } from '../../engine/workspace.js';
import { columnOptions, toColumnMap, type ColumnFlags } from '../columns.js';
import type { JobView } from '../../server/jobs.js';
import { collect, openFor, remoteFor } from '../context.js';
import { progress, table, type Io } from '../io.js';
import { seg, type RemoteClient } from '../remote/client.js';
import { followJob } from '../remote/jobs.js';
import { remoteSnapshot } from '../remote/rows.js';
import type { ApiDatasetSettings, ApiScanResult } from '../remote/types.js';

function readOptions(f: ColumnFlags): Parameters<typeof rowsFromFile>[2] {
  return { columns: toColumnMap(f), defaultSource: null };
}

async function loadRows(
  io: Io,
  cmd: Command,
  target: string,
  flags: ColumnFlags,
): Promise<{
  rows: ScanRow[];
  name: string;
  snapshot?: {
    ws: Workspace;
    row: Awaited<ReturnType<typeof resolveSnapshot>>;
  };
}> {
  const path = resolve(io.cwd, target);
  if (isFile(path)) {
    const bar = progress(io, 'read');
    try {
      return {
        rows: await rowsFromFile(path, flags.format, readOptions(flags), bar.update),
        name: target,
      };
    } finally {
      bar.stop();
    }
  }
  const ws = await openFor(cmd, io);
  try {
    const row = await resolveSnapshot(ws, target);
    return {
      rows: await rowsFromSnapshot(ws, row),
      name: snapshotLabel(row),
      snapshot: { ws, row },
    };
  } catch (e) {
    await ws.close();
    throw e;
  }
}

/** The text summary of a report; `how` names a non-default way it ran (e.g. "3 workers"). */
export function printSummary(io: Io, report: ScanReport, name: string, how?: string): void {
  const s = report.summary;
  io.stdout(
    `Scanned ${name}${how ? ` (${how})` : ''}: ${report.rows.toLocaleString('en')} rows, ${s.flaggedRows.toLocaleString('en')} flagged, ${report.triggers.length} trigger pattern(s), ${s.timings.totalSeconds.toFixed(1)} s\n\n`,
  );
  io.stdout(
    table(
      ['KIND', 'ROWS', 'RATE'],
      ISSUE_KINDS.map((k) => [k, s.counts[k], `${(s.rates[k] * 100).toFixed(2)}%`]),
    ) + '\n',
  );
  if (report.triggers.length) {
    io.stdout(
      table(
        ['TRIGGER', 'LABEL', 'ROWS', 'SCORE'],
        report.triggers
          .slice(0, 5)
          .map((t) => [t.pattern, t.label, t.rows.length, t.score.toFixed(3)]),
      ) + '\n',
    );
  }
  const suspicious = report.sources.filter((x) => x.suspicious);
  if (suspicious.length)
    io.stdout(
      `Suspicious sources: ${suspicious.map((x) => `${x.source} (${x.score.toFixed(2)})`).join(', ')}\n`,
    );
  const skipped = s.detectors.filter((d) => d.skipped);
  for (const d of skipped) io.stdout(`skipped ${d.id}: ${d.skipped}\n`);
}

interface ScanFlags extends ColumnFlags {
  baseline?: string;
  detectors?: string;
  spectral?: boolean;
  json?: string;
  html?: string;
  failOn?: string;
}

/** Class counts of a stored snapshot, from its signed statement: the baseline for drift. */
async function remoteBaseline(api: RemoteClient, ref: string): Promise<Record<string, number>> {
  const baseline: Record<string, number> = {};
  for (const l of (await remoteSnapshot(api, ref)).labels)
    if (l.name !== null) baseline[l.name] = l.records;
  return baseline;
}

/**
 * Scans a stored snapshot on a server: the scan runs there as a job (followed to the same
 * progress bar) and is recorded there; the summary printed is that of the recorded report.
 */
async function remoteScan(api: RemoteClient, io: Io, ref: string, flags: ScanFlags): Promise<void> {
  const snapshot = await remoteSnapshot(api, ref);
  const detectors = (flags.detectors ?? '')
    .split(',')
    .map((d) => d.trim())
    .filter(Boolean);
  const job = await api.post<JobView>(`/v1/snapshots/${seg(snapshot.id)}/scans`, {
    ...(flags.baseline !== undefined ? { baseline: flags.baseline } : {}),
    ...(detectors.length ? { detectors } : {}),
    spectral: Boolean(flags.spectral),
    ...(flags.failOn !== undefined ? { failOn: flags.failOn } : {}),
  });
  const bar = progress(io, 'scan', 100);
  let result: ApiScanResult;
  try {
    result = (await followJob(api, job, (p) => {
      if (p.phase === 'scan' && p.fraction !== undefined) bar.update(Math.round(p.fraction * 100));
    })) as ApiScanResult;
  } finally {
    bar.stop();
  }
  const scan = `/v1/snapshots/${seg(snapshot.id)}/scans/${seg(result.scan.id)}`;
  const report = await api.get<ScanReport>(`${scan}/report`);
  if (flags.json)
    await writeFile(resolve(io.cwd, flags.json), JSON.stringify(report, null, 1) + '\n');
  if (flags.html)
    await writeFile(
      resolve(io.cwd, flags.html),
      await (await api.request('GET', `${scan}/report.html`)).text(),
    );
  io.stdout(
    `Recorded signed scan ${result.scan.id.slice(0, 12)} of ${snapshot.ref} (report ${result.scan.reportDigest.slice(0, 12)})\n`,
  );
  if (result.reviewItemsOpened !== null) {
    const settings = await api.get<ApiDatasetSettings>(
      `/v1/datasets/${seg(snapshot.dataset)}/settings`,
    );
    io.stdout(
      `High-impact dataset: ${result.reviewItemsOpened} record(s) scoring ≥ ${settings.reviewThreshold} queued for review ("cordon review list")\n`,
    );
  }
  printSummary(io, report, snapshot.ref);
  if (result.failOn?.broken.length)
    throw new CordonError(
      'FINDINGS',
      `--fail-on ${flags.failOn ?? ''}: ${result.failOn.broken.join('; ')}`,
    );
}

export function registerScan(program: Command, io: Io): void {
  columnOptions(
    program
      .command('scan <target>')
      .description(
        'scan a file or a stored snapshot for poisoning: label errors, duplicates, outliers, triggers, secrets, PII, drift, sources',
      )
      .option('--baseline <snapshot>', 'snapshot whose class balance is the baseline for drift')
      .option(
        '--detectors <ids>',
        'run only these detectors (comma-separated ids, see docs/SCAN.md)',
      )
      .option('--spectral', 'also run spectral signatures (for embeddings or model activations)')
      .option('--json <file>', 'write the JSON report (cordon.scan/v1) here')
      .option('--html <file>', 'write a self-contained HTML report with plots here')
      .option(
        '--fail-on <rules>',
        'exit 1 when the report breaks these rules, e.g. "trigger,secret,label>5%" (see docs/SCAN.md)',
      ),
  ).action(async (target: string, flags: ScanFlags, cmd: Command) => {
    // A file is scanned here even with a server set; a stored snapshot is scanned where it is.
    const api = isFile(resolve(io.cwd, target)) ? undefined : remoteFor(cmd, io);
    if (api) return remoteScan(api, io, target, flags);
    // The detectors, ECharts and secretlint are loaded only when a scan runs, not on every command.
    const [
      { ALL_DETECTOR_IDS, defaultPlan },
      { renderHtmlReport },
      { recordScan },
      { OFFLOAD, runScan },
    ] = await Promise.all([
      import('../../core/scan/registry.js'),
      import('../../engine/scan/html-report.js'),
      import('../../engine/scan/record-scan.js'),
      import('../../engine/scan/run-scan.js'),
    ]);
    const rules = flags.failOn ? parseFailOn(flags.failOn) : [];
    const unknown = (flags.detectors ?? '')
      .split(',')
      .map((d) => d.trim())
      .filter((d) => d && !ALL_DETECTOR_IDS.includes(d));
    if (unknown.length)
      throw new CordonError(
        'USAGE',
        `unknown detector(s) ${unknown.join(', ')}; known: ${ALL_DETECTOR_IDS.join(', ')}`,
      );
    const { rows, name, snapshot } = await loadRows(io, cmd, target, flags);
    try {
      let baseline: Record<string, number> | undefined;
      const api = snapshot || !flags.baseline ? undefined : remoteFor(cmd, io);
      if (flags.baseline && api) {
        baseline = await remoteBaseline(api, flags.baseline);
      } else if (flags.baseline) {
        const ws = snapshot?.ws ?? (await openFor(cmd, io));
        try {
          const base = await resolveSnapshot(ws, flags.baseline);
          baseline = {};
          for (const e of (await loadManifest(ws, base)).entries)
            if (e.label !== null) baseline[e.label] = (baseline[e.label] ?? 0) + 1;
        } finally {
          if (!snapshot) await ws.close();
        }
      }
      const bar = progress(io, 'scan', 100);
      let report: ScanReport;
      try {
        const plan = defaultPlan({
          ...(baseline ? { baseline } : {}),
          ...(flags.detectors ? { only: flags.detectors.split(',').map((d) => d.trim()) } : {}),
          spectral: Boolean(flags.spectral),
        });
        report = await runScan(rows, {
          ...plan,
          offload: OFFLOAD,
          onProgress: (_d, f) => bar.update(Math.round(f * 100)),
        });
      } finally {
        bar.stop();
      }
      if (flags.json)
        await writeFile(resolve(io.cwd, flags.json), JSON.stringify(report, null, 1) + '\n');
      if (flags.html)
        await writeFile(
          resolve(io.cwd, flags.html),
          renderHtmlReport(report, rows, `Cordon scan of ${name}`),
        );
      if (snapshot) {
        const recorded = await recordScan(snapshot.ws, snapshot.row, report);
        io.stdout(
          `Recorded signed scan ${recorded.id.slice(0, 12)} of ${name} (report ${recorded.reportDigest.slice(0, 12)})\n`,
        );
        // On a high-impact dataset, strong findings go to the human review queue at once.
        if ((await datasetGovernance(snapshot.ws, snapshot.row.dataset)).highImpact) {
          const review = await openReview(snapshot.ws, snapshot.row);
          io.stdout(
            `High-impact dataset: ${review.opened} record(s) scoring ≥ ${review.threshold} queued for review ("cordon review list")\n`,
          );
        }
      }
      printSummary(io, report, name);
      const reasons = evaluateFailOn(report, rules);
      if (reasons.length)
        throw new CordonError('FINDINGS', `--fail-on ${flags.failOn ?? ''}: ${reasons.join('; ')}`);
    } finally {
      await snapshot?.ws.close();
    }
  });

  columnOptions(
    program
      .command('poison <input>')
      .description(
        'write a poisoned copy of a labelled file with ground truth, for testing detectors',
      )
      .requiredOption('--out <file>', 'poisoned JSONL to write')
      .requiredOption('--attack <spec>', 'attack spec, repeatable (see docs/SCAN.md)', collect)
      .option('--truth <file>', 'ground truth JSON to write')
      .option('--seed <n>', 'random seed', '1'),
  ).action(
    async (
      input: string,
      flags: ColumnFlags & { out: string; attack: string[]; truth?: string; seed: string },
    ) => {
      const rows = await rowsFromFile(resolve(io.cwd, input), flags.format, readOptions(flags));
      const { rows: poisoned, truth } = poison(
        rows,
        flags.attack.map(parseAttack),
        Number(flags.seed),
      );
      await writeFile(
        resolve(io.cwd, flags.out),
        poisoned.map((r) => JSON.stringify(r)).join('\n') + '\n',
      );
      if (flags.truth)
        await writeFile(resolve(io.cwd, flags.truth), JSON.stringify(truth, null, 1) + '\n');
      io.stdout(
        `Wrote ${poisoned.length} rows to ${flags.out}; ${Object.keys(truth.rows).length} poisoned\n`,
      );
    },
  );
}
