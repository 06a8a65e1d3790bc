import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CordonError } from '../../core/errors.js';
import { evaluateFailOn, parseFailOn } from '../../core/scan/fail-on.js';
import { datasetGovernance } from '../../engine/governance/facts.js';
import { openReview } from '../../engine/governance/review.js';
import { loadManifest, resolveSnapshot, snapshotLabel } from '../../engine/snapshots.js';
import { openFor } from '../context.js';
import { printSummary } from './scan.js';
import { progress, type Io } from '../io.js';

export interface ScanDistributedFlags {
  shards?: string;
  partitions?: string;
  splitFolds?: boolean;
  redisUrl?: string;
  prefix?: string;
  baseline?: string;
  detectors?: string;
  spectral?: boolean;
  json?: string;
  html?: string;
  failOn?: string;
}

function count(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new CordonError('USAGE', `${name} must be a positive integer, got "${value}"`);
  return n;
}

/**
 * The action of a distributed scan of a stored snapshot: the report equals `cordon scan`'s, and
 * it is recorded (signed statement, event, review queue on high-impact datasets) the same way.
 * Exported so `scan` can offer it behind a flag as well.
 */
export async function scanDistributed(
  io: Io,
  cmd: Command,
  target: string,
  flags: ScanDistributedFlags,
): Promise<void> {
  const [
    { ALL_DETECTOR_IDS },
    { renderHtmlReport },
    { recordScan },
    { runDistributedScan },
    { DEFAULT_REDIS_URL },
  ] = await Promise.all([
    import('../../core/scan/registry.js'),
    import('../../engine/scan/html-report.js'),
    import('../../engine/scan/record-scan.js'),
    import('../../engine/scan/distributed/coordinator.js'),
    import('../../engine/scan/distributed/protocol.js'),
  ]);
  const rules = flags.failOn ? parseFailOn(flags.failOn) : [];
  const only = flags.detectors
    ?.split(',')
    .map((d) => d.trim())
    .filter((d) => d);
  const unknown = (only ?? []).filter((d) => !ALL_DETECTOR_IDS.includes(d));
  if (unknown.length)
    throw new CordonError(
      'USAGE',
      `unknown detector(s) ${unknown.join(', ')}; known: ${ALL_DETECTOR_IDS.join(', ')}`,
    );
  const shards = count('--shards', flags.shards);
  const partitions = count('--partitions', flags.partitions);
  const redisUrl = flags.redisUrl ?? io.env['CORDON_REDIS_URL'] ?? DEFAULT_REDIS_URL;
  const ws = await openFor(cmd, io);
  try {
    const row = await resolveSnapshot(ws, target);
    const name = snapshotLabel(row);
    let baseline: Record<string, number> | undefined;
    if (flags.baseline) {
      const base = await resolveSnapshot(ws, flags.baseline);
      baseline = {};
      for (const e of (await loadManifest(ws, base)).entries)
        if (e.label !== null) baseline[e.label] = (baseline[e.label] ?? 0) + 1;
    }
    const bar = progress(io, 'scan', 100);
    const said = new Set<string>();
    let result: Awaited<ReturnType<typeof runDistributedScan>>;
    try {
      result = await runDistributedScan(ws, row, {
        redisUrl,
        ...(flags.prefix !== undefined ? { prefix: flags.prefix } : {}),
        ...(shards !== undefined ? { shards } : {}),
        ...(partitions !== undefined ? { partitions } : {}),
        splitFolds: Boolean(flags.splitFolds),
        plan: {
          ...(baseline ? { baseline } : {}),
          ...(only ? { only } : {}),
          spectral: Boolean(flags.spectral),
        },
        onProgress: (p) => {
          bar.update(Math.round(p.fraction * 100));
          if (p.message && !said.has(p.message)) {
            said.add(p.message);
            io.stderr(`cordon: ${p.message}\n`);
          }
        },
      });
    } finally {
      bar.stop();
    }
    const { report, rows } = result;
    if (flags.json)
      await writeFile(resolve(io.cwd, flags.json), JSON.stringify(report, null, 1) + '\n');
    if (flags.html)
      await writeFile(
        resolve(io.cwd, flags.html),
        renderHtmlReport(report, rows, `Cordon scan of ${name}`),
      );
    const recorded = await recordScan(ws, row, report);
    io.stdout(
      `Recorded signed scan ${recorded.id.slice(0, 12)} of ${name} (report ${recorded.reportDigest.slice(0, 12)})\n`,
    );
    if ((await datasetGovernance(ws, row.dataset)).highImpact) {
      const review = await openReview(ws, row);
      io.stdout(
        `High-impact dataset: ${review.opened} record(s) scoring ≥ ${review.threshold} queued for review ("cordon review list")\n`,
      );
    }
    const retried = result.jobs.filter((j) => j.attemptsStarted > 1).length;
    const workers = new Set(result.jobs.map((j) => j.worker).filter((w) => w !== undefined)).size;
    printSummary(
      io,
      report,
      name,
      `${result.shards} shard(s), ${result.jobs.length} jobs on ${workers} worker(s)` +
        (retried ? `, ${retried} job(s) retried` : ''),
    );
    const t = result.timeline;
    const kinds = Object.entries(t.jobs)
      .filter(([, k]) => k.jobs > 0)
      .map(
        ([kind, k]) =>
          `${k.jobs} ${kind} ${k.wallSeconds.toFixed(1)} s (${k.computeSeconds.toFixed(1)} s computing)`,
      );
    io.stdout(
      `Timeline: rows read ${t.at.loaded.toFixed(1)} s, maps in ${t.at.maps.toFixed(1)} s, ` +
        `LSH in ${t.at.lsh.toFixed(1)} s, whole-dataset detectors in ${t.at.detectors.toFixed(1)} s, ` +
        `report ${t.at.report.toFixed(1)} s; worker time: ${kinds.join(', ')}\n`,
    );
    const reasons = evaluateFailOn(report, rules);
    if (reasons.length)
      throw new CordonError('FINDINGS', `--fail-on ${flags.failOn ?? ''}: ${reasons.join('; ')}`);
  } finally {
    await ws.close();
  }
}

/** `cordon scan-distributed <snapshot>`: a scan of a stored snapshot run by `cordon worker`s. */
export function registerScanDistributed(program: Command, io: Io): void {
  program
    .command('scan-distributed <snapshot>')
    .description(
      'scan a stored snapshot on the workers ("cordon worker") serving this workspace through Redis; same report as "cordon scan"',
    )
    .option('--shards <n>', 'row shards (default: one per 50,000 rows)')
    .option('--partitions <n>', 'LSH partitions for near duplicates (default: as many as shards)')
    .option(
      '--split-folds',
      'run label/confident-learning as one job per fold (faster with several workers, same report)',
    )
    .option(
      '--redis-url <url>',
      'Redis to use (default: $CORDON_REDIS_URL or redis://127.0.0.1:6379)',
    )
    .option('--prefix <prefix>', 'BullMQ key prefix shared with the workers', 'cordon')
    .option('--baseline <snapshot>', 'snapshot whose class balance is the baseline for drift')
    .option('--detectors <ids>', 'run only these detectors (comma-separated ids, see docs/SCAN.md)')
    .option('--spectral', 'also run spectral signatures (for embeddings or model activations)')
    .option('--json <file>', 'write the JSON report (cordon.scan/v1) here')
    .option('--html <file>', 'write a self-contained HTML report with plots here')
    .option(
      '--fail-on <rules>',
      'exit 1 when the report breaks these rules, e.g. "trigger,secret,label>5%" (see docs/SCAN.md)',
    )
    .action((target: string, flags: ScanDistributedFlags, cmd: Command) =>
      scanDistributed(io, cmd, target, flags),
    );
}
