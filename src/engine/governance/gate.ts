import { canonicalJson } from '../../core/canonical-json.js';
import {
  IN_TOTO_PAYLOAD_TYPE,
  signEnvelope,
  verifyEnvelope,
  type DsseEnvelope,
} from '../../core/dsse.js';
import { CordonError } from '../../core/errors.js';
import { evaluateGate, type GateFacts, type GateVerdict } from '../../core/gate/evaluate-gate.js';
import { parseGatePolicy } from '../../core/gate/gate-policy.js';
import { gateVerdictStatement, parseGateVerdict } from '../../core/gate/verdict.js';
import { sha256Hex } from '../../core/hashing.js';
import type { ScanReport } from '../../core/scan/report.js';
import { ISSUE_KINDS } from '../../core/scan/report.js';
import type { IssueKind } from '../../core/scan/types.js';
import {
  SCAN_PREDICATE,
  parseStatement,
  snapshotIdOf,
  statementBytes,
  subjectDigest,
  type ScanPredicate,
} from '../../core/statement.js';
import type { SnapshotRow } from '../../store/metadata-store.js';
import { verifySnapshot } from '../verify-snapshot.js';
import { trustedKeys, type Workspace } from '../workspace.js';
import { approvalStatus } from './approvals.js';
import { authorize } from './authorize.js';
import { lastQuarantinedAt, quarantineOf, snapshotSources, snapshotState } from './facts.js';

export const GATE_VERIFIER_ID = 'https://cordon.dev/verifiers/gate/v1';

/** Secret findings scoring at least this count for the gate (see scanFacts). */
export const GATE_SECRET_MIN_SCORE = 0.7;

/**
 * Whether a snapshot has passed its gate: the newest gate run for it passed, and its signed
 * verdict still verifies and names this snapshot's id and root. Anything else counts as not
 * passed (fail closed), with the reason.
 */
export async function gateStatus(
  ws: Workspace,
  row: SnapshotRow,
): Promise<{ passed: boolean; run: string | null; reason: string }> {
  const run = await ws.meta.gov.latestGateRun(row.id);
  if (!run) return { passed: false, run: null, reason: 'no gate has been run on this snapshot' };
  try {
    const bytes = await ws.blobs.get(run.envelope_digest);
    if (sha256Hex(bytes) !== run.envelope_digest)
      throw new Error('stored verdict does not match its digest');
    const v = verifyEnvelope(
      JSON.parse(bytes.toString('utf8')) as DsseEnvelope,
      await trustedKeys(ws),
    );
    const verdict = parseGateVerdict(parseStatement(v.payload));
    if (verdict.snapshotId !== row.id || verdict.root !== row.root)
      throw new Error('verdict is for a different snapshot');
    if (verdict.passed !== (run.passed === 1))
      throw new Error('stored result disagrees with the signed verdict');
    const quarantinedAt = await lastQuarantinedAt(ws, row);
    if (
      verdict.passed &&
      quarantinedAt !== null &&
      !(Date.parse(verdict.timeCreated) > Date.parse(quarantinedAt))
    )
      return {
        passed: false,
        run: run.id,
        reason: `the gate ran before the snapshot was quarantined on ${quarantinedAt}; run it again`,
      };
    return verdict.passed
      ? { passed: true, run: run.id, reason: 'passed' }
      : { passed: false, run: run.id, reason: 'the latest gate run failed' };
  } catch (e) {
    return {
      passed: false,
      run: run.id,
      reason: `the gate verdict does not verify: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
}

/** The newest recorded scan of a snapshot, checked: signed, bound to this root and report. */
export async function loadVerifiedScan(
  ws: Workspace,
  row: SnapshotRow,
): Promise<{ id: string; createdAt: string; report: ScanReport } | null> {
  const scan = (await ws.meta.listScans(row.id)).at(-1);
  if (!scan) return null;
  const envBytes = await ws.blobs.get(scan.envelope_digest);
  const what = `scan ${scan.id.slice(0, 12)} of ${row.dataset}@${row.version}`;
  let predicate: ScanPredicate;
  try {
    const v = verifyEnvelope(
      JSON.parse(envBytes.toString('utf8')) as DsseEnvelope,
      await trustedKeys(ws),
    );
    const statement = parseStatement(v.payload);
    if (statement.predicateType !== SCAN_PREDICATE || subjectDigest(statement) !== row.root)
      throw new Error('statement is not a scan of this snapshot');
    if (snapshotIdOf(v.payload) !== scan.id)
      throw new Error('scan id does not match its statement');
    predicate = statement.predicate as ScanPredicate;
  } catch (cause) {
    throw new CordonError(
      'VERIFY_FAILED',
      `${what}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
  const reportBytes = await ws.blobs.get(scan.report_digest);
  if (sha256Hex(reportBytes) !== predicate.report.digest)
    throw new CordonError('VERIFY_FAILED', `${what}: report does not match the signed digest`);
  return {
    id: scan.id,
    createdAt: scan.created_at,
    report: JSON.parse(reportBytes.toString('utf8')) as ScanReport,
  };
}

async function scanFacts(ws: Workspace, row: SnapshotRow): Promise<GateFacts['scan']> {
  const scan = await loadVerifiedScan(ws, row);
  if (!scan) return null;
  const report = scan.report;
  const counts = {} as Record<IssueKind, number>;
  const rates = {} as Record<IssueKind, number>;
  for (const k of ISSUE_KINDS) {
    counts[k] = report.summary.counts[k] ?? 0;
    rates[k] = report.summary.rates[k] ?? 0;
  }
  // For the gate a secret is a credential-shaped finding (a known pattern, a private key, or a
  // high-entropy value assigned to a key/password/token name). A bare high-entropy string scores
  // 0.5 in the scan: a hint for review, too common in real text (hashes, ids) to block on.
  counts.secret = report.issues.filter(
    (i) => i.kind === 'secret' && i.score >= GATE_SECRET_MIN_SCORE,
  ).length;
  rates.secret = report.rows > 0 ? counts.secret / report.rows : 0;
  return {
    id: scan.id,
    createdAt: scan.createdAt,
    rows: report.rows,
    counts,
    rates,
    triggers: report.triggers.map((t) => ({
      pattern: t.pattern,
      label: t.label,
      rows: t.rows.length,
    })),
    suspiciousSources: report.summary.suspiciousSources,
  };
}

/**
 * Whether a snapshot's history is complete: every snapshot back to the raw ingests has a lineage
 * run whose signed provenance verifies, and every input it names exists.
 */
export async function lineageFacts(ws: Workspace, row: SnapshotRow): Promise<GateFacts['lineage']> {
  const trusted = await trustedKeys(ws);
  const problems: string[] = [];
  const seen = new Set<string>();
  const queue: SnapshotRow[] = [row];
  while (queue.length > 0) {
    const s = queue.shift()!;
    if (seen.has(s.id)) continue;
    seen.add(s.id);
    const label = `${s.dataset}@${s.version}`;
    const run = await ws.meta.getRunByOutput(s.id);
    if (!run) {
      problems.push(`${label} has no recorded lineage run`);
      continue;
    }
    try {
      const bytes = await ws.blobs.get(run.envelope_digest);
      if (sha256Hex(bytes) !== run.envelope_digest)
        throw new Error('provenance does not match its digest');
      verifyEnvelope(JSON.parse(bytes.toString('utf8')) as DsseEnvelope, trusted);
    } catch (e) {
      problems.push(
        `${label}: provenance does not verify (${e instanceof Error ? e.message : String(e)})`,
      );
    }
    for (const id of JSON.parse(run.inputs) as string[]) {
      const input = await ws.meta.getSnapshot(id);
      if (!input) problems.push(`${label} names input ${id.slice(0, 12)}, which does not exist`);
      else queue.push(input);
    }
  }
  return { complete: problems.length === 0, problems };
}

export interface GateRunResult {
  id: string;
  verdict: GateVerdict;
  envelope: DsseEnvelope;
  policyDigest: string;
}

/**
 * Runs the declarative gate `policyText` over a snapshot: integrity, the newest scan, sources,
 * lineage, approvals and quarantine. The verdict is signed (in-toto SVR in a DSSE envelope),
 * stored and logged whether it passes or not.
 */
export async function runGate(
  ws: Workspace,
  row: SnapshotRow,
  policy: { text: string; file: string },
): Promise<GateRunResult> {
  const parsed = parseGatePolicy(policy.text, policy.file);
  const authz = await authorize(ws, 'gate', { type: 'Snapshot', snapshot: row });
  const trusted = await trustedKeys(ws);
  let integrity: GateFacts['integrity'] = null;
  if (parsed.integrity !== 'skip') {
    try {
      await verifySnapshot(ws, row, trusted);
      integrity = { verified: true };
    } catch (e) {
      integrity = { verified: false, error: e instanceof Error ? e.message : String(e) };
    }
  }
  const registered = new Map((await ws.meta.gov.listSources(row.dataset)).map((s) => [s.name, s]));
  const quarantinedSources = new Set(
    (await ws.meta.gov.listQuarantines({ kind: 'source', active: true }))
      .filter((q) => q.dataset === null || q.dataset === row.dataset)
      .map((q) => q.target),
  );
  const sources = (await snapshotSources(ws, row)).map((s) => {
    const name = s.name ?? '(none)';
    const known = registered.get(name);
    return {
      name,
      rows: s.records,
      known: known !== undefined,
      trusted: known?.trusted === 1,
      quarantined: quarantinedSources.has(name),
    };
  });
  const approvals = await approvalStatus(ws, row);
  const facts: GateFacts = {
    snapshot: {
      id: row.id,
      dataset: row.dataset,
      version: row.version,
      root: row.root,
      state: await snapshotState(ws, row.id),
      quarantined: (await quarantineOf(ws, row))?.kind === 'snapshot',
    },
    integrity,
    scan: await scanFacts(ws, row),
    sources,
    lineage: await lineageFacts(ws, row),
    approvals: {
      independent: approvals.independent.length,
      requiredByDataset: approvals.required,
      approvers: approvals.independent,
    },
    now: new Date().toISOString(),
  };
  const verdict = evaluateGate(parsed, facts);
  const policyDigest = sha256Hex(policy.text);
  const statement = gateVerdictStatement({
    snapshotId: row.id,
    root: row.root,
    verifierId: GATE_VERIFIER_ID,
    policy: { uri: policy.file, digest: policyDigest },
    timeCreated: facts.now,
    verdict,
    ...(facts.scan ? { scanId: facts.scan.id } : {}),
  });
  const payload = statementBytes(statement);
  const envelope = signEnvelope(IN_TOTO_PAYLOAD_TYPE, payload, [
    { keyId: ws.identity.keyId, key: ws.identity.privateKey },
  ]);
  const id = snapshotIdOf(payload);
  const staging = await ws.blobs.stage();
  try {
    const digest = await staging.put(canonicalJson(envelope));
    // The policy text too, under its digest, so the console can show the policy a dataset was
    // last gated with (GET /v1/datasets/{name}/gate-policy). The verdict signs only the digest.
    if ((await staging.put(policy.text)) !== policyDigest)
      throw new CordonError('INTERNAL', 'the stored gate policy does not match its digest');
    await staging.publish();
    await ws.meta.gov.addGateRun(
      {
        id,
        snapshot_id: row.id,
        passed: verdict.passed ? 1 : 0,
        policy_digest: policyDigest,
        envelope_digest: digest,
        checks: JSON.stringify(verdict.checks),
        actor: ws.identity.name,
        created_at: facts.now,
      },
      {
        time: facts.now,
        actor: ws.identity.name,
        kind: 'snapshot.gate',
        dataset: row.dataset,
        snapshot_id: row.id,
        detail: JSON.stringify({
          gate: id,
          passed: verdict.passed,
          policy: { file: policy.file, digest: policyDigest },
          failed: verdict.checks.filter((c) => !c.passed).map((c) => c.id),
          authz,
        }),
      },
    );
  } catch (e) {
    await staging.abort();
    throw e;
  }
  return { id, verdict, envelope, policyDigest };
}

/** Longest model name a release may record. */
export const RELEASE_MODEL_MAX = 200;

/**
 * Marks an approved snapshot whose gate passed as released (ready for training). `model` names
 * the model it is released to train; it is recorded in the `snapshot.release` event (lineage
 * reads it from there).
 */
export async function releaseSnapshot(
  ws: Workspace,
  row: SnapshotRow,
  options: { model?: string } = {},
): Promise<void> {
  const model = options.model?.trim();
  if (model !== undefined && (model === '' || model.length > RELEASE_MODEL_MAX))
    throw new CordonError(
      'USAGE',
      `the model name must be 1 to ${RELEASE_MODEL_MAX} characters (not blank)`,
    );
  const authz = await authorize(ws, 'release', { type: 'Snapshot', snapshot: row });
  const state = await snapshotState(ws, row.id);
  if (state !== 'approved')
    throw new CordonError(
      'STATE_INVALID',
      `${row.dataset}@${row.version} is ${state}; only an approved snapshot can be released`,
    );
  const gate = await gateStatus(ws, row);
  if (!gate.passed)
    throw new CordonError(
      'GATE_FAILED',
      `${row.dataset}@${row.version} cannot be released: ${gate.reason}`,
    );
  const time = new Date().toISOString();
  await ws.meta.gov.setState(row.id, 'released', ws.identity.name, time, {
    time,
    actor: ws.identity.name,
    kind: 'snapshot.release',
    dataset: row.dataset,
    snapshot_id: row.id,
    detail: JSON.stringify({
      state: 'released',
      gate: gate.run,
      ...(model !== undefined ? { model } : {}),
      authz,
    }),
  });
}
