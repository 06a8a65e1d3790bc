import { canonicalJson } from '../../core/canonical-json.js';
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope } from '../../core/dsse.js';
import type { ScanReport } from '../../core/scan/report.js';
import {
  scanStatement,
  snapshotIdOf,
  statementBytes,
  type ScanPredicate,
} from '../../core/statement.js';
import type { SnapshotRow } from '../../store/metadata-store.js';
import { authorize } from '../governance/authorize.js';
import { snapshotState } from '../governance/facts.js';
import type { Workspace } from '../workspace.js';

/**
 * Stores a scan report of a snapshot with a signed in-toto statement binding the report's digest
 * and summary to the snapshot's root, and records it as an event.
 */
export async function recordScan(
  ws: Workspace,
  snapshot: SnapshotRow,
  report: ScanReport,
): Promise<{ id: string; reportDigest: string }> {
  const authz = await authorize(ws, 'scan', { type: 'Snapshot', snapshot });
  // A first scan moves a draft to "scanned"; later scans leave the state as it is.
  const promote = (await snapshotState(ws, snapshot.id)) === 'draft';
  const staging = await ws.blobs.stage();
  try {
    const reportDigest = await staging.put(canonicalJson(report));
    const scannedAt = new Date().toISOString();
    const predicate: ScanPredicate = {
      snapshot: snapshot.id,
      dataset: snapshot.dataset,
      version: snapshot.version,
      report: { digest: reportDigest, schema: report.schema },
      summary: {
        rows: report.rows,
        flaggedRows: report.summary.flaggedRows,
        counts: report.summary.counts,
        triggers: report.triggers.length,
        suspiciousSources: report.summary.suspiciousSources,
        skippedDetectors: report.summary.detectors
          .filter((d) => d.skipped !== undefined)
          .map((d) => d.id),
      },
      scanner: { identity: ws.identity.name, keyId: ws.identity.keyId },
      scannedAt,
    };
    const payload = statementBytes(scanStatement(snapshot.root, predicate));
    const envelope = signEnvelope(IN_TOTO_PAYLOAD_TYPE, payload, [
      { keyId: ws.identity.keyId, key: ws.identity.privateKey },
    ]);
    const envelopeDigest = await staging.put(canonicalJson(envelope));
    await staging.publish();
    const id = snapshotIdOf(payload);
    await ws.meta.recordScan(
      {
        id,
        snapshot_id: snapshot.id,
        report_digest: reportDigest,
        envelope_digest: envelopeDigest,
        actor: ws.identity.name,
        created_at: scannedAt,
        summary: JSON.stringify(predicate.summary),
      },
      {
        time: scannedAt,
        actor: ws.identity.name,
        kind: 'snapshot.scan',
        dataset: snapshot.dataset,
        snapshot_id: snapshot.id,
        detail: JSON.stringify({
          scan: id,
          report: reportDigest,
          flaggedRows: report.summary.flaggedRows,
          triggers: report.triggers.length,
          authz,
        }),
      },
      promote ? 'scanned' : undefined,
    );
    return { id, reportDigest };
  } catch (e) {
    await staging.abort();
    throw e;
  }
}
