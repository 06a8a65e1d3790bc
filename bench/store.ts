/**
 * Store benchmarks: `npm run bench:store [-- --quick] [-- --only ingest|verify|diff] [-- --keep]`.
 *
 * 1. ingest: `cordon ingest` of 1,000,000 short JSONL rows into a fresh workspace (wall time and
 *    peak RSS of the child process). Target: < 60 s and < 1 GiB.
 * 2. verify: `cordon verify` of a ~2 GiB export (10,000 files of ~100 KiB plus one 1 GiB file)
 *    against `sha256sum` over the same files, warm page cache, alternating order. Target: ≥ 3×.
 * 3. diff: `cordon diff --json` of two 1,000,000-row snapshots differing in 1 %. Target: < 10 s.
 *
 * Every command is run as a child process from a frozen copy of bin/ and dist/src (so a rebuild
 * during the run cannot change the code measured). Results go to the marked sections of
 * docs/BENCHMARKS.md (full runs only, unless --write) and to bench/out/store-results.json.
 * Generated data lives in a temporary folder that is removed at the end unless --keep.
 */
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { summariseProfiles, type ThreadSummary } from './cpuprofile.js';
import {
  FOLDER_LABELS,
  deltaFor,
  writeBaseRows,
  writeChangedRows,
  writeFolder,
  type FolderSpec,
} from './data.js';
import {
  detectRssMethod,
  killActive,
  measure,
  stats,
  type RssMethod,
  type RunResult,
  type Stats,
} from './measure.js';
import {
  gib,
  int,
  mib,
  pct,
  profileBlock,
  readDoc,
  replaceSections,
  sectionRunAt,
  sec,
  statCells,
  summaryRowComment,
  summaryRows,
  table,
  writeDoc,
  type SectionName,
} from './report.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The checkout whose built CLI is measured (this one unless --cli). */
let CLI_ROOT = REPO;
const DOC = join(REPO, 'docs/BENCHMARKS.md');
const TARGETS = ['ingest', 'verify', 'diff'] as const;
type Target = (typeof TARGETS)[number];
const GIB_KIB = 1 << 20;
const REPRODUCE = 'npm run bench:store';

// ---------------------------------------------------------------------------------------------
// Options

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string', multiple: true },
    keep: { type: 'boolean', default: false },
    reps: { type: 'string' },
    dir: { type: 'string' },
    write: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
    'no-profile': { type: 'boolean', default: false },
    'timeout-min': { type: 'string', default: '30' },
    'wait-idle': { type: 'string' },
    cli: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (flags.help) {
  process.stdout.write(
    [
      `usage: ${REPRODUCE} [-- options]`,
      '  --quick            small sizes, for a smoke run (does not touch docs/ unless --write)',
      '  --only <target>    ingest, verify or diff (repeatable or comma-separated)',
      '  --reps <n>         repetitions of every timed command (default 3 ingest, 5 verify, 5 diff)',
      '  --keep             keep the generated data and workspaces',
      '  --dir <path>       create the work folder in <path> (default: the system temp folder)',
      '  --no-profile       skip the extra `node --cpu-prof` run per target',
      '  --write / --no-write   force / skip updating docs/BENCHMARKS.md',
      '  --force            replace sections even if they hold results of a run that started later',
      '  --timeout-min <m>  kill a command after m minutes (default 30)',
      '  --cli <dir>        measure the built CLI (bin/, dist/src/) of another checkout of Cordon',
      '  --wait-idle <m>    before each target, wait up to m minutes for the 1-minute load',
      '                     average to drop below half the CPU count (for shared machines)',
      '',
    ].join('\n'),
  );
  process.exit(0);
}

const only = (flags.only ?? []).flatMap((s) => s.split(',')).map((s) => s.trim());
for (const t of only) {
  if (!(TARGETS as readonly string[]).includes(t)) {
    process.stderr.write(`bench: --only must be one of ${TARGETS.join(', ')}, not "${t}"\n`);
    process.exit(2);
  }
}
const selected: Target[] = only.length ? TARGETS.filter((t) => only.includes(t)) : [...TARGETS];
const quick = flags.quick;
const repsOverride = flags.reps === undefined ? undefined : Number(flags.reps);
if (repsOverride !== undefined && !(Number.isInteger(repsOverride) && repsOverride >= 1)) {
  process.stderr.write('bench: --reps must be a positive integer\n');
  process.exit(2);
}
const reps = (full: number): number => repsOverride ?? (quick ? 3 : full);
const profile = !flags['no-profile'];
const timeoutMs = Number(flags['timeout-min']) * 60_000;
const writeToDoc = !flags['no-write'] && (!quick || flags.write);
if (flags.cli) CLI_ROOT = resolve(flags.cli);
const waitIdleMs = flags['wait-idle'] === undefined ? 0 : Number(flags['wait-idle']) * 60_000;

const SIZES = quick
  ? {
      rows: 20_000,
      folder: { files: 300, meanBytes: 100 << 10, largeBytes: 64 << 20 } satisfies FolderSpec,
    }
  : {
      rows: 1_000_000,
      folder: { files: 10_000, meanBytes: 100 << 10, largeBytes: 1 << 30 } satisfies FolderSpec,
    };

// ---------------------------------------------------------------------------------------------
// Work folder, frozen build, child processes

// A new folder in any case (inside --dir when given), so that cleanup never removes anything else.
if (flags.dir) mkdirSync(resolve(flags.dir), { recursive: true });
const work = mkdtempSync(join(flags.dir ? resolve(flags.dir) : tmpdir(), 'cordon-bench-store-'));
const scratch = join(work, 'scratch');
mkdirSync(scratch, { recursive: true });
const build = join(work, 'build');
const BIN = join(build, 'bin/cordon.js');
const rss: RssMethod = detectRssMethod();

function cleanup(): void {
  if (flags.keep) {
    process.stdout.write(`kept ${work}\n`);
  } else {
    rmSync(work, { recursive: true, force: true });
  }
}

process.on('SIGINT', () => {
  killActive();
  cleanup();
  process.exit(130);
});

/** Copies bin/ and dist/src so that concurrent rebuilds of dist/ cannot change the code measured. */
function freezeBuild(): void {
  if (!existsSync(join(CLI_ROOT, 'dist/src/cli/main.js'))) {
    throw new Error(`${CLI_ROOT}/dist/src/cli/main.js is missing: run "npm run build" first`);
  }
  rmSync(build, { recursive: true, force: true });
  cpSync(join(CLI_ROOT, 'bin/cordon.js'), BIN);
  cpSync(join(CLI_ROOT, 'dist/src'), join(build, 'dist/src'), { recursive: true });
  cpSync(join(REPO, 'package.json'), join(build, 'package.json'));
  symlinkSync(join(REPO, 'node_modules'), join(build, 'node_modules'), 'dir');
}

/** 1-minute load averages sampled before each command of the current target. */
let loadSamples: number[] = [];

/** With --wait-idle: waits (bounded) until the machine's load drops below half its CPUs. */
async function waitForIdle(): Promise<string | undefined> {
  if (waitIdleMs <= 0) return undefined;
  const limit = availableParallelism() / 2;
  const started = Date.now();
  while (loadavg()[0]! >= limit && Date.now() - started < waitIdleMs) {
    log(`  waiting for the load average (${loadavg()[0]!.toFixed(2)}) to drop below ${limit}`);
    await new Promise((r) => setTimeout(r, 15_000));
  }
  const waited = (Date.now() - started) / 1000;
  const now = loadavg()[0]!;
  return waited < 1
    ? undefined
    : `waited ${waited.toFixed(0)} s for the load average to drop below ${limit} (${now < limit ? 'it did' : `it was still ${now.toFixed(2)}`})`;
}

class StepError extends Error {
  constructor(
    readonly step: string,
    message: string,
  ) {
    super(`${step}: ${message}`);
  }
}

function describeFailure(r: RunResult): string {
  if (r.timedOut) return `timed out after ${sec(timeoutMs)} (killed)`;
  const tail = r.stderr.trim().split('\n').slice(-6).join('\n');
  return `exit ${r.code ?? r.signal}${tail ? `: ${tail}` : ''}`;
}

/** Runs `node bin/cordon.js args` (frozen copy), measured. Throws StepError unless it exits 0. */
async function cordon(
  step: string,
  args: string[],
  opts: { stdout?: 'capture' | 'ignore'; nodeFlags?: string[]; rss?: boolean } = {},
): Promise<RunResult> {
  loadSamples.push(loadavg()[0]!);
  const r = await measure(process.execPath, [...(opts.nodeFlags ?? []), BIN, ...args], {
    cwd: work,
    stdout: opts.stdout ?? 'capture',
    timeoutMs,
    scratch,
    node: true,
    rss: opts.rss === false ? 'none' : rss,
  });
  if (r.code !== 0) throw new StepError(step, describeFailure(r));
  return r;
}

/** Runs a shell pipeline, measured (wall time only). */
async function shell(step: string, script: string, ...args: string[]): Promise<RunResult> {
  loadSamples.push(loadavg()[0]!);
  const r = await measure('bash', ['-c', script, 'bench', ...args], {
    cwd: work,
    stdout: 'ignore',
    timeoutMs,
    scratch,
    rss: 'none',
  });
  if (r.code !== 0) throw new StepError(step, describeFailure(r));
  return r;
}

async function initWorkspace(ws: string): Promise<void> {
  rmSync(ws, { recursive: true, force: true });
  await cordon('init workspace', ['init', ws, '--identity', 'bench'], { rss: false });
}

/** Runs a command once more under `node --cpu-prof` and summarises its profiles. */
async function cpuProfile(
  name: string,
  args: string[],
  before?: () => Promise<void>,
): Promise<ThreadSummary[] | undefined> {
  if (!profile) return undefined;
  const dir = join(work, `profile-${name}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  if (before) await before();
  log(`  profiling one more run (node --cpu-prof)`);
  await cordon(`${name} under --cpu-prof`, args, {
    stdout: 'ignore',
    rss: false,
    nodeFlags: ['--cpu-prof', '--cpu-prof-dir', dir],
  });
  const summary = summariseProfiles(dir, [build, CLI_ROOT, REPO]);
  if (flags.keep) log(`  profiles kept in ${dir}`);
  return summary;
}

function dirBytes(path: string): number {
  let total = 0;
  for (const d of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, d.name);
    if (d.isDirectory()) total += dirBytes(p);
    else if (d.isFile()) total += statSync(p).size;
  }
  return total;
}

const log = (s: string): void => void process.stdout.write(s + '\n');
const timed = <T>(f: () => T): { value: T; ms: number } => {
  const t = process.hrtime.bigint();
  const value = f();
  return { value, ms: Number(process.hrtime.bigint() - t) / 1e6 };
};

// ---------------------------------------------------------------------------------------------
// Shared input: the 1,000,000-row corpus

let rowsV1: { rows: number; bytes: number; ms: number } | undefined;
function baseRows(): { rows: number; bytes: number; ms: number } {
  if (!rowsV1) {
    log(`generating rows.jsonl (${int(SIZES.rows)} rows)`);
    const { value, ms } = timed(() => writeBaseRows(join(work, 'rows.jsonl'), SIZES.rows));
    rowsV1 = { ...value, ms };
    log(`  ${int(value.rows)} rows, ${mib(value.bytes / 1024)} in ${sec(ms)}`);
  }
  return rowsV1;
}

// ---------------------------------------------------------------------------------------------
// Results

interface Verdict {
  what: string;
  goal: string;
  measured: string;
  pass: boolean | null;
  /** Set when missed: by how much. */
  miss?: string;
}

interface TargetResult {
  target: Target;
  title: string;
  command: string;
  failure?: string;
  stats: Record<string, Stats>;
  verdicts: Verdict[];
  notes: string[];
  profile?: ThreadSummary[] | undefined;
  /** 1-minute load average sampled before each command of the target: min and max. */
  load?: [number, number];
  waited?: string;
  extra?: Record<string, unknown>;
}

function overBy(measured: number, limit: number, f: (v: number) => string): string {
  return `${f(measured - limit)} (${pct((measured - limit) / limit)}) over`;
}

// ---------------------------------------------------------------------------------------------
// 1. Ingest and commit

async function benchIngest(res: TargetResult): Promise<void> {
  const input = baseRows();
  res.notes.push(
    `Input: \`rows.jsonl\`, ${int(input.rows)} rows, ${mib(input.bytes / 1024)} ` +
      `(≈ ${Math.round(input.bytes / input.rows)} bytes a row; \`{id,label,source,text}\`, 6 labels, ` +
      `5 sources, ids in scrambled order), generated in ${sec(input.ms)} and in the page cache.`,
  );
  const args = (ws: string): string[] => ['-w', ws, '--json', 'ingest', 'bench', 'rows.jsonl'];
  const times: number[] = [];
  const peaks: number[] = [];
  const n = reps(3);
  for (let i = 0; i < n; i++) {
    const ws = join(work, 'ingest-ws');
    await initWorkspace(ws);
    const r = await cordon(`ingest, run ${i + 1}`, args(ws));
    times.push(r.ms);
    if (r.peakKiB !== null) peaks.push(r.peakKiB);
    log(`  run ${i + 1}/${n}: ${sec(r.ms)}, peak RSS ${r.peakKiB === null ? '?' : mib(r.peakKiB)}`);
    if (i === 0) {
      const out = JSON.parse(r.stdout) as { records: number; root: string; snapshot: string };
      if (out.records !== input.rows) {
        throw new StepError('ingest', `committed ${out.records} records, expected ${input.rows}`);
      }
      const objects = dirBytes(join(ws, 'objects'));
      res.notes.push(
        `\`--json\` output of run 1: ${out.records} records, root \`${out.root.slice(0, 16)}…\`; ` +
          `object folder after the commit: ${mib(objects / 1024)} (segments + manifest + envelopes).`,
      );
    }
    rmSync(ws, { recursive: true, force: true });
  }
  const t = stats(times);
  res.stats['wall'] = t;
  res.verdicts.push({
    what: 'wall time (median)',
    goal: '< 60 s',
    measured: sec(t.median),
    pass: t.median < 60_000,
    ...(t.median >= 60_000 ? { miss: `${overBy(t.median, 60_000, sec)} the 60 s target` } : {}),
  });
  if (peaks.length) {
    const p = stats(peaks);
    res.stats['peakRss'] = p;
    res.verdicts.push({
      what: 'peak RSS (worst run)',
      goal: '< 1 GiB',
      measured: mib(p.max),
      pass: p.max < GIB_KIB,
      ...(p.max >= GIB_KIB ? { miss: `${overBy(p.max, GIB_KIB, mib)} the 1 GiB target` } : {}),
    });
  } else {
    res.verdicts.push({ what: 'peak RSS', goal: '< 1 GiB', measured: 'not measured', pass: null });
  }
  const ws = join(work, 'ingest-ws');
  res.profile = await cpuProfile('ingest', args(ws), () => initWorkspace(ws));
  rmSync(ws, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// 2. Verify an export against sha256sum

const SHA_SCRIPT = 'find "$1" -type f -print0 | xargs -0 sha256sum > /dev/null';
const READ_SCRIPT = 'find "$1" -type f -print0 | xargs -0 cat > /dev/null';

async function benchVerify(res: TargetResult): Promise<void> {
  const folder = join(work, 'imgs');
  const ws = join(work, 'verify-ws');
  const out = join(work, 'export');
  const key = join(ws, 'keys', 'bench.pub');
  const spec = SIZES.folder;
  if (!sh('bash', ['-c', 'command -v sha256sum']))
    throw new StepError('verify', 'sha256sum not found');
  log(
    `generating imgs/ (${int(spec.files)} files of ~${spec.meanBytes >> 10} KiB + one of ${mib(spec.largeBytes / 1024)})`,
  );
  rmSync(folder, { recursive: true, force: true });
  const gen = timed(() => writeFolder(folder, spec));
  log(`  ${int(gen.value.files)} files, ${gib(gen.value.bytes)} in ${sec(gen.ms)}`);
  await initWorkspace(ws);
  const ing = await cordon('ingest of the folder', [
    '-w',
    ws,
    '--json',
    'ingest',
    'imgs',
    'imgs',
    '--format',
    'folder',
  ]);
  log(`  ingest --format folder: ${sec(ing.ms)}`);
  rmSync(out, { recursive: true, force: true });
  const exp = await cordon('export', [
    '-w',
    ws,
    '--json',
    'export',
    'imgs',
    '--out',
    out,
    '--override-gate',
    'benchmark data',
  ]);
  log(`  export: ${sec(exp.ms)}`);
  rmSync(folder, { recursive: true, force: true }); // not needed any more: leave the cache to the export
  const warm = await shell('warm-up read', READ_SCRIPT, out);
  const check = await cordon('first verify (check)', ['--json', 'verify', out, '--key', key]);
  const v = JSON.parse(check.stdout) as {
    ok: boolean;
    records: number;
    files: number;
    bytes: number;
  };
  if (!v.ok) throw new StepError('verify', 'first verify did not report ok');
  const exportBytes = dirBytes(out);
  res.notes.push(
    `Dataset: ${int(gen.value.files)} random-byte files in ${FOLDER_LABELS.length} label folders ` +
      `(${int(spec.files)} of ${spec.meanBytes >> 11}–${(spec.meanBytes * 3) >> 11} KiB and one of ` +
      `${mib(spec.largeBytes / 1024)}), ${gib(gen.value.bytes)}, generated in ${sec(gen.ms)}.`,
    `Setup, one run each: \`cordon ingest imgs imgs --format folder\` ${sec(ing.ms)}` +
      (ing.peakKiB === null ? '' : ` (peak RSS ${mib(ing.peakKiB)})`) +
      `, \`cordon export imgs --out export\` ${sec(exp.ms)}.`,
    `Export folder: ${int(v.files)} files + records.jsonl (${int(v.records)} records) and the ` +
      `manifest/attestation files, ${gib(exportBytes)} in all.`,
    `Warm cache for both tools: every file of the export was read once before timing ` +
      `(\`cat\`, ${sec(warm.ms)}), plus one untimed \`cordon verify\` that checked the export passes ` +
      `(${sec(check.ms)}). Order alternates each repetition (sha256sum first on odd runs).`,
  );
  const sha: number[] = [];
  const cv: number[] = [];
  const ratios: number[] = [];
  const peaks: number[] = [];
  const n = reps(5);
  for (let i = 0; i < n; i++) {
    let a = 0;
    let b = 0;
    const runSha = async (): Promise<void> => {
      a = (await shell(`sha256sum, run ${i + 1}`, SHA_SCRIPT, out)).ms;
    };
    const runCordon = async (): Promise<void> => {
      const r = await cordon(`cordon verify, run ${i + 1}`, ['verify', out, '--key', key]);
      b = r.ms;
      if (r.peakKiB !== null) peaks.push(r.peakKiB);
    };
    if (i % 2 === 0) {
      await runSha();
      await runCordon();
    } else {
      await runCordon();
      await runSha();
    }
    sha.push(a);
    cv.push(b);
    ratios.push(a / b);
    log(
      `  run ${i + 1}/${n}: sha256sum ${sec(a)}, cordon verify ${sec(b)}, ratio ${(a / b).toFixed(2)}×`,
    );
  }
  const s = stats(sha);
  const c = stats(cv);
  const ratio = s.median / c.median;
  res.stats['sha256sum'] = s;
  res.stats['cordonVerify'] = c;
  res.stats['ratio'] = stats(ratios);
  if (peaks.length) res.stats['peakRss'] = stats(peaks);
  res.extra = { exportBytes, gibPerSecCordon: exportBytes / 2 ** 30 / (c.median / 1000) };
  res.verdicts.push({
    what: 'sha256sum median / cordon verify median',
    goal: '≥ 3×',
    measured: `${ratio.toFixed(2)}×`,
    pass: ratio >= 3,
    ...(ratio < 3
      ? {
          miss:
            `cordon verify ${ratio >= 1 ? `is ${ratio.toFixed(2)}× as fast as` : `runs at ${ratio.toFixed(2)}× the speed of`} sha256sum, short of 3× by ` +
            `${pct((3 - ratio) / 3)}: it would have to take ≤ ${sec(s.median / 3)} instead of ` +
            `${sec(c.median)} (${pct((c.median - s.median / 3) / c.median)} less)`,
        }
      : {}),
  });
  res.profile = await cpuProfile('verify', ['verify', out, '--key', key]);
}

// ---------------------------------------------------------------------------------------------
// 3. Diff two snapshots

async function benchDiff(res: TargetResult): Promise<void> {
  const v1 = baseRows();
  const delta = deltaFor(SIZES.rows);
  log(`generating rows-v2.jsonl (-${delta.removed} +${delta.added} ~${delta.changed})`);
  const gen = timed(() => writeChangedRows(join(work, 'rows-v2.jsonl'), SIZES.rows, delta));
  const ws = join(work, 'diff-ws');
  await initWorkspace(ws);
  const i1 = await cordon('ingest of version 1', ['-w', ws, 'ingest', 'bench', 'rows.jsonl']);
  const i2 = await cordon('ingest of version 2', ['-w', ws, 'ingest', 'bench', 'rows-v2.jsonl']);
  log(`  ingest v1 ${sec(i1.ms)}, v2 ${sec(i2.ms)}`);
  const args = ['-w', ws, '--json', 'diff', 'bench@1', 'bench@2'];
  const check = await cordon('first diff (check)', args);
  const d = JSON.parse(check.stdout) as {
    added: number;
    removed: number;
    changed: number;
    unchanged: number;
  };
  const want = { ...delta, unchanged: SIZES.rows - delta.removed - delta.changed };
  if (
    d.added !== want.added ||
    d.removed !== want.removed ||
    d.changed !== want.changed ||
    d.unchanged !== want.unchanged
  ) {
    throw new StepError(
      'diff',
      `wrong result: ${JSON.stringify({ added: d.added, removed: d.removed, changed: d.changed, unchanged: d.unchanged })}, expected ${JSON.stringify(want)}`,
    );
  }
  res.notes.push(
    `Snapshots: bench@1 = \`rows.jsonl\` (${int(v1.rows)} rows); bench@2 = ${int(gen.value.rows)} rows: ` +
      `${int(delta.removed)} removed, ${int(delta.added)} added, ${int(delta.changed)} changed ` +
      `(half label, half text), generated in ${sec(gen.ms)}.`,
    `Setup, one run each into one workspace: ingest of version 1 ${sec(i1.ms)}, ` +
      `of version 2 ${sec(i2.ms)}.`,
    `An untimed first \`diff --json\` (${sec(check.ms)}) checked the result: +${int(d.added)} ` +
      `−${int(d.removed)} ~${int(d.changed)}, ${int(d.unchanged)} unchanged (as generated).`,
  );
  const times: number[] = [];
  const peaks: number[] = [];
  const n = reps(5);
  for (let i = 0; i < n; i++) {
    const r = await cordon(`diff, run ${i + 1}`, args, { stdout: 'ignore' });
    times.push(r.ms);
    if (r.peakKiB !== null) peaks.push(r.peakKiB);
    log(`  run ${i + 1}/${n}: ${sec(r.ms)}, peak RSS ${r.peakKiB === null ? '?' : mib(r.peakKiB)}`);
  }
  const t = stats(times);
  res.stats['wall'] = t;
  if (peaks.length) res.stats['peakRss'] = stats(peaks);
  res.verdicts.push({
    what: 'wall time (median)',
    goal: '< 10 s',
    measured: sec(t.median),
    pass: t.median < 10_000,
    ...(t.median >= 10_000 ? { miss: `${overBy(t.median, 10_000, sec)} the 10 s target` } : {}),
  });
  res.profile = await cpuProfile('diff', args);
}

// ---------------------------------------------------------------------------------------------
// Environment

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return '';
  }
}

function environment(): Record<string, string> {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown';
  const flagsLine = /^flags\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? '';
  const shaPath = sh('bash', ['-c', 'command -v sha256sum']);
  const shaLibcrypto = shaPath ? /libcrypto/.test(sh('ldd', [shaPath])) : false;
  const dirty = sh('git', ['-C', CLI_ROOT, 'status', '--porcelain', '--untracked-files=no']) !== '';
  const fsType = sh('stat', ['-f', '-c', '%T', work]);
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cpus: String(availableParallelism()),
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    cpu: model,
    shaNi: /\bsha_ni\b/.test(flagsLine) ? 'yes' : 'no',
    node: process.version,
    openssl: process.versions.openssl ?? '?',
    kernel: release(),
    sha256sum: `${sh('sha256sum', ['--version']).split('\n')[0] ?? '?'}${shaPath ? (shaLibcrypto ? ', linked with libcrypto' : ', built-in SHA-256 (not linked with OpenSSL)') : ''}`,
    fs: fsType || '?',
    commit:
      `${sh('git', ['-C', CLI_ROOT, 'rev-parse', '--short', 'HEAD']) || '?'}` +
      `${dirty ? ' + uncommitted changes' : ''}` +
      `${CLI_ROOT === REPO ? '' : ` (the CLI built in a separate checkout, --cli)`}`,
    rss:
      rss === 'gnu-time'
        ? '`/usr/bin/time -f %M` (ru_maxrss of the child)'
        : rss === 'probe'
          ? '`process.resourceUsage().maxRSS` at exit (preloaded probe)'
          : 'not measured',
  };
}

// ---------------------------------------------------------------------------------------------
// Report

function runLine(env: Record<string, string>): string {
  return `Run ${env['date']} on ${env['cpus']} × ${env['cpu']} (sha_ni ${env['shaNi']}), Node ${env['node']}, commit ${env['commit']}${quick ? ' — **quick smoke run, not the real sizes**' : ''}.`;
}

function targetSection(r: TargetResult, env: Record<string, string>): string {
  const parts: string[] = [];
  const passAll = r.failure ? null : r.verdicts.every((v) => v.pass !== false);
  const result = r.failure ? 'FAILED' : passAll ? 'pass' : 'MISS';
  const measured = r.failure ? '—' : r.verdicts.map((v) => v.measured).join(', ');
  const goals = r.verdicts.length ? r.verdicts.map((v) => v.goal).join(', ') : '—';
  parts.push(summaryRowComment([r.title, goals, measured, result, env['date']!.slice(0, 10)]));
  const load = r.load
    ? ` 1-minute load average ${r.load[0].toFixed(2)}–${r.load[1].toFixed(2)} during the target ` +
      `(sampled before each command, on ${env['cpus']} CPUs: well above 1 means other work ` +
      `competed with the benchmark)${r.waited ? `; ${r.waited}` : ''}.`
    : '';
  parts.push(`\n${runLine(env)}${load}\n\nTimed command: \`${r.command}\`\n`);
  if (r.failure) {
    parts.push(`\n**FAILED** — ${r.failure.replaceAll('\n', ' ')}\n`);
  }
  const rows: string[][] = [];
  const s = r.stats;
  const verdictOf = (what: string): Verdict | undefined =>
    r.verdicts.find((v) => v.what.startsWith(what));
  const cell = (v: Verdict | undefined): string[] =>
    v ? [v.goal, v.pass === null ? '—' : v.pass ? 'pass' : '**miss**'] : ['—', '—'];
  if (r.target === 'ingest' || r.target === 'diff') {
    if (s['wall'])
      rows.push(['wall time', ...statCells(s['wall'], sec), ...cell(verdictOf('wall'))]);
    if (s['peakRss']) {
      rows.push([
        'peak RSS',
        ...statCells(s['peakRss'], mib),
        ...(r.target === 'ingest' ? cell(verdictOf('peak')) : ['—', '—']),
      ]);
    }
  } else {
    if (s['sha256sum'])
      rows.push(['`sha256sum` (all files)', ...statCells(s['sha256sum'], sec), '', '']);
    if (s['cordonVerify'])
      rows.push(['`cordon verify`', ...statCells(s['cordonVerify'], sec), '', '']);
    if (s['sha256sum'] && s['cordonVerify']) {
      const ratio = s['sha256sum'].median / s['cordonVerify'].median;
      const perRun = s['ratio']!;
      rows.push([
        'speed-up (median ÷ median; min/max per run)',
        String(perRun.n),
        `${ratio.toFixed(2)}×`,
        `${perRun.min.toFixed(2)}×`,
        `${perRun.max.toFixed(2)}×`,
        ...cell(r.verdicts[0]),
      ]);
    }
    if (s['peakRss'])
      rows.push(['`cordon verify` peak RSS', ...statCells(s['peakRss'], mib), '—', '—']);
  }
  if (rows.length) {
    parts.push('\n' + table(['measure', 'runs', 'median', 'min', 'max', 'target', 'result'], rows));
  }
  if (r.target === 'verify' && r.extra && typeof r.extra['gibPerSecCordon'] === 'number') {
    const shaMed = s['sha256sum']?.median ?? 0;
    const bytes = Number(r.extra['exportBytes']);
    parts.push(
      `\nThroughput (median): cordon verify ${r.extra['gibPerSecCordon'].toFixed(2)} GiB/s, ` +
        `sha256sum ${shaMed ? (bytes / 2 ** 30 / (shaMed / 1000)).toFixed(2) : '?'} GiB/s.\n`,
    );
  }
  const misses = r.verdicts.filter((v) => v.pass === false && v.miss);
  if (misses.length) {
    parts.push('\n' + misses.map((v) => `- **Missed:** ${v.what}: ${v.miss}.`).join('\n') + '\n');
  }
  if (r.notes.length) parts.push('\n' + r.notes.map((n) => `- ${n}`).join('\n') + '\n');
  if (r.profile?.length) {
    parts.push(
      '\n' +
        profileBlock(
          `CPU profile of one extra, untimed run (<code>node --cpu-prof</code>): top self time`,
          r.profile,
        ),
    );
  }
  return parts.join('');
}

function envSection(env: Record<string, string>, ran: Target[]): string {
  return [
    `Last run: ${env['date']} (${ran.join(', ')}${quick ? ', quick smoke sizes' : ''}), commit ${env['commit']}.`,
    '',
    table(
      ['machine', ''],
      [
        ['CPUs (nproc)', env['cpus']!],
        ['memory', env['memory']!],
        ['CPU model', env['cpu']!],
        ['SHA extensions (`sha_ni`)', env['shaNi']!],
        ['kernel', env['kernel']!],
        ['file system of the work folder', env['fs']!],
        ['Node', `${env['node']} (OpenSSL ${env['openssl']})`],
        ['sha256sum', env['sha256sum']!],
        ['peak RSS measured with', env['rss']!],
      ],
    ),
    `Reproduce: \`${REPRODUCE}\` (options after \`--\`: \`--quick\`, \`--only ingest|verify|diff\`, ` +
      '`--reps N`, `--keep`, `--no-profile`, `--wait-idle M`).',
  ].join('\n');
}

function summarySection(doc: string): string {
  const rows = summaryRows(doc, TARGETS);
  return table(['target', 'goal', 'measured', 'result', 'run on'], rows);
}

// ---------------------------------------------------------------------------------------------
// Main

const TITLES: Record<Target, string> = {
  ingest: `Ingest and commit ${int(SIZES.rows)} JSONL rows`,
  verify: `Verify a ${quick ? 'small' : '~2 GiB'} export vs sha256sum`,
  diff: `Diff two ${int(SIZES.rows)}-row snapshots (1 % apart)`,
};
const COMMANDS: Record<Target, string> = {
  ingest: 'node bin/cordon.js -w <fresh workspace> --json ingest bench rows.jsonl',
  verify: 'node bin/cordon.js verify <export> --key <ws>/keys/bench.pub',
  diff: 'node bin/cordon.js -w <ws> --json diff bench@1 bench@2 > /dev/null',
};
const RUNNERS: Record<Target, (r: TargetResult) => Promise<void>> = {
  ingest: benchIngest,
  verify: benchVerify,
  diff: benchDiff,
};

async function main(): Promise<number> {
  log(`work folder ${work}; peak RSS via ${rss}; ${quick ? 'QUICK sizes' : 'full sizes'}`);
  if (CLI_ROOT !== REPO) log(`measuring the CLI built in ${CLI_ROOT}`);
  freezeBuild();
  const env = environment();
  const results: TargetResult[] = [];
  for (const target of selected) {
    log(`\n== ${TITLES[target]}`);
    const res: TargetResult = {
      target,
      title: TITLES[target],
      command: COMMANDS[target],
      stats: {},
      verdicts: [],
      notes: [],
    };
    const waited = await waitForIdle();
    if (waited) res.waited = waited;
    loadSamples = [];
    try {
      await RUNNERS[target](res);
    } catch (e) {
      res.failure = e instanceof Error ? e.message : String(e);
      log(`  FAILED: ${res.failure}`);
    }
    if (loadSamples.length) res.load = [Math.min(...loadSamples), Math.max(...loadSamples)];
    results.push(res);
  }

  log('\n== Summary');
  for (const r of results) {
    if (r.failure) {
      log(`${r.title}: FAILED — ${r.failure}`);
      continue;
    }
    for (const v of r.verdicts) {
      const state = v.pass === null ? 'n/a' : v.pass ? 'pass' : 'MISS';
      log(
        `${r.title}: ${v.what} ${v.measured} (target ${v.goal}) ${state}${v.miss ? ` — ${v.miss}` : ''}`,
      );
    }
    for (const [k, s] of Object.entries(r.stats)) {
      const f = k === 'peakRss' ? mib : k === 'ratio' ? (x: number) => `${x.toFixed(2)}×` : sec;
      log(`    ${k}: median ${f(s.median)}, min ${f(s.min)}, max ${f(s.max)} (n=${s.n})`);
    }
  }

  mkdirSync(join(REPO, 'bench/out'), { recursive: true });
  const jsonPath = join(REPO, `bench/out/store-results${quick ? '-quick' : ''}.json`);
  writeFileSync(jsonPath, JSON.stringify({ env, quick, sizes: SIZES, results }, null, 2) + '\n');
  log(`\nresults: ${jsonPath}`);

  if (writeToDoc) {
    const current = readDoc(DOC);
    // A run that started later (another checkout, another person) may have written its results
    // while this one ran: keep those rather than replace them with older code's numbers.
    const newer = (name: SectionName): boolean => {
      const at = sectionRunAt(current, name);
      return !flags.force && at !== undefined && at > env['date']!;
    };
    const bodies: Partial<Record<SectionName, string>> = {};
    if (!newer('env')) bodies.env = envSection(env, selected);
    for (const r of results) {
      if (newer(r.target)) {
        log(
          `not replacing the ${r.target} section: it holds a run from ${sectionRunAt(current, r.target)}, ` +
            `after this run started (${env['date']}); --force replaces it`,
        );
      } else {
        bodies[r.target] = targetSection(r, env);
      }
    }
    let doc = replaceSections(current, bodies);
    doc = replaceSections(doc, { summary: summarySection(doc) });
    await writeDoc(DOC, doc);
    log(`updated ${DOC}`);
  } else {
    log(
      `docs/BENCHMARKS.md not updated (${quick ? 'quick run; pass --write to force' : '--no-write'})`,
    );
  }
  return results.some((r) => r.failure) ? 1 : 0;
}

let status = 1;
try {
  status = await main();
} catch (e) {
  process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
} finally {
  killActive();
  cleanup();
}
process.exitCode = status;
