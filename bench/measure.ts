/**
 * Runs a command as a child process and measures its wall time and peak resident set size.
 *
 * Peak RSS comes from GNU time (`/usr/bin/time -f %M`, the kernel's ru_maxrss of the child) when
 * it is installed; otherwise, for Node children, from a preloaded probe that writes
 * `process.resourceUsage().maxRSS` at exit (bench/rss-probe.ts); otherwise it is not measured.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type RssMethod = 'gnu-time' | 'probe' | 'none';

export interface RunOptions {
  cwd: string;
  /** Where the child's stdout goes: captured in memory, or discarded (like `> /dev/null`). */
  stdout: 'capture' | 'ignore';
  /** Kill the child (and its process group) after this long. */
  timeoutMs: number;
  /** Scratch folder for the RSS file. */
  scratch: string;
  env?: NodeJS.ProcessEnv;
}

export interface RunResult {
  ms: number;
  /** Peak RSS in KiB, or null when it could not be measured. */
  peakKiB: number | null;
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

const PROBE = join(dirname(fileURLToPath(import.meta.url)), 'rss-probe.js');
const active = new Set<number>();
let seq = 0;

/** GNU time if it works here, else the probe for Node children. */
export function detectRssMethod(): RssMethod {
  if (existsSync('/usr/bin/time')) {
    const r = spawnSync('/usr/bin/time', ['-f', '%M', 'true'], { encoding: 'utf8' });
    if (r.status === 0 && /^\d+\s*$/m.test(r.stderr)) return 'gnu-time';
  }
  return existsSync(PROBE) ? 'probe' : 'none';
}

/** Kills every child process group still running (on Ctrl-C). */
export function killActive(): void {
  for (const pid of active) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * Runs `command args` and measures it. With `node: true` the command is Node itself and the
 * fallback probe can be preloaded. The child runs in its own process group so that a timeout
 * kills the command and not just a `time` wrapper.
 */
export async function measure(
  command: string,
  args: string[],
  options: RunOptions & { node?: boolean; rss: RssMethod },
): Promise<RunResult> {
  const rssFile = join(options.scratch, `rss-${process.pid}-${seq++}.txt`);
  let cmd = command;
  let argv = args;
  const env = { ...process.env, ...options.env };
  if (options.rss === 'gnu-time') {
    cmd = '/usr/bin/time';
    argv = ['-f', '%M', '-o', rssFile, command, ...args];
  } else if (options.rss === 'probe' && options.node) {
    argv = ['--import', pathToFileURL(PROBE).href, ...args];
    env['CORDON_BENCH_RSS_FILE'] = rssFile;
  }
  const started = process.hrtime.bigint();
  const child = spawn(cmd, argv, {
    cwd: options.cwd,
    env,
    detached: true,
    stdio: ['ignore', options.stdout === 'capture' ? 'pipe' : 'ignore', 'pipe'],
  });
  const pid = child.pid;
  if (pid !== undefined) active.add(pid);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (b: Buffer) => out.push(b));
  child.stderr?.on('data', (b: Buffer) => err.push(b));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (pid !== undefined) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }, options.timeoutMs);
  const { code, signal } = await new Promise<{ code: number | null; signal: string | null }>(
    (resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c, s) => resolve({ code: c, signal: s }));
    },
  );
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  clearTimeout(timer);
  if (pid !== undefined) active.delete(pid);
  let peakKiB: number | null = null;
  if (existsSync(rssFile)) {
    // GNU time puts "Command exited with non-zero status N" before the number on failure.
    const last = readFileSync(rssFile, 'utf8').trim().split('\n').pop() ?? '';
    if (/^\d+$/.test(last)) peakKiB = Number(last);
    rmSync(rssFile, { force: true });
  }
  return {
    ms,
    peakKiB,
    code,
    signal,
    timedOut,
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
  };
}

export interface Stats {
  n: number;
  median: number;
  min: number;
  max: number;
  values: number[];
}

export function stats(values: number[]): Stats {
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { n: v.length, median, min: v[0]!, max: v[v.length - 1]!, values };
}
