/**
 * Summarises V8 `.cpuprofile` files (from `node --cpu-prof`): self time per function and per
 * source file, main thread and worker threads separately.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame }[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileLine {
  name: string;
  ms: number;
  share: number;
}

/** One thread's span on the run's clock (ms from the first profile's start) and where it waited. */
export interface ThreadSpan {
  id: string;
  startMs: number;
  endMs: number;
  idleMs: number;
  gcMs: number;
  /** Self time in Node's module loader (node:internal/modules/*): start-up cost. */
  moduleLoadMs: number;
}

export interface ThreadSummary {
  thread: string;
  spans: ThreadSpan[];
  /** Profiled wall time of the thread (ms); for workers, the sum over workers. */
  totalMs: number;
  functions: ProfileLine[];
  files: ProfileLine[];
}

/** Shortens a script URL: `dist/src/...` for Cordon's code, the package for node_modules. */
function shortUrl(url: string, roots: string[]): string {
  if (url === '') return '(V8/native)';
  let u = url.replace(/^file:\/\//, '');
  for (const r of roots) if (u.startsWith(r + '/')) u = u.slice(r.length + 1);
  const nm = u.lastIndexOf('node_modules/');
  return nm >= 0 ? u.slice(nm) : u;
}

function add(map: Map<string, number>, key: string, v: number): void {
  map.set(key, (map.get(key) ?? 0) + v);
}

function top(map: Map<string, number>, total: number, n: number): ProfileLine[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => ({ name, ms: us / 1000, share: total > 0 ? us / total : 0 }));
}

/**
 * Reads every profile in `dir`. Node names them CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile;
 * thread 0 is the main thread.
 */
export function summariseProfiles(dir: string, roots: string[], n = 12): ThreadSummary[] {
  const groups = new Map<
    string,
    { total: number; fns: Map<string, number>; files: Map<string, number>; spans: ThreadSpan[] }
  >();
  const loaded = readdirSync(dir)
    .filter((x) => x.endsWith('.cpuprofile'))
    .map((f) => ({
      tid: f.split('.')[4] ?? '?',
      p: JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile,
    }));
  const t0 = Math.min(...loaded.map((x) => x.p.startTime));
  for (const { tid, p } of loaded) {
    const thread = tid === '0' ? 'main thread' : 'worker threads';
    let g = groups.get(thread);
    if (!g) groups.set(thread, (g = { total: 0, fns: new Map(), files: new Map(), spans: [] }));
    const span: ThreadSpan = {
      id: tid === '0' ? 'main' : `worker ${tid}`,
      startMs: (p.startTime - t0) / 1000,
      endMs: (p.endTime - t0) / 1000,
      idleMs: 0,
      gcMs: 0,
      moduleLoadMs: 0,
    };
    g.spans.push(span);
    const byId = new Map(p.nodes.map((node) => [node.id, node.callFrame]));
    const samples = p.samples ?? [];
    const deltas = p.timeDeltas ?? [];
    let total = 0;
    for (let i = 0; i < samples.length; i++) {
      const us = Math.max(0, deltas[i] ?? 0);
      const cf = byId.get(samples[i]!);
      if (!cf) continue;
      total += us;
      const file = shortUrl(cf.url, roots);
      const fn = cf.functionName || '(anonymous)';
      add(g.fns, cf.url ? `${fn} (${file}:${cf.lineNumber + 1})` : fn, us);
      add(g.files, cf.url ? file : fn, us);
      if (fn === '(idle)') span.idleMs += us / 1000;
      else if (fn === '(garbage collector)') span.gcMs += us / 1000;
      else if (cf.url.startsWith('node:internal/modules/')) span.moduleLoadMs += us / 1000;
    }
    g.total += total;
  }
  return [...groups.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([thread, g]) => ({
      thread,
      spans: g.spans.sort((a, b) => a.startMs - b.startMs),
      totalMs: g.total / 1000,
      functions: top(g.fns, g.total, n),
      files: top(g.files, g.total, Math.min(n, 8)),
    }));
}
