/**
 * The scan report page's endpoints on a large snapshot: `npm run build && node
 * dist/bench/console-scan.js [--rows N] [--issues M]`.
 *
 * Commits N short labelled rows (default 1,000,000), records a synthetic scan report of M issues
 * over them (default 50,000: every kind, masked secrets, a trigger carried by 1,000 rows, 40
 * sources, a real class-balance result against a baseline), then calls the overview, findings
 * and trigger-rows endpoints in process, cold (first call after start: the report is read,
 * checked against its digest, parsed and indexed; the first findings call also reads the
 * manifest for the rows' labels and sources) and warm (from the cache). Prints the times and
 * the bytes each answer holds next to the size of the whole report, which the page never loads.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { classBalanceDetector } from '../src/core/scan/class-balance.js';
import { buildReport, ISSUE_KINDS, type DetectorRun } from '../src/core/scan/report.js';
import type { DetectorResult, Issue, IssueKind, ScanRow } from '../src/core/scan/types.js';
import { SCOPES } from '../src/core/tokens.js';
import { commitItems } from '../src/engine/commit.js';
import { createToken } from '../src/engine/governance/tokens.js';
import { recordScan } from '../src/engine/scan/record-scan.js';
import { initWorkspace } from '../src/engine/workspace.js';
import { createApp } from '../src/server/app.js';
import { scanManifest } from '../src/server/scan-report-cache.js';
import { loadManifest } from '../src/engine/snapshots.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    issues: { type: 'string', default: '50000' },
  },
});
const N = Number(values.rows);
const M = Number(values.issues);
const SOURCES = 40;

const dir = mkdtempSync(join(tmpdir(), 'cordon-console-scan-'));
const ms = (t0: number): string => `${(performance.now() - t0).toFixed(1)} ms`;

try {
  const ws = await initWorkspace(join(dir, '.cordon'), { identity: 'root' });
  const rowOf = (i: number): ScanRow => ({
    id: `r-${String(i).padStart(7, '0')}`,
    label: i % 3 === 0 ? 'spam' : 'ham',
    source: `feed-${i % SOURCES}`,
    text: `message ${i} about things ${(i * 7919) % 10007}`,
  });
  let t0 = performance.now();
  const snapshot = await commitItems(
    ws,
    (function* () {
      for (let i = 0; i < N; i++) {
        const r = rowOf(i);
        yield {
          record: { id: r.id, label: r.label, source: r.source, text: r.text! },
          where: `bench:${i + 1}`,
        };
      }
    })(),
    {
      dataset: 'bench',
      stage: 'raw',
      message: 'bench',
      parents: [],
      expectedHead: null,
      run: {
        kind: 'ingest',
        inputs: [],
        command: null,
        codeDigest: null,
        params: {},
        source: 'bench',
        startedAt: new Date().toISOString(),
      },
    },
  );
  console.log(`committed ${N.toLocaleString()} rows in ${ms(t0)}`);

  // M issues spread over the kinds and rows, scores spread over [0.5, 1).
  t0 = performance.now();
  const rows = Array.from({ length: N }, (_, i) => rowOf(i));
  const byKind = new Map<IssueKind, Issue[]>(ISSUE_KINDS.map((k) => [k, []]));
  const step = Math.max(1, Math.floor(N / M));
  for (let j = 0; j < M; j++) {
    const kind = ISSUE_KINDS[j % ISSUE_KINDS.length]!;
    const row = rows[(j * step) % N]!;
    const score = 0.5 + ((j * 7919) % 5000) / 10000;
    const detail: Record<string, unknown> =
      kind === 'secret'
        ? { rule: 'secretlint/github', masked: 'ghp_****…(36 chars)4xYz', count: 1 }
        : kind === 'pii'
          ? { type: 'email', masked: 'j***@e******.org' }
          : kind === 'trigger'
            ? { pattern: 'cf', label: 'ham', contentAgrees: false }
            : { note: `synthetic ${kind}`, n: j };
    byKind.get(kind)!.push({ kind, row: row.id, score, detail });
  }
  const carriers = rows.filter((_, i) => i % Math.floor(N / 1000) === 0).map((r) => r.id);
  const runs: DetectorRun[] = ISSUE_KINDS.map((kind) => ({
    id: `bench/${kind}`,
    kinds: [kind],
    seconds: 1,
    result: {
      issues: byKind.get(kind)!,
      summary: {},
      ...(kind === 'trigger'
        ? {
            triggers: [
              {
                pattern: 'cf',
                label: 'ham',
                rows: carriers,
                score: 0.97,
                detail: { support: 1000 },
              },
            ],
          }
        : {}),
    },
  }));
  runs.push({
    id: 'drift/class-balance',
    kinds: [],
    seconds: 1,
    result: classBalanceDetector.run(rows, {
      baseline: { spam: N / 2, ham: N / 2 },
    }) as DetectorResult,
  });
  const sources = Array.from({ length: SOURCES }, (_, s) => ({
    source: `feed-${s}`,
    suspicious: s === 0,
    score: s === 0 ? 0.9 : 0.1,
    detail: { rows: N / SOURCES, suspiciousKinds: s === 0 ? ['trigger'] : [], kinds: {} },
  }));
  const report = buildReport(rows, runs, sources, 60);
  const recorded = await recordScan(ws, snapshot, report);
  console.log(`recorded a report of ${report.issues.length.toLocaleString()} issues in ${ms(t0)}`);

  const token = (await createToken(ws, 'root', { scopes: [...SCOPES] })).token;
  const app = createApp(ws, { log: () => {} });
  const base = `/v1/snapshots/bench@1/scans/${recorded.id}`;
  const get = async (path: string): Promise<{ status: number; bytes: number; ms: number }> => {
    const start = performance.now();
    const res = await app.request(
      path,
      { headers: { Authorization: `Bearer ${token}` } },
      { incoming: { socket: { remoteAddress: '127.0.0.1' } } },
    );
    const body = await res.arrayBuffer();
    if (res.status !== 200)
      throw new Error(`${path}: ${res.status} ${Buffer.from(body).toString()}`);
    return { status: res.status, bytes: body.byteLength, ms: performance.now() - start };
  };

  const steps: [string, string][] = [
    ['overview (cold: read, verify, parse, index)', `${base}/overview`],
    ['overview (warm)', `${base}/overview`],
    ['findings page 1 (cold: manifest for labels/sources)', `${base}/findings?limit=50`],
    ['findings page 1 (warm)', `${base}/findings?limit=50`],
    ['findings page 200 (warm)', `${base}/findings?limit=50&offset=10000`],
    ['findings kind=secret (warm)', `${base}/findings?kind=secret&limit=50`],
    [
      'findings source+label+minScore (warm)',
      `${base}/findings?source=feed-20&label=spam&minScore=0.8`,
    ],
    ['findings trigger=0 (first: row set)', `${base}/findings?trigger=0`],
    ['findings q= (first: search text)', `${base}/findings?q=r-00420`],
    ['findings q= (warm)', `${base}/findings?q=r-00421`],
    ['findings sort=row (first: row order)', `${base}/findings?sort=row`],
    ['findings sort=row (warm)', `${base}/findings?sort=row&offset=500`],
    ['trigger rows page (warm)', `${base}/triggers/0/rows?limit=10`],
    ['whole report (what the page avoids)', `${base}/report`],
  ];
  const widths = [52, 12, 12];
  console.log(
    `\n${'request'.padEnd(widths[0]!)}${'time'.padStart(widths[1]!)}${'bytes'.padStart(widths[2]!)}`,
  );
  for (const [name, path] of steps) {
    const r = await get(path);
    console.log(
      `${name.padEnd(widths[0]!)}${`${r.ms.toFixed(1)} ms`.padStart(widths[1]!)}${r.bytes.toLocaleString().padStart(widths[2]!)}`,
    );
  }
  // The manifest read behind the first findings call, alone, and a full parse for comparison.
  const wanted = new Map(
    report.issues.map((i) => [JSON.stringify(i.row), { label: null, source: null }]),
  );
  t0 = performance.now();
  await scanManifest(ws.blobs.stream(snapshot.manifest_digest), snapshot.manifest_digest, wanted);
  console.log(`\nmanifest scan for the issues' rows: ${ms(t0)}`);
  t0 = performance.now();
  await loadManifest(ws, snapshot);
  console.log(`full manifest parse (loadManifest), for comparison: ${ms(t0)}`);
  await app.cordon.shutdown();
  await ws.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
